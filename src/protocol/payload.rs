//! The payload: UTF-8 JSON holding one object (SPEC §3), schema 1 or schema 2 (SPEC §4).
//!
//! Parsing is strict in the ways SPEC §3 pins for safety: a key given twice at any depth is
//! refused (parsers disagree on which copy wins), nesting deeper than [`MAX_DEPTH`] is refused,
//! and for schema 2 the exact bytes of the `request` member are kept for the outer MAC.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::error::{ErrorCode, Rejection};

/// SPEC §3: nesting deeper than this is refused [pinned, safety]. The top-level object is depth 1.
pub const MAX_DEPTH: usize = 32;

/// The members of the flat object of SPEC §4 that the protocol reads; every other member is kept
/// in [`Payload::other`].
#[derive(Debug, Clone, Default)]
pub struct Payload {
    /// `request`: `"activation"` or `"deactivation"`; absent, the file is of the endpoint it is
    /// posted to (SPEC §4; `DecodedRequest::request_member` tells absent from `null`).
    pub request: Option<String>,
    /// `license_key`.
    pub license_key: Option<String>,
    /// `username`, for user-based licenses.
    pub username: Option<String>,
    /// `password`, for user-based licenses.
    pub password: Option<String>,
    /// `hardware_id`.
    pub hardware_id: Option<String>,
    /// `product`, the product's short code.
    pub product: Option<String>,
    /// `date`: opaque text, used only inside the signing string (SPEC §4).
    pub date: Option<String>,
    /// `api_key`.
    pub api_key: Option<String>,
    /// `client_id`, under OAuth.
    pub client_id: Option<String>,
    /// `request_id`.
    pub request_id: Option<String>,
    /// `signature`: the inner signature.
    pub signature: Option<String>,
    /// `bundle_code`.
    pub bundle_code: Option<String>,
    /// Every other member, in the order sent, as raw JSON.
    pub other: Vec<(String, Box<RawValue>)>,
    /// The members present as `null`, as `""` or as another JSON type than their own (SPEC §10),
    /// in the order sent: the members the protocol reads, and the optional members of SPEC §4.
    /// A member the protocol reads that is not a string is left `None` above.
    pub odd: Vec<OddMember>,
}

/// A member present as `null`, as an empty string, or as another JSON type than its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OddMember {
    /// Its name.
    pub name: String,
    /// How it is odd.
    pub oddity: Oddity,
}

/// How a member departs from its own type (SPEC §10, the second row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Oddity {
    /// `null`.
    Null,
    /// `""`.
    Empty,
    /// Another JSON type than the member's own (e.g. a number where a string belongs).
    OtherType,
}

/// The JSON type of an optional member of SPEC §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonType {
    String,
    Number,
    Bool,
    /// `variables`: an object of strings.
    ObjectOfStrings,
}

/// SPEC §4: the members of the flat object the protocol reads (the payload's fields, its
/// signature and the schema-2 kind), and `schema_version`, which the SDKs write.
pub const READ_MEMBERS: &[&str] = &[
    "request",
    "license_key",
    "username",
    "password",
    "hardware_id",
    "product",
    "date",
    "api_key",
    "client_id",
    "request_id",
    "signature",
    "bundle_code",
    "schema_version",
];

/// Whether SPEC §4 names this member of the flat object (read, or optional and typed); every
/// other member is unknown, and ignored.
///
/// ```
/// use lsconform::protocol::is_spec_member;
/// assert!(is_spec_member("hardware_id") && is_spec_member("os_ver"));
/// assert!(!is_spec_member("colour"));
/// ```
pub fn is_spec_member(name: &str) -> bool {
    READ_MEMBERS.contains(&name) || OPTIONAL_MEMBERS.iter().any(|(n, _)| *n == name)
}

/// SPEC §4: the optional members the protocol does not read, with their own types. Every other
/// unknown member is ignored, whatever its type.
const OPTIONAL_MEMBERS: &[(&str, JsonType)] = &[
    ("schema_version", JsonType::Number),
    ("license_id", JsonType::Number),
    ("app_ver", JsonType::String),
    ("sdk_ver", JsonType::String),
    ("sdk_lang", JsonType::String),
    ("app_name", JsonType::String),
    ("os_ver", JsonType::String),
    ("hostname", JsonType::String),
    ("os_hostname", JsonType::String),
    ("ip", JsonType::String),
    ("ip_local", JsonType::String),
    ("mac_address", JsonType::String),
    ("is_vm", JsonType::Bool),
    ("vm_info", JsonType::String),
    ("variables", JsonType::ObjectOfStrings),
];

