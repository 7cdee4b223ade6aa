//! `lsconform mock --admin`: the admin API under `/__lsconform/`, driven by a client test in
//! Python (`tests/python_sdk/admin_api.py`, the official Python SDK's own calls, in the virtualenv
//! of `scripts/python-sdk-venv.sh`) and by reqwest for what the Python test does not show.

use std::process::Command;
use std::time::Duration;

use lsconform::double::ADMIN_PREFIX;
use serde_json::{json, Value};

use crate::common::process::{launch, Running};
use crate::common::sdk::{python, repo};
use crate::support::{device, Client, API_KEY, LICENSE, SHARED_KEY};

/// An admin call: its status and JSON body.
async fn admin(uri: &str, method: &str, call: &str, body: Option<Value>) -> (u16, Value) {
    lsconform::install_crypto_provider();
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let mut request = reqwest::Client::new().request(method, format!("{uri}{ADMIN_PREFIX}{call}"));
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("the mock answers");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("a body");
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, json)
}

/// The official Python SDK, through the admin API: a scripted 503, the retry, the journal, the
/// expectations verified (met, then unmet), a reset.
#[tokio::test]
async fn python_client_test_scripts_a_503_sees_the_retry_succeed_and_verifies_through_the_admin_api() {
    let (_mock, uri, _log) = launch("mock", &["--admin"]);
    let hardware_id = format!("python-admin-{}", uuid::Uuid::new_v4());
    let python = tokio::task::spawn_blocking(python).await.expect("the venv");
    let mut command = Command::new(python);
    command
        .arg(repo("tests/python_sdk/admin_api.py"))
        .args(["--url", &uri])
        .arg("--public-key")
        .arg(repo("fixtures/keys/reference-public.pem"))
        // `lsconform mock` without --config: the reference seed's credentials and licenses.
        .args([
            "--api-key",
            "lsconform-test-api-key",
            "--shared-key",
            "lsconform-test-shared-key",
        ])
        .args(["--product", "TP", "--license-key", "PERP-0000-0000-0001"])
        .args(["--hardware-id", &hardware_id])
        .env("PYTHONUTF8", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    let output = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .expect("admin_api.py finishes within 180 s")
    .expect("the waiting task does not panic")
    .expect("the venv's python starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let describe = format!(
        "exit {}\nstdout: {stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let out: Value = stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("admin_api.py printed no JSON line\n{describe}"));
    assert!(
        output.status.success() && out.get("error").is_none(),
        "{describe}"
    );

    assert_eq!(
        out["journal_before"],
        json!({"status": 200, "body": {"received": 0, "journal_cap": 1000, "entries": []}})
    );
    assert_eq!(out["fault"]["status"], 201, "{describe}");
    assert_eq!(out["expect_deactivation"]["status"], 201, "{describe}");

    // The 503 reached the SDK, which raised; the retry of the same file succeeded and the SDK
    // verified the answer with the pinned key.
    let attempts = &out["attempts"];
    assert_eq!(
        attempts[0],
        json!({"error": "HTTPError", "status": 503}),
        "{describe}"
    );
    assert_eq!(
        attempts[1]["answer_hardware_id"].as_str(),
        Some(hardware_id.as_str()),
        "{describe}"
    );
    assert_eq!(attempts.as_array().map(Vec::len), Some(2), "{describe}");
    assert_eq!(out["license_signature_v2_verified"], 1, "{describe}");
    assert_eq!(out["deactivation_answer"], "license_deactivated", "{describe}");
    assert_eq!(
        out["faults_after"]["body"]["faults"],
        json!([]),
        "the fault fired once"
    );

    // The journal: the faulted activation, its retry, the deactivation; no admin call among them.
    let journal = &out["journal"]["body"];
    assert_eq!(journal["received"], 3, "{describe}");
    let entries = journal["entries"].as_array().expect("entries");
    let column = |name: &str| entries.iter().map(|e| e[name].clone()).collect::<Vec<_>>();
    assert_eq!(column("status"), [json!(503), json!(200), json!(200)]);
    assert_eq!(column("fault"), [json!("status 503"), Value::Null, Value::Null]);
    assert_eq!(
        column("endpoint"),
        [json!("activation"), json!("activation"), json!("deactivation")]
    );
    assert_eq!(
        column("style"),
        [json!("python"), json!("python"), json!("python")]
    );
    assert_eq!(column("signatures_hold"), [json!(true), json!(true), json!(true)]);
    // The retry sent the same file: the same request_id, which the answer echoed.
    let request_id = &entries[0]["payload"]["request_id"];
    assert_eq!(&entries[1]["payload"]["request_id"], request_id);
    assert_eq!(&attempts[1]["request_id"], request_id);
    assert_eq!(
        entries[0]["payload"]["hardware_id"].as_str(),
        Some(hardware_id.as_str())
    );

    // Verified: both expectations met (two activations, one deactivation of this device).
    assert_eq!(out["verify"]["status"], 200, "{describe}");
    assert_eq!(out["verify"]["body"]["met"], true);
    let counts: Vec<Value> = out["verify"]["body"]["expectations"]
        .as_array()
        .expect("expectations")
        .iter()
        .map(|e| json!([e["times"], e["received"], e["met"]]))
        .collect();
    assert_eq!(
        counts,
        [json!(["exactly 2", 2, true]), json!(["exactly 1", 1, true])]
    );
    // One that cannot hold (it counts the requests that arrive after it is added: none): 409,
    // and only it is listed as unmet.
    assert_eq!(out["verify_unmet"]["status"], 409, "{describe}");
    let unmet = &out["verify_unmet"]["body"]["unmet"];
    assert_eq!(
        unmet,
        &json!([{"requests": "activation requests", "times": "at least 3", "received": 0, "met": false}])
    );
    assert!(out["verify_unmet"]["body"]["report"]
        .as_str()
        .is_some_and(|r| r.contains("1 of 3 expectation(s) not met")));
    let seed_licenses = lsconform::server::REFERENCE_SEED.matches("[[licenses]]").count();
    assert_eq!(
        out["reset"],
        json!({"status": 200, "body": {"licenses": seed_licenses}})
    );
    assert_eq!(
        out["clear_faults"],
        json!({"status": 200, "body": {"cleared": 0}})
    );
    assert_eq!(
        out["clear_expectations"],
        json!({"status": 200, "body": {"cleared": 3}})
    );
    // Nothing left to verify is an error, never a pass.
    assert_eq!(out["verify_nothing"]["status"], 400, "{describe}");
}

/// A client under test that strays under the prefix gets the endpoints' `not_found`, and the
/// request is journaled like any other.
#[tokio::test]
async fn admin_api_is_off_unless_asked_for() {
    let (_mock, uri, log) = launch("mock", &[]);
    let (status, body) = admin(&uri, "GET", "journal", None).await;
    assert_eq!((status, &body["code"]), (404, &json!("not_found")), "{body}");
    let (status, body) = admin(
        &uri,
        "POST",
        "faults",
        Some(json!({"answer": "status", "status": 503})),
    )
    .await;
    assert_eq!((status, &body["code"]), (404, &json!("not_found")), "{body}");
    let lines: Vec<String> = (0..2)
        .map(|_| loop {
            let line = log.recv_timeout(Duration::from_secs(30)).expect("a journal line");
            if line.starts_with('#') {
                break line;
            }
        })
        .collect();
    assert!(
        lines[0].starts_with("#0 GET /__lsconform/journal → 404 not_found"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("#1 POST /__lsconform/faults → 404 not_found"),
        "{lines:?}"
    );
}

/// A mock with `LICENSE` (one seat) for the client's credentials, from a TOML file.
fn one_seat_mock() -> (Running, String, tempdir::Dir) {
    let dir = tempdir::Dir::new();
    let config = dir.0.join("double.toml");
    std::fs::write(
        &config,
        format!(
            "[[api_keys]]\napi_key = \"{API_KEY}\"\nshared_key = \"{SHARED_KEY}\"\n\n\
             [[licenses]]\nlicense_key = \"{LICENSE}\"\nmax_activations = 1\n"
        ),
    )
    .expect("the config is written");
    let (mock, uri, _log) = launch("mock", &["--admin", "--config", config.to_str().expect("UTF-8")]);
    (mock, uri, dir)
}

mod tempdir {
    /// A directory removed when dropped.
    pub struct Dir(pub std::path::PathBuf);

    impl Dir {
        pub fn new() -> Dir {
            let path = std::env::temp_dir().join(format!("lsconform-admin-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&path).expect("a temporary directory");
            Dir(path)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[tokio::test]
async fn reset_gives_back_the_seats_taken_since_the_start() {
    let (_mock, uri, _dir) = one_seat_mock();
    let client = Client::new(uri.clone());
    assert_eq!(client.activate_on(LICENSE, &device()).await.status, 200);
    let full = client.activate_on(LICENSE, &device()).await;
    assert_eq!(
        (full.status, full.code()),
        (400, "license_activated_max_times".to_owned())
    );

    assert_eq!(
        admin(&uri, "POST", "reset", None).await,
        (200, json!({"licenses": 1}))
    );
    let after = client.activate_on(LICENSE, &device()).await;
    assert_eq!(after.status, 200, "the seat is free again: {}", after.code());
    // The journal is not part of the licenses' state: it still holds all three.
    let (_, journal) = admin(&uri, "GET", "journal", None).await;
    assert_eq!(journal["received"], 3);
}

#[tokio::test]
async fn a_fault_added_through_the_admin_api_fires_its_times_on_the_requests_it_names() {
    let (_mock, uri, _dir) = one_seat_mock();
    let client = Client::new(uri.clone());
    let mine = device();
    let (status, body) = admin(
        &uri,
        "POST",
        "faults",
        Some(json!({"answer": "error", "code": "license_not_enabled", "times": 2, "hardware_id": mine})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // Another device is not concerned (and takes the one seat: the fault only refuses).
    let other = client.activate_on(LICENSE, &device()).await;
    assert_eq!(other.status, 200);
    for _ in 0..2 {
        let refused = client.activate_on(LICENSE, &mine).await;
        assert_eq!(
            (refused.status, refused.code()),
            (400, "license_not_enabled".to_owned())
        );
    }
    // Used up: the protocol's own answer again (the seat is taken).
    let own = client.activate_on(LICENSE, &mine).await;
    assert_eq!(own.code(), "license_activated_max_times");
    assert_eq!(
        admin(&uri, "GET", "faults", None).await,
        (200, json!({"faults": []}))
    );
}

#[tokio::test]
async fn bad_admin_input_gets_a_clear_error_and_changes_nothing() {
    let (_mock, uri, _dir) = one_seat_mock();
    for (method, call, body, status, says) in [
        (
            "POST",
            "faults",
            json!({"answer": "stat"}),
            400,
            "unknown answer \"stat\"",
        ),
        ("POST", "faults", json!({"answer": "status"}), 400, "needs status"),
        (
            "POST",
            "faults",
            json!({"answer": "status", "status": 503, "when": {}}),
            400,
            "unknown field `when`",
        ),
        (
            "POST",
            "faults",
            json!({"answer": "status", "status": 503, "endpoint": "both"}),
            400,
            "expected activation or deactivation",
        ),
        (
            "POST",
            "expectations",
            json!({"endpoint": "activation"}),
            400,
            "missing field `times`",
        ),
        ("POST", "expectations", json!({"times": "twice"}), 400, "the body"),
        ("PUT", "journal", json!({}), 405, "PUT is not a method"),
        (
            "GET",
            "requests",
            json!({}),
            404,
            "no admin call GET /__lsconform/requests",
        ),
    ] {
        let (got, answer) = admin(&uri, method, call, Some(body)).await;
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(
            got == status && error.contains(says),
            "{method} {call}: {got} {answer}"
        );
    }
    assert_eq!(
        admin(&uri, "GET", "faults", None).await,
        (200, json!({"faults": []}))
    );
    assert_eq!(
        admin(&uri, "GET", "expectations", None).await,
        (200, json!({"expectations": []}))
    );
    assert_eq!(admin(&uri, "GET", "journal", None).await.1["received"], 0);
}
