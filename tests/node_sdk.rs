//! Interop with the official Node SDK (npm `@licensespring/node-sdk` 1.4.17, pinned in
//! `tests/node_sdk/package.json`), run for real: the SDK installed by `scripts/node-sdk.sh` (on the
//! first run; it needs Node.js and npm, from Debian's packages if missing, and the npm registry),
//! driven by `tests/node_sdk/interop.js` as an application drives it, against the reference server
//! (in-process) and against `lsconform mock` (the binary, with its default configuration: the
//! reference seed).
//!
//! - `LicenseAPI`: `createOfflineActivationPayload` → `activateOffline` (the SDK posts the file and
//!   checks `license_signature` and `license_signature_v2` with the pinned key) →
//!   `createOfflineDeactivationPayload` → `deactivateOffline`.
//! - `LicenseManager`, the air-gapped flow: the SDK writes the request file, this test carries it
//!   to the server as the portal would, and the SDK verifies the license file it gets back; then
//!   `License.deactivateOffline` writes its deactivation file (no `request`, no `request_id`: SPEC
//!   §4 makes it of the endpoint it is posted to), which frees the seat.
//!
//! Also: our decoder reads the SDK's files as `Style::JavaScript`, and `RequestBuilder` in
//! `Style::JavaScript` writes them byte for byte from the same fields.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc::Receiver;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use common::process::{launch, Running};
use common::sdk::{
    assert_same_bytes, driver_args, node_modules, repo, SdkRun, API_KEY, ESCAPES_HOSTNAME,
    NON_ASCII_HOSTNAME, OTHER_PUBLIC_KEY, PERPETUAL, PRODUCT, REFERENCE_PUBLIC_KEY, SHARED_KEY,
};
use lsconform::protocol::{
    format_http_date, AuthorizationHeader, DecodedRequest, ErrorCode, RequestBuilder, RequestFile,
    RequestKind, Style,
};
use lsconform::server::{ReferenceServer, RunningServer};
use serde_json::{json, Value};

const SDK_VERSION: &str = "1.4.17";

/// A server the SDK talks to: the reference server in-process, or `lsconform mock` as a process
/// (whose log lines are the double's journal).
enum Server {
    Reference(RunningServer),
    Mock {
        _process: Running,
        uri: String,
        log: Receiver<String>,
    },
}

impl Server {
    async fn reference() -> Server {
        Server::Reference(
            ReferenceServer::builder()
                .start()
                .await
                .expect("the server starts"),
        )
    }

    fn mock() -> Server {
        let (process, uri, log) = launch("mock", &[]);
        Server::Mock {
            _process: process,
            uri,
            log,
        }
    }

    fn uri(&self) -> String {
        match self {
            Server::Reference(server) => server.uri(),
            Server::Mock { uri, .. } => uri.clone(),
        }
    }

    /// The mock's next `n` journal lines (`#0 POST …`; none for the reference server). The mock
    /// logs a request before it answers; its log reaches us through a reader thread, so wait.
    fn journal_lines(&self, n: usize) -> Vec<String> {
        let Server::Mock { log, .. } = self else {
            return Vec::new();
        };
        let mut lines = Vec::new();
        while lines.len() < n {
            match log.recv_timeout(Duration::from_secs(30)) {
                Ok(line) if line.starts_with('#') => lines.push(line),
                Ok(_) => {}
                Err(e) => panic!(
                    "lsconform mock logged {} of {n} journal lines ({e}): {lines:#?}",
                    lines.len()
                ),
            }
        }
        lines
    }

    async fn stop(self) {
        if let Server::Reference(server) = self {
            server.shutdown().await;
        }
    }
}

fn fresh_hardware_id(label: &str) -> String {
    format!("node-sdk-{label}-{}", uuid::Uuid::new_v4())
}

