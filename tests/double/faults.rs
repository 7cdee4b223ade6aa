//! Scripted faults, each as the client sees it.

use std::time::Duration;

use lsconform::double::{Fault, Requests};
use lsconform::protocol::{check_answer, ErrorCode, OfflineKey, Verdict};

use crate::support::*;

#[tokio::test]
async fn an_error_fault_answers_its_code_for_the_next_n_requests_then_stops() {
    let double = double_with_seats(1).start().await;
    double.fault(Fault::error(ErrorCode::LicenseNotEnabled).times(2));
    let client = Client::of(&double);
    let hardware_id = device();
    for _ in 0..2 {
        let refused = client.activate_on(LICENSE, &hardware_id).await;
        assert_eq!(
            (refused.status, refused.code()),
            (400, "license_not_enabled".into())
        );
        assert_eq!(refused.content_type, "application/json");
    }
    // The faulted requests took no seat: the only seat is still free for another device.
    let answer = client.activate_on(LICENSE, &device()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.u64("times_activated"), 1);
}

#[tokio::test]
async fn a_status_fault_answers_that_status_with_an_empty_body() {
    let double = double_with_seats(1).start().await;
    double.fault(Fault::status(503));
    let client = Client::of(&double);
    let answer = client.activate_on(LICENSE, &device()).await;
    assert_eq!(answer.status, 503);
    assert!(answer.body.is_empty());
    assert_eq!(client.activate_on(LICENSE, &device()).await.status, 200);
}

#[tokio::test]
async fn a_delay_fault_makes_a_client_time_out_and_the_activation_still_happens() {
    let double = double_with_seats(1).start().await;
    double.fault(Fault::delay(Duration::from_secs(3)));
    let client = Client::of(&double);
    let hardware_id = device();
    let file = activation(LICENSE, &hardware_id);
    let timed_out = client.activate_within(&file, Duration::from_millis(200)).await;
    assert!(timed_out.is_none(), "expected a timeout, got {timed_out:?}");
    // The request was judged: the seat is taken, the same device activates again without delay.
    let other = client.activate_on(LICENSE, &device()).await;
    assert_eq!(other.code(), "license_activated_max_times");
    let again = client
        .activate_within(&activation(LICENSE, &hardware_id), Duration::from_secs(2))
        .await
        .expect("no delay any more");
    assert_eq!(again.status, 200);
}

#[tokio::test]
async fn a_not_json_fault_answers_200_with_a_body_that_does_not_parse() {
    let double = double_with_seats(1).start().await;
    double.fault(Fault::not_json());
    let client = Client::of(&double);
    let answer = client.activate_on(LICENSE, &device()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "application/json");
    assert!(serde_json::from_slice::<serde_json::Value>(&answer.body).is_err());
    // It stood in for the answer: no seat was taken.
    assert_eq!(client.activate_on(LICENSE, &device()).await.status, 200);
}

#[tokio::test]
async fn a_truncated_fault_cuts_the_answer_after_the_seat_is_taken() {
    let double = double_with_seats(1).start().await;
    double.fault(Fault::truncated());
    let client = Client::of(&double);
    let hardware_id = device();
    let cut = client.activate_on(LICENSE, &hardware_id).await;
    assert_eq!(cut.status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&cut.body).is_err());
    let whole = client.activate_on(LICENSE, &hardware_id).await;
    assert!(whole.body.starts_with(&cut.body[..20]));
    assert!(cut.body.len() < whole.body.len());
    // The client retrying from the same device gets its seat back, not a second one.
    assert_eq!(whole.u64("times_activated"), 1);
}

#[tokio::test]
async fn a_bad_license_signature_v2_fault_breaks_only_that_signature() {
    let double = double_with_seats(1).start().await;
    double.fault(Fault::bad_license_signature_v2());
    let client = Client::of(&double);
    let answer = client.activate_on(LICENSE, &device()).await;
    assert_eq!(answer.status, 200);
    let keys = Some(OfflineKey {
        api_key: API_KEY,
        shared_key: SHARED_KEY,
    });
    let check = check_answer(&answer.body, Some(&public_key()), keys).expect("an answer");
    assert_eq!(check.offline_signature, Verdict::Ok);
    assert_eq!(check.license_signature, Verdict::Ok);
    assert_eq!(check.license_signature_v2, Verdict::Mismatch);
    // One request only: the next answer verifies.
    let next = client.activate_on(LICENSE, &device()).await;
    assert_eq!(next.status, 400, "one seat, already taken");
}

#[tokio::test]
async fn a_fault_limited_to_a_license_key_leaves_other_licenses_alone() {
    let double = double_with_seats(3)
        .license(lsconform::double::License::perpetual("OTHER-KEY"))
        .start()
        .await;
    double.fault(
        Fault::status(502)
            .times(2)
            .when(Requests::activations().license_key("OTHER-KEY")),
    );
    let client = Client::of(&double);
    assert_eq!(client.activate_on(LICENSE, &device()).await.status, 200);
    assert_eq!(client.activate_on("OTHER-KEY", &device()).await.status, 502);
    assert_eq!(client.activate_on(LICENSE, &device()).await.status, 200);
    assert_eq!(client.activate_on("OTHER-KEY", &device()).await.status, 502);
    assert_eq!(client.activate_on("OTHER-KEY", &device()).await.status, 200);
}

#[tokio::test]
async fn faults_apply_in_the_order_they_were_scripted() {
    let double = double_with_seats(1).fault(Fault::status(500)).start().await;
    double.fault(Fault::error(ErrorCode::LicenseExpired));
    let client = Client::of(&double);
    assert_eq!(client.activate_on(LICENSE, &device()).await.status, 500);
    assert_eq!(
        client.activate_on(LICENSE, &device()).await.code(),
        "license_expired"
    );
    assert_eq!(client.activate_on(LICENSE, &device()).await.status, 200);
}

#[tokio::test]
async fn a_fault_is_recorded_in_the_journal() {
    let double = double_with_seats(1).start().await;
    double.fault(Fault::error(ErrorCode::LicenseNotActive));
    let client = Client::of(&double);
    client.activate_on(LICENSE, &device()).await;
    let entry = double.journal().pop().expect("one entry");
    assert_eq!(entry.status, 400);
    assert_eq!(entry.code, Some(ErrorCode::LicenseNotActive));
    assert_eq!(
        entry.fault.map(|f| f.to_string()).as_deref(),
        Some("error license_not_active")
    );
}
