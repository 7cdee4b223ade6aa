//! One request through the reference server: the checks of SPEC §1a, in its order, each step
//! citing the section it implements. The first failing step decides the answer. Named faults bend
//! single outcomes out of SPEC; named conforming variants (`super::variants`) give another answer
//! SPEC allows, each at the one place of its rule.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::StreamExt as _;
use sha2::{Digest, Sha256};

use super::faults::Fault;
use super::store::{self, HandledRequest, LicenseRow};
use super::variants::Variant;
use super::App;
use crate::protocol::{
    authenticate, check_date, decode_request_file, format_http_date, format_validity_period, hmac_sha256,
    inner_signing_string, is_expired, is_multipart, outer_signature, parse_http_date, parse_other_date,
    request_file_text, verify_inner_signature, verify_outer_signature, without_lone_surrogates,
    ActivationAnswer, AnswerLayout, AnswerLicensee, AuthorizationHeader, CheckedRequest, DecodedRequest,
    ErrorCode, LicenseState, Licensee, Lowercasing, MacEncoding, OddTypes, ProductDetails, Rejection,
    RequestKind, RequestMember, Schema, Transport, MAX_DEPTH,
};

/// The body a successful deactivation answers (SPEC §1).
const DEACTIVATED: &str = "license_deactivated";

/// How long a replay waits for the answer of the same request still being signed.
const PENDING_WAIT: Duration = Duration::from_secs(10);

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new().fallback(handle).with_state(app)
}

/// What the log line of a request says.
#[derive(Default)]
struct Exchange {
    request_id: Option<String>,
}

/// A refusal: answered as the error table says, or, under a conforming variant, with another
/// status and code SPEC allows for it.
struct Refusal {
    rejection: Rejection,
    answered_as: Option<(u16, &'static str)>,
}

impl From<Rejection> for Refusal {
    fn from(rejection: Rejection) -> Self {
        Refusal {
            rejection,
            answered_as: None,
        }
    }
}

impl Refusal {
    fn answered_as(rejection: Rejection, status: u16, code: &'static str) -> Self {
        Refusal {
            rejection,
            answered_as: Some((status, code)),
        }
    }

    /// The code on the wire.
    fn code(&self) -> &'static str {
        self.answered_as
            .map_or(self.rejection.code.code(), |(_, code)| code)
    }
}

enum Success {
    /// An activation answer (JSON), new or replayed.
    Activated(Vec<u8>),
    /// `license_deactivated`.
    Deactivated,
}

/// Whether a step notes the variants that changed its outcome (`took_effect`): yes on the request's
/// own path; not when the pipeline only asks what a step would answer, to tell whether an order
/// variant changed the answer.
#[derive(Clone, Copy)]
enum Note {
    Effects,
    Nothing,
}

impl Note {
    fn took_effect(self, app: &App, variant: Variant) {
        if let Note::Effects = self {
            app.variants.took_effect(variant);
        }
    }
}

/// The error code an outcome answers, if any.
fn code_of<T>(outcome: &Result<T, Rejection>) -> Option<ErrorCode> {
    outcome.as_ref().err().map(|r| r.code)
}

async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut exchange = Exchange::default();
    let outcome = pipeline(&app, request, &mut exchange).await;
    let (response, code) = match outcome {
        Ok(Success::Activated(body)) => {
            let mut r = json_response(StatusCode::OK, body);
            // The answer-text-plain fault.
            if app.faults.has(Fault::AnswerTextPlain) {
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
            }
            (r, "ok")
        }
        Ok(Success::Deactivated) => {
            let mut r = (StatusCode::OK, DEACTIVATED).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            (r, "ok")
        }
        Err(refusal) => (error_response(&app, &refusal), refusal.code()),
    };
    // One line per request; never a shared key or a signature.
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        code,
        latency_us = started.elapsed().as_micros() as u64,
        request_id = exchange.request_id.as_deref().unwrap_or("-"),
    );
    response
}

/// SPEC §1a: the order of the checks.
async fn pipeline(app: &Arc<App>, request: Request, exchange: &mut Exchange) -> Result<Success, Refusal> {
    // SPEC §1: route and method.
    // The headers-before-route fault: an authentication layer in front of the router.
    if app.faults.has(Fault::HeadersBeforeRoute) && headers_missing(request.headers()) {
        return Err(Rejection::new(ErrorCode::MissingHeaders, "Date or Authorization").into());
    }
    let kind = route(app, request.method(), request.uri().path())?;
    bend_accept(app, request.headers())?;
    let (parts, body) = request.into_parts();
    // SPEC §3: the body cap, enforced while the body streams in, before anything is decoded.
    let body = read_capped_body(app, &parts.headers, body).await?;
    let now = app.clock.now();
    // SPEC §1a, §10: only the headers' presence must come before the body (body-before-authorization).
    let headers_first = if app.faults.has(Fault::BodyBeforeMissingHeaders) {
        // The body-before-missing-headers fault: a missing header is noticed only after the body.
        !headers_missing(&parts.headers)
    } else {
        !app.variants.has(Variant::BodyBeforeAuthorization) || headers_missing(&parts.headers)
    };
    // SPEC §1a, §2: both headers present, the Authorization header, the Date, the API key, the MAC.
    if headers_first {
        check_headers(app, &parts.headers, now, Note::Effects)?;
    }
    // body-before-authorization changed the answer when a step of the body refuses a request whose
    // headers the reference order would have refused otherwise (it checks them first).
    let body_first = |refusal: Refusal| {
        if !headers_first && app.variants.has(Variant::BodyBeforeAuthorization) {
            let headers = check_headers(app, &parts.headers, now, Note::Nothing);
            if headers.is_err_and(|h| h.code() != refusal.code()) {
                app.variants.took_effect(Variant::BodyBeforeAuthorization);
            }
        }
        refusal
    };
    // SPEC §3: a body, and the request file's text in it (raw, or the multipart `file` part).
    let (transport, text) = file_text(app, &parts.headers, &body).map_err(body_first)?;
    // SPEC §3: the text is Base64.
    let json = decode_base64(app, transport, &text).map_err(|r| body_first(r.into()))?;
    // SPEC §3, §4: of one strict JSON object, schema 1 or 2 (SPEC §10: surrogates-read reads more;
    // `strict` is then the refusal of the strict reading).
    let (decoded, strict) = decode_json(app, transport, json).map_err(|r| body_first(r.into()))?;
    exchange.request_id = decoded.payload.request_id.clone();
    // SPEC §1a: signatures-before-kind checks the fields as if for this endpoint, the kind later.
    let kind_later = app
        .variants
        .has(Variant::SignaturesBeforeKind)
        .then(|| as_if_for(&decoded, kind));
    // The faults that read a file as if it said more than it does (see `fill_in`).
    let filled = fill_in(app, &decoded, kind, &parts.headers).await;
    let checks = async {
        // SPEC §4: the required fields, and the `request` member for this endpoint.
        let fields_of = kind_later.as_ref().or(filled.as_ref()).unwrap_or(&decoded);
        let checked = check_fields(app, fields_of, kind, Note::Effects).map_err(|r| body_first(r.into()))?;
        // SPEC §1a, §10: the Authorization header and the Date after the body (body-before-authorization).
        if !headers_first {
            check_headers(app, &parts.headers, now, Note::Effects)?;
        }
        // SPEC §4: the payload signatures, with the shared key of the payload's API key.
        let shared_key = verify_signatures(app, &decoded, &checked, &parts.headers).await?;
        // The faults of the payload's contents, judged once the file is known to be genuine.
        let checked = bend_fields(app, fields_of, kind, checked, now)?;
        // SPEC §1a, §4: the `request` member after the signatures (signatures-before-kind).
        if kind_later.is_some() {
            check_kind(app, &decoded, kind)?;
        }
        Ok::<_, Refusal>((checked, shared_key))
    };
    let (checked, shared_key) = match checks.await {
        Ok(checked) => checked,
        Err(refusal) => {
            // signatures-before-kind changed the answer when a step it moved ahead of the kind
            // check refuses a request the reference order refuses, with another code, at its
            // field-and-kind check (which refuses only a wrong kind that the file as if for this
            // endpoint passes: the members are judged alike).
            if kind_later.is_some() {
                let reference = check_fields(app, &decoded, kind, Note::Nothing);
                if code_of(&reference).is_some_and(|c| c.code() != refusal.code()) {
                    app.variants.took_effect(Variant::SignaturesBeforeKind);
                }
            }
            // surrogates-read changed the answer when a step after the lenient reading refuses
            // with another code than the strict reading did.
            if strict.is_some_and(|c| c.code() != refusal.code()) {
                app.variants.took_effect(Variant::SurrogatesRead);
            }
            return Err(refusal);
        }
    };
    // SPEC §10 row 4: a file read leniently is never accepted (surrogates-read).
    if let Some(strict) = strict {
        if strict != ErrorCode::AuthorizationMissingParams {
            app.variants.took_effect(Variant::SurrogatesRead);
        }
        return Err(Rejection::new(
            ErrorCode::AuthorizationMissingParams,
            "an unpaired surrogate escape",
        )
        .into());
    }
    // SPEC §5: the business rules; SPEC §6: the answer.
    let mut request = StoreRequest::new(&decoded, &checked, shared_key, now);
    // The trim-echoed-hardware-id fault: once the signatures passed, the value is tidied up, and
    // then stored, echoed and signed trimmed.
    if app.faults.has(Fault::TrimEchoedHardwareId) {
        request.hardware_id = request.hardware_id.trim().to_owned();
    }
    let success = match kind {
        RequestKind::Activation => activate(app, request).await.map(Success::Activated),
        RequestKind::Deactivation => deactivate(app, request).await.map(|()| Success::Deactivated),
    };
    Ok(success?)
}

