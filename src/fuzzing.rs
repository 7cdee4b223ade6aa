//! The input format of the `decode_request` fuzz target, shared with the test that replays
//! its corpus: the Content-Type, a newline, then the body. A first line that is not text, or
//! is empty, means no Content-Type.

use std::collections::HashMap;

use serde_json::value::RawValue;

use crate::protocol::{
    decode_request, hmac_sha256, inner_signature, is_multipart, CheckedRequest, DecodedRequest, ErrorBody,
    ErrorCode, MacEncoding, Rejection, RequestKind, Schema, Transport,
};

/// Splits a fuzz input into (Content-Type, body).
pub fn split_decode_input(data: &[u8]) -> (Option<&str>, &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => {
            let content_type = std::str::from_utf8(&data[..i]).ok().filter(|s| !s.is_empty());
            (content_type, &data[i + 1..])
        }
        None => (None, data),
    }
}

/// The shared key the target verifies with: the fixtures' key, so that seeds built from the
/// fixtures (and mutants that keep their signatures) reach the success path of `verify`.
pub const FUZZ_SHARED_KEY: &str = "fixture-shared-key";

/// Another key, under which nothing that verifies with [`FUZZ_SHARED_KEY`] may verify.
const OTHER_SHARED_KEY: &str = "fixture-shared-key-2";

/// The whole body of the `decode_request` fuzz target, callable from ordinary tests so a
/// corpus can be replayed on stable Rust through exactly the code libFuzzer runs.
///
/// Decodes the input; when it decodes, checks it for both endpoints and verifies it with
/// [`FUZZ_SHARED_KEY`]. Panics only when an invariant of the protocol code is broken, never
/// because the input is malformed.
pub fn decode_request_target(data: &[u8]) {
    let (content_type, body) = split_decode_input(data);
    match decode_request(content_type, body) {
        Err(rejection) => {
            assert_rejection(&rejection);
            // SPEC §3/§4: decoding refuses only with these codes.
            assert!(
                matches!(
                    rejection.code,
                    ErrorCode::MissingParameters
                        | ErrorCode::AuthorizationMissingParams
                        | ErrorCode::ValidationError
                ),
                "decode_request refused with {:?}",
                rejection.code
            );
        }
        Ok(decoded) => decoded_invariants(content_type, &decoded),
    }
}

/// What every refusal must satisfy: a code of the table, a status ≥ 400, and an error body of
/// the exact SPEC §7 shape.
fn assert_rejection(rejection: &Rejection) {
    assert!(
        ErrorCode::ALL.contains(&rejection.code),
        "code {:?} is not in the table",
        rejection.code
    );
    let body = rejection.error_body();
    assert!(body.status >= 400, "status {} is below 400", body.status);
    assert_eq!(body.status, rejection.code.status());
    assert_eq!(body.code, rejection.code.code());
    let parsed = ErrorBody::parse(body.to_json().as_bytes(), body.status);
    assert_eq!(parsed.as_ref(), Ok(&body), "the error body does not round-trip");
}

