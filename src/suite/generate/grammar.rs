//! Re-signed grammar mutations: a file that is perfect but for one defect of its JSON or Base64
//! grammar, of the kind lenient parsers accept and strict ones refuse (the classes of JSON
//! parsing test suites such as JSONTestSuite's `n_` and `i_` files, and the leniencies of common
//! Base64 decoders).
//!
//! Every signature is right over the bytes sent: the defect is written where no signed value is
//! (an extra member, the whitespace or the structure of an object, the Base64 text), and for
//! schema 2 the outer MAC is computed again over the mutated bytes of the `request` member. A
//! server whose parser is lenient therefore *accepts* the file, which SPEC §3 refuses (400
//! `authorization_missing_params`), and the oracle catches it; a strict server refuses it for the
//! grammar alone.

use base64::Engine as _;

use crate::protocol::{
    outer_signature, rules, DecodedRequest, MacEncoding, RequestBuilder, Rule, Schema, Transport,
};

use super::model::Position;

/// The name of the extra member a defect is written in (no generated extra member has it).
pub const SLOT_NAME: &str = "lsconform_grammar";
/// The value the builder writes in the slot before the defect takes its place.
const SLOT_VALUE: &str = "lsconform-grammar-slot";
/// The extra member that sets the JSON's length or its Base64 characters for a Base64 leniency.
pub const BASE64_FILLER: &str = "lsconform_base64";

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where in the file a JSON defect is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// In the flat object: schema 1's top-level object, schema 2's `request` member (whose bytes
    /// the outer MAC then covers, computed again over the defect).
    Flat,
    /// In the schema-2 envelope, beside `request` and `signature` (a schema-1 file is written as
    /// schema 2).
    Envelope,
}

/// A container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// An object: the object at the place itself ends `,}`.
    Object,
    /// An array: an extra member `["lsconform",1,]`.
    Array,
}

/// A non-finite number (JavaScript's and Python's `json` extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonFinite {
    /// `NaN`.
    NaN,
    /// `Infinity`.
    Infinity,
    /// `-Infinity`.
    NegativeInfinity,
}

/// A number JSON's grammar does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberForm {
    /// `01`.
    LeadingZero,
    /// `+1`.
    LeadingPlus,
    /// `0x1F`.
    Hex,
    /// `.5`.
    LeadingDot,
    /// `1.`.
    TrailingDot,
}

/// A control character written raw inside a string (JSON requires it escaped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlChar {
    /// U+0009.
    Tab,
    /// U+000A.
    Newline,
    /// U+000D.
    CarriageReturn,
    /// U+0000.
    Nul,
    /// U+001F.
    UnitSeparator,
}

impl ControlChar {
    /// The byte.
    pub const fn byte(self) -> u8 {
        match self {
            ControlChar::Tab => b'\t',
            ControlChar::Newline => b'\n',
            ControlChar::CarriageReturn => b'\r',
            ControlChar::Nul => 0,
            ControlChar::UnitSeparator => 0x1f,
        }
    }
}

/// An escape JSON's grammar does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadEscape {
    /// `\x41`.
    Hex,
    /// `\a`.
    Bell,
    /// `\'`.
    Apostrophe,
    /// `\0`.
    Nul,
}

impl BadEscape {
    /// The escape as written.
    pub const fn text(self) -> &'static str {
        match self {
            BadEscape::Hex => r"\x41",
            BadEscape::Bell => r"\a",
            BadEscape::Apostrophe => r"\'",
            BadEscape::Nul => r"\0",
        }
    }
}