/// SPEC §1: the two endpoints, POST only; any other path is `not_found`, another method on them
/// `method_not_allowed`.
fn route(app: &App, method: &Method, path: &str) -> Result<RequestKind, Rejection> {
    let endpoints = [RequestKind::Activation, RequestKind::Deactivation];
    let kind = endpoints
        .into_iter()
        .find(|k| k.path() == path)
        // The prefix-routed fault: a path that starts with an endpoint's path reaches it.
        .or_else(|| {
            endpoints
                .into_iter()
                .find(|k| app.faults.has(Fault::PrefixRouted) && path.starts_with(k.path()))
        })
        .ok_or_else(|| Rejection::new(ErrorCode::NotFound, path))?;
    if method != Method::POST {
        // The wrong-method-not-found fault: a router keyed by method and path finds no route.
        if app.faults.has(Fault::WrongMethodNotFound) {
            return Err(Rejection::new(ErrorCode::NotFound, path));
        }
        return Err(Rejection::new(ErrorCode::MethodNotAllowed, method.as_str()));
    }
    Ok(kind)
}

/// After a refusal for size, the rest of the body is read and dropped, up to this much …
const LINGER_BYTES: usize = 1 << 20;
/// … or for this long, so that a client still sending reads the 413 rather than a connection reset
/// under its feet (a lingering close); a body larger than that is cut off.
const LINGER_TIME: Duration = Duration::from_secs(2);

/// Reads what is left of a refused body in the background, within [`LINGER_BYTES`] and
/// [`LINGER_TIME`], while the answer is sent.
fn linger(mut rest: axum::body::BodyDataStream) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(LINGER_TIME, async move {
            let mut read = 0;
            while let Some(Ok(chunk)) = rest.next().await {
                read += chunk.len();
                if read > LINGER_BYTES {
                    break;
                }
            }
        })
        .await;
    });
}

