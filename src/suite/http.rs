//! One exchange with a target, bounded in time and in size: a server that never answers, answers
//! a byte at a time, answers forever or answers garbage costs at most the timeout and the cap.
//!
//! Requests go out on a pool of kept-alive connections (reqwest). SPEC §1: a server may close a
//! connection after any answer, with or without `Connection: close`, so a request can meet a
//! pooled connection the server has just closed; such an exchange, which got no answer at all, is
//! sent once more on a new connection of its own, and the [`Response`] says so. A request that
//! must go without an `Accept` header (SPEC §1: never required) also goes on a new connection of
//! its own, since reqwest adds `Accept: */*` to every request it sends.

use std::collections::HashMap;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use http_body::Body as _;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::profile::Profile;
use super::render::Prepared;

/// The answer's body is read up to this many bytes; more is an error.
pub const MAX_ANSWER: usize = 1 << 20;

/// What came back.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
    /// How long it took.
    pub elapsed: Duration,
    /// When the request went out a second time, on a new connection, because the first attempt
    /// got no answer (the server closed the connection, SPEC §1): what the first attempt met.
    pub retried: Option<String>,
}

impl Response {
    /// What a report says of a retried exchange, or `None` if it was sent once.
    pub fn retry_note(&self) -> Option<String> {
        self.retried.as_ref().map(|first| {
            format!("retried on a new connection after the first one closed without an answer ({first})")
        })
    }
}

/// Why there is no answer to judge.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExchangeError {
    /// Connection refused, reset, not HTTP, …
    #[error("no HTTP answer: {0}")]
    Transport(String),
    /// Past the timeout.
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    /// Past the size cap.
    #[error("the answer is larger than {MAX_ANSWER} bytes")]
    TooLarge,
}

/// An HTTP client for one run.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    timeout: Duration,
    /// The certificates of the profile's `tls_ca`, for a new connection of the client's own.
    tls_ca: Option<Arc<str>>,
    /// The TLS configuration of those connections, made the first time one goes to `https://`.
    tls: Arc<OnceLock<Result<Arc<rustls::ClientConfig>, String>>>,
    /// The URLs already parsed (a run sends most requests to two): parsing one each time cost
    /// the generated requests more than judging their error answers.
    urls: Arc<Mutex<HashMap<String, reqwest::Url>>>,
}

/// At most this many parsed URLs are kept.
const KEPT_URLS: usize = 64;

impl Client {
    /// A client for `profile`'s target whose every exchange ends within `timeout`: `https://`
    /// targets are checked against the system's roots and the profile's `tls_ca` (rustls, with
    /// ring's cryptography).
    pub fn new(profile: &Profile, timeout: Duration) -> Client {
        crate::install_crypto_provider();
        let roots = profile
            .tls_ca
            .as_deref()
            .and_then(|pem| reqwest::Certificate::from_pem_bundle(pem.as_bytes()).ok())
            .unwrap_or_default();
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .pool_max_idle_per_host(16)
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_merge(roots)
            .build()
            .expect("a client with certificates the profile checked always builds");
        Client {
            http,
            timeout,
            tls_ca: profile.tls_ca.as_deref().map(Arc::from),
            tls: Arc::default(),
            urls: Arc::default(),
        }
    }

    /// Sends one request and reads the whole answer, within the timeout and the size cap: the
    /// timeout bounds the whole exchange, a retry on a new connection included.
    pub async fn send(&self, request: &Prepared) -> Result<Response, ExchangeError> {
        let started = Instant::now();
        let exchange = async {
            if request.no_accept {
                return self.on_new_connection(request, started).await;
            }
            match self.pooled(request, started).await {
                Err(Attempt::Unanswered(first)) => match self.on_new_connection(request, started).await {
                    Ok(response) => Ok(Response {
                        retried: Some(first),
                        ..response
                    }),
                    Err(ExchangeError::Transport(second)) => Err(ExchangeError::Transport(format!(
                        "{first}; sent again on a new connection: {second}"
                    ))),
                    Err(e) => Err(e),
                },
                Err(Attempt::Failed(e)) => Err(e),
                Ok(response) => Ok(response),
            }
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(ExchangeError::Timeout(self.timeout)),
        }
    }

