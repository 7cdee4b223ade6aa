//! The fuzz targets of `fuzz/`, one function each, holding the target's whole body, so that
//! `tests/fuzz_corpus.rs` replays every corpus on stable Rust through exactly the code libFuzzer
//! runs. Each target panics only when an invariant of the protocol code (or of the reference
//! server) is broken, never because the input is malformed.
//!
//! | target | input | function |
//! |---|---|---|
//! | `decode_request` | Content-Type line, `\n`, body | [`decode_request_target`] |
//! | `verify_request` | the same inputs, and their signatures | [`verify_request_target`] |
//! | `base64_baseline` | the same inputs, Base64 only (a speed yardstick) | [`base64_baseline_target`] |
//! | `decode_baseline` | the same inputs, what any decoder must do (the fair yardstick) | [`decode_baseline_target`] |
//! | `auth_header` | Authorization line, `\n`, Date text | [`auth_header_target`] |
//! | `multipart_body` | Content-Type line, `\n`, body | [`multipart_body_target`] |
//! | `handler` | a whole HTTP request (`split_http_input`) | `handler_target` (feature `fuzzing`) |
//! | `roundtrip` | an `arbitrary` `RoundtripInput` | `roundtrip_target` (feature `fuzzing`) |

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::value::RawValue;

use crate::protocol::{
    authenticate, check_date, decode_request, format_http_date, header_signature, hmac_sha256,
    inner_signature, is_multipart, parse_http_date, request_file_text, AuthorizationHeader, CheckedRequest,
    DecodedRequest, ErrorBody, ErrorCode, MacEncoding, Rejection, RequestKind, RequestMember, Schema,
    Transport, MAX_DATE_SKEW,
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

/// The API key that goes with [`FUZZ_SHARED_KEY`] (the fixtures' own).
pub const FUZZ_API_KEY: &str = "fixture-api-key";

/// Another key, under which nothing that verifies with [`FUZZ_SHARED_KEY`] may verify.
const OTHER_SHARED_KEY: &str = "fixture-shared-key-2";

/// The clock of the targets that check a Date header (`auth_header`, and the reference server of
/// `handler`): Fri, 27 Nov 2026 04:36:34 GMT, the fixtures' date, so that signed seeds never go
/// stale.
pub const FUZZ_NOW_SECS: u64 = 1_795_754_194;

/// [`FUZZ_NOW_SECS`] as a time.
pub fn fuzz_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(FUZZ_NOW_SECS)
}

/// The whole body of the `decode_request` fuzz target, callable from ordinary tests so a
/// corpus can be replayed on stable Rust through exactly the code libFuzzer runs.
///
/// The whole decoder (transport, Base64, strict JSON, schema) and both endpoints' field checks,
/// with invariants that cost little beside them: refusals carry a code of the table and of the
/// step; what decodes came by the transport its Content-Type names; schema 2 and only schema 2
/// has `request` bytes, an object inside the decoded JSON; no file passes the checks of both
/// endpoints; what passes a check holds the payload's fields. The costly cross-checks (an
/// independent JSON parse, the signatures under two keys, the canonical MACs) are
/// [`verify_request_target`]'s. Panics only when an invariant of the protocol code is broken,
/// never because the input is malformed.
pub fn decode_request_target(data: &[u8]) {
    decode_target(data, Depth::Decode);
}

/// The whole body of the `verify_request` fuzz target: [`decode_request_target`] on the same
/// inputs, plus what costs more than decoding does: the schema and the `request` member's span
/// cross-checked with an independent JSON parse, and every file that passes a check verified
/// with [`FUZZ_SHARED_KEY`]: what verifies under it verifies under no other key, and only in the
/// canonical encoding of its MACs.
pub fn verify_request_target(data: &[u8]) {
    decode_target(data, Depth::Verify);
}

/// How far the `decode_request` and `verify_request` targets go with what decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    /// The decoder and the checks, with cheap invariants.
    Decode,
    /// Also an independent parse and the signatures.
    Verify,
}

fn decode_target(data: &[u8], depth: Depth) {
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
        Ok(decoded) => decoded_invariants(content_type, &decoded, depth),
    }
}

