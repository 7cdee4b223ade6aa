//! `Style::Python` against CPython itself: the bytes the builder writes must be exactly what
//! `json.dumps` writes for the same dict in the same key order (SPEC §4: the outer MAC covers
//! those bytes). Activation files use `json.dumps`'s default `ensure_ascii=True`, deactivation
//! files `ensure_ascii=False`, as `licensespring.api.APIClient` does.
//!
//! The Python side below follows the SDK's `activate_offline_dump` / `deactivate_offline_dump`:
//! the dict is filled in the SDK's order (request, product, hardware_id, license_key, username,
//! password, the extras as given, date, request_id, schema_version, signature, api_key), both
//! signatures are computed with Python's own `hmac`, and the envelope is
//! `json.dumps({"request": data, "signature": mac})`, Base64-encoded.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::strategies::{request_spec, LicenseeValue, RequestSpec};
use lsconform::protocol::{RequestBuilder, RequestKind, Style};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};

const PYTHON: &str = r#"
import base64, hashlib, hmac, json, sys

def b64_hmac(key, message):
    return base64.b64encode(hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()).decode()

out = []
for c in json.loads(sys.stdin.buffer.read().decode("utf-8")):
    kind = c["kind"]
    ensure_ascii = kind == "activation"
    data = {"request": kind}
    data["product"] = c["product"]
    data["hardware_id"] = c["hardware_id"]
    for name in ("license_key", "username", "password"):
        if c.get(name):
            data[name] = c[name]
    for name, value in c["extras"]:
        data[name] = value
    data["date"] = c["date"]
    if c.get("request_id") is not None:
        data["request_id"] = c["request_id"]
    data["schema_version"] = 2
    licensee = c.get("license_key") or c.get("username")
    data["signature"] = b64_hmac(
        c["shared_key"],
        f"licenseSpring\ndate: {c['date']}\n{licensee}\n{c['hardware_id']}\n{c['api_key']}",
    )
    data["api_key"] = c["api_key"]
    mac = b64_hmac(c["shared_key"], json.dumps(data, ensure_ascii=ensure_ascii))
    envelope = json.dumps({"request": data, "signature": mac}, ensure_ascii=ensure_ascii)
    out.append({
        "json": envelope,
        "text": base64.b64encode(envelope.encode("utf-8")).decode(),
        "keys": list(data.keys()),
    })
sys.stdout.write(json.dumps(out))
"#;

/// What CPython wrote for one case.
#[derive(Debug, serde::Deserialize)]
struct Written {
    json: String,
    text: String,
    keys: Vec<String>,
}

fn case(spec: &RequestSpec) -> Value {
    let (license_key, username, password) = match &spec.licensee {
        LicenseeValue::Key(k) => (Some(k.as_str()), None, None),
        LicenseeValue::User { username, password } => (None, Some(username.as_str()), password.as_deref()),
    };
    let extras: Vec<Value> = spec.extras.iter().map(|(k, v)| json!([k, v])).collect();
    json!({
        "kind": spec.kind.as_str(),
        "product": spec.product,
        "hardware_id": spec.hardware_id,
        "license_key": license_key,
        "username": username,
        "password": password,
        "extras": extras,
        "date": spec.date,
        "request_id": spec.request_id,
        "api_key": spec.api_key,
        "shared_key": spec.shared_key,
    })
}

/// Runs CPython once over all the specs.
fn python(specs: &[RequestSpec]) -> Vec<Written> {
    python_cases(&specs.iter().map(case).collect::<Vec<_>>())
}

/// Runs CPython once over all the cases (each as [`case`] writes it).
fn python_cases(cases: &[Value]) -> Vec<Written> {
    let input = serde_json::to_vec(cases).unwrap();
    let mut child = Command::new("python3")
        .args(["-c", PYTHON])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 must be on PATH to compare with CPython's json.dumps");
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let written: Vec<Written> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(written.len(), cases.len());
    written
}

/// The builder's Python-style file for each case is byte for byte CPython's.
#[track_caller]
fn same_as_cpython(specs: &[RequestSpec]) -> Vec<Written> {
    let written = python(specs);
    for (spec, python) in specs.iter().zip(&written) {
        let file = spec.builder(Style::Python).sign(&spec.api_key, &spec.shared_key);
        let ours = String::from_utf8(file.json.clone()).unwrap();
        assert_eq!(ours, python.json, "JSON of {spec:#?}");
        assert_eq!(file.text, python.text, "Base64 of {spec:#?}");
    }
    written
}

