//! The `roundtrip` target: a structured payload ([`RoundtripInput`], derived with `arbitrary`)
//! through [`RequestBuilder`] in every [`Style`] and back through the decoder.

use arbitrary::{Arbitrary, Unstructured};
use serde_json::Value;

use super::{assert_rejection, boundary_for, multipart_body};
use crate::protocol::{
    decode_request, inner_signature, ApiIdentity, ErrorCode, Licensee, RequestBuilder, RequestKind, Schema,
    Style, Tamper, Transport,
};

/// A string of at most 255 bytes: a length byte, then that many bytes (fewer at the end of the
/// input), read as UTF-8 with invalid sequences replaced. A format [`RoundtripInput::to_fuzz_input`]
/// can write back, unlike `String`'s own (which takes lengths from the end of the input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl<'a> Arbitrary<'a> for Text {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = usize::from(u8::arbitrary(u)?);
        let bytes = u.bytes(len.min(u.len()))?;
        Ok(Text(String::from_utf8_lossy(bytes).into_owned()))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, Some(256))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(s.to_owned())
    }
}

/// Which endpoint the file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Kind {
    /// `"request": "activation"`.
    Activation,
    /// `"request": "deactivation"`.
    Deactivation,
}

impl From<Kind> for RequestKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Activation => RequestKind::Activation,
            Kind::Deactivation => RequestKind::Deactivation,
        }
    }
}

/// How the file's text is sent (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Delivery {
    /// The raw body, no Content-Type.
    Raw,
    /// The raw body, `text/plain` (the SDKs).
    TextPlain,
    /// The raw body, `application/x-www-form-urlencoded` (curl).
    FormUrlencoded,
    /// The `file` part of a multipart body.
    Multipart,
}

/// How the Base64 text is laid out (SPEC §3: whitespace and one BOM are ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Wrapping {
    /// One line.
    OneLine,
    /// One line and an LF (the Python SDK's `print`).
    TrailingNewline,
    /// Lines of 76 characters, each ending in CRLF.
    CrlfLines,
    /// A UTF-8 byte-order mark first.
    Bom,
}

/// Which signature to corrupt ([`Tamper::Corrupt`]: well-formed and wrong).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Tampering {
    /// Both right.
    None,
    /// The inner signature (the JavaScript style writes none, so it stays unaffected).
    Inner,
    /// The schema-2 outer MAC (schema 1 has none).
    Outer,
}

/// The value of an extra member.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub enum FieldValue {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer (never a float: SPEC §6).
    Int(i64),
    /// A string.
    Str(Text),
    /// An array of strings.
    List(Vec<Text>),
    /// An object of strings (`variables`); a key given twice keeps its last value.
    Map(Vec<(Text, Text)>),
}

impl FieldValue {
    /// The JSON value the builder is given.
    pub fn to_json(&self) -> Value {
        match self {
            FieldValue::Null => Value::Null,
            FieldValue::Bool(b) => Value::from(*b),
            FieldValue::Int(n) => Value::from(*n),
            FieldValue::Str(s) => Value::from(s.0.as_str()),
            FieldValue::List(items) => items.iter().map(|s| Value::from(s.0.as_str())).collect(),
            FieldValue::Map(pairs) => Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.0.clone(), Value::from(v.0.as_str())))
                    .collect(),
            ),
        }
    }
}

/// A `roundtrip` input: the fields of a request file, the keys, how it is sent, and which
/// signature to corrupt.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub struct RoundtripInput {
    /// The endpoint.
    pub kind: Kind,
    /// The transport.
    pub delivery: Delivery,
    /// The text's layout.
    pub wrapping: Wrapping,
    /// Which signature to corrupt.
    pub tampering: Tampering,
    /// `license_key`.
    pub license_key: Option<Text>,
    /// `username`.
    pub username: Option<Text>,
    /// `password`.
    pub password: Option<Text>,
    /// `hardware_id`.
    pub hardware_id: Option<Text>,
    /// `product`.
    pub product: Option<Text>,
    /// `date`.
    pub date: Option<Text>,
    /// `request_id`.
    pub request_id: Option<Text>,
    /// The API key (the builder always writes `api_key`).
    pub api_key: Text,
    /// Its shared key.
    pub shared_key: Text,
    /// Extra members, in order; a name the protocol reads is written as `x-<name>`.
    pub fields: Vec<(Text, FieldValue)>,
}

/// The members the protocol reads or the builder writes itself; an extra member of such a name
/// is renamed, so that the extras never change what the protocol decides.
const RESERVED: &[&str] = crate::suite::generate::strategies::RESERVED_NAMES;

