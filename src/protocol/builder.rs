//! Writes request files exactly as the official SDKs do (SPEC §4, §9), so that the suite sends
//! what real clients send and the tests can check every layout the server must accept.

use std::io;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};
use serde_json::value::RawValue;
use serde_json::Value;

use super::payload::Schema;
use super::request::{DecodedRequest, RequestKind};
use super::signature::{inner_signature, outer_signature, MacEncoding};
use super::transport::encode_request_file;

/// How a request file is laid out: which schema, which serialisation, which MAC encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    /// Schema 1: one flat compact object with the inner signature (the seed's example).
    Schema1,
    /// Schema 2, compact JSON, outer MAC in lowercase hex (the C++ SDK and the docs' example):
    /// `schema_version` first, then the other members sorted by name.
    CompactHex,
    /// Schema 2 as the Python SDK writes it: `json.dumps` separators (`", "`, `": "`), non-ASCII
    /// escaped as `\uXXXX` in activation files (not in deactivation files), outer MAC in Base64.
    Python,
    /// Schema 2 as the Node SDK writes it: `JSON.stringify`, no inner signature, outer MAC in
    /// Base64, and its own date form (`Fri Nov 27 2026 04:36:34 GMT+0000`).
    JavaScript,
}

impl Style {
    /// Every style.
    pub const ALL: [Style; 4] = [
        Style::Schema1,
        Style::CompactHex,
        Style::Python,
        Style::JavaScript,
    ];

    /// The style's name on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Style::Schema1 => "schema1",
            Style::CompactHex => "compact-hex",
            Style::Python => "python",
            Style::JavaScript => "javascript",
        }
    }

    /// The `date` a client of this style writes for `time`.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use lsconform::protocol::Style;
    /// let t = UNIX_EPOCH + Duration::from_secs(1_795_754_194);
    /// assert_eq!(Style::Python.date(t), "Fri, 27 Nov 2026 04:36:34 GMT");
    /// assert_eq!(Style::JavaScript.date(t), "Fri Nov 27 2026 04:36:34 GMT+0000");
    /// ```
    pub fn date(self, time: SystemTime) -> String {
        match self {
            Style::JavaScript => {
                let format = time::macros::format_description!(
                    "[weekday repr:short] [month repr:short] [day padding:none] [year] [hour]:[minute]:[second] GMT+0000"
                );
                time::OffsetDateTime::from(time)
                    .format(format)
                    .expect("a SystemTime always formats")
            }
            _ => super::auth::format_http_date(time),
        }
    }

    /// Tells which style wrote a decoded file, from its layout: the schema, the outer MAC's
    /// encoding, the separators and whether there is an inner signature. `None` for a layout no
    /// official client writes (e.g. compact JSON with a Base64 MAC and an inner signature).
    ///
    /// ```
    /// use lsconform::protocol::{decode_request, RequestBuilder, Style};
    /// for style in Style::ALL {
    ///     let file = RequestBuilder::activation().license_key("K").style(style).sign("a", "s");
    ///     let decoded = decode_request(None, file.text.as_bytes()).unwrap();
    ///     assert_eq!(Style::of(&decoded), Some(style));
    /// }
    /// ```
    pub fn of(decoded: &DecodedRequest) -> Option<Style> {
        if decoded.schema == Schema::V1 {
            return Some(Style::Schema1);
        }
        let request = decoded.request_bytes()?;
        let python_separators = first_key_end(request).is_some_and(|end| request[end..].starts_with(b": "));
        match (
            decoded.outer_mac_encoding()?,
            python_separators,
            decoded.payload.signature.is_some(),
        ) {
            (MacEncoding::Hex, false, _) => Some(Style::CompactHex),
            (MacEncoding::Base64, true, _) => Some(Style::Python),
            (MacEncoding::Base64, false, false) => Some(Style::JavaScript),
            _ => None,
        }
    }

    fn mac_encoding(self) -> MacEncoding {
        match self {
            Style::CompactHex => MacEncoding::Hex,
            _ => MacEncoding::Base64,
        }
    }
}

impl std::str::FromStr for Style {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Style::ALL.into_iter().find(|st| st.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Style::ALL.iter().map(|s| s.name()).collect();
            format!("unknown style {s:?}; expected one of {}", names.join(", "))
        })
    }
}

