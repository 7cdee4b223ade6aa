//! Generated cases: `lsconform run --generated N [--seed S]` sends N requests made by proptest
//! strategies ([`strategies`]) and holds every answer to properties that must hold on any target:
//!
//! 1. [`Property::NoServerError`]: no request, valid or hostile, gets a 5xx (or no answer);
//! 2. [`Property::ErrorShape`]: every error answer has the shape of SPEC §7;
//! 3. [`Property::OracleAgreement`]: a request is accepted exactly when the local oracle
//!    ([`oracle`]: `protocol`'s transport, Base64, JSON, field and signature checks, with the
//!    profile's shared key) accepts it: refused with the oracle's code when it refuses, and when it
//!    accepts, refused with nothing decided before SPEC §5 (the business codes of §5 are fine);
//! 4. [`Property::SignedAnswer`]: an accepted request gets a signed answer of SPEC §6 that echoes it.
//!
//! The requests are valid ones (every [`Style`], random but valid values with non-ASCII and
//! control characters and long strings, extra members of any JSON type, the profile's licenses,
//! odd payload dates, every transport) and hostile ones: semantic mutations re-signed correctly,
//! envelope mutations left broken ([`Mutation`]), and one time in ten changed Date and
//! Authorization headers ([`HeaderMutation`]: left out, skewed, in other forms, other algorithms,
//! pairs left out, another key, any text), judged with `protocol::authenticate` first. Request *i* of a run comes from its own
//! ChaCha RNG seeded with the run's seed and *i*, so a seed reproduces a run. The first request
//! that breaks a property is shrunk with proptest (each step sends the smaller request again) and
//! reported as an ordinary [`CaseResult`] `generated/<property>`, with the decoded payload, the
//! answer and a curl line. A seat an accepted request took is given back with
//! `deactivate_offline` when the profile says the target supports it.
//!
//! ```no_run
//! # async fn demo() {
//! use lsconform::suite::generate::{self, GenerateOptions};
//! use lsconform::suite::{Profile, RunOptions};
//! let profile = Profile::reference("http://127.0.0.1:8080");
//! let options = GenerateOptions::new(200, 42);
//! for result in generate::run(&profile, &options, &RunOptions::default(), |_| {}).await {
//!     println!("{} {:?}", result.id, result.verdict);
//! }
//! # }
//! ```

pub mod strategies;

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::case::{AuthorizationTemplate, DateTemplate, HeadersTemplate, Severity, Tag};
use super::http::{Client, ExchangeError, Response};
use super::judge::{self, Mismatch};
use super::profile::Profile;
use super::render::{for_people, http_date, signed_headers, Prepared};
use super::runner::{Answer, CaseResult, RunOptions, Verdict};
use crate::protocol::{
    authenticate, decode_request, encode_request_file, format_http_date, inner_signature,
    AuthorizationHeader, DecodedRequest, ErrorBody, ErrorCode, Rejection, RequestBuilder, RequestKind, Style,
    Tamper,
};

/// How many requests `lsconform run` generates when `--generated` is not given.
pub const DEFAULT_REQUESTS: usize = 200;

/// After this many requests got no answer at all (refused connection, timeout), the rest are not
/// sent: a target that does not answer costs at most this many timeouts.
const MAX_NO_ANSWER: usize = 3;

/// Shrinking stops after this many steps (each one an exchange with the target) …
const MAX_SHRINK_STEPS: u32 = 1024;
/// … or this long.
const MAX_SHRINK_TIME: Duration = Duration::from_secs(10);

/// What a run of generated cases does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// How many requests (0: none).
    pub requests: usize,
    /// The seed: the same seed, profile and count send the same requests.
    pub seed: u64,
    /// The properties to report (all of them by default; the requests are the same).
    pub properties: Vec<Property>,
}

impl GenerateOptions {
    /// `requests` requests from `seed`, every property.
    pub fn new(requests: usize, seed: u64) -> GenerateOptions {
        GenerateOptions {
            requests,
            seed,
            properties: Property::ALL.to_vec(),
        }
    }
}

/// A seed for a run that was given none.
pub fn random_seed() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

/// A property every generated request must satisfy, on any target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Property {
    /// Never a 5xx, never no answer.
    NoServerError,
    /// Every error answer has the shape of SPEC §7.
    ErrorShape,
    /// Accepted exactly when the oracle accepts; refused with the oracle's code.
    OracleAgreement,
    /// An accepted request gets a signed SPEC §6 answer that echoes it.
    SignedAnswer,
}

impl Property {
    /// Every property.
    pub const ALL: [Property; 4] = [
        Property::NoServerError,
        Property::ErrorShape,
        Property::OracleAgreement,
        Property::SignedAnswer,
    ];

    /// Its case id.
    ///
    /// ```
    /// use lsconform::suite::generate::Property;
    /// assert_eq!(Property::OracleAgreement.id(), "generated/oracle-agreement");
    /// ```
    pub const fn id(self) -> &'static str {
        match self {
            Property::NoServerError => "generated/no-server-error",
            Property::ErrorShape => "generated/error-shape",
            Property::OracleAgreement => "generated/oracle-agreement",
            Property::SignedAnswer => "generated/signed-answer",
        }
    }

    /// One line.
    pub const fn title(self) -> &'static str {
        match self {
            Property::NoServerError => "No generated request, valid or hostile, gets a 5xx or no answer",
            Property::ErrorShape => {
                "Every error answer to a generated request is {status, code, message} with the HTTP status"
            }
            Property::OracleAgreement => {
                "A generated request is accepted exactly when protocol accepts it, else refused with its code"
            }
            Property::SignedAnswer => {
                "An accepted generated request gets a signed SPEC §6 answer that echoes what was sent"
            }
        }
    }

    /// The rule it holds the target to (for [`Property::OracleAgreement`], the rule at stake
    /// depends on the request: see [`GeneratedCase::rule`]).
    pub const fn rule(self) -> Rule {
        match self {
            Property::NoServerError => Rule::new("§7", Tag::Pinned, true, "never a 5xx"),
            Property::ErrorShape => Rule::new("§7", Tag::Docs, false, "the error answer's shape"),
            Property::OracleAgreement => Rule::new("§4", Tag::Sdk, false, "what the SDKs send is accepted"),
            Property::SignedAnswer => Rule::new("§6", Tag::Docs, false, "the success answer"),
        }
    }
}

/// Keeps the properties whose id matches one of `only` (all when empty) and none of `skip`
/// (globs, as `lsconform run --only/--skip`).
///
/// ```
/// use lsconform::suite::generate::{select_properties, Property};
/// let all = select_properties(&[], &[]).unwrap();
/// assert_eq!(all, Property::ALL.to_vec());
/// let none = select_properties(&["envelope/*".into()], &[]).unwrap();
/// assert!(none.is_empty());
/// let one = select_properties(&["generated/*".into()], &["*shape*".into(), "*error*".into(), "*signed*".into()]).unwrap();
/// assert_eq!(one, vec![Property::OracleAgreement]);
/// ```
pub fn select_properties(only: &[String], skip: &[String]) -> Result<Vec<Property>, String> {
    let set = |globs: &[String]| -> Result<globset::GlobSet, String> {
        let mut b = globset::GlobSetBuilder::new();
        for g in globs {
            b.add(globset::Glob::new(g).map_err(|e| format!("{g:?}: {e}"))?);
        }
        b.build().map_err(|e| e.to_string())
    };
    let (only_set, skip_set) = (set(only)?, set(skip)?);
    Ok(Property::ALL
        .into_iter()
        .filter(|p| (only.is_empty() || only_set.is_match(p.id())) && !skip_set.is_match(p.id()))
        .collect())
}

/// A rule of SPEC: its section, its tag, whether it is a safety property, and a few words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The section, e.g. `§3`.
    pub spec: &'static str,
    /// The tag.
    pub tag: Tag,
    /// A safety property (a `[pinned]` one is then MUST).
    pub safety: bool,
    /// What it is about.
    pub what: &'static str,
    /// SPEC says SHOULD where its tag alone would make it MUST.
    pub should: bool,
}

impl Rule {
    const fn new(spec: &'static str, tag: Tag, safety: bool, what: &'static str) -> Rule {
        Rule {
            spec,
            tag,
            safety,
            what,
            should: false,
        }
    }

    /// The same rule, which SPEC words as SHOULD.
    const fn should(self) -> Rule {
        Rule { should: true, ..self }
    }

    /// MUST or SHOULD, by SPEC's table (or SPEC's own SHOULD).
    pub fn severity(&self) -> Severity {
        if self.should {
            Severity::Should
        } else {
            self.tag.severity(self.safety)
        }
    }
}

// ------------------------------------------------------------------ the generated request

/// One generated request, before it is written: what [`strategies::generated_request`] makes and
/// shrinks. [`render`](GeneratedRequest::render) writes it for a target.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedRequest {
    /// The endpoint: `activate_offline`, or one time in ten `deactivate_offline`, which takes the
    /// same envelope (SPEC §1).
    pub kind: RequestKind,
    /// The layout.
    pub style: Style,
    /// The license.
    pub license: LicenseChoice,
    /// The hardware id's text (`#<index>` is appended, so every request of a run has its own).
    pub hardware_id: String,
    /// The product.
    pub product: ProductChoice,
    /// The payload `date`.
    pub date: DateChoice,
    /// Whether the file carries a `request_id` (derived from the seed, the index and the request).
    pub request_id: bool,
    /// Extra members of the flat object, in order.
    pub extras: Vec<(String, Value)>,
    /// How the Base64 text is written.
    pub encoding: Encoding,
    /// How the body carries it.
    pub transport: TransportChoice,
    /// What is changed or broken in the payload.
    pub mutation: Mutation,
    /// What is changed or broken in the Date and Authorization headers.
    pub headers: HeaderMutation,
}