/// An extension of JSON that common parsers accept (SPEC §3: it is not JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonExtension {
    /// A trailing comma.
    TrailingComma(Container),
    /// A comment before the slot member: `/*lsconform*/`, or `//lsconform` and a LF.
    Comment {
        /// `/* */` rather than `//`.
        block: bool,
    },
    /// A single-quoted string: `'lsconform'`.
    SingleQuotes,
    /// A key without quotes: `lsconform_grammar:`.
    UnquotedKey,
    /// `NaN` or an infinity.
    NonFinite(NonFinite),
    /// A number JSON does not have.
    Number(NumberForm),
    /// A control character written raw inside a string.
    RawControl(ControlChar),
    /// An escape JSON does not have.
    BadEscape(BadEscape),
    /// A UTF-8 byte-order mark before the object's `{` (for schema 1 and the envelope, the first
    /// bytes of the decoded text).
    LeadingBom,
    /// A UTF-8 byte-order mark between two members, where whitespace may be.
    Bom,
}

/// A string value that is not UTF-8 text, or an escape of what is no character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utf8Defect {
    /// `FF`: a byte UTF-8 never has.
    InvalidByte,
    /// `C0 AF`: an overlong encoding of `/`.
    Overlong,
    /// `ED A0 80`: U+D800 encoded.
    EncodedSurrogate,
    /// `80`: a continuation byte with no lead.
    LoneContinuation,
    /// `E2 82`: a sequence cut short.
    Truncated,
    /// `\ud800`: an unpaired surrogate escape (SPEC §10).
    EscapedSurrogate,
}

impl Utf8Defect {
    /// Every defect.
    pub const ALL: [Utf8Defect; 6] = [
        Utf8Defect::InvalidByte,
        Utf8Defect::Overlong,
        Utf8Defect::EncodedSurrogate,
        Utf8Defect::LoneContinuation,
        Utf8Defect::Truncated,
        Utf8Defect::EscapedSurrogate,
    ];

    /// The bytes written inside the string.
    pub const fn bytes(self) -> &'static [u8] {
        match self {
            Utf8Defect::InvalidByte => b"\xFF",
            Utf8Defect::Overlong => b"\xC0\xAF",
            Utf8Defect::EncodedSurrogate => b"\xED\xA0\x80",
            Utf8Defect::LoneContinuation => b"\x80",
            Utf8Defect::Truncated => b"\xE2\x82",
            Utf8Defect::EscapedSurrogate => br"\ud800",
        }
    }
}

/// Which object holds a key twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPlace {
    /// The flat object (schema 1's top level, schema 2's `request` member).
    Flat,
    /// An object nested in an extra member of the flat object.
    Nested,
    /// The schema-2 envelope: an extra member of it.
    Envelope,
    /// The schema-2 envelope: its `signature`, both copies the right MAC.
    Signature,
}

/// A leniency of Base64 decoders: the text decodes, under a lenient decoder, to the exact bytes
/// of a perfect file (SPEC §3 refuses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base64Leniency {
    /// The last character before the padding has its unused bits set (the JSON's length is
    /// arranged so that there is padding).
    TrailingBits,
    /// The `=` left out (the JSON's length is arranged so that there is padding).
    MissingPadding,
    /// Two padded pieces one after the other: padding inside the text. The split is at this place
    /// of the JSON, moved off a multiple of three.
    PaddingInside(Position),
    /// The URL-safe alphabet (`-`, `_`), with the JSON arranged so that the standard text has both
    /// `+` and `/`.
    UrlSafe,
    /// A byte outside both alphabets, whitespace and `=`, that skipping decoders skip (any other
    /// byte is written as `!`), at this place of the text.
    Skipped {
        /// Where.
        at: Position,
        /// Which byte.
        byte: u8,
    },
}

/// What a re-signed grammar mutation writes: one defect in a file that is otherwise perfect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrammarMutation {
    /// A JSON extension.
    Extension {
        /// Which.
        extension: JsonExtension,
        /// Where.
        place: Place,
    },
    /// A string that is not UTF-8 text, in the slot member.
    Utf8 {
        /// Which.
        defect: Utf8Defect,
        /// Where.
        place: Place,
    },
    /// A key given twice.
    DuplicateKey {
        /// In which object.
        place: KeyPlace,
        /// The second copy written with an escape (`"\u006c…"`): the same key once unescaped.
        escaped: bool,
    },
    /// A Base64 leniency.
    Base64(Base64Leniency),
}

