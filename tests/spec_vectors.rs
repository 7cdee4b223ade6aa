//! SPEC §8: the published test vectors, and each negative variant listed there.

use lsconform::protocol::{
    decode_request, encode_request_file, header_signature, inner_signature, outer_signature,
    verify_inner_signature, verify_outer_signature, AuthorizationHeader, ErrorCode, MacEncoding, RequestKind,
    Schema,
};

const HEADER_KEY: &str = "kw4qSnpSwXzgiv5yxYpZZmFEd9QAeiKTQ6OuyMja";
const HEADER_DATE: &str = "Tue, 07 Jun 2011 20:51:35 GMT";
const HEADER_SIGNATURE: &str = "UDysfR6MndUZReo07Y9r+vErn8vSxrnQ5ulit18iJ/Q=";

const SHARED_KEY: &str = "sharedkey";
const API_KEY: &str = "apikey";
const DATE: &str = "Fri, 29 Aug 2025 07:22:37 GMT";
const LICENSE_KEY: &str = "BSK8-CLCY-PB5E-BXFO";
const HARDWARE_ID: &str = "8b06c6053b7a2040f07c60b62f17f378ccc5030e21676f8a100a97ab36303ad0";
const INNER_SIGNATURE: &str = "A7Tg3dBCc3OsegkPdPc6I1/sRqHj1uSuBR3ad8uaEnk=";

const REQUEST: &str = r#"{"schema_version":2,"api_key":"apikey","date":"Fri, 29 Aug 2025 07:22:37 GMT","hardware_id":"8b06c6053b7a2040f07c60b62f17f378ccc5030e21676f8a100a97ab36303ad0","ip_local":"192.168.1.226","license_key":"BSK8-CLCY-PB5E-BXFO","mac_address":"5A-8A-90-08-13-84","os_hostname":"Mac","os_ver":"Darwin 24.6.0","product":"fooapp","request":"activation","request_id":"D010714E-72DD-E4CF-BEBB-4105EC1B2A0F","sdk_lang":"cpp","sdk_ver":"7.41.1","signature":"A7Tg3dBCc3OsegkPdPc6I1/sRqHj1uSuBR3ad8uaEnk="}"#;
const OUTER_HEX: &str = "aad1693bf8b394719b695e916e07aee29d4ddf2afb24cc43febd4d43a660b703";
const OUTER_BASE64: &str = "qtFpO/izlHGbaV6Rbgeu4p1N3yr7JMxD/r1NQ6ZgtwM=";

fn hmac_base64(key: &str, message: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .encode(lsconform::protocol::hmac_sha256(key, message.as_bytes()))
}

#[test]
fn header_signature_matches_the_published_vector() {
    assert_eq!(header_signature(HEADER_KEY, HEADER_DATE), HEADER_SIGNATURE);
    let header = AuthorizationHeader::signed("any", HEADER_KEY, HEADER_DATE);
    assert_eq!(header.signature, HEADER_SIGNATURE);
    assert!(header.verify(HEADER_KEY, HEADER_DATE).is_ok());
}

#[test]
fn header_signature_with_a_trailing_newline_differs() {
    let wrong = hmac_base64(HEADER_KEY, &format!("licenseSpring\ndate: {HEADER_DATE}\n"));
    assert_ne!(wrong, HEADER_SIGNATURE);
    let header = AuthorizationHeader {
        signature: wrong,
        ..AuthorizationHeader::signed("k", HEADER_KEY, HEADER_DATE)
    };
    assert_eq!(
        header.verify(HEADER_KEY, HEADER_DATE).unwrap_err().code,
        ErrorCode::SignatureMismatch
    );
}

#[test]
fn inner_signature_matches_the_published_vector() {
    assert_eq!(
        inner_signature(SHARED_KEY, DATE, LICENSE_KEY, HARDWARE_ID, API_KEY),
        INNER_SIGNATURE
    );
    assert!(verify_inner_signature(
        SHARED_KEY,
        DATE,
        LICENSE_KEY,
        HARDWARE_ID,
        API_KEY,
        INNER_SIGNATURE
    ));
}

#[test]
fn inner_signature_with_a_trailing_newline_is_rejected() {
    let wrong = hmac_base64(
        SHARED_KEY,
        &format!("licenseSpring\ndate: {DATE}\n{LICENSE_KEY}\n{HARDWARE_ID}\n{API_KEY}\n"),
    );
    assert_ne!(wrong, INNER_SIGNATURE);
    assert!(!verify_inner_signature(
        SHARED_KEY,
        DATE,
        LICENSE_KEY,
        HARDWARE_ID,
        API_KEY,
        &wrong
    ));
}