/// A pair of the Authorization header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthPair {
    /// `algorithm`.
    Algorithm,
    /// `headers`.
    Headers,
    /// `signature`.
    Signature,
    /// `apikey`.
    ApiKey,
}

/// What a generated request changes in its `Date` and `Authorization` headers (SPEC §1 and §2).
/// Each is written as a case's header template ([`HeaderMutation::template`]), so a finding replays
/// with exactly these headers, signed afresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderMutation {
    /// Nothing: the docs' form, signed, dated now.
    None,
    /// A required header left out (both when both are true).
    Omit {
        /// No Date.
        date: bool,
        /// No Authorization.
        authorization: bool,
    },
    /// The Date this many seconds away from now, signed (SPEC §2: up to 15 minutes is fine; the
    /// strategy keeps clear of the edge).
    DateSkew(i64),
    /// The Date in another form, signed over its text.
    DateForm(DateForm),
    /// The Date is this text, signed over it.
    DateText(String),
    /// The pairs as real clients write them: `apiKey`, spaces after the commas, another order.
    ClientForm {
        /// `apiKey` rather than `apikey`.
        camel_case: bool,
        /// A space after each comma.
        spaces: bool,
        /// The pairs rotated by this many places.
        rotate: usize,
    },
    /// Another algorithm than `hmac-sha256`.
    Algorithm(String),
    /// A pair left out.
    DropPair(AuthPair),
    /// The header's HMAC made with another shared key.
    WrongSharedKey,
    /// An API key the target does not know.
    UnknownApiKey(String),
    /// The Authorization header is this text.
    AuthorizationText(String),
}

impl HeaderMutation {
    /// The case's header template that writes these headers.
    ///
    /// ```
    /// use lsconform::suite::case::{DateTemplate, HeadersTemplate};
    /// use lsconform::suite::generate::HeaderMutation;
    /// assert_eq!(HeaderMutation::None.template(), HeadersTemplate::default());
    /// let skew = HeaderMutation::DateSkew(-1200).template();
    /// assert_eq!(skew.date, DateTemplate::Now { offset_seconds: -1200, form: None });
    /// ```
    pub fn template(&self) -> HeadersTemplate {
        let authorization = |t: String| HeadersTemplate {
            authorization: AuthorizationTemplate::Template(t),
            ..HeadersTemplate::default()
        };
        let date = |d: DateTemplate| HeadersTemplate {
            date: d,
            ..HeadersTemplate::default()
        };
        match self {
            HeaderMutation::None => HeadersTemplate::default(),
            HeaderMutation::Omit {
                date: no_date,
                authorization: no_authorization,
            } => HeadersTemplate {
                date: if *no_date {
                    DateTemplate::Omit
                } else {
                    DateTemplate::default()
                },
                authorization: if *no_authorization {
                    AuthorizationTemplate::Omit
                } else {
                    AuthorizationTemplate::default()
                },
                ..HeadersTemplate::default()
            },
            HeaderMutation::DateSkew(s) => date(DateTemplate::Now {
                offset_seconds: *s,
                form: None,
            }),
            HeaderMutation::DateForm(f) => date(DateTemplate::Now {
                offset_seconds: 0,
                form: Some(f.name().to_owned()),
            }),
            HeaderMutation::DateText(t) => date(DateTemplate::Literal(t.clone())),
            HeaderMutation::ClientForm {
                camel_case,
                spaces,
                rotate,
            } => {
                let mut pairs = Self::pairs(if *camel_case { "apiKey" } else { "apikey" });
                let places = rotate % pairs.len();
                pairs.rotate_left(places);
                authorization(pairs.join(if *spaces { ", " } else { "," }))
            }
            HeaderMutation::Algorithm(a) => {
                let mut pairs = Self::pairs("apikey");
                pairs[0] = format!("algorithm=\"{a}\"");
                authorization(pairs.join(","))
            }
            HeaderMutation::DropPair(p) => {
                let mut pairs = Self::pairs("apikey");
                pairs.remove(*p as usize);
                authorization(pairs.join(","))
            }
            HeaderMutation::WrongSharedKey => HeadersTemplate {
                authorization: AuthorizationTemplate::Signed {
                    shared_key: Some("lsconform-wrong-shared-key".into()),
                    api_key: None,
                },
                ..HeadersTemplate::default()
            },
            HeaderMutation::UnknownApiKey(key) => HeadersTemplate {
                authorization: AuthorizationTemplate::Signed {
                    shared_key: None,
                    api_key: Some(key.clone()),
                },
                ..HeadersTemplate::default()
            },
            HeaderMutation::AuthorizationText(t) => authorization(t.clone()),
        }
    }

    /// The docs' four pairs, in [`AuthPair`]'s order, as a template.
    fn pairs(api_key_name: &str) -> Vec<String> {
        vec![
            "algorithm=\"hmac-sha256\"".to_owned(),
            "headers=\"date\"".to_owned(),
            "signature=\"{signature}\"".to_owned(),
            format!("{api_key_name}=\"{{api_key}}\""),
        ]
    }

    /// The rule the mutation tests (SPEC §1 and §2).
    fn rule(&self) -> Rule {
        let docs = |what| Rule::new("§2", Tag::Docs, false, what);
        match self {
            HeaderMutation::None => Rule::new("§2", Tag::Docs, false, "the Authorization header"),
            HeaderMutation::Omit { .. } => Rule::new(
                "§1",
                Tag::Seed,
                false,
                "the required Date and Authorization headers",
            ),
            HeaderMutation::DateSkew(s) if s.unsigned_abs() <= 15 * 60 => {
                docs("a Date up to 15 minutes from the server clock is accepted")
            }
            HeaderMutation::DateSkew(s) if *s > 0 => {
                Rule::new("§2", Tag::Pinned, true, "a Date more than 15 minutes ahead")
            }
            HeaderMutation::DateSkew(_) => docs("a Date more than 15 minutes old"),
            HeaderMutation::DateForm(DateForm::Imf) => docs("an IMF-fixdate Date"),
            HeaderMutation::DateForm(DateForm::JavaScript) | HeaderMutation::DateText(_) => {
                docs("a Date that is not an HTTP date")
            }
            HeaderMutation::DateForm(_) => docs("RFC 850, asctime and UTC Dates").should(),
            HeaderMutation::ClientForm { .. } => {
                Rule::new("§2", Tag::Sdk, false, "the Authorization forms real clients send")
            }
            HeaderMutation::Algorithm(_) => docs("an algorithm other than hmac-sha256"),
            HeaderMutation::DropPair(_) => docs("a pair missing from the Authorization header"),
            HeaderMutation::WrongSharedKey => docs("the Authorization header's HMAC"),
            HeaderMutation::UnknownApiKey(_) => docs("an unknown API key"),
            HeaderMutation::AuthorizationText(_) => {
                docs("an Authorization header that is not name=\"value\" pairs")
            }
        }
    }
}

/// The license of a generated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenseChoice {
    /// One of the profile's licenses.
    Role {
        /// The role (`perpetual`, …).
        role: String,
        /// Its key.
        key: String,
    },
    /// A license key the target does not know (refused with a business code).
    Key(String),
    /// The profile's user-based license.
    User {
        /// `username`.
        username: String,
        /// `password`, when sent.
        password: Option<String>,
    },
}

impl LicenseChoice {
    fn value(&self) -> &str {
        match self {
            LicenseChoice::Role { key, .. } | LicenseChoice::Key(key) => key,
            LicenseChoice::User { username, .. } => username,
        }
    }
}

/// The product of a generated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductChoice {
    /// The profile's product.
    Profile(String),
    /// The profile's other product.
    Other(String),
    /// A product the target does not know.
    Unknown(String),
}

impl ProductChoice {
    fn code(&self) -> &str {
        match self {
            ProductChoice::Profile(c) | ProductChoice::Other(c) | ProductChoice::Unknown(c) => c,
        }
    }
}

/// The payload `date` (SPEC §4: opaque text, never a reason to refuse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateChoice {
    /// The time of the run, in the style's form.
    Now,
    /// Days before the run, in a form.
    DaysAgo {
        /// How many days.
        days_ago: u32,
        /// The form.
        form: DateForm,
    },
    /// Any text.
    Text(String),
}

/// A form of date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateForm {
    /// `Thu, 17 Nov 2022 20:51:35 GMT`.
    Imf,
    /// `Thu, 17 Nov 2022 20:51:35 UTC`.
    ImfUtc,
    /// `Thursday, 17-Nov-22 20:51:35 GMT`.
    Rfc850,
    /// `Thu Nov 17 20:51:35 2022`.
    Asctime,
    /// `Thu Nov 17 2022 20:51:35 GMT+0000` (the Node SDK's).
    JavaScript,
}

