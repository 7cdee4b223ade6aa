//! Conformance cases as data: `fixtures/cases/<group>/<slug>.json`, one case a file, described in
//! `fixtures/cases/README.md`. The runner fills a case's request template with the target's
//! credentials, a fresh date and fresh hardware ids, signs what it says to sign and breaks what it
//! says to break.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::protocol::ErrorCode;

pub use crate::protocol::{Rule, Severity, Tag};

/// One data case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataCase {
    /// The immutable slug, `<group>/<name>`; equal to the file's path under `fixtures/cases`.
    pub id: String,
    /// The ids of the rules of the catalogue (`fixtures/rules.toml`) it tests, the one that sets
    /// its section, tag and severity first.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Overrides the severity its first rule gives.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// One line: what a conforming server does.
    pub title: String,
    /// The sentence of SPEC or of the seed the case checks, verbatim.
    #[serde(default)]
    pub quote: Option<String>,
    /// The request to send.
    #[serde(default)]
    pub request: RequestTemplate,
    /// What must come back.
    pub expect: Expectation,
    /// Where the case came from, when a tool wrote it (`lsconform fuzz` writes its findings as cases).
    #[serde(default)]
    pub found: Option<Found>,
}

/// How `lsconform fuzz` found a case: enough to find it again and to tell people what it broke.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Found {
    /// The tool, e.g. `lsconform fuzz 0.1.0`.
    pub by: String,
    /// The target it was found on.
    pub target: String,
    /// The seed of the fuzzing run.
    pub seed: u64,
    /// The request of the run it was shrunk from (`lsconform fuzz --seed <seed>` sends it again).
    pub request: usize,
    /// What was sent, in a few words: the layout, the license, the transport and the mutation.
    pub sent: String,
    /// What the target answered when it was found (status and code, or why there was no answer).
    pub answered: String,
}

impl DataCase {
    /// The rules it cites, from the catalogue (an id the catalogue lacks is left out; reading a
    /// case file refuses one).
    pub fn rules(&self) -> impl Iterator<Item = Rule> + '_ {
        self.rules.iter().filter_map(|id| Rule::by_id(id))
    }

    /// The rule it tests first, which sets its section, tag and severity.
    pub fn rule(&self) -> Rule {
        self.rules()
            .next()
            .unwrap_or(crate::protocol::rules::ANY_NO_SERVER_ERROR)
    }

    /// The case's severity: its first rule's, unless the case says otherwise.
    pub fn severity(&self) -> Severity {
        self.severity.unwrap_or_else(|| self.rule().severity())
    }

    /// Whether each rule it cites is in the catalogue, and there is one.
    pub fn check_rules(&self) -> Result<(), String> {
        if self.rules.is_empty() {
            return Err("it cites no rule (\"rules\": ids of fixtures/rules.toml)".into());
        }
        match self.rules.iter().find(|id| Rule::by_id(id).is_none()) {
            Some(id) => Err(format!(
                "it cites {id:?}, which is not a rule of the catalogue (lsconform list --rules)"
            )),
            None => Ok(()),
        }
    }
}

/// Which endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// `POST /api/v4/activate_offline`.
    #[default]
    Activate,
    /// `POST /api/v4/deactivate_offline`.
    Deactivate,
}

impl Endpoint {
    /// The kind of request file the endpoint takes.
    ///
    /// ```
    /// use lsconform::protocol::RequestKind;
    /// use lsconform::suite::case::Endpoint;
    /// assert_eq!(Endpoint::Deactivate.kind(), RequestKind::Deactivation);
    /// ```
    pub fn kind(self) -> crate::protocol::RequestKind {
        match self {
            Endpoint::Activate => crate::protocol::RequestKind::Activation,
            Endpoint::Deactivate => crate::protocol::RequestKind::Deactivation,
        }
    }
}