#[test]
fn inner_signature_without_the_date_prefix_is_rejected() {
    let wrong = hmac_base64(
        SHARED_KEY,
        &format!("licenseSpring\n{DATE}\n{LICENSE_KEY}\n{HARDWARE_ID}\n{API_KEY}"),
    );
    assert_ne!(wrong, INNER_SIGNATURE);
    assert!(!verify_inner_signature(
        SHARED_KEY,
        DATE,
        LICENSE_KEY,
        HARDWARE_ID,
        API_KEY,
        &wrong
    ));
}

#[test]
fn inner_signature_over_a_lower_cased_license_key_is_rejected() {
    let lower = LICENSE_KEY.to_lowercase();
    let wrong = inner_signature(SHARED_KEY, DATE, &lower, HARDWARE_ID, API_KEY);
    assert_ne!(wrong, INNER_SIGNATURE);
    assert!(!verify_inner_signature(
        SHARED_KEY,
        DATE,
        LICENSE_KEY,
        HARDWARE_ID,
        API_KEY,
        &wrong
    ));
    // Verbatim: the published signature does not hold for the lower-cased key either.
    assert!(!verify_inner_signature(
        SHARED_KEY,
        DATE,
        &lower,
        HARDWARE_ID,
        API_KEY,
        INNER_SIGNATURE
    ));
}

#[test]
fn outer_signature_matches_the_published_vector_in_hex_and_base64() {
    assert_eq!(
        outer_signature(SHARED_KEY, REQUEST.as_bytes(), MacEncoding::Hex),
        OUTER_HEX
    );
    assert_eq!(
        outer_signature(SHARED_KEY, REQUEST.as_bytes(), MacEncoding::Base64),
        OUTER_BASE64
    );
    assert!(verify_outer_signature(SHARED_KEY, REQUEST.as_bytes(), OUTER_HEX));
    assert!(verify_outer_signature(
        SHARED_KEY,
        REQUEST.as_bytes(),
        OUTER_BASE64
    ));
}

#[test]
fn outer_signature_over_re_serialised_bytes_is_rejected() {
    let spaced = REQUEST.replace("\",\"", "\", \"");
    assert!(!verify_outer_signature(SHARED_KEY, spaced.as_bytes(), OUTER_HEX));
    let trailing = format!("{REQUEST}\n");
    assert!(!verify_outer_signature(
        SHARED_KEY,
        trailing.as_bytes(),
        OUTER_HEX
    ));
}

fn envelope(request: &str, mac: &str) -> String {
    encode_request_file(format!(r#"{{"request":{request},"signature":"{mac}"}}"#).as_bytes())
}

#[test]
fn the_published_schema_2_file_decodes_and_verifies_with_either_mac_encoding() {
    for mac in [OUTER_HEX, OUTER_BASE64] {
        let file = envelope(REQUEST, mac);
        let decoded = decode_request(Some("text/plain"), file.as_bytes()).unwrap();
        assert_eq!(decoded.schema, Schema::V2);
        assert_eq!(decoded.request_bytes(), Some(REQUEST.as_bytes()));
        let checked = decoded.check(RequestKind::Activation).unwrap();
        assert_eq!(checked.hardware_id, HARDWARE_ID);
        assert_eq!(checked.product, "fooapp");
        assert!(checked.verify(SHARED_KEY).is_ok());
        assert_eq!(
            checked.verify("Sharedkey").unwrap_err().code,
            ErrorCode::SignatureMismatch
        );
    }
}

#[test]
fn the_published_schema_2_file_with_the_key_lower_cased_in_the_payload_fails() {
    let lowered = REQUEST.replace(LICENSE_KEY, &LICENSE_KEY.to_lowercase());
    let mac = outer_signature(SHARED_KEY, lowered.as_bytes(), MacEncoding::Hex);
    // The outer MAC is right for these bytes; the inner signature no longer is.
    let file = envelope(&lowered, &mac);
    let decoded = decode_request(None, file.as_bytes()).unwrap();
    let err = decoded
        .check(RequestKind::Activation)
        .unwrap()
        .verify(SHARED_KEY)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::SignatureMismatch);
}
