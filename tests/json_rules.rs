//! SPEC §3 and §4, the JSON of the request file: one UTF-8 JSON object, no duplicated key at any
//! depth, nesting at most 32 deep; schema 1 and schema 2 told apart; required fields; the
//! `request` member; the inner signature and the schema-2 outer MAC over the raw bytes.

use lsconform::protocol::{
    decode_request, encode_request_file, inner_signature, outer_signature, DecodedRequest, ErrorCode,
    Licensee, MacEncoding, RequestKind, Schema, MAX_DEPTH,
};

const SHARED_KEY: &str = "sharedkey";
const API_KEY: &str = "apikey";
const DATE: &str = "Fri, 29 Aug 2025 07:22:37 GMT";
const LICENSE_KEY: &str = "BSK8-CLCY-PB5E-BXFO";
const HARDWARE_ID: &str = "8b06c6053b7a2040f07c60b62f17f378ccc5030e21676f8a100a97ab36303ad0";
const PRODUCT: &str = "fooapp";
const REQUEST_ID: &str = "D010714E-72DD-E4CF-BEBB-4105EC1B2A0F";
/// SPEC §8: the inner signature of the values above.
const SIGNATURE: &str = "A7Tg3dBCc3OsegkPdPc6I1/sRqHj1uSuBR3ad8uaEnk=";

const AMP: ErrorCode = ErrorCode::AuthorizationMissingParams;

/// The members of a complete, correctly signed activation payload, without the braces.
fn members() -> String {
    members_with(&[])
}

/// [`members`] with some members replaced (`Some(raw JSON)`) or left out (`None`).
fn members_with(changes: &[(&str, Option<&str>)]) -> String {
    let quoted = |v: &str| format!("\"{v}\"");
    let base = [
        ("request", quoted("activation")),
        ("license_key", quoted(LICENSE_KEY)),
        ("hardware_id", quoted(HARDWARE_ID)),
        ("product", quoted(PRODUCT)),
        ("date", quoted(DATE)),
        ("request_id", quoted(REQUEST_ID)),
        ("api_key", quoted(API_KEY)),
        ("signature", quoted(SIGNATURE)),
    ];
    let mut out: Vec<String> = Vec::new();
    for (name, value) in &base {
        match changes.iter().find(|(n, _)| n == name) {
            Some((_, Some(raw))) => out.push(format!("\"{name}\":{raw}")),
            Some((_, None)) => {}
            None => out.push(format!("\"{name}\":{value}")),
        }
    }
    for (name, value) in changes {
        if let (false, Some(raw)) = (base.iter().any(|(n, _)| n == name), value) {
            out.push(format!("\"{name}\":{raw}"));
        }
    }
    out.join(",")
}

/// A schema-1 payload.
fn schema1(members: &str) -> String {
    format!("{{{members}}}")
}

/// A schema-2 envelope around `request` (raw JSON text), signed over exactly those bytes.
fn schema2(request: &str) -> String {
    envelope(
        request,
        &outer_signature(SHARED_KEY, request.as_bytes(), MacEncoding::Hex),
    )
}