impl GrammarMutation {
    /// The rule of SPEC the file breaks.
    pub fn rule(&self) -> Rule {
        match self {
            GrammarMutation::Utf8 {
                defect: Utf8Defect::EscapedSurrogate,
                ..
            } => rules::JSON_SURROGATE,
            GrammarMutation::Extension { .. } | GrammarMutation::Utf8 { .. } => rules::JSON_OBJECT,
            GrammarMutation::DuplicateKey { .. } => rules::JSON_DUPLICATE_KEY,
            GrammarMutation::Base64(_) => rules::BASE64_STRICT,
        }
    }

    /// Whether it is written in the schema-2 envelope (a schema-1 file is then written as schema 2).
    pub fn in_envelope(&self) -> bool {
        matches!(
            self,
            GrammarMutation::Extension {
                place: Place::Envelope,
                ..
            } | GrammarMutation::Utf8 {
                place: Place::Envelope,
                ..
            } | GrammarMutation::DuplicateKey {
                place: KeyPlace::Envelope | KeyPlace::Signature,
                ..
            }
        )
    }

    /// For people: what is wrong and where.
    ///
    /// ```
    /// use lsconform::suite::generate::{Container, GrammarMutation, JsonExtension, Place};
    /// let m = GrammarMutation::Extension { extension: JsonExtension::TrailingComma(Container::Array), place: Place::Flat };
    /// assert_eq!(m.describe(), "a trailing comma in an array (`[\"lsconform\",1,]`), in the flat object, re-signed");
    /// ```
    pub fn describe(&self) -> String {
        let place = |p: Place| match p {
            Place::Flat => "in the flat object",
            Place::Envelope => "in the schema-2 envelope",
        };
        let what = match self {
            GrammarMutation::Extension { extension, place: p } => {
                let e = match extension {
                    JsonExtension::TrailingComma(Container::Object) => {
                        "a trailing comma in the object (`,}`)".into()
                    }
                    JsonExtension::TrailingComma(Container::Array) => {
                        "a trailing comma in an array (`[\"lsconform\",1,]`)".into()
                    }
                    JsonExtension::Comment { block: true } => "a `/* */` comment".into(),
                    JsonExtension::Comment { block: false } => "a `//` comment".into(),
                    JsonExtension::SingleQuotes => "a single-quoted string".into(),
                    JsonExtension::UnquotedKey => "an unquoted key".into(),
                    JsonExtension::NonFinite(n) => format!("`{}`", non_finite(*n)),
                    JsonExtension::Number(n) => format!("the number `{}`", number(*n)),
                    JsonExtension::RawControl(c) => {
                        format!("a raw control character U+{:04X} in a string", c.byte())
                    }
                    JsonExtension::BadEscape(e) => format!("the escape `{}`", e.text()),
                    JsonExtension::LeadingBom => "a byte-order mark before the `{`".into(),
                    JsonExtension::Bom => "a byte-order mark between members".into(),
                };
                format!("{e}, {}", place(*p))
            }
            GrammarMutation::Utf8 { defect, place: p } => {
                let d = match defect {
                    Utf8Defect::EscapedSurrogate => "an unpaired surrogate escape `\\ud800`".to_owned(),
                    d => {
                        let hex: Vec<String> = d.bytes().iter().map(|b| format!("{b:02X}")).collect();
                        let name = match d {
                            Utf8Defect::InvalidByte => "an invalid UTF-8 byte",
                            Utf8Defect::Overlong => "an overlong UTF-8 encoding",
                            Utf8Defect::EncodedSurrogate => "a UTF-8-encoded surrogate",
                            Utf8Defect::LoneContinuation => "a lone UTF-8 continuation byte",
                            _ => "a truncated UTF-8 sequence",
                        };
                        format!("{name} ({}) in a string", hex.join(" "))
                    }
                };
                format!("{d}, {}", place(*p))
            }
            GrammarMutation::DuplicateKey { place, escaped } => {
                let p = match place {
                    KeyPlace::Flat => "in the flat object",
                    KeyPlace::Nested => "in an object nested in an extra member",
                    KeyPlace::Envelope => "in the schema-2 envelope",
                    KeyPlace::Signature => "(the envelope's signature, both copies right)",
                };
                format!(
                    "a key given twice{} {p}",
                    if *escaped { ", once escaped," } else { "" }
                )
            }
            GrammarMutation::Base64(l) => match l {
                Base64Leniency::TrailingBits => "Base64 with non-zero trailing bits".into(),
                Base64Leniency::MissingPadding => "Base64 without its padding".into(),
                Base64Leniency::PaddingInside(_) => "Base64 of two padded pieces (padding inside)".into(),
                Base64Leniency::UrlSafe => "Base64 in the URL-safe alphabet".into(),
                Base64Leniency::Skipped { byte, .. } => {
                    format!(
                        "Base64 with the byte {:#04x} outside the alphabet",
                        skipped_byte(*byte)
                    )
                }
            },
        };
        format!("{what}, re-signed")
    }