impl std::fmt::Display for Style {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A request file: the JSON that was written and its Base64 text, which is what is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFile {
    /// The decoded JSON.
    pub json: Vec<u8>,
    /// The file's text: Base64 of `json`.
    pub text: String,
}

/// Builds a request file. Every field may be left out, so the suite can also build files that
/// lack what a server requires; the signatures are computed over whatever is present.
///
/// ```
/// use lsconform::protocol::{decode_request, RequestBuilder, RequestKind, Style};
/// let file = RequestBuilder::activation()
///     .license_key("AAAA-BBBB-CCCC-DDDD")
///     .hardware_id("hw-1")
///     .product("TP")
///     .date("Fri, 27 Nov 2026 04:36:34 GMT")
///     .request_id("2edf98fe-29cb-4c7c-b1fa-7ed7ea2acb6b")
///     .field("hostname", "büro-pc")
///     .style(Style::Python)
///     .sign("my-api-key", "my-shared-key");
/// let decoded = decode_request(Some("text/plain"), file.text.as_bytes()).unwrap();
/// let checked = decoded.check(RequestKind::Activation).unwrap();
/// assert!(checked.verify("my-shared-key").is_ok());
/// assert!(checked.verify("another-key").is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RequestBuilder {
    kind: RequestKind,
    license_key: Option<String>,
    username: Option<String>,
    password: Option<String>,
    hardware_id: Option<String>,
    product: Option<String>,
    date: Option<String>,
    request_id: Option<String>,
    fields: Vec<(String, Value)>,
    style: Style,
    edits: Vec<Edit>,
    envelope: Vec<(String, Value)>,
    inner: Tamper,
    outer: Tamper,
}

/// A change to the flat object after the style has laid it out (see [`RequestBuilder::set`]).
#[derive(Debug, Clone, PartialEq)]
enum Edit {
    Set(String, Value),
    Remove(String),
    Duplicate(String, Value),
}

/// What to write in place of a signature the builder computes, to make files that must be refused.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Tamper {
    /// The correct signature (the default).
    #[default]
    Keep,
    /// No signature member at all.
    Omit,
    /// The correct signature with its first character changed to another of the same alphabet:
    /// well-formed, and wrong.
    Corrupt,
    /// This text instead.
    Replace(String),
    /// The correct signature upper-cased: for a hex MAC, the right digest in uppercase hex, which
    /// SPEC §10 lets a server accept or refuse; for a Base64 MAC, a wrong one that is still
    /// canonical Base64 of 32 bytes (its last character, which holds the padding bits, is kept),
    /// so the file is wrong in the same way whatever the MAC.
    Uppercase,
    /// The correct signature cut to its first characters (this many): the start of the right
    /// MAC, too short to be one.
    Truncate(usize),
}

impl Tamper {
    fn apply(&self, computed: String) -> Option<String> {
        match self {
            Tamper::Keep => Some(computed),
            Tamper::Omit => None,
            Tamper::Replace(text) => Some(text.clone()),
            Tamper::Truncate(n) => Some(computed.chars().take(*n).collect()),
            Tamper::Uppercase => Some(match MacEncoding::decode(&computed) {
                Some((MacEncoding::Base64, _)) => {
                    let data = computed.trim_end_matches('=');
                    let (head, last) = data.split_at(data.len().saturating_sub(1));
                    format!("{}{last}{}", head.to_ascii_uppercase(), &computed[data.len()..])
                }
                _ => computed.to_ascii_uppercase(),
            }),
            Tamper::Corrupt => {
                let mut chars: Vec<char> = computed.chars().collect();
                if let Some(first) = chars.first_mut() {
                    // Digits and 'a'/'b' are both lowercase hex and Base64: the result still decodes
                    // in the MAC's own encoding (an 'A' would turn a hex MAC malformed).
                    *first = match *first {
                        '0' => '1',
                        c if c.is_ascii_digit() => '0',
                        'a' => 'b',
                        _ => 'a',
                    };
                }
                Some(chars.into_iter().collect())
            }
        }
    }
}

impl RequestBuilder {
    /// A file for `activate_offline`.
    pub fn activation() -> Self {
        Self::new(RequestKind::Activation)
    }