impl DateForm {
    /// Its name in a case's date template.
    pub const fn name(self) -> &'static str {
        match self {
            DateForm::Imf => "imf",
            DateForm::ImfUtc => "imf-utc",
            DateForm::Rfc850 => "rfc850",
            DateForm::Asctime => "asctime",
            DateForm::JavaScript => "javascript",
        }
    }

    fn format(self, time: SystemTime) -> String {
        http_date(time, Some(self.name())).unwrap_or_else(|_| format_http_date(time))
    }
}

/// How the Base64 text is written (SPEC §3: whitespace and one leading BOM are ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// One line, padded.
    Standard,
    /// With a trailing LF (the Python SDK's `print`).
    TrailingNewline,
    /// Lines of 76 ending in CRLF.
    Crlf76,
    /// Lines of 64 ending in LF.
    Lf64,
    /// A UTF-8 byte-order mark first.
    Bom,
    /// Spaces and tabs every 16 characters.
    Spaces,
}

impl Encoding {
    fn apply(self, standard: &str) -> Vec<u8> {
        let wrap = |width: usize, eol: &str| {
            let lines: Vec<&[u8]> = standard.as_bytes().chunks(width).collect();
            let mut out = lines.join(eol.as_bytes());
            out.extend_from_slice(eol.as_bytes());
            out
        };
        match self {
            Encoding::Standard => standard.as_bytes().to_vec(),
            Encoding::TrailingNewline => format!("{standard}\n").into_bytes(),
            Encoding::Crlf76 => wrap(76, "\r\n"),
            Encoding::Lf64 => wrap(64, "\n"),
            Encoding::Bom => [b"\xEF\xBB\xBF".as_slice(), standard.as_bytes()].concat(),
            Encoding::Spaces => wrap(16, " \t "),
        }
    }
}

/// How the body carries the request file (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportChoice {
    /// Raw, `Content-Type: text/plain` (the SDKs).
    TextPlain,
    /// Raw, no Content-Type.
    NoContentType,
    /// Raw, `application/x-www-form-urlencoded` (curl's `--data`).
    FormUrlEncoded,
    /// Raw, `application/octet-stream`.
    OctetStream,
    /// `multipart/form-data`, the file in the part named `file`.
    Multipart,
}

/// What a mutated `request` member says, for a file of one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum KindValue {
    /// The other endpoint's kind (`deactivation` in an activation file): a file replayed across
    /// endpoints.
    Other,
    /// The right word, spelt otherwise.
    Misspelt(Misspelling),
    /// This JSON value.
    Value(Value),
}

/// How the right `request` word is spelt otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misspelling {
    /// `Activation`.
    Capitalised,
    /// `ACTIVATION`.
    Upper,
    /// ` activation`.
    LeadingSpace,
    /// `activation `.
    TrailingSpace,
    /// `activation` and a NUL.
    TrailingNul,
    /// `activate`.
    Verb,
}

impl KindValue {
    /// The member's value in a file of `kind`.
    ///
    /// ```
    /// use lsconform::protocol::RequestKind;
    /// use lsconform::suite::generate::{KindValue, Misspelling};
    /// assert_eq!(KindValue::Other.value(RequestKind::Activation), "deactivation");
    /// assert_eq!(KindValue::Misspelt(Misspelling::Verb).value(RequestKind::Deactivation), "deactivate");
    /// ```
    pub fn value(&self, kind: RequestKind) -> Value {
        let word = kind.as_str();
        Value::from(match self {
            KindValue::Other => match kind {
                RequestKind::Activation => RequestKind::Deactivation.as_str().to_owned(),
                RequestKind::Deactivation => RequestKind::Activation.as_str().to_owned(),
            },
            KindValue::Misspelt(Misspelling::Capitalised) => {
                let mut chars = word.chars();
                chars
                    .next()
                    .map(|c| c.to_uppercase().chain(chars).collect())
                    .unwrap_or_default()
            }
            KindValue::Misspelt(Misspelling::Upper) => word.to_uppercase(),
            KindValue::Misspelt(Misspelling::LeadingSpace) => format!(" {word}"),
            KindValue::Misspelt(Misspelling::TrailingSpace) => format!("{word} "),
            KindValue::Misspelt(Misspelling::TrailingNul) => format!("{word}\0"),
            KindValue::Misspelt(Misspelling::Verb) => word.trim_end_matches("ion").to_owned() + "e",
            KindValue::Value(v) => return v.clone(),
        })
    }
}

/// A member of the flat object the protocol reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `license_key`, or `username` for a user-based license.
    Licensee,
    /// `hardware_id`.
    HardwareId,
    /// `product`.
    Product,
    /// `date`.
    Date,
    /// `api_key`.
    ApiKey,
    /// The inner `signature`.
    InnerSignature,
    /// `request_id`.
    RequestId,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 7] = [
        Field::Licensee,
        Field::HardwareId,
        Field::Product,
        Field::Date,
        Field::ApiKey,
        Field::InnerSignature,
        Field::RequestId,
    ];

    fn name(self, license: &LicenseChoice) -> &'static str {
        match self {
            Field::Licensee => match license {
                LicenseChoice::User { .. } => "username",
                _ => "license_key",
            },
            Field::HardwareId => "hardware_id",
            Field::Product => "product",
            Field::Date => "date",
            Field::ApiKey => "api_key",
            Field::InnerSignature => "signature",
            Field::RequestId => "request_id",
        }
    }

    /// SPEC §4: the seed names license_key/username, hardware_id and api_key; product, date and
    /// the signature are this project's [pinned] decision; request_id is optional.
    fn rule(self) -> Rule {
        match self {
            Field::Licensee | Field::HardwareId | Field::ApiKey => {
                Rule::new("§4", Tag::Seed, false, "a missing required member")
            }
            Field::RequestId => Rule::new("§4", Tag::Sdk, false, "request_id is optional"),
            _ => Rule::new("§4", Tag::Pinned, false, "a missing product, date or signature"),
        }
    }
}

/// A place in a sequence of any length: a fraction of it, so that a request shrinks towards the
/// start of the text it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position(pub u64);

impl Position {
    /// The place in a sequence of `len` items (`len` > 0): below `len`.
    ///
    /// ```
    /// use lsconform::suite::generate::Position;
    /// assert_eq!(Position(0).index(10), 0);
    /// assert_eq!(Position(u64::MAX).index(10), 9);
    /// ```
    pub fn index(self, len: usize) -> usize {
        ((u128::from(self.0) * len as u128) >> 64) as usize
    }
}

/// What is written in place of a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureTamper {
    /// The right one with its first character changed (still well-formed).
    Corrupt,
    /// The right one in upper case (hex MACs are lowercase only; Base64 is case-sensitive).
    Uppercase,
    /// This text.
    Replace(String),
    /// A JSON value that is not a string.
    NotAString(Value),
}

/// Where the padding goes wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Padding {
    /// The `=` removed (or one added when there was none).
    Strip,
    /// This many `=` more.
    Extra(usize),
    /// A `=` inside the text.
    Inside(Position),
}

/// What the decoded JSON is made into instead of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrap {
    /// `[<object>]`.
    Array,
    /// The object's text as a JSON string.
    String,
    /// `null`.
    Null,
    /// `42`.
    Number,
    /// The object twice in a row.
    Twice,
}

impl Wrap {
    fn apply(self, json: &[u8]) -> Vec<u8> {
        match self {
            Wrap::Array => [b"[".as_slice(), json, b"]"].concat(),
            Wrap::String => serde_json::to_vec(&String::from_utf8_lossy(json)).unwrap_or_default(),
            Wrap::Null => b"null".to_vec(),
            Wrap::Number => b"42".to_vec(),
            Wrap::Twice => [json, json].concat(),
        }
    }
}

/// What a generated request changes or breaks. The semantic mutations are applied through the
/// request builder, so the signatures cover them; the envelope mutations change the written file
/// after signing and leave it broken.
#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    /// Nothing: a valid request.
    None,
    /// Semantic: the `request` member set to this (SPEC §4, `validation_error`).
    RequestKind(KindValue),
    /// Semantic: a member removed.
    Remove(Field),
    /// Semantic: a member set to `null`.
    Null(Field),
    /// Semantic: a member set to a value of another type.
    WrongType {
        /// Which member.
        field: Field,
        /// Its value.
        value: Value,
    },
    /// Semantic: a member set to `""`.
    Empty(Field),
    /// Semantic: a member written twice (SPEC §3).
    Duplicate {
        /// Which member.
        field: Field,
        /// The second copy has the same value.
        same_value: bool,
    },
    /// Semantic: an extra member written twice (one is added when there is none).
    DuplicateExtra {
        /// Which extra member.
        at: Position,
        /// The second copy has the same value.
        same_value: bool,
    },
    /// Semantic: an API key the target does not know, in the payload.
    UnknownApiKey(String),
    /// Semantic: a member nested this deep (SPEC §3: deeper than 32 is refused).
    Deep {
        /// Levels of arrays or objects in the member's value.
        depth: usize,
        /// Arrays, or objects.
        arrays: bool,
        /// In the schema-2 envelope rather than in the flat object.
        in_envelope: bool,
    },
    /// Semantic: an extra member of the schema-2 envelope.
    EnvelopeMember {
        /// Its name.
        name: String,
        /// Its value.
        value: Value,
    },
    /// Envelope: a byte of the Base64 text XORed with a mask.
    Base64Flip {
        /// Where.
        at: Position,
        /// The mask (never 0).
        mask: u8,
    },
    /// Envelope: a byte of the Base64 text removed.
    Base64Remove(Position),
    /// Envelope: a byte inserted into the Base64 text.
    Base64Insert {
        /// Where.
        at: Position,
        /// What.
        byte: u8,
    },
    /// Envelope: the URL-safe alphabet (`-` and `_`).
    UrlSafe,
    /// Envelope: the Base64 text cut short.
    Truncate(Position),
    /// Envelope: wrong padding.
    BadPadding(Padding),
    /// Envelope: the inner signature broken (the outer MAC still covers the broken one).
    CorruptInner(SignatureTamper),
    /// Envelope: the schema-2 outer MAC broken.
    CorruptOuter(SignatureTamper),
    /// Envelope: a byte of the decoded JSON XORed with a mask.
    JsonFlip {
        /// Where.
        at: Position,
        /// The mask (never 0).
        mask: u8,
    },
    /// Envelope: text after the JSON object.
    JunkAfterJson(String),
    /// Envelope: JSON that is not one object.
    NotAnObject(Wrap),
}

