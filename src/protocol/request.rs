//! A request file from the wire to a verified request: transport (SPEC §3), Base64 (§3), JSON
//! (§3), required fields (§4) and both signatures (§4), in the order of SPEC §1a.

use std::ops::Range;

use super::error::{ErrorCode, Rejection};
use super::payload::{parse_payload, DuplicateKeys, OddMember, Oddity, Payload, Schema};
use super::signature::{MacEncoding, SharedKey};
use super::transport::{decode_request_file, request_file_text, Transport};

/// Which endpoint a request file is for: the payload's `request` member (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// `POST /api/v4/activate_offline`, `"request": "activation"`.
    Activation,
    /// `POST /api/v4/deactivate_offline`, `"request": "deactivation"`.
    Deactivation,
}

impl RequestKind {
    /// The value of the payload's `request` member.
    pub const fn as_str(self) -> &'static str {
        match self {
            RequestKind::Activation => "activation",
            RequestKind::Deactivation => "deactivation",
        }
    }

    /// The endpoint's path.
    pub const fn path(self) -> &'static str {
        match self {
            RequestKind::Activation => "/api/v4/activate_offline",
            RequestKind::Deactivation => "/api/v4/deactivate_offline",
        }
    }
}

/// The flat object's `request` member, as SPEC §4's kind check reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestMember<'a> {
    /// No `request` member: the file is of the endpoint it is posted to \[sdk].
    Absent,
    /// A string (`""` included), which must name the endpoint.
    Text(&'a str),
    /// `null`, or another JSON type than a string: refused like a wrong word.
    NotText,
}

/// A request file decoded from a body: transport, schema and fields, not yet checked for
/// required fields or signatures.
#[derive(Debug, Clone)]
pub struct DecodedRequest {
    /// How the file was sent.
    pub transport: Transport,
    /// Schema 1 or 2.
    pub schema: Schema,
    /// The flat object's fields.
    pub payload: Payload,
    /// The decoded JSON, as sent.
    pub json: Vec<u8>,
    /// Schema 2: the envelope's outer MAC, as written.
    pub outer_signature: Option<String>,
    request_span: Option<Range<usize>>,
}

/// Decodes a request body (SPEC §3): the file's text out of the transport, Base64, then one
/// strict JSON object of schema 1 or 2. This never panics, whatever the bytes.
///
/// ```
/// use lsconform::protocol::{decode_request, ErrorCode, Schema};
/// let file = lsconform::protocol::encode_request_file(br#"{"product":"TP"}"#);
/// let decoded = decode_request(Some("text/plain"), file.as_bytes()).unwrap();
/// assert_eq!(decoded.schema, Schema::V1);
/// assert_eq!(decoded.payload.product.as_deref(), Some("TP"));
/// let err = decode_request(None, b"not base64!").unwrap_err();
/// assert_eq!(err.code, ErrorCode::AuthorizationMissingParams);
/// ```
pub fn decode_request(content_type: Option<&str>, body: &[u8]) -> Result<DecodedRequest, Rejection> {
    let (transport, text) = request_file_text(content_type, body)?;
    let json = decode_request_file(&text)?;
    DecodedRequest::from_json(transport, json)
}

/// Who the license belongs to: the key, or for user-based licenses the user (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Licensee<'a> {
    /// `license_key`.
    LicenseKey(&'a str),
    /// `username` (+ `password`).
    User {
        /// `username`.
        username: &'a str,
        /// `password`, when sent.
        password: Option<&'a str>,
    },
}

impl<'a> Licensee<'a> {
    /// The value the signing strings use: the license key, or the username.
    pub fn signing_value(&self) -> &'a str {
        match *self {
            Licensee::LicenseKey(k) => k,
            Licensee::User { username, .. } => username,
        }
    }
}

/// Who signed the file: an API key (shared-key signing) or an OAuth client id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiIdentity<'a> {
    /// `api_key`: signed with the company's shared key.
    ApiKey(&'a str),
    /// `client_id`: signed with the client secret.
    ClientId(&'a str),
}

impl<'a> ApiIdentity<'a> {
    /// The value the signing strings use.
    pub fn value(&self) -> &'a str {
        match *self {
            ApiIdentity::ApiKey(v) | ApiIdentity::ClientId(v) => v,
        }
    }
}