    /// The exchange on a pooled connection.
    async fn pooled(&self, request: &Prepared, started: Instant) -> Result<Response, Attempt> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| {
            Attempt::Failed(ExchangeError::Transport(format!(
                "method {:?}: {e}",
                request.method
            )))
        })?;
        let mut builder = match self.url(&request.url) {
            Some(url) => self.http.request(method, url),
            // Not a URL: reqwest says why.
            None => self.http.request(method, &request.url),
        };
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await.map_err(|e| {
            if closed_before_answer(&e) {
                Attempt::Unanswered(chain(&e))
            } else {
                Attempt::Failed(ExchangeError::Transport(chain(&e)))
            }
        })?;
        let status = response.status().as_u16();
        let content_type = content_type_of(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| Attempt::Failed(ExchangeError::Transport(chain(&e))))?
        {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(Attempt::Failed(ExchangeError::TooLarge));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            content_type,
            body,
            elapsed: started.elapsed(),
            retried: None,
        })
    }

    /// The exchange on a new connection of its own (plain TCP, or TLS checked as reqwest checks
    /// it: the system's roots and the profile's `tls_ca`), closed after it: exactly the request's
    /// headers, with `Host`, `Content-Length`, and `Accept: */*` as reqwest sends it unless the
    /// request names its own or goes without.
    async fn on_new_connection(
        &self,
        request: &Prepared,
        started: Instant,
    ) -> Result<Response, ExchangeError> {
        let transport =
            |what: &str, e: &dyn std::error::Error| ExchangeError::Transport(format!("{what}: {}", chain(e)));
        let url = self
            .url(&request.url)
            .ok_or_else(|| ExchangeError::Transport(format!("not a URL: {:?}", request.url)))?;
        let host = url
            .host_str()
            .ok_or_else(|| ExchangeError::Transport(format!("no host in {url}")))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| ExchangeError::Transport(format!("no port for {url}")))?;
        // An IPv6 address is written in brackets in a URL and in Host, not to connect.
        let name = host.trim_start_matches('[').trim_end_matches(']');
        let tcp = tokio::net::TcpStream::connect((name, port))
            .await
            .map_err(|e| transport("connect", &e))?;
        // As reqwest's connector does: a request is written at once.
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Io> = match url.scheme() {
            "http" => Box::new(tcp),
            "https" => {
                let server = rustls::pki_types::ServerName::try_from(name.to_owned())
                    .map_err(|e| transport("TLS server name", &e))?;
                let tls = tokio_rustls::TlsConnector::from(self.tls_config()?)
                    .connect(server, tcp)
                    .await
                    .map_err(|e| transport("TLS", &e))?;
                Box::new(tls)
            }
            other => {
                return Err(ExchangeError::Transport(format!(
                    "scheme {other:?} is not http or https"
                )))
            }
        };
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| transport("handshake", &e))?;
        // The connection is driven beside the exchange, and dropped with it (at the timeout too).
        let connection = AbortOnDrop(tokio::spawn(connection));
        let mut builder = hyper::Request::builder()
            .method(request.method.as_str())
            .uri(match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            });
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let names_accept = request
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("accept"));
        if !request.no_accept && !names_accept {
            builder = builder.header(hyper::header::ACCEPT, "*/*");
        }
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let body = match &request.body {
            Some(body) => axum::body::Body::from(body.clone()),
            None => axum::body::Body::empty(),
        };
        let sent = builder
            .header(hyper::header::HOST, authority)
            .body(body)
            .map_err(|e| transport("request", &e))?;
        let mut response = sender
            .send_request(sent)
            .await
            .map_err(|e| ExchangeError::Transport(chain(&e)))?;
        let status = response.status().as_u16();
        let content_type = content_type_of(response.headers());
        let mut body = Vec::new();
        let incoming = response.body_mut();
        while let Some(frame) = poll_fn(|cx| Pin::new(&mut *incoming).poll_frame(cx)).await {
            let frame = frame.map_err(|e| ExchangeError::Transport(chain(&e)))?;
            if let Ok(chunk) = frame.into_data() {
                if body.len() + chunk.len() > MAX_ANSWER {
                    return Err(ExchangeError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
        }
        drop(connection);
        Ok(Response {
            status,
            content_type,
            body,
            elapsed: started.elapsed(),
            retried: None,
        })
    }

    /// The TLS configuration of the client's own connections: rustls with ring, the platform's
    /// verifier over the system's roots and the profile's `tls_ca` (as reqwest's), HTTP/1.1.
    fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>, ExchangeError> {
        let made = self.tls.get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let extra: Vec<rustls::pki_types::CertificateDer<'static>> = match self.tls_ca.as_deref() {
                Some(pem) => {
                    use rustls::pki_types::pem::PemObject as _;
                    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
                        .filter_map(Result::ok)
                        .collect()
                }
                None => Vec::new(),
            };
            let verifier = if extra.is_empty() {
                rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
            } else {
                rustls_platform_verifier::Verifier::new_with_extra_roots(extra, Arc::clone(&provider))
            }
            .map_err(|e| format!("the TLS verifier: {e}"))?;
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("the TLS versions: {e}"))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(Arc::new(config))
        });
        made.clone().map_err(ExchangeError::Transport)
    }

    /// `text` parsed as a URL, from the kept ones when it was parsed before.
    fn url(&self, text: &str) -> Option<reqwest::Url> {
        let mut urls = self.urls.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(url) = urls.get(text) {
            return Some(url.clone());
        }
        let url = reqwest::Url::parse(text).ok()?;
        if urls.len() < KEPT_URLS {
            urls.insert(text.to_owned(), url.clone());
        }
        Some(url)
    }
}

