//! Properties of the request builder (SPEC §4, §8): what it writes in every style decodes to the
//! same values and verifies; any one-byte change to a signed value or to a signature is caught;
//! the Python style's activation files are pure ASCII; the compact-hex style reproduces the
//! published schema-2 vector byte for byte.

mod common;

use std::collections::HashMap;
use std::ops::Range;

use common::strategies::{request_spec, request_spec_of, style, LicenseeValue, RequestSpec};
use lsconform::protocol::{
    decode_request, encode_request_file, outer_signature, verify_inner_signature, DecodedRequest, ErrorCode,
    Licensee, MacEncoding, RequestBuilder, RequestFile, RequestKind, Schema, Style,
};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::value::RawValue;
use serde_json::Value;

fn expected_schema(style: Style) -> Schema {
    match style {
        Style::Schema1 => Schema::V1,
        _ => Schema::V2,
    }
}

/// Asserts that a decoded request carries exactly the values of `spec`.
fn assert_same_values(decoded: &DecodedRequest, spec: &RequestSpec) -> Result<(), TestCaseError> {
    let p = &decoded.payload;
    match &spec.licensee {
        LicenseeValue::Key(k) => {
            prop_assert_eq!(p.license_key.as_deref(), Some(k.as_str()));
            prop_assert_eq!(p.username.as_deref(), None);
            prop_assert_eq!(p.password.as_deref(), None);
        }
        LicenseeValue::User { username, password } => {
            prop_assert_eq!(p.license_key.as_deref(), None);
            prop_assert_eq!(p.username.as_deref(), Some(username.as_str()));
            prop_assert_eq!(p.password.as_deref(), password.as_deref());
        }
    }
    prop_assert_eq!(p.hardware_id.as_deref(), Some(spec.hardware_id.as_str()));
    prop_assert_eq!(p.product.as_deref(), Some(spec.product.as_str()));
    prop_assert_eq!(p.date.as_deref(), Some(spec.date.as_str()));
    prop_assert_eq!(p.api_key.as_deref(), Some(spec.api_key.as_str()));
    prop_assert_eq!(p.request_id.as_deref(), spec.request_id.as_deref());
    prop_assert_eq!(p.request.as_deref(), Some(spec.kind.as_str()));
    for (name, value) in &spec.extras {
        let raw = p.other(name);
        prop_assert!(raw.is_some(), "extra member {:?} is missing", name);
        let parsed: Value = serde_json::from_str(raw.unwrap()).unwrap();
        prop_assert_eq!(&parsed, value, "extra member {:?}", name);
    }
    // schema_version is the only member the builder adds beyond the spec's (schema 2 only).
    let expected_others = spec.extras.len() + usize::from(decoded.schema == Schema::V2);
    prop_assert_eq!(p.other.len(), expected_others);
    Ok(())
}

/// What the protocol makes of a request file's text on `kind`'s endpoint.
enum Outcome {
    /// Refused while decoding or checking (Base64, JSON, required fields, `request`).
    Refused(ErrorCode),
    /// Decoded and checked, then `verify` refused it.
    Mismatch,
    /// Accepted all the way.
    Accepted(Box<DecodedRequest>),
}

fn judge(text: &[u8], kind: RequestKind, shared_key: &str) -> Outcome {
    let decoded = match decode_request(Some("text/plain"), text) {
        Ok(d) => d,
        Err(e) => return Outcome::Refused(e.code),
    };
    let verdict = match decoded.check(kind) {
        Err(e) => return Outcome::Refused(e.code),
        Ok(checked) => checked.verify(shared_key),
    };
    match verdict {
        Ok(()) => Outcome::Accepted(Box::new(decoded)),
        Err(e) => {
            assert_eq!(e.code, ErrorCode::SignatureMismatch);
            Outcome::Mismatch
        }
    }
}

/// Where `inner` sits inside `outer` (both borrowed from the same text).
fn offset(outer: &str, inner: &str) -> usize {
    inner.as_ptr() as usize - outer.as_ptr() as usize
}

/// The byte range of a member's value token (quotes included) inside the decoded JSON: in the
/// flat object (`in_request`) or in the schema-2 envelope itself.
fn member_span(json: &[u8], schema: Schema, name: &str, in_request: bool) -> Range<usize> {
    let text = std::str::from_utf8(json).unwrap();
    let (object, base) = match (schema, in_request) {
        (Schema::V2, true) => {
            let top: HashMap<String, &RawValue> = serde_json::from_str(text).unwrap();
            let request = top["request"].get();
            (request, offset(text, request))
        }
        _ => (text, 0),
    };
    let members: HashMap<String, &RawValue> = serde_json::from_str(object).unwrap();
    let value = members
        .get(name)
        .unwrap_or_else(|| panic!("no member {name}"))
        .get();
    let start = base + offset(object, value);
    start..start + value.len()
}