    /// Writes the file with the builder (signed) and the defect: the decoded JSON, and for a
    /// Base64 leniency the text.
    pub(super) fn write(
        &self,
        b: RequestBuilder,
        api_key: &str,
        shared_key: &str,
    ) -> (Vec<u8>, Option<Vec<u8>>) {
        match self {
            GrammarMutation::Base64(l) => {
                let (json, text) = l.write(b, api_key, shared_key);
                (json, Some(text))
            }
            _ => (self.write_json(b, api_key, shared_key), None),
        }
    }

    /// Where the slot member goes, if the defect takes one.
    fn slot(&self) -> Option<Place> {
        match *self {
            GrammarMutation::Extension {
                extension: JsonExtension::TrailingComma(Container::Object) | JsonExtension::LeadingBom,
                ..
            }
            | GrammarMutation::Base64(_)
            | GrammarMutation::DuplicateKey {
                place: KeyPlace::Signature,
                ..
            } => None,
            GrammarMutation::Extension { place, .. } | GrammarMutation::Utf8 { place, .. } => Some(place),
            GrammarMutation::DuplicateKey { place, .. } => Some(match place {
                KeyPlace::Envelope => Place::Envelope,
                _ => Place::Flat,
            }),
        }
    }

    fn write_json(&self, b: RequestBuilder, api_key: &str, shared_key: &str) -> Vec<u8> {
        let b = match self.slot() {
            Some(Place::Flat) => b.field(SLOT_NAME, SLOT_VALUE),
            Some(Place::Envelope) => b.envelope_member(SLOT_NAME, SLOT_VALUE),
            None => b,
        };
        let mut p = Pieces::split(b.sign(api_key, shared_key).json);
        let signed = p.request.clone();
        // The defect in the flat object, then the outer MAC over the bytes as they now are.
        match self {
            GrammarMutation::Extension {
                extension,
                place: Place::Flat,
            } => match extension {
                JsonExtension::TrailingComma(Container::Object) => close_with_comma(&mut p.request),
                JsonExtension::LeadingBom => p.prefix.extend_from_slice(BOM),
                e => replace_slot(&mut p.request, |s| extension_member(*e, s)),
            },
            GrammarMutation::Utf8 {
                defect,
                place: Place::Flat,
            } => replace_slot(&mut p.request, |s| utf8_member(*defect, s)),
            GrammarMutation::DuplicateKey {
                place: place @ (KeyPlace::Flat | KeyPlace::Nested),
                escaped,
            } => replace_slot(&mut p.request, |s| duplicate_member(*place, *escaped, s)),
            _ => {}
        }
        if p.request != signed {
            p.sign_again(shared_key);
        }
        // The defect in the envelope, which no MAC covers.
        match self {
            GrammarMutation::Extension {
                extension,
                place: Place::Envelope,
            } => match extension {
                JsonExtension::TrailingComma(Container::Object) => close_with_comma(&mut p.suffix),
                JsonExtension::LeadingBom => p.prefix.splice(0..0, BOM.iter().copied()).for_each(drop),
                e => replace_slot(&mut p.suffix, |s| extension_member(*e, s)),
            },
            GrammarMutation::Utf8 {
                defect,
                place: Place::Envelope,
            } => replace_slot(&mut p.suffix, |s| utf8_member(*defect, s)),
            GrammarMutation::DuplicateKey {
                place: KeyPlace::Envelope,
                escaped,
            } => replace_slot(&mut p.suffix, |s| {
                duplicate_member(KeyPlace::Envelope, *escaped, s)
            }),
            GrammarMutation::DuplicateKey {
                place: KeyPlace::Signature,
                escaped,
            } => duplicate_signature(&mut p.suffix, *escaped),
            _ => {}
        }
        [p.prefix, p.request, p.suffix].concat()
    }
}

