//! The `handler` target: a whole HTTP request through the reference server's router, in process,
//! on its in-memory store, with the server clock pinned at [`fuzz_now`].

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use axum::Router;
use tower::ServiceExt as _;

use super::fuzz_now;
use crate::protocol::{
    authenticate, check_answer, decode_request, ErrorBody, ErrorCode, Licensee, OfflineKey, PublicKey,
    RequestKind, Verdict,
};
use crate::server::{ReferenceServer, Seed, DEFAULT_MAX_BODY};

/// The reference seed's API key (`fixtures/reference-seed.toml`), which the handler's seeds sign with.
pub const HANDLER_API_KEY: &str = "lsconform-test-api-key";

/// Its shared key.
pub const HANDLER_SHARED_KEY: &str = "lsconform-test-shared-key";

/// The reference server's test public key, which a client pins.
const REFERENCE_PUBLIC_KEY: &str = include_str!("../../fixtures/keys/reference-public.pem");

/// A `handler` input, split: `METHOD SP TARGET`, then `Name: value` header lines, an empty line,
/// and the body (everything after it, byte for byte). Lines end with LF; a CR before it is
/// dropped. Without an empty line every line after the first is a header and the body is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpInput<'a> {
    /// The method, as written.
    pub method: &'a [u8],
    /// The request target (path and query), as written.
    pub target: &'a [u8],
    /// The header lines, split at their first `:`, the value without leading blanks.
    pub headers: Vec<(&'a [u8], &'a [u8])>,
    /// The body.
    pub body: &'a [u8],
}

/// Splits a `handler` input (see [`HttpInput`]).
pub fn split_http_input(data: &[u8]) -> HttpInput<'_> {
    let mut rest = data;
    let mut line = || -> Option<&[u8]> {
        if rest.is_empty() {
            return None;
        }
        let (line, after) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = after;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    };
    let request_line = line().unwrap_or_default();
    let (method, target) = match request_line.iter().position(|&b| b == b' ') {
        Some(i) => (&request_line[..i], &request_line[i + 1..]),
        None => (request_line, &b"/"[..]),
    };
    let mut headers = Vec::new();
    while let Some(l) = line() {
        if l.is_empty() {
            break;
        }
        let (name, value) = match l.iter().position(|&b| b == b':') {
            Some(i) => (&l[..i], &l[i + 1..]),
            None => (l, &l[l.len()..]),
        };
        let value = &value[value.iter().take_while(|&&b| b == b' ' || b == b'\t').count()..];
        headers.push((name, value));
    }
    HttpInput {
        method,
        target,
        headers,
        body: rest,
    }
}

/// The router, built once, and what the target checks its answers with.
struct Harness {
    runtime: tokio::runtime::Runtime,
    router: Router,
    public_key: PublicKey,
    api_keys: HashMap<String, String>,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime");
        let router = ReferenceServer::builder()
            .clock(crate::Clock::fixed(fuzz_now()))
            .router()
            .expect("the reference server on an in-memory store");
        let public_key = PublicKey::from_pem(REFERENCE_PUBLIC_KEY).expect("the test public key");
        let api_keys = Seed::reference()
            .api_keys
            .into_iter()
            .map(|k| (k.api_key, k.shared_key))
            .collect();
        Harness {
            runtime,
            router,
            public_key,
            api_keys,
        }
    })
}