/// What [`DecodedRequest::check_with`] does with an optional member the protocol reads when it is
/// of another JSON type than a string (SPEC §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OddTypes {
    /// 400 `authorization_missing_params`: the reference server's choice.
    Refuse,
    /// As if it were absent.
    AsAbsent,
}

/// The optional members the protocol reads, which must be strings.
const READ_MEMBERS: &[&str] = &[
    "request_id",
    "bundle_code",
    "password",
    "signature",
    "username",
    "client_id",
];

/// A decoded request whose required fields are present (SPEC §4), ready for its signatures.
#[derive(Debug, Clone, Copy)]
pub struct CheckedRequest<'a> {
    /// The license or user.
    pub licensee: Licensee<'a>,
    /// `hardware_id`.
    pub hardware_id: &'a str,
    /// `product`.
    pub product: &'a str,
    /// `date`, opaque.
    pub date: &'a str,
    /// `api_key` or `client_id`.
    pub identity: ApiIdentity<'a>,
    /// `request_id`, when sent.
    pub request_id: Option<&'a str>,
    inner_signature: Option<&'a str>,
    outer: Option<(&'a [u8], &'a str)>,
}

fn present(value: &Option<String>) -> Option<&str> {
    // The SDKs treat an empty value as absent (`license_key if license_key else username`).
    value.as_deref().filter(|v| !v.is_empty())
}

fn required<'a>(
    missing: &mut Vec<&'static str>,
    name: &'static str,
    value: &'a Option<String>,
) -> Option<&'a str> {
    let v = present(value);
    if v.is_none() {
        missing.push(name);
    }
    v
}

impl DecodedRequest {
    /// The JSON step of SPEC §3 and §4 alone, on a request file's decoded bytes: one strict
    /// object (no key twice at any depth, at most [`MAX_DEPTH`](super::MAX_DEPTH) deep), schema 1
    /// or 2.
    pub fn from_json(transport: Transport, json: Vec<u8>) -> Result<DecodedRequest, Rejection> {
        Self::parse(transport, json, DuplicateKeys::Refuse)
    }

    /// A deliberate deviation from SPEC §3, for the reference server's named fault
    /// `duplicate-keys-last-wins`: like [`from_json`](Self::from_json), but a key given twice is
    /// accepted and its last copy wins. Never use it to serve real clients.
    pub fn from_json_last_key_wins(transport: Transport, json: Vec<u8>) -> Result<DecodedRequest, Rejection> {
        Self::parse(transport, json, DuplicateKeys::LastWins)
    }

    fn parse(
        transport: Transport,
        json: Vec<u8>,
        duplicates: DuplicateKeys,
    ) -> Result<DecodedRequest, Rejection> {
        let parsed = parse_payload(&json, duplicates)?;
        Ok(DecodedRequest {
            transport,
            schema: parsed.schema,
            payload: parsed.payload,
            outer_signature: parsed.outer_signature,
            request_span: parsed.request_span,
            json,
        })
    }

    /// Schema 2: the exact bytes of the `request` member, which the outer MAC covers.
    pub fn request_bytes(&self) -> Option<&[u8]> {
        self.request_span.clone().map(|span| &self.json[span])
    }

    /// Schema 2: how the outer MAC is written, when it is hex or Base64 of 32 bytes.
    pub fn outer_mac_encoding(&self) -> Option<MacEncoding> {
        self.outer_signature
            .as_deref()
            .and_then(MacEncoding::decode)
            .map(|(encoding, _)| encoding)
    }