    /// A file for `deactivate_offline`.
    pub fn deactivation() -> Self {
        Self::new(RequestKind::Deactivation)
    }

    /// A file for either endpoint.
    pub fn new(kind: RequestKind) -> Self {
        RequestBuilder {
            kind,
            license_key: None,
            username: None,
            password: None,
            hardware_id: None,
            product: None,
            date: None,
            request_id: None,
            fields: Vec::new(),
            style: Style::Python,
            edits: Vec::new(),
            envelope: Vec::new(),
            inner: Tamper::Keep,
            outer: Tamper::Keep,
        }
    }

    /// For a key-based license.
    pub fn license_key(mut self, key: impl Into<String>) -> Self {
        self.license_key = Some(key.into());
        self
    }

    /// For a user-based license.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// The user's password, for a user-based license.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// The device.
    pub fn hardware_id(mut self, hardware_id: impl Into<String>) -> Self {
        self.hardware_id = Some(hardware_id.into());
        self
    }

    /// The product's short code.
    pub fn product(mut self, product: impl Into<String>) -> Self {
        self.product = Some(product.into());
        self
    }

    /// The payload `date`, as text (see [`Style::date`]).
    pub fn date(mut self, date: impl Into<String>) -> Self {
        self.date = Some(date.into());
        self
    }

