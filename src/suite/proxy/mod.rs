//! A validating proxy: it sits between a real client and a real server, forwards every request and
//! every answer unchanged, and judges both sides of each exchange with the two endpoints against
//! SPEC, through the same oracle (SPEC §10) and judge as `lsconform run` and `diff`.
//!
//! - **Forwarding.** Method, path, query, headers and body go through byte for byte, streaming
//!   both ways; the hop-by-hop headers are dropped as RFC 9110 §7.6.1 says, `Host` names the
//!   upstream and `Via` names the proxy (RFC 9110 §7.6.3). The body cap of SPEC §3 bounds what is
//!   *kept for judging*, never what is forwarded. No answer from the upstream: 502 (504 after the
//!   timeout) with an error body of SPEC §7's shape whose code says so. Every wait is bounded.
//! - **The client's side**: the rules the request breaks (the Authorization header and Date, the
//!   transport, Base64, JSON, members, the request kind and, with the profile's shared key, both
//!   payload signatures), and the official client layout its file has ([`Style::of`](crate::protocol::Style::of)).
//! - **The server's side**: the answer against the set SPEC allows for exactly those bytes, the
//!   error body's shape, and with the profile's keys the success answer's echoes and signatures.
//!
//! Each side is [`SideVerdict::Conforming`], a warning, nonconforming (naming the rule) or
//! unjudged (and why: never a pass). A nonconforming exchange is written as a case file that
//! `lsconform replay` and `run --cases` send again. The journal is bounded: memory
//! stays flat however many exchanges go through.
//!
//! ```no_run
//! # async fn demo() {
//! use lsconform::suite::proxy::{Proxy, ProxyOptions};
//! use lsconform::suite::Profile;
//! let options = ProxyOptions::new("http://127.0.0.1:8080", Profile::reference("http://127.0.0.1:8080"));
//! let proxy = Proxy::start(options).await.unwrap();
//! println!("point the client at {}", proxy.uri());
//! // … the client's traffic …
//! let summary = proxy.stop().await;
//! println!("{}", summary.tally.summary());
//! # }
//! ```

mod capture;
mod case_file;
mod journal;
mod verdict;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::oneshot;

pub use journal::{Exchange, Tally};
pub use verdict::{Finding, SideVerdict};

use self::capture::{Captured, End, Tee};
use self::journal::Journal;
use self::verdict::{Seen, Upstream};
use super::http::{chain, MAX_ANSWER};
use super::profile::Profile;
use super::report::{Baseline, Report};
use crate::protocol::ErrorBody;

/// At most this many case files per side and rule: a server that breaks a rule on every exchange
/// fills no disk.
pub const CASES_PER_RULE: usize = 20;

/// What is called with each exchange once it is judged.
pub type OnExchange = Box<dyn Fn(&Exchange) + Send + Sync>;

/// How to run a proxy.
pub struct ProxyOptions {
    /// Where to listen (port 0: any free port).
    pub listen: SocketAddr,
    /// The server the traffic goes to: `http://host:port`, with an optional base path.
    pub upstream: String,
    /// What the proxy knows of the upstream: its API key and shared key (to check signatures),
    /// its public key (for the answers' RSA signatures), its body cap. Its `base_url` is unused.
    pub profile: Profile,
    /// Where nonconforming exchanges are written as case files.
    pub out: Option<PathBuf>,
    /// Bound on the wait for the upstream's answer and on any gap in either body.
    pub timeout: Duration,
    /// How many exchanges the journal keeps whole (the first nonconforming ones are kept besides).
    pub journal: usize,
    /// Called with each exchange once it is judged (the CLI prints its log line).
    pub on_exchange: Option<OnExchange>,
    /// Where the time a request arrived is read, which the oracle judges its Date header at
    /// (SPEC §2): the upstream's clock, the system clock unless the upstream's is pinned.
    pub clock: crate::Clock,
}

