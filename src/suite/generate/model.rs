//! What a generated request is: the request, its choices and mutations, and the rule of SPEC each checks.

use std::time::SystemTime;

use serde_json::Value;

use super::grammar::GrammarMutation;
use super::Rule;
use crate::protocol::rules;
use crate::protocol::{format_http_date, ErrorCode, RequestBuilder, RequestKind, Style};
use crate::suite::case::{AuthorizationTemplate, DateTemplate, HeadersTemplate};
use crate::suite::profile::Profile;
use crate::suite::render::http_date;

/// One generated request, before it is written: what [`strategies::generated_request`] makes and
/// shrinks. [`render`](GeneratedRequest::render) writes it for a target.
///
/// [`strategies::generated_request`]: super::strategies::generated_request
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

impl GeneratedRequest {
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
            (Mutation::Grammar(g), Style::Schema1) if g.in_envelope() => Style::CompactHex,
            (
                Mutation::CorruptInner(_)
                | Mutation::Remove(Field::InnerSignature)
                | Mutation::Duplicate {
                    field: Field::InnerSignature,
                    ..
                },
                Style::JavaScript,
            ) => Style::Python,
            (_, style) => style,
        }
    }

    /// The same request for another target (what `lsconform diff` sends the second server): the
    /// same license role, user and product, each that profile's own; a key neither knows stays as
    /// it is. `Err` says what the profile lacks of what the request names (a license role, the
    /// user, the user's password when one is sent, a product): the request cannot be sent there
    /// as the same request, and is never sent with another license instead.
    pub fn for_target(&self, profile: &Profile) -> Result<GeneratedRequest, String> {
        let license = match &self.license {
            LicenseChoice::Role { role, .. } => LicenseChoice::Role {
                role: role.clone(),
                key: profile
                    .license(role)
                    .ok_or_else(|| format!("no license of role {role:?}"))?
                    .to_owned(),
            },
            LicenseChoice::Key(key) => LicenseChoice::Key(key.clone()),
            LicenseChoice::User { password, .. } => {
                let (username, theirs) = profile.user.clone().ok_or("no user license")?;
                LicenseChoice::User {
                    username,
                    password: match password {
                        Some(_) => Some(theirs.ok_or("no password for the user license")?),
                        None => None,
                    },
                }
            }
        };
        let product = match &self.product {
            ProductChoice::Profile(_) => ProductChoice::Profile(profile.product.clone().ok_or("no product")?),
            ProductChoice::Other(_) => {
                ProductChoice::Other(profile.other_product.clone().ok_or("no other_product")?)
            }
            ProductChoice::Unknown(code) => ProductChoice::Unknown(code.clone()),
        };
        Ok(GeneratedRequest {
            license,
            product,
            ..self.clone()
        })
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
            (Mutation::Grammar(g), HeaderMutation::None) => format!("grammar: {}", g.describe()),
            (Mutation::Grammar(g), h) => format!("grammar: {}, headers {h:?}", g.describe()),
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
    pub(super) fn rule(&self) -> Rule {
        match self {
            HeaderMutation::None => rules::AUTH_DOCS_FORM,
            HeaderMutation::Omit { .. } => rules::HEADERS_REQUIRED,
            // The docs speak of a Date "up to 15 minutes old"; the window ahead is [pinned].
            HeaderMutation::DateSkew(s) if (1..=15 * 60).contains(s) => rules::DATE_FUTURE_WINDOW,
            HeaderMutation::DateSkew(s) if s.unsigned_abs() <= 15 * 60 => rules::DATE_PAST_WINDOW,
            HeaderMutation::DateSkew(s) if *s > 0 => rules::DATE_FUTURE_REFUSED,
            HeaderMutation::DateSkew(_) => rules::DATE_PAST_WINDOW,
            HeaderMutation::DateForm(DateForm::Imf) => rules::DATE_IMF_FIXDATE,
            HeaderMutation::DateForm(DateForm::JavaScript) => rules::DATE_OTHER_FORMS,
            HeaderMutation::DateText(_) => rules::DATE_UNPARSEABLE,
            HeaderMutation::DateForm(_) => rules::DATE_HTTP_FORMS,
            HeaderMutation::ClientForm { .. } => rules::AUTH_CLIENT_FORMS,
            HeaderMutation::Algorithm(_) => rules::AUTH_ALGORITHM,
            HeaderMutation::DropPair(_) => rules::AUTH_MISSING_PAIR,
            HeaderMutation::WrongSharedKey => rules::AUTH_HEADER_HMAC,
            HeaderMutation::UnknownApiKey(_) => rules::AUTH_UNKNOWN_API_KEY,
            HeaderMutation::AuthorizationText(_) => rules::AUTH_UNPARSEABLE,
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
    pub(super) fn value(&self) -> &str {
        match self {
            LicenseChoice::Role { key, .. } | LicenseChoice::Key(key) => key,
            LicenseChoice::User { username, .. } => username,
        }
    }

    /// `b` naming this license: its key, or the username and, when sent, the password.
    pub(super) fn named_in(&self, b: RequestBuilder) -> RequestBuilder {
        match self {
            LicenseChoice::Role { key, .. } | LicenseChoice::Key(key) => b.license_key(key),
            LicenseChoice::User { username, password } => {
                let b = b.username(username);
                match password {
                    Some(p) => b.password(p),
                    None => b,
                }
            }
        }
    }
}

impl LicenseChoice {
    /// SPEC §5 for a valid activation of this license of `product`, as the profile's roles say:
    /// the answers allowed (`None`: 200 with the license; `Some(code)`: that business refusal) and
    /// the rule another answer departs from. Every generated request has a hardware id of its own,
    /// so no seat of its device is held before. `None` where the role does not fix the answer (the
    /// user's license, whose type the profile does not say; a license of the other product sent
    /// with it).
    pub(in crate::suite) fn expected_activation(
        &self,
        product: &ProductChoice,
    ) -> Option<(&'static [Option<ErrorCode>], Rule)> {
        use ErrorCode as E;
        let role = match (self, product) {
            (_, ProductChoice::Unknown(_)) => {
                return Some((&[Some(E::UnknownProduct)], rules::BUSINESS_UNKNOWN_PRODUCT))
            }
            (LicenseChoice::Role { role, .. }, ProductChoice::Other(_)) if role == "other_product" => {
                return None
            }
            (LicenseChoice::User { .. }, _) => return None,
            (LicenseChoice::Key(_), _) | (_, ProductChoice::Other(_)) => {
                return Some((&[Some(E::LicenseNotFound)], rules::BUSINESS_UNKNOWN_LICENSE))
            }
            (LicenseChoice::Role { role, .. }, ProductChoice::Profile(_)) => role.as_str(),
        };
        Some(match role {
            "perpetual" | "odd_key" | "trial" | "consumption" => (&[None], rules::BUSINESS_LICENSE_TYPE),
            // Generated requests run several at once: the limited license may be full a moment.
            "limited" => (
                &[None, Some(E::LicenseActivatedMaxTimes)],
                rules::BUSINESS_SEATS_FULL,
            ),
            "unsupported" => (
                &[Some(E::LicenseTypeNotSupportedOffline)],
                rules::BUSINESS_LICENSE_TYPE,
            ),
            "disabled" => (&[Some(E::LicenseNotEnabled)], rules::BUSINESS_DISABLED),
            "inactive" => (&[Some(E::LicenseNotActive)], rules::BUSINESS_INACTIVE),
            "expired" => (&[Some(E::LicenseExpired)], rules::BUSINESS_EXPIRED),
            "trial_expired" => (&[Some(E::TrialExpired)], rules::BUSINESS_TRIAL_EXPIRED),
            "exhausted" => (&[Some(E::LicenseActivatedMaxTimes)], rules::BUSINESS_SEATS_FULL),
            "other_product" => (&[Some(E::LicenseNotFound)], rules::BUSINESS_UNKNOWN_LICENSE),
            _ => return None,
        })
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
    pub(super) fn code(&self) -> &str {
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

    pub(super) fn format(self, time: SystemTime) -> String {
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
    pub(super) fn apply(self, standard: &str) -> Vec<u8> {
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

    pub(super) fn name(self, license: &LicenseChoice) -> &'static str {
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
    pub(super) fn rule(self) -> Rule {
        match self {
            Field::Licensee | Field::HardwareId | Field::ApiKey => rules::PAYLOAD_REQUIRED,
            Field::RequestId => rules::PAYLOAD_OPTIONAL_MEMBERS,
            _ => rules::PAYLOAD_REQUIRED_PINNED,
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
    /// The right one in upper case, as [`Tamper::Uppercase`](crate::protocol::Tamper::Uppercase)
    /// writes it (hex MACs are lowercase only; Base64 is case-sensitive).
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
    pub(super) fn apply(self, json: &[u8]) -> Vec<u8> {
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
/// after signing and leave it broken; a grammar mutation writes one defect of the JSON or Base64
/// grammar where no signed value is, and signs what it wrote (for schema 2 the outer MAC over the
/// mutated `request` member), so that only the grammar is wrong.
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
    /// Grammar, re-signed: one defect of the JSON or Base64 grammar that lenient parsers accept,
    /// in a file whose every signature is right over the bytes sent (for schema 2 the outer MAC
    /// is computed over the mutated `request` member).
    Grammar(GrammarMutation),
}

impl Mutation {
    /// The rule the mutation tests; what a server breaks when it answers otherwise than the oracle.
    pub(super) fn rule(&self, style: Style) -> Rule {
        match self {
            Mutation::None => rules::ANY_SDK_FILES_ACCEPTED,
            Mutation::RequestKind(_) => rules::PAYLOAD_REQUEST_KIND,
            Mutation::Remove(f) | Mutation::Null(f) => match (f, style) {
                (Field::InnerSignature, Style::Schema1) => f.rule(),
                (Field::InnerSignature, _) => rules::SIGNATURE_INNER_OPTIONAL,
                _ => f.rule(),
            },
            Mutation::WrongType { .. } | Mutation::Empty(_) => rules::PAYLOAD_REQUIRED_FORM,
            Mutation::Duplicate { .. } | Mutation::DuplicateExtra { .. } => rules::JSON_DUPLICATE_KEY,
            Mutation::UnknownApiKey(_) => rules::PAYLOAD_UNKNOWN_API_KEY,
            Mutation::Deep { .. } => rules::JSON_DEPTH,
            Mutation::EnvelopeMember { .. } => rules::PAYLOAD_UNKNOWN_FIELDS,
            Mutation::Base64Insert {
                byte: b' ' | b'\t' | b'\r' | b'\n',
                ..
            } => rules::BASE64_WHITESPACE,
            Mutation::Base64Flip { .. }
            | Mutation::Base64Remove(_)
            | Mutation::Truncate(_)
            | Mutation::Base64Insert { .. }
            | Mutation::UrlSafe
            | Mutation::BadPadding(_) => rules::BASE64_STRICT,
            Mutation::CorruptInner(_) => rules::SIGNATURE_INNER,
            Mutation::CorruptOuter(_) => rules::SIGNATURE_OUTER,
            Mutation::JsonFlip { .. } | Mutation::JunkAfterJson(_) | Mutation::NotAnObject(_) => {
                rules::JSON_OBJECT
            }
            Mutation::Grammar(g) => g.rule(),
        }
    }

    pub(super) fn on_base64(&self) -> bool {
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