/// Runs `interop.js` in `mode` against `uri` on the perpetual license; `extra` are more options.
async fn run_sdk(
    uri: &str,
    mode: &str,
    hardware_id: &str,
    hostname: &str,
    public_key: &str,
    extra: &[&str],
) -> SdkRun {
    // The first call may install the SDK: do not block the server's runtime meanwhile.
    let modules = tokio::task::spawn_blocking(node_modules)
        .await
        .expect("the SDK is installed");
    let mut command = Command::new("node");
    command
        .arg(repo("tests/node_sdk/interop.js"))
        .args(driver_args(uri, public_key, hardware_id, hostname, mode))
        .args(extra)
        .env("NODE_PATH", modules);
    SdkRun::of(command, "interop.js", SDK_VERSION).await
}

/// Checks a request file the SDK wrote: its layout is `Style::JavaScript`, both signatures hold
/// under the shared key (the Node SDK writes no inner signature), and it names this device.
fn assert_sdk_file(
    run: &SdkRun,
    name: &str,
    kind: RequestKind,
    hardware_id: &str,
    hostname: &str,
) -> DecodedRequest {
    let sent = run.request_file(name);
    assert_eq!(
        Style::of(&sent),
        Some(Style::JavaScript),
        "the SDK's {name}'s layout"
    );
    let checked = sent.check(kind).expect("required fields present");
    checked.verify(SHARED_KEY).expect("the outer MAC holds");
    assert!(
        !checked.has_inner_signature(),
        "the Node SDK writes no inner signature"
    );
    assert_eq!(sent.payload.license_key.as_deref(), Some(PERPETUAL));
    assert_eq!(sent.payload.hardware_id.as_deref(), Some(hardware_id));
    assert_eq!(sent.payload.other_str("hostname").as_deref(), Some(hostname));
    sent
}

/// A full `LicenseAPI` round trip, checked end to end.
async fn assert_round_trip(server: Server, hardware_id: &str, hostname: &str) {
    let run = run_sdk(
        &server.uri(),
        "roundtrip",
        hardware_id,
        hostname,
        REFERENCE_PUBLIC_KEY,
        &[],
    )
    .await;
    run.assert_success();
    let journal = server.journal_lines(2);
    server.stop().await;

    // Both files were taken with 200, and sent as the SDK sends them.
    assert_eq!(
        run.out["http"],
        json!([
            {"path": "/api/v4/activate_offline", "status": 200, "content_type_sent": "text/plain"},
            {"path": "/api/v4/deactivate_offline", "status": 200, "content_type_sent": "text/plain"},
        ]),
        "{}",
        run.describe()
    );
    // The SDK checked both RSA signatures with the pinned key (it throws otherwise).
    assert_eq!(run.out["license_signature_verified"], 1, "{}", run.describe());
    assert_eq!(run.out["license_signature_v2_verified"], 1, "{}", run.describe());

    let sent = assert_sdk_file(
        &run,
        "activation_request",
        RequestKind::Activation,
        hardware_id,
        hostname,
    );
    let answer = &run.out["answer"];
    assert_eq!(answer["license_key"], PERPETUAL);
    assert_eq!(answer["hardware_id"].as_str(), Some(hardware_id));
    let request_id = sent
        .payload
        .request_id
        .as_deref()
        .expect("the SDK sends a request_id");
    assert_eq!(answer["request_id"].as_str(), Some(request_id));
    assert_eq!(answer["product_details"]["short_code"], PRODUCT);

    let deactivation = assert_sdk_file(
        &run,
        "deactivation_request",
        RequestKind::Deactivation,
        hardware_id,
        hostname,
    );
    assert_ne!(deactivation.payload.request_id.as_deref(), Some(request_id));
    // `deactivateOffline` returns true when the body is `license_deactivated`.
    assert_eq!(run.out["deactivation_answer"], true, "{}", run.describe());

    if !journal.is_empty() {
        // The double recognised the SDK's layout and every signature.
        assert_eq!(journal.len(), 2, "{journal:#?}");
        for line in &journal {
            assert!(
                line.contains("→ 200; schema 2, javascript;")
                    && line.contains("signatures: header ok, inner absent, outer ok"),
                "{line}"
            );
        }
    }
}