impl Mutation {
    /// The rule the mutation tests; what a server breaks when it answers otherwise than the oracle.
    fn rule(&self, style: Style) -> Rule {
        let base64 = Rule::new("§3", Tag::Seed, false, "not proper Base64");
        match self {
            Mutation::None => Rule::new("§4", Tag::Sdk, false, "what the SDKs send is accepted"),
            Mutation::RequestKind(_) => Rule::new("§4", Tag::Pinned, true, "the request member"),
            Mutation::Remove(f) | Mutation::Null(f) => match (f, style) {
                (Field::InnerSignature, Style::Schema1) => f.rule(),
                (Field::InnerSignature, _) => Rule::new(
                    "§4",
                    Tag::Sdk,
                    false,
                    "the inner signature is optional in schema 2",
                ),
                _ => f.rule(),
            },
            Mutation::WrongType { .. } | Mutation::Empty(_) => Rule::new(
                "§4",
                Tag::Pinned,
                false,
                "a required member of the wrong type or empty",
            ),
            Mutation::Duplicate { .. } | Mutation::DuplicateExtra { .. } => {
                Rule::new("§3", Tag::Pinned, true, "a duplicated key")
            }
            Mutation::UnknownApiKey(_) => Rule::new("§4", Tag::Pinned, false, "an unknown api_key"),
            Mutation::Deep { .. } => Rule::new("§3", Tag::Pinned, true, "nesting deeper than 32"),
            Mutation::EnvelopeMember { .. } => {
                Rule::new("§4", Tag::Pinned, false, "an extra member of the envelope")
            }
            Mutation::Base64Flip { .. } | Mutation::Base64Remove(_) | Mutation::Truncate(_) => base64,
            Mutation::Base64Insert {
                byte: b' ' | b'\t' | b'\r' | b'\n',
                ..
            } => Rule::new(
                "§3",
                Tag::Pinned,
                true,
                "whitespace in the Base64 text is ignored",
            ),
            Mutation::Base64Insert { .. } => base64,
            Mutation::UrlSafe => Rule::new("§3", Tag::Pinned, true, "the URL-safe alphabet"),
            Mutation::BadPadding(_) => Rule::new("§3", Tag::Pinned, true, "Base64 padding"),
            Mutation::CorruptInner(_) | Mutation::CorruptOuter(_) => {
                Rule::new("§4", Tag::Docs, false, "a signature mismatch")
            }
            Mutation::JsonFlip { .. } | Mutation::JunkAfterJson(_) | Mutation::NotAnObject(_) => {
                Rule::new("§3", Tag::Seed, false, "one JSON object")
            }
        }
    }

    fn on_base64(&self) -> bool {
        matches!(
            self,
            Mutation::Base64Flip { .. }
                | Mutation::Base64Remove(_)
                | Mutation::Base64Insert { .. }
                | Mutation::UrlSafe
                | Mutation::Truncate(_)
                | Mutation::BadPadding(_)
        )
    }
}

/// A generated request written for a target: the exact bytes, and what the oracle makes of them.
#[derive(Debug, Clone)]
pub struct GeneratedCase {
    /// Its place in the run.
    pub index: usize,
    /// What it was made from.
    pub value: GeneratedRequest,
    /// The request (headers signed at the time it was written).
    pub request: Prepared,
    /// What the oracle says: `Ok` when a conforming server accepts the request up to SPEC §5.
    pub oracle: Result<(), Rejection>,
}

impl GeneratedCase {
    /// The rule a server breaks when it answers this request otherwise than the oracle.
    pub fn rule(&self) -> Rule {
        let v = &self.value;
        if v.headers != HeaderMutation::None {
            return v.headers.rule();
        }
        match (&v.mutation, &self.oracle) {
            (Mutation::None, _) if matches!(v.date, DateChoice::DaysAgo { .. } | DateChoice::Text(_)) => {
                Rule::new("§4", Tag::Pinned, false, "an old or odd payload date is accepted")
            }
            (Mutation::None, _) if v.encoding != Encoding::Standard => Rule::new(
                "§3",
                Tag::Pinned,
                true,
                "whitespace and a BOM in the Base64 text are ignored",
            ),
            (Mutation::None, _) if v.transport != TransportChoice::TextPlain => {
                Rule::new("§3", Tag::Seed, false, "raw or multipart, any content type")
            }
            (m, _) => m.rule(v.layout()),
        }
    }
}

const BOUNDARY: &str = "lsconform-generated-5e2a";

fn multipart(text: &[u8]) -> Vec<u8> {
    [
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ls_activation.req\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
        text,
        format!("\r\n--{BOUNDARY}--\r\n").as_bytes(),
    ]
    .concat()
}

fn nested(depth: usize, arrays: bool) -> Value {
    let mut v = if arrays {
        Value::Array(vec![])
    } else {
        Value::Object(Default::default())
    };
    for _ in 1..depth {
        v = if arrays {
            Value::Array(vec![v])
        } else {
            Value::Object([("a".to_owned(), v)].into_iter().collect())
        };
    }
    v
}

impl GeneratedRequest {
    /// Writes the request for `profile`'s target as request `index` of a run from `seed`, at
    /// `now` (the payload date and the signed headers). The same arguments write the same bytes.
    /// Fails only when the profile has no credentials.
    pub fn render(
        &self,
        profile: &Profile,
        index: usize,
        seed: u64,
        now: SystemTime,
    ) -> Result<GeneratedCase, String> {
        self.render_at(profile, index, seed, now, now)
    }

    /// A request id derived from the seed, the index, the request and the payload time: the same
    /// run writes the same one, another request (a shrinking step) another one.
    fn request_id_for(&self, seed: u64, index: usize, payload_time: SystemTime) -> String {
        let mut h = Sha256::new();
        h.update(b"lsconform generated request_id\n");
        h.update(seed.to_le_bytes());
        h.update((index as u64).to_le_bytes());
        let secs = payload_time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        h.update(secs.to_le_bytes());
        h.update(format!("{self:?}").as_bytes());
        let digest = h.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
    }