fn decoded_invariants(content_type: Option<&str>, decoded: &DecodedRequest, depth: Depth) {
    let expected_transport = if is_multipart(content_type) {
        Transport::Multipart
    } else {
        Transport::Raw
    };
    assert_eq!(decoded.transport, expected_transport);
    match decoded.schema {
        Schema::V1 => {
            assert!(decoded.request_bytes().is_none(), "schema 1 with request bytes");
            assert!(decoded.outer_signature.is_none(), "schema 1 with an outer MAC");
        }
        Schema::V2 => {
            let Some(bytes) = decoded.request_bytes() else {
                panic!("schema 2 without request bytes");
            };
            assert!(
                bytes.starts_with(b"{") && bytes.ends_with(b"}"),
                "request bytes are not an object"
            );
            let start = bytes.as_ptr() as usize - decoded.json.as_ptr() as usize;
            assert!(start > 0, "the request bytes are the whole file");
        }
    }
    if depth == Depth::Verify {
        independent_parse(decoded);
    }

    let activation = decoded.check(RequestKind::Activation);
    let deactivation = decoded.check(RequestKind::Deactivation);
    // SPEC §4 [safety]: no file that names its kind is good for both endpoints, or it could be
    // replayed; a file without a `request` member is of the endpoint it is posted to [sdk].
    assert!(
        activation.is_err() || deactivation.is_err() || decoded.request_member() == RequestMember::Absent,
        "a request file naming its kind passes the checks of both endpoints"
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
            Ok(checked) => {
                checked_invariants(kind, decoded, &checked);
                if depth == Depth::Verify {
                    verify_invariants(decoded, &checked);
                }
            }
        }
    }
}

/// What decodes is one UTF-8 JSON object; the schema and the span of the `request` member,
/// cross-checked with an independent parse.
fn independent_parse(decoded: &DecodedRequest) {
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
        }
        Schema::V2 => {
            let Some(bytes) = decoded.request_bytes() else {
                panic!("schema 2 without request bytes");
            };
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
}