/// SPEC §3 [pinned, safety]: the body is capped while it streams in (413 `payload_too_large`);
/// a declared Content-Length over the cap is refused before reading anything.
async fn read_capped_body(app: &App, headers: &HeaderMap, body: Body) -> Result<Vec<u8>, Rejection> {
    // The no-body-cap fault still stops at 64 MiB: a fault proves a check, it must not exhaust memory.
    let cap = if app.faults.has(Fault::NoBodyCap) {
        64 << 20
    } else if app.faults.has(Fault::CapBelowDeclared) {
        app.max_body / 2
    } else {
        app.max_body
    };
    let too_large = || Rejection::new(ErrorCode::PayloadTooLarge, format!("the cap is {cap} bytes"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > cap as u64) {
        if n <= (cap + LINGER_BYTES) as u64 {
            linger(body.into_data_stream());
        }
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            Rejection::new(
                ErrorCode::MissingParameters,
                format!("the body could not be read: {e}"),
            )
        })?;
        if buf.len() + chunk.len() > cap {
            linger(stream);
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// SPEC §1: `Accept` is recommended, never required, and any value is served alike; the reference
/// never reads it. Its faults do.
fn bend_accept(app: &App, headers: &HeaderMap) -> Result<(), Refusal> {
    let accept = headers.get(header::ACCEPT);
    // The accept-header-required fault: Accept counted among the required headers.
    if accept.is_none() && app.faults.has(Fault::AcceptHeaderRequired) {
        return Err(Rejection::new(ErrorCode::MissingHeaders, "Accept").into());
    }
    // The accept-json-only fault: content negotiation that finds no JSON in what is accepted.
    if app.faults.has(Fault::AcceptJsonOnly) && accept.is_some_and(|v| !admits_json(v.as_bytes())) {
        let rejection = Rejection::new(ErrorCode::ValidationError, "no JSON in Accept");
        return Err(Refusal::answered_as(rejection, 406, "not_acceptable"));
    }
    Ok(())
}

/// Whether an Accept value has a media range JSON falls in (the accept-json-only fault).
fn admits_json(value: &[u8]) -> bool {
    String::from_utf8_lossy(value).split(',').any(|range| {
        let media = range
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        matches!(media.as_str(), "application/json" | "application/*" | "*/*")
    })
}

/// SPEC §1a [seed]: a required header is absent.
fn headers_missing(headers: &HeaderMap) -> bool {
    !headers.contains_key(header::AUTHORIZATION) || !headers.contains_key(header::DATE)
}

/// SPEC §1a and §2, through `protocol::authenticate`; the variants give other allowed outcomes, the
/// named faults bend single outcomes.
fn check_headers(app: &App, headers: &HeaderMap, now: SystemTime, note: Note) -> Result<(), Refusal> {
    let authorization = headers.get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
    let date = headers.get(header::DATE).map(HeaderValue::as_bytes);
    let mut outcome = authenticate(authorization, date, now, |k| app.api_keys.get(k).cloned()).map(drop);
    // SPEC §10 row 5: another Date form, parsed right and within the window (other-date-forms).
    if app.variants.has(Variant::OtherDateForms) {
        let before = code_of(&outcome);
        outcome = outcome.or_else(|r| other_date_form(app, authorization, date, now, r));
        // Counted when the Date passed: accepted, or refused later for the key or the MAC.
        if code_of(&outcome) != before {
            note.took_effect(app, Variant::OtherDateForms);
        }
    }
    // SPEC §2: RFC 850, asctime and UTC Dates SHOULD be accepted; this one does not (imf-fixdate-only).
    if app.variants.has(Variant::ImfFixdateOnly) {
        let before = code_of(&outcome);
        outcome = imf_fixdate_only(date, outcome);
        // Counted when such a Date is refused that passed, or that the key or the MAC refused.
        if code_of(&outcome) != before {
            note.took_effect(app, Variant::ImfFixdateOnly);
        }
    }
    let outcome = bend_headers(app, authorization, date, now, outcome);
    // SPEC §2, §10 last row: a server with OAuth refuses a token it did not issue with 401 (bearer-401).
    match outcome {
        Err(r) if app.variants.has(Variant::Bearer401) && is_bearer(authorization) => {
            // Counted on every such refusal: no refusal of the reference is 401 invalid_token.
            note.took_effect(app, Variant::Bearer401);
            Err(Refusal::answered_as(r, 401, "invalid_token"))
        }
        outcome => outcome.map_err(Refusal::from),
    }
}

/// The faults of the header check (SPEC §1a, §2), each bending one outcome of
/// `protocol::authenticate`.
fn bend_headers(
    app: &App,
    authorization: Option<&[u8]>,
    date: Option<&[u8]>,
    now: SystemTime,
    outcome: Result<(), Rejection>,
) -> Result<(), Rejection> {
    let keys = |api_key: &str| app.api_keys.get(api_key).cloned();
    let text = authorization.and_then(|a| std::str::from_utf8(a).ok());
    let date_text = date.and_then(|d| std::str::from_utf8(d).ok());
    let sent = date_text.and_then(parse_http_date);
    let has = |fault| app.faults.has(fault);
    let code = code_of(&outcome);
    // The header parsed (every pair there, the algorithm right): its form is judged
    // (documented-form-only), and a Date far ahead refused (refuse-future-date).
    let parsed = code.is_none_or(|c| {
        matches!(
            c,
            ErrorCode::DateHeaderDiff | ErrorCode::InvalidApiKey | ErrorCode::SignatureMismatch
        )
    });
    if parsed && has(Fault::DocumentedFormOnly) && !text.is_some_and(is_documented_form) {
        return Err(Rejection::new(
            ErrorCode::AuthorizationInvalidHeaders,
            "not the documented form",
        ));
    }
    if has(Fault::FiveMinuteWindow)
        && matches!(
            code,
            None | Some(ErrorCode::InvalidApiKey | ErrorCode::SignatureMismatch)
        )
        && sent.is_some_and(|t| t + Duration::from_secs(5 * 60) < now)
    {
        return Err(Rejection::new(
            ErrorCode::DateHeaderDiff,
            "more than 5 minutes old",
        ));
    }
    if has(Fault::RefuseFutureDate)
        && matches!(
            code,
            None | Some(ErrorCode::InvalidApiKey | ErrorCode::SignatureMismatch)
        )
        && sent.is_some_and(|t| t > now + Duration::from_secs(60))
    {
        return Err(Rejection::new(
            ErrorCode::DateHeaderDiff,
            "ahead of the server clock",
        ));
    }
    match outcome {
        Ok(()) => Ok(()),
        Err(r) if r.code == ErrorCode::MissingHeaders && has(Fault::WrongCodeForMissingHeaders) => {
            Err(Rejection::new(ErrorCode::MissingParameters, r.detail))
        }
        Err(r)
            if r.code == ErrorCode::AuthorizationInvalidHeaders
                && has(Fault::AcceptAnyBearerToken)
                && is_bearer(authorization) =>
        {
            Ok(())
        }
        Err(r)
            if r.code == ErrorCode::AuthorizationInvalidHeaders
                && has(Fault::UnparseableAsMissingPair)
                && !is_bearer(authorization) =>
        {
            Err(Rejection::new(ErrorCode::AuthorizationMissingParams, r.detail))
        }
        Err(r) if r.code == ErrorCode::AuthorizationMissingParams && has(Fault::MissingPairAsUnparseable) => {
            Err(Rejection::new(ErrorCode::AuthorizationInvalidHeaders, r.detail))
        }
        Err(r)
            if r.code == ErrorCode::HmacRequired
                && has(Fault::ApiKeyBeforeAlgorithm)
                && text
                    .map(with_hmac_sha256)
                    .and_then(|h| AuthorizationHeader::parse(&h).ok())
                    .is_some_and(|h| keys(&h.api_key).is_none()) =>
        {
            Err(Rejection::new(ErrorCode::InvalidApiKey, r.detail))
        }
        Err(r) if r.code == ErrorCode::HmacRequired && has(Fault::AcceptAnyAlgorithm) => {
            // Read as if the algorithm pair named hmac-sha256.
            let rewritten = text.map(with_hmac_sha256).ok_or(r)?;
            authenticate(Some(rewritten.as_bytes()), date, now, keys).map(drop)
        }
        Err(r)
            if r.code == ErrorCode::DateHeaderDiff
                && sent.is_some_and(|t| {
                    (t < now && has(Fault::AcceptStaleDate)) || (t > now && has(Fault::AcceptFutureDate))
                }) =>
        {
            // Judge the rest as if the server clock agreed with the Date header.
            authenticate(authorization, date, sent.ok_or(r)?, keys).map(drop)
        }
        Err(r)
            if r.code == ErrorCode::DateHeaderDiff
                && has(Fault::AcceptUnparseableDate)
                && date_text
                    .is_some_and(|d| parse_http_date(d).is_none() && parse_other_date(d).is_none()) =>
        {
            // Not a time: the clock is not asked; the key and the HMAC over the text still are.
            let header = text.ok_or(r).and_then(AuthorizationHeader::parse)?;
            let shared_key =
                keys(&header.api_key).ok_or_else(|| Rejection::from(ErrorCode::InvalidApiKey))?;
            header.verify(&shared_key, date_text.unwrap_or_default())
        }
        Err(r) if r.code == ErrorCode::InvalidApiKey && has(Fault::UnknownApiKeyMismatch) => {
            Err(Rejection::new(ErrorCode::SignatureMismatch, r.detail))
        }
        Err(r) if r.code == ErrorCode::SignatureMismatch && has(Fault::SkipHeaderSignature) => Ok(()),
        Err(r) => Err(r),
    }
}

/// The documented form of SPEC §2, exactly: `algorithm="…",headers="…",signature="…",apikey="…"`,
/// in this order, lowercase names, no spaces (the documented-form-only fault accepts nothing else).
fn is_documented_form(header: &str) -> bool {
    let names = ["algorithm", "headers", "signature", "apikey"];
    let pairs: Vec<&str> = header.split(',').collect();
    pairs.len() == names.len()
        && pairs.iter().zip(names).all(|(pair, name)| {
            pair.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix("=\""))
                .and_then(|rest| rest.strip_suffix('"'))
                .is_some_and(|value| !value.contains([' ', '"']))
        })
}

/// The Authorization header with its algorithm pair made `hmac-sha256` (accept-any-algorithm).
fn with_hmac_sha256(header: &str) -> String {
    header
        .split(',')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name.trim().eq_ignore_ascii_case("algorithm") => {
                format!("{name}=\"hmac-sha256\"")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The other-date-forms variant (SPEC §10 row 5): a Date `protocol::parse_other_date` reads, within
/// 15 minutes of the clock, passes; the API key and the header's HMAC, over the Date as sent, are
/// then checked as usual (SPEC §2).
fn other_date_form(
    app: &App,
    authorization: Option<&[u8]>,
    date: Option<&[u8]>,
    now: SystemTime,
    refused: Rejection,
) -> Result<(), Rejection> {
    let text = date.and_then(|d| std::str::from_utf8(d).ok());
    let sent = text.and_then(parse_other_date);
    let (Some(text), Some(sent)) = (text, sent) else {
        return Err(refused);
    };
    if refused.code != ErrorCode::DateHeaderDiff || check_date(&format_http_date(sent), now).is_err() {
        return Err(refused);
    }
    // `authenticate` parsed the header before it looked at the Date, so it parses here too.
    let header = authorization
        .and_then(|a| std::str::from_utf8(a).ok())
        .ok_or(refused)
        .and_then(AuthorizationHeader::parse)?;
    let shared_key = app
        .api_keys
        .get(&header.api_key)
        .ok_or_else(|| Rejection::from(ErrorCode::InvalidApiKey))?;
    header.verify(shared_key, text)
}

/// The imf-fixdate-only variant (SPEC §2: a SHOULD not followed): a Date in another HTTP form is
/// `date_header_diff`. SPEC §2 checks the Date before the API key and the MAC, so only an outcome
/// decided after the Date is replaced.
fn imf_fixdate_only(date: Option<&[u8]>, outcome: Result<(), Rejection>) -> Result<(), Rejection> {
    let after_the_date = match &outcome {
        Ok(()) => true,
        Err(r) => matches!(r.code, ErrorCode::InvalidApiKey | ErrorCode::SignatureMismatch),
    };
    let other_http_form = date
        .and_then(|d| std::str::from_utf8(d).ok())
        .map(|d| d.trim_matches([' ', '\t']))
        .is_some_and(|d| parse_http_date(d).is_some_and(|t| format_http_date(t) != d));
    if after_the_date && other_http_form {
        Err(Rejection::new(
            ErrorCode::DateHeaderDiff,
            "only IMF-fixdate is read",
        ))
    } else {
        outcome
    }
}

/// `Authorization: Bearer …` (SPEC §2, the OAuth form).
fn is_bearer(authorization: Option<&[u8]>) -> bool {
    authorization
        .map(<[u8]>::trim_ascii_start)
        .and_then(|a| a.get(..7))
        .is_some_and(|s| s.eq_ignore_ascii_case(b"bearer "))
}

/// SPEC §3: a body, and the request file's text in it (raw, or the multipart `file` part).
fn file_text<'b>(
    app: &App,
    headers: &HeaderMap,
    body: &'b [u8],
) -> Result<(Transport, Cow<'b, [u8]>), Refusal> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let has = |fault| app.faults.has(fault);
    // The empty-body-decoded fault: an empty body goes on to the Base64 step as empty text.
    if body.is_empty() && has(Fault::EmptyBodyDecoded) {
        return Ok((Transport::Raw, Cow::Borrowed(body)));
    }
    // The text-plain-only fault: a raw body is read only when it says it is text/plain.
    let text_plain = content_type.is_some_and(|ct| {
        ct.trim_start()
            .get(..10)
            .is_some_and(|t| t.eq_ignore_ascii_case("text/plain"))
    });
    if has(Fault::TextPlainOnly) && !body.is_empty() && !is_multipart(content_type) && !text_plain {
        return Err(Rejection::new(ErrorCode::MissingParameters, "the body is not text/plain").into());
    }
    let outcome = match request_file_text(content_type, body) {
        // The multipart-part-headers-kept fault: the file part's headers stay in front of its text.
        Ok((Transport::Multipart, text)) if has(Fault::MultipartPartHeadersKept) => {
            Ok((Transport::Multipart, Cow::Owned(with_part_headers(body, &text))))
        }
        // The multipart-first-file-wins fault: the body up to the second file part is read.
        Err(r)
            if r.code == ErrorCode::AuthorizationMissingParams
                && has(Fault::MultipartFirstFileWins)
                && r.detail.contains("twice") =>
        {
            let first = content_type.and_then(|ct| up_to_second_file_part(ct, body));
            match first.as_deref().map(|b| request_file_text(content_type, b)) {
                Some(Ok((transport, text))) => Ok((transport, Cow::Owned(text.into_owned()))),
                _ => Err(r),
            }
        }
        // The multipart-no-file-as-empty fault: no file part is taken for an empty one.
        Err(r)
            if r.code == ErrorCode::MissingParameters
                && has(Fault::MultipartNoFileAsEmpty)
                && is_multipart(content_type) =>
        {
            Err(Rejection::new(ErrorCode::AuthorizationMissingParams, r.detail))
        }
        // The multipart-empty-file-as-missing fault: an empty file part is taken for none.
        Err(r)
            if r.code == ErrorCode::AuthorizationMissingParams
                && has(Fault::MultipartEmptyFileAsMissing)
                && r.detail.contains("empty") =>
        {
            Err(Rejection::new(ErrorCode::MissingParameters, r.detail))
        }
        outcome => outcome,
    };
    outcome.map_err(|r| {
        // SPEC §3, §10 row 6: newer docs name an absent or empty body missing_content (missing-content).
        if app.variants.has(Variant::MissingContent) && body.is_empty() {
            // Counted on every such refusal: the reference has no missing_content.
            app.variants.took_effect(Variant::MissingContent);
            Refusal::answered_as(r, 400, "missing_content")
        } else {
            Refusal::from(r)
        }
    })
}

/// The file part as a hand-rolled multipart reader takes it: from its Content-Disposition line
/// to the end of its text (multipart-part-headers-kept).
fn with_part_headers(body: &[u8], text: &[u8]) -> Vec<u8> {
    let headers = b"Content-Disposition: form-data; name=\"file\"\r\n\r\n";
    let at = body.windows(text.len().max(1)).position(|w| w == text);
    let start = at.and_then(|at| {
        body[..at]
            .windows(headers[..20].len())
            .rposition(|w| w.eq_ignore_ascii_case(&headers[..20]))
    });
    match (at, start) {
        (Some(at), Some(start)) => body[start..at + text.len()].to_vec(),
        _ => [&headers[..], text].concat(),
    }
}

/// A multipart body cut before its second `file` part, and closed (multipart-first-file-wins).
fn up_to_second_file_part(content_type: &str, body: &[u8]) -> Option<Vec<u8>> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let delimiter = format!("--{boundary}");
    let name = b"name=\"file\"";
    let second = body
        .windows(name.len())
        .enumerate()
        .filter(|(_, w)| *w == name)
        .nth(1)?
        .0;
    let cut = body[..second]
        .windows(delimiter.len())
        .rposition(|w| w == delimiter.as_bytes())?;
    Some([&body[..cut], format!("{delimiter}--\r\n").as_bytes()].concat())
}

/// A UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// SPEC §3: Base64 (the url-safe fault reads the URL-safe alphabet too).
fn decode_base64(app: &App, transport: Transport, text: &[u8]) -> Result<Vec<u8>, Rejection> {
    let has = |fault| app.faults.has(fault);
    let refused = |detail: &str| Rejection::new(ErrorCode::AuthorizationMissingParams, detail.to_owned());
    // The multipart-base64-strict fault: the allowances of SPEC §3 on the raw body only.
    let strict_part = transport == Transport::Multipart && has(Fault::MultipartBase64Strict);
    // The refuse-byte-order-mark fault: a byte-order mark is not Base64.
    if (has(Fault::RefuseByteOrderMark) || strict_part) && text.starts_with(BOM) {
        return Err(refused("a byte-order mark is not Base64"));
    }
    // The refuse-whitespace fault: a decoder that skips no whitespace.
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    if (has(Fault::RefuseWhitespace) || strict_part) && text.iter().any(is_space) {
        return Err(refused("whitespace is not Base64"));
    }
    // The strip-every-byte-order-mark fault: all the leading marks go, not only one.
    let mut text = text;
    while has(Fault::StripEveryByteOrderMark) && text.starts_with(BOM) && text[BOM.len()..].starts_with(BOM) {
        text = &text[BOM.len()..];
    }
    // The not-base64-validation-error fault: the decoder's error taken for a validation error.
    let outside = |b: &u8| {
        b.is_ascii_graphic() && !matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=')
    };
    if has(Fault::NotBase64ValidationError) && text.iter().any(outside) {
        return Err(Rejection::new(ErrorCode::ValidationError, "not Base64"));
    }
    // The non-alphabet-discarded fault: ASCII outside the alphabet (whitespace aside) skipped.
    let discarded = |b: &u8| b.is_ascii() && !is_space(b) && (outside(b) || b.is_ascii_control());
    let kept: Vec<u8>;
    if has(Fault::NonAlphabetDiscarded) && text.iter().any(discarded) {
        kept = text.iter().copied().filter(|b| !discarded(b)).collect();
        text = &kept;
    }
    // The extra-padding-ignored fault: the `=` stripped and written again as the length needs.
    let repadded: Vec<u8>;
    if has(Fault::ExtraPaddingIgnored) {
        let mut data: Vec<u8> = text.iter().copied().filter(|b| !is_space(b)).collect();
        let given = data.iter().rev().take_while(|&&b| b == b'=').count();
        data.truncate(data.len() - given);
        let length = data.len() - if data.starts_with(BOM) { BOM.len() } else { 0 };
        let needed = (4 - length % 4) % 4;
        if given > needed {
            data.extend(std::iter::repeat_n(b'=', needed));
            repadded = data;
            text = &repadded;
        }
    }
    let decoded = decode_base64_alphabet(app, text);
    // The lenient-base64 fault: missing padding and non-zero trailing bits pass.
    match decoded {
        Err(r) if has(Fault::LenientBase64) => {
            use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
            use base64::Engine as _;
            let lenient = GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                GeneralPurposeConfig::new()
                    .with_decode_allow_trailing_bits(true)
                    .with_decode_padding_mode(DecodePaddingMode::Indifferent),
            );
            let compact: Vec<u8> = text
                .strip_prefix(BOM)
                .unwrap_or(text)
                .iter()
                .copied()
                .filter(|b| !is_space(b))
                .collect();
            lenient.decode(compact).map_err(|_| r)
        }
        decoded => decoded,
    }
}

