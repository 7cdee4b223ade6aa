//! Which requests a fault or an expectation is about ([`Requests`]), how many are expected
//! ([`Times`]), and the report of unmet expectations.

use std::fmt;
use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

use crate::protocol::RequestKind;

/// What a set of [`Requests`] reads of a received request: the endpoint a POST went to, and the
/// fields of its decoded file. The journal's entries are one; the filter knows nothing else of
/// them, so data flows one way (`journal` → `fault` → `expect`).
pub(crate) trait Received {
    /// The endpoint, for a POST to one of the double's endpoints.
    fn posted_to(&self) -> Option<RequestKind>;
    /// A field of the decoded request file, as text.
    fn field(&self, name: &str) -> Option<String>;
}

/// A set of requests: POSTs to the double's endpoints, narrowed by endpoint and by what the
/// decoded request file says. A request whose file does not decode matches only a set that names
/// no field.
///
/// ```
/// use lsconform::double::Requests;
/// let mine = Requests::activations().license_key("AAAA-BBBB-CCCC-DDDD").hardware_id("hw-1");
/// assert_eq!(
///     mine.to_string(),
///     r#"activation requests with license_key "AAAA-BBBB-CCCC-DDDD", hardware_id "hw-1""#
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requests {
    endpoint: Option<RequestKind>,
    license_key: Option<String>,
    username: Option<String>,
    hardware_id: Option<String>,
}

impl Requests {
    /// Every POST to `activate_offline` or `deactivate_offline`.
    pub fn any() -> Requests {
        Requests::default()
    }

    /// POSTs to `activate_offline`.
    pub fn activations() -> Requests {
        Requests {
            endpoint: Some(RequestKind::Activation),
            ..Requests::default()
        }
    }

    /// POSTs to `deactivate_offline`.
    pub fn deactivations() -> Requests {
        Requests {
            endpoint: Some(RequestKind::Deactivation),
            ..Requests::default()
        }
    }

    /// Only those whose request file names this `license_key`.
    pub fn license_key(mut self, license_key: impl Into<String>) -> Requests {
        self.license_key = Some(license_key.into());
        self
    }

    /// Only those whose request file names this `username`.
    pub fn username(mut self, username: impl Into<String>) -> Requests {
        self.username = Some(username.into());
        self
    }

    /// Only those whose request file names this `hardware_id`.
    pub fn hardware_id(mut self, hardware_id: impl Into<String>) -> Requests {
        self.hardware_id = Some(hardware_id.into());
        self
    }

    /// Whether a received request is one of these.
    pub(crate) fn matches(&self, entry: &impl Received) -> bool {
        let Some(endpoint) = entry.posted_to() else {
            return false;
        };
        if self.endpoint.is_some_and(|e| e != endpoint) {
            return false;
        }
        let field = |wanted: &Option<String>, name: &str| match wanted {
            None => true,
            Some(wanted) => entry.field(name).as_deref() == Some(wanted.as_str()),
        };
        field(&self.license_key, "license_key")
            && field(&self.username, "username")
            && field(&self.hardware_id, "hardware_id")
    }
}

impl fmt::Display for Requests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.endpoint {
            None => "requests",
            Some(RequestKind::Activation) => "activation requests",
            Some(RequestKind::Deactivation) => "deactivation requests",
        })?;
        let fields: Vec<String> = [
            ("license_key", &self.license_key),
            ("username", &self.username),
            ("hardware_id", &self.hardware_id),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name} {v:?}")))
        .collect();
        if !fields.is_empty() {
            write!(f, " with {}", fields.join(", "))?;
        }
        Ok(())
    }
}

/// How many times, like wiremock's `Times`: a number (exactly) or a range of `u64`.
///
/// ```
/// use lsconform::double::Times;
/// assert_eq!(Times::from(2).to_string(), "exactly 2");
/// assert_eq!(Times::from(1..).to_string(), "at least 1");
/// assert_eq!(Times::from(..=3).to_string(), "at most 3");
/// assert_eq!(Times::from(2..5).to_string(), "between 2 and 4");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    min: u64,
    /// Inclusive; `None`: no upper bound.
    max: Option<u64>,
}

impl Times {
    pub(crate) fn contains(&self, n: u64) -> bool {
        n >= self.min && self.max.is_none_or(|max| n <= max)
    }
}

impl fmt::Display for Times {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (min, Some(max)) if min > max => f.write_str("a count in an empty range (never holds)"),
            (min, Some(max)) if min == max => write!(f, "exactly {min}"),
            (0, None) => f.write_str("any number"),
            (min, None) => write!(f, "at least {min}"),
            (0, Some(max)) => write!(f, "at most {max}"),
            (min, Some(max)) => write!(f, "between {min} and {max}"),
        }
    }
}

impl From<u64> for Times {
    fn from(n: u64) -> Times {
        Times { min: n, max: Some(n) }
    }
}

impl From<Range<u64>> for Times {
    fn from(r: Range<u64>) -> Times {
        // An empty range (`3..3`) can never hold: no count is both >= 3 and <= 2.
        Times {
            min: r.start,
            max: Some(r.end.saturating_sub(1)),
        }
        .or_never(r.is_empty())
    }
}

impl From<RangeInclusive<u64>> for Times {
    fn from(r: RangeInclusive<u64>) -> Times {
        Times {
            min: *r.start(),
            max: Some(*r.end()),
        }
        .or_never(r.is_empty())
    }
}

impl From<RangeFrom<u64>> for Times {
    fn from(r: RangeFrom<u64>) -> Times {
        Times {
            min: r.start,
            max: None,
        }
    }
}

impl From<RangeTo<u64>> for Times {
    fn from(r: RangeTo<u64>) -> Times {
        Times {
            min: 0,
            max: Some(r.end.saturating_sub(1)),
        }
        .or_never(r.end == 0)
    }
}

impl From<RangeToInclusive<u64>> for Times {
    fn from(r: RangeToInclusive<u64>) -> Times {
        Times {
            min: 0,
            max: Some(r.end),
        }
    }
}

impl From<RangeFull> for Times {
    fn from(_: RangeFull) -> Times {
        Times { min: 0, max: None }
    }
}

impl Times {
    /// An empty range: a count no request total can reach.
    fn or_never(self, empty: bool) -> Times {
        if empty {
            Times {
                min: u64::MAX,
                max: Some(0),
            }
        } else {
            self
        }
    }
}

/// An expectation and its count so far.
#[derive(Debug, Clone)]
pub(crate) struct Expectation {
    requests: Requests,
    times: Times,
    received: u64,
}

impl Expectation {
    pub(crate) fn new(requests: Requests, times: Times) -> Expectation {
        Expectation {
            requests,
            times,
            received: 0,
        }
    }

    pub(crate) fn count(&mut self, entry: &impl Received) {
        if self.requests.matches(entry) {
            self.received += 1;
        }
    }

    pub(crate) fn is_met(&self) -> bool {
        self.times.contains(self.received)
    }

    /// The expectation as JSON, for the admin API: which requests, how many were expected and
    /// received, and whether that holds.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "requests": self.requests.to_string(),
            "times": self.times.to_string(),
            "received": self.received,
            "met": self.is_met(),
        })
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, received {}",
            self.requests, self.times, self.received
        )
    }
}