/// How a raw JSON value departs from `own`, if it does.
fn oddity(raw: &str, own: JsonType) -> Option<Oddity> {
    let fits = match raw.as_bytes().first() {
        Some(b'n') => return Some(Oddity::Null),
        Some(b'"') if raw == "\"\"" && own == JsonType::String => return Some(Oddity::Empty),
        Some(b'"') => own == JsonType::String,
        Some(b't' | b'f') => own == JsonType::Bool,
        Some(b'{') => {
            own == JsonType::ObjectOfStrings
                && serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(raw)
                    .is_ok_and(|m| m.values().all(serde_json::Value::is_string))
        }
        Some(b'[') => false,
        _ => own == JsonType::Number,
    };
    (!fits).then_some(Oddity::OtherType)
}

impl Payload {
    /// The members the protocol reads that the payload holds as strings, by name, in SPEC §4's
    /// order (`request`, `license_key`, … `bundle_code`).
    ///
    /// ```
    /// let file = lsconform::protocol::encode_request_file(br#"{"product":"TP","hardware_id":"h"}"#);
    /// let decoded = lsconform::protocol::decode_request(None, file.as_bytes()).unwrap();
    /// let read: Vec<_> = decoded.payload.read_members().collect();
    /// assert_eq!(read, [("hardware_id", "h"), ("product", "TP")]);
    /// ```
    pub fn read_members(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("request", &self.request),
            ("license_key", &self.license_key),
            ("username", &self.username),
            ("password", &self.password),
            ("hardware_id", &self.hardware_id),
            ("product", &self.product),
            ("date", &self.date),
            ("api_key", &self.api_key),
            ("client_id", &self.client_id),
            ("request_id", &self.request_id),
            ("signature", &self.signature),
            ("bundle_code", &self.bundle_code),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
    }

    /// Another member by name, as raw JSON text (e.g. `hostname` → `"\"my-pc\""`).
    pub fn other(&self, name: &str) -> Option<&str> {
        self.other.iter().find(|(k, _)| k == name).map(|(_, v)| v.get())
    }

    /// Another member by name when it is a JSON string, decoded.
    pub fn other_str(&self, name: &str) -> Option<String> {
        self.other(name)
            .and_then(|raw| serde_json::from_str::<String>(raw).ok())
    }
}

/// The schema of a request file (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Schema {
    /// One flat object with the inner signature in it.
    V1,
    /// `{"request": {…}, "signature": "<outer MAC>"}`.
    V2,
}

/// A payload read from JSON: which schema, the flat object's fields, and for schema 2 where the
/// `request` member's bytes are and the outer MAC as written.
#[derive(Debug, Clone)]
pub(crate) struct ParsedPayload {
    pub schema: Schema,
    pub payload: Payload,
    /// Schema 2: the byte range of the `request` member inside the decoded JSON.
    pub request_span: Option<std::ops::Range<usize>>,
    /// Schema 2: the envelope's `signature` member, when it is a string.
    pub outer_signature: Option<String>,
}

fn malformed(detail: impl fmt::Display) -> Rejection {
    Rejection::new(
        ErrorCode::AuthorizationMissingParams,
        format!("the payload is not a proper JSON object: {detail}"),
    )
}

/// What to do with a key given twice in one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DuplicateKeys {
    /// SPEC §3 [pinned, safety]: refuse the payload.
    Refuse,
    /// A deliberate deviation, for the reference server's named fault: the last copy wins.
    LastWins,
}

/// SPEC §3 and §4: reads the decoded bytes as one strict JSON object and tells schema 1 from 2.
/// Any failure is `authorization_missing_params`; the members' types are judged later, by
/// `DecodedRequest::check`.
pub(crate) fn parse_payload(json: &[u8], duplicates: DuplicateKeys) -> Result<ParsedPayload, Rejection> {
    let text = std::str::from_utf8(json).map_err(|_| malformed("not UTF-8"))?;
    // SPEC §10: a string with an unpaired surrogate escape is refused wherever it is (members the
    // protocol does not read are kept raw, so the parser alone would not see it).
    if text.contains("\\u") && without_lone_surrogates(json).is_some() {
        return Err(malformed("a string with an unpaired surrogate escape"));
    }
    let top = parse_members(text, 1, duplicates)?;
    let request_object = top
        .iter()
        .find(|(k, v)| k == "request" && v.get().starts_with('{'));
    match request_object {
        // SPEC §4: schema 2 when the top-level object has a `request` member that is an object.
        Some((_, request)) => {
            let raw = request.get();
            let start = raw.as_ptr() as usize - text.as_ptr() as usize;
            let mut outer_signature = None;
            for (key, value) in &top {
                match key.as_ref() {
                    "request" => {}
                    // A signature that is not a string is no signature (SPEC §4: missing).
                    "signature" => outer_signature = text_member(value).ok().flatten(),
                    _ => check_nested(value, 2, duplicates)?,
                }
            }
            let payload = flat_payload(parse_members(raw, 2, duplicates)?, 2, duplicates)?;
            Ok(ParsedPayload {
                schema: Schema::V2,
                payload,
                request_span: Some(start..start + raw.len()),
                outer_signature,
            })
        }
        None => Ok(ParsedPayload {
            schema: Schema::V1,
            payload: flat_payload(top, 1, duplicates)?,
            request_span: None,
            outer_signature: None,
        }),
    }
}