/// The inside of a string token's span (without its quotes).
fn inside_quotes(span: Range<usize>) -> Range<usize> {
    span.start + 1..span.end - 1
}

/// The decoded value of a signed field, to tell a changed value from another spelling of it.
fn signed_field<'a>(decoded: &'a DecodedRequest, name: &str) -> Option<&'a str> {
    let p = &decoded.payload;
    match name {
        "hardware_id" => p.hardware_id.as_deref(),
        "license_key" => p.license_key.as_deref(),
        "username" => p.username.as_deref(),
        "date" => p.date.as_deref(),
        "api_key" => p.api_key.as_deref(),
        other => panic!("not a signed field: {other}"),
    }
}

fn original_field<'a>(spec: &'a RequestSpec, name: &str) -> &'a str {
    match name {
        "hardware_id" => &spec.hardware_id,
        "license_key" | "username" => spec.licensee.signing_value(),
        "date" => &spec.date,
        "api_key" => &spec.api_key,
        other => panic!("not a signed field: {other}"),
    }
}

/// One change to one character: flip bits of a byte, or put another character in its place.
#[derive(Debug, Clone)]
enum Flip {
    Xor(Index, u8),
    Replace(Index, char),
}

fn flip() -> impl Strategy<Value = Flip> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \"\\";
    prop_oneof![
        (any::<Index>(), 1..=255u8).prop_map(|(i, mask)| Flip::Xor(i, mask)),
        (
            any::<Index>(),
            proptest::sample::select(ALPHABET.chars().collect::<Vec<_>>())
        )
            .prop_map(|(i, c)| Flip::Replace(i, c)),
    ]
}

/// Applies a flip to the bytes in `range` of `json`; `None` when it would not change anything
/// (a replacement by the same character). Replacements use ASCII only, so the length stays.
fn apply(json: &[u8], range: Range<usize>, flip: &Flip) -> Option<Vec<u8>> {
    let mut out = json.to_vec();
    match flip {
        Flip::Xor(i, mask) => {
            let at = range.start + i.index(range.len());
            out[at] ^= mask;
        }
        Flip::Replace(i, c) => {
            let at = range.start + i.index(range.len());
            if out[at] == *c as u8 {
                return None;
            }
            out[at] = *c as u8;
        }
    }
    Some(out)
}

/// Replaces the envelope's outer MAC by a fresh one over the (changed) request bytes, when the
/// JSON still reads; the MAC keeps its length, so the splice is in place.
fn resign_outer(json: &[u8], shared_key: &str, encoding: MacEncoding) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(json).ok()?;
    let top: HashMap<String, &RawValue> = serde_json::from_str(text).ok()?;
    let request = top.get("request")?.get();
    let signature = top.get("signature")?.get();
    let mac = outer_signature(shared_key, request.as_bytes(), encoding);
    let start = offset(text, signature);
    let mut out = json.to_vec();
    out.splice(start..start + signature.len(), format!("\"{mac}\"").into_bytes());
    Some(out)
}

fn mac_encoding(style: Style) -> MacEncoding {
    match style {
        Style::CompactHex => MacEncoding::Hex,
        _ => MacEncoding::Base64,
    }
}