/// How an attempt on a pooled connection ended without an answer to judge.
enum Attempt {
    /// No answer at all, the connection closed under it: worth a new connection (SPEC §1).
    Unanswered(String),
    /// Anything else (no connection, not HTTP, …): the exchange's error.
    Failed(ExchangeError),
}

/// Whether a request failed because its connection was closed before any answer came: hyper's
/// incomplete message (the server closed it), a request cancelled or a connection closed under
/// it, or a reset or broken pipe. A connection that could not be made is not one of them.
fn closed_before_answer(e: &reqwest::Error) -> bool {
    if e.is_connect() || e.is_timeout() || e.is_builder() {
        return false;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
                return true;
            }
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
            if matches!(
                io.kind(),
                ConnectionReset | BrokenPipe | ConnectionAborted | UnexpectedEof
            ) {
                return true;
            }
        }
        source = s.source();
    }
    false
}

/// A stream of either kind, for hyper.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A task that ends with its owner.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An error and its causes, on one line.
pub(in crate::suite) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The Content-Type of an answer, when it is text.
fn content_type_of(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    //! Against tiny raw servers on loopback, each connection doing what its test needs.

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::{Client, ExchangeError};
    use crate::suite::{Prepared, Profile};

    /// What a connection of the server does.
    #[derive(Debug, Clone, Copy)]
    enum Conn {
        /// Answers its first request 413 without reading its body and without `Connection:
        /// close`, and closes when the next request arrives on it (a server that closes after a
        /// 413, met by a client that reused the connection before it saw the close).
        TooLargeThenClose,
        /// Reads every request and answers it 200.
        Answer,
        /// Reads a request's head and closes.
        Close,
        /// Reads a request and never answers.
        Silent,
        /// Reads every request and refuses it, 400 missing_headers.
        MissingHeaders,
    }

    #[derive(Default)]
    struct Seen {
        connections: AtomicUsize,
        /// Requests that arrived on a connection after its 413, and were met with a close.
        closed_on_reuse: AtomicUsize,
        /// The request heads, as read.
        heads: Mutex<Vec<String>>,
    }

    /// The next request head on `socket` (the bytes read past it stay in `buf`); `None` at EOF.
    async fn head(socket: &mut TcpStream, buf: &mut Vec<u8>, seen: &Seen) -> Option<usize> {
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                buf.drain(..end + 4);
                let length = head
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse().ok())
                    .unwrap_or(0);
                seen.heads.lock().unwrap().push(head);
                return Some(length);
            }
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads `length` bytes of body past what `buf` holds.
    async fn body(socket: &mut TcpStream, buf: &mut Vec<u8>, length: usize) -> Option<()> {
        while buf.len() < length {
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..length);
        Some(())
    }

    fn answer(status: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    async fn connection(mut socket: TcpStream, conn: Conn, seen: Arc<Seen>) -> Option<()> {
        let mut buf = Vec::new();
        match conn {
            Conn::TooLargeThenClose => {
                head(&mut socket, &mut buf, &seen).await?;
                let refusal = r#"{"status":413,"code":"payload_too_large","message":"too large"}"#;
                socket
                    .write_all(&answer("413 Payload Too Large", refusal))
                    .await
                    .ok()?;
                // The unread body comes first, then the next request's head: then the close.
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = socket.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
                    buf.extend_from_slice(&chunk[..n]);
                }
                seen.closed_on_reuse.fetch_add(1, Ordering::SeqCst);
                None
            }
            Conn::Answer => loop {
                let length = head(&mut socket, &mut buf, &seen).await?;
                body(&mut socket, &mut buf, length).await?;
                socket.write_all(&answer("200 OK", r#"{"ok":true}"#)).await.ok()?;
            },
            Conn::MissingHeaders => loop {
                let length = head(&mut socket, &mut buf, &seen).await?;
                body(&mut socket, &mut buf, length).await?;
                let refusal =
                    r#"{"status":400,"code":"missing_headers","message":"some headers are missing"}"#;
                socket.write_all(&answer("400 Bad Request", refusal)).await.ok()?;
            },
            Conn::Close => {
                head(&mut socket, &mut buf, &seen).await?;
                None
            }
            Conn::Silent => {
                let length = head(&mut socket, &mut buf, &seen).await?;
                body(&mut socket, &mut buf, length).await?;
                std::future::pending().await
            }
        }
    }

    /// A server on loopback whose connection `i` does `plan(i)`; its URL and what it saw.
    async fn server(plan: impl Fn(usize) -> Conn + Send + 'static) -> (String, Arc<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Seen::default());
        let counted = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let i = counted.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(connection(socket, plan(i), Arc::clone(&counted)));
            }
        });
        (url, seen)
    }

    fn post(url: &str) -> Prepared {
        Prepared {
            method: "POST".into(),
            url: format!("{url}/api/v4/activate_offline"),
            headers: vec![("Content-Type".into(), "text/plain".into())],
            no_accept: false,
            body: Some(vec![b'A'; 300]),
            payload: None,
            seat: None,
            request_id: None,
            hardware_id: None,
            licensee: None,
        }
    }

    fn client(url: &str, timeout: Duration) -> Client {
        Client::new(&Profile::reference(url), timeout)
    }

    /// SPEC §1: what one request does to its connection never decides another request's answer.
    #[tokio::test]
    async fn a_request_that_meets_a_reused_connection_closed_after_a_413_is_answered_on_a_new_one() {
        let (url, seen) = server(|i| {
            if i == 0 {
                Conn::TooLargeThenClose
            } else {
                Conn::Answer
            }
        })
        .await;
        let client = client(&url, Duration::from_secs(10));
        let first = client.send(&post(&url)).await.expect("the 413 is an answer");
        assert_eq!((first.status, first.retried.as_deref()), (413, None));
        let next = client
            .send(&post(&url))
            .await
            .expect("answered on a new connection");
        assert_eq!(next.status, 200);
        assert_eq!(next.body, br#"{"ok":true}"#);
        // The exchange did meet the closed connection, and was sent once more: it says so.
        assert_eq!(seen.closed_on_reuse.load(Ordering::SeqCst), 1);
        assert_eq!(seen.connections.load(Ordering::SeqCst), 2);
        let note = next.retry_note().expect("a note of the retry");
        assert!(note.starts_with("retried on a new connection"), "{note}");
        // The new connection is not kept: the one after goes out on a pooled one, or a new one.
        let after = client.send(&post(&url)).await.expect("answered");
        assert_eq!((after.status, after.retried), (200, None));
    }

    #[tokio::test]
    async fn a_server_that_closes_every_connection_unanswered_is_an_error_after_one_retry() {
        let (url, seen) = server(|_| Conn::Close).await;
        let e = client(&url, Duration::from_secs(10))
            .send(&post(&url))
            .await
            .expect_err("no answer");
        let ExchangeError::Transport(why) = &e else {
            panic!("not a transport error: {e:?}");
        };
        assert!(why.contains("sent again on a new connection"), "{why}");
        assert_eq!(seen.connections.load(Ordering::SeqCst), 2, "one retry, no more");
    }

    /// `RunOptions::timeout` bounds the exchange, its retry included.
    #[tokio::test]
    async fn a_retry_that_is_never_answered_ends_at_the_timeout() {
        let (url, seen) = server(|i| if i == 0 { Conn::Close } else { Conn::Silent }).await;
        let timeout = Duration::from_millis(500);
        let e = client(&url, timeout)
            .send(&post(&url))
            .await
            .expect_err("no answer");
        assert!(matches!(e, ExchangeError::Timeout(t) if t == timeout), "{e:?}");
        assert_eq!(seen.connections.load(Ordering::SeqCst), 2);
    }

    /// A connection that could not be made is not retried: there was none to close.
    #[tokio::test]
    async fn a_refused_connection_is_an_error_without_a_retry() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let e = client(&url, Duration::from_secs(10))
            .send(&post(&url))
            .await
            .expect_err("refused");
        let ExchangeError::Transport(why) = &e else {
            panic!("not a transport error: {e:?}");
        };
        assert!(!why.contains("sent again"), "{why}");
    }

    /// The case judges the answer that came on the new connection, and its result says so.
    #[tokio::test]
    async fn a_case_whose_exchange_was_retried_is_judged_on_the_new_answer_and_says_so() {
        let (url, seen) = server(|i| if i == 0 { Conn::Close } else { Conn::MissingHeaders }).await;
        let cases = crate::suite::select(
            crate::suite::cases().unwrap(),
            &["envelope/missing-date-header".into()],
            &[],
        )
        .unwrap();
        let options = crate::suite::RunOptions::default();
        let results = crate::suite::run(cases, &Profile::reference(&url), &options, |_| {}).await;
        assert_eq!(seen.connections.load(Ordering::SeqCst), 2);
        let [r] = &results[..] else {
            panic!("one result: {results:?}");
        };
        assert_eq!(r.verdict, crate::suite::Verdict::Pass, "{:?}", r.actual);
        let actual = r.actual.as_deref().unwrap_or_default();
        assert!(actual.starts_with("retried on a new connection"), "{actual}");
    }

    /// SPEC §1: `Accept` is never required. reqwest sends `Accept: */*` with every request; a
    /// request told to go without one goes without one.
    #[tokio::test]
    async fn the_accept_header_is_the_requests_own_or_none() {
        let (url, seen) = server(|_| Conn::Answer).await;
        let client = client(&url, Duration::from_secs(10));
        let accepts = |head: &str| -> Vec<String> {
            head.lines()
                .filter_map(|l| l.split_once(':'))
                .filter(|(n, _)| n.eq_ignore_ascii_case("accept"))
                .map(|(_, v)| v.trim().to_owned())
                .collect()
        };
        let mut none = post(&url);
        none.no_accept = true;
        let mut html = post(&url);
        html.headers.push(("Accept".into(), "text/html".into()));
        for request in [post(&url), none.clone(), html] {
            let r = client.send(&request).await.expect("answered");
            assert_eq!(r.status, 200);
        }
        let heads = seen.heads.lock().unwrap().clone();
        let got: Vec<Vec<String>> = heads.iter().map(|h| accepts(h)).collect();
        assert_eq!(
            got,
            [vec!["*/*".to_owned()], vec![], vec!["text/html".to_owned()]]
        );
        // Otherwise the same request: the body, its length and the Host.
        let without = heads[1].to_lowercase();
        assert!(
            without.contains("content-length: 300") && without.contains("host: 127.0.0.1:"),
            "{without}"
        );
        assert!(
            without.starts_with("post /api/v4/activate_offline http/1.1"),
            "{without}"
        );
    }
}