impl ProxyOptions {
    /// A proxy to `upstream` on a free port of 127.0.0.1, 30 s timeouts, a journal of 10,000.
    ///
    /// ```
    /// use lsconform::suite::proxy::ProxyOptions;
    /// use lsconform::suite::Profile;
    /// let options = ProxyOptions::new("http://127.0.0.1:8080", Profile::bare("http://127.0.0.1:8080"));
    /// assert_eq!(options.journal, 10_000);
    /// ```
    pub fn new(upstream: impl Into<String>, profile: Profile) -> ProxyOptions {
        ProxyOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            upstream: upstream.into(),
            profile,
            out: None,
            timeout: Duration::from_secs(30),
            journal: 10_000,
            on_exchange: None,
            clock: crate::Clock::system(),
        }
    }
}

/// Why a proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The upstream URL is not one the proxy can forward to.
    #[error("--upstream {0}")]
    Upstream(String),
    /// The listening address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The output directory could not be made.
    #[error("cannot create {dir}: {source}")]
    Out {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The upstream's URL, split.
struct Target {
    /// `http://host:port`.
    origin: String,
    /// The base path, without a trailing `/` (`""` for none).
    base: String,
    /// The `Host` header it gets.
    authority: HeaderValue,
}

impl Target {
    fn parse(url: &str) -> Result<Target, ProxyError> {
        let bad = |why: &str| ProxyError::Upstream(format!("{url:?}: {why}"));
        let uri: Uri = url.parse().map_err(|e| bad(&format!("not a URL ({e})")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(bad(
                    "https upstreams are not supported; forward to the server's http:// port, or put a TLS \
                     terminator in front of the proxy instead",
                ))
            }
            _ => return Err(bad("the URL must start with http://")),
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?.as_str().to_owned();
        if uri.query().is_some() {
            return Err(bad("a query has no place in the upstream's URL"));
        }
        Ok(Target {
            origin: format!("http://{authority}"),
            base: uri.path().trim_end_matches('/').to_owned(),
            authority: HeaderValue::from_str(&authority)
                .map_err(|_| bad("the host is not a header value"))?,
        })
    }

    fn url(&self) -> String {
        format!("{}{}", self.origin, self.base)
    }
}

/// What every connection shares.
struct Shared {
    client: Client<HttpConnector, Tee<Body>>,
    target: Target,
    profile: Profile,
    out: Option<PathBuf>,
    timeout: Duration,
    seq: AtomicU64,
    /// Exchanges forwarded whose judgement is not recorded yet.
    pending: AtomicUsize,
    journal: Mutex<Journal>,
    cases: Mutex<HashMap<(&'static str, &'static str), usize>>,
    on_exchange: Option<OnExchange>,
    clock: crate::Clock,
}

/// Starts proxies.
pub struct Proxy;

impl Proxy {
    /// Binds the listening address and starts forwarding.
    pub async fn start(options: ProxyOptions) -> Result<RunningProxy, ProxyError> {
        let target = Target::parse(&options.upstream)?;
        if let Some(dir) = &options.out {
            std::fs::create_dir_all(dir).map_err(|source| ProxyError::Out {
                dir: dir.clone(),
                source,
            })?;
        }
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|source| ProxyError::Listen {
                addr: options.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ProxyError::Listen {
            addr: options.listen,
            source,
        })?;
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(options.timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let shared = Arc::new(Shared {
            client,
            target,
            profile: options.profile,
            out: options.out,
            timeout: options.timeout,
            seq: AtomicU64::new(0),
            pending: AtomicUsize::new(0),
            journal: Mutex::new(Journal::new(options.journal)),
            cases: Mutex::new(HashMap::new()),
            on_exchange: options.on_exchange,
            clock: options.clock,
        });
        let app = axum::Router::new().fallback(forward).with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        // A proxy adds no Nagle delay to what it streams back.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(RunningProxy {
            addr,
            shared,
            stop: Some(stop),
            server,
            started: Instant::now(),
        })
    }
}

/// A proxy that is forwarding; [`stop`](Self::stop) ends it and gives the reports.
pub struct RunningProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    started: Instant,
}

/// What a proxy saw, when it stops.
#[derive(Debug)]
pub struct Summary {
    /// Every exchange counted.
    pub tally: Tally,
    /// One result per exchange kept in the journal, for the suite's report writers
    /// ([`report::json`](crate::suite::report::json), [`report::junit`](crate::suite::report::junit)).
    pub report: Report,
}