/// The members of one JSON object, keys decoded, values raw; a key given twice is refused.
fn parse_members(
    text: &str,
    depth: usize,
    duplicates: DuplicateKeys,
) -> Result<Vec<(Cow<'_, str>, &RawValue)>, Rejection> {
    if depth > MAX_DEPTH {
        return Err(malformed(format!("nested deeper than {MAX_DEPTH}")));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let members = de
        .deserialize_map(MembersVisitor { duplicates })
        .map_err(malformed)?;
    de.end().map_err(malformed)?;
    Ok(members)
}

fn flat_payload(
    members: Vec<(Cow<'_, str>, &RawValue)>,
    depth: usize,
    duplicates: DuplicateKeys,
) -> Result<Payload, Rejection> {
    let mut p = Payload::default();
    for (key, value) in members {
        let slot = match key.as_ref() {
            "request" => &mut p.request,
            "license_key" => &mut p.license_key,
            "username" => &mut p.username,
            "password" => &mut p.password,
            "hardware_id" => &mut p.hardware_id,
            "product" => &mut p.product,
            "date" => &mut p.date,
            "api_key" => &mut p.api_key,
            "client_id" => &mut p.client_id,
            "request_id" => &mut p.request_id,
            "signature" => &mut p.signature,
            "bundle_code" => &mut p.bundle_code,
            _ => {
                check_nested(value, depth + 1, duplicates)?;
                let own = OPTIONAL_MEMBERS.iter().find(|(name, _)| *name == key.as_ref());
                if let Some(oddity) = own.and_then(|(_, own)| oddity(value.get(), *own)) {
                    p.odd.push(OddMember {
                        name: key.to_string(),
                        oddity,
                    });
                }
                p.other.push((key.into_owned(), value.to_owned()));
                continue;
            }
        };
        // A member the protocol reads is a string; anything else is left out here and noted, for
        // `DecodedRequest::check` to judge (SPEC §4 and §10).
        let (text, odd) = match text_member(value) {
            Ok(Some(text)) if text.is_empty() => (Some(text), Some(Oddity::Empty)),
            Ok(Some(text)) => (Some(text), None),
            Ok(None) => (None, Some(Oddity::Null)),
            Err(()) => {
                check_nested(value, depth + 1, duplicates)?;
                (None, Some(Oddity::OtherType))
            }
        };
        if let Some(oddity) = odd {
            p.odd.push(OddMember {
                name: key.to_string(),
                oddity,
            });
        }
        *slot = text;
    }
    Ok(p)
}

/// A member the protocol reads: its text when it is a string, `None` when `null`, `Err` when of
/// another type.
fn text_member(value: &RawValue) -> Result<Option<String>, ()> {
    let raw = value.get();
    // The raw value is one well-formed JSON value with no whitespace around it, so `null` is
    // null and a string without a backslash is its text between the quotes (the parse that made
    // the raw value refused control characters in it). Anything else is parsed again.
    if raw == "null" {
        return Ok(None);
    }
    if let Some(text) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        if !text.contains('\\') {
            return Ok(Some(text.to_owned()));
        }
    }
    serde_json::from_str::<Option<String>>(raw).map_err(|_| ())
}

/// Walks a value the protocol does not read, refusing duplicate keys and deep nesting in it too.
fn check_nested(value: &RawValue, depth: usize, duplicates: DuplicateKeys) -> Result<(), Rejection> {
    let text = value.get();
    if !(text.starts_with('{') || text.starts_with('[')) {
        return Ok(());
    }
    let mut de = serde_json::Deserializer::from_str(text);
    StrictValue { depth, duplicates }
        .deserialize(&mut de)
        .map_err(malformed)
}

struct MembersVisitor {
    duplicates: DuplicateKeys,
}

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Vec<(Cow<'de, str>, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Room for a typical request file's members (the SDKs write 8 to 20): one allocation.
        let mut members: Vec<(Cow<'de, str>, &'de RawValue)> =
            Vec::with_capacity(map.size_hint().unwrap_or(16));
        let mut seen = KeySet::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value: &'de RawValue = map.next_value()?;
            if seen.holds(&members, &key) {
                match self.duplicates {
                    DuplicateKeys::Refuse => {
                        return Err(de::Error::custom(format_args!("duplicate key {key:?}")))
                    }
                    DuplicateKeys::LastWins => members.retain(|(k, _)| *k != key),
                }
            }
            members.push((key, value));
        }
        Ok(members)
    }
}