    /// The `request_id` (the SDKs always send a UUID).
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Any other member (`hostname`, `os_ver`, `is_vm`, `variables`, …), in the order given.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.push((name.into(), value.into()));
        self
    }

    /// The layout to write.
    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// Sets a member of the flat object after the style has laid it out: replaces it where it
    /// stands, or adds it at the end. The signatures cover the result, so this makes files that are
    /// correctly signed and semantically wrong (`.set("request", "deactivation")`,
    /// `.set("hardware_id", 42)`).
    ///
    /// ```
    /// use lsconform::protocol::{decode_request, ErrorCode, RequestBuilder, RequestKind};
    /// let file = RequestBuilder::activation().license_key("K").hardware_id("h").product("TP").date("d")
    ///     .set("request", "deactivation")
    ///     .sign("a", "s");
    /// let decoded = decode_request(None, file.text.as_bytes()).unwrap();
    /// assert_eq!(decoded.check(RequestKind::Activation).unwrap_err().code, ErrorCode::ValidationError);
    /// ```
    pub fn set(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.edits.push(Edit::Set(name.into(), value.into()));
        self
    }

    /// Removes a member of the flat object (e.g. `api_key`, which the builder always writes).
    pub fn remove(mut self, name: impl Into<String>) -> Self {
        self.edits.push(Edit::Remove(name.into()));
        self
    }

    /// Writes a member once more at the end of the flat object: a key given twice.
    pub fn duplicate(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.edits.push(Edit::Duplicate(name.into(), value.into()));
        self
    }

    /// Adds a member to the schema-2 envelope, beside `request` and `signature` (replacing one of
    /// those when named so).
    pub fn envelope_member(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.envelope.push((name.into(), value.into()));
        self
    }

    /// What to write as the inner signature.
    pub fn inner_signature(mut self, tamper: Tamper) -> Self {
        self.inner = tamper;
        self
    }

    /// What to write as the schema-2 outer MAC.
    pub fn outer_signature(mut self, tamper: Tamper) -> Self {
        self.outer = tamper;
        self
    }

    /// Signs with the API key and its shared key and writes the file.
    pub fn sign(&self, api_key: &str, shared_key: &str) -> RequestFile {
        let licensee = self
            .license_key
            .as_deref()
            .filter(|k| !k.is_empty())
            .or(self.username.as_deref())
            .unwrap_or_default();
        let signature = inner_signature(
            shared_key,
            self.date.as_deref().unwrap_or_default(),
            licensee,
            self.hardware_id.as_deref().unwrap_or_default(),
            api_key,
        );
        let members = self.members(api_key, signature);
        let layout = self.layout();
        let json = match self.style {
            Style::Schema1 => write_object(&members, layout),
            _ => {
                let request = write_object(&members, layout);
                let mac = outer_signature(shared_key, &request, self.style.mac_encoding());
                let request = String::from_utf8(request).expect("serde_json writes UTF-8");
                let mut envelope = vec![(
                    "request".to_owned(),
                    RawValue::from_string(request).expect("serde_json writes JSON"),
                )];
                if let Some(mac) = self.outer.apply(mac) {
                    envelope.push(("signature".to_owned(), raw(&Value::from(mac), layout)));
                }
                for (name, value) in &self.envelope {
                    let value = raw(value, layout);
                    match envelope.iter_mut().find(|(k, _)| k == name) {
                        Some(slot) => slot.1 = value,
                        None => envelope.push((name.clone(), value)),
                    }
                }
                write_object(&envelope, layout)
            }
        };
        RequestFile {
            text: encode_request_file(&json),
            json,
        }
    }

    fn layout(&self) -> Layout {
        match self.style {
            // SPEC §4: the Python SDK escapes non-ASCII for activation, not for deactivation.
            Style::Python => Layout::Python {
                ensure_ascii: self.kind == RequestKind::Activation,
            },
            _ => Layout::Compact,
        }
    }

    /// The members of the flat object, in the order the style's client writes them.
    fn members(&self, api_key: &str, signature: String) -> Vec<(String, Box<RawValue>)> {
        let layout = self.layout();
        let s = |v: &Option<String>| v.as_ref().map(|v| Value::from(v.as_str()));
        let request = Some(Value::from(self.kind.as_str()));
        let api_key = Some(Value::from(api_key));
        let schema_version = Some(Value::from(2));
        let signature = match self.style {
            // The Node SDK writes no inner signature unless one is put there on purpose.
            Style::JavaScript => match &self.inner {
                Tamper::Replace(text) => Some(Value::from(text.as_str())),
                _ => None,
            },
            _ => self.inner.apply(signature).map(Value::from),
        };
        let extras = || self.fields.iter().map(|(k, v)| (k.as_str(), Some(v.clone())));
        let ordered: Vec<(&str, Option<Value>)> = match self.style {
            Style::Schema1 => extras()
                .chain([
                    ("hardware_id", s(&self.hardware_id)),
                    ("product", s(&self.product)),
                    ("license_key", s(&self.license_key)),
                    ("username", s(&self.username)),
                    ("password", s(&self.password)),
                    ("api_key", api_key),
                    ("date", s(&self.date)),
                    ("request", request),
                    ("request_id", s(&self.request_id)),
                    ("signature", signature),
                ])
                .collect(),
            Style::CompactHex => {
                let mut rest: Vec<(&str, Option<Value>)> = extras()
                    .chain([
                        ("api_key", api_key),
                        ("date", s(&self.date)),
                        ("hardware_id", s(&self.hardware_id)),
                        ("license_key", s(&self.license_key)),
                        ("username", s(&self.username)),
                        ("password", s(&self.password)),
                        ("product", s(&self.product)),
                        ("request", request),
                        ("request_id", s(&self.request_id)),
                        ("signature", signature),
                    ])
                    .collect();
                rest.sort_by(|a, b| a.0.cmp(b.0));
                std::iter::once(("schema_version", schema_version))
                    .chain(rest)
                    .collect()
            }
            // licensespring/api/__init__.py, activate_offline_dump.
            Style::Python => [
                ("request", request),
                ("product", s(&self.product)),
                ("hardware_id", s(&self.hardware_id)),
                ("license_key", s(&self.license_key)),
                ("username", s(&self.username)),
                ("password", s(&self.password)),
            ]
            .into_iter()
            .chain(extras())
            .chain([
                ("date", s(&self.date)),
                ("request_id", s(&self.request_id)),
                ("schema_version", schema_version),
                ("signature", signature),
                ("api_key", api_key),
            ])
            .collect(),
            // @licensespring/node-sdk, createOfflineActivationPayload: no inner signature. It
            // writes the application's members in the order given (here: an application that
            // passes hardware_id, license_key, product, then the rest), then sdk_ver, app_name,
            // app_ver (as fields), request_id, request, schema_version, api_key, date
            // (tests/node_sdk.rs rebuilds its files byte for byte).
            Style::JavaScript => [
                ("hardware_id", s(&self.hardware_id)),
                ("license_key", s(&self.license_key)),
                ("username", s(&self.username)),
                ("password", s(&self.password)),
                ("product", s(&self.product)),
            ]
            .into_iter()
            .chain(extras())
            .chain([
                ("request_id", s(&self.request_id)),
                ("request", request),
                ("schema_version", schema_version),
                ("api_key", api_key),
                ("date", s(&self.date)),
                ("signature", signature),
            ])
            .collect(),
        };
        let mut members: Vec<(String, Box<RawValue>)> = ordered
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), raw(&v, layout))))
            .collect();
        for edit in &self.edits {
            match edit {
                Edit::Set(name, value) => match members.iter_mut().find(|(k, _)| k == name) {
                    Some(slot) => slot.1 = raw(value, layout),
                    None => members.push((name.clone(), raw(value, layout))),
                },
                Edit::Remove(name) => members.retain(|(k, _)| k != name),
                Edit::Duplicate(name, value) => members.push((name.clone(), raw(value, layout))),
            }
        }
        members
    }
}

