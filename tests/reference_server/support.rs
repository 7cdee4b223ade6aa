//! A small client of the reference server for these tests: signed headers, request files from
//! the protocol's builder, and the reference seed's credentials and licenses by role.

use std::time::SystemTime;

use lsconform::protocol::{
    format_http_date, AuthorizationHeader, ErrorBody, RequestBuilder, RequestFile, RequestKind, Style,
};
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

/// A fresh hardware id.
pub fn device() -> String {
    format!("device-{}", uuid::Uuid::new_v4())
}

/// A signed activation (or deactivation) file for a license of product TP.
pub fn file(kind: RequestKind, license_key: &str, hardware_id: &str) -> RequestFile {
    builder(kind, license_key, hardware_id).sign(API_KEY, SHARED_KEY)
}

pub fn builder(kind: RequestKind, license_key: &str, hardware_id: &str) -> RequestBuilder {
    RequestBuilder::new(kind)
        .license_key(license_key)
        .hardware_id(hardware_id)
        .product("TP")
        .date(format_http_date(SystemTime::now()))
        .request_id(uuid::Uuid::new_v4().to_string())
        .style(Style::Python)
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Answer {
    /// The error code, checking the SPEC §7 shape on the way.
    pub fn code(&self) -> String {
        ErrorBody::parse(&self.body, self.status)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
            .code
    }

    pub fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_slice(&self.body).expect("a JSON object")
    }

    pub fn u64(&self, member: &str) -> u64 {
        self.json()[member]
            .as_u64()
            .unwrap_or_else(|| panic!("no integer {member}"))
    }
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
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.bytes().await.expect("a body").to_vec();
        Answer {
            status,
            content_type,
            body,
        }
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
pub fn serve(args: &[&str]) -> (std::process::Child, String, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lsconform"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("lsconform serve starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the server logs where it listens")
            .expect("text");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().expect("a URL").to_owned();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, url, rx)
}