    fn render_at(
        &self,
        profile: &Profile,
        index: usize,
        seed: u64,
        payload_time: SystemTime,
        header_time: SystemTime,
    ) -> Result<GeneratedCase, String> {
        let c = profile
            .credentials
            .as_ref()
            .ok_or("generated requests need api_key and shared_key in the profile")?;
        let hardware_id = format!("{}#{index}", self.hardware_id);
        let date = match &self.date {
            DateChoice::Now => self.layout().date(payload_time),
            DateChoice::DaysAgo { days_ago, form } => form.format(
                payload_time
                    .checked_sub(Duration::from_secs(u64::from(*days_ago) * 86_400))
                    .unwrap_or(SystemTime::UNIX_EPOCH),
            ),
            DateChoice::Text(text) => text.clone(),
        };
        let request_id = self
            .request_id
            .then(|| self.request_id_for(seed, index, payload_time));
        let product = self.product.code();
        let licensee = self.license.value();
        let mut b = RequestBuilder::new(self.kind)
            .style(self.layout())
            .hardware_id(&hardware_id)
            .product(product)
            .date(&date);
        b = match &self.license {
            LicenseChoice::Role { key, .. } | LicenseChoice::Key(key) => b.license_key(key),
            LicenseChoice::User { username, password } => {
                let b = b.username(username);
                match password {
                    Some(p) => b.password(p),
                    None => b,
                }
            }
        };
        if let Some(id) = &request_id {
            b = b.request_id(id);
        }
        for (name, value) in &self.extras {
            b = b.field(name, value.clone());
        }
        if self.mutation == Mutation::UrlSafe {
            // Five `~` in a row hold a whole Base64 group `fn5+`: the URL-safe text always differs
            // from the standard one (`fn5-`), whatever the other values.
            b = b.field("lsconform_url_safe", "~~~~~~");
        }
        let inner = || inner_signature(&c.shared_key, &date, licensee, &hardware_id, &c.api_key);
        let current = |f: Field| -> Value {
            Value::from(match f {
                Field::Licensee => licensee.to_owned(),
                Field::HardwareId => hardware_id.clone(),
                Field::Product => product.to_owned(),
                Field::Date => date.clone(),
                Field::ApiKey => c.api_key.clone(),
                Field::InnerSignature => inner(),
                Field::RequestId => request_id.clone().unwrap_or_default(),
            })
        };
        let other = Value::from("lsconform-other-value");
        match &self.mutation {
            Mutation::RequestKind(v) => b = b.set("request", v.value(self.kind)),
            Mutation::Remove(Field::InnerSignature) => b = b.inner_signature(Tamper::Omit),
            Mutation::Remove(f) => b = b.remove(f.name(&self.license)),
            Mutation::Null(f) => b = b.set(f.name(&self.license), Value::Null),
            Mutation::WrongType { field, value } => b = b.set(field.name(&self.license), value.clone()),
            Mutation::Empty(f) => b = b.set(f.name(&self.license), ""),
            Mutation::Duplicate { field, same_value } => {
                let value = if *same_value { current(*field) } else { other };
                b = b.duplicate(field.name(&self.license), value);
            }
            Mutation::DuplicateExtra { at, same_value } => match self.extras.len() {
                0 => {
                    let value = if *same_value {
                        Value::from("lsconform")
                    } else {
                        other
                    };
                    b = b.field("hostname", "lsconform").duplicate("hostname", value);
                }
                n => {
                    let (name, value) = &self.extras[at.index(n)];
                    b = b.duplicate(name, if *same_value { value.clone() } else { other });
                }
            },
            Mutation::UnknownApiKey(key) => {
                let key = if *key == c.api_key {
                    format!("{key}-unknown")
                } else {
                    key.clone()
                };
                b = b.set("api_key", key);
            }
            Mutation::Deep {
                depth,
                arrays,
                in_envelope,
            } => {
                let value = nested(*depth, *arrays);
                b = if *in_envelope {
                    b.envelope_member("lsconform_nested", value)
                } else {
                    b.field("lsconform_nested", value)
                };
            }
            Mutation::EnvelopeMember { name, value } => b = b.envelope_member(name, value.clone()),
            Mutation::CorruptInner(t) => {
                b = match t {
                    SignatureTamper::Corrupt => b.inner_signature(Tamper::Corrupt),
                    SignatureTamper::Uppercase => b.inner_signature(Tamper::Replace(inner().to_uppercase())),
                    SignatureTamper::Replace(text) => b.inner_signature(Tamper::Replace(text.clone())),
                    SignatureTamper::NotAString(v) => b.set("signature", v.clone()),
                }
            }
            Mutation::CorruptOuter(t) => {
                b = match t {
                    SignatureTamper::Corrupt => b.outer_signature(Tamper::Corrupt),
                    SignatureTamper::Uppercase => {
                        let right = b.sign(&c.api_key, &c.shared_key);
                        let mac = decode_request(None, right.text.as_bytes())
                            .ok()
                            .and_then(|d| d.outer_signature)
                            .unwrap_or_default();
                        b.outer_signature(Tamper::Replace(mac.to_uppercase()))
                    }
                    SignatureTamper::Replace(text) => b.outer_signature(Tamper::Replace(text.clone())),
                    SignatureTamper::NotAString(v) => b.envelope_member("signature", v.clone()),
                }
            }
            _ => {}
        }
        let file = b.sign(&c.api_key, &c.shared_key);
        let mut json = file.json;
        match &self.mutation {
            Mutation::JsonFlip { at, mask } if !json.is_empty() => {
                let i = at.index(json.len());
                json[i] ^= *mask;
            }
            Mutation::JunkAfterJson(junk) => json.extend_from_slice(junk.as_bytes()),
            Mutation::NotAnObject(wrap) => json = wrap.apply(&json),
            _ => {}
        }
        let standard = encode_request_file(&json);
        let mut text = match &self.mutation {
            Mutation::UrlSafe => base64::engine::general_purpose::URL_SAFE
                .encode(&json)
                .into_bytes(),
            m if m.on_base64() => standard.into_bytes(),
            _ => self.encoding.apply(&standard),
        };
        match &self.mutation {
            Mutation::Base64Flip { at, mask } if !text.is_empty() => {
                let i = at.index(text.len());
                text[i] ^= *mask;
            }
            Mutation::Base64Remove(at) if !text.is_empty() => {
                text.remove(at.index(text.len()));
            }
            Mutation::Base64Insert { at, byte } => text.insert(at.index(text.len() + 1), *byte),
            Mutation::Truncate(at) if !text.is_empty() => text.truncate(at.index(text.len())),
            Mutation::BadPadding(Padding::Strip) => {
                let padded = text.len();
                while text.last() == Some(&b'=') {
                    text.pop();
                }
                if text.len() == padded {
                    text.push(b'=');
                }
            }
            Mutation::BadPadding(Padding::Extra(n)) => text.extend(std::iter::repeat_n(b'=', *n)),
            Mutation::BadPadding(Padding::Inside(at)) => text.insert(at.index(text.len() + 1), b'='),
            _ => {}
        }
        let (content_type, body) = match self.transport {
            TransportChoice::TextPlain => (Some("text/plain".to_owned()), text),
            TransportChoice::NoContentType => (None, text),
            TransportChoice::FormUrlEncoded => (Some("application/x-www-form-urlencoded".to_owned()), text),
            TransportChoice::OctetStream => (Some("application/octet-stream".to_owned()), text),
            TransportChoice::Multipart => (
                Some(format!("multipart/form-data; boundary={BOUNDARY}")),
                multipart(&text),
            ),
        };
        let mut headers = signed_headers(&self.headers.template(), Some(c), header_time)?;
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_bytes().to_vec())
        };
        let (authorization, date) = (header("Authorization"), header("Date"));
        if let Some(ct) = &content_type {
            headers.push(("Content-Type".to_owned(), ct.clone()));
        }
        let decoded = decode_request(content_type.as_deref(), &body);
        let oracle = oracle_of(
            profile,
            self.kind,
            body.len(),
            Some((authorization.as_deref(), date.as_deref(), header_time)),
            &decoded,
        );
        // What a conforming server reads (an empty value is an absent one), for the echo checks
        // of SPEC §6.
        let present = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        let (read_hw, read_id, read_licensee) = match decoded {
            Ok(d) => (
                present(&d.payload.hardware_id),
                present(&d.payload.request_id),
                present(&d.payload.license_key).or_else(|| present(&d.payload.username)),
            ),
            Err(_) => (
                Some(hardware_id.clone()),
                request_id.clone(),
                Some(licensee.to_owned()),
            ),
        };
        let seat = match (&self.license, self.kind) {
            (LicenseChoice::User { .. }, _) | (_, RequestKind::Deactivation) => None,
            _ => Some((licensee.to_owned(), hardware_id.clone())),
        };
        Ok(GeneratedCase {
            index,
            value: self.clone(),
            request: Prepared {
                method: "POST".into(),
                url: format!("{}{}", profile.base_url, self.kind.path()),
                headers,
                body: Some(body),
                payload: Some(for_people(&json)),
                seat,
                request_id: read_id,
                hardware_id: read_hw,
                licensee: read_licensee,
            },
            oracle,
        })
    }

    /// The layout the request is written in: its `style`, except that a mutation of what a
    /// layout lacks takes one that has it (the outer MAC and the envelope: schema 2; the inner
    /// signature: not the Node SDK's).
    pub fn layout(&self) -> Style {
        match (&self.mutation, self.style) {
            (
                Mutation::CorruptOuter(_)
                | Mutation::EnvelopeMember { .. }
                | Mutation::Deep {
                    in_envelope: true, ..
                },
                Style::Schema1,
            ) => Style::CompactHex,
            (Mutation::CorruptInner(_), Style::JavaScript) => Style::Python,
            (_, style) => style,
        }
    }

    /// One line: the layout, the license, the transport and the mutation.
    pub fn describe(&self) -> String {
        let license = match &self.license {
            LicenseChoice::Role { role, .. } => format!("license {role}"),
            LicenseChoice::Key(_) => "an unknown license key".to_owned(),
            LicenseChoice::User { password, .. } => format!(
                "the user license{}",
                if password.is_some() {
                    ""
                } else {
                    " without a password"
                }
            ),
        };
        let mutation = match (&self.mutation, &self.headers) {
            (Mutation::None, HeaderMutation::None) => "valid".to_owned(),
            (Mutation::None, h) => format!("headers {h:?}"),
            (m, HeaderMutation::None) => format!("{m:?}"),
            (m, h) => format!("{m:?}, headers {h:?}"),
        };
        let mutation: String = mutation.chars().take(200).collect();
        format!(
            "{} {} file for {license}, {:?}, {:?}: {mutation}",
            self.layout(),
            self.kind.as_str(),
            self.transport,
            self.encoding
        )
    }
}

