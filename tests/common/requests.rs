//! Request files and answers, as the tests of the server and of the double both need them.

use std::time::SystemTime;

use lsconform::protocol::{format_http_date, ErrorBody, RequestBuilder, RequestKind, Style};

/// A fresh hardware id.
pub fn device() -> String {
    format!("device-{}", uuid::Uuid::new_v4())
}

/// A Python-style file of `kind` for a license of product TP, dated now, with a fresh request id.
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
    pub allow: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    /// Reads a whole response.
    pub async fn of(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type").unwrap_or_default();
        let allow = header("allow");
        let body = response.bytes().await.expect("a body").to_vec();
        Answer {
            status,
            content_type,
            allow,
            body,
        }
    }

    /// The error code, checking the SPEC §7 shape on the way.
    pub fn code(&self) -> String {
        ErrorBody::parse(&self.body, self.status)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
            .code
    }

    /// The status and, for an error body, its code ("" for anything else).
    pub fn status_and_code(&self) -> (u16, String) {
        let code = ErrorBody::parse(&self.body, self.status)
            .map(|b| b.code)
            .unwrap_or_default();
        (self.status, code)
    }

    pub fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not a JSON object ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn u64(&self, member: &str) -> u64 {
        self.json()[member]
            .as_u64()
            .unwrap_or_else(|| panic!("no integer {member}"))
    }
}