fn decoded_invariants(content_type: Option<&str>, decoded: &DecodedRequest) {
    let expected_transport = if is_multipart(content_type) {
        Transport::Multipart
    } else {
        Transport::Raw
    };
    assert_eq!(decoded.transport, expected_transport);

    // What decodes is one UTF-8 JSON object; cross-check the schema and the span of the
    // `request` member with an independent parse.
    let Ok(text) = std::str::from_utf8(&decoded.json) else {
        panic!("a decoded request is not UTF-8");
    };
    let top: Result<HashMap<String, &RawValue>, _> = serde_json::from_str(text);
    let Ok(top) = top else {
        panic!("a decoded request is not a JSON object: {text:?}");
    };
    let request_member = top.get("request").filter(|v| v.get().starts_with('{'));
    match decoded.schema {
        Schema::V1 => {
            assert!(request_member.is_none(), "schema 1 with a request object");
            assert!(decoded.request_bytes().is_none());
            assert!(decoded.outer_signature.is_none());
        }
        Schema::V2 => {
            let Some(bytes) = decoded.request_bytes() else {
                panic!("schema 2 without request bytes");
            };
            assert!(bytes.starts_with(b"{"), "request bytes do not start with {{");
            let member: Result<&RawValue, _> = std::str::from_utf8(bytes)
                .map_err(|e| e.to_string())
                .and_then(|s| serde_json::from_str(s).map_err(|e| e.to_string()));
            assert!(member.is_ok(), "request bytes are not JSON: {member:?}");
            let Some(request_member) = request_member else {
                panic!("schema 2 without a request object");
            };
            assert_eq!(
                bytes,
                request_member.get().as_bytes(),
                "request bytes are not the request member as sent"
            );
        }
    }

    let activation = decoded.check(RequestKind::Activation);
    let deactivation = decoded.check(RequestKind::Deactivation);
    // SPEC §4 [safety]: no file is good for both endpoints, or it could be replayed.
    assert!(
        activation.is_err() || deactivation.is_err(),
        "a request file passes the checks of both endpoints"
    );
    for (kind, checked) in [
        (RequestKind::Activation, activation),
        (RequestKind::Deactivation, deactivation),
    ] {
        match checked {
            Err(rejection) => {
                assert_rejection(&rejection);
                assert!(
                    matches!(
                        rejection.code,
                        ErrorCode::AuthorizationMissingParams | ErrorCode::ValidationError
                    ),
                    "check refused with {:?}",
                    rejection.code
                );
            }
            Ok(checked) => checked_invariants(kind, decoded, &checked),
        }
    }
}

fn checked_invariants(kind: RequestKind, decoded: &DecodedRequest, checked: &CheckedRequest) {
    let p = &decoded.payload;
    match p.request.as_deref() {
        None => assert_eq!(kind, RequestKind::Activation),
        Some(r) => assert_eq!(r, kind.as_str()),
    }
    for (name, value) in [
        ("licensee", checked.licensee.signing_value()),
        ("hardware_id", checked.hardware_id),
        ("product", checked.product),
        ("date", checked.date),
        ("api_key/client_id", checked.identity.value()),
    ] {
        assert!(!value.is_empty(), "{name} is empty after check");
    }
    assert_eq!(Some(checked.hardware_id), p.hardware_id.as_deref());
    assert_eq!(Some(checked.product), p.product.as_deref());
    assert_eq!(Some(checked.date), p.date.as_deref());

    match checked.verify(FUZZ_SHARED_KEY) {
        Err(rejection) => {
            assert_rejection(&rejection);
            assert_eq!(rejection.code, ErrorCode::SignatureMismatch);
        }
        Ok(()) => {
            // What verifies with one key verifies with no other.
            assert!(
                checked.verify(OTHER_SHARED_KEY).is_err(),
                "a request verifies under two keys"
            );
            // No malleability: a signature that verifies is the canonical encoding of the MAC.
            if let Some(given) = p.signature.as_deref().filter(|s| !s.is_empty()) {
                let expected = inner_signature(
                    FUZZ_SHARED_KEY,
                    checked.date,
                    checked.licensee.signing_value(),
                    checked.hardware_id,
                    checked.identity.value(),
                );
                assert_eq!(given, expected, "a non-canonical inner signature verifies");
            }
            if decoded.schema == Schema::V2 {
                let (Some(bytes), Some(given)) =
                    (decoded.request_bytes(), decoded.outer_signature.as_deref())
                else {
                    panic!("schema 2 verified without request bytes and an outer MAC");
                };
                let mac = hmac_sha256(FUZZ_SHARED_KEY, bytes);
                assert!(
                    given == MacEncoding::Hex.encode(&mac) || given == MacEncoding::Base64.encode(&mac),
                    "a non-canonical outer MAC verifies: {given:?}"
                );
            }
        }
    }
}