#[tokio::test]
async fn sdk_activates_and_deactivates_offline_on_the_reference_server_with_an_ascii_hostname() {
    assert_round_trip(
        Server::reference().await,
        &fresh_hardware_id("ascii"),
        "build-host-01",
    )
    .await;
}

/// The answer echoes the hardware id: the SDK re-serialises the answer with `JSON.stringify`
/// before checking `license_signature_v2`, so non-ASCII text must be signed unescaped (SPEC §6).
#[tokio::test]
async fn sdk_activates_and_deactivates_offline_on_the_reference_server_with_non_ascii_text() {
    let hardware_id = format!("gerät-设备-🖥-{}", uuid::Uuid::new_v4());
    assert_round_trip(Server::reference().await, &hardware_id, NON_ASCII_HOSTNAME).await;
}

#[tokio::test]
async fn sdk_activates_and_deactivates_offline_on_lsconform_mock_with_an_ascii_hostname() {
    assert_round_trip(Server::mock(), &fresh_hardware_id("mock-ascii"), "build-host-01").await;
}

#[tokio::test]
async fn sdk_activates_and_deactivates_offline_on_lsconform_mock_with_non_ascii_text() {
    let hardware_id = format!("gerät-设备-🖥-{}", uuid::Uuid::new_v4());
    assert_round_trip(Server::mock(), &hardware_id, NON_ASCII_HOSTNAME).await;
}

/// A file whose MAC was made with a wrong shared key, posted with a right Authorization header.
async fn assert_wrong_file_key_is_refused(server: Server) {
    let run = run_sdk(
        &server.uri(),
        "wrong-file-key",
        &fresh_hardware_id("wrong-key"),
        "build-host-01",
        REFERENCE_PUBLIC_KEY,
        &[],
    )
    .await;
    server.stop().await;

    assert!(!run.status.success(), "the SDK must throw\n{}", run.describe());
    let error = &run.out["error"];
    assert_eq!(error["step"], "activateOffline", "{}", run.describe());
    assert_eq!(error["code"], "signature_mismatch", "{}", run.describe());
    // SPEC §2: 400 or 401 (the SDK throws the server's error body as it came).
    let status = error["status"].as_u64();
    assert!(matches!(status, Some(400 | 401)), "{}", run.describe());
    assert_eq!(
        run.out["http"][0]["status"].as_u64(),
        status,
        "{}",
        run.describe()
    );
    assert_eq!(
        run.out["http"].as_array().map(Vec::len),
        Some(1),
        "{}",
        run.describe()
    );

    // The file itself is what was wrong: it holds under the key it was made with, not ours.
    let file_key = run.text("file_shared_key");
    assert_ne!(file_key, SHARED_KEY);
    let sent = run.request_file("activation_request");
    let checked = sent
        .check(RequestKind::Activation)
        .expect("required fields present");
    assert_eq!(
        checked.verify(SHARED_KEY).unwrap_err().code,
        ErrorCode::SignatureMismatch
    );
    checked
        .verify(file_key)
        .expect("the file holds under the key it was made with");
}

#[tokio::test]
async fn request_file_the_sdk_signs_with_a_wrong_shared_key_is_refused_by_the_reference_server() {
    assert_wrong_file_key_is_refused(Server::reference().await).await;
}

#[tokio::test]
async fn request_file_the_sdk_signs_with_a_wrong_shared_key_is_refused_by_lsconform_mock() {
    assert_wrong_file_key_is_refused(Server::mock()).await;
}

/// Shows that the round trips' verification is live: the same answers fail under another key.
async fn assert_sdk_rejects_answers_under_another_key(server: Server) {
    let run = run_sdk(
        &server.uri(),
        "roundtrip",
        &fresh_hardware_id("other-key"),
        "build-host-01",
        OTHER_PUBLIC_KEY,
        &[],
    )
    .await;
    server.stop().await;

    assert!(!run.status.success(), "the SDK must throw\n{}", run.describe());
    assert_eq!(run.out["error"]["step"], "activateOffline", "{}", run.describe());
    // The SDK checks license_signature first, and throws its own error for it.
    assert_eq!(
        run.out["error"]["code"],
        "license_signature_invalid",
        "{}",
        run.describe()
    );
    assert_eq!(run.out["http"][0]["status"], 200, "{}", run.describe());
    assert_eq!(run.out["license_signature_verified"], 0, "{}", run.describe());
    assert!(run.out.get("deactivation_request").is_none());
}