fn checked_invariants(kind: RequestKind, decoded: &DecodedRequest, checked: &CheckedRequest) {
    let p = &decoded.payload;
    match decoded.request_member() {
        RequestMember::Absent => {}
        RequestMember::Text(r) => assert_eq!(r, kind.as_str()),
        RequestMember::NotText => panic!("a request member that is not a string passed the check"),
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
}

/// The file passed a check: it verifies with [`FUZZ_SHARED_KEY`] or is refused with
/// `signature_mismatch`; what verifies, verifies under no other key and only in the canonical
/// encoding of its MACs.
fn verify_invariants(decoded: &DecodedRequest, checked: &CheckedRequest) {
    let p = &decoded.payload;
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

/// What every refusal must satisfy: a code of the table with a status ≥ 400, and an error body of
/// the exact SPEC §7 shape. Building the body and its JSON round trip cost more than most decodes,
/// and the body's status, code and shape depend on the code alone unless the message holds text
/// JSON escapes (the only way the detail, which may quote the input, can change the shape); so
/// the body is built and round-tripped for the first refusal with each code and for every message
/// with such text.
fn assert_rejection(rejection: &Rejection) {
    static ROUND_TRIPPED: AtomicU64 = AtomicU64::new(0);
    let code = rejection.code;
    let Some(index) = ErrorCode::ALL.iter().position(|&c| c == code) else {
        panic!("code {code:?} is not in the table");
    };
    assert!(code.status() >= 400, "status {} is below 400", code.status());
    let bit = 1u64 << (index % 64);
    // The message is the code's message, then `: ` and the detail when there is one.
    let escapes = [code.message(), rejection.detail.as_str()]
        .iter()
        .flat_map(|text| text.bytes())
        .any(|b| !(0x20..0x7f).contains(&b) || b == b'"' || b == b'\\');
    if escapes || ROUND_TRIPPED.fetch_or(bit, Ordering::Relaxed) & bit == 0 {
        let body = rejection.error_body();
        assert_eq!(body.status, code.status());
        assert_eq!(body.code, code.code());
        let parsed = ErrorBody::parse(body.to_json().as_bytes(), body.status);
        assert_eq!(parsed.as_ref(), Ok(&body), "the error body does not round-trip");
    }
}

/// The `base64_baseline` target: the inputs of `decode_request`, only Base64-decoded (the standard
/// engine, no whitespace handling, nothing checked). It measures nothing but how fast libFuzzer
/// runs the cheapest work on those inputs, the yardstick `decode_request`'s exec/s is compared to.
pub fn base64_baseline_target(data: &[u8]) {
    let (_, body) = split_decode_input(data);
    let decoded = base64::engine::general_purpose::STANDARD.decode(body);
    std::hint::black_box(decoded.map(|d| d.len()).ok());
}

/// The whole body of the `decode_baseline` fuzz target, the fair speed yardstick for
/// `decode_request`: what any decoder of a request file must do, and nothing more, on the same
/// inputs: find the file text (the body, or the file part of a multipart body), Base64-decode it
/// (the standard alphabet, as it stands) and make one validating JSON pass over the bytes with
/// [`serde::de::IgnoredAny`] (no value built). `base64_baseline` stops at Base64, and at the
/// first byte outside the alphabet; this one goes on into the JSON of every file that decodes.
pub fn decode_baseline_target(data: &[u8]) {
    let (content_type, body) = split_decode_input(data);
    let Ok((_, text)) = request_file_text(content_type, body) else {
        return;
    };
    let Ok(json) = base64::engine::general_purpose::STANDARD.decode(&*text) else {
        return;
    };
    std::hint::black_box(serde_json::from_slice::<serde::de::IgnoredAny>(&json).is_ok());
}

/// Splits an `auth_header` input into (Authorization, Date) at the first newline. An input
/// without a newline has no Date header.
pub fn split_header_input(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    }
}

/// The API keys of the `auth_header` target: [`FUZZ_API_KEY`] with [`FUZZ_SHARED_KEY`].
fn fuzz_shared_key_of(api_key: &str) -> Option<String> {
    (api_key == FUZZ_API_KEY).then(|| FUZZ_SHARED_KEY.to_owned())
}

/// The `auth_header` target: Authorization and Date header text through
/// [`AuthorizationHeader::parse`], [`parse_http_date`], [`check_date`] and [`authenticate`] at
/// [`fuzz_now`], with [`FUZZ_API_KEY`]'s shared key.
///
/// Asserts: a header that parses round-trips through `to_string()` and parse; a date that parses
/// round-trips through [`format_http_date`] and is accepted exactly when it is within
/// [`MAX_DATE_SKEW`]; every refusal carries a code of SPEC §2 with the error body of SPEC §7; and
/// `authenticate` answers what its pieces give when applied in SPEC §2's order (form, pairs,
/// algorithm, Date, API key, signature), accepting only the canonical signature.
pub fn auth_header_target(data: &[u8]) {
    let (authorization, date) = split_header_input(data);
    let now = fuzz_now();

    // SPEC §1a: a missing header is found first, whatever the other one holds.
    for (a, d) in [(None, date), (Some(authorization), None)] {
        match authenticate(a, d, now, fuzz_shared_key_of) {
            Err(r) => {
                assert_rejection(&r);
                assert_eq!(r.code, ErrorCode::MissingHeaders);
            }
            Ok(_) => panic!("authenticate accepted a request without both headers"),
        }
    }

    let header: Result<AuthorizationHeader, ErrorCode> = match std::str::from_utf8(authorization) {
        Err(_) => Err(ErrorCode::AuthorizationInvalidHeaders),
        Ok(text) => match AuthorizationHeader::parse(text) {
            Ok(header) => {
                header_invariants(&header);
                Ok(header)
            }
            Err(r) => {
                assert_rejection(&r);
                assert!(
                    matches!(
                        r.code,
                        ErrorCode::AuthorizationInvalidHeaders
                            | ErrorCode::AuthorizationMissingParams
                            | ErrorCode::HmacRequired
                    ),
                    "AuthorizationHeader::parse refused with {:?}",
                    r.code
                );
                Err(r.code)
            }
        },
    };
    let Some(date) = date else {
        return;
    };
    let date_text = std::str::from_utf8(date).ok();
    if let Some(text) = date_text {
        date_invariants(text, now);
    }

    // SPEC §2's order, from the pieces: the form of the header, then the Date, then the key, then
    // the signature.
    let expected: Result<String, ErrorCode> = header.and_then(|header| {
        let text = date_text.ok_or(ErrorCode::DateHeaderDiff)?;
        check_date(text, now).map_err(|r| r.code)?;
        let shared_key = fuzz_shared_key_of(&header.api_key).ok_or(ErrorCode::InvalidApiKey)?;
        header.verify(&shared_key, text).map_err(|r| r.code)?;
        // No malleability: what verifies is the canonical Base64 of the MAC.
        assert_eq!(
            header.signature,
            header_signature(&shared_key, text),
            "a non-canonical header signature verifies"
        );
        Ok(header.api_key)
    });
    let got = authenticate(Some(authorization), Some(date), now, fuzz_shared_key_of).map_err(|r| {
        assert_rejection(&r);
        r.code
    });
    assert_eq!(got, expected, "authenticate departs from SPEC §2's order");
}

fn header_invariants(header: &AuthorizationHeader) {
    for (name, value) in [
        ("algorithm", &header.algorithm),
        ("headers", &header.headers),
        ("signature", &header.signature),
        ("apikey", &header.api_key),
    ] {
        assert!(!value.is_empty(), "{name} is empty in a parsed header");
    }
    assert!(header.algorithm.eq_ignore_ascii_case("hmac-sha256"));
    assert!(header.headers.eq_ignore_ascii_case("date"));
    let written = header.to_string();
    match AuthorizationHeader::parse(&written) {
        Ok(again) => assert_eq!(&again, header, "the header does not round-trip: {written:?}"),
        Err(r) => panic!("the header's own form is refused ({r}): {written:?}"),
    }
}

fn date_invariants(text: &str, now: SystemTime) {
    let checked = check_date(text, now);
    if let Err(r) = &checked {
        assert_rejection(r);
        assert_eq!(r.code, ErrorCode::DateHeaderDiff);
    }
    match parse_http_date(text) {
        None => assert!(checked.is_err(), "check_date accepted an unparseable date"),
        Some(time) => {
            let formatted = format_http_date(time);
            assert_eq!(
                parse_http_date(&formatted),
                Some(time),
                "{text:?} does not round-trip through {formatted:?}"
            );
            assert!(check_date(&formatted, time).is_ok());
            let skew = match time.duration_since(now) {
                Ok(ahead) => ahead,
                Err(behind) => behind.duration(),
            };
            assert_eq!(
                checked.as_ref().ok(),
                (skew <= MAX_DATE_SKEW).then_some(&time),
                "check_date disagrees with the skew of {text:?}"
            );
        }
    }
}

/// A `multipart/form-data` body: each (part name, content) as a part with a filename and an
/// `application/octet-stream` type, CRLF line ends, then the closing delimiter.
pub fn multipart_body(boundary: &str, parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, content) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"request.req\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

/// A boundary that occurs in none of `contents`.
pub fn boundary_for(contents: &[&[u8]]) -> String {
    (0u32..)
        .map(|n| format!("lsconform-fuzz-{n}"))
        .find(|b| !contents.iter().any(|c| contains(c, b.as_bytes())))
        .expect("some boundary occurs in none of a finite set of inputs")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// The `multipart_body` target: the input as (Content-Type, body) like `decode_request`'s, then
/// its body as the `file` part of a well-formed multipart body built around it, both through
/// [`request_file_text`].
///
/// Asserts: as sent, a raw body comes back unchanged, a multipart one gives a non-empty part of
/// the body, and a refusal is `missing_parameters` or `authorization_missing_params` (a raw body
/// only when empty); built, the `file` part comes back byte for byte (an empty one is
/// `authorization_missing_params`), whatever other parts surround it and however the boundary is
/// written.
pub fn multipart_body_target(data: &[u8]) {
    let (content_type, body) = split_decode_input(data);
    let multipart = is_multipart(content_type);
    match request_file_text(content_type, body) {
        Ok((transport, text)) => {
            assert_eq!(transport == Transport::Multipart, multipart);
            if multipart {
                assert!(!text.is_empty(), "an empty file part was taken");
                assert!(contains(body, &text), "the file part is not a part of the body");
            } else {
                assert_eq!(&*text, body, "a raw body changed");
            }
        }
        Err(r) => {
            assert_rejection(&r);
            assert!(
                matches!(
                    r.code,
                    ErrorCode::MissingParameters | ErrorCode::AuthorizationMissingParams
                ),
                "request_file_text refused with {:?}",
                r.code
            );
            if body.is_empty() {
                assert_eq!(r.code, ErrorCode::MissingParameters);
            } else {
                assert!(multipart, "a non-empty raw body was refused");
            }
        }
    }

    // The body as the file part, the first line as a decoy part; the layout and the boundary's
    // spelling vary with the input's length.
    let first_line = &data[..data.len() - body.len()];
    let boundary = boundary_for(&[body, first_line]);
    let variant = data.len() % 4;
    let parts: Vec<(&str, &[u8])> = match variant {
        0 => vec![("file", body)],
        1 => vec![("data", first_line), ("file", body)],
        2 => vec![("file", body), ("note", first_line)],
        _ => vec![("data", first_line), ("file", body), ("File", first_line)],
    };
    let built_type = if variant % 2 == 0 {
        format!("multipart/form-data; boundary={boundary}")
    } else {
        format!("Multipart/Form-Data; charset=utf-8; boundary=\"{boundary}\"")
    };
    let built = multipart_body(&boundary, &parts);
    match request_file_text(Some(&built_type), &built) {
        Ok((transport, text)) => {
            assert_eq!(transport, Transport::Multipart);
            assert!(!body.is_empty(), "an empty file part was taken");
            assert_eq!(&*text, body, "the file part did not come back unchanged");
        }
        Err(r) => {
            assert_rejection(&r);
            assert!(
                body.is_empty() && r.code == ErrorCode::AuthorizationMissingParams,
                "a well-formed multipart body was refused: {r}"
            );
        }
    }
}

#[cfg(feature = "fuzzing")]
mod handler;
#[cfg(feature = "fuzzing")]
pub use handler::{
    handler_response, handler_target, split_http_input, HttpInput, HANDLER_API_KEY, HANDLER_SHARED_KEY,
};

#[cfg(feature = "fuzzing")]
mod roundtrip;
#[cfg(feature = "fuzzing")]
pub use roundtrip::{
    roundtrip, roundtrip_target, Delivery, FieldValue, Kind, RoundtripInput, Tampering, Text, Wrapping,
};
