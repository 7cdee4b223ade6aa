//! The command line: `lsconform request` and `lsconform verify`, their output and exit codes.

use std::path::PathBuf;
use std::process::Output;

use common::process::lsconform;
use lsconform::protocol::{
    decode_request, encode_request_file, ActivationAnswer, AnswerLicensee, ProductDetails, RequestKind,
    Schema, SigningKey,
};

mod common;

fn fixture(path: &str) -> String {
    format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lsconform-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

const REQUEST: &[&str] = &[
    "request",
    "--license-key",
    "AAAA-BBBB",
    "--hardware-id",
    "hw-1",
    "--product",
    "TP",
    "--api-key",
    "api",
    "--shared-key",
    "shared",
];

#[test]
fn request_writes_a_file_that_decodes_and_verifies_in_every_style() {
    for style in ["schema1", "compact-hex", "python", "javascript"] {
        let out = lsconform(
            &[
                REQUEST,
                &[
                    "--style",
                    style,
                    "--field",
                    "hostname=büro",
                    "--field-json",
                    "is_vm=false",
                ],
            ]
            .concat(),
        );
        assert!(
            out.status.success(),
            "{style}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let decoded = decode_request(Some("text/plain"), &out.stdout).unwrap();
        assert_eq!(
            decoded.schema,
            if style == "schema1" {
                Schema::V1
            } else {
                Schema::V2
            }
        );
        assert_eq!(decoded.payload.other_str("hostname").as_deref(), Some("büro"));
        assert_eq!(decoded.payload.other("is_vm"), Some("false"));
        let checked = decoded.check(RequestKind::Activation).unwrap();
        assert_eq!(checked.hardware_id, "hw-1");
        assert!(checked.request_id.is_some());
        assert!(checked.verify("shared").is_ok());
        assert!(checked.verify("other").is_err());
    }
}

#[test]
fn request_writes_a_deactivation_file_to_out() {
    let path = scratch("deactivation.req");
    let out = lsconform(&[REQUEST, &["--deactivation", "--out", path.to_str().unwrap()]].concat());
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let text = std::fs::read(&path).unwrap();
    let decoded = decode_request(None, &text).unwrap();
    assert!(decoded
        .check(RequestKind::Deactivation)
        .unwrap()
        .verify("shared")
        .is_ok());
    assert!(decoded.check(RequestKind::Activation).is_err());
}

#[test]
fn request_without_a_license_key_or_username_is_a_usage_error() {
    let out = lsconform(&[
        "request",
        "--hardware-id",
        "h",
        "--product",
        "TP",
        "--api-key",
        "a",
        "--shared-key",
        "s",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--license-key"));
}

#[test]
fn request_with_an_unknown_style_is_a_usage_error_naming_the_styles() {
    let out = lsconform(&[REQUEST, &["--style", "cobol"]].concat());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("compact-hex"));
}

fn signed_answer() -> Vec<u8> {
    let key = SigningKey::from_pem(&std::fs::read_to_string(fixture("keys/reference-private.pem")).unwrap())
        .unwrap();
    ActivationAnswer {
        licensee: AnswerLicensee::LicenseKey("AAAA-BBBB".into()),
        hardware_id: "hw-1".into(),
        product_details: ProductDetails {
            short_code: "TP".into(),
            product_name: "Test".into(),
            authorization_method: "license-key".into(),
        },
        license_type: "perpetual".into(),
        is_trial: false,
        license_enabled: true,
        license_active: true,
        is_expired: false,
        validity_period: None,
        max_activations: 1,
        times_activated: 1,
        transfer_count: 0,
        request_id: None,
        date: "Fri, 27 Nov 2026 04:36:34 GMT".into(),
    }
    .sign("api", "shared", &key)
}

#[test]
fn verify_reports_each_signature_ok_for_an_answer_and_a_lic_file() {
    let answer = scratch("answer.json");
    std::fs::write(&answer, signed_answer()).unwrap();
    let lic = scratch("license.lic");
    std::fs::write(&lic, encode_request_file(&signed_answer())).unwrap();
    for file in [&answer, &lic] {
        let public = fixture("keys/reference-public.pem");
        let out = lsconform(&[
            "verify",
            file.to_str().unwrap(),
            "--public-key",
            &public,
            "--api-key",
            "api",
            "--shared-key",
            "shared",
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        for line in [
            "offline_signature     ok",
            "license_signature     ok",
            "license_signature_v2  ok",
        ] {
            assert!(stdout.contains(line), "{stdout}");
        }
    }
}

#[test]
fn verify_exits_1_and_says_mismatch_for_a_tampered_answer() {
    let tampered = String::from_utf8(signed_answer())
        .unwrap()
        .replace("\"max_activations\":1", "\"max_activations\":9");
    let file = scratch("tampered.json");
    std::fs::write(&file, tampered).unwrap();
    let out = lsconform(&[
        "verify",
        file.to_str().unwrap(),
        "--public-key",
        &fixture("keys/reference-public.pem"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("license_signature_v2  mismatch"), "{stdout}");
    assert!(stdout.contains("license_signature     ok"), "{stdout}");
    assert!(stdout.contains("offline_signature     not checked"), "{stdout}");
}

#[test]
fn verify_with_a_bad_key_file_or_a_missing_answer_is_a_usage_error() {
    let answer = scratch("answer2.json");
    std::fs::write(&answer, signed_answer()).unwrap();
    let out = lsconform(&[
        "verify",
        answer.to_str().unwrap(),
        "--public-key",
        &fixture("keys/README.md"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PEM"));
    let out = lsconform(&[
        "verify",
        "/nonexistent/answer.json",
        "--public-key",
        &fixture("keys/reference-public.pem"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    let out = lsconform(&[
        "verify",
        answer.to_str().unwrap(),
        "--public-key",
        "x",
        "--shared-key",
        "s",
    ]);
    assert_eq!(out.status.code(), Some(2), "--shared-key needs --api-key");
}

#[test]
fn verify_of_something_that_is_not_an_answer_is_a_usage_error() {
    let file = scratch("garbage.txt");
    std::fs::write(&file, "hello, world").unwrap();
    let out = lsconform(&[
        "verify",
        file.to_str().unwrap(),
        "--public-key",
        &fixture("keys/reference-public.pem"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an answer"));
}

fn inspect(file_text: &[u8], args: &[&str]) -> Output {
    // A file of its own: tests run in parallel, and two may inspect with the same arguments.
    let path = scratch(&format!("inspect-{}.req", uuid::Uuid::new_v4()));
    std::fs::write(&path, file_text).unwrap();
    lsconform(&[&["inspect", path.to_str().unwrap()], args].concat())
}

#[test]
fn inspect_shows_the_schema_layout_and_fields_and_verifies_with_the_shared_key() {
    let file = lsconform(&[REQUEST, &["--style", "compact-hex", "--field", "hostname=pc"]].concat()).stdout;
    let out = inspect(&file, &["--shared-key", "shared"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("schema 2, compact-hex layout"), "{stdout}");
    assert!(stdout.contains("hardware_id    hw-1"), "{stdout}");
    assert!(stdout.contains("hostname       \"pc\""), "{stdout}");
    assert!(stdout.contains("outer MAC hex"), "{stdout}");
    assert!(stdout.contains("signatures ok"), "{stdout}");
}

#[test]
fn inspect_exits_1_with_the_servers_code_for_a_wrong_key_or_a_broken_file() {
    let file = lsconform(REQUEST).stdout;
    let out = inspect(&file, &["--shared-key", "wrong"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("refused: 401 signature_mismatch"));
    let out = inspect(b"not base64 at all!", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("refused: 400 authorization_missing_params"));
    // An activation file is not a deactivation file.
    let out = inspect(&file, &["--deactivation"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("refused: 400 validation_error"));
}

#[test]
fn inspect_without_a_shared_key_says_the_signatures_were_not_checked() {
    let file = lsconform(&[REQUEST, &["--style", "schema1"]].concat()).stdout;
    let out = inspect(&file, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.contains("schema 1, schema1 layout"), "{stdout}");
    assert!(stdout.contains("signatures not checked"), "{stdout}");
}

#[test]
fn headers_prints_a_date_and_an_authorization_header_that_verify() {
    let out = lsconform(&["headers", "--api-key", "api", "--shared-key", "shared"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let date = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Date: "))
        .expect("a Date line");
    let auth = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Authorization: "))
        .expect("an Authorization line");
    let now = std::time::SystemTime::now();
    let api_key = lsconform::protocol::authenticate(Some(auth.as_bytes()), Some(date.as_bytes()), now, |k| {
        (k == "api").then(|| "shared".to_owned())
    })
    .unwrap();
    assert_eq!(api_key, "api");
}

#[test]
fn serve_list_variants_names_every_variant_and_help_hides_the_option() {
    let out = lsconform(&["serve", "--list-variants"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = String::from_utf8(out.stdout).unwrap();
    for variant in lsconform::server::Variant::ALL {
        let line = listed
            .lines()
            .find(|l| l.split_whitespace().next() == Some(variant.name()))
            .unwrap_or_else(|| panic!("{} is not listed:\n{listed}", variant.name()));
        assert!(
            line.contains(variant.spec()) && line.contains(variant.description()),
            "{line}"
        );
    }
    assert_eq!(listed.lines().count(), lsconform::server::Variant::ALL.len());
    let help = String::from_utf8(lsconform(&["serve", "--help"]).stdout).unwrap();
    assert!(!help.contains("--variant"), "{help}");
    let unknown = lsconform(&["serve", "--variant", "no-such-variant"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--list-variants"));
}