fn spec(kind: RequestKind, licensee: LicenseeValue, extras: Vec<(String, Value)>) -> RequestSpec {
    RequestSpec {
        kind,
        licensee,
        hardware_id: "8b06c6053b7a2040f07c60b62f17f378ccc5030e21676f8a100a97ab36303ad0".into(),
        product: "fooapp".into(),
        date: "Fri, 29 Aug 2025 07:22:37 GMT".into(),
        request_id: Some("2edf98fe-29cb-4c7c-b1fa-7ed7ea2acb6b".into()),
        extras,
        api_key: "apikey".into(),
        shared_key: "sharedkey".into(),
    }
}

/// Every kind of character that JSON writers disagree on.
const AWKWARD: &str = "M\u{fc}ller \u{4e2d}\u{6587} \u{1f600}\u{10ffff}\u{1d11e} del\u{7f} \
    nul\u{0} bell\u{7} bs\u{8} tab\t lf\n vt\u{b} ff\u{c} cr\r esc\u{1b} us\u{1f} \
    quote\" backslash\\ slash/ c1\u{85}\u{9f} nbsp\u{a0} ls\u{2028} bom\u{feff} \u{fffd}\u{ffff}";

fn awkward_spec(kind: RequestKind) -> RequestSpec {
    RequestSpec {
        kind,
        licensee: LicenseeValue::Key(format!("KEY-{AWKWARD}")),
        hardware_id: format!("hw {AWKWARD}"),
        product: format!("p\u{e9}{AWKWARD}"),
        date: format!("Fri, 29 Aug 2025 07:22:37 GMT {AWKWARD}"),
        request_id: Some(AWKWARD.into()),
        extras: vec![
            ("hostname".into(), Value::from(AWKWARD)),
            (format!("name {AWKWARD}"), Value::from("v")),
            ("is_vm".into(), Value::Bool(true)),
            ("vm_info".into(), Value::Null),
            (
                "variables".into(),
                json!({ "k\u{1f600}": AWKWARD, "empty": {}, "nested": { "a": [true, null, "\u{7f}"] } }),
            ),
        ],
        api_key: format!("api {AWKWARD}"),
        shared_key: format!("shared {AWKWARD}"),
    }
}

#[test]
fn an_ascii_activation_file_is_what_cpython_writes() {
    same_as_cpython(&[spec(
        RequestKind::Activation,
        LicenseeValue::Key("BSK8-CLCY-PB5E-BXFO".into()),
        vec![],
    )]);
}

#[test]
fn an_ascii_deactivation_file_is_what_cpython_writes() {
    same_as_cpython(&[spec(
        RequestKind::Deactivation,
        LicenseeValue::Key("BSK8-CLCY-PB5E-BXFO".into()),
        vec![],
    )]);
}