/// What SPEC §1a–§4 decide about a request before the business rules: the first failing check's
/// code, or the endpoint and the payload's shared key when every check passes.
fn protocol_verdict(
    harness: &Harness,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(RequestKind, String), ErrorCode> {
    // SPEC §1: the route, then the method.
    let kind = [RequestKind::Activation, RequestKind::Deactivation]
        .into_iter()
        .find(|k| k.path() == uri.path())
        .ok_or(ErrorCode::NotFound)?;
    if method != Method::POST {
        return Err(ErrorCode::MethodNotAllowed);
    }
    // SPEC §3: the body cap, on the declared length and on the bytes.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > DEFAULT_MAX_BODY as u64) || body.len() > DEFAULT_MAX_BODY {
        return Err(ErrorCode::PayloadTooLarge);
    }
    // SPEC §1a, §2: both headers, the Authorization header, the Date, the API key, the MAC.
    authenticate(
        headers.get(header::AUTHORIZATION).map(HeaderValue::as_bytes),
        headers.get(header::DATE).map(HeaderValue::as_bytes),
        fuzz_now(),
        |k| harness.api_keys.get(k).cloned(),
    )
    .map_err(|r| r.code)?;
    // SPEC §3, §4: the body, its fields, the payload's API key, its signatures.
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let decoded = decode_request(content_type, body).map_err(|r| r.code)?;
    let checked = decoded.check(kind).map_err(|r| r.code)?;
    let shared_key = harness
        .api_keys
        .get(checked.identity.value())
        .ok_or(ErrorCode::InvalidApiKey)?;
    checked.verify(shared_key).map_err(|r| r.code)?;
    Ok((kind, shared_key.clone()))
}

/// A request as the router got it, and its answer.
struct Exchange {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    status: StatusCode,
    content_type: Option<HeaderValue>,
    body: axum::body::Bytes,
}

/// Sends an input through the router; `None` when its method or target cannot make a request.
fn exchange(input: &HttpInput<'_>) -> Option<Exchange> {
    let method = Method::from_bytes(input.method).ok()?;
    let uri = Uri::try_from(input.target).ok()?;
    let mut headers = HeaderMap::new();
    for (name, value) in &input.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            headers.append(name, value);
        }
    }
    let mut request = Request::new(Body::from(input.body.to_vec()));
    *request.method_mut() = method.clone();
    *request.uri_mut() = uri.clone();
    *request.headers_mut() = headers.clone();

    let harness = harness();
    let (status, content_type, body) = harness.runtime.block_on(async {
        let response = match harness.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await;
        (status, content_type, body)
    });
    let Ok(body) = body else {
        panic!("the answer's body could not be read");
    };
    Some(Exchange {
        method,
        uri,
        headers,
        status,
        content_type,
        body,
    })
}

/// The status and body the reference server of the `handler` target answers an input with (the
/// same server, so earlier inputs count); `None` when the input makes no request.
pub fn handler_response(data: &[u8]) -> Option<(u16, Vec<u8>)> {
    exchange(&split_http_input(data)).map(|e| (e.status.as_u16(), e.body.to_vec()))
}