/// SPEC §3: the Base64 alphabet (accept-url-safe-base64 reads the URL-safe one too).
fn decode_base64_alphabet(app: &App, text: &[u8]) -> Result<Vec<u8>, Rejection> {
    if app.faults.has(Fault::AcceptUrlSafeBase64) {
        let standard: Vec<u8> = text
            .iter()
            .map(|&b| match b {
                b'-' => b'+',
                b'_' => b'/',
                other => other,
            })
            .collect();
        return decode_request_file(&standard);
    }
    decode_request_file(text)
}

/// SPEC §3 and §4: one strict JSON object. When it was read leniently (the surrogates-read
/// variant), which is then never accepted, also gives the code the strict reading refused it with.
fn decode_json(
    app: &App,
    transport: Transport,
    json: Vec<u8>,
) -> Result<(DecodedRequest, Option<ErrorCode>), Rejection> {
    if app.faults.has(Fault::DuplicateKeysLastWins) {
        return DecodedRequest::from_json_last_key_wins(transport, json).map(|d| (d, None));
    }
    // The non-object-json-500 fault: the members of whatever was parsed are read.
    if app.faults.has(Fault::NonObjectJson500)
        && serde_json::from_slice::<serde_json::Value>(&json).is_ok_and(|v| !v.is_object())
    {
        return Err(Rejection::new(
            ErrorCode::InternalServerError,
            "the JSON value has no members",
        ));
    }
    // The not-json-validation-error fault: a text in which no JSON value starts (UTF-8, no
    // byte-order mark: those are other rules') gets the framework's answer to a parse error.
    if app.faults.has(Fault::NotJsonValidationError) && no_json_value_starts(&json) {
        return Err(Rejection::new(ErrorCode::ValidationError, "the body is not JSON"));
    }
    // The json-byte-order-mark-skipped fault: a decoder that skips a leading mark.
    if app.faults.has(Fault::JsonByteOrderMarkSkipped) {
        if let Some(rest) = json.strip_prefix(BOM) {
            return DecodedRequest::from_json(transport, rest.to_vec()).map(|d| (d, None));
        }
    }
    // The accept-trailing-garbage fault: the first JSON value, whatever follows it.
    if app.faults.has(Fault::AcceptTrailingGarbage) {
        let mut values = serde_json::Deserializer::from_slice(&json).into_iter::<serde::de::IgnoredAny>();
        if let Some(Ok(_)) = values.next() {
            let end = values.byte_offset();
            if end < json.len() {
                return DecodedRequest::from_json(transport, json[..end].to_vec()).map(|d| (d, None));
            }
        }
    }
    // The depth-limit-off-by-one fault: the limit counted from 0, so 32 levels are one too many.
    if app.faults.has(Fault::DepthLimitOffByOne) && within(&json, MAX_DEPTH - 1) != json {
        return Err(Rejection::new(
            ErrorCode::AuthorizationMissingParams,
            "nested too deep",
        ));
    }
    // The deep-nesting-500 fault: a recursion limit that escapes as a crash.
    if app.faults.has(Fault::DeepNesting500) && within_depth(&json) != json {
        return Err(Rejection::new(
            ErrorCode::InternalServerError,
            "recursion limit exceeded",
        ));
    }
    // The accept-lone-surrogates fault: a lone surrogate read as U+FFFD, and nothing refused.
    if app.faults.has(Fault::AcceptLoneSurrogates) {
        if let Some(lenient) = without_lone_surrogates(&json) {
            return DecodedRequest::from_json(transport, lenient).map(|mut d| {
                // The outer MAC covers the bytes as sent; the replacement kept every offset.
                d.json = json;
                (d, None)
            });
        }
    }
    // The no-depth-limit fault: what lies deeper than MAX_DEPTH is read as a shallow value of
    // the same length (so the bytes the outer MAC covers keep their offsets), then given back.
    if app.faults.has(Fault::NoDepthLimit) {
        let shallow = within_depth(&json);
        if shallow != json {
            return DecodedRequest::from_json(transport, shallow).map(|mut d| {
                d.json = json;
                (d, None)
            });
        }
    }
    if !app.variants.has(Variant::SurrogatesRead) {
        return DecodedRequest::from_json(transport, json).map(|d| (d, None));
    }
    // SPEC §10 row 4: a server may read the string and let the signatures decide (surrogates-read).
    let refused = match DecodedRequest::from_json(transport, json.clone()) {
        Ok(decoded) => return Ok((decoded, None)),
        Err(r) => r,
    };
    match without_lone_surrogates(&json).map(|text| DecodedRequest::from_json(transport, text)) {
        Some(Ok(mut lenient)) => {
            // The outer MAC covers the bytes as sent; the replacement kept every offset.
            lenient.json = json;
            Ok((lenient, Some(refused.code)))
        }
        _ => Err(refused),
    }
}

/// UTF-8 text, without a byte-order mark, whose first character cannot start a JSON object,
/// array or string, and that is no JSON value (not-json-validation-error).
fn no_json_value_starts(json: &[u8]) -> bool {
    let first = json.iter().find(|b| !b.is_ascii_whitespace());
    std::str::from_utf8(json).is_ok()
        && !json.starts_with(BOM)
        && first.is_some_and(|b| !matches!(b, b'{' | b'[' | b'"'))
        && serde_json::from_slice::<serde::de::IgnoredAny>(json).is_err()
}

/// The JSON text with each container nested deeper than [`MAX_DEPTH`] replaced by `0` and spaces
/// (no-depth-limit).
fn within_depth(json: &[u8]) -> Vec<u8> {
    within(json, MAX_DEPTH)
}