/// The request of a case. Every part has a default: a correctly signed activation of the
/// `perpetual` license from a fresh device, in the Python SDK's layout, sent raw as text/plain.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestTemplate {
    /// The endpoint.
    #[serde(default)]
    pub endpoint: Endpoint,
    /// Another path instead of the endpoint's.
    #[serde(default)]
    pub path: Option<String>,
    /// Another method instead of POST.
    #[serde(default)]
    pub method: Option<String>,
    /// The headers.
    #[serde(default)]
    pub headers: HeadersTemplate,
    /// The request file's payload.
    #[serde(default)]
    pub payload: PayloadTemplate,
    /// How the payload becomes the body.
    #[serde(default)]
    pub body: BodyTemplate,
    /// Before sending, activate the same license on the same device (for re-activation and
    /// deactivation cases).
    #[serde(default)]
    pub activate_first: bool,
}

/// The `Date` header.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DateTemplate {
    /// Now, offset by this many seconds, in an HTTP-date form.
    Now {
        /// Seconds added to the current time (negative: in the past).
        #[serde(default, skip_serializing_if = "is_zero")]
        offset_seconds: i64,
        /// `imf` (default), `rfc850`, `asctime`, `imf-utc` (`UTC` in place of `GMT`), or
        /// `javascript` (`Thu Nov 17 2022 20:51:35 GMT+0000`, not an HTTP date).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        form: Option<String>,
    },
    /// This text.
    Literal(String),
    /// No Date header.
    Omit,
}

impl Default for DateTemplate {
    fn default() -> Self {
        DateTemplate::Now {
            offset_seconds: 0,
            form: None,
        }
    }
}

/// The `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthorizationTemplate {
    /// Signed over the Date header as sent, in the docs' form.
    Signed {
        /// Sign with this shared key instead of the profile's (`"wrong"`-style literal).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shared_key: Option<String>,
        /// Name this API key instead of the profile's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_key: Option<String>,
    },
    /// This text, after `{api_key}`, `{signature}` (the correct header MAC) and `{date}` are filled in.
    Template(String),
    /// No Authorization header.
    Omit,
}

impl Default for AuthorizationTemplate {
    fn default() -> Self {
        AuthorizationTemplate::Signed {
            shared_key: None,
            api_key: None,
        }
    }
}

/// The headers of a case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct HeadersTemplate {
    /// `Date`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub date: DateTemplate,
    /// `Authorization`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub authorization: AuthorizationTemplate,
    /// `Content-Type` (default `text/plain`; for multipart, the runner writes its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// No Content-Type header at all.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub omit_content_type: bool,
    /// `Accept` (default `*/*`, as curl and reqwest send it).
    #[serde(default, skip_serializing_if = "is_default")]
    pub accept: AcceptTemplate,
}

/// The `Accept` header (SPEC §1: recommended, never required; any value is served alike).
///
/// ```
/// use lsconform::suite::case::AcceptTemplate;
/// let none: AcceptTemplate = serde_json::from_str(r#""omit""#).unwrap();
/// assert_eq!(none, AcceptTemplate::Omit);
/// let html: AcceptTemplate = serde_json::from_str(r#"{"literal": "text/html"}"#).unwrap();
/// assert_eq!(html, AcceptTemplate::Literal("text/html".into()));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AcceptTemplate {
    /// `Accept: */*`.
    #[default]
    Any,
    /// This text.
    Literal(String),
    /// No Accept header at all.
    Omit,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// A signature of the payload: kept, left out, corrupted, or replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureTemplate {
    /// The correct signature.
    #[default]
    Keep,
    /// Left out.
    Omit,
    /// Well-formed and wrong.
    Corrupt,
    /// This text.
    Replace(String),
    /// The correct one upper-cased (a hex MAC in uppercase hex, SPEC §10; a Base64 one stays
    /// canonical Base64 of a wrong MAC): [`Tamper::Uppercase`](crate::protocol::Tamper::Uppercase).
    Uppercase,
    /// The correct one cut to its first characters (this many).
    Truncate(usize),
}