    /// SPEC §4: the required fields, then the `request` member for this endpoint, with the
    /// reference's choice for an optional member of another type ([`OddTypes::Refuse`]).
    ///
    /// Missing `license_key`/`username`, `hardware_id`, `api_key`/`client_id`, `product`, `date`,
    /// or the signature (schema 1: the inner one; schema 2: the outer one) →
    /// `authorization_missing_params`. A `request` other than the endpoint's own (`null` and
    /// other types included) → `validation_error` [pinned, safety]; a file with no `request` is of
    /// the endpoint it is posted to \[sdk] (see [`check_kind`](Self::check_kind)).
    pub fn check(&self, endpoint: RequestKind) -> Result<CheckedRequest<'_>, Rejection> {
        self.check_with(endpoint, OddTypes::Refuse)
    }

    /// The optional members present as `null`, `""` or another JSON type than their own (SPEC
    /// §10: a server may take them as absent or refuse the request).
    ///
    /// ```
    /// use lsconform::protocol::{decode_request, encode_request_file};
    /// let json = br#"{"hostname":null,"is_vm":"no","request_id":5,"license_key":""}"#;
    /// let decoded = decode_request(None, encode_request_file(json).as_bytes()).unwrap();
    /// let names: Vec<&str> = decoded.odd_optional_members().map(|m| m.name.as_str()).collect();
    /// assert_eq!(names, ["hostname", "is_vm", "request_id"]);
    /// ```
    pub fn odd_optional_members(&self) -> impl Iterator<Item = &OddMember> + '_ {
        // `username` and `client_id` stand in for `license_key` and `api_key` when those are
        // absent (then a missing one is a missing required member); beside them they are optional.
        const REQUIRED: &[&str] = &[
            "license_key",
            "hardware_id",
            "product",
            "date",
            "api_key",
            "request",
        ];
        self.payload.odd.iter().filter(move |m| {
            let required = REQUIRED.contains(&m.name.as_str());
            // Schema 1: the inner signature is required (SPEC §4).
            let schema1_signature = m.name == "signature" && self.schema == Schema::V1;
            !(required || schema1_signature)
        })
    }

    /// The reference server's refusal of an optional member the protocol reads (`request_id`,
    /// `bundle_code`, `password`, the schema-2 inner `signature`, `username` beside a
    /// `license_key`, `client_id` beside an `api_key`) of another type than a string
    /// (SPEC §10: its choice; another server may take the member as absent).
    pub fn odd_refusal(&self) -> Option<Rejection> {
        self.odd_optional_members()
            .find(|m| m.oddity == Oddity::OtherType && READ_MEMBERS.contains(&m.name.as_str()))
            .map(|m| {
                Rejection::new(
                    ErrorCode::AuthorizationMissingParams,
                    format!("{} must be a string", m.name),
                )
            })
    }

    /// SPEC §4: the required members that are missing (absent, `null`, `""` or not a string), in
    /// the order of SPEC §4: `license_key` (or `username`), `hardware_id`, `api_key` (or
    /// `client_id`), `product`, `date`, `signature` (schema 1: the inner one; schema 2: the outer).
    ///
    /// ```
    /// use lsconform::protocol::{decode_request, encode_request_file};
    /// let json = br#"{"license_key":"K","hardware_id":5,"product":"TP"}"#;
    /// let decoded = decode_request(None, encode_request_file(json).as_bytes()).unwrap();
    /// assert_eq!(decoded.missing_members(), ["hardware_id", "api_key", "date", "signature"]);
    /// ```
    pub fn missing_members(&self) -> Vec<&'static str> {
        let p = &self.payload;
        let signature = match self.schema {
            Schema::V1 => &p.signature,
            Schema::V2 => &self.outer_signature,
        };
        [
            ("license_key", present(&p.license_key).or(present(&p.username))),
            ("hardware_id", present(&p.hardware_id)),
            ("api_key", present(&p.api_key).or(present(&p.client_id))),
            ("product", present(&p.product)),
            ("date", present(&p.date)),
            ("signature", present(signature)),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.is_none().then_some(name))
        .collect()
    }

    /// The required members of [`missing_members`](Self::missing_members) that are written, as
    /// `null`, `""` or not a string (SPEC §10: such a member may also be refused with
    /// `validation_error`, and a signature with `signature_mismatch`).
    ///
    /// ```
    /// use lsconform::protocol::{decode_request, encode_request_file};
    /// let json = br#"{"license_key":"K","hardware_id":"","product":"TP"}"#;
    /// let decoded = decode_request(None, encode_request_file(json).as_bytes()).unwrap();
    /// assert_eq!(decoded.blank_required_members(), ["hardware_id"]);
    /// ```
    pub fn blank_required_members(&self) -> Vec<&'static str> {
        let written = |member: &str, name: &str| match member {
            "license_key" => matches!(name, "license_key" | "username"),
            "api_key" => matches!(name, "api_key" | "client_id"),
            _ => member == name,
        };
        self.missing_members()
            .into_iter()
            .filter(|m| self.payload.odd.iter().any(|o| written(m, &o.name)))
            .collect()
    }

    /// SPEC §4: the kind of the file. A file with no `request` member is of the endpoint it is
    /// posted to [sdk: the Node SDK's air-gapped deactivation file has none]; a `request` member
    /// that is present must name this endpoint, and anything else (another word, `null`, another
    /// JSON type) is `validation_error` [pinned, safety].
    ///
    /// ```
    /// use lsconform::protocol::{decode_request, encode_request_file, ErrorCode, RequestKind};
    /// let null = decode_request(None, encode_request_file(br#"{"request":null}"#).as_bytes()).unwrap();
    /// assert_eq!(null.check_kind(RequestKind::Deactivation).unwrap_err().code, ErrorCode::ValidationError);
    /// let none = decode_request(None, encode_request_file(b"{}").as_bytes()).unwrap();
    /// assert!(none.check_kind(RequestKind::Activation).is_ok());
    /// assert!(none.check_kind(RequestKind::Deactivation).is_ok());
    /// let activation = decode_request(None, encode_request_file(br#"{"request":"activation"}"#).as_bytes()).unwrap();
    /// assert!(activation.check_kind(RequestKind::Deactivation).is_err());
    /// ```
    pub fn check_kind(&self, endpoint: RequestKind) -> Result<(), Rejection> {
        let kind = endpoint.as_str();
        match self.request_member() {
            RequestMember::Absent => Ok(()),
            RequestMember::Text(r) if r == kind => Ok(()),
            RequestMember::Text(r) => Err(Rejection::new(
                ErrorCode::ValidationError,
                format!("request must be {kind:?} here, not {r:?}"),
            )),
            RequestMember::NotText => Err(Rejection::new(
                ErrorCode::ValidationError,
                format!("request must be {kind:?} here, not null or another type"),
            )),
        }
    }

    /// SPEC §4: the flat object's `request` member, as [`check_kind`](Self::check_kind) reads it.
    ///
    /// ```
    /// use lsconform::protocol::{decode_request, encode_request_file, RequestMember};
    /// let decoded = |json: &[u8]| decode_request(None, encode_request_file(json).as_bytes()).unwrap();
    /// assert_eq!(decoded(b"{}").request_member(), RequestMember::Absent);
    /// assert_eq!(decoded(br#"{"request":""}"#).request_member(), RequestMember::Text(""));
    /// assert_eq!(decoded(br#"{"request":null}"#).request_member(), RequestMember::NotText);
    /// assert_eq!(decoded(br#"{"request":[]}"#).request_member(), RequestMember::NotText);
    /// ```
    pub fn request_member(&self) -> RequestMember<'_> {
        let p = &self.payload;
        match p.request.as_deref() {
            Some(r) => RequestMember::Text(r),
            // A member that is not a string is left `None` and noted as odd (`""` is text).
            None if p.odd.iter().any(|m| m.name == "request") => RequestMember::NotText,
            None => RequestMember::Absent,
        }
    }

    /// [`check`](Self::check), with a choice for the optional members the protocol reads
    /// (`request_id`, `bundle_code`, `password`, the schema-2 inner `signature`) when they are of
    /// another type than a string (SPEC §10 allows either).
    pub fn check_with(&self, endpoint: RequestKind, odd: OddTypes) -> Result<CheckedRequest<'_>, Rejection> {
        let checked = self.check_members(odd)?;
        self.check_kind(endpoint)?;
        Ok(checked)
    }

    /// SPEC §4: the required members (and the optional ones the protocol reads, as `odd` says),
    /// whatever the `request` member says ([`check_kind`](Self::check_kind) judges that).
    pub fn check_members(&self, odd: OddTypes) -> Result<CheckedRequest<'_>, Rejection> {
        if let Some(r) = self.odd_refusal().filter(|_| odd == OddTypes::Refuse) {
            return Err(r);
        }
        let p = &self.payload;
        let mut missing: Vec<&str> = Vec::new();
        let licensee = match (present(&p.license_key), present(&p.username)) {
            (Some(key), _) => Some(Licensee::LicenseKey(key)),
            (None, Some(username)) => Some(Licensee::User {
                username,
                password: present(&p.password),
            }),
            (None, None) => {
                missing.push("license_key");
                None
            }
        };
        let hardware_id = required(&mut missing, "hardware_id", &p.hardware_id);
        let identity = match (present(&p.api_key), present(&p.client_id)) {
            (Some(k), _) => Some(ApiIdentity::ApiKey(k)),
            (None, Some(c)) => Some(ApiIdentity::ClientId(c)),
            (None, None) => {
                missing.push("api_key");
                None
            }
        };
        let product = required(&mut missing, "product", &p.product);
        let date = required(&mut missing, "date", &p.date);
        let outer = match self.schema {
            Schema::V1 => {
                required(&mut missing, "signature", &p.signature);
                None
            }
            Schema::V2 => {
                let bytes = self.request_bytes().unwrap_or_default();
                match present(&self.outer_signature) {
                    Some(mac) => Some((bytes, mac)),
                    None => {
                        missing.push("signature");
                        None
                    }
                }
            }
        };
        let (Some(licensee), Some(hardware_id), Some(identity), Some(product), Some(date)) =
            (licensee, hardware_id, identity, product, date)
        else {
            return Err(Rejection::new(
                ErrorCode::AuthorizationMissingParams,
                missing.join(", "),
            ));
        };
        if !missing.is_empty() {
            return Err(Rejection::new(
                ErrorCode::AuthorizationMissingParams,
                missing.join(", "),
            ));
        }
        Ok(CheckedRequest {
            licensee,
            hardware_id,
            product,
            date,
            identity,
            request_id: present(&p.request_id),
            inner_signature: present(&p.signature),
            outer,
        })
    }
}