/// The byte a [`Base64Leniency::Skipped`] writes: `byte`, unless it is in an alphabet, whitespace
/// or `=`.
pub fn skipped_byte(byte: u8) -> u8 {
    match byte {
        b'A'..=b'Z'
        | b'a'..=b'z'
        | b'0'..=b'9'
        | b'+'
        | b'/'
        | b'-'
        | b'_'
        | b'='
        | b' '
        | b'\t'
        | b'\r'
        | b'\n' => b'!',
        b => b,
    }
}

fn non_finite(n: NonFinite) -> &'static str {
    match n {
        NonFinite::NaN => "NaN",
        NonFinite::Infinity => "Infinity",
        NonFinite::NegativeInfinity => "-Infinity",
    }
}

fn number(n: NumberForm) -> &'static str {
    match n {
        NumberForm::LeadingZero => "01",
        NumberForm::LeadingPlus => "+1",
        NumberForm::Hex => "0x1F",
        NumberForm::LeadingDot => ".5",
        NumberForm::TrailingDot => "1.",
    }
}

/// A decoded file in three pieces: for schema 2 the envelope before the `request` member's value,
/// that value (the bytes the outer MAC covers), and the rest; for schema 1 the whole object in
/// `request`.
struct Pieces {
    prefix: Vec<u8>,
    request: Vec<u8>,
    suffix: Vec<u8>,
    /// Schema 2: the outer MAC as written, and its encoding.
    mac: Option<(String, MacEncoding)>,
}

impl Pieces {
    fn split(json: Vec<u8>) -> Pieces {
        let whole = |json: Vec<u8>| Pieces {
            prefix: Vec::new(),
            request: json,
            suffix: Vec::new(),
            mac: None,
        };
        let Ok(decoded) = DecodedRequest::from_json(Transport::Raw, json.clone()) else {
            return whole(json);
        };
        let (Schema::V2, Some(bytes), Some(mac), Some(encoding)) = (
            decoded.schema,
            decoded.request_bytes(),
            decoded.outer_signature.clone(),
            decoded.outer_mac_encoding(),
        ) else {
            return whole(json);
        };
        let start = bytes.as_ptr() as usize - decoded.json.as_ptr() as usize;
        let end = start + bytes.len();
        Pieces {
            prefix: json[..start].to_vec(),
            request: json[start..end].to_vec(),
            suffix: json[end..].to_vec(),
            mac: Some((mac, encoding)),
        }
    }