/// The payload: what `protocol::RequestBuilder` writes, and how to change it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadTemplate {
    /// The license by role in the profile (`perpetual`, …; `user` for the user-based one), or
    /// `null` for none.
    #[serde(default = "perpetual")]
    pub license: Option<String>,
    /// A literal license key instead of a role.
    #[serde(default)]
    pub license_key: Option<String>,
    /// The hardware id (default: a fresh one).
    #[serde(default)]
    pub hardware_id: Option<String>,
    /// `profile` (default), `other` (the profile's other product), or a literal short code.
    #[serde(default)]
    pub product: Option<String>,
    /// The layout: `schema1`, `compact-hex`, `python` (default), `javascript`.
    #[serde(default)]
    pub style: Option<String>,
    /// The payload `date` (signed; default: now, in the style's form).
    #[serde(default)]
    pub date: Option<String>,
    /// Extra members, in order.
    #[serde(default)]
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Members to set after layout (signed).
    #[serde(default)]
    pub set: BTreeMap<String, serde_json::Value>,
    /// Members to remove (signed without them).
    #[serde(default)]
    pub remove: Vec<String>,
    /// Members to write a second time.
    #[serde(default)]
    pub duplicate: BTreeMap<String, serde_json::Value>,
    /// Members to add to the schema-2 envelope.
    #[serde(default)]
    pub envelope: BTreeMap<String, serde_json::Value>,
    /// The inner signature.
    #[serde(default)]
    pub inner_signature: SignatureTemplate,
    /// The schema-2 outer MAC.
    #[serde(default)]
    pub outer_signature: SignatureTemplate,
    /// Sign the payload with this shared key instead of the profile's.
    #[serde(default)]
    pub shared_key: Option<String>,
    /// Name this API key in the payload instead of the profile's.
    #[serde(default)]
    pub api_key: Option<String>,
    /// No request_id.
    #[serde(default)]
    pub omit_request_id: bool,
    /// The request_id, as a template holding `{uuid}` (a fresh UUID) or `{UUID}` (a fresh UUID in
    /// uppercase, as the C++ SDK writes it); default: `{uuid}`. It must hold one, so that no run
    /// replays an earlier run's request_id with another payload (SPEC §5.5).
    #[serde(default)]
    pub request_id: Option<String>,
    /// The hardware_id (`hardware_id`, or a fresh one) followed by this text repeated as many
    /// times as the request file, and the deactivation file that gives its seat back, stay
    /// within the profile's `max_body`: the longest hardware_id the server must read (SPEC §3).
    #[serde(default)]
    pub hardware_id_to_cap: Option<String>,
}

fn perpetual() -> Option<String> {
    Some("perpetual".into())
}

impl Default for PayloadTemplate {
    fn default() -> Self {
        PayloadTemplate {
            license: perpetual(),
            license_key: None,
            hardware_id: None,
            product: None,
            style: None,
            date: None,
            fields: serde_json::Map::new(),
            set: BTreeMap::new(),
            remove: Vec::new(),
            duplicate: BTreeMap::new(),
            envelope: BTreeMap::new(),
            inner_signature: SignatureTemplate::Keep,
            outer_signature: SignatureTemplate::Keep,
            shared_key: None,
            api_key: None,
            omit_request_id: false,
            request_id: None,
            hardware_id_to_cap: None,
        }
    }
}