/// The oracle: what a conforming server decides about an activation body before SPEC §5, by
/// `protocol`'s own checks in the order of SPEC §1a: the body cap, the transport, Base64, one
/// strict JSON object, the required fields and the `request` member, the API key (the profile's is
/// the only one known), then both payload signatures with the profile's shared key. `Ok` means
/// only a business rule may refuse it. (A generated request's oracle also judges its Date and
/// Authorization headers first, with `protocol::authenticate`; this one takes them as good.)
///
/// ```
/// use lsconform::protocol::{ErrorCode, RequestBuilder};
/// use lsconform::suite::generate::oracle;
/// use lsconform::suite::Profile;
/// let profile = Profile::reference("http://127.0.0.1:8080");
/// let file = RequestBuilder::activation().license_key("K").hardware_id("h").product("TP").date("d")
///     .sign("lsconform-test-api-key", "lsconform-test-shared-key");
/// assert!(oracle(&profile, Some("text/plain"), Some(file.text.as_bytes())).is_ok());
/// let other = RequestBuilder::activation().license_key("K").hardware_id("h").product("TP").date("d")
///     .sign("lsconform-test-api-key", "another-shared-key");
/// let refused = oracle(&profile, Some("text/plain"), Some(other.text.as_bytes())).unwrap_err();
/// assert_eq!(refused.code, ErrorCode::SignatureMismatch);
/// ```
pub fn oracle(profile: &Profile, content_type: Option<&str>, body: Option<&[u8]>) -> Result<(), Rejection> {
    let body = body.unwrap_or_default();
    oracle_of(
        profile,
        RequestKind::Activation,
        body.len(),
        None,
        &decode_request(content_type, body),
    )
}

/// The Authorization and Date headers as sent, and the time they were sent at.
type SentHeaders<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, SystemTime);

/// [`oracle`] on a body of `len` bytes already decoded, with the headers (SPEC §2, before the body)
/// when they are given.
fn oracle_of(
    profile: &Profile,
    kind: RequestKind,
    len: usize,
    headers: Option<SentHeaders<'_>>,
    decoded: &Result<DecodedRequest, Rejection>,
) -> Result<(), Rejection> {
    if len > profile.max_body {
        return Err(Rejection::new(
            ErrorCode::PayloadTooLarge,
            "over the profile's max_body",
        ));
    }
    if let Some((authorization, date, now)) = headers {
        let known = profile.credentials.as_ref();
        authenticate(authorization, date, now, |key| {
            known.filter(|c| c.api_key == key).map(|c| c.shared_key.clone())
        })?;
    }
    let decoded = decoded.as_ref().map_err(Clone::clone)?;
    let checked = decoded.check(kind)?;
    let Some(c) = &profile.credentials else {
        return Err(Rejection::new(
            ErrorCode::InvalidApiKey,
            "the profile has no credentials",
        ));
    };
    if checked.identity.value() != c.api_key {
        return Err(Rejection::new(ErrorCode::InvalidApiKey, "the payload's api_key"));
    }
    checked.verify_inner(&c.shared_key)?;
    checked.verify_outer(&c.shared_key)
}

/// The RNG of request `index` of a run from `seed`.
fn rng(seed: u64, index: usize) -> TestRng {
    let mut h = Sha256::new();
    h.update(b"lsconform generated request\n");
    h.update(seed.to_le_bytes());
    h.update((index as u64).to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &h.finalize())
}

fn config() -> Config {
    Config {
        cases: 1,
        failure_persistence: None,
        max_shrink_iters: MAX_SHRINK_STEPS,
        max_shrink_time: MAX_SHRINK_TIME.as_millis() as u32,
        max_local_rejects: 65_536,
        max_global_rejects: 1024,
        verbose: 0,
        ..Config::default()
    }
}

/// The value tree of request `index` of a run from `seed`: the same strategy, seed and index, the
/// same tree.
fn tree(
    strategy: &BoxedStrategy<GeneratedRequest>,
    seed: u64,
    index: usize,
) -> Result<(TestRunner, Box<dyn ValueTree<Value = GeneratedRequest>>), String> {
    let mut runner = TestRunner::new_with_rng(config(), rng(seed, index));
    let tree = strategy
        .new_tree(&mut runner)
        .map_err(|e| format!("request {index} could not be generated: {e}"))?;
    Ok((runner, tree))
}

/// The requests of a run, as a target would receive them at `now`: the same profile, options and
/// `now` give the same bytes.
///
/// ```
/// use lsconform::suite::generate::{requests, GenerateOptions};
/// use lsconform::suite::Profile;
/// let profile = Profile::reference("http://127.0.0.1:8080");
/// let now = std::time::SystemTime::now();
/// let a = requests(&profile, &GenerateOptions::new(5, 7), now).unwrap();
/// let b = requests(&profile, &GenerateOptions::new(5, 7), now).unwrap();
/// assert_eq!(a.len(), 5);
/// assert!(a.iter().zip(&b).all(|(x, y)| x.request.body == y.request.body));
/// ```
pub fn requests(
    profile: &Profile,
    options: &GenerateOptions,
    now: SystemTime,
) -> Result<Vec<GeneratedCase>, String> {
    let strategy = strategies::generated_request(profile);
    (0..options.requests)
        .map(|i| {
            let (_, tree) = tree(&strategy, options.seed, i)?;
            tree.current().render(profile, i, options.seed, now)
        })
        .collect()
}

// ------------------------------------------------------------------ judging

/// One request sent, and what came back.
#[derive(Debug, Clone)]
pub(super) struct Exchange {
    pub(super) case: GeneratedCase,
    pub(super) response: Result<Response, ExchangeError>,
    /// Why a seat the request took could not be given back.
    pub(super) give_back: Option<String>,
    /// The properties it breaks (judged as soon as the answer is in).
    pub(super) violations: Vec<(Property, Violation)>,
}

/// A property that does not hold for one request.
#[derive(Debug, Clone)]
pub(super) struct Violation {
    pub(super) rule: Rule,
    pub(super) mismatch: Mismatch,
    /// No answer at all (an error of the case, never a pass).
    pub(super) no_answer: bool,
}

fn code_of(response: &Response) -> Option<String> {
    serde_json::from_slice::<Value>(&response.body)
        .ok()?
        .get("code")?
        .as_str()
        .map(str::to_owned)
}

fn is_error(code: ErrorCode, response: &Response, answered: Option<&str>) -> bool {
    code.accepted_statuses().contains(&response.status)
        && answered.is_some_and(|a| code.accepted_codes().contains(&a))
}

/// Whether `property` holds for one exchange, and if not, why.
pub(super) fn judge(property: Property, ex: &Exchange, profile: &Profile) -> Option<Violation> {
    let violation = |rule: Rule, expected: String, actual: String| {
        Some(Violation {
            rule,
            mismatch: Mismatch { expected, actual },
            no_answer: false,
        })
    };
    let response = match (&ex.response, property) {
        (Err(e), Property::NoServerError) => {
            return Some(Violation {
                rule: property.rule(),
                mismatch: Mismatch {
                    expected: "an HTTP answer".into(),
                    actual: e.to_string(),
                },
                no_answer: true,
            })
        }
        (Err(_), _) => return None,
        (Ok(r), _) => r,
    };
    match property {
        Property::NoServerError if response.status >= 500 => violation(
            property.rule(),
            "an answer below 500".into(),
            judge::summarize(response),
        ),
        Property::NoServerError => None,
        Property::ErrorShape if response.status >= 400 => {
            let shape = ErrorBody::parse(&response.body, response.status).map_err(|e| e.to_string());
            let json = response
                .content_type
                .as_deref()
                .is_some_and(|ct| ct.starts_with("application/json"));
            match (shape, json) {
                (Ok(_), true) => None,
                (Err(e), _) => violation(
                    property.rule(),
                    "{\"status\": <the HTTP status>, \"code\": …, \"message\": …} (SPEC §7)".into(),
                    format!("{}: {e}", judge::summarize(response)),
                ),
                (Ok(_), false) => violation(
                    property.rule(),
                    "the error body with Content-Type: application/json".into(),
                    format!(
                        "{} with Content-Type: {}",
                        judge::summarize(response),
                        response.content_type.as_deref().unwrap_or("(none)")
                    ),
                ),
            }
        }
        Property::ErrorShape => None,
        // A 5xx is the first property's.
        Property::OracleAgreement if response.status >= 500 => None,
        Property::OracleAgreement => {
            let code = code_of(response);
            match &ex.case.oracle {
                Err(r) if is_error(r.code, response, code.as_deref()) => None,
                Err(r) => violation(
                    ex.case.rule(),
                    format!(
                        "{}, as protocol refuses it ({})",
                        judge::describe_errors(&[r.code]),
                        r.detail
                    ),
                    judge::summarize(response),
                ),
                Ok(()) if response.status == 200 => None,
                Ok(())
                    if ErrorCode::business(ex.case.value.kind)
                        .iter()
                        .any(|b| is_error(*b, response, code.as_deref())) =>
                {
                    None
                }
                Ok(()) => violation(
                    ex.case.rule(),
                    "200, or a refusal of SPEC §5 (unknown_product, license_*, …): protocol accepts it"
                        .into(),
                    judge::summarize(response),
                ),
            }
        }
        Property::SignedAnswer if response.status == 200 && ex.case.oracle.is_ok() => {
            let judged = match ex.case.value.kind {
                RequestKind::Activation => judge::judge_activated(response, &ex.case.request, profile),
                RequestKind::Deactivation => judge::judge_deactivated(response),
            };
            judged
                .err()
                .and_then(|m| violation(property.rule(), m.expected, m.actual))
        }
        Property::SignedAnswer => None,
    }
}

fn rank(s: Severity) -> u8 {
    match s {
        Severity::Must => 1,
        Severity::Should => 0,
    }
}

// ------------------------------------------------------------------ giving seats back

fn text_at<'a>(answer: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(answer, |v, k| v.get(k))
        .and_then(Value::as_str)
}

