//! One exchange with a target, bounded in time and in size: a server that never answers, answers
//! a byte at a time, answers forever or answers garbage costs at most the timeout and the cap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

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
            urls: Arc::default(),
        }
    }

    /// Sends one request and reads the whole answer, within the timeout and the size cap.
    pub async fn send(&self, request: &Prepared) -> Result<Response, ExchangeError> {
        let started = Instant::now();
        match tokio::time::timeout(self.timeout, self.exchange(request, started)).await {
            Ok(result) => result,
            Err(_) => Err(ExchangeError::Timeout(self.timeout)),
        }
    }

    async fn exchange(&self, request: &Prepared, started: Instant) -> Result<Response, ExchangeError> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| ExchangeError::Transport(format!("method {:?}: {e}", request.method)))?;
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
        let mut response = builder
            .send()
            .await
            .map_err(|e| ExchangeError::Transport(chain(&e)))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ExchangeError::Transport(chain(&e)))?
        {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(ExchangeError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            content_type,
            body,
            elapsed: started.elapsed(),
        })
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