#[test]
fn an_activation_file_escapes_like_cpython_with_ensure_ascii() {
    let specs = [awkward_spec(RequestKind::Activation)];
    let written = same_as_cpython(&specs);
    let json = &written[0].json;
    assert!(json.is_ascii());
    // Astral characters as surrogate pairs, DEL and C1 escaped, lowercase hex.
    assert!(json.contains(r"\ud83d\ude00"), "{json}");
    assert!(json.contains(r"\udbff\udfff"), "{json}");
    assert!(json.contains(r"del\u007f"), "{json}");
    assert!(json.contains(r"c1\u0085\u009f"), "{json}");
    assert!(json.contains(r#"quote\" backslash\\ slash/"#), "{json}");
    assert!(json.contains(r"bs\b tab\t lf\n vt\u000b ff\f cr\r"), "{json}");
}

#[test]
fn a_deactivation_file_keeps_non_ascii_like_cpython_without_ensure_ascii() {
    let specs = [awkward_spec(RequestKind::Deactivation)];
    let written = same_as_cpython(&specs);
    let json = &written[0].json;
    // Non-ASCII and DEL raw; control characters, quotes and backslashes still escaped.
    assert!(json.contains('\u{1f600}'), "{json}");
    assert!(json.contains("del\u{7f}"), "{json}");
    assert!(json.contains("c1\u{85}\u{9f}"), "{json}");
    assert!(json.contains(r"nul\u0000 bell\u0007"), "{json}");
    assert!(!json.contains(r"\ud83d"), "{json}");
}

#[test]
fn a_user_based_file_is_what_cpython_writes() {
    for kind in [RequestKind::Activation, RequestKind::Deactivation] {
        same_as_cpython(&[
            spec(
                kind,
                LicenseeValue::User {
                    username: "j\u{e4}ne@example.com".into(),
                    password: Some("p\u{e4}ss \"word\"\\".into()),
                },
                vec![],
            ),
            spec(
                kind,
                LicenseeValue::User {
                    username: "jane@example.com".into(),
                    password: None,
                },
                vec![],
            ),
        ]);
    }
}

#[test]
fn the_key_order_is_the_python_sdks() {
    // Every member activate_offline_dump writes, with the SDK's extras in the SDK's order.
    let extras: Vec<(String, Value)> = vec![
        ("os_ver".into(), Value::from("Linux 6.1")),
        ("hostname".into(), Value::from("build-01")),
        ("ip".into(), Value::from("10.0.0.2")),
        ("mac_address".into(), Value::from("5a:8a:90:08:13:84")),
        ("is_vm".into(), Value::Bool(false)),
        ("vm_info".into(), Value::Null),
        ("sdk_ver".into(), Value::from("PythonSDK 4.0.0")),
        ("app_ver".into(), Value::from("1.2.3")),
        ("variables".into(), json!({"seat": "7", "team": "\u{e9}quipe"})),
    ];
    let expected = [
        "request",
        "product",
        "hardware_id",
        "license_key",
        "username",
        "password",
        "os_ver",
        "hostname",
        "ip",
        "mac_address",
        "is_vm",
        "vm_info",
        "sdk_ver",
        "app_ver",
        "variables",
        "date",
        "request_id",
        "schema_version",
        "signature",
        "api_key",
    ];
    for kind in [RequestKind::Activation, RequestKind::Deactivation] {
        let s = spec(
            kind,
            LicenseeValue::Key("BSK8-CLCY-PB5E-BXFO".into()),
            extras.clone(),
        );
        // Given both a license key and a user, as the SDK can be.
        let file = s
            .builder(Style::Python)
            .username("jane@example.com")
            .password("pw")
            .sign(&s.api_key, &s.shared_key);
        let envelope: Value = serde_json::from_slice(&file.json).unwrap();
        let keys: Vec<&str> = envelope["request"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, expected);
        let top: Vec<&str> = envelope.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(top, ["request", "signature"]);

        // CPython, filling the dict the SDK's way, writes the same bytes in the same order.
        let mut c = case(&s);
        c["username"] = Value::from("jane@example.com");
        c["password"] = Value::from("pw");
        let written = python_cases(&[c]);
        assert_eq!(written[0].keys, expected);
        assert_eq!(String::from_utf8(file.json).unwrap(), written[0].json);
        assert_eq!(file.text, written[0].text);
    }
}

#[test]
fn generated_files_are_what_cpython_writes() {
    // 96 cases of the shared strategies, both kinds, through one python3 process.
    let mut runner = TestRunner::deterministic();
    let strategy = request_spec();
    let specs: Vec<RequestSpec> = (0..96)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    assert!(specs.iter().any(|s| s.kind == RequestKind::Activation));
    assert!(specs.iter().any(|s| s.kind == RequestKind::Deactivation));
    same_as_cpython(&specs);
}

#[test]
fn the_python_layout_is_not_the_compact_one() {
    // A guard on the comparison itself: CPython's separators are ", " and ": ".
    let s = spec(RequestKind::Activation, LicenseeValue::Key("K".into()), vec![]);
    let python = RequestBuilder::activation()
        .license_key("K")
        .hardware_id(s.hardware_id.clone())
        .product("fooapp")
        .date(s.date.clone())
        .style(Style::Python)
        .sign("apikey", "sharedkey");
    let json = String::from_utf8(python.json).unwrap();
    assert!(
        json.starts_with(r#"{"request": {"request": "activation", "product": "fooapp", "#),
        "{json}"
    );
    assert!(json.contains(r#""schema_version": 2, "signature": ""#), "{json}");
}
