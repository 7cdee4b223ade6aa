//! SPEC §6: an answer signed with the test key verifies with its public key, and fails after any
//! change to a signed member.

use base64::Engine as _;
use lsconform::protocol::{
    answer_json, check_answer, encode_request_file, ActivationAnswer, AnswerLayout, AnswerLicensee,
    Lowercasing, OfflineKey, ProductDetails, PublicKey, SigningKey, Verdict,
};

const PRIVATE_PEM: &str = include_str!("../fixtures/keys/reference-private.pem");
const PUBLIC_PEM: &str = include_str!("../fixtures/keys/reference-public.pem");
const OFFLINE: OfflineKey<'static> = OfflineKey {
    api_key: "api-key",
    shared_key: "shared-key",
};

fn answer(licensee: AnswerLicensee, validity: Option<&str>) -> ActivationAnswer {
    ActivationAnswer {
        licensee,
        hardware_id: "HW-Büro-1".into(),
        product_details: ProductDetails {
            short_code: "TP".into(),
            product_name: "Test Product".into(),
            authorization_method: "license-key".into(),
        },
        license_type: "perpetual".into(),
        is_trial: false,
        license_enabled: true,
        license_active: true,
        is_expired: false,
        validity_period: validity.map(str::to_owned),
        max_activations: 3,
        times_activated: 1,
        transfer_count: 0,
        request_id: Some("2edf98fe-29cb-4c7c-b1fa-7ed7ea2acb6b".into()),
        date: "Fri, 27 Nov 2026 04:36:34 GMT".into(),
    }
}

fn keys() -> (SigningKey, PublicKey) {
    (
        SigningKey::from_pem(PRIVATE_PEM).unwrap(),
        PublicKey::from_pem(PUBLIC_PEM).unwrap(),
    )
}

fn all_ok() -> lsconform::protocol::AnswerCheck {
    lsconform::protocol::AnswerCheck {
        offline_signature: Verdict::Ok,
        license_signature: Verdict::Ok,
        license_signature_v2: Verdict::Ok,
    }
}

#[test]
fn a_signed_answer_verifies_with_the_public_key() {
    let (private, public) = keys();
    assert_eq!(public, private.public_key());
    for a in [
        answer(AnswerLicensee::LicenseKey("AAAA-BBBB".into()), None),
        answer(
            AnswerLicensee::LicenseKey("AAAA-BBBB".into()),
            Some("2027-06-15T00:00:00.000Z"),
        ),
        answer(
            AnswerLicensee::Username("Jane@Example.com|sso".into()),
            Some("2027-06-15T00:00:00.000Z"),
        ),
    ] {
        let body = a.sign(OFFLINE.api_key, OFFLINE.shared_key, &private);
        assert_eq!(
            check_answer(&body, Some(&public), Some(OFFLINE)).unwrap(),
            all_ok()
        );
    }
}

#[test]
fn the_answer_keeps_its_members_in_a_fixed_order_with_the_signatures_last() {
    let (private, _) = keys();
    let body = answer(AnswerLicensee::LicenseKey("K".into()), None).sign("a", "s", &private);
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&body).unwrap();
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "license_key",
            "hardware_id",
            "product_details",
            "license_type",
            "is_trial",
            "license_enabled",
            "license_active",
            "is_expired",
            "validity_period",
            "max_activations",
            "times_activated",
            "transfer_count",
            "request_id",
            "date",
            "offline_signature",
            "license_signature",
            "license_signature_v2"
        ]
    );
    // Non-ASCII is written as is, as the SDKs re-serialise it (`ensure_ascii=False`).
    let text = String::from_utf8(body.clone()).unwrap();
    assert!(text.contains("HW-Büro-1"));
}

#[test]
fn a_lic_file_is_base64_of_the_answer() {
    let (private, public) = keys();
    let body = answer(AnswerLicensee::LicenseKey("K".into()), None).sign("api-key", "shared-key", &private);
    let lic = encode_request_file(&body);
    let json = answer_json(format!("{lic}\n").as_bytes()).unwrap();
    assert_eq!(json, body);
    assert_eq!(
        check_answer(&json, Some(&public), Some(OFFLINE)).unwrap(),
        all_ok()
    );
}

#[test]
fn changing_any_signed_member_breaks_a_signature() {
    let (private, public) = keys();
    let body = answer(
        AnswerLicensee::LicenseKey("AAAA-BBBB".into()),
        Some("2027-06-15T00:00:00.000Z"),
    )
    .sign("api-key", "shared-key", &private);
    let original: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&body).unwrap();
    for key in original.keys().filter(|k| !k.starts_with("license_signature")) {
        let mut changed = original.clone();
        let value = changed.get_mut(key).unwrap();
        *value = match value.take() {
            serde_json::Value::String(s) => serde_json::Value::String(format!("{s}x")),
            serde_json::Value::Bool(b) => serde_json::Value::Bool(!b),
            serde_json::Value::Number(n) => serde_json::Value::from(n.as_u64().unwrap() + 1),
            serde_json::Value::Null => serde_json::Value::from("2030-01-01T00:00:00.000Z"),
            serde_json::Value::Object(mut o) => {
                o.insert("short_code".into(), "OTHER".into());
                serde_json::Value::Object(o)
            }
            other => panic!("unexpected member {key}: {other}"),
        };
        let check = check_answer(
            &serde_json::to_vec(&changed).unwrap(),
            Some(&public),
            Some(OFFLINE),
        )
        .unwrap();
        assert_eq!(check.license_signature_v2, Verdict::Mismatch, "{key}");
        assert!(!check.all_hold(), "{key}");
    }
}