/// How the payload is written into the body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyTemplate {
    /// The request file's Base64 text: `standard` (default), `trailing-newline`, `crlf-76`,
    /// `lf-64`, `bom`, `spaces`, `url-safe`, `unpadded`, `extra-padding`, `double-bom`, `nul`.
    #[serde(default)]
    pub encoding: Option<String>,
    /// `raw` (default), `multipart`, `multipart-no-file`, `multipart-empty-file`,
    /// `multipart-two-files`.
    #[serde(default)]
    pub transport: Option<String>,
    /// This JSON text instead of the builder's payload (Base64-encoded with `encoding`).
    #[serde(default)]
    pub json: Option<String>,
    /// A change to the builder's signed JSON text, the one defect of a case: every signature stays
    /// right over the bytes sent (the schema-2 outer MAC is made again over a changed `request`).
    #[serde(default)]
    pub edit: Option<JsonEdit>,
    /// This body, as is, instead of anything else (`""` for an empty body).
    #[serde(default)]
    pub literal: Option<String>,
    /// This body, given in standard Base64, for bodies that are not UTF-8 text.
    #[serde(default)]
    pub literal_base64: Option<String>,
    /// No body at all.
    #[serde(default)]
    pub omit: bool,
}

/// A change to a signed request file's JSON text (SPEC §3's grammar rules), after which every
/// signature is still right over the bytes sent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum JsonEdit {
    /// This text after the JSON object.
    Append(String),
    /// The JSON object between these two texts.
    Wrap(String, String),
    /// The first `from` replaced with `to`.
    Replace {
        /// The text to find (in the builder's layout: `compact-hex` is compact JSON).
        from: String,
        /// What it becomes.
        to: String,
    },
}

/// What a conforming server answers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// An error of the table: its statuses and codes (with their documented aliases).
    #[serde(default)]
    pub error: Option<String>,
    /// Or any of these codes (each looked up in the table).
    #[serde(default)]
    pub errors: Vec<String>,
    /// A 200 activation answer: the success fields, the request_id echo and the signatures.
    #[serde(default)]
    pub activated: bool,
    /// With `activated`: members the answer carries with exactly these values (SPEC §6; what the
    /// profile's license role promises, e.g. `{"is_trial": true}` for the `trial` role).
    #[serde(default)]
    pub members: serde_json::Map<String, serde_json::Value>,
    /// A 200 `license_deactivated`.
    #[serde(default)]
    pub deactivated: bool,
    /// Accepted up to SPEC §5: a 200 (a signed activation answer, or `license_deactivated`), or a
    /// refusal of SPEC §5's business rules for the endpoint ([`ErrorCode::business`]), never an
    /// earlier refusal (what a request the protocol accepts gets when the target's licenses are
    /// unknown).
    #[serde(default)]
    pub accepted: bool,
}

impl Expectation {
    /// The error codes this expectation accepts (empty for a success).
    pub fn error_codes(&self) -> Result<Vec<ErrorCode>, String> {
        self.error
            .iter()
            .chain(&self.errors)
            .map(|c| ErrorCode::from_code(c).ok_or_else(|| format!("unknown error code {c:?}")))
            .collect()
    }

    /// Checks that exactly one outcome is expected, and that every code is in the table.
    ///
    /// ```
    /// use lsconform::suite::case::Expectation;
    /// let e: Expectation = serde_json::from_str(r#"{"error": "missing_headers"}"#).unwrap();
    /// assert!(e.validate().is_ok());
    /// let two: Expectation = serde_json::from_str(r#"{"error": "missing_headers", "accepted": true}"#).unwrap();
    /// assert!(two.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), String> {
        self.error_codes()?;
        let outcomes = usize::from(self.activated)
            + usize::from(self.deactivated)
            + usize::from(self.accepted)
            + usize::from(self.error.is_some() || !self.errors.is_empty());
        if outcomes != 1 {
            return Err("expect exactly one of error(s), activated, deactivated, accepted".into());
        }
        if !self.members.is_empty() && !self.activated {
            return Err("expect.members goes with activated".into());
        }
        Ok(())
    }
}

/// A case file that sends a request again: its id (`<group>/<slug>`) and its JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFile {
    /// The case's id, its path under a cases directory.
    pub id: String,
    /// The file's text.
    pub text: String,
}

impl CaseFile {
    /// Writes it as `<dir>/<id>.json`, the layout `lsconform run --cases <dir>` reads, and
    /// returns the path.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join(format!("{}.json", self.id));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &self.text)?;
        Ok(path)
    }
}
