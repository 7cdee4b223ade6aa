//! `lsconform mock`: the double on a port, configured by a TOML file.

use std::process::Command;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use lsconform::protocol::{RequestBuilder, RequestKind};

use crate::common::process::Running;
use crate::support::{signed_headers, Client};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/double/example.toml");

/// Starts `lsconform mock` on a free port; returns it (killed when dropped), its URL, and its log
/// lines as they come.
fn mock(args: &[&str]) -> (Running, String, Receiver<String>) {
    crate::common::process::launch("mock", args)
}

fn file(api_key: &str, shared_key: &str, license_key: &str, hardware_id: &str) -> String {
    RequestBuilder::activation()
        .license_key(license_key)
        .hardware_id(hardware_id)
        .product("TP")
        .date(lsconform::protocol::format_http_date(std::time::SystemTime::now()))
        .sign(api_key, shared_key)
        .text
}

async fn activate(
    client: &Client,
    api_key: &str,
    shared_key: &str,
    license_key: &str,
    hw: &str,
) -> (u16, String) {
    let mut headers = signed_headers(api_key, shared_key);
    headers.push(("content-type", "text/plain".into()));
    client
        .send(
            "POST",
            RequestKind::Activation.path(),
            &headers,
            file(api_key, shared_key, license_key, hw).into_bytes(),
        )
        .await
        .status_and_code()
}

fn log_line(log: &Receiver<String>, seq: u64) -> String {
    let prefix = format!("#{seq} ");
    loop {
        let line = log
            .recv_timeout(Duration::from_secs(10))
            .expect("a log line per request");
        if line.starts_with(&prefix) {
            return line;
        }
    }
}

#[tokio::test]
async fn the_example_configuration_serves_its_licenses_and_faults_and_logs_each_request() {
    let (_mock, url, log) = mock(&["--config", EXAMPLE]);
    let client = Client::new(url);
    let (api, shared) = ("example-api-key", "example-shared-key");
    assert_eq!(
        activate(&client, api, shared, "EXAM-0000-0000-0001", "hw-1").await,
        (200, String::new())
    );
    assert_eq!(
        activate(&client, api, shared, "EXAM-0000-0000-0001", "hw-2").await,
        (200, String::new())
    );
    assert_eq!(
        activate(&client, api, shared, "EXAM-0000-0000-0001", "hw-3").await,
        (400, "license_activated_max_times".into())
    );
    // The example's scripted fault: the flaky license answers 503 twice, then works.
    for _ in 0..2 {
        assert_eq!(
            activate(&client, api, shared, "FLAK-0000-0000-0001", "hw-1")
                .await
                .0,
            503
        );
    }
    assert_eq!(
        activate(&client, api, shared, "FLAK-0000-0000-0001", "hw-1")
            .await
            .0,
        200
    );
    assert_eq!(
        log_line(&log, 0),
        "#0 POST /api/v4/activate_offline → 200; schema 2, python; license_key \"EXAM-0000-0000-0001\", \
         hardware_id \"hw-1\", product \"TP\"; signatures: header ok, inner ok, outer ok"
    );
    assert!(log_line(&log, 3).contains("→ 503 (fault: status 503)"));
}

#[tokio::test]
async fn without_a_configuration_it_serves_the_reference_seed() {
    let (_mock, url, _log) = mock(&[]);
    let client = Client::new(url);
    let (api, shared) = ("lsconform-test-api-key", "lsconform-test-shared-key");
    assert_eq!(
        activate(&client, api, shared, "PERP-0000-0000-0001", "hw-1").await,
        (200, String::new())
    );
    assert_eq!(
        activate(&client, api, shared, "DISA-0000-0000-0001", "hw-1").await,
        (400, "license_not_enabled".into())
    );
}

#[test]
fn a_bad_configuration_is_a_usage_error() {
    let dir = std::env::temp_dir().join(format!("lsconform-double-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let config = dir.join("bad.toml");
    std::fs::write(&config, "[[faults]]\nanswer = \"explode\"\n").expect("written");
    let out = Command::new(env!("CARGO_BIN_EXE_lsconform"))
        .args(["mock", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown answer \"explode\""), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn sigterm_stops_it_cleanly() {
    let (mut mock, url, log) = mock(&[]);
    let client = Client::new(url);
    let (api, shared) = ("lsconform-test-api-key", "lsconform-test-shared-key");
    activate(&client, api, shared, "PERP-0000-0000-0001", "hw-1").await;
    let pid = mock.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = mock.0.wait().expect("it exits");
    assert_eq!(status.code(), Some(0));
    let stopped = std::iter::from_fn(|| log.recv_timeout(Duration::from_secs(10)).ok())
        .find(|l| l.starts_with("lsconform mock: stopped"));
    assert_eq!(
        stopped.as_deref(),
        Some("lsconform mock: stopped after 1 request(s)")
    );
}
