//! Success answers, seats, deactivation, routes.

use lsconform::double::{ActivationDouble, License};
use lsconform::protocol::{check_answer, OfflineKey, RequestKind, Style, Verdict};

use crate::support::*;

#[tokio::test]
async fn a_signed_activation_gets_an_answer_whose_three_signatures_verify() {
    let double = double_with_seats(2).start().await;
    let client = Client::of(&double);
    let hardware_id = device();
    let file = activation(LICENSE, &hardware_id);
    let answer = client.activate(&file).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.content_type, "application/json");
    let check = check_answer(
        &answer.body,
        Some(&public_key()),
        Some(OfflineKey {
            api_key: API_KEY,
            shared_key: SHARED_KEY,
        }),
    )
    .expect("an answer");
    assert_eq!(check.offline_signature, Verdict::Ok);
    assert_eq!(check.license_signature, Verdict::Ok);
    assert_eq!(check.license_signature_v2, Verdict::Ok);
    let json = answer.json();
    assert_eq!(json["license_key"], LICENSE);
    assert_eq!(json["hardware_id"], hardware_id.as_str());
    assert_eq!(json["product_details"]["short_code"], "TP");
    assert_eq!(json["license_type"], "perpetual");
    assert_eq!(json["max_activations"], 2);
    assert_eq!(json["times_activated"], 1);
    let sent: serde_json::Value = serde_json::from_slice(&file.json).expect("JSON");
    assert!(sent["request"]["request_id"].is_string());
    assert_eq!(json["request_id"], sent["request"]["request_id"]);
}

#[tokio::test]
async fn the_default_key_is_the_test_key_of_the_fixtures() {
    let double = double_with_seats(1).start().await;
    assert_eq!(double.public_key(), public_key());
}

#[tokio::test]
async fn every_official_layout_activates() {
    let double = double_with_seats(4).start().await;
    let client = Client::of(&double);
    for style in Style::ALL {
        let file = builder(RequestKind::Activation, LICENSE, &device())
            .style(style)
            .sign(API_KEY, SHARED_KEY);
        let answer = client.activate(&file).await;
        assert_eq!(
            answer.status,
            200,
            "{style}: {}",
            String::from_utf8_lossy(&answer.body)
        );
    }
}

#[tokio::test]
async fn seats_are_counted_to_the_limit_then_license_activated_max_times() {
    let double = double_with_seats(2).start().await;
    let client = Client::of(&double);
    let (first, second) = (device(), device());
    assert_eq!(
        client.activate_on(LICENSE, &first).await.u64("times_activated"),
        1
    );
    assert_eq!(
        client.activate_on(LICENSE, &second).await.u64("times_activated"),
        2
    );
    let third = client.activate_on(LICENSE, &device()).await;
    assert_eq!(
        (third.status, third.code()),
        (400, "license_activated_max_times".into())
    );
    // SPEC §5.4: a device that holds a seat activates again without taking another.
    let again = client.activate_on(LICENSE, &first).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.u64("times_activated"), 2);
}

#[tokio::test]
async fn a_deactivation_frees_the_seat_and_the_next_device_counts_a_transfer() {
    let double = double_with_seats(1).start().await;
    let client = Client::of(&double);
    let (old, new) = (device(), device());
    assert_eq!(client.activate_on(LICENSE, &old).await.status, 200);
    assert_eq!(
        client.activate_on(LICENSE, &new).await.code(),
        "license_activated_max_times"
    );
    let freed = client.deactivate(&deactivation(LICENSE, &old)).await;
    assert_eq!(freed.status, 200);
    assert_eq!(freed.body, b"license_deactivated");
    let moved = client.activate_on(LICENSE, &new).await;
    assert_eq!(moved.status, 200);
    assert_eq!(moved.u64("times_activated"), 1);
    assert_eq!(moved.u64("transfer_count"), 1);
    let unknown = client.deactivate(&deactivation(LICENSE, &old)).await;
    assert_eq!(unknown.code(), "device_not_found");
}

#[tokio::test]
async fn a_user_based_license_activates_by_username() {
    let double = ActivationDouble::builder()
        .api_key(API_KEY, SHARED_KEY)
        .product("fooapp", "Foo App")
        .license(License::user("jane@example.com").product("fooapp"))
        .start()
        .await;
    let client = Client::of(&double);
    let file = lsconform::protocol::RequestBuilder::activation()
        .username("jane@example.com")
        .password("secret")
        .hardware_id(device())
        .product("fooapp")
        .date(lsconform::protocol::format_http_date(std::time::SystemTime::now()))
        .sign(API_KEY, SHARED_KEY);
    let answer = client.activate(&file).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let json = answer.json();
    assert_eq!(json["username"], "jane@example.com");
    assert_eq!(json["product_details"]["product_name"], "Foo App");
    assert_eq!(json["product_details"]["authorization_method"], "user");
}

#[tokio::test]
async fn license_states_answer_their_codes() {
    use std::time::{Duration, SystemTime};
    let past = SystemTime::now() - Duration::from_secs(60);
    let double = ActivationDouble::builder()
        .api_key(API_KEY, SHARED_KEY)
        .license(License::perpetual("DISA").disabled())
        .license(License::perpetual("INAC").inactive())
        .license(License::perpetual("EXPI").valid_until(past))
        .license(License::perpetual("TREX").trial().valid_until(past))
        .license(License::of_type("SUBS", "subscription"))
        .license(License::perpetual("OTHE").product("OTHER"))
        .start()
        .await;
    let client = Client::of(&double);
    for (license, code) in [
        ("DISA", "license_not_enabled"),
        ("INAC", "license_not_active"),
        ("EXPI", "license_expired"),
        ("TREX", "trial_expired"),
        ("SUBS", "license_type_not_supported_offline"),
        ("OTHE", "license_not_found"),
        ("NONE", "license_not_found"),
    ] {
        let answer = client.activate_on(license, &device()).await;
        assert_eq!((answer.status, answer.code()), (400, code.into()), "{license}");
    }
}

#[tokio::test]
async fn an_unknown_path_is_not_found_and_another_method_is_not_allowed() {
    let double = double_with_seats(1).start().await;
    let client = Client::of(&double);
    let missing = client
        .send("POST", "/api/v4/activate_online", &[], Vec::new())
        .await;
    assert_eq!((missing.status, missing.code()), (404, "not_found".into()));
    let get = client
        .send("GET", RequestKind::Activation.path(), &[], Vec::new())
        .await;
    assert_eq!((get.status, get.code()), (405, "method_not_allowed".into()));
    assert_eq!(get.allow.as_deref(), Some("POST"));
}

#[tokio::test]
async fn the_same_file_again_gets_the_same_answer_and_its_request_id_with_another_payload_conflicts() {
    let double = double_with_seats(2).start().await;
    let client = Client::of(&double);
    let file = activation(LICENSE, &device());
    let first = client.activate(&file).await;
    assert_eq!(first.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // SPEC §5.5: a replay gets the stored answer, byte for byte (the same date), and no seat.
    let again = client.activate(&file).await;
    assert_eq!(again.body, first.body);
    let request_id = first.json()["request_id"].as_str().expect("echoed").to_owned();
    let other = builder(RequestKind::Activation, LICENSE, &device())
        .request_id(request_id)
        .sign(API_KEY, SHARED_KEY);
    let conflict = client.activate(&other).await;
    assert_eq!(
        (conflict.status, conflict.code()),
        (409, "request_id_conflict".into())
    );
    assert_eq!(
        client
            .activate_on(LICENSE, &device())
            .await
            .u64("times_activated"),
        2
    );
}