/// The `handler` target: a whole HTTP request ([`split_http_input`]) through the reference
/// server's router, in process (tower's `oneshot` on a current-thread runtime), on its in-memory
/// store holding the reference seed, with the server clock at [`fuzz_now`]. An input whose method,
/// target or body cannot make a request is skipped; a header line that is not a valid header is
/// left out.
///
/// Asserts: the server never panics and never answers 5xx; a request that SPEC §1a–§4 refuse gets
/// exactly the code of the first failing check (with its status and the error body of SPEC §7; the
/// answer to HEAD is that to GET without its body); one that passes them gets a business-rule code
/// of SPEC §5 or a 200: `license_deactivated` from deactivate_offline, and from activate_offline an
/// answer whose three signatures verify (with the reference public key and the payload's API key)
/// and that echoes the request's licensee, hardware id and request id.
///
/// The store keeps what earlier inputs did (seats, request ids), so an input's answer may depend
/// on the inputs before it; the invariants do not.
pub fn handler_target(data: &[u8]) {
    let input = split_http_input(data);
    let Some(exchange) = exchange(&input) else {
        return;
    };
    let Exchange {
        method,
        uri,
        headers,
        status,
        content_type,
        body,
    } = exchange;
    let harness = harness();
    assert!(
        !status.is_server_error(),
        "the reference server answered {status}: {}",
        String::from_utf8_lossy(&body)
    );

    let verdict = protocol_verdict(harness, &method, &uri, &headers, input.body);
    if status != StatusCode::OK {
        assert_eq!(
            content_type.as_ref().map(HeaderValue::as_bytes),
            Some(&b"application/json"[..]),
            "an error answer without Content-Type: application/json"
        );
        if method == Method::HEAD {
            // HTTP: the answer to HEAD is the answer to GET without its body (axum drops it).
            assert!(body.is_empty(), "a body in the answer to HEAD");
            let expected = verdict.err();
            assert!(
                matches!(expected, Some(ErrorCode::NotFound | ErrorCode::MethodNotAllowed)),
                "HEAD passes the route and method checks"
            );
            assert_eq!(
                Some(status.as_u16()),
                expected.map(ErrorCode::status),
                "HEAD: not the status of the first failing check"
            );
            return;
        }
        let parsed = ErrorBody::parse(&body, status.as_u16());
        let Ok(error) = parsed else {
            panic!(
                "{status} with a body outside SPEC §7 ({parsed:?}): {}",
                String::from_utf8_lossy(&body)
            );
        };
        let Some(code) = ErrorCode::from_code(&error.code) else {
            panic!("{status} with a code outside the table: {:?}", error.code);
        };
        assert_eq!(
            error.code,
            code.code(),
            "the reference server answers the table's own code"
        );
        assert_eq!(status.as_u16(), code.status(), "{code:?} with another status");
        match verdict {
            Err(expected) => assert_eq!(code, expected, "not the code of the first failing check"),
            Ok((kind, _)) => assert!(
                ErrorCode::business(kind).contains(&code),
                "{code:?} for a request that passes every check before the business rules"
            ),
        }
        return;
    }

    let (kind, shared_key) = match verdict {
        Ok(verdict) => verdict,
        Err(code) => panic!("200 for a request the protocol refuses with {code:?}"),
    };
    match kind {
        RequestKind::Deactivation => {
            assert_eq!(&body[..], b"license_deactivated", "deactivate_offline's 200 body");
        }
        RequestKind::Activation => {
            assert_eq!(
                content_type.as_ref().map(HeaderValue::as_bytes),
                Some(&b"application/json"[..]),
                "an answer without Content-Type: application/json"
            );
            let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
            let Ok(decoded) = decode_request(content_type, input.body) else {
                panic!("the request of a 200 does not decode");
            };
            let Ok(checked) = decoded.check(kind) else {
                panic!("the request of a 200 fails its check");
            };
            let offline = OfflineKey {
                api_key: checked.identity.value(),
                shared_key: &shared_key,
            };
            let check = check_answer(&body, Some(&harness.public_key), Some(offline));
            let Ok(check) = check else {
                panic!("a 200 that is not an answer: {check:?}");
            };
            assert_eq!(
                [
                    check.offline_signature,
                    check.license_signature,
                    check.license_signature_v2
                ],
                [Verdict::Ok; 3],
                "an answer whose signatures do not all verify"
            );
            let answer: serde_json::Map<String, serde_json::Value> = match serde_json::from_slice(&body) {
                Ok(answer) => answer,
                Err(e) => panic!("the answer is not a JSON object: {e}"),
            };
            let text = |name: &str| answer.get(name).and_then(serde_json::Value::as_str);
            let (licensee_member, licensee) = match checked.licensee {
                Licensee::LicenseKey(key) => ("license_key", key),
                Licensee::User { username, .. } => ("username", username),
            };
            assert_eq!(
                text(licensee_member),
                Some(licensee),
                "the answer's {licensee_member}"
            );
            assert_eq!(
                text("hardware_id"),
                Some(checked.hardware_id),
                "the answer's hardware_id"
            );
            assert_eq!(text("request_id"), checked.request_id, "the answer's request_id");
        }
    }
}