impl CheckedRequest<'_> {
    /// SPEC §4: verifies the inner signature (when present; required in schema 1) and, in schema 2,
    /// the outer MAC over the raw `request` bytes, both in constant time, with the shared key of
    /// the payload's `api_key` (or the client secret of its `client_id`). Any mismatch →
    /// `signature_mismatch`.
    pub fn verify(&self, shared_key: &str) -> Result<(), Rejection> {
        // One key set-up for both MACs.
        let key = SharedKey::new(shared_key);
        self.verify_inner_with(&key)?;
        self.verify_outer_with(&key)
    }

    /// SPEC §4: the inner signature alone, when the file carries one.
    pub fn verify_inner(&self, shared_key: &str) -> Result<(), Rejection> {
        self.verify_inner_with(&SharedKey::new(shared_key))
    }

    fn verify_inner_with(&self, key: &SharedKey) -> Result<(), Rejection> {
        let ok = self.inner_signature.is_none_or(|given| {
            key.verify_inner(
                self.date,
                self.licensee.signing_value(),
                self.hardware_id,
                self.identity.value(),
                given,
            )
        });
        if ok {
            Ok(())
        } else {
            Err(Rejection::new(ErrorCode::SignatureMismatch, "payload signature"))
        }
    }

    /// SPEC §4: the schema-2 outer MAC alone, over the raw `request` bytes.
    pub fn verify_outer(&self, shared_key: &str) -> Result<(), Rejection> {
        self.verify_outer_with(&SharedKey::new(shared_key))
    }

    fn verify_outer_with(&self, key: &SharedKey) -> Result<(), Rejection> {
        match self.outer {
            Some((bytes, given)) if !key.verify_outer(bytes, given) => {
                Err(Rejection::new(ErrorCode::SignatureMismatch, "outer signature"))
            }
            _ => Ok(()),
        }
    }

    /// Whether the file carries an inner signature.
    pub fn has_inner_signature(&self) -> bool {
        self.inner_signature.is_some()
    }
}
