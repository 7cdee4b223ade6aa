//! Interop with the official Python SDK (PyPI `licensespring` 4.0.0, SPEC §9), run for real: the
//! reference server in-process, the SDK in a virtualenv (`scripts/python-sdk-venv.sh`, created on
//! the first run; it needs `python3` and PyPI), driven by `tests/python_sdk/interop.py` exactly as an
//! application drives it: `activate_offline_dump` → `activate_offline` (the SDK verifies
//! `license_signature_v2` with the pinned reference key) → `deactivate_offline_dump` →
//! `deactivate_offline`.
//!
//! Also: our decoder reads the SDK's files as `Style::Python`, and `RequestBuilder` in
//! `Style::Python` writes the SDK's files byte for byte from the same fields.

mod common;

use std::process::Command;

use common::sdk::{
    assert_same_bytes, driver_args, python, repo, SdkRun, API_KEY, ESCAPES_HOSTNAME, NON_ASCII_HOSTNAME,
    OTHER_PUBLIC_KEY, PERPETUAL, PRODUCT, REFERENCE_PUBLIC_KEY, SHARED_KEY,
};
use lsconform::protocol::{DecodedRequest, ErrorCode, RequestBuilder, RequestFile, RequestKind, Style};
use lsconform::server::{ReferenceServer, RunningServer};
use serde_json::{json, Value};

const SDK_VERSION: &str = "4.0.0";

fn fresh_hardware_id(label: &str) -> String {
    format!("python-sdk-{label}-{}", uuid::Uuid::new_v4())
}

/// Runs `interop.py` against `server` on the perpetual license.
async fn run_sdk(
    server: &RunningServer,
    mode: &str,
    hardware_id: &str,
    hostname: &str,
    public_key: &str,
) -> SdkRun {
    // The first call may create the venv: do not block the server's runtime meanwhile.
    let python = tokio::task::spawn_blocking(python)
        .await
        .expect("the venv is ready");
    let mut command = Command::new(python);
    command
        .arg(repo("tests/python_sdk/interop.py"))
        .args(driver_args(
            &server.uri(),
            public_key,
            hardware_id,
            hostname,
            mode,
        ))
        // argv and stdout in UTF-8 whatever the locale.
        .env("PYTHONUTF8", "1");
    SdkRun::of(command, "interop.py", SDK_VERSION).await
}

/// A full SDK round trip on a fresh server, checked end to end.
async fn assert_round_trip(hardware_id: &str, hostname: &str) {
    let server = ReferenceServer::builder()
        .start()
        .await
        .expect("the server starts");
    let run = run_sdk(&server, "roundtrip", hardware_id, hostname, REFERENCE_PUBLIC_KEY).await;
    server.shutdown().await;
    run.assert_success();

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
    // The SDK checked license_signature_v2 with the pinned key (interop.py fails otherwise).
    assert_eq!(run.out["license_signature_v2_verified"], 1, "{}", run.describe());

    let sent = run.request_file("activation_request");
    assert_eq!(
        Style::of(&sent),
        Some(Style::Python),
        "the SDK's activation file's layout"
    );
    let checked = sent
        .check(RequestKind::Activation)
        .expect("required fields present");
    checked.verify(SHARED_KEY).expect("both signatures hold");
    assert!(checked.has_inner_signature());
    assert_eq!(sent.payload.license_key.as_deref(), Some(PERPETUAL));
    assert_eq!(sent.payload.hardware_id.as_deref(), Some(hardware_id));
    assert_eq!(sent.payload.other_str("hostname").as_deref(), Some(hostname));

    let answer = &run.out["answer"];
    assert_eq!(
        answer["license_key"].as_str(),
        sent.payload.license_key.as_deref()
    );
    assert_eq!(
        answer["hardware_id"].as_str(),
        sent.payload.hardware_id.as_deref()
    );
    let request_id = sent
        .payload
        .request_id
        .as_deref()
        .expect("the SDK sends a request_id");
    assert_eq!(answer["request_id"].as_str(), Some(request_id));
    assert_eq!(answer["product_details"]["short_code"], PRODUCT);

    let deactivation = run.request_file("deactivation_request");
    assert_eq!(
        Style::of(&deactivation),
        Some(Style::Python),
        "the SDK's deactivation file's layout"
    );
    deactivation
        .check(RequestKind::Deactivation)
        .expect("required fields present")
        .verify(SHARED_KEY)
        .expect("both signatures hold");
    assert_eq!(deactivation.payload.hardware_id.as_deref(), Some(hardware_id));
    assert_eq!(
        deactivation.payload.other_str("hostname").as_deref(),
        Some(hostname)
    );
    assert_ne!(deactivation.payload.request_id.as_deref(), Some(request_id));
    assert_eq!(run.out["deactivation_answer"], "license_deactivated");
}

#[tokio::test]
async fn sdk_activates_and_deactivates_offline_with_an_ascii_hostname() {
    assert_round_trip(&fresh_hardware_id("ascii"), "build-host-01").await;
}