/// Gives back the seat an accepted request took: the device, license and product the answer
/// names (what the server activated), else what was sent.
async fn give_back(
    client: &Client,
    profile: &Profile,
    case: &GeneratedCase,
    answer: &Response,
) -> Option<String> {
    if !profile.supports_deactivation {
        return None;
    }
    let c = profile.credentials.as_ref()?;
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    let hw = text_at(&body, &["hardware_id"])
        .map(str::to_owned)
        .or_else(|| case.request.hardware_id.clone())?;
    let product = text_at(&body, &["product_details", "short_code"])
        .unwrap_or(case.value.product.code())
        .to_owned();
    let now = SystemTime::now();
    let mut b = RequestBuilder::deactivation()
        .style(Style::Python)
        .hardware_id(&hw)
        .product(product)
        .date(Style::Python.date(now))
        .request_id(uuid::Uuid::new_v4().to_string());
    b = match (text_at(&body, &["license_key"]), text_at(&body, &["username"])) {
        (Some(key), _) => b.license_key(key),
        (None, Some(user)) => {
            let b = b.username(user);
            match &profile.user {
                Some((u, Some(password))) if u == user => b.password(password),
                _ => b,
            }
        }
        (None, None) => b.license_key(case.request.licensee.clone()?),
    };
    let file = b.sign(&c.api_key, &c.shared_key);
    let date = format_http_date(now);
    let request = Prepared {
        method: "POST".into(),
        url: format!("{}{}", profile.base_url, RequestKind::Deactivation.path()),
        headers: vec![
            ("Date".into(), date.clone()),
            (
                "Authorization".into(),
                AuthorizationHeader::signed(&c.api_key, &c.shared_key, &date).to_string(),
            ),
            ("Content-Type".into(), "text/plain".into()),
        ],
        body: Some(file.text.into_bytes()),
        payload: Some(for_people(&file.json)),
        seat: None,
        request_id: None,
        hardware_id: Some(hw),
        licensee: None,
    };
    match client.send(&request).await {
        Ok(r) => judge::judge_deactivated(&r)
            .err()
            .map(|m| format!("giving the seat back: got {}", m.actual)),
        Err(e) => Some(format!("giving the seat back: {e}")),
    }
}

/// Sends one case, gives back the seat it took, and judges the answer against `properties`.
async fn exchange(
    client: &Client,
    profile: &Profile,
    case: GeneratedCase,
    properties: &[Property],
) -> Exchange {
    let response = client.send(&case.request).await;
    let give_back = match &response {
        Ok(r) if r.status == 200 && case.value.kind == RequestKind::Activation => {
            give_back(client, profile, &case, r).await
        }
        _ => None,
    };
    let mut ex = Exchange {
        case,
        response,
        give_back,
        violations: Vec::new(),
    };
    ex.violations = properties
        .iter()
        .filter_map(|p| judge(*p, &ex, profile).map(|v| (*p, v)))
        .collect();
    ex
}

// ------------------------------------------------------------------ sending a stream of requests

/// How many generated requests a stream sends, and when it gives up on a target that does not
/// answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Budget {
    /// At most this many.
    pub(super) requests: Option<usize>,
    /// For at most this long.
    pub(super) time: Option<Duration>,
    /// The rest are not sent after this many requests in a row got no answer.
    pub(super) give_up_after: usize,
}

impl Budget {
    /// `n` requests; three in a row without an answer end it.
    pub(super) fn requests(n: usize) -> Budget {
        Budget {
            requests: Some(n),
            time: None,
            give_up_after: MAX_NO_ANSWER,
        }
    }

    fn allows(self, index: usize, started: Instant) -> bool {
        self.requests.is_none_or(|n| index < n) && self.time.is_none_or(|d| started.elapsed() < d)
    }
}

/// What a stream of generated requests did.
#[derive(Debug, Default)]
pub(super) struct Streamed {
    /// Requests sent (each ended with an answer or an exchange error).
    pub(super) sent: usize,
    /// Requests that got an HTTP answer.
    pub(super) answered: usize,
    /// The stream stopped: [`Budget::give_up_after`] requests in a row got no answer.
    pub(super) gave_up: bool,
    /// A request could not be made, or a request's task failed: the harness broke.
    pub(super) harness_error: Option<String>,
}

/// Sends generated requests from `seed` to `profile`'s target within `budget` (`options.jobs` at a
/// time, each bounded by `options.timeout`), judges each answer against `properties`, and hands
/// every [`Exchange`] to `on_exchange` as it ends; only what `on_exchange` keeps stays in memory.
/// After [`Budget::give_up_after`] requests in a row without an answer, the rest are not sent.
pub(super) async fn stream(
    profile: &Profile,
    seed: u64,
    budget: Budget,
    options: &RunOptions,
    properties: &[Property],
    payload_time: SystemTime,
    mut on_exchange: impl FnMut(Exchange),
) -> Streamed {
    let started = Instant::now();
    let client = Client::new(profile, options.timeout);
    let limit = Arc::new(tokio::sync::Semaphore::new(options.jobs.max(1)));
    let silent_in_a_row = Arc::new(AtomicUsize::new(0));
    let shared = Arc::new(profile.clone());
    let properties: Arc<[Property]> = properties.into();
    // The requests are made and written on a blocking thread (the strategy and its trees are not
    // Send) while the first ones are already being sent; each task only sends, gives the seat back
    // and judges.
    type Made = Result<GeneratedCase, String>;
    let (made, mut next) = tokio::sync::mpsc::channel::<Made>(64);
    let producer = {
        let profile = Arc::clone(&shared);
        tokio::task::spawn_blocking(move || {
            let strategy = strategies::generated_request(&profile);
            let mut i = 0;
            while budget.allows(i, started) {
                let case = tree(&strategy, seed, i).and_then(|(_, t)| {
                    t.current()
                        .render_at(&profile, i, seed, payload_time, SystemTime::now())
                });
                let failed = case.is_err();
                if made.blocking_send(case).is_err() || failed {
                    break;
                }
                i += 1;
            }
        })
    };
    let mut out = Streamed::default();
    let mut tasks = tokio::task::JoinSet::new();
    let mut ended = |done: Result<Exchange, tokio::task::JoinError>, out: &mut Streamed| match done {
        Ok(ex) => {
            out.sent += 1;
            out.answered += usize::from(ex.response.is_ok());
            on_exchange(ex);
        }
        Err(e) => {
            out.harness_error
                .get_or_insert(format!("a request's task failed: {e}"));
        }
    };
    while let Some(case) = next.recv().await {
        let case = match case {
            Ok(case) => case,
            Err(e) => {
                out.harness_error = Some(e);
                break;
            }
        };
        let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
            break;
        };
        if silent_in_a_row.load(Ordering::Relaxed) >= budget.give_up_after {
            out.gave_up = true;
            break;
        }
        if !budget.allows(case.index, started) {
            break;
        }
        let (client, silent, profile, properties) = (
            client.clone(),
            Arc::clone(&silent_in_a_row),
            Arc::clone(&shared),
            Arc::clone(&properties),
        );
        tasks.spawn(async move {
            let ex = exchange(&client, &profile, case, &properties).await;
            // Counted before the permit goes, so that the next request is sent knowing it.
            if ex.response.is_err() {
                silent.fetch_add(1, Ordering::Relaxed);
            } else {
                silent.store(0, Ordering::Relaxed);
            }
            drop(permit);
            ex
        });
        while let Some(done) = tasks.try_join_next() {
            ended(done, &mut out);
        }
    }
    drop(next);
    let _ = producer.await;
    while let Some(done) = tasks.join_next().await {
        ended(done, &mut out);
    }
    out
}

// ------------------------------------------------------------------ shrinking

/// The smallest request proptest found that `keep` still keeps (what the request broke).
struct Shrunk {
    exchange: Exchange,
    violation: Violation,
    steps: usize,
    elapsed: Duration,
}

impl Shrunk {
    /// How it was found, for people.
    fn how(&self, index: usize) -> String {
        format!(
            "shrunk in {} step(s){} from request #{index}",
            self.steps,
            if self.steps as u32 >= MAX_SHRINK_STEPS || self.elapsed >= MAX_SHRINK_TIME {
                " (the limit: it may shrink further)"
            } else {
                ""
            }
        )
    }
}

/// Shrinks request `index` of the run from `seed` against the live target: proptest's `run_one`
/// on the request's own value tree, each step written, sent again and judged against `properties`
/// (on the runtime of `handle`, from this blocking thread). `keep` says whether a step still shows
/// the same problem, and which.
#[allow(clippy::too_many_arguments)]
fn shrink(
    handle: &tokio::runtime::Handle,
    profile: &Profile,
    seed: u64,
    index: usize,
    client: &Client,
    payload_time: SystemTime,
    properties: &[Property],
    keep: impl Fn(&Exchange) -> Option<Violation>,
) -> Option<Shrunk> {
    let started = Instant::now();
    let (mut runner, tree) = tree(&strategies::generated_request(profile), seed, index).ok()?;
    let last: RefCell<Option<(Exchange, Violation)>> = RefCell::new(None);
    let steps = Cell::new(0usize);
    let outcome = runner.run_one(tree, |value: GeneratedRequest| {
        steps.set(steps.get() + 1);
        let Ok(case) = value.render_at(profile, index, seed, payload_time, SystemTime::now()) else {
            return Ok(());
        };
        let ex = handle.block_on(exchange(client, profile, case, properties));
        match keep(&ex) {
            Some(v) => {
                let why = format!("{}: {}", v.mismatch.expected, v.mismatch.actual);
                *last.borrow_mut() = Some((ex, v));
                Err(TestCaseError::fail(why))
            }
            None => Ok(()),
        }
    });
    match outcome {
        Err(TestError::Fail(..)) => last.into_inner().map(|(exchange, violation)| Shrunk {
            exchange,
            violation,
            steps: steps.get().saturating_sub(1),
            elapsed: started.elapsed(),
        }),
        _ => None,
    }
}