fn sign(spec: &RequestSpec, style: Style) -> RequestFile {
    spec.builder(style).sign(&spec.api_key, &spec.shared_key)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    /// (a) Any file the builder writes decodes to the same values, in the right schema, passes
    /// `check` on its own endpoint (and only there), and verifies with the shared key (and only
    /// with it).
    #[test]
    fn every_style_decodes_to_the_values_it_was_given(spec in request_spec(), style in style()) {
        let file = sign(&spec, style);
        let decoded = decode_request(Some("text/plain"), file.text.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&file.json))))?;
        prop_assert_eq!(&decoded.json, &file.json);
        prop_assert_eq!(decoded.schema, expected_schema(style));
        assert_same_values(&decoded, &spec)?;

        let checked = decoded.check(spec.kind)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        match (&spec.licensee, checked.licensee) {
            (LicenseeValue::Key(k), Licensee::LicenseKey(got)) => prop_assert_eq!(k.as_str(), got),
            (LicenseeValue::User { username, password }, Licensee::User { username: u, password: p }) => {
                prop_assert_eq!(username.as_str(), u);
                prop_assert_eq!(password.as_deref(), p);
            }
            (want, got) => prop_assert!(false, "licensee {:?} decoded as {:?}", want, got),
        }
        prop_assert_eq!(checked.hardware_id, spec.hardware_id.as_str());
        prop_assert_eq!(checked.product, spec.product.as_str());
        prop_assert_eq!(checked.date, spec.date.as_str());
        prop_assert_eq!(checked.identity.value(), spec.api_key.as_str());
        prop_assert_eq!(checked.request_id, spec.request_id.as_deref());
        prop_assert_eq!(checked.has_inner_signature(), style != Style::JavaScript);
        prop_assert_eq!(checked.verify(&spec.shared_key), Ok(()));
        let other_key = format!("{}x", spec.shared_key);
        prop_assert_eq!(
            checked.verify(&other_key).map_err(|e| e.code),
            Err(ErrorCode::SignatureMismatch)
        );

        let other_kind = match spec.kind {
            RequestKind::Activation => RequestKind::Deactivation,
            RequestKind::Deactivation => RequestKind::Activation,
        };
        prop_assert_eq!(
            decoded.check(other_kind).map(|_| ()).map_err(|e| e.code),
            Err(ErrorCode::ValidationError)
        );
    }

    /// (b) One changed byte in a signed value (hardware_id, the license key or username, date,
    /// api_key) is never accepted. The only exception allowed is schema 1 (which signs values,
    /// not bytes) when the change is another spelling of the same value, e.g. `\u001f` →
    /// `\u001F`; schema 2's outer MAC covers the bytes, so there even that is refused.
    #[test]
    fn a_changed_byte_in_a_signed_value_is_never_accepted(
        spec in request_spec(),
        style in style(),
        field in proptest::sample::select(vec!["hardware_id", "licensee", "date", "api_key"]),
        flip in flip(),
    ) {
        let file = sign(&spec, style);
        let schema = expected_schema(style);
        let field = match (field, &spec.licensee) {
            ("licensee", LicenseeValue::Key(_)) => "license_key",
            ("licensee", LicenseeValue::User { .. }) => "username",
            (f, _) => f,
        };
        let span = inside_quotes(member_span(&file.json, schema, field, true));
        let Some(json) = apply(&file.json, span, &flip) else { return Ok(()) };
        let text = encode_request_file(&json);
        match judge(text.as_bytes(), spec.kind, &spec.shared_key) {
            // A broken file is refused while it is read: Base64, JSON or a missing field.
            Outcome::Refused(code) => prop_assert_eq!(code, ErrorCode::AuthorizationMissingParams),
            Outcome::Mismatch => {}
            Outcome::Accepted(decoded) => {
                prop_assert_eq!(decoded.schema, Schema::V1, "schema 2 accepted a changed request: {}", String::from_utf8_lossy(&json));
                prop_assert_eq!(
                    signed_field(&decoded, field),
                    Some(original_field(&spec, field)),
                    "a changed {} was accepted: {}", field, String::from_utf8_lossy(&json)
                );
            }
        }
    }

    /// (c) One changed byte or character in the inner signature is never accepted, even when
    /// the schema-2 outer MAC is recomputed over the changed bytes (so the inner signature alone
    /// has to catch it); one changed byte or character in the outer MAC is never accepted.
    #[test]
    fn a_changed_signature_never_verifies(
        spec in request_spec(),
        style in style(),
        flip in flip(),
        outer in any::<bool>(),
    ) {
        let file = sign(&spec, style);
        let schema = expected_schema(style);
        let (json, what) = if outer && schema == Schema::V2 {
            let span = inside_quotes(member_span(&file.json, schema, "signature", false));
            let Some(json) = apply(&file.json, span, &flip) else { return Ok(()) };
            (json, "outer MAC")
        } else if style != Style::JavaScript {
            let span = inside_quotes(member_span(&file.json, schema, "signature", true));
            let Some(json) = apply(&file.json, span.clone(), &flip) else { return Ok(()) };
            // The changed inner signature must not verify on its own either.
            if let Ok(changed) = std::str::from_utf8(&json[span]) {
                prop_assert!(!verify_inner_signature(
                    &spec.shared_key,
                    &spec.date,
                    spec.licensee.signing_value(),
                    &spec.hardware_id,
                    &spec.api_key,
                    changed,
                ));
            }
            let json = match schema {
                Schema::V1 => json,
                Schema::V2 => resign_outer(&json, &spec.shared_key, mac_encoding(style)).unwrap_or(json),
            };
            (json, "inner signature")
        } else {
            // The Node layout has no inner signature: nothing to change.
            return Ok(());
        };
        let text = encode_request_file(&json);
        match judge(text.as_bytes(), spec.kind, &spec.shared_key) {
            Outcome::Refused(code) => prop_assert_eq!(code, ErrorCode::AuthorizationMissingParams),
            Outcome::Mismatch => {}
            Outcome::Accepted(_) => prop_assert!(
                false,
                "a changed {} was accepted: {}", what, String::from_utf8_lossy(&json)
            ),
        }
    }

    /// (d) The Python style escapes every non-ASCII character in activation files (`json.dumps`'s
    /// default `ensure_ascii=True`), and the escapes read back to the same values.
    #[test]
    fn python_activation_files_are_pure_ascii_and_read_back_the_same(
        spec in request_spec_of(RequestKind::Activation),
    ) {
        let file = sign(&spec, Style::Python);
        prop_assert!(
            file.json.iter().all(|&b| b < 0x80),
            "non-ASCII in {}", String::from_utf8_lossy(&file.json)
        );
        prop_assert!(file.json.iter().all(|&b| b >= 0x20), "a raw control character");
        // Re-parsed by a plain JSON parser, the values are the ones given.
        let envelope: Value = serde_json::from_slice(&file.json).unwrap();
        let request = &envelope["request"];
        prop_assert_eq!(&request["hardware_id"], &Value::from(spec.hardware_id.as_str()));
        prop_assert_eq!(&request["product"], &Value::from(spec.product.as_str()));
        prop_assert_eq!(&request["date"], &Value::from(spec.date.as_str()));
        prop_assert_eq!(&request["api_key"], &Value::from(spec.api_key.as_str()));
        match &spec.licensee {
            LicenseeValue::Key(k) => prop_assert_eq!(&request["license_key"], &Value::from(k.as_str())),
            LicenseeValue::User { username, .. } => {
                prop_assert_eq!(&request["username"], &Value::from(username.as_str()))
            }
        }
        for (name, value) in &spec.extras {
            prop_assert_eq!(&request[name.as_str()], value);
        }
        // And the protocol reads the same values too.
        let decoded = decode_request(None, file.text.as_bytes())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        assert_same_values(&decoded, &spec)?;
    }
}

