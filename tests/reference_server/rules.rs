//! SPEC §1, §5 and §6: routes, the business rules in their order, and the signed answer.

use lsconform::protocol::{check_answer, OfflineKey, PublicKey, RequestKind, Verdict};

use crate::support::{self, device, file, license, reference, Client, API_KEY, SHARED_KEY};

#[tokio::test]
async fn a_perpetual_license_activates_with_an_answer_whose_three_signatures_verify() {
    let server = reference().await;
    let client = Client::of(&server);
    let hw = device();
    let f = file(RequestKind::Activation, &license("perpetual"), &hw);
    let answer = client.activate(&f).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.content_type, "application/json");
    let json = answer.json();
    assert_eq!(json["license_key"], license("perpetual"));
    assert_eq!(json["hardware_id"], hw.as_str());
    assert_eq!(json["product_details"]["short_code"], "TP");
    assert_eq!(json["license_type"], "perpetual");
    assert_eq!(json["times_activated"], 1);
    let sent_request_id = lsconform::protocol::decode_request(None, f.text.as_bytes())
        .unwrap()
        .payload
        .request_id;
    assert_eq!(json["request_id"].as_str(), sent_request_id.as_deref());
    let key = PublicKey::from_pem(support::PUBLIC_KEY).unwrap();
    let check = check_answer(
        &answer.body,
        Some(&key),
        Some(OfflineKey {
            api_key: API_KEY,
            shared_key: SHARED_KEY,
        }),
    )
    .unwrap();
    assert_eq!(
        [
            check.offline_signature,
            check.license_signature,
            check.license_signature_v2
        ],
        [Verdict::Ok; 3]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn trial_consumption_and_user_based_licenses_activate_offline() {
    let server = reference().await;
    let client = Client::of(&server);
    for role in ["trial", "consumption"] {
        let answer = client.activate_on(&license(role), &device()).await;
        assert_eq!(
            answer.status,
            200,
            "{role}: {}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    assert_eq!(
        client.activate_on(&license("trial"), &device()).await.json()["is_trial"],
        true
    );
    let user = support::builder(RequestKind::Activation, "", &device())
        .username(license("user"))
        .password("lsconform-test-password")
        .sign(API_KEY, SHARED_KEY);
    let answer = client.activate(&user).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.json()["username"], license("user"));
    assert_eq!(answer.json()["product_details"]["authorization_method"], "user");
    server.shutdown().await;
}

#[tokio::test]
async fn each_license_state_is_refused_with_its_code() {
    let server = reference().await;
    let client = Client::of(&server);
    for (role, code) in [
        ("disabled", "license_not_enabled"),
        ("inactive", "license_not_active"),
        ("expired", "license_expired"),
        ("trial_expired", "trial_expired"),
        ("unsupported", "license_type_not_supported_offline"),
        ("exhausted", "license_activated_max_times"),
    ] {
        let answer = client.activate_on(&license(role), &device()).await;
        assert_eq!((answer.status, answer.code()), (400, code.to_owned()), "{role}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn an_unknown_product_an_unknown_license_and_another_products_license_are_refused() {
    let server = reference().await;
    let client = Client::of(&server);
    let unknown_product = support::builder(RequestKind::Activation, &license("perpetual"), &device())
        .product("NOPE")
        .sign(API_KEY, SHARED_KEY);
    assert_eq!(client.activate(&unknown_product).await.code(), "unknown_product");
    assert_eq!(
        client.activate_on("NONE-0000-0000-0000", &device()).await.code(),
        "license_not_found"
    );
    // SPEC §5.1: a license of another product is not found.
    assert_eq!(
        client
            .activate_on(&license("other_product"), &device())
            .await
            .code(),
        "license_not_found"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_product_is_checked_before_the_license_state() {
    let server = reference().await;
    let client = Client::of(&server);
    let f = support::builder(RequestKind::Activation, &license("disabled"), &device())
        .product("NOPE")
        .sign(API_KEY, SHARED_KEY);
    assert_eq!(client.activate(&f).await.code(), "unknown_product");
    server.shutdown().await;
}

#[tokio::test]
async fn a_wrong_signature_gets_the_same_answer_whether_or_not_the_license_exists() {
    let server = reference().await;
    let client = Client::of(&server);
    let mut answers = Vec::new();
    for key in [license("perpetual"), "NONE-0000-0000-0000".to_owned()] {
        let f = support::builder(RequestKind::Activation, &key, "same-device")
            .sign(API_KEY, "not-the-shared-key");
        answers.push(client.activate(&f).await);
    }
    assert_eq!(answers[0].status, 401);
    assert_eq!(answers[0].code(), "signature_mismatch");
    assert_eq!(
        (answers[0].status, &answers[0].body),
        (answers[1].status, &answers[1].body)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn other_paths_are_not_found_and_other_methods_not_allowed() {
    let server = reference().await;
    let client = Client::of(&server);
    let answer = client.post("/api/v4/activate_offline/", "x").await;
    assert_eq!((answer.status, answer.code()), (404, "not_found".to_owned()));
    let answer = client
        .send(client.http().get(client.url("/api/v4/activate_offline")))
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (405, "method_not_allowed".to_owned())
    );
    server.shutdown().await;
}

#[tokio::test]
async fn missing_headers_are_refused_before_the_body_is_looked_at() {
    let server = reference().await;
    let client = Client::of(&server);
    let bare = client
        .http()
        .post(client.url("/api/v4/activate_offline"))
        .body("not base64");
    let answer = client.send(bare).await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "missing_headers".to_owned())
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_activation_file_is_refused_by_deactivate_offline_and_vice_versa() {
    let server = reference().await;
    let client = Client::of(&server);
    let hw = device();
    let activation = file(RequestKind::Activation, &license("perpetual"), &hw);
    assert_eq!(client.deactivate(&activation).await.code(), "validation_error");
    let deactivation = file(RequestKind::Deactivation, &license("perpetual"), &hw);
    assert_eq!(client.activate(&deactivation).await.code(), "validation_error");
    server.shutdown().await;
}

#[test]
fn the_reference_target_profile_describes_the_seed() {
    let profile: toml::Table =
        toml::from_str(include_str!("../../fixtures/targets/reference.toml")).expect("the profile is TOML");
    assert_eq!(profile["api_key"].as_str(), Some(API_KEY));
    assert_eq!(profile["shared_key"].as_str(), Some(SHARED_KEY));
    let seed = lsconform::server::Seed::reference();
    let licenses = profile["licenses"].as_table().expect("[licenses]");
    for (role, value) in licenses {
        let named = match value {
            toml::Value::String(key) => key.clone(),
            toml::Value::Table(t) => t
                .get("key")
                .or_else(|| t.get("username"))
                .and_then(|v| v.as_str())
                .unwrap()
                .to_owned(),
            other => panic!("{role}: {other:?}"),
        };
        assert_eq!(
            named,
            license(role),
            "the profile's {role} license is not the seed's"
        );
    }
    let limited = seed
        .licenses
        .iter()
        .find(|l| l.role.as_deref() == Some("limited"))
        .unwrap();
    let free = limited.max_activations as usize - limited.activated_on.len();
    assert_eq!(licenses["limited"]["free_seats"].as_integer(), Some(free as i64));
    let exhausted = seed
        .licenses
        .iter()
        .find(|l| l.role.as_deref() == Some("exhausted"))
        .unwrap();
    assert_eq!(exhausted.activated_on.len() as u32, exhausted.max_activations);
}