/// The name an extra member is written under.
pub fn extra_name(name: &str) -> String {
    if RESERVED.contains(&name) {
        format!("x-{name}")
    } else {
        name.to_owned()
    }
}

trait Encode {
    fn encode(&self, out: &mut Vec<u8>);
}

/// A derived enum picks variant `(u32 * count) >> 32`; this is the smallest u32 that picks `index`.
fn encode_variant(out: &mut Vec<u8>, index: u64, count: u64) {
    let v = u32::try_from((index << 32).div_ceil(count)).expect("index < count");
    out.extend_from_slice(&v.to_le_bytes());
}

impl Encode for Text {
    fn encode(&self, out: &mut Vec<u8>) {
        let len = u8::try_from(self.0.len()).expect("a Text of at most 255 bytes");
        out.push(len);
        out.extend_from_slice(self.0.as_bytes());
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.encode(out);
            }
        }
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        for item in self {
            out.push(1);
            item.encode(out);
        }
        out.push(0);
    }
}

impl<A: Encode, B: Encode> Encode for (A, B) {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
        self.1.encode(out);
    }
}

macro_rules! encode_unit_enum {
    ($($ty:ident { $($variant:ident),+ })+) => {$(
        impl Encode for $ty {
            fn encode(&self, out: &mut Vec<u8>) {
                let all = [$($ty::$variant),+];
                let index = all.iter().position(|v| v == self).expect("a listed variant");
                encode_variant(out, index as u64, all.len() as u64);
            }
        }
    )+};
}

encode_unit_enum! {
    Kind { Activation, Deactivation }
    Delivery { Raw, TextPlain, FormUrlencoded, Multipart }
    Wrapping { OneLine, TrailingNewline, CrlfLines, Bom }
    Tampering { None, Inner, Outer }
}

impl Encode for FieldValue {
    fn encode(&self, out: &mut Vec<u8>) {
        const COUNT: u64 = 6;
        match self {
            FieldValue::Null => encode_variant(out, 0, COUNT),
            FieldValue::Bool(b) => {
                encode_variant(out, 1, COUNT);
                out.push(u8::from(*b));
            }
            FieldValue::Int(n) => {
                encode_variant(out, 2, COUNT);
                out.extend_from_slice(&n.to_le_bytes());
            }
            FieldValue::Str(s) => {
                encode_variant(out, 3, COUNT);
                s.encode(out);
            }
            FieldValue::List(items) => {
                encode_variant(out, 4, COUNT);
                items.encode(out);
            }
            FieldValue::Map(pairs) => {
                encode_variant(out, 5, COUNT);
                pairs.encode(out);
            }
        }
    }
}

impl RoundtripInput {
    /// Reads an input as the target does; `None` when `arbitrary` refuses the bytes.
    pub fn from_fuzz_input(data: &[u8]) -> Option<RoundtripInput> {
        RoundtripInput::arbitrary_take_rest(Unstructured::new(data)).ok()
    }

    /// The bytes that [`from_fuzz_input`](Self::from_fuzz_input) reads back as `self` (for seed
    /// corpora). Panics on a [`Text`] longer than 255 bytes.
    pub fn to_fuzz_input(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.kind.encode(&mut out);
        self.delivery.encode(&mut out);
        self.wrapping.encode(&mut out);
        self.tampering.encode(&mut out);
        for field in [
            &self.license_key,
            &self.username,
            &self.password,
            &self.hardware_id,
            &self.product,
            &self.date,
            &self.request_id,
        ] {
            field.encode(&mut out);
        }
        self.api_key.encode(&mut out);
        self.shared_key.encode(&mut out);
        self.fields.encode(&mut out);
        out
    }
}

/// The body and Content-Type that carry a file's text.
fn deliver(text: &str, delivery: Delivery, wrapping: Wrapping) -> (Option<String>, Vec<u8>) {
    let wrapped: Vec<u8> = match wrapping {
        Wrapping::OneLine => text.as_bytes().to_vec(),
        Wrapping::TrailingNewline => [text.as_bytes(), b"\n"].concat(),
        Wrapping::CrlfLines => text
            .as_bytes()
            .chunks(76)
            .flat_map(|line| [line, b"\r\n"].concat())
            .collect(),
        Wrapping::Bom => [&b"\xEF\xBB\xBF"[..], text.as_bytes()].concat(),
    };
    match delivery {
        Delivery::Raw => (None, wrapped),
        Delivery::TextPlain => (Some("text/plain".to_owned()), wrapped),
        Delivery::FormUrlencoded => (Some("application/x-www-form-urlencoded".to_owned()), wrapped),
        Delivery::Multipart => {
            let boundary = boundary_for(&[&wrapped]);
            let body = multipart_body(&boundary, &[("file", &wrapped)]);
            (Some(format!("multipart/form-data; boundary={boundary}")), body)
        }
    }
}