/// How JSON text is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `serde_json` compact: the same bytes as `JSON.stringify` and nlohmann's `dump()` for
    /// strings, integers, booleans, null, objects and arrays.
    Compact,
    /// Python's `json.dumps` defaults: `", "` and `": "`, and with `ensure_ascii` every character
    /// outside printable ASCII (DEL included) as `\uXXXX`, astral ones as surrogate pairs.
    Python { ensure_ascii: bool },
}

fn raw(value: &Value, layout: Layout) -> Box<RawValue> {
    let text = String::from_utf8(write_json(value, layout)).expect("serde_json writes UTF-8");
    RawValue::from_string(text).expect("serde_json writes JSON")
}

fn write_object(members: &[(String, Box<RawValue>)], layout: Layout) -> Vec<u8> {
    struct Members<'a>(&'a [(String, Box<RawValue>)]);
    impl Serialize for Members<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }
    write_json(&Members(members), layout)
}

fn write_json<T: Serialize + ?Sized>(value: &T, layout: Layout) -> Vec<u8> {
    let mut out = Vec::new();
    let result = match layout {
        Layout::Compact => value.serialize(&mut serde_json::Serializer::with_formatter(
            &mut out,
            CompactFormatter,
        )),
        Layout::Python { ensure_ascii } => value.serialize(&mut serde_json::Serializer::with_formatter(
            &mut out,
            PythonFormatter { ensure_ascii },
        )),
    };
    result.expect("JSON values and raw JSON always serialise");
    out
}