/// The JSON text with each container nested deeper than `limit` replaced by `0` and spaces, the
/// same length (outside strings; the top-level value is depth 1).
fn within(json: &[u8], limit: usize) -> Vec<u8> {
    let mut out = json.to_vec();
    let (mut depth, mut in_string, mut escaped, mut start) = (0usize, false, false, 0usize);
    for (i, &b) in json.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth == limit + 1 {
                    start = i;
                }
            }
            b'}' | b']' => {
                if depth == limit + 1 {
                    out[start] = b'0';
                    out[start + 1..=i].fill(b' ');
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    out
}

/// The faults that read a file as if it said more than it does: the request member as this
/// endpoint's (accept-any-request-kind), a missing `api_key` as the Authorization header's
/// (api-key-from-header), a missing `product` as its license's (product-from-license). Neither
/// signature changes: the inner one covers none of them and the outer MAC covers the raw bytes.
async fn fill_in(
    app: &Arc<App>,
    decoded: &DecodedRequest,
    kind: RequestKind,
    headers: &HeaderMap,
) -> Option<DecodedRequest> {
    let has = |fault| app.faults.has(fault);
    let mut filled = decoded.clone();
    if has(Fault::AcceptAnyRequestKind) {
        filled = as_if_for(&filled, kind);
    }
    let payload = &decoded.payload;
    if has(Fault::ApiKeyFromHeader) && payload.api_key.is_none() && payload.client_id.is_none() {
        filled.payload.api_key = headers
            .get(header::AUTHORIZATION)
            .and_then(|a| a.to_str().ok())
            .and_then(|a| AuthorizationHeader::parse(a).ok())
            .map(|h| h.api_key);
    }
    if has(Fault::ProductFromLicense) && payload.product.is_none() {
        let by_username = payload.license_key.is_none();
        if let Some(licensee) = payload.license_key.clone().or_else(|| payload.username.clone()) {
            let license = blocking(app, move |app| {
                app.store.transaction(|tx| {
                    Ok::<_, Rejection>(store::license_of_any_product(tx, &licensee, by_username)?)
                })
            })
            .await;
            filled.payload.product = license.ok().flatten().map(|l| l.product);
        }
    }
    let changed = has(Fault::AcceptAnyRequestKind)
        || filled.payload.api_key != payload.api_key
        || filled.payload.product != payload.product;
    changed.then_some(filled)
}

/// The faults of the payload's members (SPEC §4), on a file whose fields and signatures passed.
fn bend_fields<'a>(
    app: &App,
    decoded: &'a DecodedRequest,
    kind: RequestKind,
    checked: CheckedRequest<'a>,
    now: SystemTime,
) -> Result<CheckedRequest<'a>, Rejection> {
    let has = |fault| app.faults.has(fault);
    let missing = |detail: &str| Rejection::new(ErrorCode::AuthorizationMissingParams, detail.to_owned());
    if has(Fault::UsernameNotSupported) && matches!(checked.licensee, Licensee::User { .. }) {
        return Err(missing("license_key"));
    }
    if has(Fault::UsernameActivationOnly)
        && kind == RequestKind::Deactivation
        && matches!(checked.licensee, Licensee::User { .. })
    {
        return Err(missing("license_key"));
    }
    if has(Fault::RequestIdRequired) && decoded.payload.request_id.is_none() {
        return Err(missing("request_id"));
    }
    // The request-member-required fault: the endpoint's kind compared with an absent member; the
    // deactivation-without-request-refused fault: an absent member read as "activation".
    let request_absent = decoded.request_member() == RequestMember::Absent;
    if request_absent
        && (has(Fault::RequestMemberRequired)
            || (has(Fault::DeactivationWithoutRequestRefused) && kind == RequestKind::Deactivation))
    {
        return Err(Rejection::new(
            ErrorCode::ValidationError,
            "the request member is missing",
        ));
    }
    if has(Fault::RefuseUnknownFields) {
        if let Some((name, _)) = decoded
            .payload
            .other
            .iter()
            .find(|(name, _)| !crate::protocol::is_spec_member(name))
        {
            return Err(missing(&format!("unknown member {name}")));
        }
    }
    let payload_date = parse_http_date(checked.date);
    if has(Fault::PayloadDateHttpOnly) && decoded.schema == Schema::V1 && payload_date.is_none() {
        return Err(Rejection::new(
            ErrorCode::ValidationError,
            "the payload date is not an HTTP date",
        ));
    }
    let a_day = Duration::from_secs(24 * 60 * 60);
    if has(Fault::RefuseOldPayloadDate) && payload_date.is_some_and(|d| d + a_day < now) {
        return Err(Rejection::new(
            ErrorCode::DateHeaderDiff,
            "the payload date is more than a day old",
        ));
    }
    Ok(checked)
}

/// SPEC §4: required fields; `request` must name this endpoint [pinned, safety]. SPEC §10 row 2:
/// the variants' other answers to an optional member null, `""` or of another type.
fn check_fields<'a>(
    app: &App,
    decoded: &'a DecodedRequest,
    kind: RequestKind,
    note: Note,
) -> Result<CheckedRequest<'a>, Rejection> {
    // SPEC §4's required members that are missing, in its order (`DecodedRequest::missing_members`).
    let missing = decoded.missing_members();
    // The missing-required-validation-error fault: a schema validator's answer to a missing member.
    let required = ["license_key", "hardware_id", "api_key"];
    if app.faults.has(Fault::MissingRequiredValidationError) && missing.iter().any(|m| required.contains(m)) {
        return Err(Rejection::new(
            ErrorCode::ValidationError,
            "a required member is missing",
        ));
    }
    // SPEC §10: a required member written as null, "" or not a string may be refused with
    // validation_error (blank-required-validation-error).
    if app.variants.has(Variant::BlankRequiredValidationError) && !decoded.blank_required_members().is_empty()
    {
        note.took_effect(app, Variant::BlankRequiredValidationError);
        return Err(Rejection::new(
            ErrorCode::ValidationError,
            "a required member is null, empty or not a string",
        ));
    }
    // The missing-signed-member-mismatch fault: the signatures checked over what is there.
    if app.faults.has(Fault::MissingSignedMemberMismatch)
        && !missing.is_empty()
        && missing.iter().all(|m| matches!(*m, "date" | "signature"))
    {
        return Err(Rejection::new(
            ErrorCode::SignatureMismatch,
            "signed over what is there",
        ));
    }
    // The odd-member-validation-error fault: a schema validator's own answer to a member it reads.
    let read = ["request_id", "bundle_code", "password", "signature"];
    if app.faults.has(Fault::OddMemberValidationError)
        && decoded
            .odd_optional_members()
            .any(|m| read.contains(&m.name.as_str()))
    {
        return Err(Rejection::new(
            ErrorCode::ValidationError,
            "a member of another type",
        ));
    }
    // SPEC §10 row 2: refuse every odd optional member, not only those the protocol reads
    // (odd-optional-refused).
    if let Some(m) = decoded
        .odd_optional_members()
        .find(|_| app.variants.has(Variant::OddOptionalRefused))
    {
        // Counted unless the checks below would refuse with the same code (a later step that
        // would, only surrogates-read's last refusal, is not looked at).
        let below = odd_members_read(app, decoded, kind, Note::Nothing);
        if code_of(&below) != Some(ErrorCode::AuthorizationMissingParams) {
            note.took_effect(app, Variant::OddOptionalRefused);
        }
        let detail = format!("{} is null, empty or of another type", m.name);
        return Err(Rejection::new(ErrorCode::AuthorizationMissingParams, detail));
    }
    odd_members_read(app, decoded, kind, note)
}

/// [`check_fields`] after odd-optional-refused: the optional members the protocol reads.
fn odd_members_read<'a>(
    app: &App,
    decoded: &'a DecodedRequest,
    kind: RequestKind,
    note: Note,
) -> Result<CheckedRequest<'a>, Rejection> {
    // SPEC §10 row 2, "for a signature": an odd schema-2 inner signature is a mismatch, judged where
    // SPEC §1a puts signatures, after the fields and the kind (odd-signature-mismatch).
    if app.variants.has(Variant::OddSignatureMismatch)
        && decoded.odd_optional_members().any(|m| m.name == "signature")
    {
        decoded.check_with(kind, OddTypes::AsAbsent)?;
        if !mismatch_anyway(app, decoded, kind) {
            note.took_effect(app, Variant::OddSignatureMismatch);
        }
        return Err(Rejection::new(
            ErrorCode::SignatureMismatch,
            "the payload signature is not one",
        ));
    }
    let check = |odd| decoded.check_with(kind, odd);
    let odd = odd_types(app, decoded);
    let outcome = check(odd);
    // Counted when taking the member as absent passes a file the reference refuses for it (or
    // refuses it for something else); when the reference passes it, no member read was odd.
    if odd == OddTypes::AsAbsent && code_of(&outcome) != code_of(&check(OddTypes::Refuse)) {
        note.took_effect(app, Variant::OddOptionalAbsent);
    }
    outcome
}

/// Whether the server without odd-signature-mismatch would also answer `signature_mismatch` to a
/// file with an odd schema-2 inner signature: judged as far as its field check and its payload
/// signatures (the inner one then absent); later steps, which never answer that, are not looked at.
fn mismatch_anyway(app: &App, decoded: &DecodedRequest, kind: RequestKind) -> bool {
    match odd_members_read_without_mismatch(app, decoded, kind) {
        Err(r) => r.code == ErrorCode::SignatureMismatch,
        Ok(checked) => match app.api_keys.get(checked.identity.value()) {
            Some(shared_key) => {
                checked.verify_inner(shared_key).is_err()
                    || verify_outer(app, decoded, &checked, shared_key, Note::Nothing).is_err()
            }
            None => app.variants.has(Variant::UnknownPayloadKeyMismatch),
        },
    }
}