/// The smallest request that still shows what `found` showed: [`shrink`] from `found`'s request,
/// on a blocking thread of the current runtime; `found` itself when it does not show it again.
/// Returns the exchange, what it broke, and how it was found, for people.
pub(super) async fn smallest(
    profile: &Profile,
    seed: u64,
    found: (Exchange, Violation),
    options: &RunOptions,
    payload_time: SystemTime,
    properties: Vec<Property>,
    keep: impl Fn(&Exchange) -> Option<Violation> + Send + 'static,
) -> (Exchange, Violation, String) {
    let index = found.0.case.index;
    let handle = tokio::runtime::Handle::current();
    let (profile, client) = (profile.clone(), Client::new(profile, options.timeout));
    let shrunk = tokio::task::spawn_blocking(move || {
        shrink(
            &handle,
            &profile,
            seed,
            index,
            &client,
            payload_time,
            &properties,
            keep,
        )
    })
    .await
    .ok()
    .flatten();
    match shrunk {
        Some(s) => {
            let how = s.how(index);
            (s.exchange, s.violation, how)
        }
        None => (
            found.0,
            found.1,
            format!("request #{index}; it did not show the same again when re-sent, so it is not shrunk"),
        ),
    }
}

// ------------------------------------------------------------------ the run

fn result(property: Property, rule: Rule, verdict: Verdict, elapsed: Duration) -> CaseResult {
    CaseResult {
        id: property.id().to_owned(),
        spec: rule.spec.to_owned(),
        tag: rule.tag,
        severity: rule.severity(),
        title: property.title().to_owned(),
        verdict,
        expected: None,
        actual: None,
        request: None,
        answer: None,
        case_file: None,
        elapsed,
    }
}

/// What a run keeps of one property: how many requests broke it, and the worst of them.
#[derive(Default)]
struct Tally {
    /// Requests that broke it with an answer.
    broken: usize,
    /// The most severe of those, the earliest among equals.
    first: Option<(Exchange, Violation)>,
    /// Requests that got no answer (for [`Property::NoServerError`]).
    silent: usize,
    /// The earliest of those.
    first_silent: Option<(Exchange, Violation)>,
}

impl Tally {
    fn add(&mut self, ex: &Exchange, v: &Violation) {
        let earlier = |kept: &Option<(Exchange, Violation)>, worse: bool| match kept {
            None => true,
            Some((k, kv)) => {
                (worse && rank(v.rule.severity()) > rank(kv.rule.severity()))
                    || (rank(v.rule.severity()) == rank(kv.rule.severity()) && ex.case.index < k.case.index)
            }
        };
        if v.no_answer {
            self.silent += 1;
            if earlier(&self.first_silent, false) {
                self.first_silent = Some((ex.clone(), v.clone()));
            }
        } else {
            self.broken += 1;
            if earlier(&self.first, true) {
                self.first = Some((ex.clone(), v.clone()));
            }
        }
    }
}

/// Sends `generate.requests` generated requests to `profile`'s target (`options.jobs` at a time,
/// each bounded by `options.timeout`), judges every answer against each selected [`Property`],
/// shrinks the first request that breaks one, and returns one [`CaseResult`] per property;
/// `progress` hears of each as it ends. Without credentials in the profile, the properties are
/// skipped; after three requests in a row without an answer, the rest are not sent.
pub async fn run(
    profile: &Profile,
    generate: &GenerateOptions,
    options: &RunOptions,
    progress: impl Fn(&CaseResult),
) -> Vec<CaseResult> {
    let started = Instant::now();
    let properties = generate.properties.clone();
    if generate.requests == 0 || properties.is_empty() {
        return Vec::new();
    }
    let finish = |results: Vec<CaseResult>| {
        for r in &results {
            progress(r);
        }
        results
    };
    if profile.credentials.is_none() {
        return finish(
            properties
                .iter()
                .map(|p| CaseResult {
                    actual: Some("needs api_key and shared_key in the profile".into()),
                    ..result(*p, p.rule(), Verdict::Skipped, Duration::ZERO)
                })
                .collect(),
        );
    }
    let payload_time = SystemTime::now();
    let seed = generate.seed;
    let mut tallies: Vec<Tally> = properties.iter().map(|_| Tally::default()).collect();
    let mut stuck: (usize, Option<Exchange>) = (0, None);
    let streamed = stream(
        profile,
        seed,
        Budget::requests(generate.requests),
        options,
        &properties,
        payload_time,
        |ex| {
            for (p, v) in &ex.violations {
                if let Some(i) = properties.iter().position(|q| q == p) {
                    tallies[i].add(&ex, v);
                }
            }
            // A seat a correctly accepted request took and could not give back.
            if ex.give_back.is_some() && ex.case.oracle.is_ok() {
                stuck.0 += 1;
                if stuck.1.as_ref().is_none_or(|s| ex.case.index < s.case.index) {
                    stuck.1 = Some(ex);
                }
            }
        },
    )
    .await;
    if let Some(why) = streamed.harness_error {
        return finish(
            properties
                .iter()
                .map(|p| CaseResult {
                    actual: Some(why.clone()),
                    ..result(*p, p.rule(), Verdict::Error, started.elapsed())
                })
                .collect(),
        );
    }
    let answered = streamed.answered;
    let unsent = generate.requests - streamed.sent;
    let mut results = Vec::new();
    for (property, tally) in properties.iter().copied().zip(tallies) {
        let elapsed = || started.elapsed();
        let Some((ex, found)) = tally.first else {
            // No answer to judge is an error of the case, never a pass.
            let r = match tally.first_silent {
                Some((ex, v)) => CaseResult {
                    expected: Some(v.mismatch.expected.clone()),
                    actual: Some(format!(
                        "{} of {} requests got no answer{}; the first, request #{}: {} ({})",
                        tally.silent,
                        generate.requests,
                        if unsent > 0 {
                            format!(" and {unsent} were not sent after {MAX_NO_ANSWER} in a row without an answer")
                        } else {
                            String::new()
                        },
                        ex.case.index,
                        v.mismatch.actual,
                        describe_seed(generate),
                    )),
                    request: Some(ex.case.request.clone()),
                    ..result(property, property.rule(), Verdict::Error, elapsed())
                },
                // Nothing to judge is an error, never a pass.
                None if answered == 0 => CaseResult {
                    actual: Some(format!(
                        "none of the {} generated requests got an answer to judge",
                        generate.requests
                    )),
                    ..result(property, property.rule(), Verdict::Error, elapsed())
                },
                None => CaseResult {
                    actual: Some(format!(
                        "held for all {answered} answered of {} generated requests ({})",
                        generate.requests,
                        describe_seed(generate)
                    )),
                    ..result(property, property.rule(), Verdict::Pass, elapsed())
                },
            };
            results.push(r);
            continue;
        };
        let severity = found.rule.severity();
        let (ex, v, how) = smallest(
            profile,
            seed,
            (ex, found),
            options,
            payload_time,
            vec![property],
            move |ex| {
                ex.violations
                    .iter()
                    .find(|(p, v)| {
                        *p == property && !v.no_answer && rank(v.rule.severity()) >= rank(severity)
                    })
                    .map(|(_, v)| v.clone())
            },
        )
        .await;
        let verdict = match v.rule.severity() {
            Severity::Must => Verdict::Fail,
            Severity::Should => Verdict::Warning,
        };
        let case_file = super::fuzz::case_file_of(&ex, profile, seed);
        results.push(CaseResult {
            case_file,
            expected: Some(format!(
                "{} [SPEC {}: {}]",
                v.mismatch.expected, v.rule.spec, v.rule.what
            )),
            actual: Some(format!(
                "{}; {how} ({}), a {}; {} of {answered} answered generated requests break this property",
                v.mismatch.actual,
                describe_seed(generate),
                ex.case.value.describe(),
                tally.broken,
            )),
            answer: ex.response.as_ref().ok().map(Answer::from),
            request: Some(ex.case.request),
            ..result(property, v.rule, verdict, elapsed())
        });
    }
    // A seat a correctly accepted request took and could not give back is an error of the run.
    if let (n, Some(first)) = stuck {
        let rule = Rule::new("§1", Tag::Docs, false, "deactivate_offline gives the seat back");
        results.push(CaseResult {
            id: "generated/give-back".into(),
            actual: Some(format!(
                "{n} seat(s) taken by generated requests could not be given back; the first: {}",
                first.give_back.clone().unwrap_or_default()
            )),
            title: "Every seat a generated request took is given back with deactivate_offline".into(),
            request: Some(first.case.request.clone()),
            ..result(Property::SignedAnswer, rule, Verdict::Error, started.elapsed())
        });
    }
    finish(results)
}

/// `--seed S --generated N`, to say how to run the same requests again.
fn describe_seed(generate: &GenerateOptions) -> String {
    format!(
        "lsconform run --seed {} --generated {} sends them again",
        generate.seed, generate.requests
    )
}