    /// Schema 2: the outer MAC computed again over the `request` member's bytes as they are now.
    fn sign_again(&mut self, shared_key: &str) {
        let Some((old, encoding)) = &self.mac else {
            return;
        };
        let new = outer_signature(shared_key, &self.request, *encoding);
        let old_text = format!("\"{old}\"");
        if let Some(at) = find(&self.suffix, old_text.as_bytes(), 0) {
            self.suffix
                .splice(at..at + old_text.len(), format!("\"{new}\"").into_bytes())
                .for_each(drop);
        }
        self.mac = Some((new, *encoding));
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// The separators of the object the slot is in: between a key and its value (`:` or `: `), and
/// between members (`,` or `, `).
#[derive(Clone, Copy)]
struct Separators<'a> {
    colon: &'a [u8],
    comma: &'a [u8],
}

/// Replaces the slot member (`"lsconform_grammar":"lsconform-grammar-slot"`) with what `member`
/// writes, in the layout's separators.
fn replace_slot(piece: &mut Vec<u8>, member: impl FnOnce(Separators<'_>) -> Vec<u8>) {
    let key = format!("\"{SLOT_NAME}\"");
    let value = format!("\"{SLOT_VALUE}\"");
    let Some(start) = find(piece, key.as_bytes(), 0) else {
        return;
    };
    let Some(value_at) = find(piece, value.as_bytes(), start) else {
        return;
    };
    let colon = piece[start + key.len()..value_at].to_vec();
    let comma: &[u8] = if colon.ends_with(b" ") { b", " } else { b"," };
    let written = member(Separators { colon: &colon, comma });
    piece
        .splice(start..value_at + value.len(), written)
        .for_each(drop);
}

fn quoted_key() -> Vec<u8> {
    format!("\"{SLOT_NAME}\"").into_bytes()
}

fn extension_member(e: JsonExtension, s: Separators<'_>) -> Vec<u8> {
    let key = quoted_key();
    let member = |key: &[u8], value: &[u8]| [key, s.colon, value].concat();
    match e {
        JsonExtension::TrailingComma(_) => member(&key, br#"["lsconform",1,]"#),
        JsonExtension::Comment { block: true } => {
            [b"/*lsconform*/".as_slice(), &member(&key, br#""lsconform""#)].concat()
        }
        JsonExtension::Comment { block: false } => {
            [b"//lsconform\n".as_slice(), &member(&key, br#""lsconform""#)].concat()
        }
        JsonExtension::SingleQuotes => member(&key, b"'lsconform'"),
        JsonExtension::UnquotedKey => member(SLOT_NAME.as_bytes(), br#""lsconform""#),
        JsonExtension::NonFinite(n) => member(&key, non_finite(n).as_bytes()),
        JsonExtension::Number(n) => member(&key, number(n).as_bytes()),
        JsonExtension::RawControl(c) => member(&key, &[b'"', b'a', c.byte(), b'b', b'"']),
        JsonExtension::BadEscape(b) => member(&key, format!("\"a{}b\"", b.text()).as_bytes()),
        JsonExtension::LeadingBom | JsonExtension::Bom => [BOM, &member(&key, br#""lsconform""#)].concat(),
    }
}

fn utf8_member(d: Utf8Defect, s: Separators<'_>) -> Vec<u8> {
    [&quoted_key(), s.colon, b"\"a", d.bytes(), b"b\""].concat()
}

/// The first copy `"first"`, the second `"second"`: the copies differ, so which one a parser keeps
/// shows.
fn duplicate_member(place: KeyPlace, escaped: bool, s: Separators<'_>) -> Vec<u8> {
    let pair = |key: &[u8], again: &[u8]| {
        [
            key,
            s.colon,
            br#""first""#,
            s.comma,
            again,
            s.colon,
            br#""second""#,
        ]
        .concat()
    };
    match place {
        KeyPlace::Nested => {
            let again: &[u8] = if escaped {
                br#""\u006csconform""#
            } else {
                br#""lsconform""#
            };
            let inner = pair(br#""lsconform""#, again);
            [&quoted_key(), s.colon, b"{", &inner, b"}"].concat()
        }
        _ => {
            let again = if escaped {
                format!("\"\\u006c{}\"", &SLOT_NAME[1..]).into_bytes()
            } else {
                quoted_key()
            };
            pair(&quoted_key(), &again)
        }
    }
}

/// `,` before the object's closing `}` (the piece ends with it).
fn close_with_comma(piece: &mut Vec<u8>) {
    if let Some(end) = piece.iter().rposition(|&b| b == b'}') {
        piece.insert(end, b',');
    }
}

/// The envelope's `signature` member written once more after itself, the same MAC.
fn duplicate_signature(suffix: &mut Vec<u8>, escaped: bool) {
    let key = b"\"signature\"";
    let Some(start) = find(suffix, key, 0) else {
        return;
    };
    let colon_end = suffix[start + key.len()..]
        .iter()
        .position(|&b| b == b'"')
        .map(|i| start + key.len() + i);
    let Some(value_at) = colon_end else {
        return;
    };
    let Some(value_end) = find(suffix, b"\"", value_at + 1).map(|i| i + 1) else {
        return;
    };
    let colon = suffix[start + key.len()..value_at].to_vec();
    let comma: &[u8] = if colon.ends_with(b" ") { b", " } else { b"," };
    let again: &[u8] = if escaped { br#""\u0073ignature""# } else { key };
    let copy = [comma, again, &colon, &suffix[value_at..value_end]].concat();
    suffix.splice(value_end..value_end, copy).for_each(drop);
}

impl Base64Leniency {
    /// The filler member's value: what the JSON needs for the leniency to show.
    fn filler(self, extra: usize) -> Option<String> {
        match self {
            // Five in a row hold a whole Base64 group each: `fn5+` and `Pz8/`.
            Base64Leniency::UrlSafe => Some("~~~~~?????".to_owned()),
            Base64Leniency::TrailingBits | Base64Leniency::MissingPadding => Some("x".repeat(1 + extra)),
            _ => None,
        }
    }

    fn write(self, b: RequestBuilder, api_key: &str, shared_key: &str) -> (Vec<u8>, Vec<u8>) {
        let sign = |extra: usize| match self.filler(extra) {
            Some(f) => b.clone().field(BASE64_FILLER, f).sign(api_key, shared_key).json,
            None => b.sign(api_key, shared_key).json,
        };
        let mut json = sign(0);
        if matches!(
            self,
            Base64Leniency::TrailingBits | Base64Leniency::MissingPadding
        ) && json.len() % 3 == 0
        {
            // One more ASCII character in the filler: one more byte, and padding.
            json = sign(1);
        }
        let standard = base64::engine::general_purpose::STANDARD;
        let mut text = standard.encode(&json).into_bytes();
        match self {
            Base64Leniency::TrailingBits => {
                let pad = text.iter().rev().take_while(|&&b| b == b'=').count();
                if let Some(last) = text.len().checked_sub(pad + 1) {
                    const ALPHABET: &[u8] =
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                    if let Some(v) = ALPHABET.iter().position(|&c| c == text[last]) {
                        // The lowest bit is one of the unused ones (4 with `==`, 2 with `=`).
                        text[last] = ALPHABET[v | 1];
                    }
                }
            }
            Base64Leniency::MissingPadding => {
                while text.last() == Some(&b'=') {
                    text.pop();
                }
            }
            Base64Leniency::PaddingInside(at) if json.len() >= 2 => {
                let mut split = at.index(json.len() - 1) + 1;
                if split % 3 == 0 {
                    split -= 1;
                }
                text = [standard.encode(&json[..split]), standard.encode(&json[split..])]
                    .concat()
                    .into_bytes();
            }
            Base64Leniency::UrlSafe => {
                text = base64::engine::general_purpose::URL_SAFE
                    .encode(&json)
                    .into_bytes()
            }
            Base64Leniency::Skipped { at, byte } if !text.is_empty() => {
                text.insert(at.index(text.len()), skipped_byte(byte));
            }
            _ => {}
        }
        (json, text)
    }
}