#[tokio::test]
async fn sdk_rejects_an_answer_of_the_reference_server_that_its_pinned_key_did_not_sign() {
    assert_sdk_rejects_answers_under_another_key(Server::reference().await).await;
}

#[tokio::test]
async fn sdk_rejects_an_answer_of_lsconform_mock_that_its_pinned_key_did_not_sign() {
    assert_sdk_rejects_answers_under_another_key(Server::mock()).await;
}

/// POSTs a request file's text as the Offline Portal would, with signed headers.
async fn post_file(uri: &str, kind: RequestKind, text: &str) -> (u16, Vec<u8>) {
    lsconform::install_crypto_provider();
    let date = format_http_date(SystemTime::now());
    let response = reqwest::Client::new()
        .post(format!("{uri}{}", kind.path()))
        .header("Date", &date)
        .header(
            "Authorization",
            AuthorizationHeader::signed(API_KEY, SHARED_KEY, &date).to_string(),
        )
        .header("Content-Type", "text/plain")
        .body(text.to_owned())
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    (status, response.bytes().await.expect("a body").to_vec())
}

/// The air-gapped flow's activation: `LicenseManager` writes the request file, the test carries
/// it to the server, and the SDK verifies the license file (Base64 of the answer) it gets back.
async fn assert_air_gapped_activation(server: Server) -> (Server, String, PathBuf) {
    let hardware_id = fresh_hardware_id("air-gap");
    let request = run_sdk(
        &server.uri(),
        "file-request",
        &hardware_id,
        NON_ASCII_HOSTNAME,
        REFERENCE_PUBLIC_KEY,
        &[],
    )
    .await;
    request.assert_success();
    assert_eq!(request.out["http"], json!([]), "the first half sends nothing");
    // LicenseManager appends product and hardware_id after the application's members.
    assert_sdk_file(
        &request,
        "activation_request",
        RequestKind::Activation,
        &hardware_id,
        NON_ASCII_HOSTNAME,
    );

    let (status, answer) = post_file(
        &server.uri(),
        RequestKind::Activation,
        request.text("activation_request"),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let dir = std::env::temp_dir().join(format!("lsconform-node-sdk-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let license_file = dir.join("license.lic");
    std::fs::write(
        &license_file,
        base64::engine::general_purpose::STANDARD.encode(&answer),
    )
    .expect("written");

    let activated = run_sdk(
        &server.uri(),
        "file-activate",
        &hardware_id,
        NON_ASCII_HOSTNAME,
        REFERENCE_PUBLIC_KEY,
        &[
            "--answer-file",
            license_file.to_str().expect("UTF-8"),
            "--dir",
            dir.to_str().expect("UTF-8"),
        ],
    )
    .await;
    activated.assert_success();
    assert_eq!(activated.out["http"], json!([]), "the second half sends nothing");
    assert_eq!(
        activated.out["license_signature_verified"],
        1,
        "{}",
        activated.describe()
    );
    assert_eq!(
        activated.out["license_signature_v2_verified"],
        1,
        "{}",
        activated.describe()
    );
    assert_eq!(
        activated.out["answer"]["hardware_id"].as_str(),
        Some(hardware_id.as_str())
    );
    let deactivation = activated.text("deactivation_request").to_owned();
    (server, deactivation, dir)
}

#[tokio::test]
async fn sdk_verifies_the_license_file_of_an_air_gapped_activation_on_the_reference_server() {
    let (server, _, dir) = assert_air_gapped_activation(Server::reference().await).await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn sdk_verifies_the_license_file_of_an_air_gapped_activation_on_lsconform_mock() {
    let (server, _, dir) = assert_air_gapped_activation(Server::mock()).await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// `License.deactivateOffline` writes `deactivate_offline.req` without a `request` member (and
/// without `request_id`); SPEC §4 [sdk]: a file without `request` is of the endpoint it is posted
/// to, so deactivate_offline takes it and frees the seat.
#[tokio::test]
async fn air_gapped_deactivation_file_of_the_sdk_frees_the_seat() {
    let (server, deactivation, dir) = assert_air_gapped_activation(Server::reference().await).await;
    let file = lsconform::protocol::decode_request(Some("text/plain"), deactivation.as_bytes())
        .expect("the SDK writes a request file");
    let members: Vec<&str> = file.payload.read_members().map(|(name, _)| name).collect();
    let (status, body) = post_file(&server.uri(), RequestKind::Deactivation, &deactivation).await;
    // The seat is free: the same file again finds no device.
    let (again, again_body) = post_file(&server.uri(), RequestKind::Deactivation, &deactivation).await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
    // What makes this file special: no `request` and no `request_id`.
    assert!(
        !members.contains(&"request") && !members.contains(&"request_id"),
        "{members:?}"
    );
    assert_eq!(
        (status, String::from_utf8_lossy(&body).into_owned()),
        (200, "license_deactivated".to_owned())
    );
    let code = lsconform::protocol::ErrorBody::parse(&again_body, again).map(|b| b.code);
    assert_eq!((again, code.ok()), (400, Some("device_not_found".to_owned())));
}

/// Rebuilds a request file the SDK's `LicenseAPI` wrote with `RequestBuilder` in
/// `Style::JavaScript`: the protocol's members through their own methods, every other member
/// through `.field`, in the SDK's order.
fn rebuild(kind: RequestKind, sdk_file: &DecodedRequest) -> RequestFile {
    let envelope: Value = serde_json::from_slice(&sdk_file.json).expect("the SDK writes JSON");
    let request = envelope["request"].as_object().expect("schema 2");
    let text = |name: &str| request[name].as_str().expect("a string").to_owned();
    assert_eq!(text("request"), kind.as_str());
    assert_eq!(text("api_key"), API_KEY);
    assert_eq!(request["schema_version"], 2);

    let mut builder = RequestBuilder::new(kind).style(Style::JavaScript);
    for (name, value) in request {
        builder = match name.as_str() {
            // Written by the builder itself: the kind, the schema and the api key.
            "request" | "schema_version" | "api_key" => builder,
            "product" => builder.product(text(name)),
            "hardware_id" => builder.hardware_id(text(name)),
            "license_key" => builder.license_key(text(name)),
            "date" => builder.date(text(name)),
            "request_id" => builder.request_id(text(name)),
            // hostname, sdk_ver, app_name, app_ver
            _ => builder.field(name.as_str(), value.clone()),
        };
    }
    builder.sign(API_KEY, SHARED_KEY)
}

#[tokio::test]
async fn javascript_style_builder_writes_the_sdks_request_files_byte_for_byte() {
    let server = Server::reference().await;
    for (label, hostname) in [
        ("bytes-ascii", "build-host-01"),
        ("bytes-non-ascii", NON_ASCII_HOSTNAME),
        ("bytes-escapes", ESCAPES_HOSTNAME),
    ] {
        let run = run_sdk(
            &server.uri(),
            "roundtrip",
            &fresh_hardware_id(label),
            hostname,
            REFERENCE_PUBLIC_KEY,
            &[],
        )
        .await;
        run.assert_success();
        for (kind, name) in [
            (RequestKind::Activation, "activation_request"),
            (RequestKind::Deactivation, "deactivation_request"),
        ] {
            let sdk = run.request_file(name);
            let ours = rebuild(kind, &sdk);
            let what = format!("{name} with hostname {hostname:?}");
            assert_same_bytes(Style::JavaScript, &what, &ours.json, &sdk.json);
            assert_eq!(ours.text, run.text(name), "{what}: the Base64 text");
        }
    }
    server.stop().await;
}
