//! A property with nothing to judge is an error, never a pass (README), in every selection.

use lsconform::suite::generate::{self, GenerateOptions, Property};
use lsconform::suite::{Profile, RunOptions, Verdict};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server that answers every request with `status` and `body`.
async fn answering(status: u16, body: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(status)
                .insert_header("content-type", "application/json")
                .set_body_string(body),
        )
        .mount(&server)
        .await;
    server
}

async fn verdicts(server: &MockServer, properties: Vec<Property>) -> Vec<(String, Verdict, String)> {
    let mut options = GenerateOptions::new(30, 7);
    options.properties = properties;
    generate::run(
        &Profile::reference(server.uri()),
        &options,
        &RunOptions::default(),
        |_| {},
    )
    .await
    .into_iter()
    .map(|r| (r.id, r.verdict, r.actual.unwrap_or_default()))
    .collect()
}

#[tokio::test]
async fn oracle_agreement_alone_against_a_server_that_answers_500_is_an_error() {
    let server = answering(500, "{}").await;
    let results = verdicts(&server, vec![Property::OracleAgreement]).await;
    assert_eq!(results.len(), 1);
    let (id, verdict, actual) = &results[0];
    assert_eq!(
        (id.as_str(), *verdict),
        ("generated/oracle-agreement", Verdict::Error),
        "{actual}"
    );
    assert!(actual.contains("nothing to judge"), "{actual}");
}

#[tokio::test]
async fn the_signed_answer_with_no_request_accepted_is_an_error_and_the_error_shape_with_no_error_too() {
    let refusing = answering(400, r#"{"status":400,"code":"license_not_found","message":"no"}"#).await;
    let results = verdicts(&refusing, vec![Property::SignedAnswer]).await;
    assert_eq!(results[0].1, Verdict::Error, "{:?}", results[0]);
    let accepting = answering(200, "{}").await;
    let results = verdicts(&accepting, vec![Property::ErrorShape]).await;
    assert_eq!(results[0].1, Verdict::Error, "{:?}", results[0]);
}
