//! A small client of the reference server for these tests: signed headers, request files from
//! the protocol's builder, and the reference seed's credentials and licenses by role.

use std::time::SystemTime;

pub use crate::common::requests::{builder, device, Answer};
use lsconform::protocol::{format_http_date, AuthorizationHeader, RequestFile, RequestKind};
use lsconform::server::{ReferenceServer, RunningServer, Seed};

pub const API_KEY: &str = "lsconform-test-api-key";
pub const SHARED_KEY: &str = "lsconform-test-shared-key";
pub const PUBLIC_KEY: &str = include_str!("../../fixtures/keys/reference-public.pem");

/// The license key (or username) of the reference seed's license in `role`.
pub fn license(role: &str) -> String {
    let seed = Seed::reference();
    let l = seed
        .licenses
        .iter()
        .find(|l| l.role.as_deref() == Some(role))
        .unwrap_or_else(|| panic!("the reference seed has no {role} license"));
    l.license_key
        .clone()
        .or_else(|| l.username.clone())
        .expect("a key or a user")
}

/// A signed activation (or deactivation) file for a license of product TP.
pub fn file(kind: RequestKind, license_key: &str, hardware_id: &str) -> RequestFile {
    builder(kind, license_key, hardware_id).sign(API_KEY, SHARED_KEY)
}

/// A client of one server.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
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

    pub fn of(server: &RunningServer) -> Self {
        Client::new(server.uri())
    }

    /// POSTs a body with freshly signed headers.
    pub async fn post(&self, path: &str, body: impl Into<Vec<u8>>) -> Answer {
        let date = format_http_date(SystemTime::now());
        let auth = AuthorizationHeader::signed(API_KEY, SHARED_KEY, &date).to_string();
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .header("Date", date)
                .header("Authorization", auth)
                .header("Content-Type", "text/plain")
                .body(body.into()),
        )
        .await
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        Answer::of(request.send().await.expect("the server answers")).await
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn activate(&self, file: &RequestFile) -> Answer {
        self.post(RequestKind::Activation.path(), file.text.clone()).await
    }

    pub async fn deactivate(&self, file: &RequestFile) -> Answer {
        self.post(RequestKind::Deactivation.path(), file.text.clone())
            .await
    }

    /// Activates `license` on `hardware_id` with a fresh file.
    pub async fn activate_on(&self, license: &str, hardware_id: &str) -> Answer {
        self.activate(&file(RequestKind::Activation, license, hardware_id))
            .await
    }

    /// Deactivates `license` on `hardware_id` with a fresh file.
    pub async fn deactivate_on(&self, license: &str, hardware_id: &str) -> Answer {
        self.deactivate(&file(RequestKind::Deactivation, license, hardware_id))
            .await
    }
}

/// A reference server on a fresh in-memory database.
pub async fn reference() -> RunningServer {
    ReferenceServer::builder()
        .start()
        .await
        .expect("the reference server starts")
}

/// Starts `lsconform serve` on a free port with these extra arguments; returns the process, its
/// URL, and its log lines as they come.
pub fn serve(
    args: &[&str],
) -> (
    crate::common::process::Running,
    String,
    std::sync::mpsc::Receiver<String>,
) {
    crate::common::process::launch("serve", args)
}