#[test]
fn reordering_members_breaks_license_signature_v2() {
    let (private, public) = keys();
    let body = answer(AnswerLicensee::LicenseKey("K".into()), None).sign("api-key", "shared-key", &private);
    let original: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&body).unwrap();
    let mut reordered = serde_json::Map::new();
    for (k, v) in original.iter().rev() {
        reordered.insert(k.clone(), v.clone());
    }
    let check = check_answer(
        &serde_json::to_vec(&reordered).unwrap(),
        Some(&public),
        Some(OFFLINE),
    )
    .unwrap();
    assert_eq!(check.license_signature_v2, Verdict::Mismatch);
    assert_eq!(check.license_signature, Verdict::Ok);
}

#[test]
fn missing_signatures_are_reported_absent_and_unchecked_ones_not_checked() {
    let (private, public) = keys();
    let body = answer(AnswerLicensee::LicenseKey("K".into()), None).sign("api-key", "shared-key", &private);
    let mut map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&body).unwrap();
    map.shift_remove("license_signature");
    let check = check_answer(&serde_json::to_vec(&map).unwrap(), Some(&public), None).unwrap();
    assert_eq!(check.license_signature, Verdict::Absent);
    assert_eq!(check.offline_signature, Verdict::NotChecked);
    assert_eq!(check.license_signature_v2, Verdict::Ok);
    assert!(!check.all_hold());
}

#[test]
fn another_key_pair_does_not_verify() {
    let (private, _) = keys();
    let body = answer(AnswerLicensee::LicenseKey("K".into()), None).sign("api-key", "shared-key", &private);
    let check = check_answer(&body, Some(&public_key_of_another_pair()), Some(OFFLINE)).unwrap();
    assert_eq!(check.license_signature, Verdict::Mismatch);
    assert_eq!(check.license_signature_v2, Verdict::Mismatch);
    assert_eq!(check.offline_signature, Verdict::Ok);
    let wrong_shared = OfflineKey {
        api_key: "api-key",
        shared_key: "other",
    };
    assert_eq!(
        check_answer(&body, None, Some(wrong_shared))
            .unwrap()
            .offline_signature,
        Verdict::Mismatch
    );
}

/// SPEC §6 and §10: lower-cased means Unicode's full lowercase mapping as the SDKs' runtimes apply
/// it, and where a character's mapping is newer than Unicode 14, either conforms. The texts below
/// are written out as Python 3.11 (`str.lower`, Unicode 14) and Rust or Node 20 (Unicode 17) give
/// them, so a wrong table in `protocol` fails here.
#[test]
fn license_signature_holds_over_either_lowercasing_of_a_newer_character_and_no_other() {
    let (private, public) = keys();
    let mut a = answer(AnswerLicensee::LicenseKey("K-1".into()), None);
    // U+16EA0 BERIA ERFE CAPITAL LETTER ARKAB (Unicode 17), after a Greek word ending in Σ.
    a.hardware_id = "HW-\u{39f}\u{394}\u{39f}\u{3a3}\u{16EA0}".into();
    let body = a.sign(OFFLINE.api_key, OFFLINE.shared_key, &private);
    // license_signature_v2 does not cover license_signature: only that member changes.
    let signed_over = |text: &str| {
        let mut map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&body).unwrap();
        let signature = base64::engine::general_purpose::STANDARD.encode(private.sign(text.as_bytes()));
        map.insert("license_signature".into(), signature.into());
        let check = check_answer(&serde_json::to_vec(&map).unwrap(), Some(&public), None).unwrap();
        assert_eq!(check.license_signature_v2, Verdict::Ok, "{text}");
        check.license_signature
    };
    // Python 3.11: U+16EA0 left as it is; being no letter under Unicode 14, Σ before it ends the word.
    let python = "hw-\u{3bf}\u{3b4}\u{3bf}\u{3c2}\u{16EA0}#k-1#";
    // Rust and JavaScript: U+16EBB, a letter, so Σ is inside the word.
    let rust = "hw-\u{3bf}\u{3b4}\u{3bf}\u{3c3}\u{16EBB}#k-1#";
    assert_eq!(signed_over(python), Verdict::Ok);
    assert_eq!(signed_over(rust), Verdict::Ok);
    for wrong in [
        // Not lower-cased; only ASCII lower-cased; U+16EA0 mapped to another letter.
        "HW-\u{39f}\u{394}\u{39f}\u{3a3}\u{16EA0}#K-1#",
        "hw-\u{39f}\u{394}\u{39f}\u{3a3}\u{16EA0}#k-1#",
        "hw-\u{3bf}\u{3b4}\u{3bf}\u{3c3}\u{16EBC}#k-1#",
    ] {
        assert_eq!(signed_over(wrong), Verdict::Mismatch, "{wrong}");
    }
    // What each lower-casing signs is what the other side verifies.
    for lowercasing in Lowercasing::ALL {
        let layout = AnswerLayout {
            lowercasing,
            ..AnswerLayout::default()
        };
        let body = a.sign_with(OFFLINE.api_key, OFFLINE.shared_key, &private, layout);
        assert_eq!(
            check_answer(&body, Some(&public), Some(OFFLINE)).unwrap(),
            all_ok()
        );
    }
    assert_eq!(a.license_signing_string(Lowercasing::Unicode14), python);
    assert_eq!(a.license_signing_string(Lowercasing::Current), rust);
}

fn public_key_of_another_pair() -> PublicKey {
    // A second 2048-bit RSA public key (PKCS#1 form), used only to show a mismatch.
    PublicKey::from_pem(include_str!("../fixtures/keys/other-public.pem")).unwrap()
}