fn envelope(request: &str, mac: &str) -> String {
    format!(r#"{{"request":{request},"signature":"{mac}"}}"#)
}

fn decode(json: impl AsRef<[u8]>) -> Result<DecodedRequest, ErrorCode> {
    let text = encode_request_file(json.as_ref());
    decode_request(Some("text/plain"), text.as_bytes()).map_err(|e| e.code)
}

/// Decoded, checked on `kind`'s endpoint and verified with the shared key.
#[track_caller]
fn accepted_on(json: impl AsRef<[u8]>, kind: RequestKind) -> DecodedRequest {
    let json = json.as_ref();
    let shown = String::from_utf8_lossy(json).into_owned();
    let decoded = decode(json).unwrap_or_else(|c| panic!("{shown}: refused with {c}"));
    let checked = decoded
        .check(kind)
        .unwrap_or_else(|e| panic!("{shown}: check: {e}"));
    checked
        .verify(SHARED_KEY)
        .unwrap_or_else(|e| panic!("{shown}: verify: {e}"));
    decoded
}

#[track_caller]
fn accepted(json: impl AsRef<[u8]>) -> DecodedRequest {
    accepted_on(json, RequestKind::Activation)
}

/// Refused by `decode_request` with exactly `code`.
#[track_caller]
fn refused_by_decoding(json: impl AsRef<[u8]>, code: ErrorCode) {
    let json = json.as_ref();
    assert_eq!(
        decode(json).map(|_| ()),
        Err(code),
        "{}",
        String::from_utf8_lossy(json)
    );
}

/// Refused with exactly `code`, while decoding or by `check` on activate_offline (members of
/// another type are noted while decoding and judged by `check`).
#[track_caller]
fn refused(json: impl AsRef<[u8]>, code: ErrorCode) {
    let json = json.as_ref();
    let outcome = decode(json).and_then(|d| d.check(RequestKind::Activation).map(|_| ()).map_err(|e| e.code));
    assert_eq!(outcome, Err(code), "{}", String::from_utf8_lossy(json));
}

/// Decoded, then refused by `check` on `kind`'s endpoint with exactly `code`.
#[track_caller]
fn refused_by_check_on(json: impl AsRef<[u8]>, kind: RequestKind, code: ErrorCode) {
    let json = json.as_ref();
    let shown = String::from_utf8_lossy(json).into_owned();
    let decoded = decode(json).unwrap_or_else(|c| panic!("{shown}: refused with {c}"));
    assert_eq!(
        decoded.check(kind).map(|_| ()).map_err(|e| e.code),
        Err(code),
        "{shown}"
    );
}

#[track_caller]
fn refused_by_check(json: impl AsRef<[u8]>, code: ErrorCode) {
    refused_by_check_on(json, RequestKind::Activation, code)
}

/// Decoded and checked, then refused by `verify` with `signature_mismatch`.
#[track_caller]
fn mismatched(json: impl AsRef<[u8]>) {
    let json = json.as_ref();
    let shown = String::from_utf8_lossy(json).into_owned();
    let decoded = decode(json).unwrap_or_else(|c| panic!("{shown}: refused with {c}"));
    let checked = decoded
        .check(RequestKind::Activation)
        .unwrap_or_else(|e| panic!("{shown}: check: {e}"));
    assert_eq!(
        checked.verify(SHARED_KEY).map_err(|e| e.code),
        Err(ErrorCode::SignatureMismatch),
        "{shown}"
    );
}

/// A value nested `levels` deep: `{"a":{"a":…{}…}}` (objects) or `[[…[]…]]` (arrays).
fn nested(levels: usize, arrays: bool) -> String {
    let (open, close, empty) = if arrays {
        ("[", "]", "[]")
    } else {
        ("{\"a\":", "}", "{}")
    };
    format!("{}{empty}{}", open.repeat(levels - 1), close.repeat(levels - 1))
}

// ---- a valid baseline ---------------------------------------------------------------------

#[test]
fn a_complete_schema_1_payload_is_accepted_with_its_values() {
    let d = accepted(schema1(&members()));
    assert_eq!(d.schema, Schema::V1);
    let p = &d.payload;
    assert_eq!(p.request.as_deref(), Some("activation"));
    assert_eq!(p.license_key.as_deref(), Some(LICENSE_KEY));
    assert_eq!(p.hardware_id.as_deref(), Some(HARDWARE_ID));
    assert_eq!(p.product.as_deref(), Some(PRODUCT));
    assert_eq!(p.date.as_deref(), Some(DATE));
    assert_eq!(p.request_id.as_deref(), Some(REQUEST_ID));
    assert_eq!(p.api_key.as_deref(), Some(API_KEY));
    assert_eq!(p.signature.as_deref(), Some(SIGNATURE));
    assert!(p.other.is_empty());
    assert_eq!(d.outer_signature, None);
    assert_eq!(d.request_bytes(), None);
}

#[test]
fn a_complete_schema_2_payload_is_accepted_with_its_values() {
    let request = schema1(&members());
    let d = accepted(schema2(&request));
    assert_eq!(d.schema, Schema::V2);
    assert_eq!(d.request_bytes(), Some(request.as_bytes()));
    assert_eq!(d.outer_mac_encoding(), Some(MacEncoding::Hex));
    assert_eq!(d.payload.license_key.as_deref(), Some(LICENSE_KEY));
    assert_eq!(d.payload.signature.as_deref(), Some(SIGNATURE));
}

// ---- UTF-8 --------------------------------------------------------------------------------

#[test]
fn a_payload_that_is_not_utf8_is_refused() {
    // Latin-1 instead of UTF-8, outside and inside strings.
    refused_by_decoding(b"\xff{}", AMP);
    refused_by_decoding(b"{\"product\":\"caf\xe9\"}", AMP);
    refused_by_decoding(b"{\"caf\xe9\":\"x\"}", AMP);
}

#[test]
fn invalid_utf8_inside_a_string_is_refused() {
    let valid = schema1(&members_with(&[("hostname", Some("\"X\""))]));
    accepted(&valid);
    for bad in [
        &b"\xff"[..],
        b"\xc3",             // a truncated two-byte sequence
        b"\xc0\xaf",         // an overlong '/'
        b"\xed\xa0\x80",     // a surrogate encoded as UTF-8 (CESU-8)
        b"\xf4\x90\x80\x80", // above U+10FFFF
        b"\x80",             // a lone continuation byte
    ] {
        let json = valid.replace("\"X\"", "\"\u{1}\"");
        let mut bytes = json.into_bytes();
        let at = bytes.iter().position(|&b| b == 1).unwrap();
        bytes.splice(at..at + 1, bad.iter().copied());
        refused_by_decoding(&bytes, AMP);
        // The same in a signed value.
        let mut signed = schema1(&members_with(&[("hardware_id", Some("\"\u{1}\""))])).into_bytes();
        let at = signed.iter().position(|&b| b == 1).unwrap();
        signed.splice(at..at + 1, bad.iter().copied());
        refused_by_decoding(&signed, AMP);
    }
}

#[test]
fn non_ascii_utf8_in_values_is_accepted_verbatim() {
    let hardware_id = "Ger\u{e4}t-\u{4e2d}-\u{1f600}";
    let sig = inner_signature(SHARED_KEY, DATE, LICENSE_KEY, hardware_id, API_KEY);
    let json = schema1(&members_with(&[
        ("hardware_id", Some(&format!("\"{hardware_id}\""))),
        ("signature", Some(&format!("\"{sig}\""))),
    ]));
    let d = accepted(&json);
    assert_eq!(d.payload.hardware_id.as_deref(), Some(hardware_id));
    // The same value written with \u escapes (surrogate pair included) reads the same.
    let escaped = r#""Ger\u00e4t-\u4e2d-\ud83d\ude00""#;
    let json = schema1(&members_with(&[
        ("hardware_id", Some(escaped)),
        ("signature", Some(&format!("\"{sig}\""))),
    ]));
    assert_eq!(accepted(&json).payload.hardware_id.as_deref(), Some(hardware_id));
}

// ---- one JSON object ----------------------------------------------------------------------

#[test]
fn text_that_is_not_json_is_refused() {
    for json in [
        " ",
        "{",
        "{\"product\":",
        "{'product':'fooapp'}",
        "product=fooapp&hardware_id=x",
        "{product:\"fooapp\"}",
        "{\"product\":\"fooapp\",}",
        "{\"product\" \"fooapp\"}",
        "\u{feff}{}",
        "{\"product\":\"a\nb\"}",
    ] {
        refused_by_decoding(json, AMP);
    }
}

#[test]
fn an_array_is_refused() {
    refused_by_decoding(format!("[{}]", schema1(&members())), AMP);
    refused_by_decoding("[]", AMP);
}

#[test]
fn a_string_is_refused() {
    refused_by_decoding(serde_json::to_string(&schema1(&members())).unwrap(), AMP);
    refused_by_decoding("\"activation\"", AMP);
}

#[test]
fn null_is_refused() {
    refused_by_decoding("null", AMP);
}

#[test]
fn a_number_or_a_boolean_is_refused() {
    for json in ["0", "42", "-1.5e3", "true", "false"] {
        refused_by_decoding(json, AMP);
    }
}

#[test]
fn trailing_garbage_after_the_object_is_refused() {
    let object = schema1(&members());
    for tail in ["x", "{}", ",", "}", "\"\"", "null", " 1", "\n{}", "\0", "\u{a0}"] {
        refused_by_decoding(format!("{object}{tail}"), AMP);
    }
    refused_by_decoding(format!("{}{}", schema2(&object), "]"), AMP);
}

#[test]
fn whitespace_around_the_object_is_accepted() {
    let object = schema1(&members());
    for (before, after) in [("", " "), ("", "\n"), ("", "\r\n\t "), (" \n", ""), ("\t", "\n")] {
        let d = accepted(format!("{before}{object}{after}"));
        assert_eq!(d.payload.license_key.as_deref(), Some(LICENSE_KEY));
    }
    accepted(format!("{}\n", schema2(&object)));
}

// ---- duplicate keys -----------------------------------------------------------------------

#[test]
fn a_duplicate_key_at_the_top_level_is_refused() {
    let m = members();
    // The same value twice, and two different values.
    refused_by_decoding(schema1(&format!("{m},\"product\":\"{PRODUCT}\"")), AMP);
    refused_by_decoding(schema1(&format!("{m},\"license_key\":\"OTHER\"")), AMP);
    refused_by_decoding(schema1(&format!("{m},\"signature\":null")), AMP);
    // An unknown member twice.
    refused_by_decoding(
        schema1(&format!("{m},\"hostname\":\"a\",\"hostname\":\"a\"")),
        AMP,
    );
}

#[test]
fn a_duplicate_key_in_the_schema_2_envelope_is_refused() {
    let request = schema1(&members());
    let mac = outer_signature(SHARED_KEY, request.as_bytes(), MacEncoding::Hex);
    refused_by_decoding(
        format!(r#"{{"request":{request},"signature":"{mac}","signature":"{mac}"}}"#),
        AMP,
    );
    refused_by_decoding(
        format!(r#"{{"request":{request},"request":{request},"signature":"{mac}"}}"#),
        AMP,
    );
    refused_by_decoding(
        format!(r#"{{"request":"activation","request":{request},"signature":"{mac}"}}"#),
        AMP,
    );
}

#[test]
fn a_duplicate_key_inside_the_schema_2_request_is_refused() {
    let m = members();
    refused_by_decoding(schema2(&schema1(&format!("{m},\"hardware_id\":\"other\""))), AMP);
    refused_by_decoding(schema2(&schema1(&format!("{m},\"x\":1,\"x\":1"))), AMP);
}

#[test]
fn a_duplicate_key_inside_a_nested_unknown_member_is_refused() {
    let variables = r#"{"a":"1","b":"2","a":"1"}"#;
    refused_by_decoding(schema1(&members_with(&[("variables", Some(variables))])), AMP);
    refused_by_decoding(
        schema2(&schema1(&members_with(&[("variables", Some(variables))]))),
        AMP,
    );
    // Deeper down.
    refused_by_decoding(
        schema1(&members_with(&[(
            "vm_info",
            Some(r#"{"x":{"y":{"z":1,"z":2}}}"#),
        )])),
        AMP,
    );
    // In an unknown member of the envelope, outside the request.
    let request = schema1(&members());
    let mac = outer_signature(SHARED_KEY, request.as_bytes(), MacEncoding::Hex);
    refused_by_decoding(
        format!(r#"{{"request":{request},"signature":"{mac}","meta":{{"k":1,"k":1}}}}"#),
        AMP,
    );
}

#[test]
fn a_duplicate_key_inside_an_array_inside_an_object_is_refused() {
    for value in [
        r#"[{"a":1,"a":1}]"#,
        r#"[1,"x",{"b":true},{"a":null,"a":null}]"#,
        r#"{"list":[[{"a":1,"a":2}]]}"#,
    ] {
        refused_by_decoding(schema1(&members_with(&[("vm_info", Some(value))])), AMP);
        refused_by_decoding(schema2(&schema1(&members_with(&[("vm_info", Some(value))]))), AMP);
    }
}

#[test]
fn keys_that_are_duplicates_only_after_unescaping_are_refused() {
    let m = members();
    refused_by_decoding(
        schema1(&members_with(&[("variables", Some(r#"{"a":"1","\u0061":"2"}"#))])),
        AMP,
    );
    refused_by_decoding(schema1(&format!(r#"{m},"\u0070roduct":"other""#)), AMP);
    refused_by_decoding(schema1(&format!(r#"{m},"hardware\u005fid":"other""#)), AMP);
    refused_by_decoding(schema2(&schema1(&format!(r#"{m},"\u0064ate":"{DATE}""#))), AMP);
    refused_by_decoding(
        schema1(&members_with(&[(
            "variables",
            Some(r#"{"\ud83d\ude00":"1","😀":"2"}"#),
        )])),
        AMP,
    );
}

#[test]
fn the_same_key_in_different_objects_or_differing_in_case_is_accepted() {
    let d = accepted(schema1(&members_with(&[
        ("variables", Some(r#"{"a":"1","A":"2","b":{"a":"3"}}"#)),
        ("vm_info", Some(r#"[{"a":1},{"a":1}]"#)),
        ("Product", Some("\"other\"")),
    ])));
    assert_eq!(d.payload.product.as_deref(), Some(PRODUCT));
    assert_eq!(d.payload.other("Product"), Some("\"other\""));
}

// ---- depth --------------------------------------------------------------------------------

#[test]
fn the_depth_limit_is_32() {
    assert_eq!(MAX_DEPTH, 32);
}

#[test]
fn nesting_32_deep_in_schema_1_is_accepted() {
    // The top-level object is depth 1, so its member's value may hold 31 levels.
    for arrays in [false, true] {
        let d = accepted(schema1(&members_with(&[(
            "variables",
            Some(&nested(MAX_DEPTH - 1, arrays)),
        )])));
        assert_eq!(
            d.payload.other("variables"),
            Some(nested(MAX_DEPTH - 1, arrays).as_str())
        );
    }
}

#[test]
fn nesting_33_deep_in_schema_1_is_refused() {
    for arrays in [false, true] {
        refused_by_decoding(
            schema1(&members_with(&[("variables", Some(&nested(MAX_DEPTH, arrays)))])),
            AMP,
        );
    }
}

#[test]
fn nesting_32_deep_in_the_schema_2_request_is_accepted() {
    // Envelope 1, request 2: a member's value may hold 30 levels.
    for arrays in [false, true] {
        accepted(schema2(&schema1(&members_with(&[(
            "variables",
            Some(&nested(MAX_DEPTH - 2, arrays)),
        )]))));
    }
}

#[test]
fn nesting_33_deep_in_the_schema_2_request_is_refused() {
    for arrays in [false, true] {
        refused_by_decoding(
            schema2(&schema1(&members_with(&[(
                "variables",
                Some(&nested(MAX_DEPTH - 1, arrays)),
            )]))),
            AMP,
        );
    }
}

#[test]
fn nesting_beside_the_schema_2_request_counts_from_the_envelope() {
    let request = schema1(&members());
    let mac = outer_signature(SHARED_KEY, request.as_bytes(), MacEncoding::Hex);
    let with_meta = |meta: String| format!(r#"{{"request":{request},"signature":"{mac}","meta":{meta}}}"#);
    accepted(with_meta(nested(MAX_DEPTH - 1, false)));
    refused_by_decoding(with_meta(nested(MAX_DEPTH, false)), AMP);
}

#[test]
fn very_deep_nesting_is_refused_without_overflowing() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    refused_by_decoding(schema1(&members_with(&[("variables", Some(&deep))])), AMP);
    refused_by_decoding(format!("{}{}", "{\"a\":".repeat(50_000), "}".repeat(50_000)), AMP);
}

// ---- schema 1 or schema 2 -----------------------------------------------------------------

#[test]
fn a_string_request_member_means_schema_1() {
    let d = decode(schema1(&members())).unwrap();
    assert_eq!(d.schema, Schema::V1);
    assert_eq!(d.payload.request.as_deref(), Some("activation"));
}

#[test]
fn an_object_request_member_means_schema_2() {
    // Whitespace around the object: the MAC covers the object's own bytes only.
    let request = format!("{{ {} }}", members());
    let mac = outer_signature(SHARED_KEY, request.as_bytes(), MacEncoding::Hex);
    let json = format!("{{ \"request\" :\n {request} \t, \"signature\" : \"{mac}\" }}");
    let d = accepted(&json);
    assert_eq!(d.schema, Schema::V2);
    assert_eq!(d.request_bytes(), Some(request.as_bytes()));
    assert_eq!(d.outer_signature.as_deref(), Some(mac.as_str()));
    // Without an inner `request`, still schema 2.
    let bare = schema1(&members_with(&[("request", None)]));
    assert_eq!(decode(schema2(&bare)).unwrap().schema, Schema::V2);
}

#[test]
fn an_array_request_member_is_not_schema_2() {
    let request = schema1(&members());
    let mac = outer_signature(SHARED_KEY, request.as_bytes(), MacEncoding::Hex);
    // Read as schema 1: its members are missing, and its `request` must be a string.
    let envelope = format!(r#"{{"request":[{request}],"signature":"{mac}"}}"#);
    assert_eq!(decode(&envelope).unwrap().schema, Schema::V1);
    refused_by_check(&envelope, AMP);
    refused_by_check(
        schema1(&members_with(&[("request", Some(r#"["activation"]"#))])),
        ErrorCode::ValidationError,
    );
}

#[test]
fn a_payload_without_a_request_member_is_schema_1() {
    let d = accepted(schema1(&members_with(&[("request", None)])));
    assert_eq!(d.schema, Schema::V1);
    assert_eq!(d.payload.request, None);
}

// ---- fields -------------------------------------------------------------------------------

#[test]
fn unknown_fields_are_ignored() {
    let extras: &[(&str, Option<&str>)] = &[
        ("hostname", Some("\"my-pc\"")),
        ("is_vm", Some("false")),
        ("vm_info", Some("null")),
        ("variables", Some(r#"{"k":"v"}"#)),
        ("number", Some("1.5e3")),
        ("list", Some(r#"[1,"two",{"three":3},[]]"#)),
        ("totally_unknown", Some(r#"{"signature":"not this one"}"#)),
    ];
    let d = accepted(schema1(&members_with(extras)));
    for (name, raw) in extras {
        assert_eq!(d.payload.other(name), *raw, "{name}");
    }
    assert_eq!(d.payload.other_str("hostname").as_deref(), Some("my-pc"));
    assert_eq!(d.payload.signature.as_deref(), Some(SIGNATURE));
    // And in schema 2, inside the request and beside it.
    let request = schema1(&members_with(extras));
    let mac = outer_signature(SHARED_KEY, request.as_bytes(), MacEncoding::Hex);
    let d = accepted(format!(
        r#"{{"version":3,"request":{request},"signature":"{mac}","note":{{"x":[1]}}}}"#
    ));
    assert_eq!(d.payload.other("hostname"), Some("\"my-pc\""));
    assert_eq!(d.payload.other("note"), None);
}

#[test]
fn a_null_required_field_counts_as_missing() {
    for name in [
        "license_key",
        "hardware_id",
        "api_key",
        "product",
        "date",
        "signature",
    ] {
        let json = schema1(&members_with(&[(name, Some("null"))]));
        refused_by_check(&json, AMP);
        if name == "signature" {
            // Schema 2: the inner signature is optional, and null is no signature.
            let d = accepted(schema2(&json));
            assert_eq!(d.payload.signature, None);
        } else {
            refused_by_check(schema2(&json), AMP);
        }
    }
}

#[test]
fn a_null_outer_signature_counts_as_missing() {
    let request = schema1(&members());
    refused_by_check(format!(r#"{{"request":{request},"signature":null}}"#), AMP);
}

#[test]
fn a_required_field_of_the_wrong_type_is_refused() {
    for name in [
        "license_key",
        "username",
        "password",
        "hardware_id",
        "api_key",
        "client_id",
        "product",
        "date",
        "signature",
        "request_id",
        "bundle_code",
    ] {
        for value in ["123", "true", "[\"x\"]", "{\"a\":\"x\"}"] {
            let json = schema1(&members_with(&[(name, Some(value))]));
            refused(&json, AMP);
            refused(schema2(&json), AMP);
        }
    }
}

#[test]
fn an_outer_signature_of_the_wrong_type_is_refused() {
    let request = schema1(&members());
    for value in ["1", "true", "[]", "{}"] {
        refused_by_check(format!(r#"{{"request":{request},"signature":{value}}}"#), AMP);
    }
}

// ---- the request member -------------------------------------------------------------------

#[test]
fn a_request_other_than_activation_is_a_validation_error_on_activation() {
    for value in [
        "\"deactivation\"",
        "\"Activation\"",
        "\"activation \"",
        "\"\"",
        "\"activate\"",
    ] {
        let json = schema1(&members_with(&[("request", Some(value))]));
        refused_by_check(&json, ErrorCode::ValidationError);
        refused_by_check(schema2(&json), ErrorCode::ValidationError);
    }
    // Not a string at all, null included (SPEC §10: `validation_error` only).
    for value in ["1", "true", "[]", "null"] {
        let json = schema1(&members_with(&[("request", Some(value))]));
        refused_by_check(&json, ErrorCode::ValidationError);
        refused_by_check(schema2(&json), ErrorCode::ValidationError);
    }
}

#[test]
fn a_request_other_than_deactivation_is_a_validation_error_on_deactivation() {
    // An activation file (`"request": "activation"`) on deactivate_offline.
    let json = schema1(&members());
    refused_by_check_on(&json, RequestKind::Deactivation, ErrorCode::ValidationError);
    refused_by_check_on(
        schema2(&json),
        RequestKind::Deactivation,
        ErrorCode::ValidationError,
    );
    let json = schema1(&members_with(&[("request", Some("\"deactivation\""))]));
    accepted_on(&json, RequestKind::Deactivation);
    accepted_on(schema2(&json), RequestKind::Deactivation);
}

#[test]
fn a_missing_request_is_of_the_endpoint_the_file_is_posted_to() {
    // SPEC §4 [sdk]: the Node SDK's air-gapped deactivation file has no `request` (nor
    // `request_id`).
    for json in [
        schema1(&members_with(&[("request", None)])),
        schema1(&members_with(&[("request", None), ("request_id", None)])),
    ] {
        for kind in [RequestKind::Activation, RequestKind::Deactivation] {
            accepted_on(&json, kind);
            accepted_on(schema2(&json), kind);
        }
    }
}

#[test]
fn a_null_request_is_a_validation_error_on_both_endpoints() {
    // SPEC §10: `"request": null` is not an absent member (SPEC §4: safety).
    let json = schema1(&members_with(&[("request", Some("null"))]));
    for kind in [RequestKind::Activation, RequestKind::Deactivation] {
        refused_by_check_on(&json, kind, ErrorCode::ValidationError);
        refused_by_check_on(schema2(&json), kind, ErrorCode::ValidationError);
    }
}

// ---- required fields ----------------------------------------------------------------------

#[test]
fn a_missing_license_key_and_username_is_authorization_missing_params() {
    let json = schema1(&members_with(&[("license_key", None)]));
    refused_by_check(&json, AMP);
    refused_by_check(schema2(&json), AMP);
}

#[test]
fn a_username_stands_in_for_the_license_key() {
    let username = "user@example.com";
    let sig = inner_signature(SHARED_KEY, DATE, username, HARDWARE_ID, API_KEY);
    let json = schema1(&members_with(&[
        ("license_key", None),
        ("username", Some(&format!("\"{username}\""))),
        ("password", Some("\"pw\"")),
        ("signature", Some(&format!("\"{sig}\""))),
    ]));
    for json in [json.clone(), schema2(&json)] {
        let d = accepted(&json);
        let checked = d.check(RequestKind::Activation).unwrap();
        assert_eq!(
            checked.licensee,
            Licensee::User {
                username,
                password: Some("pw")
            }
        );
    }
}

#[test]
fn a_missing_hardware_id_is_authorization_missing_params() {
    let json = schema1(&members_with(&[("hardware_id", None)]));
    refused_by_check(&json, AMP);
    refused_by_check(schema2(&json), AMP);
}

#[test]
fn a_missing_api_key_and_client_id_is_authorization_missing_params() {
    let json = schema1(&members_with(&[("api_key", None)]));
    refused_by_check(&json, AMP);
    refused_by_check(schema2(&json), AMP);
}

#[test]
fn a_client_id_stands_in_for_the_api_key() {
    let sig = inner_signature(SHARED_KEY, DATE, LICENSE_KEY, HARDWARE_ID, "client-1");
    let json = schema1(&members_with(&[
        ("api_key", None),
        ("client_id", Some("\"client-1\"")),
        ("signature", Some(&format!("\"{sig}\""))),
    ]));
    let d = accepted(&json);
    assert_eq!(
        d.check(RequestKind::Activation).unwrap().identity.value(),
        "client-1"
    );
}

#[test]
fn a_missing_product_is_authorization_missing_params() {
    let json = schema1(&members_with(&[("product", None)]));
    refused_by_check(&json, AMP);
    refused_by_check(schema2(&json), AMP);
}

#[test]
fn a_missing_date_is_authorization_missing_params() {
    let json = schema1(&members_with(&[("date", None)]));
    refused_by_check(&json, AMP);
    refused_by_check(schema2(&json), AMP);
}

#[test]
fn a_missing_schema_1_signature_is_authorization_missing_params() {
    refused_by_check(schema1(&members_with(&[("signature", None)])), AMP);
}

#[test]
fn a_missing_schema_2_outer_signature_is_authorization_missing_params() {
    let request = schema1(&members());
    refused_by_check(format!(r#"{{"request":{request}}}"#), AMP);
    // The inner signature does not stand in for the outer one.
    refused_by_check(format!(r#"{{"request":{request},"sig":"{SIGNATURE}"}}"#), AMP);
}

#[test]
fn a_missing_request_id_is_allowed() {
    let d = accepted(schema1(&members_with(&[("request_id", None)])));
    assert_eq!(d.payload.request_id, None);
}

// ---- the inner signature ------------------------------------------------------------------

#[test]
fn a_wrong_schema_1_signature_is_signature_mismatch() {
    let other = inner_signature(SHARED_KEY, DATE, LICENSE_KEY, HARDWARE_ID, "otherkey");
    for sig in [other.as_str(), "A7Tg3dBCc3OsegkPdPc6I1/sRqHj1uSuBR3ad8uaEnk", "x"] {
        mismatched(schema1(&members_with(&[(
            "signature",
            Some(&format!("\"{sig}\"")),
        )])));
    }
}

#[test]
fn the_schema_2_inner_signature_is_optional() {
    let d = accepted(schema2(&schema1(&members_with(&[("signature", None)]))));
    let checked = d.check(RequestKind::Activation).unwrap();
    assert!(!checked.has_inner_signature());
    assert_eq!(d.payload.signature, None);
}

#[test]
fn a_wrong_schema_2_inner_signature_is_signature_mismatch_even_under_a_good_outer_mac() {
    let other = inner_signature(SHARED_KEY, DATE, LICENSE_KEY, "another-device", API_KEY);
    let request = schema1(&members_with(&[("signature", Some(&format!("\"{other}\"")))]));
    let d = decode(schema2(&request)).unwrap();
    let checked = d.check(RequestKind::Activation).unwrap();
    assert!(checked.has_inner_signature());
    assert_eq!(
        checked.verify(SHARED_KEY).map_err(|e| e.code),
        Err(ErrorCode::SignatureMismatch)
    );
}

// ---- the outer MAC ------------------------------------------------------------------------

#[test]
fn the_outer_mac_is_accepted_in_lowercase_hex() {
    let request = schema1(&members());
    let mac = outer_signature(SHARED_KEY, request.as_bytes(), MacEncoding::Hex);
    assert_eq!(mac.len(), 64);
    assert!(mac
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    let d = accepted(envelope(&request, &mac));
    assert_eq!(d.outer_mac_encoding(), Some(MacEncoding::Hex));
}

#[test]
fn the_outer_mac_is_accepted_in_base64() {
    let request = schema1(&members());
    let mac = outer_signature(SHARED_KEY, request.as_bytes(), MacEncoding::Base64);
    assert_eq!(mac.len(), 44);
    let d = accepted(envelope(&request, &mac));
    assert_eq!(d.outer_mac_encoding(), Some(MacEncoding::Base64));
}

#[test]
fn a_truncated_outer_mac_is_refused() {
    let request = schema1(&members());
    let hex = outer_signature(SHARED_KEY, request.as_bytes(), MacEncoding::Hex);
    let b64 = outer_signature(SHARED_KEY, request.as_bytes(), MacEncoding::Base64);
    for mac in [
        &hex[..63],
        &hex[..62],
        &hex[..32],
        &b64[..43],
        b64.trim_end_matches('='),
        &b64[..40],
    ] {
        mismatched(envelope(&request, mac));
    }
}

#[test]
fn an_outer_mac_with_extra_characters_is_refused() {
    let request = schema1(&members());
    let hex = outer_signature(SHARED_KEY, request.as_bytes(), MacEncoding::Hex);
    let b64 = outer_signature(SHARED_KEY, request.as_bytes(), MacEncoding::Base64);
    for mac in [
        format!("{hex}0"),
        format!("{hex}00"),
        format!(" {hex}"),
        format!("{hex}\\n"),
        format!("{b64}="),
        format!("{b64}AAAA"),
        format!("{b64} "),
        b64.replace('+', "-").replace('/', "_"),
    ] {
        mismatched(envelope(&request, &mac));
    }
}

#[test]
fn an_outer_mac_of_another_message_is_refused() {
    let request = schema1(&members());
    let other = schema1(&members_with(&[("request_id", Some("\"another\""))]));
    for encoding in [MacEncoding::Hex, MacEncoding::Base64] {
        mismatched(envelope(
            &request,
            &outer_signature(SHARED_KEY, other.as_bytes(), encoding),
        ));
        // The right message under another key.
        mismatched(envelope(
            &request,
            &outer_signature("otherkey", request.as_bytes(), encoding),
        ));
        // The whole envelope's text instead of the request member's.
        mismatched(envelope(
            &request,
            &outer_signature(
                SHARED_KEY,
                format!("{{\"request\":{request}}}").as_bytes(),
                encoding,
            ),
        ));
    }
}

#[test]
fn an_outer_mac_over_request_bytes_reserialised_after_signing_is_refused() {
    let request = schema1(&members());
    let mac = outer_signature(SHARED_KEY, request.as_bytes(), MacEncoding::Hex);
    // One extra space after signing.
    let spaced = request.replacen(",", ", ", 1);
    mismatched(envelope(&spaced, &mac));
    // Python's separators instead of compact ones.
    let python = request.replace("\",\"", "\", \"").replace("\":\"", "\": \"");
    assert_ne!(python, request);
    mismatched(envelope(&python, &mac));
    // A value re-spelt with an escape: the same value, other bytes.
    let escaped = request.replace("fooapp", "f\\u006foapp");
    mismatched(envelope(&escaped, &mac));
}

#[test]
fn the_outer_mac_covers_the_bytes_as_sent_in_any_layout() {
    // Python's layout, signed over its own bytes, is accepted; never re-serialised.
    let request = schema1(&members())
        .replace("\",\"", "\", \"")
        .replace("\":\"", "\": \"");
    let d = accepted(schema2(&request));
    assert_eq!(d.request_bytes(), Some(request.as_bytes()));
    // And a compact MAC over it is refused.
    let compact = schema1(&members());
    mismatched(envelope(
        &request,
        &outer_signature(SHARED_KEY, compact.as_bytes(), MacEncoding::Hex),
    ));
}

#[test]
fn an_uppercase_hex_outer_mac_is_refused() {
    // SPEC §4: the hex form is lowercase (the docs' example and the C++ SDK).
    let request = schema1(&members());
    let mac = outer_signature(SHARED_KEY, request.as_bytes(), MacEncoding::Hex);
    assert!(mac.bytes().any(|b| b.is_ascii_lowercase()));
    mismatched(envelope(&request, &mac.to_ascii_uppercase()));
}