struct PythonFormatter {
    ensure_ascii: bool,
}

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        if !self.ensure_ascii {
            return w.write_all(fragment.as_bytes());
        }
        for c in fragment.chars() {
            if (' '..='~').contains(&c) {
                w.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn write_char_escape<W: ?Sized + io::Write>(&mut self, w: &mut W, escape: CharEscape) -> io::Result<()> {
        // Python writes the same escapes as serde_json for `"`, `\` and control characters.
        CompactFormatter.write_char_escape(w, escape)
    }
}

/// Where the first key of a JSON object's text ends (just past its closing quote).
fn first_key_end(object: &[u8]) -> Option<usize> {
    let start = object.iter().position(|&b| b == b'"')? + 1;
    let mut escaped = false;
    for (i, &b) in object.iter().enumerate().skip(start) {
        match (escaped, b) {
            (false, b'\\') => escaped = true,
            (false, b'"') => return Some(i + 1),
            _ => escaped = false,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{decode_request, ErrorCode};

    fn base(style: Style) -> RequestBuilder {
        RequestBuilder::activation()
            .license_key("K")
            .hardware_id("h")
            .product("TP")
            .date("d")
            .style(style)
    }

    fn outcome(file: &RequestFile) -> Result<(), ErrorCode> {
        let decoded = decode_request(None, file.text.as_bytes()).map_err(|r| r.code)?;
        decoded
            .check(RequestKind::Activation)
            .map_err(|r| r.code)?
            .verify("s")
            .map_err(|r| r.code)
    }

    #[test]
    fn corrupted_signatures_stay_well_formed_and_fail_verification() {
        for style in Style::ALL {
            assert_eq!(outcome(&base(style).sign("a", "s")), Ok(()), "{style}");
            let inner = base(style).inner_signature(Tamper::Corrupt).sign("a", "s");
            let expected = if style == Style::JavaScript {
                Ok(())
            } else {
                Err(ErrorCode::SignatureMismatch)
            };
            assert_eq!(outcome(&inner), expected, "{style}");
            if style != Style::Schema1 {
                let outer = base(style).outer_signature(Tamper::Corrupt).sign("a", "s");
                assert_eq!(outcome(&outer), Err(ErrorCode::SignatureMismatch), "{style}");
                let decoded = decode_request(None, outer.text.as_bytes()).unwrap();
                assert!(
                    decoded.outer_mac_encoding().is_some(),
                    "{style}: still hex or Base64"
                );
            }
        }
    }

    #[test]
    fn corrupting_a_hex_mac_that_starts_with_a_letter_keeps_it_lowercase_hex() {
        // Found by the roundtrip fuzz target (fuzz/regressions/roundtrip/).
        for first in ['a', 'b', 'f'] {
            let mac = format!("{first}{}", "0".repeat(63));
            let corrupted = Tamper::Corrupt.apply(mac.clone()).unwrap();
            assert_ne!(corrupted, mac);
            assert_eq!(
                MacEncoding::decode(&corrupted).map(|(e, _)| e),
                Some(MacEncoding::Hex),
                "{corrupted}"
            );
        }
    }

    #[test]
    fn an_uppercased_base64_mac_is_always_canonical_base64_and_wrong() {
        // Whatever the MAC (the time in a request changes it), the upper-cased one decodes: the
        // file shows a server the same defect in every run.
        use base64::{engine::general_purpose::STANDARD as BASE64, Engine};
        use sha2::{Digest, Sha256};
        for n in 0..200u32 {
            let mac = BASE64.encode(Sha256::digest(n.to_le_bytes()));
            let upper = Tamper::Uppercase.apply(mac.clone()).unwrap();
            assert_eq!(upper.len(), mac.len());
            let (encoding, tag) = MacEncoding::decode(&upper).expect(&upper);
            assert_eq!(encoding, MacEncoding::Base64);
            if mac.trim_end_matches('=')[..42]
                .bytes()
                .any(|b| b.is_ascii_lowercase())
            {
                assert_ne!(BASE64.encode(tag), mac, "{upper}");
            }
        }
        let hex = "0123456789abcdef".repeat(4);
        assert_eq!(
            Tamper::Uppercase.apply(hex.clone()),
            Some(hex.to_ascii_uppercase())
        );
    }

    #[test]
    fn omitted_signatures_and_removed_members_are_missing_params() {
        let outer = base(Style::Python).outer_signature(Tamper::Omit).sign("a", "s");
        assert_eq!(outcome(&outer), Err(ErrorCode::AuthorizationMissingParams));
        let inner = base(Style::Schema1).inner_signature(Tamper::Omit).sign("a", "s");
        assert_eq!(outcome(&inner), Err(ErrorCode::AuthorizationMissingParams));
        let no_key = base(Style::CompactHex).remove("api_key").sign("a", "s");
        assert_eq!(outcome(&no_key), Err(ErrorCode::AuthorizationMissingParams));
    }

    #[test]
    fn set_members_are_covered_by_the_signatures_and_duplicates_are_refused() {
        let other = base(Style::Python)
            .set("hostname", "x")
            .set("product", "OTHER")
            .sign("a", "s");
        assert_eq!(outcome(&other), Ok(()));
        let decoded = decode_request(None, other.text.as_bytes()).unwrap();
        assert_eq!(decoded.payload.product.as_deref(), Some("OTHER"));
        let twice = base(Style::Python).duplicate("product", "OTHER").sign("a", "s");
        assert_eq!(outcome(&twice), Err(ErrorCode::AuthorizationMissingParams));
        let extra = base(Style::Python).envelope_member("note", "x").sign("a", "s");
        assert_eq!(outcome(&extra), Ok(()));
        let js_inner = base(Style::JavaScript)
            .inner_signature(Tamper::Replace("bad".into()))
            .sign("a", "s");
        assert_eq!(outcome(&js_inner), Err(ErrorCode::SignatureMismatch));
    }
}