/// (e) SPEC §8: the compact-hex style with the published fields writes the published request
/// bytes and hex MAC exactly.
#[test]
fn compact_hex_reproduces_the_published_schema_2_vector() {
    const REQUEST: &str = r#"{"schema_version":2,"api_key":"apikey","date":"Fri, 29 Aug 2025 07:22:37 GMT","hardware_id":"8b06c6053b7a2040f07c60b62f17f378ccc5030e21676f8a100a97ab36303ad0","ip_local":"192.168.1.226","license_key":"BSK8-CLCY-PB5E-BXFO","mac_address":"5A-8A-90-08-13-84","os_hostname":"Mac","os_ver":"Darwin 24.6.0","product":"fooapp","request":"activation","request_id":"D010714E-72DD-E4CF-BEBB-4105EC1B2A0F","sdk_lang":"cpp","sdk_ver":"7.41.1","signature":"A7Tg3dBCc3OsegkPdPc6I1/sRqHj1uSuBR3ad8uaEnk="}"#;
    const OUTER_HEX: &str = "aad1693bf8b394719b695e916e07aee29d4ddf2afb24cc43febd4d43a660b703";

    // The extras in a different order from the published one: the style sorts them.
    let file = RequestBuilder::activation()
        .license_key("BSK8-CLCY-PB5E-BXFO")
        .hardware_id("8b06c6053b7a2040f07c60b62f17f378ccc5030e21676f8a100a97ab36303ad0")
        .product("fooapp")
        .date("Fri, 29 Aug 2025 07:22:37 GMT")
        .request_id("D010714E-72DD-E4CF-BEBB-4105EC1B2A0F")
        .field("sdk_ver", "7.41.1")
        .field("sdk_lang", "cpp")
        .field("os_ver", "Darwin 24.6.0")
        .field("os_hostname", "Mac")
        .field("mac_address", "5A-8A-90-08-13-84")
        .field("ip_local", "192.168.1.226")
        .style(Style::CompactHex)
        .sign("apikey", "sharedkey");

    let expected = format!(r#"{{"request":{REQUEST},"signature":"{OUTER_HEX}"}}"#);
    assert_eq!(std::str::from_utf8(&file.json).unwrap(), expected);
    assert_eq!(file.text, encode_request_file(expected.as_bytes()));

    let decoded = decode_request(Some("text/plain"), file.text.as_bytes()).unwrap();
    assert_eq!(decoded.schema, Schema::V2);
    assert_eq!(decoded.request_bytes(), Some(REQUEST.as_bytes()));
    assert_eq!(decoded.outer_signature.as_deref(), Some(OUTER_HEX));
    assert_eq!(decoded.outer_mac_encoding(), Some(MacEncoding::Hex));
    let checked = decoded.check(RequestKind::Activation).unwrap();
    assert!(checked.has_inner_signature());
    assert_eq!(checked.verify("sharedkey"), Ok(()));
}
