//! One request through the reference server: the checks of SPEC §1a, in its order, each step
//! citing the section it implements. The first failing step decides the answer.

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
use super::App;
use crate::protocol::{
    authenticate, decode_request_file, format_http_date, format_validity_period, is_expired, parse_http_date,
    request_file_text, ActivationAnswer, AnswerLicensee, CheckedRequest, DecodedRequest, ErrorCode,
    LicenseState, Licensee, ProductDetails, Rejection, RequestKind, Transport,
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

enum Success {
    /// An activation answer (JSON), new or replayed.
    Activated(Vec<u8>),
    /// `license_deactivated`.
    Deactivated,
}

async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut exchange = Exchange::default();
    let outcome = pipeline(&app, request, &mut exchange).await;
    let (response, code) = match outcome {
        Ok(Success::Activated(body)) => (json_response(StatusCode::OK, body), "ok"),
        Ok(Success::Deactivated) => {
            let mut r = (StatusCode::OK, DEACTIVATED).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            (r, "ok")
        }
        Err(rejection) => (error_response(&app, &rejection), rejection.code.code()),
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
async fn pipeline(app: &Arc<App>, request: Request, exchange: &mut Exchange) -> Result<Success, Rejection> {
    // SPEC §1: route and method.
    let kind = route(request.method(), request.uri().path())?;
    let (parts, body) = request.into_parts();
    // SPEC §3: the body cap, enforced while the body streams in, before anything is decoded.
    let body = read_capped_body(app, &parts.headers, body).await?;
    // SPEC §1a, §2: both headers present, the Authorization header, the Date, the API key, the MAC.
    let now = (app.clock)();
    check_headers(app, &parts.headers, now)?;
    // SPEC §3: a body, and the request file's text in it (raw, or the multipart `file` part).
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let (transport, text) = request_file_text(content_type, &body)?;
    // SPEC §3: the text is Base64.
    let json = decode_base64(app, &text)?;
    // SPEC §3, §4: of one strict JSON object, schema 1 or 2.
    let decoded = decode_json(app, transport, json)?;
    exchange.request_id = decoded.payload.request_id.clone();
    // SPEC §4: the required fields, and the `request` member for this endpoint.
    let checked = check_fields(app, &decoded, kind)?;
    // SPEC §4: the payload signatures, with the shared key of the payload's API key.
    let shared_key = verify_signatures(app, &checked).await?;
    // SPEC §5: the business rules; SPEC §6: the answer.
    let request = StoreRequest::new(&decoded, &checked, shared_key, now);
    match kind {
        RequestKind::Activation => activate(app, request).await.map(Success::Activated),
        RequestKind::Deactivation => deactivate(app, request).await.map(|()| Success::Deactivated),
    }
}

/// SPEC §1: the two endpoints, POST only; any other path is `not_found`, another method on them
/// `method_not_allowed`.
fn route(method: &Method, path: &str) -> Result<RequestKind, Rejection> {
    let kind = [RequestKind::Activation, RequestKind::Deactivation]
        .into_iter()
        .find(|k| k.path() == path)
        .ok_or_else(|| Rejection::new(ErrorCode::NotFound, path))?;
    if method != Method::POST {
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

/// SPEC §1a and §2, through `protocol::authenticate`; the named faults bend single outcomes.
fn check_headers(app: &App, headers: &HeaderMap, now: SystemTime) -> Result<(), Rejection> {
    let authorization = headers.get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
    let date = headers.get(header::DATE).map(HeaderValue::as_bytes);
    let keys = |api_key: &str| app.api_keys.get(api_key).cloned();
    match authenticate(authorization, date, now, keys) {
        Ok(_) => Ok(()),
        Err(r)
            if r.code == ErrorCode::MissingHeaders && app.faults.has(Fault::WrongCodeForMissingHeaders) =>
        {
            Err(Rejection::new(ErrorCode::MissingParameters, r.detail))
        }
        Err(r) if r.code == ErrorCode::DateHeaderDiff && app.faults.has(Fault::AcceptStaleDate) => {
            // Judge the rest as if the server clock agreed with the Date header.
            let sent = date
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(parse_http_date)
                .ok_or(r)?;
            authenticate(authorization, date, sent, keys).map(drop)
        }
        Err(r) if r.code == ErrorCode::SignatureMismatch && app.faults.has(Fault::SkipHeaderSignature) => {
            Ok(())
        }
        Err(r) => Err(r),
    }
}

/// SPEC §3: Base64 (the url-safe fault reads the URL-safe alphabet too).
fn decode_base64(app: &App, text: &[u8]) -> Result<Vec<u8>, Rejection> {
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

/// SPEC §3 and §4: one strict JSON object.
fn decode_json(app: &App, transport: Transport, json: Vec<u8>) -> Result<DecodedRequest, Rejection> {
    if app.faults.has(Fault::DuplicateKeysLastWins) {
        return DecodedRequest::from_json_last_key_wins(transport, json);
    }
    DecodedRequest::from_json(transport, json)
}

/// SPEC §4: required fields; `request` must name this endpoint [pinned, safety].
fn check_fields<'a>(
    app: &App,
    decoded: &'a DecodedRequest,
    kind: RequestKind,
) -> Result<CheckedRequest<'a>, Rejection> {
    match decoded.check(kind) {
        Err(r) if r.code == ErrorCode::ValidationError && app.faults.has(Fault::AcceptAnyRequestKind) => {
            let other = match kind {
                RequestKind::Activation => RequestKind::Deactivation,
                RequestKind::Deactivation => RequestKind::Activation,
            };
            decoded.check(other)
        }
        checked => checked,
    }
}

/// SPEC §4: the inner signature and the outer MAC, with the shared key of the payload's API key
/// (unknown → `invalid_api_key` [pinned]). Returns that shared key.
async fn verify_signatures(app: &Arc<App>, checked: &CheckedRequest<'_>) -> Result<String, Rejection> {
    if app.faults.has(Fault::LeakLicenseExistence) {
        let (product, licensee) = (
            checked.product.to_owned(),
            checked.licensee.signing_value().to_owned(),
        );
        let by_username = matches!(checked.licensee, Licensee::User { .. });
        let known = blocking(app, move |app| {
            app.store
                .transaction(|tx| Ok::<_, Rejection>(store::license(tx, &product, &licensee, by_username)?))
        })
        .await?;
        if known.is_none() {
            return Err(Rejection::from(ErrorCode::LicenseNotFound));
        }
    }
    let shared_key = app
        .api_keys
        .get(checked.identity.value())
        .ok_or_else(|| Rejection::new(ErrorCode::InvalidApiKey, "the payload's api_key"))?;
    if !app.faults.has(Fault::SkipInnerSignature) {
        checked.verify_inner(shared_key)?;
    }
    if !app.faults.has(Fault::SkipOuterSignature) {
        checked.verify_outer(shared_key)?;
    }
    Ok(shared_key.clone())
}

/// What the store needs of a checked request (owned, for the blocking thread).
struct StoreRequest {
    product: String,
    licensee: String,
    by_username: bool,
    hardware_id: String,
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
    if app.faults.has(Fault::ForgetIdempotence) {
        return Ok(None);
    }
    match store::handled_request(tx, request_id, &r.payload_sha256)? {
        HandledRequest::New => Ok(None),
        HandledRequest::OtherPayload => Err(Rejection::new(ErrorCode::RequestIdConflict, request_id)),
        HandledRequest::Pending => Ok(Some(Decision::Pending)),
        HandledRequest::Answered(answer) => Ok(Some(Decision::Replay(answer))),
    }
}

/// SPEC §5.1: the product, then the license of that product.
fn find_license(tx: &rusqlite::Transaction<'_>, r: &StoreRequest) -> Result<(String, LicenseRow), Rejection> {
    let product_name = store::product_name(tx, &r.product)?
        .ok_or_else(|| Rejection::new(ErrorCode::UnknownProduct, &r.product))?;
    let license = store::license(tx, &r.product, &r.licensee, r.by_username)?
        .ok_or_else(|| Rejection::from(ErrorCode::LicenseNotFound))?;
    Ok((product_name, license))
}

/// SPEC §5.1–§5.5 for an activation, in one write transaction.
fn decide_activation(
    app: &App,
    tx: &rusqlite::Transaction<'_>,
    r: &StoreRequest,
) -> Result<Decision, Rejection> {
    if let Some(decision) = replayed(app, tx, r)? {
        return Ok(decision);
    }
    let (product_name, license) = find_license(tx, r)?;
    // SPEC §5.2–§5.4, decided by `protocol::activation_rules`; two faults bend its inputs.
    let already = store::is_activated(tx, license.id, &r.hardware_id)?;
    let mut times_activated = license.seats_taken;
    let state = LicenseState {
        enabled: license.enabled,
        active: license.active,
        is_trial: license.is_trial,
        license_type: &license.license_type,
        valid_until: license.valid_until,
        max_activations: license.max_activations + u64::from(app.faults.has(Fault::SeatsOffByOne)),
        times_activated,
        device_holds_seat: already && !app.faults.has(Fault::ReactivationTakesSeat),
    };
    crate::protocol::activation_rules(&state, r.now)?;
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
        is_trial: license.is_trial,
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
        let mut body = answer.sign(&rr.api_key, &rr.shared_key, &app.signing_key);
        if app.faults.has(Fault::ReorderSignedBody) {
            body = resign_reordered(app, &body);
        }
        if let Some(request_id) = rr.request_id.as_deref() {
            app.store
                .transaction(|tx| Ok::<_, Rejection>(store::store_answer(tx, request_id, &body)?))?;
        }
        Ok(body)
    })
    .await
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
            let (_, license) = find_license(tx, &r)?;
            if !store::delete_activation(tx, license.id, &r.hardware_id)? {
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

/// SPEC §7: `{"status": <the HTTP status>, "code": …, "message": …}`.
fn error_response(app: &App, rejection: &Rejection) -> Response {
    let mut body = rejection.error_body();
    let status = StatusCode::from_u16(body.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if app.faults.has(Fault::ErrorStatusMismatch) {
        body.status = if body.status == 400 { 422 } else { 400 };
    }
    let mut response = json_response(status, body.to_json().into_bytes());
    if rejection.code == ErrorCode::MethodNotAllowed {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}
