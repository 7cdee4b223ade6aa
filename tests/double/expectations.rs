//! Expectations, checked when the double is dropped, like wiremock's `Mock::expect`.

use std::panic::AssertUnwindSafe;

use lsconform::double::Requests;

use crate::support::*;

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[tokio::test]
async fn met_expectations_pass_silently_on_drop() {
    let double = double_with_seats(2)
        .expect(Requests::activations().license_key(LICENSE), 2)
        .start()
        .await;
    double.expect(Requests::deactivations(), 0);
    double.expect(Requests::any(), 1..);
    let client = Client::of(&double);
    client.activate_on(LICENSE, &device()).await;
    client.activate_on(LICENSE, &device()).await;
    drop(double);
}

#[tokio::test]
async fn an_unmet_expectation_panics_on_drop_and_shows_what_was_received() {
    let double = double_with_seats(2).start().await;
    double.expect(Requests::activations().license_key(LICENSE), 1);
    double.expect(Requests::deactivations(), 0);
    let client = Client::of(&double);
    client.activate_on(LICENSE, "hw-first").await;
    client.activate_on(LICENSE, "hw-second").await;
    client
        .post(lsconform::protocol::RequestKind::Activation, "garbage")
        .await;
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(move || drop(double)));
    let message = panic_message(outcome.expect_err("the drop must panic"));
    eprintln!("The panic message:\n{message}");
    assert!(
        message.contains(
            "activation double: 1 of 2 expectation(s) not met:\n\
             - activation requests with license_key \"AAAA-BBBB-CCCC-DDDD\": expected exactly 1, received 2\n"
        ),
        "{message}"
    );
    assert!(message.contains("Received 3 request(s):\n"), "{message}");
    assert!(
        message.contains("  #0 POST /api/v4/activate_offline → 200; schema 2, python;"),
        "{message}"
    );
    assert!(message.contains("hardware_id \"hw-second\""), "{message}");
    assert!(
        message.contains(
            "  #2 POST /api/v4/activate_offline → 400 authorization_missing_params; body not decoded: \
             authorization_missing_params (the body is not proper Base64"
        ),
        "{message}"
    );
    // The met expectation is not listed.
    assert!(!message.contains("deactivation requests"), "{message}");
}

#[tokio::test]
#[should_panic(
    expected = "activation requests: expected at least 1, received 0\nThe double received no request."
)]
async fn an_expected_activation_that_never_came_fails_the_test() {
    let double = double_with_seats(1).start().await;
    double.expect(Requests::activations(), 1..);
}

#[tokio::test]
async fn the_report_says_when_the_journal_dropped_older_requests() {
    let double = double_with_seats(1).journal_cap(2).start().await;
    double.expect(Requests::activations(), ..3);
    let client = Client::of(&double);
    for i in 0..5 {
        client.activate_on(LICENSE, &format!("hw-{i}")).await;
    }
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(move || double.verify()));
    let message = panic_message(outcome.expect_err("verify must panic"));
    assert!(message.contains("expected at most 2, received 5"), "{message}");
    assert!(
        message.contains("Received 5 request(s); the last 2 (journal cap 2):"),
        "{message}"
    );
    assert!(
        message.contains("#3 POST") && message.contains("#4 POST"),
        "{message}"
    );
    assert!(!message.contains("#2 POST"), "{message}");
}