/// The field check of the server without odd-signature-mismatch (with odd-optional-absent if on).
fn odd_members_read_without_mismatch<'a>(
    app: &App,
    decoded: &'a DecodedRequest,
    kind: RequestKind,
) -> Result<CheckedRequest<'a>, Rejection> {
    decoded.check_with(kind, odd_types(app, decoded))
}

/// SPEC §10 row 2: a member of another type taken as absent (odd-optional-absent). A string with
/// an unpaired surrogate escape is noted as "another type" too, but SPEC §10 row 4 wants it refused.
fn odd_types(app: &App, decoded: &DecodedRequest) -> OddTypes {
    if app.variants.has(Variant::OddOptionalAbsent) && without_lone_surrogates(&decoded.json).is_none() {
        OddTypes::AsAbsent
    } else {
        OddTypes::Refuse
    }
}

/// The signatures-before-kind variant (SPEC §1a: another order is allowed): the file as if its
/// `request` member named this endpoint, so that its fields and signatures are checked first.
/// Neither signature changes: the inner one does not cover `request`, and the outer MAC covers the
/// raw bytes, which are kept.
fn as_if_for(decoded: &DecodedRequest, kind: RequestKind) -> DecodedRequest {
    let mut as_if = decoded.clone();
    as_if.payload.request = Some(kind.as_str().to_owned());
    as_if.payload.odd.retain(|m| m.name != "request");
    as_if
}

/// SPEC §4 [pinned, safety]: the `request` member, checked after the signatures
/// (signatures-before-kind).
fn check_kind(app: &App, decoded: &DecodedRequest, kind: RequestKind) -> Result<(), Rejection> {
    // The accept-any-request-kind fault never reads the member.
    if app.faults.has(Fault::AcceptAnyRequestKind) {
        return Ok(());
    }
    decoded.check_kind(kind)
}

/// SPEC §4: the inner signature and the outer MAC, with the shared key of the payload's API key
/// (unknown → `invalid_api_key` [pinned]). Returns that shared key.
async fn verify_signatures(
    app: &Arc<App>,
    decoded: &DecodedRequest,
    checked: &CheckedRequest<'_>,
    headers: &HeaderMap,
) -> Result<String, Rejection> {
    let has = |fault| app.faults.has(fault);
    // The inner-signature-required fault: a schema-2 file without the member is refused.
    if has(Fault::InnerSignatureRequired)
        && decoded.schema == Schema::V2
        && decoded.payload.signature.is_none()
        && !decoded.payload.odd.iter().any(|m| m.name == "signature")
    {
        return Err(Rejection::new(ErrorCode::AuthorizationMissingParams, "signature"));
    }
    // The leak-license-existence fault: SPEC §5.1 (the product, then the license) before the
    // signatures.
    if app.faults.has(Fault::LeakLicenseExistence) {
        let r = StoreRequest::new(decoded, checked, String::new(), app.clock.now());
        blocking(app, move |app| {
            app.store.transaction(|tx| find_license(app, tx, &r).map(drop))
        })
        .await?;
    }
    // The payload-key-from-header fault: the Authorization header's key verifies the payload.
    let header_key = headers
        .get(header::AUTHORIZATION)
        .and_then(|a| a.to_str().ok())
        .and_then(|a| AuthorizationHeader::parse(a).ok())
        .filter(|_| has(Fault::PayloadKeyFromHeader))
        .map(|h| h.api_key);
    let shared_key = app
        .api_keys
        .get(header_key.as_deref().unwrap_or(checked.identity.value()))
        .ok_or_else(|| unknown_payload_key(app))?;
    if has(Fault::TrimBeforeSigning) {
        // The trim-before-signing fault: the signing string of the trimmed values.
        let right = decoded.payload.signature.as_deref().is_none_or(|given| {
            verify_inner_signature(
                shared_key,
                checked.date.trim(),
                checked.licensee.signing_value().trim(),
                checked.hardware_id.trim(),
                checked.identity.value().trim(),
                given,
            )
        });
        if !right {
            return Err(Rejection::new(ErrorCode::SignatureMismatch, "payload signature"));
        }
    } else if !has(Fault::SkipInnerSignature) {
        checked.verify_inner(shared_key)?;
    }
    // The outer-mac-base64-only fault: a hex MAC is not read.
    if has(Fault::OuterMacBase64Only) && decoded.outer_mac_encoding() == Some(MacEncoding::Hex) {
        return Err(Rejection::new(
            ErrorCode::SignatureMismatch,
            "the outer MAC is not Base64",
        ));
    }
    // The outer-mac-prefix-compared fault: the MAC compared over the length written.
    let prefix_passes = has(Fault::OuterMacPrefixCompared)
        && decoded
            .request_bytes()
            .zip(decoded.outer_signature.as_deref())
            .is_some_and(|(bytes, given)| {
                !given.is_empty()
                    && [MacEncoding::Base64, MacEncoding::Hex]
                        .into_iter()
                        .any(|e| outer_signature(shared_key, bytes, e).starts_with(given))
            });
    if !prefix_passes && !has(Fault::SkipOuterSignature) {
        verify_outer(app, decoded, checked, shared_key, Note::Effects)?;
    } else if has(Fault::SkipOuterSignature)
        && decoded
            .outer_signature
            .as_deref()
            .is_some_and(|mac| MacEncoding::decode(mac).is_none())
    {
        // The skip-outer-signature fault looks at the MAC's form only, never at its value.
        return Err(Rejection::new(
            ErrorCode::SignatureMismatch,
            "the outer MAC is not one",
        ));
    }
    Ok(shared_key.clone())
}

/// SPEC §4 [pinned]: a payload `api_key` the server does not know is `invalid_api_key`; the
/// unknown-payload-key-mismatch variant answers `signature_mismatch`, as a server that verifies
/// with no key would.
fn unknown_payload_key(app: &App) -> Rejection {
    let code = if app.variants.has(Variant::UnknownPayloadKeyMismatch) {
        // Counted on every such refusal (it is the answer: the pipeline stops here).
        app.variants.took_effect(Variant::UnknownPayloadKeyMismatch);
        ErrorCode::SignatureMismatch
    } else {
        ErrorCode::InvalidApiKey
    };
    Rejection::new(code, "the payload's api_key")
}

/// SPEC §4: the schema-2 outer MAC; SPEC §10 row 8: hex compared case-insensitively
/// (uppercase-hex-mac).
fn verify_outer(
    app: &App,
    decoded: &DecodedRequest,
    checked: &CheckedRequest<'_>,
    shared_key: &str,
    note: Note,
) -> Result<(), Rejection> {
    // The outer-mac-over-python-json fault: the MAC over the request member re-serialised.
    if app.faults.has(Fault::OuterMacOverPythonJson) {
        let python = decoded
            .request_bytes()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(bytes).ok())
            .and_then(|value| python_json(&value));
        if let (Some(python), Some(mac)) = (python, decoded.outer_signature.as_deref()) {
            return if verify_outer_signature(shared_key, &python, mac) {
                Ok(())
            } else {
                Err(Rejection::new(ErrorCode::SignatureMismatch, "the outer MAC"))
            };
        }
    }
    checked.verify_outer(shared_key).or_else(|r| {
        let hex = decoded
            .outer_signature
            .as_deref()
            .filter(|mac| mac.len() == 64 && mac.bytes().all(|b| b.is_ascii_hexdigit()));
        let right_in_any_case = app.variants.has(Variant::UppercaseHexMac)
            && hex.zip(decoded.request_bytes()).is_some_and(|(mac, bytes)| {
                verify_outer_signature(shared_key, bytes, &mac.to_ascii_lowercase())
            });
        if right_in_any_case {
            // Counted when the MAC passes only compared case-insensitively.
            note.took_effect(app, Variant::UppercaseHexMac);
            Ok(())
        } else {
            Err(r)
        }
    })
}

/// A JSON value as Python's `json.dumps` writes it by default: `", "` and `": "`, every non-ASCII
/// character escaped as `\uXXXX` (outer-mac-over-python-json).
fn python_json(value: &serde_json::Value) -> Option<Vec<u8>> {
    struct Python;
    impl serde_json::ser::Formatter for Python {
        fn begin_array_value<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> std::io::Result<()> {
            if first {
                Ok(())
            } else {
                w.write_all(b", ")
            }
        }
        fn begin_object_key<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> std::io::Result<()> {
            if first {
                Ok(())
            } else {
                w.write_all(b", ")
            }
        }
        fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
            w.write_all(b": ")
        }
        fn write_string_fragment<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
            fragment: &str,
        ) -> std::io::Result<()> {
            for c in fragment.chars() {
                if c.is_ascii() {
                    w.write_all(&[c as u8])?;
                } else {
                    for unit in c.encode_utf16(&mut [0; 2]) {
                        write!(w, "\\u{unit:04x}")?;
                    }
                }
            }
            Ok(())
        }
    }
    let mut out = Vec::new();
    serde::Serialize::serialize(
        value,
        &mut serde_json::Serializer::with_formatter(&mut out, Python),
    )
    .ok()?;
    Some(out)
}

/// What the store needs of a checked request (owned, for the blocking thread).
struct StoreRequest {
    product: String,
    licensee: String,
    by_username: bool,
    hardware_id: String,
    /// The password sent with a username (read only by the password-checked fault).
    password: Option<String>,
    request_id: Option<String>,
    payload_sha256: [u8; 32],
    api_key: String,
    shared_key: String,
    now: SystemTime,
}

