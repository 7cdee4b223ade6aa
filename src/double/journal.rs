//! The journal: what each request carried, decoded, and what the double answered; at most a
//! fixed number of entries, the oldest dropped first, so a double that runs for days stays flat.

use std::collections::VecDeque;
use std::fmt;
use std::time::SystemTime;

use super::expect::Received;
use super::fault::Fault;
use serde_json::{json, Map, Value};

use crate::protocol::{ErrorCode, Payload, Rejection, RequestKind, Schema, Style, Transport, Verdict};

/// One request the double received: what the client sent (decoded as far as it decodes, whatever
/// the answer was) and what it got back.
///
/// The fields are decoded independently of the answer: a request refused for its `Date` header
/// still shows its payload and whether its signatures hold, so that a test can tell what its
/// client got wrong.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JournalEntry {
    /// The order of arrival since the double started, from 0.
    pub seq: u64,
    /// When it arrived.
    pub received_at: SystemTime,
    /// The HTTP method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The endpoint the path names, if it names one.
    pub endpoint: Option<RequestKind>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The Authorization header's HMAC over the `Date` header (SPEC §2): `Absent` without the
    /// header, `NotChecked` when it does not parse or names an unknown API key.
    pub header_signature: Verdict,
    /// How the request file came (raw or multipart), when the body held one.
    pub transport: Option<Transport>,
    /// Schema 1 or 2, when the file decoded.
    pub schema: Option<Schema>,
    /// Which official client's layout the file has ([`Style::of`]); `None` for a layout no
    /// official client writes, or a file that did not decode.
    pub style: Option<Style>,
    /// The decoded payload (the flat object: schema 2's `request` member).
    pub payload: Option<Payload>,
    /// Why the body did not decode (SPEC §3), when it did not.
    pub decode_error: Option<Rejection>,
    /// The inner signature (SPEC §4): `Absent` when the file has none (allowed in schema 2),
    /// `NotChecked` when the file lacks a required field or names an unknown API key.
    pub inner_signature: Verdict,
    /// The schema-2 outer MAC (SPEC §4): `Absent` in schema 1.
    pub outer_signature: Verdict,
    /// The HTTP status answered.
    pub status: u16,
    /// The error code answered, if the answer was an error body.
    pub code: Option<ErrorCode>,
    /// The scripted fault that shaped the answer, if one did.
    pub fault: Option<Fault>,
}

impl JournalEntry {
    pub(crate) fn new(seq: u64, received_at: SystemTime, method: &str, path: &str) -> JournalEntry {
        JournalEntry {
            seq,
            received_at,
            method: method.to_owned(),
            path: path.to_owned(),
            endpoint: None,
            content_type: None,
            header_signature: Verdict::Absent,
            transport: None,
            schema: None,
            style: None,
            payload: None,
            decode_error: None,
            inner_signature: Verdict::NotChecked,
            outer_signature: Verdict::NotChecked,
            status: 0,
            code: None,
            fault: None,
        }
    }

    /// A member of the decoded payload as text: the ones the protocol reads (`license_key`,
    /// `hardware_id`, `request_id`, …) and any other member that is a JSON string (`hostname`,
    /// `os_ver`, …).
    ///
    /// ```no_run
    /// # fn demo(double: &lsconform::double::ActivationDouble) {
    /// let last = double.journal().pop().expect("a request");
    /// assert_eq!(last.field("hostname").as_deref(), Some("my-pc"));
    /// # }
    /// ```
    pub fn field(&self, name: &str) -> Option<String> {
        let p = self.payload.as_ref()?;
        let known = match name {
            "request" => &p.request,
            "license_key" => &p.license_key,
            "username" => &p.username,
            "password" => &p.password,
            "hardware_id" => &p.hardware_id,
            "product" => &p.product,
            "date" => &p.date,
            "api_key" => &p.api_key,
            "client_id" => &p.client_id,
            "request_id" => &p.request_id,
            "signature" => &p.signature,
            "bundle_code" => &p.bundle_code,
            _ => return p.other_str(name),
        };
        known.clone()
    }

