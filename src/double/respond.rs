//! The double as a wiremock mock: a [`Match`] that takes every request (so that unknown paths get
//! the protocol's `not_found` body, not wiremock's empty 404) and a [`Respond`] that answers in the
//! reference server's order (`server/pipeline.rs`), calling `protocol` for every check.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll};
use std::time::SystemTime;

use base64::Engine as _;
use wiremock::http::Method;
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

use super::admin;
use super::expect::{Expectation, Requests, Times};
use super::fault::{Fault, FaultKind, NOT_JSON_BODY};
use super::journal::{Journal, JournalEntry};
use super::model::{Accepted, License, Model};
use crate::protocol::{
    authenticate, decode_request, AuthorizationHeader, DecodedRequest, ErrorCode, Rejection, RequestKind,
    Schema, SigningKey, Style, Verdict,
};

/// The body a successful deactivation answers (SPEC §1).
const DEACTIVATED: &str = "license_deactivated";

/// Called with every journal entry as it is made.
pub(crate) type LogFn = Box<dyn Fn(&JournalEntry) + Send + Sync>;

/// What the double's mock and its handle share.
pub(crate) struct Shared {
    pub(crate) api_keys: HashMap<String, String>,
    pub(crate) signing_key: SigningKey,
    pub(crate) max_body: usize,
    pub(crate) recycle_every: u64,
    pub(crate) log: Option<LogFn>,
    /// Whether the admin API answers under its prefix (`admin.rs`).
    pub(crate) admin: bool,
    /// The products and licenses configured, for the model at the start and after a reset.
    pub(crate) configured_products: Vec<(String, String)>,
    pub(crate) configured_licenses: Vec<License>,
    /// The server the mock is mounted on, for remounting it (weak: the server owns the mock).
    pub(crate) server: OnceLock<Weak<MockServer>>,
    pub(crate) state: Mutex<State>,
}

/// What changes with each request.
pub(crate) struct State {
    pub(crate) model: Model,
    pub(crate) faults: Vec<Fault>,
    pub(crate) expectations: Vec<Expectation>,
    pub(crate) journal: Journal,
    pub(crate) received: u64,
    /// Requests matched since the mock was last (re)mounted: wiremock keeps a copy of each.
    since_mount: u64,
}

impl State {
    pub(crate) fn new(model: Model, journal: Journal) -> State {
        State {
            model,
            faults: Vec::new(),
            expectations: Vec::new(),
            journal,
            received: 0,
            since_mount: 0,
        }
    }

    pub(crate) fn add_expectation(&mut self, requests: Requests, times: Times) {
        self.expectations.push(Expectation::new(requests, times));
    }

    /// The first scripted fault that applies to this request, counted down.
    fn take_fault(&mut self, entry: &JournalEntry) -> Option<Fault> {
        let i = self
            .faults
            .iter()
            .position(|f| f.remaining > 0 && f.when.matches(entry))?;
        let fault = self.faults[i].clone();
        self.faults[i].remaining -= 1;
        if self.faults[i].remaining == 0 {
            self.faults.remove(i);
        }
        Some(fault)
    }

    /// The report of unmet expectations, with what was received; `None` when all are met.
    pub(crate) fn unmet_expectations(&self) -> Option<String> {
        use std::fmt::Write as _;
        let unmet: Vec<&Expectation> = self.expectations.iter().filter(|e| !e.is_met()).collect();
        if unmet.is_empty() {
            return None;
        }
        let mut report = format!(
            "activation double: {} of {} expectation(s) not met:\n",
            unmet.len(),
            self.expectations.len()
        );
        for e in unmet {
            let _ = writeln!(report, "- {e}");
        }
        let kept = self.journal.iter().count() as u64;
        if self.received == 0 {
            report.push_str("The double received no request.\n");
        } else if kept < self.received {
            let _ = writeln!(
                report,
                "Received {} request(s); the last {kept} (journal cap {}):",
                self.received,
                self.journal.cap()
            );
        } else {
            let _ = writeln!(report, "Received {} request(s):", self.received);
        }
        for entry in self.journal.iter() {
            let _ = writeln!(report, "  {entry}");
        }
        Some(report)
    }
}

/// Every request: the double answers unknown paths itself, like the reference server.
struct EveryRequest;

impl Match for EveryRequest {
    fn matches(&self, _: &Request) -> bool {
        true
    }
}

/// The double's answers.
struct Responder(Arc<Shared>);