impl StoreRequest {
    fn new(
        decoded: &DecodedRequest,
        checked: &CheckedRequest<'_>,
        shared_key: String,
        now: SystemTime,
    ) -> Self {
        StoreRequest {
            product: checked.product.to_owned(),
            licensee: checked.licensee.signing_value().to_owned(),
            by_username: matches!(checked.licensee, Licensee::User { .. }),
            hardware_id: checked.hardware_id.to_owned(),
            password: match checked.licensee {
                Licensee::User { password, .. } => password.map(str::to_owned),
                Licensee::LicenseKey(_) => None,
            },
            request_id: checked.request_id.map(str::to_owned),
            payload_sha256: Sha256::digest(&decoded.json).into(),
            api_key: checked.identity.value().to_owned(),
            shared_key,
            now,
        }
    }
}

impl From<super::StoreError> for Rejection {
    fn from(e: super::StoreError) -> Self {
        tracing::error!("{e}");
        Rejection::from(ErrorCode::InternalServerError)
    }
}

/// Runs storage work on the blocking pool.
async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> Result<T, Rejection> + Send + 'static,
) -> Result<T, Rejection> {
    let app = Arc::clone(app);
    tokio::task::spawn_blocking(move || f(&app)).await.map_err(|e| {
        tracing::error!("a storage task failed: {e}");
        Rejection::from(ErrorCode::InternalServerError)
    })?
}

/// What the rules decided about an activation.
enum Decision {
    /// SPEC §5.5: the same request id and payload again: the stored answer.
    Replay(Vec<u8>),
    /// SPEC §5.5: the same request id, its answer still being signed: ask again shortly.
    Pending,
    /// Activated (or already active on this device): sign an answer with this state.
    Activate {
        license: Box<LicenseRow>,
        product_name: String,
        times_activated: u64,
        new_seat: bool,
    },
}

/// SPEC §5.5 [pinned, safety], checked first among the business rules so that a replay gets the
/// answer it got before even if the license changed since: a request id seen with another
/// payload is `request_id_conflict`.
fn replayed(
    app: &App,
    tx: &rusqlite::Transaction<'_>,
    r: &StoreRequest,
) -> Result<Option<Decision>, Rejection> {
    let Some(request_id) = r.request_id.as_deref() else {
        return Ok(None);
    };
    match store::handled_request(tx, request_id, &r.payload_sha256)? {
        HandledRequest::New => Ok(None),
        // The ignore-request-id-conflict fault: another payload under a known id is new.
        HandledRequest::OtherPayload if app.faults.has(Fault::IgnoreRequestIdConflict) => Ok(None),
        HandledRequest::OtherPayload => Err(Rejection::new(ErrorCode::RequestIdConflict, request_id)),
        // The forget-answers fault: the same payload again is handled again.
        HandledRequest::Pending | HandledRequest::Answered(_) if app.faults.has(Fault::ForgetAnswers) => {
            Ok(None)
        }
        HandledRequest::Pending => Ok(Some(Decision::Pending)),
        HandledRequest::Answered(answer) => Ok(Some(Decision::Replay(answer))),
    }
}

/// SPEC §5.1: the product, then the license of that product.
fn find_license(
    app: &App,
    tx: &rusqlite::Transaction<'_>,
    r: &StoreRequest,
) -> Result<(String, LicenseRow), Rejection> {
    let not_found = || Rejection::from(ErrorCode::LicenseNotFound);
    // The unknown-product-not-found fault: one lookup, by product and key, finds nothing.
    let product_name = store::product_name(tx, &r.product)?.ok_or_else(|| {
        if app.faults.has(Fault::UnknownProductNotFound) {
            not_found()
        } else {
            Rejection::new(ErrorCode::UnknownProduct, &r.product)
        }
    })?;
    // The license-of-any-product fault: the license is looked up by its key alone.
    let license = if app.faults.has(Fault::LicenseOfAnyProduct) {
        store::license_of_any_product(tx, &r.licensee, r.by_username)?
    } else {
        store::license(tx, &r.product, &r.licensee, r.by_username)?
    };
    // The unknown-license-as-unknown-product fault: one join of product and license finds nothing.
    let license = license.ok_or_else(|| {
        if app.faults.has(Fault::UnknownLicenseAsUnknownProduct) {
            Rejection::new(ErrorCode::UnknownProduct, &r.product)
        } else {
            not_found()
        }
    })?;
    // The password-checked fault: the password compared with the stored one.
    if app.faults.has(Fault::PasswordChecked)
        && r.by_username
        && r.password.is_some()
        && license.password != r.password
    {
        return Err(not_found());
    }
    Ok((product_name, license))
}

/// SPEC §5.1–§5.5 for an activation, in one write transaction.
fn decide_activation(
    app: &App,
    tx: &rusqlite::Transaction<'_>,
    r: &StoreRequest,
) -> Result<Decision, Rejection> {
    let rules_first = app.faults.has(Fault::RequestIdAfterRules);
    if !rules_first {
        if let Some(decision) = replayed(app, tx, r)? {
            return Ok(decision);
        }
    }
    let (product_name, license) = find_license(app, tx, r)?;
    // SPEC §5.2–§5.4, decided by `protocol::activation_rules`; the faults bend its inputs.
    let has = |fault| app.faults.has(fault);
    let already = store::is_activated(tx, license.id, &r.hardware_id)?;
    let mut times_activated = license.seats_taken;
    let state = LicenseState {
        enabled: license.enabled || has(Fault::IgnoreDisabled),
        active: license.active || has(Fault::IgnoreInactive),
        is_trial: license.is_trial && !has(Fault::TrialExpiredAsExpired),
        license_type: if has(Fault::AnyLicenseTypeOffline) {
            "perpetual"
        } else if has(Fault::ConsumptionNotOffline) && license.license_type == "consumption" {
            "consumption (not offline)"
        } else {
            &license.license_type
        },
        valid_until: license
            .valid_until
            .filter(|_| license.is_trial || !has(Fault::IgnoreExpiry)),
        max_activations: license.max_activations + u64::from(app.faults.has(Fault::SeatsOffByOne)),
        times_activated,
        device_holds_seat: already && !app.faults.has(Fault::ReactivationTakesSeat),
    };
    crate::protocol::activation_rules(&state, r.now)?;
    // The reactivation-conflict-500 fault: the seat inserted again, its unique key violated.
    if already && has(Fault::ReactivationConflict500) {
        return Err(Rejection::new(
            ErrorCode::InternalServerError,
            "UNIQUE constraint failed: activations",
        ));
    }
    // The request-id-after-rules fault: the replay is looked for once the rules passed.
    if rules_first {
        if let Some(decision) = replayed(app, tx, r)? {
            return Ok(decision);
        }
    }
    // The times-activated-twice fault: the count plus one, whether a seat was taken or not.
    if already && has(Fault::TimesActivatedTwice) {
        times_activated += 1;
    }
    if !already {
        times_activated += 1;
        // The non-atomic-seats fault takes the seat in a second transaction (see `activate`).
        if !app.faults.has(Fault::NonAtomicSeats) {
            store::insert_activation(tx, license.id, &r.hardware_id, r.now)?;
        }
    }
    if let Some(request_id) = r.request_id.as_deref() {
        store::reserve_request(tx, request_id, &r.payload_sha256)?;
    }
    Ok(Decision::Activate {
        license: Box::new(license),
        product_name,
        times_activated,
        new_seat: !already,
    })
}

/// SPEC §5 for activate_offline, then SPEC §6: the signed answer, stored for replays.
async fn activate(app: &Arc<App>, r: StoreRequest) -> Result<Vec<u8>, Rejection> {
    let r = Arc::new(r);
    let deadline = Instant::now() + PENDING_WAIT;
    let decision = loop {
        let rr = Arc::clone(&r);
        let decision = blocking(app, move |app| {
            app.store.transaction(|tx| decide_activation(app, tx, &rr))
        })
        .await?;
        match decision {
            Decision::Pending if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            Decision::Pending => {
                return Err(Rejection::new(
                    ErrorCode::InternalServerError,
                    "a replayed request is still pending",
                ))
            }
            other => break other,
        }
    };
    let (license, product_name, times_activated, new_seat) = match decision {
        Decision::Replay(answer) => return Ok(answer),
        Decision::Pending => unreachable!("the loop waits out pending requests"),
        Decision::Activate {
            license,
            product_name,
            times_activated,
            new_seat,
        } => (license, product_name, times_activated, new_seat),
    };
    if new_seat && app.faults.has(Fault::NonAtomicSeats) {
        // The window between counting and taking a seat that atomic transactions close.
        tokio::time::sleep(Duration::from_millis(2)).await;
        let rr = Arc::clone(&r);
        let id = license.id;
        blocking(app, move |app| {
            app.store.transaction(|tx| {
                if !store::is_activated(tx, id, &rr.hardware_id)? {
                    store::insert_activation(tx, id, &rr.hardware_id, rr.now)?;
                }
                Ok::<_, Rejection>(())
            })
        })
        .await?;
    }
    let answer = ActivationAnswer {
        licensee: if r.by_username {
            AnswerLicensee::Username(r.licensee.clone())
        } else {
            AnswerLicensee::LicenseKey(r.licensee.clone())
        },
        hardware_id: r.hardware_id.clone(),
        product_details: ProductDetails {
            short_code: license.product.clone(),
            product_name,
            authorization_method: if r.by_username { "user" } else { "license-key" }.to_owned(),
        },
        license_type: license.license_type.clone(),
        is_trial: license.is_trial && !app.faults.has(Fault::IsTrialAlwaysFalse),
        license_enabled: license.enabled,
        license_active: license.active,
        is_expired: is_expired(license.valid_until, r.now),
        validity_period: license.valid_until.map(format_validity_period),
        max_activations: license.max_activations,
        times_activated,
        // A new seat taken after a deactivation counts a transfer (store::insert_activation).
        transfer_count: license.transfer_count + u64::from(new_seat && license.transfer_pending),
        request_id: if app.faults.has(Fault::DropRequestId) {
            None
        } else {
            r.request_id.clone()
        },
        date: format_http_date(r.now),
    };
    let rr = Arc::clone(&r);
    blocking(app, move |app| {
        let layout = answer_layout(app, &answer);
        let mut body = answer.sign_with(&rr.api_key, &rr.shared_key, &app.signing_key, layout);
        // Counted for each answer signed (a replay repeats one already counted): omit-request-id
        // when it has no request_id to echo (the member left out instead of null), no-transfer-count
        // always.
        if answer.request_id.is_none() && app.variants.has(Variant::OmitRequestId) {
            app.variants.took_effect(Variant::OmitRequestId);
        }
        if app.variants.has(Variant::NoTransferCount) {
            app.variants.took_effect(Variant::NoTransferCount);
        }
        if app.faults.has(Fault::ReorderSignedBody) {
            body = resign_reordered(app, &body);
        }
        body = bend_answer(app, &answer, &rr, body);
        if let Some(request_id) = rr.request_id.as_deref() {
            app.store
                .transaction(|tx| Ok::<_, Rejection>(store::store_answer(tx, request_id, &body)?))?;
        }
        Ok(body)
    })
    .await
}