    /// The entry as JSON, for the standalone double's admin API (`GET /__lsconform/journal`):
    /// the fields above by the same names; verdicts, the fault and the code as their log-line
    /// words; `payload` the decoded flat object (the members the protocol reads, then the others
    /// in the order sent).
    pub(crate) fn to_json(&self) -> Value {
        let received_at = time::OffsetDateTime::from(self.received_at)
            .format(&time::format_description::well_known::Rfc3339)
            .ok();
        json!({
            "seq": self.seq,
            "received_at": received_at,
            "method": self.method,
            "path": self.path,
            "endpoint": self.endpoint.map(RequestKind::as_str),
            "content_type": self.content_type,
            "header_signature": self.header_signature.to_string(),
            "transport": self.transport.map(|t| match t {
                Transport::Raw => "raw",
                Transport::Multipart => "multipart",
            }),
            "schema": self.schema.map(|s| match s {
                Schema::V1 => 1,
                Schema::V2 => 2,
            }),
            "style": self.style.map(Style::name),
            "payload": self.payload.as_ref().map(payload_json),
            "decode_error": self.decode_error.as_ref().map(|e| json!({
                "code": e.code.code(),
                "detail": e.detail,
            })),
            "inner_signature": self.inner_signature.to_string(),
            "outer_signature": self.outer_signature.to_string(),
            "status": self.status,
            "code": self.code.map(ErrorCode::code),
            "fault": self.fault.as_ref().map(Fault::to_string),
            "signatures_hold": self.signatures_hold(),
        })
    }

    /// Whether every signature the request carries held (header, inner, outer): `Absent` counts
    /// as holding for the inner and outer ones, which are optional in some layouts.
    pub fn signatures_hold(&self) -> bool {
        self.header_signature == Verdict::Ok
            && matches!(self.inner_signature, Verdict::Ok | Verdict::Absent)
            && matches!(self.outer_signature, Verdict::Ok | Verdict::Absent)
    }
}

/// One line: `#3 POST /api/v4/activate_offline → 400 license_not_found; schema 2, python;
/// license_key "K", hardware_id "H"; signatures: header ok, inner ok, outer ok`. Never a key or a
/// signature.
impl fmt::Display for JournalEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {} {} → {}", self.seq, self.method, self.path, self.status)?;
        if let Some(code) = self.code {
            write!(f, " {code}")?;
        }
        if let Some(fault) = &self.fault {
            write!(f, " (fault: {fault})")?;
        }
        if self.endpoint.is_none() || self.method != "POST" {
            return Ok(());
        }
        match (&self.schema, &self.decode_error) {
            (Some(schema), _) => {
                let schema = match schema {
                    Schema::V1 => "schema 1",
                    Schema::V2 => "schema 2",
                };
                let style = self.style.map_or("no official client's layout", Style::name);
                write!(f, "; {schema}, {style}")?;
            }
            (None, Some(error)) => write!(f, "; body not decoded: {} ({})", error.code, error.detail)?,
            (None, None) => {}
        }
        let fields: Vec<String> = ["license_key", "username", "hardware_id", "product"]
            .into_iter()
            .filter_map(|name| self.field(name).map(|v| format!("{name} {v:?}")))
            .collect();
        if !fields.is_empty() {
            write!(f, "; {}", fields.join(", "))?;
        }
        write!(
            f,
            "; signatures: header {}, inner {}, outer {}",
            self.header_signature, self.inner_signature, self.outer_signature
        )
    }
}

/// A decoded payload as a JSON object: the members the protocol reads, then every other member.
fn payload_json(p: &Payload) -> Value {
    let mut object = Map::new();
    for (name, value) in p.read_members() {
        object.insert(name.to_owned(), Value::from(value));
    }
    for (name, raw) in &p.other {
        // A string with a lone surrogate escape is JSON the decoder kept but serde_json's `Value`
        // cannot hold: show its text as it came.
        let value = serde_json::from_str(raw.get()).unwrap_or_else(|_| Value::from(raw.get()));
        object.insert(name.clone(), value);
    }
    Value::Object(object)
}

/// The last `cap` entries.
#[derive(Debug)]
pub(crate) struct Journal {
    cap: usize,
    entries: VecDeque<JournalEntry>,
}

impl Journal {
    pub(crate) fn new(cap: usize) -> Journal {
        Journal {
            cap,
            // Never more than the cap, so the buffer never grows past it.
            entries: VecDeque::with_capacity(cap.min(4096)),
        }
    }

    pub(crate) fn push(&mut self, entry: JournalEntry) {
        if self.cap == 0 {
            return;
        }
        if self.entries.len() == self.cap {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub(crate) fn entries(&self) -> Vec<JournalEntry> {
        self.entries.iter().cloned().collect()
    }

    /// Forgets every entry; returns how many there were.
    pub(crate) fn clear(&mut self) -> usize {
        let n = self.entries.len();
        self.entries.clear();
        n
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &JournalEntry> {
        self.entries.iter()
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }
}

impl Received for JournalEntry {
    fn posted_to(&self) -> Option<RequestKind> {
        self.endpoint.filter(|_| self.method == "POST")
    }

    fn field(&self, name: &str) -> Option<String> {
        JournalEntry::field(self, name)
    }
}