impl RunningProxy {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`: what the client is pointed at instead of the server.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until every exchange answered so far is judged and recorded (a client has its answer
    /// a moment before the proxy has judged it), at most the timeout.
    pub async fn settled(&self) {
        let deadline = Instant::now() + self.shared.timeout;
        while self.shared.pending.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The exchanges the journal keeps, in the order they came.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared.journal.lock().map(|j| j.kept()).unwrap_or_default()
    }

    /// The counts so far.
    pub fn tally(&self) -> Tally {
        self.shared
            .journal
            .lock()
            .map(|j| j.tally().clone())
            .unwrap_or_default()
    }

    /// Stops accepting, lets the exchanges in flight end (at most the timeout), and gives what
    /// was seen.
    pub async fn stop(mut self) -> Summary {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(self.shared.timeout, &mut self.server).await;
        self.settled().await;
        let results = self.exchanges().iter().map(Exchange::result).collect();
        Summary {
            tally: self.tally(),
            report: Report::new(
                self.shared.target.url(),
                results,
                &Baseline::default(),
                self.started.elapsed(),
            ),
        }
    }
}

/// RFC 9110 §7.6.1: the headers that belong to one connection, never forwarded; and those the
/// `Connection` header names.
fn drop_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        HeaderName::from_static("proxy-connection"),
        HeaderName::from_static("keep-alive"),
        header::TE,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
}

/// The proxy's own answer when the upstream gave none: SPEC §7's error body, its code saying why.
fn gateway_answer(status: StatusCode, code: &str, message: String) -> Response<Body> {
    let body = ErrorBody {
        status: status.as_u16(),
        code: code.to_owned(),
        message,
    };
    let mut response = Response::new(Body::from(body.to_json()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// What came back from the upstream, besides the answer's body.
enum Coming {
    /// An answer, whose body is on its way.
    Answer {
        status: u16,
        content_type: Option<String>,
    },
    /// No answer: why, and the status the proxy answered instead.
    None(String, u16),
}

/// One exchange in flight: its parts as they end. Whichever part ends last (the request's body,
/// the upstream's head, the answer's body) judges the exchange, on the task that saw it end.
struct Slot {
    shared: Arc<Shared>,
    seq: u64,
    started: Instant,
    seen: Option<Seen>,
    request: Option<Captured>,
    coming: Option<Coming>,
    answer: Option<Captured>,
}

impl Slot {
    /// Records a part; judges the exchange when it is whole.
    fn with(slot: &Mutex<Slot>, part: impl FnOnce(&mut Slot)) {
        let ready = {
            let Ok(mut s) = slot.lock() else { return };
            part(&mut s);
            let answered = match &s.coming {
                Some(Coming::Answer { .. }) => s.answer.is_some(),
                Some(Coming::None(..)) => true,
                None => false,
            };
            if s.request.is_some() && answered && s.seen.is_some() {
                let (seen, request, coming, answer) =
                    (s.seen.take(), s.request.take(), s.coming.take(), s.answer.take());
                Some((s.shared.clone(), s.seq, s.started, seen, request, coming, answer))
            } else {
                None
            }
        };
        if let Some((shared, seq, started, Some(seen), Some(request), Some(coming), answer)) = ready {
            conclude(&shared, seq, seen, request, coming, answer, started);
        }
    }
}

/// Makes sure an exchange is judged when its handler ends before the upstream's answer came: the
/// client went away (its connection closed) and the handler's future was dropped.
struct Unanswered(Option<Arc<Mutex<Slot>>>);

impl Drop for Unanswered {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take() {
            // 499: what proxies log for a client that closed the request (nothing was answered).
            let why = "the client went away before the upstream answered".to_owned();
            Slot::with(&slot, |s| s.coming = Some(Coming::None(why, 499)));
        }
    }
}

/// One exchange: forwards the request, answers with the upstream's answer as it streams, and
/// judges the exchange once both bodies have ended.
async fn forward(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    request: Request<Body>,
) -> Response<Body> {
    let (arrived, started) = (shared.clock.now(), Instant::now());
    let (mut parts, body) = request.into_parts();
    let header_bytes = |name: header::HeaderName| parts.headers.get(name).map(|v| v.as_bytes().to_vec());
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let seen = Seen {
        method: parts.method.as_str().to_owned(),
        path: path.clone(),
        authorization: header_bytes(header::AUTHORIZATION),
        date: header_bytes(header::DATE),
        content_type: header_bytes(header::CONTENT_TYPE).map(|v| String::from_utf8_lossy(&v).into_owned()),
        body: Vec::new(),
        cut: None,
        arrived,
    };
    shared.pending.fetch_add(1, Ordering::AcqRel);
    let slot = Arc::new(Mutex::new(Slot {
        shared: shared.clone(),
        seq: shared.seq.fetch_add(1, Ordering::AcqRel) + 1,
        started,
        seen: Some(seen),
        request: None,
        coming: None,
        answer: None,
    }));
    let mut unanswered = Unanswered(Some(slot.clone()));
    let delivery = |slot: &Arc<Mutex<Slot>>, answer: bool| -> capture::Delivery {
        let slot = slot.clone();
        Box::new(move |captured| {
            Slot::with(&slot, |s| match answer {
                true => s.answer = Some(captured),
                false => s.request = Some(captured),
            })
        })
    };
    // SPEC §3: what is kept for judging stops one byte past the cap (enough to see it is over).
    let body = Tee::new(
        body,
        shared.profile.max_body + 1,
        shared.timeout,
        delivery(&slot, false),
    );
    let uri = format!("{}{}{path}", shared.target.origin, shared.target.base);
    let (response, coming) = match uri.parse::<Uri>() {
        Err(e) => {
            drop(body);
            let why = format!("the upstream URL {uri:?} does not parse: {e}");
            (
                gateway_answer(StatusCode::BAD_GATEWAY, "upstream_unreachable", why.clone()),
                Coming::None(why, 502),
            )
        }
        Ok(uri) => {
            let via = match parts.version {
                axum::http::Version::HTTP_10 => "1.0 lsconform",
                _ => "1.1 lsconform",
            };
            parts.uri = uri;
            parts.version = axum::http::Version::HTTP_11;
            drop_hop_by_hop(&mut parts.headers);
            parts
                .headers
                .insert(header::HOST, shared.target.authority.clone());
            parts.headers.append(header::VIA, HeaderValue::from_static(via));
            let answer = tokio::time::timeout(
                shared.timeout,
                shared.client.request(Request::from_parts(parts, body)),
            );
            match answer.await {
                Ok(Ok(response)) => {
                    let (mut parts, body) = response.into_parts();
                    drop_hop_by_hop(&mut parts.headers);
                    let coming = Coming::Answer {
                        status: parts.status.as_u16(),
                        content_type: parts
                            .headers
                            .get(header::CONTENT_TYPE)
                            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                    };
                    let body = Tee::new(body, MAX_ANSWER + 1, shared.timeout, delivery(&slot, true));
                    (Response::from_parts(parts, Body::new(body)), coming)
                }
                Ok(Err(e)) => {
                    let why = chain(&e);
                    let code = if e.is_connect() {
                        "upstream_unreachable"
                    } else {
                        "upstream_failed"
                    };
                    let message = format!(
                        "lsconform proxy: the upstream {} gave no answer: {why}",
                        shared.target.url()
                    );
                    (
                        gateway_answer(StatusCode::BAD_GATEWAY, code, message),
                        Coming::None(why, 502),
                    )
                }
                Err(_) => {
                    let why = format!("no answer within {:?}", shared.timeout);
                    let message = format!("lsconform proxy: the upstream {}: {why}", shared.target.url());
                    (
                        gateway_answer(StatusCode::GATEWAY_TIMEOUT, "upstream_timeout", message),
                        Coming::None(why, 504),
                    )
                }
            }
        }
    };
    unanswered.0 = None;
    Slot::with(&slot, |s| s.coming = Some(coming));
    response
}

fn describe(end: &End) -> Option<String> {
    match end {
        End::Complete => None,
        End::Failed(why) => Some(format!("the stream broke: {why}")),
        End::Stalled(idle) => Some(format!("no byte for {idle:?}")),
        End::Dropped => Some("the receiver stopped reading before its end".into()),
    }
}

/// Judges a whole exchange, writes its case file, logs and records it.
fn conclude(
    shared: &Shared,
    seq: u64,
    mut seen: Seen,
    body: Captured,
    coming: Coming,
    answer: Option<Captured>,
    started: Instant,
) {
    seen.body = body.bytes;
    seen.cut = describe(&body.end);
    let (upstream, status, ended) = match (coming, answer) {
        (Coming::Answer { status, content_type }, Some(body)) => {
            let cut = match describe(&body.end) {
                None if body.total > MAX_ANSWER as u64 => Some(format!("larger than {MAX_ANSWER} bytes")),
                cut => cut,
            };
            let response = super::http::Response {
                status,
                content_type,
                body: body.bytes,
                elapsed: body.at.duration_since(started),
                retried: None,
            };
            (Upstream::Answered { response, cut }, status, body.at)
        }
        (Coming::Answer { status, .. }, None) => (
            Upstream::None("the answer was lost".into()),
            status,
            Instant::now(),
        ),
        (Coming::None(why, 499), _) => (Upstream::Abandoned(why), 499, Instant::now()),
        (Coming::None(why, status), _) => (Upstream::None(why), status, Instant::now()),
    };
    let judged = verdict::judge(&seen, &upstream, &shared.profile, &shared.target.url());
    let (answer, code) = match &upstream {
        Upstream::Answered { response, .. } => (
            Some(super::runner::Answer::from(response)),
            super::judge::error_code(response),
        ),
        Upstream::None(_) | Upstream::Abandoned(_) => (None, None),
    };
    let case_file = match (&shared.out, judged.kind, &judged.allowed) {
        (Some(dir), Some(kind), Some(allowed)) => write_case_file(
            shared,
            dir,
            &seen,
            kind,
            allowed,
            &judged,
            status,
            code.as_deref(),
        ),
        _ => None,
    };
    let exchange = Exchange {
        seq,
        method: seen.method,
        path: seen.path,
        kind: judged.kind,
        style: judged.style,
        client: judged.client,
        server: judged.server,
        status,
        code,
        latency: ended.duration_since(started),
        case_file,
        request: Some(judged.request),
        answer,
    };
    if let Some(on_exchange) = &shared.on_exchange {
        on_exchange(&exchange);
    }
    if let Ok(mut journal) = shared.journal.lock() {
        journal.push(exchange);
    }
    shared.pending.fetch_sub(1, Ordering::AcqRel);
}

/// The case file of a nonconforming exchange (the server's finding first: that is what a replay
/// judges), at most [`CASES_PER_RULE`] per side and rule.
#[allow(clippy::too_many_arguments)]
fn write_case_file(
    shared: &Shared,
    dir: &std::path::Path,
    seen: &Seen,
    kind: crate::protocol::RequestKind,
    allowed: &crate::protocol::Allowed,
    judged: &verdict::Judged,
    status: u16,
    code: Option<&str>,
) -> Option<PathBuf> {
    let (side, finding) = [("server", &judged.server), ("client", &judged.client)]
        .into_iter()
        .find_map(|(side, v)| match v {
            SideVerdict::Nonconforming(f) => Some((side, f)),
            _ => None,
        })?;
    {
        let mut cases = shared.cases.lock().ok()?;
        let n = cases.entry((side, finding.rule.id)).or_default();
        if *n >= CASES_PER_RULE {
            return None;
        }
        *n += 1;
    }
    let answered = format!("{status} {}", code.unwrap_or("-"));
    let written = case_file::case_file(seen, kind, allowed, side, finding, &answered, &shared.profile)
        .and_then(|file| file.write_to(dir).map_err(|e| format!("{}: {e}", dir.display())));
    match written {
        Ok(path) => Some(path),
        Err(e) => {
            // Said where the log lines go to: a case file lost silently would be a finding lost.
            eprintln!(
                "lsconform proxy: no case file for an exchange to {}: {e}",
                seen.path
            );
            None
        }
    }
}