/// SPEC §6 and §10 row 1: the answer's layout; the variants leave out a `null` `request_id`
/// (omit-request-id) or `transfer_count` (no-transfer-count), or lower-case `license_signature`'s
/// signing string as Unicode 14 does (older-unicode-lowercase, SPEC §10: counted where that
/// changes it).
fn answer_layout(app: &App, answer: &ActivationAnswer) -> AnswerLayout {
    let older = Variant::OlderUnicodeLowercase;
    let lowercasing = if app.variants.has(older) {
        let text = |l: Lowercasing| answer.license_signing_string(l);
        if text(Lowercasing::Unicode14) != text(Lowercasing::Current) {
            app.variants.took_effect(older);
        }
        Lowercasing::Unicode14
    } else {
        Lowercasing::Current
    };
    AnswerLayout {
        null_request_id: !app.variants.has(Variant::OmitRequestId),
        transfer_count: !app.variants.has(Variant::NoTransferCount),
        lowercasing,
    }
}

/// The faults of the signed answer (SPEC §6) other than reorder-signed-body: each changes one
/// member and signs the answer again, so that only that member is wrong.
fn bend_answer(app: &App, answer: &ActivationAnswer, r: &StoreRequest, body: Vec<u8>) -> Vec<u8> {
    use base64::Engine as _;
    let has = |fault| app.faults.has(fault);
    let base64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let validity = answer.validity_period.as_deref().unwrap_or_default();
    let licensee = r.licensee.as_str();
    let mut body = body;
    if has(Fault::DropIsExpired) {
        body = resign(app, &body, |members| {
            members.shift_remove("is_expired");
        });
    }
    if has(Fault::OfflineSignatureTrailingNewline) {
        let signing = inner_signing_string(&answer.date, licensee, &answer.hardware_id, &r.api_key) + "\n";
        let offline = base64(&hmac_sha256(&r.shared_key, signing.as_bytes()));
        body = resign(app, &body, |members| {
            members.insert("offline_signature".into(), offline.into());
        });
    }
    if has(Fault::LicenseSignatureNotLowercased) {
        // `license_signature_v2` does not cover it: only the member changes.
        let id = licensee.split('|').next().unwrap_or_default();
        let signing = format!("{}#{id}#{validity}", answer.hardware_id);
        let signature = base64(&app.signing_key.sign(signing.as_bytes()));
        if let Ok(mut members) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&body) {
            members.insert("license_signature".into(), signature.into());
            body = serde_json::to_vec(&members).unwrap_or(body);
        }
    }
    body
}

/// The answer with its members edited and `license_signature_v2` made again over them (in their
/// order, compact), `license_signature` kept; the two signatures last, as `sign_with` writes them.
fn resign(
    app: &App,
    body: &[u8],
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> Vec<u8> {
    use base64::Engine as _;
    let Ok(mut members) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body) else {
        return body.to_vec();
    };
    members.shift_remove("license_signature_v2");
    let license_signature = members.shift_remove("license_signature");
    edit(&mut members);
    let signed = serde_json::to_vec(&members).unwrap_or_default();
    let v2 = base64::engine::general_purpose::STANDARD.encode(app.signing_key.sign(&signed));
    if let Some(s) = license_signature {
        members.insert("license_signature".into(), s);
    }
    members.insert("license_signature_v2".into(), v2.into());
    serde_json::to_vec(&members).unwrap_or_else(|_| body.to_vec())
}

/// The reorder-signed-body fault: `license_signature_v2` over the members sorted by name.
fn resign_reordered(app: &App, body: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let Ok(mut map) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body) else {
        return body.to_vec();
    };
    map.shift_remove("license_signature_v2");
    let signature = map.shift_remove("license_signature");
    map.sort_keys();
    let v2 = base64::engine::general_purpose::STANDARD.encode(
        app.signing_key
            .sign(&serde_json::to_vec(&map).unwrap_or_default()),
    );
    let mut out: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).unwrap_or_default();
    out.insert("license_signature_v2".into(), v2.into());
    if let Some(s) = signature {
        out.insert("license_signature".into(), s);
    }
    serde_json::to_vec(&out).unwrap_or_else(|_| body.to_vec())
}

/// SPEC §1 (deactivate_offline) and §5: free the device's seat; no seat → `device_not_found`.
async fn deactivate(app: &Arc<App>, r: StoreRequest) -> Result<(), Rejection> {
    blocking(app, move |app| {
        app.store.transaction(|tx| {
            match replayed(app, tx, &r)? {
                Some(Decision::Replay(_)) => return Ok(()),
                Some(_) => {
                    return Err(Rejection::new(
                        ErrorCode::InternalServerError,
                        "pending deactivation",
                    ))
                }
                None => {}
            }
            let (_, license) = find_license(app, tx, &r)?;
            // The deactivation-keeps-seat fault answers as if it freed the seat, and keeps it.
            let freed = if app.faults.has(Fault::DeactivationKeepsSeat) {
                store::is_activated(tx, license.id, &r.hardware_id)?
            } else {
                store::delete_activation(tx, license.id, &r.hardware_id)?
            };
            // The deactivation-frees-every-license fault: nothing to free here, so the device's
            // seats are looked for without the license (a DELETE that forgot a condition).
            let freed = freed
                || (app.faults.has(Fault::DeactivationFreesEveryLicense)
                    && store::delete_activations_of_device(tx, &r.hardware_id)?);
            // The deactivate-unknown-device fault: nothing to free is no error.
            if !freed && !app.faults.has(Fault::DeactivateUnknownDevice) {
                return Err(ErrorCode::DeviceNotFound.into());
            }
            if let Some(request_id) = r.request_id.as_deref() {
                store::reserve_request(tx, request_id, &r.payload_sha256)?;
                store::store_answer(tx, request_id, DEACTIVATED.as_bytes())?;
            }
            Ok(())
        })
    })
    .await
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The member the error-extra-members variant adds to every error body.
const EXTRA_ERROR_MEMBER: &str = r#""documentation_url":"https://example.invalid/errors""#;

/// SPEC §7: `{"status": <the HTTP status>, "code": …, "message": …}`.
fn error_response(app: &App, refusal: &Refusal) -> Response {
    let rejection = &refusal.rejection;
    let mut body = rejection.error_body();
    if let Some((status, code)) = refusal.answered_as {
        body.status = status;
        body.code = code.to_owned();
    }
    // SPEC §2, §10 row 7: the docs also say 400 for a signature mismatch (signature-mismatch-400).
    if rejection.code == ErrorCode::SignatureMismatch
        && app.variants.has(Variant::SignatureMismatch400)
        && body.status != 400
    {
        app.variants.took_effect(Variant::SignatureMismatch400);
        body.status = 400;
    }
    // SPEC §5 [pinned]: device_not_found's status is the reference's choice (device-not-found-404).
    if rejection.code == ErrorCode::DeviceNotFound
        && app.variants.has(Variant::DeviceNotFound404)
        && body.status != 404
    {
        app.variants.took_effect(Variant::DeviceNotFound404);
        body.status = 404;
    }
    let status = StatusCode::from_u16(body.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // The error-status-always-400 fault: the member is written as a constant.
    if app.faults.has(Fault::ErrorStatusMismatch) {
        body.status = 400;
    }
    let mut json = body.to_json();
    // SPEC §7: more members than the three are allowed, a warning (error-extra-members).
    if app.variants.has(Variant::ErrorExtraMembers) {
        // Counted on every error answer.
        app.variants.took_effect(Variant::ErrorExtraMembers);
        json.pop(); // the closing brace
        json.push(',');
        json.push_str(EXTRA_ERROR_MEMBER);
        json.push('}');
    }
    let mut response = json_response(status, json.into_bytes());
    // The error-text-plain fault: the same body, said to be text.
    if app.faults.has(Fault::ErrorTextPlain) {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    if rejection.code == ErrorCode::MethodNotAllowed {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}