/// The keys of one object so far, to refuse a duplicate: while the object is short its members
/// are searched, once it is long they are hashed (so a hostile object of many keys costs linear
/// time). Keys are kept as the parser gave them, borrowed from the text unless they held escapes.
#[derive(Default)]
struct KeySet<'de> {
    keys: HashSet<Cow<'de, str>>,
    short: Vec<Cow<'de, str>>,
}

impl<'de> KeySet<'de> {
    const SHORT: usize = 24;

    /// Notes `key`; false when it was seen before (a nested object, whose members are not kept).
    fn insert(&mut self, key: Cow<'de, str>) -> bool {
        if self.keys.is_empty() && self.short.len() < Self::SHORT {
            if self.short.contains(&key) {
                return false;
            }
            self.short.push(key);
            return true;
        }
        if self.keys.is_empty() {
            self.keys.extend(self.short.drain(..));
        }
        self.keys.insert(key)
    }

    /// Whether `key` is one of `members`' keys, noting it (an object whose members are kept: the
    /// short list is the members themselves, no copy of the keys).
    // A `Cow`, not a `&str`: a key borrowed from the text goes into the set without a copy.
    #[allow(clippy::ptr_arg)]
    fn holds(&mut self, members: &[(Cow<'de, str>, &'de RawValue)], key: &Cow<'de, str>) -> bool {
        if self.keys.is_empty() && members.len() < Self::SHORT {
            return members.iter().any(|(k, _)| k == key);
        }
        if self.keys.is_empty() {
            self.keys.extend(members.iter().map(|(k, _)| k.clone()));
        }
        !self.keys.insert(key.clone())
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// Visits any JSON value, refusing duplicate keys and nesting deeper than [`MAX_DEPTH`].
struct StrictValue {
    depth: usize,
    duplicates: DuplicateKeys,
}

impl StrictValue {
    fn enter<E: de::Error>(&self) -> Result<StrictValue, E> {
        if self.depth > MAX_DEPTH {
            return Err(E::custom(format_args!("nested deeper than {MAX_DEPTH}")));
        }
        Ok(StrictValue {
            depth: self.depth + 1,
            duplicates: self.duplicates,
        })
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let child = self.enter::<A::Error>()?;
        while seq.next_element_seed(StrictValue { ..child })?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = KeySet::default();
        let child = self.enter::<A::Error>()?;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if !seen.insert(key.clone()) && child.duplicates == DuplicateKeys::Refuse {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            map.next_value_seed(StrictValue { ..child })?;
        }
        Ok(())
    }
}

/// The JSON text with each unpaired surrogate escape (`\ud800`) written as `\ufffd`, the same
/// length, so every offset (the schema-2 `request` member's span) is kept; `None` when there is
/// none.
pub(crate) fn without_lone_surrogates(json: &[u8]) -> Option<Vec<u8>> {
    let hex = |at: usize| -> Option<u16> {
        let digits = json.get(at..at + 4)?;
        u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let escape_at = |at: usize| json.get(at..at + 2) == Some(b"\\u".as_slice());
    let mut out = json.to_vec();
    let (mut i, mut changed) = (0, false);
    while i < json.len() {
        if json[i] == b'\\' && json.get(i + 1) == Some(&b'u') {
            let unit = hex(i + 2);
            let high = unit.is_some_and(|u| (0xD800..0xDC00).contains(&u));
            let low = unit.is_some_and(|u| (0xDC00..0xE000).contains(&u));
            let paired =
                high && escape_at(i + 6) && hex(i + 8).is_some_and(|u| (0xDC00..0xE000).contains(&u));
            if paired {
                i += 12;
                continue;
            }
            if high || low {
                out[i + 2..i + 6].copy_from_slice(b"fffd");
                changed = true;
            }
            i += 6;
        } else if json[i] == b'\\' {
            i += 2;
        } else {
            i += 1;
        }
    }
    changed.then_some(out)
}