#[tokio::test]
async fn sdk_activates_and_deactivates_offline_with_a_non_ascii_hostname() {
    assert_round_trip(&fresh_hardware_id("non-ascii"), NON_ASCII_HOSTNAME).await;
}

/// The answer echoes the hardware id: the SDK re-serialises the answer with `ensure_ascii=False`
/// before checking `license_signature_v2`, so non-ASCII text in the answer must be signed unescaped.
#[tokio::test]
async fn sdk_verifies_an_answer_that_echoes_a_non_ascii_hardware_id() {
    assert_round_trip(
        &format!("gerät-设备-🖥-{}", uuid::Uuid::new_v4()),
        NON_ASCII_HOSTNAME,
    )
    .await;
}

#[tokio::test]
async fn request_file_the_sdk_signs_with_a_wrong_shared_key_is_refused_with_signature_mismatch() {
    let server = ReferenceServer::builder()
        .start()
        .await
        .expect("the server starts");
    let run = run_sdk(
        &server,
        "wrong-file-key",
        &fresh_hardware_id("wrong-key"),
        "build-host-01",
        REFERENCE_PUBLIC_KEY,
    )
    .await;
    server.shutdown().await;

    assert!(!run.status.success(), "the SDK must raise\n{}", run.describe());
    let error = &run.out["error"];
    assert_eq!(error["step"], "activate_offline", "{}", run.describe());
    assert_eq!(error["type"], "ClientError", "{}", run.describe());
    assert_eq!(error["code"], "signature_mismatch", "{}", run.describe());
    assert_eq!(error["status"], 401, "{}", run.describe());
    assert_eq!(
        run.out["http"],
        json!([{"path": "/api/v4/activate_offline", "status": 401, "content_type_sent": "text/plain"}])
    );

    // The file itself is what was wrong: it holds under the key it was dumped with, not ours.
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
        .expect("the file holds under the key it was dumped with");
}

/// Shows that the round trips' verification is live: the same answer fails under another key.
#[tokio::test]
async fn sdk_rejects_an_answer_that_its_pinned_key_did_not_sign() {
    let server = ReferenceServer::builder()
        .start()
        .await
        .expect("the server starts");
    let run = run_sdk(
        &server,
        "roundtrip",
        &fresh_hardware_id("other-key"),
        "build-host-01",
        OTHER_PUBLIC_KEY,
    )
    .await;
    server.shutdown().await;

    assert!(!run.status.success(), "the SDK must raise\n{}", run.describe());
    assert_eq!(run.out["error"]["step"], "activate_offline", "{}", run.describe());
    assert_eq!(
        run.out["error"]["text"],
        "Invalid signature",
        "{}",
        run.describe()
    );
    assert_eq!(run.out["http"][0]["status"], 200, "{}", run.describe());
    assert!(run.out.get("deactivation_request").is_none());
}

/// Rebuilds a request file the SDK wrote with `RequestBuilder` in `Style::Python`: the protocol's
/// members through their own methods, every other member through `.field`, in the SDK's order.
fn rebuild(kind: RequestKind, sdk_file: &DecodedRequest) -> RequestFile {
    let envelope: Value = serde_json::from_slice(&sdk_file.json).expect("the SDK writes JSON");
    let request = envelope["request"].as_object().expect("schema 2");
    let text = |name: &str| request[name].as_str().expect("a string").to_owned();
    assert_eq!(text("request"), kind.as_str());
    assert_eq!(text("api_key"), API_KEY);
    assert_eq!(request["schema_version"], 2);

    let mut builder = RequestBuilder::new(kind).style(Style::Python);
    for (name, value) in request {
        builder = match name.as_str() {
            // Written by the builder itself: the kind, the schema, the api key and the signature.
            "request" | "schema_version" | "api_key" | "signature" => builder,
            "product" => builder.product(text(name)),
            "hardware_id" => builder.hardware_id(text(name)),
            "license_key" => builder.license_key(text(name)),
            "username" => builder.username(text(name)),
            "password" => builder.password(text(name)),
            "date" => builder.date(text(name)),
            "request_id" => builder.request_id(text(name)),
            // os_ver, hostname, ip, mac_address, is_vm, vm_info, sdk_ver, …
            _ => builder.field(name.as_str(), value.clone()),
        };
    }
    builder.sign(API_KEY, SHARED_KEY)
}

#[tokio::test]
async fn python_style_builder_writes_the_sdks_request_files_byte_for_byte() {
    let server = ReferenceServer::builder()
        .start()
        .await
        .expect("the server starts");
    for (label, hostname) in [
        ("bytes-ascii", "build-host-01"),
        ("bytes-non-ascii", NON_ASCII_HOSTNAME),
        ("bytes-escapes", ESCAPES_HOSTNAME),
    ] {
        let run = run_sdk(
            &server,
            "roundtrip",
            &fresh_hardware_id(label),
            hostname,
            REFERENCE_PUBLIC_KEY,
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
            assert_same_bytes(Style::Python, &what, &ours.json, &sdk.json);
            assert_eq!(ours.text, run.text(name), "{what}: the Base64 text");
        }
    }
    server.shutdown().await;
}
