//! Named faults: listed by `serve --list-faults`, hidden from the help, and each one really
//! deviates (the suite's fault matrix proves the suite catches them; this proves they exist).

use std::process::Command;

use lsconform::protocol::{encode_request_file, RequestKind, Style};
use lsconform::server::{Fault, ReferenceServer};

use crate::support::{builder, device, license, Client, API_KEY, SHARED_KEY};

#[test]
fn list_faults_names_at_least_twelve_and_help_hides_them() {
    let out = Command::new(env!("CARGO_BIN_EXE_lsconform"))
        .args(["serve", "--list-faults"])
        .output()
        .unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(Fault::ALL.len() >= 12);
    for fault in Fault::ALL {
        assert!(listed.contains(fault.name()), "{listed}");
    }
    let help = Command::new(env!("CARGO_BIN_EXE_lsconform"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(!help.contains("--fault"), "{help}");
    assert!(!help.contains("skip-inner-signature"), "{help}");
}

async fn with(fault: Fault) -> (lsconform::server::RunningServer, Client) {
    let server = ReferenceServer::builder().fault(fault).start().await.unwrap();
    let client = Client::of(&server);
    (server, client)
}

#[tokio::test]
async fn skip_inner_signature_accepts_a_schema_1_file_signed_with_another_key() {
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .style(Style::Schema1)
        .sign(API_KEY, "wrong");
    let (reference, client) = with(Fault::SkipInnerSignature).await;
    assert_eq!(client.activate(&f).await.status, 200);
    reference.shutdown().await;
}

#[tokio::test]
async fn seats_off_by_one_gives_the_exhausted_license_one_more_seat() {
    let (server, client) = with(Fault::SeatsOffByOne).await;
    assert_eq!(
        client.activate_on(&license("exhausted"), &device()).await.status,
        200
    );
    server.shutdown().await;
}

#[tokio::test]
async fn accept_url_safe_base64_reads_the_url_safe_alphabet() {
    let (server, client) = with(Fault::AcceptUrlSafeBase64).await;
    // `?` and `~` in every position of a 3-byte group put a `/` in the Base64 text.
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .field("hostname", "??~~??~~")
        .sign(API_KEY, SHARED_KEY);
    assert!(f.text.contains('/'));
    let text = f.text.replace('+', "-").replace('/', "_");
    assert_eq!(
        client
            .activate(&lsconform::protocol::RequestFile { json: vec![], text })
            .await
            .status,
        200
    );
    server.shutdown().await;
}

#[tokio::test]
async fn duplicate_keys_last_wins_takes_the_last_copy() {
    let (server, client) = with(Fault::DuplicateKeysLastWins).await;
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .style(Style::Schema1)
        .sign(API_KEY, SHARED_KEY);
    let json = String::from_utf8(f.json)
        .unwrap()
        .replacen('{', r#"{"product":"OTHER","#, 1);
    let answer = client
        .post(
            RequestKind::Activation.path(),
            encode_request_file(json.as_bytes()),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    server.shutdown().await;
}

#[tokio::test]
async fn drop_request_id_answers_without_it_and_error_status_mismatch_breaks_the_body() {
    let (server, client) = with(Fault::DropRequestId).await;
    let answer = client.activate_on(&license("perpetual"), &device()).await;
    assert!(answer.json()["request_id"].is_null());
    server.shutdown().await;
    let (server, client) = with(Fault::ErrorStatusMismatch).await;
    let answer = client.activate_on("NONE", &device()).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["status"], 422);
    server.shutdown().await;
}

#[tokio::test]
async fn leak_license_existence_answers_license_not_found_before_the_signature() {
    let (server, client) = with(Fault::LeakLicenseExistence).await;
    let f = builder(RequestKind::Activation, "NONE-0000", &device()).sign(API_KEY, "wrong");
    assert_eq!(client.activate(&f).await.code(), "license_not_found");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn non_atomic_seats_overbooks_under_concurrent_activations() {
    let (server, client) = with(Fault::NonAtomicSeats).await;
    let key = license("limited");
    let mut most = 0;
    for _ in 0..12 {
        let (winners, _) = crate::seats::contend(&client, &key).await;
        most = most.max(winners.len());
        crate::seats::give_back(&client, &key, &winners).await;
        if most > crate::seats::FREE_SEATS {
            break;
        }
    }
    assert!(
        most > crate::seats::FREE_SEATS,
        "at most {most} seats were taken at once"
    );
    server.shutdown().await;
}