/// The mock the double mounts (and remounts).
pub(crate) fn mock(shared: Arc<Shared>) -> Mock {
    Mock::given(EveryRequest)
        .respond_with(Responder(shared))
        .named("lsconform activation double")
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let shared = &self.0;
        let now = SystemTime::now();
        let mut state = shared.lock_state();
        let template = if shared.admin && admin::is_admin_path(request.url.path()) {
            // Not a request to the double: no journal entry, no count, no fault.
            admin::respond(shared, &mut state, request)
        } else {
            let (template, entry) = handle(shared, &mut state, request, now);
            for e in &mut state.expectations {
                e.count(&entry);
            }
            if let Some(log) = &shared.log {
                log(&entry);
            }
            state.journal.push(entry);
            state.received += 1;
            template
        };
        state.since_mount += 1;
        let remount = state.since_mount >= shared.recycle_every;
        if remount {
            state.since_mount = 0;
        }
        drop(state);
        if remount {
            remount_mock(shared);
        }
        template
    }
}

impl Shared {
    /// The licenses and seats as configured: no seat taken but the configured ones, no request
    /// id handled.
    pub(crate) fn configured_model(&self) -> Model {
        let mut model = Model::new(&self.configured_products);
        for license in &self.configured_licenses {
            model.add(license.clone());
        }
        model
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Frees wiremock's copies of the requests matched so far: `MockServer::reset` drops the mounted
/// mock with the copy of every request it matched (wiremock keeps them whether or not request
/// recording is on), and a fresh mock sharing the same state is mounted.
///
/// No request may fall between the two, or it would get wiremock's bare 404. Wiremock calls
/// `respond` while it holds its server lock (a fair, first-in first-out `tokio::sync::RwLock`),
/// so both calls are polled once here, before this request's answer releases the lock: each
/// queues for the lock, one right behind the other, and every request that arrives later queues
/// behind them. The rest of the work runs as a task on wiremock's own runtime.
fn remount_mock(shared: &Arc<Shared>) {
    let Some(server) = shared.server.get().and_then(Weak::upgrade) else {
        return;
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let fresh = mock(Arc::clone(shared));
    let mut swap = Box::pin(async move {
        let mut reset = pin!(server.reset());
        let mut register = pin!(server.register(fresh));
        let (mut reset_done, mut register_done) = (false, false);
        std::future::poll_fn(|cx| {
            // Always in this order, so the reset queues first.
            reset_done = reset_done || reset.as_mut().poll(cx).is_ready();
            register_done = register_done || register.as_mut().poll(cx).is_ready();
            if reset_done && register_done {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    });
    if swap
        .as_mut()
        .poll(&mut Context::from_waker(std::task::Waker::noop()))
        .is_pending()
    {
        runtime.spawn(swap);
    }
}

/// The endpoint a path names.
fn endpoint(path: &str) -> Option<RequestKind> {
    [RequestKind::Activation, RequestKind::Deactivation]
        .into_iter()
        .find(|k| k.path() == path)
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a [u8]> {
    request.headers.get(name).map(|v| v.as_bytes())
}

/// One request: the journal entry (what was sent, decoded) and the answer.
fn handle(
    shared: &Shared,
    state: &mut State,
    request: &Request,
    now: SystemTime,
) -> (ResponseTemplate, JournalEntry) {
    let path = request.url.path();
    let mut entry = JournalEntry::new(state.received, now, request.method.as_str(), path);
    entry.endpoint = endpoint(path);
    entry.content_type = header(request, "content-type").map(|v| String::from_utf8_lossy(v).into_owned());
    let content_type = request.headers.get("content-type").and_then(|v| v.to_str().ok());
    let is_endpoint_post = entry.endpoint.is_some() && request.method == Method::POST;
    let within_cap = request.body.len() <= shared.max_body;
    // What the client sent, decoded for the journal. All of it is pure, so doing it before the
    // checks below changes no answer; the answer still follows the reference server's order.
    let mut decoded = None;
    if is_endpoint_post {
        entry.header_signature = header_verdict(shared, request);
        if within_cap {
            decoded = Some(decode_request(content_type, &request.body));
        }
    }
    if let (Some(kind), Some(result)) = (entry.endpoint, &decoded) {
        describe(shared, &mut entry, kind, result);
    }
    let fault = if is_endpoint_post {
        state.take_fault(&entry)
    } else {
        None
    };
    let answer = match &fault {
        Some(f) if f.replaces_answer() => None,
        _ => Some(answer(shared, state, request, decoded.as_ref(), now)),
    };
    let template = respond_with(shared, answer, fault.as_ref(), &mut entry);
    entry.fault = fault;
    (template, entry)
}

/// The journal's view of a decoded request file: schema, style, payload, signature verdicts.
fn describe(
    shared: &Shared,
    entry: &mut JournalEntry,
    kind: RequestKind,
    decoded: &Result<DecodedRequest, Rejection>,
) {
    let decoded = match decoded {
        Ok(decoded) => decoded,
        Err(rejection) => {
            entry.decode_error = Some(rejection.clone());
            return;
        }
    };
    entry.transport = Some(decoded.transport);
    entry.schema = Some(decoded.schema);
    entry.style = Style::of(decoded);
    entry.payload = Some(decoded.payload.clone());
    let Ok(checked) = decoded.check(kind) else {
        return;
    };
    let Some(shared_key) = shared.api_keys.get(checked.identity.value()) else {
        return;
    };
    let verdict = |r: Result<(), Rejection>| if r.is_ok() { Verdict::Ok } else { Verdict::Mismatch };
    entry.inner_signature = if checked.has_inner_signature() {
        verdict(checked.verify_inner(shared_key))
    } else {
        Verdict::Absent
    };
    entry.outer_signature = match decoded.schema {
        Schema::V1 => Verdict::Absent,
        Schema::V2 => verdict(checked.verify_outer(shared_key)),
    };
}

/// The Authorization header's MAC alone, whatever the `Date` (for the journal).
fn header_verdict(shared: &Shared, request: &Request) -> Verdict {
    let Some(authorization) = header(request, "authorization") else {
        return Verdict::Absent;
    };
    let parsed = std::str::from_utf8(authorization)
        .ok()
        .and_then(|a| AuthorizationHeader::parse(a).ok());
    let date = header(request, "date").and_then(|d| std::str::from_utf8(d).ok());
    match (parsed, date) {
        (Some(parsed), Some(date)) => match shared.api_keys.get(&parsed.api_key) {
            Some(shared_key) if parsed.verify(shared_key, date).is_ok() => Verdict::Ok,
            Some(_) => Verdict::Mismatch,
            None => Verdict::NotChecked,
        },
        _ => Verdict::NotChecked,
    }
}

/// SPEC §1a: the order of the checks, as in `server/pipeline.rs`; the first failing one decides.
fn answer(
    shared: &Shared,
    state: &mut State,
    request: &Request,
    decoded: Option<&Result<DecodedRequest, Rejection>>,
    now: SystemTime,
) -> Result<Accepted, Rejection> {
    // SPEC §1: route and method.
    let path = request.url.path();
    let kind = endpoint(path).ok_or_else(|| Rejection::new(ErrorCode::NotFound, path))?;
    if request.method != Method::POST {
        return Err(Rejection::new(
            ErrorCode::MethodNotAllowed,
            request.method.as_str(),
        ));
    }
    // SPEC §3: the body cap (wiremock has read the body already; the answer is the same).
    let cap = shared.max_body;
    let declared = header(request, "content-length")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) || request.body.len() > cap {
        return Err(Rejection::new(
            ErrorCode::PayloadTooLarge,
            format!("the cap is {cap} bytes"),
        ));
    }
    // SPEC §1a, §2: both headers, the Authorization header, the Date, the API key, the MAC.
    authenticate(
        header(request, "authorization"),
        header(request, "date"),
        now,
        |api_key| shared.api_keys.get(api_key).cloned(),
    )?;
    // SPEC §3: a body, its transport, Base64, one strict JSON object (decoded above).
    let decoded = match decoded {
        Some(Ok(decoded)) => decoded,
        Some(Err(rejection)) => return Err(rejection.clone()),
        None => return Err(Rejection::from(ErrorCode::InternalServerError)),
    };
    // SPEC §4: the required fields, and the `request` member for this endpoint.
    let checked = decoded.check(kind)?;
    // SPEC §4: the payload signatures, with the shared key of the payload's API key.
    let api_key = checked.identity.value();
    let shared_key = shared
        .api_keys
        .get(api_key)
        .ok_or_else(|| Rejection::new(ErrorCode::InvalidApiKey, "the payload's api_key"))?;
    checked.verify_inner(shared_key)?;
    checked.verify_outer(shared_key)?;
    // SPEC §5, §6.
    match kind {
        RequestKind::Activation => state.model.activate(
            &checked,
            &decoded.json,
            (api_key, shared_key, &shared.signing_key),
            now,
        ),
        RequestKind::Deactivation => state.model.deactivate(&checked, &decoded.json),
    }
}

/// The response: the protocol's answer, shaped by a fault if one applies.
fn respond_with(
    shared: &Shared,
    answer: Option<Result<Accepted, Rejection>>,
    fault: Option<&Fault>,
    entry: &mut JournalEntry,
) -> ResponseTemplate {
    let kind = fault.map(|f| f.kind);
    let (status, content_type, mut body, code) = match answer {
        // A fault that replaces the answer.
        None => match kind {
            Some(FaultKind::Error(code)) => {
                let body = Rejection::new(code, "scripted fault").error_body();
                (
                    body.status,
                    "application/json",
                    body.to_json().into_bytes(),
                    Some(code),
                )
            }
            Some(FaultKind::Status(status)) => (status, "", Vec::new(), None),
            _ => (200, "application/json", NOT_JSON_BODY.as_bytes().to_vec(), None),
        },
        Some(Ok(Accepted::Activated(body))) => (200, "application/json", body, None),
        Some(Ok(Accepted::Deactivated)) => (
            200,
            "text/plain; charset=utf-8",
            DEACTIVATED.as_bytes().to_vec(),
            None,
        ),
        Some(Err(rejection)) => {
            let body = rejection.error_body();
            (
                body.status,
                "application/json",
                body.to_json().into_bytes(),
                Some(rejection.code),
            )
        }
    };
    match kind {
        Some(FaultKind::Truncated) => body.truncate(body.len() / 2),
        Some(FaultKind::BadLicenseSignatureV2) if status == 200 && code.is_none() => {
            body = with_wrong_license_signature_v2(shared, body);
        }
        _ => {}
    }
    entry.status = status;
    entry.code = code;
    let mut template = ResponseTemplate::new(status);
    if !content_type.is_empty() {
        template = template.set_body_raw(body, content_type);
    }
    if code == Some(ErrorCode::MethodNotAllowed) {
        template = template.insert_header("allow", "POST");
    }
    if let Some(FaultKind::Delay(delay)) = kind {
        template = template.set_delay(delay);
    }
    template
}

/// The answer with `license_signature_v2` replaced by a valid signature of other bytes; other
/// members unchanged. A body that is not an activation answer is returned as it is.
fn with_wrong_license_signature_v2(shared: &Shared, body: Vec<u8>) -> Vec<u8> {
    let Ok(mut map) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&body) else {
        return body;
    };
    let Some(v2) = map.get_mut("license_signature_v2") else {
        return body;
    };
    let other = shared
        .signing_key
        .sign(b"lsconform double: not the bytes of this answer");
    *v2 = base64::engine::general_purpose::STANDARD.encode(other).into();
    serde_json::to_vec(&map).unwrap_or(body)
}

#[cfg(test)]
mod tests {
    use super::super::{ActivationDouble, License};

    /// Every request to an unknown path must get the double's `not_found` body; a request that
    /// fell between a reset and the remount would get wiremock's own 404, whose body is empty.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_request_falls_between_a_reset_and_the_remount() {
        let double = ActivationDouble::builder()
            .api_key("k", "s")
            .license(License::perpetual("K"))
            .journal_cap(5)
            .recycle_every(2)
            .start()
            .await;
        let (tasks, each) = (8, 150);
        let mut handles = Vec::new();
        for _ in 0..tasks {
            let url = format!("{}/elsewhere", double.uri());
            handles.push(tokio::spawn(async move {
                crate::install_crypto_provider();
                let http = reqwest::Client::new();
                let mut bare = 0;
                for _ in 0..each {
                    let response = http.post(&url).send().await.expect("an answer");
                    assert_eq!(response.status().as_u16(), 404);
                    let body = response.bytes().await.expect("a body");
                    if !body.starts_with(br#"{"status":404,"code":"not_found""#) {
                        bare += 1;
                    }
                }
                bare
            }));
        }
        let mut bare = 0;
        for h in handles {
            bare += h.await.expect("a client task");
        }
        assert_eq!(bare, 0, "{bare} request(s) fell between a reset and the remount");
        assert_eq!(double.received(), tasks * each);
        assert_eq!(double.journal().len(), 5);
    }
}
