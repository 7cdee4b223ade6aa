//! A small client of the double, as a client under test would be: request files from the
//! protocol's builder, signed headers, reqwest.
#![allow(dead_code)]

use std::time::{Duration, SystemTime};

pub use crate::common::requests::{builder, device, Answer};
use lsconform::double::{ActivationDouble, ActivationDoubleBuilder, License};
use lsconform::protocol::{format_http_date, AuthorizationHeader, PublicKey, RequestFile, RequestKind};

pub const API_KEY: &str = "client-test-api-key";
pub const SHARED_KEY: &str = "client-test-shared-key";
pub const LICENSE: &str = "AAAA-BBBB-CCCC-DDDD";
pub const PUBLIC_KEY: &str = include_str!("../../fixtures/keys/reference-public.pem");

pub fn public_key() -> PublicKey {
    PublicKey::from_pem(PUBLIC_KEY).expect("the fixture key")
}

/// A double that knows the client's credentials and `LICENSE` with `seats` seats.
pub fn double_with_seats(seats: u64) -> ActivationDoubleBuilder {
    ActivationDouble::builder()
        .api_key(API_KEY, SHARED_KEY)
        .license(License::perpetual(LICENSE).seats(seats))
}

/// An activation file signed with the client's keys.
pub fn activation(license_key: &str, hardware_id: &str) -> RequestFile {
    builder(RequestKind::Activation, license_key, hardware_id).sign(API_KEY, SHARED_KEY)
}

pub fn deactivation(license_key: &str, hardware_id: &str) -> RequestFile {
    builder(RequestKind::Deactivation, license_key, hardware_id).sign(API_KEY, SHARED_KEY)
}

/// A client of one server.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
}

/// The headers a request carries, by name.
pub type Headers = Vec<(&'static str, String)>;

/// Date and Authorization signed with these keys, now.
pub fn signed_headers(api_key: &str, shared_key: &str) -> Headers {
    let date = format_http_date(SystemTime::now());
    let auth = AuthorizationHeader::signed(api_key, shared_key, &date).to_string();
    vec![("date", date), ("authorization", auth)]
}

impl Client {
    pub fn new(base: impl Into<String>) -> Self {
        Client {
            http: {
                lsconform::install_crypto_provider();
                reqwest::Client::new()
            },
            base: base.into(),
        }
    }

    pub fn of(double: &ActivationDouble) -> Self {
        Client::new(double.uri())
    }

    /// Any request: method, path, headers, body.
    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, String)], body: Vec<u8>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        self.answer(request.body(body)).await
    }

    pub async fn answer(&self, request: reqwest::RequestBuilder) -> Answer {
        Answer::of(request.send().await.expect("the double answers")).await
    }

    /// POSTs a request file's text with the client's signed headers.
    pub async fn post(&self, kind: RequestKind, text: &str) -> Answer {
        let mut headers = signed_headers(API_KEY, SHARED_KEY);
        headers.push(("content-type", "text/plain".into()));
        self.send("POST", kind.path(), &headers, text.as_bytes().to_vec())
            .await
    }

    pub async fn activate(&self, file: &RequestFile) -> Answer {
        self.post(RequestKind::Activation, &file.text).await
    }

    pub async fn deactivate(&self, file: &RequestFile) -> Answer {
        self.post(RequestKind::Deactivation, &file.text).await
    }

    pub async fn activate_on(&self, license: &str, hardware_id: &str) -> Answer {
        self.activate(&activation(license, hardware_id)).await
    }

    /// An activation with a per-request timeout: `None` when it timed out.
    pub async fn activate_within(&self, file: &RequestFile, timeout: Duration) -> Option<Answer> {
        let mut headers = signed_headers(API_KEY, SHARED_KEY);
        headers.push(("content-type", "text/plain".into()));
        let mut request = self
            .http
            .post(format!("{}{}", self.base, RequestKind::Activation.path()))
            .timeout(timeout);
        for (name, value) in &headers {
            request = request.header(*name, value.as_str());
        }
        match request.body(file.text.clone()).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.bytes().await.ok()?.to_vec();
                Some(Answer {
                    status,
                    content_type: String::new(),
                    allow: None,
                    body,
                })
            }
            Err(e) if e.is_timeout() => None,
            Err(e) => panic!("the request failed: {e}"),
        }
    }
}