fn text(field: &Option<Text>) -> Option<&str> {
    field.as_ref().map(|t| t.0.as_str())
}

/// SPEC §4: an empty value counts as absent.
fn present(field: &Option<Text>) -> Option<&str> {
    text(field).filter(|s| !s.is_empty())
}

/// The `roundtrip` target: reads a [`RoundtripInput`] (skipping bytes `arbitrary` refuses) and
/// runs [`roundtrip`] on it.
pub fn roundtrip_target(data: &[u8]) {
    if let Some(input) = RoundtripInput::from_fuzz_input(data) {
        roundtrip(&input);
    }
}

/// Builds the input's file with [`RequestBuilder`] in every [`Style`], sends it as the input says,
/// and decodes, checks and verifies it.
///
/// Asserts, in every style: the decoder gives back the exact JSON the builder wrote, the schema and
/// the style; every field comes back unchanged (the extras too, as JSON values); the check refuses
/// exactly when a required field is absent or empty (`authorization_missing_params`), and refuses
/// the other endpoint (`validation_error`); the file verifies with its shared key unless a
/// signature it carries was corrupted (then `signature_mismatch`), and never with another key. Two
/// extras of the same name are a key given twice: refused while decoding.
pub fn roundtrip(input: &RoundtripInput) {
    let kind = RequestKind::from(input.kind);
    let other_kind = match kind {
        RequestKind::Activation => RequestKind::Deactivation,
        RequestKind::Deactivation => RequestKind::Activation,
    };
    let extras: Vec<(String, Value)> = input
        .fields
        .iter()
        .map(|(name, value)| (extra_name(&name.0), value.to_json()))
        .collect();
    let mut names: Vec<&str> = extras.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    let duplicated = names.windows(2).any(|w| w[0] == w[1]);

    let api_key = input.api_key.0.as_str();
    let shared_key = input.shared_key.0.as_str();
    let licensee = match (present(&input.license_key), present(&input.username)) {
        (Some(key), _) => Some(Licensee::LicenseKey(key)),
        (None, Some(username)) => Some(Licensee::User {
            username,
            password: present(&input.password),
        }),
        (None, None) => None,
    };
    let complete = licensee.is_some()
        && present(&input.hardware_id).is_some()
        && !api_key.is_empty()
        && present(&input.product).is_some()
        && present(&input.date).is_some();

    for style in Style::ALL {
        let mut builder = RequestBuilder::new(kind).style(style);
        if let Some(v) = text(&input.license_key) {
            builder = builder.license_key(v);
        }
        if let Some(v) = text(&input.username) {
            builder = builder.username(v);
        }
        if let Some(v) = text(&input.password) {
            builder = builder.password(v);
        }
        if let Some(v) = text(&input.hardware_id) {
            builder = builder.hardware_id(v);
        }
        if let Some(v) = text(&input.product) {
            builder = builder.product(v);
        }
        if let Some(v) = text(&input.date) {
            builder = builder.date(v);
        }
        if let Some(v) = text(&input.request_id) {
            builder = builder.request_id(v);
        }
        for (name, value) in &extras {
            builder = builder.field(name.as_str(), value.clone());
        }
        builder = match input.tampering {
            Tampering::None => builder,
            Tampering::Inner => builder.inner_signature(Tamper::Corrupt),
            Tampering::Outer => builder.outer_signature(Tamper::Corrupt),
        };
        let file = builder.sign(api_key, shared_key);
        let (content_type, body) = deliver(&file.text, input.delivery, input.wrapping);

        let decoded = match decode_request(content_type.as_deref(), &body) {
            Err(r) => {
                assert_rejection(&r);
                assert!(
                    duplicated && r.code == ErrorCode::AuthorizationMissingParams,
                    "{style}: a file the builder wrote is refused: {r}"
                );
                continue;
            }
            Ok(decoded) => decoded,
        };
        assert!(!duplicated, "{style}: a member given twice was accepted");
        assert_eq!(decoded.json, file.json, "{style}: the JSON changed on the way");
        let transport = match input.delivery {
            Delivery::Multipart => Transport::Multipart,
            _ => Transport::Raw,
        };
        assert_eq!(decoded.transport, transport, "{style}");
        let schema = match style {
            Style::Schema1 => Schema::V1,
            _ => Schema::V2,
        };
        assert_eq!(decoded.schema, schema, "{style}");
        assert_eq!(Style::of(&decoded), Some(style), "the style is not recognised");

        // Every field, unchanged.
        let p = &decoded.payload;
        assert_eq!(p.request.as_deref(), Some(kind.as_str()), "{style}: request");
        for (name, got, sent) in [
            ("license_key", &p.license_key, &input.license_key),
            ("username", &p.username, &input.username),
            ("password", &p.password, &input.password),
            ("hardware_id", &p.hardware_id, &input.hardware_id),
            ("product", &p.product, &input.product),
            ("date", &p.date, &input.date),
            ("request_id", &p.request_id, &input.request_id),
        ] {
            assert_eq!(got.as_deref(), text(sent), "{style}: {name}");
        }
        assert_eq!(p.api_key.as_deref(), Some(api_key), "{style}: api_key");
        assert_eq!(p.client_id, None, "{style}: client_id");
        assert_eq!(p.bundle_code, None, "{style}: bundle_code");
        match (style, input.tampering) {
            (Style::JavaScript, _) => assert_eq!(p.signature, None, "{style}: no inner signature"),
            (_, Tampering::Inner) => assert!(p.signature.is_some(), "{style}: the inner signature"),
            _ => {
                let licensee = text(&input.license_key)
                    .filter(|k| !k.is_empty())
                    .or(text(&input.username))
                    .unwrap_or_default();
                let expected = inner_signature(
                    shared_key,
                    text(&input.date).unwrap_or_default(),
                    licensee,
                    text(&input.hardware_id).unwrap_or_default(),
                    api_key,
                );
                assert_eq!(
                    p.signature.as_deref(),
                    Some(expected.as_str()),
                    "{style}: signature"
                );
            }
        }
        let mut other: Vec<(String, Value)> = p
            .other
            .iter()
            .map(|(k, raw)| match serde_json::from_str::<Value>(raw.get()) {
                Ok(value) => (k.clone(), value),
                Err(e) => panic!("{style}: {k} is not JSON: {e}"),
            })
            .collect();
        let mut expected_other = extras.clone();
        if schema == Schema::V2 {
            expected_other.push(("schema_version".to_owned(), Value::from(2)));
        }
        other.sort_by(|a, b| a.0.cmp(&b.0));
        expected_other.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(other, expected_other, "{style}: the extra members changed");

        // The check, for this endpoint and the other.
        let checked = match decoded.check(kind) {
            Err(r) => {
                assert_rejection(&r);
                assert!(
                    !complete && r.code == ErrorCode::AuthorizationMissingParams,
                    "{style}: the check refused with {r}"
                );
                continue;
            }
            Ok(checked) => checked,
        };
        assert!(
            complete,
            "{style}: the check passed with a required field missing"
        );
        match decoded.check(other_kind) {
            Err(r) => assert_eq!(r.code, ErrorCode::ValidationError, "{style}: the other endpoint"),
            Ok(_) => panic!("{style}: the file passes the check of the other endpoint"),
        }
        assert_eq!(Some(checked.licensee), licensee, "{style}: licensee");
        assert_eq!(Some(checked.hardware_id), present(&input.hardware_id), "{style}");
        assert_eq!(Some(checked.product), present(&input.product), "{style}");
        assert_eq!(Some(checked.date), present(&input.date), "{style}");
        assert_eq!(checked.identity, ApiIdentity::ApiKey(api_key), "{style}");
        assert_eq!(checked.request_id, present(&input.request_id), "{style}");

        // The verification result.
        let corrupted = !matches!(
            (style, input.tampering),
            (_, Tampering::None) | (Style::JavaScript, Tampering::Inner) | (Style::Schema1, Tampering::Outer)
        );
        match checked.verify(shared_key) {
            Ok(()) => assert!(!corrupted, "{style}: a corrupted signature verifies"),
            Err(r) => {
                assert_rejection(&r);
                assert_eq!(r.code, ErrorCode::SignatureMismatch, "{style}");
                assert!(corrupted, "{style}: the builder's file does not verify");
            }
        }
        let other_key = format!("{shared_key}!");
        match checked.verify(&other_key) {
            Ok(()) => panic!("{style}: the file verifies with another shared key"),
            Err(r) => assert_eq!(r.code, ErrorCode::SignatureMismatch, "{style}"),
        }
    }
}
