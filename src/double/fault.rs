//! Scripted faults: what the next matching requests get instead of (or on top of) the protocol's
//! answer, for testing a client's error handling.

use std::fmt;
use std::time::Duration;

use super::expect::Requests;
use crate::protocol::ErrorCode;

/// A scripted fault: the next [`times`](Fault::times) requests that match [`when`](Fault::when)
/// get this answer.
///
/// Faults that replace the answer ([`error`](Fault::error), [`status`](Fault::status),
/// [`not_json`](Fault::not_json)) take no seat. The others ([`delay`](Fault::delay),
/// [`truncated`](Fault::truncated), [`bad_license_signature_v2`](Fault::bad_license_signature_v2))
/// let the request be judged as usual (an activation takes its seat) and then damage or delay
/// the answer, as a proxy or a flaky network would. A fault counts every request it matched,
/// whatever the request's own answer.
///
/// ```
/// use std::time::Duration;
/// use lsconform::double::{Fault, Requests};
/// use lsconform::protocol::ErrorCode;
/// let faults = [
///     Fault::error(ErrorCode::LicenseActivatedMaxTimes),
///     Fault::status(503).times(3),
///     Fault::delay(Duration::from_secs(2)),
///     Fault::not_json(),
///     Fault::truncated().when(Requests::activations().license_key("AAAA-BBBB-CCCC-DDDD")),
///     Fault::bad_license_signature_v2(),
/// ];
/// assert_eq!(faults[1].to_string(), "status 503");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub(crate) kind: FaultKind,
    pub(crate) remaining: u64,
    pub(crate) when: Requests,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    Error(ErrorCode),
    Status(u16),
    Delay(Duration),
    NotJson,
    Truncated,
    BadLicenseSignatureV2,
}

/// The body of the not-JSON fault: what a proxy's error page looks like.
pub(crate) const NOT_JSON_BODY: &str = "<html><body><h1>502 Bad Gateway</h1></body></html>\n";

impl Fault {
    fn new(kind: FaultKind) -> Fault {
        Fault {
            kind,
            remaining: 1,
            when: Requests::any(),
        }
    }

    /// Answers this error code with its status and the SPEC §7 error body (as
    /// [`Rejection::error_body`](crate::protocol::Rejection::error_body) writes it).
    pub fn error(code: ErrorCode) -> Fault {
        Fault::new(FaultKind::Error(code))
    }

    /// Answers this HTTP status with an empty body (a gateway's 502, a 503 under maintenance, a
    /// 429). Panics unless `100 <= status <= 999`, which HTTP cannot carry.
    pub fn status(status: u16) -> Fault {
        assert!(
            (100..=999).contains(&status),
            "Fault::status({status}): an HTTP status is 100 to 999"
        );
        Fault::new(FaultKind::Status(status))
    }

    /// Answers as usual, after this delay (for a client's timeouts).
    pub fn delay(delay: Duration) -> Fault {
        Fault::new(FaultKind::Delay(delay))
    }

    /// Answers 200 with `Content-Type: application/json` and a body that is not JSON (an HTML
    /// error page): the client must not take it for an activation.
    pub fn not_json() -> Fault {
        Fault::new(FaultKind::NotJson)
    }

    /// Answers as usual, but only the first half of the body (a cut connection or a proxy's
    /// limit): a success answer no longer parses.
    pub fn truncated() -> Fault {
        Fault::new(FaultKind::Truncated)
    }

    /// Answers as usual, but a success answer's `license_signature_v2` is a valid RSA signature
    /// of other bytes: a client that checks it (SPEC §6) must refuse the answer.
    pub fn bad_license_signature_v2() -> Fault {
        Fault::new(FaultKind::BadLicenseSignatureV2)
    }

    /// Applies to the next `n` matching requests instead of one.
    pub fn times(mut self, n: u64) -> Fault {
        self.remaining = n;
        self
    }

    /// Applies only to these requests (default: [`Requests::any`]).
    pub fn when(mut self, requests: Requests) -> Fault {
        self.when = requests;
        self
    }

    /// The fault as JSON, for the admin API (`GET /__lsconform/faults`): what it answers, how
    /// many more times, and for which requests.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "fault": self.to_string(),
            "remaining": self.remaining,
            "when": self.when.to_string(),
        })
    }

    /// Whether the fault stands in for the protocol's answer (then the request is not judged).
    pub(crate) fn replaces_answer(&self) -> bool {
        matches!(
            self.kind,
            FaultKind::Error(_) | FaultKind::Status(_) | FaultKind::NotJson
        )
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FaultKind::Error(code) => write!(f, "error {code}"),
            FaultKind::Status(status) => write!(f, "status {status}"),
            FaultKind::Delay(d) => write!(f, "delay {}ms", d.as_millis()),
            FaultKind::NotJson => f.write_str("not JSON"),
            FaultKind::Truncated => f.write_str("truncated"),
            FaultKind::BadLicenseSignatureV2 => f.write_str("bad license_signature_v2"),
        }
    }
}
