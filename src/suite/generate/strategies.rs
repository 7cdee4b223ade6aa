//! proptest strategies for the values a request file carries, shared by the suite's generated mode
//! and the project's own property tests (`tests/builder_properties.rs`, `tests/python_style.rs`).
//!
//! - The building blocks: any Unicode text ([`any_char`], [`text`]: non-ASCII, control
//!   characters, DEL, quotes, backslashes, astral characters), a license key or a user
//!   ([`licensee`]), extra members ([`extras`], [`extra_value`], [`any_json`]), both kinds
//!   ([`kind`]) and every [`Style`] ([`style`]).
//! - [`request_spec`]: everything a request file carries, with arbitrary keys: what the builder's
//!   properties are checked on.
//! - [`generated_request`]: a request for one target ([`Profile`]): valid ones (every style, the
//!   profile's licenses, odd dates, every transport) and hostile ones, either a semantic mutation
//!   re-signed correctly, an envelope mutation left broken, or a grammar mutation re-signed
//!   ([`grammar_mutation`]) ([`Mutation`]). What
//!   `lsconform run --generated N` sends.
//!
//! ```
//! use lsconform::suite::generate::strategies::request_spec;
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//!
//! let mut runner = TestRunner::deterministic();
//! let spec = request_spec().new_tree(&mut runner).unwrap().current();
//! let file = spec.builder(lsconform::protocol::Style::Python).sign(&spec.api_key, &spec.shared_key);
//! assert!(lsconform::protocol::decode_request(None, file.text.as_bytes()).is_ok());
//! ```

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

use super::{
    AuthPair, BadEscape, Base64Leniency, Container, ControlChar, DateChoice, DateForm, Encoding, Field,
    GeneratedRequest, GrammarMutation, HeaderMutation, JsonExtension, KeyPlace, KindValue, LicenseChoice,
    Misspelling, Mutation, NonFinite, NumberForm, Padding, Place, Position, ProductChoice, SignatureTamper,
    TransportChoice, Utf8Defect, Wrap,
};
use crate::protocol::{RequestBuilder, RequestKind, Style};
use crate::suite::Profile;

/// The members the protocol itself reads or the builder writes: an extra member must not reuse
/// one of these names, or the file would carry the key twice.
pub const RESERVED_NAMES: &[&str] = crate::protocol::READ_MEMBERS;

/// Optional members the SDKs send (SPEC §4), and a few unknown ones.
pub const EXTRA_NAMES: &[&str] = &[
    "os_ver",
    "hostname",
    "ip",
    "mac_address",
    "is_vm",
    "vm_info",
    "sdk_ver",
    "app_ver",
    "variables",
    "os_hostname",
    "ip_local",
    "sdk_lang",
    "app_name",
    "license_id",
    "x-custom",
    "n\u{e4}me \"quoted\" \\ \u{1f600}",
];

/// The characters [`any_char`] picks one of in its fourth class.
const SPECIAL_CHARS: [char; 12] = [
    '\u{e9}', '\u{fc}', '\u{df}', '\u{4e2d}', '\u{20ac}', '\u{2028}', '\u{2029}', '\u{feff}', '\u{fffd}',
    '\u{ffff}', '\u{d7ff}', '\u{e000}',
];

/// One character, weighted towards the ones serialisers treat differently: printable ASCII
/// (6 in 16), C0 controls (2), `"` `\` `/` DEL (2), C1 controls (1), a few non-ASCII ones that
/// escaping gets wrong (2: `é`, `中`, `€`, U+2028, U+2029, BOM, U+FFFF, …), astral characters (2),
/// any character (1). It shrinks towards printable ASCII, then towards `' '`.
///
/// A pair of integers mapped to a character rather than a `prop_oneof!` of seven strategies: a
/// union makes a copy of the test runner (and a new RNG) for every value it draws, which for
/// characters is most of the cost of a generated request.
pub fn any_char() -> impl Strategy<Value = char> {
    (0u32..16, any::<u32>()).prop_map(|(class, n)| {
        let pick = |first: u32, count: u32| char::from_u32(first + n % count).unwrap_or(' ');
        match class {
            0..=5 => pick(0x20, 95),
            6..=7 => pick(0x00, 0x20),
            8..=9 => ['"', '\\', '/', '\u{7f}'][(n % 4) as usize],
            10 => pick(0x80, 0x20),
            11..=12 => SPECIAL_CHARS[(n % 12) as usize],
            13..=14 => pick(0x1_0000, 0x10_0000),
            // Any scalar value: the surrogates' range is skipped.
            _ => match n % (0x11_0000 - 0x800) {
                m if m < 0xD800 => char::from_u32(m).unwrap_or(' '),
                m => char::from_u32(m + 0x800).unwrap_or(' '),
            },
        }
    })
}

/// Text of `min..max` characters drawn from [`any_char`].
///
/// ```
/// use lsconform::suite::generate::strategies::text;
/// use proptest::strategy::{Strategy, ValueTree};
/// let mut runner = proptest::test_runner::TestRunner::deterministic();
/// let s = text(1, 4).new_tree(&mut runner).unwrap().current();
/// assert!((1..4).contains(&s.chars().count()));
/// ```
pub fn text(min: usize, max: usize) -> impl Strategy<Value = String> {
    vec(any_char(), min..max).prop_map(|chars| chars.into_iter().collect())
}

/// A value for a field the protocol requires: never empty (the protocol treats an empty value
/// as absent).
pub fn field_value() -> impl Strategy<Value = String> {
    text(1, 16)
}

/// Like [`field_value`], and one time in ten a long one (200 to 500 characters). A long value
/// shrinks to a short one in one step when the length does not matter.
pub fn field_text() -> impl Strategy<Value = String> {
    ShortFirst::new(text(1, 16), text(200, 500), 0.1)
}

/// `long` with probability `p_long`, else `short`; a `long` value first shrinks by becoming the
/// `short` one (in one step), and only when that no longer fails, by shrinking itself. A union
/// (`prop_oneof!`) would shrink a long string one character at a time before trying a short one:
/// hundreds of steps, each one an exchange with the target.
#[derive(Debug, Clone)]
pub struct ShortFirst<S, L> {
    short: S,
    long: L,
    p_long: f64,
}

impl<S, L> ShortFirst<S, L> {
    /// The strategy.
    pub fn new(short: S, long: L, p_long: f64) -> Self {
        ShortFirst { short, long, p_long }
    }
}

impl<S, L> Strategy for ShortFirst<S, L>
where
    S: Strategy,
    L: Strategy<Value = S::Value>,
{
    type Tree = ShortFirstTree<S::Tree, L::Tree>;
    type Value = S::Value;

    fn new_tree(&self, runner: &mut proptest::test_runner::TestRunner) -> proptest::strategy::NewTree<Self> {
        let long =
            proptest::strategy::ValueTree::current(&proptest::bool::weighted(self.p_long).new_tree(runner)?);
        let short = self.short.new_tree(runner)?;
        let long = if long {
            Some(self.long.new_tree(runner)?)
        } else {
            None
        };
        let state = if long.is_some() { Pick::Long } else { Pick::Short };
        Ok(ShortFirstTree {
            short,
            long,
            state,
            switched: false,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    /// The long value, not yet tried short.
    Long,
    /// The short value.
    Short,
    /// The long value, for good: the short one did not fail.
    LongForGood,
}

/// The value tree of [`ShortFirst`].
#[derive(Debug, Clone)]
pub struct ShortFirstTree<S, L> {
    short: S,
    long: Option<L>,
    state: Pick,
    /// The last simplification was the switch from the long value to the short one.
    switched: bool,
}

impl<S, L> proptest::strategy::ValueTree for ShortFirstTree<S, L>
where
    S: proptest::strategy::ValueTree,
    L: proptest::strategy::ValueTree<Value = S::Value>,
{
    type Value = S::Value;

    fn current(&self) -> S::Value {
        match (&self.long, self.state) {
            (Some(long), Pick::Long | Pick::LongForGood) => long.current(),
            _ => self.short.current(),
        }
    }

    fn simplify(&mut self) -> bool {
        self.switched = false;
        match (&mut self.long, self.state) {
            (Some(_), Pick::Long) => {
                self.state = Pick::Short;
                self.switched = true;
                true
            }
            (Some(long), Pick::LongForGood) => long.simplify(),
            _ => self.short.simplify(),
        }
    }

    fn complicate(&mut self) -> bool {
        if std::mem::take(&mut self.switched) {
            self.state = Pick::LongForGood;
            return true;
        }
        match (&mut self.long, self.state) {
            (Some(long), Pick::LongForGood) => long.complicate(),
            (_, Pick::Short) => self.short.complicate(),
            _ => false,
        }
    }
}

/// Who the license belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenseeValue {
    /// A key-based license.
    Key(String),
    /// A user-based license, with or without a password.
    User {
        /// `username`.
        username: String,
        /// `password`, when sent.
        password: Option<String>,
    },
}

impl LicenseeValue {
    /// The value the signing strings use.
    pub fn signing_value(&self) -> &str {
        match self {
            LicenseeValue::Key(k) => k,
            LicenseeValue::User { username, .. } => username,
        }
    }
}

/// A license key or a user (with an optional password).
pub fn licensee() -> impl Strategy<Value = LicenseeValue> {
    prop_oneof![
        field_value().prop_map(LicenseeValue::Key),
        (field_value(), proptest::option::of(field_value()))
            .prop_map(|(username, password)| LicenseeValue::User { username, password }),
    ]
}

/// The value of an extra member: a string, a boolean, null, or a nested object of those.
pub fn extra_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text(0, 12).prop_map(Value::String),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        vec((text(0, 8), inner), 0..4).prop_map(|members| Value::Object(members.into_iter().collect()))
    })
}

/// Any JSON value: strings (some long), booleans, null, integers of the whole `i64` and `u64`
/// range, finite floats, and arrays and objects of those, nested up to three deep.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        4 => ShortFirst::new(text(0, 12), text(200, 400), 0.05).prop_map(Value::String),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => proptest::num::f64::NORMAL.prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((text(0, 8), inner), 0..4).prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// A JSON value that is neither a string nor null: what a required string field must not be.
pub fn non_string_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        proptest::num::f64::NORMAL.prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        vec(text(0, 4).prop_map(Value::String), 0..3).prop_map(Value::Array),
        (text(0, 4), text(0, 4))
            .prop_map(|(k, v)| Value::Object([(k, Value::String(v))].into_iter().collect())),
    ]
}

/// The name of an extra member: a known optional member, or any text that is not a reserved
/// name.
pub fn extra_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(EXTRA_NAMES).prop_map(str::to_owned),
        1 => text(1, 10).prop_filter("a reserved member name", |n| {
            !RESERVED_NAMES.contains(&n.as_str())
        }),
    ]
}

/// Zero to five extra members, names distinct, in the order given.
pub fn extras() -> impl Strategy<Value = Vec<(String, Value)>> {
    extras_of(extra_value())
}

/// Zero to five extra members of any JSON type ([`any_json`]), names distinct.
pub fn any_extras() -> impl Strategy<Value = Vec<(String, Value)>> {
    extras_of(any_json())
}

fn extras_of(values: impl Strategy<Value = Value>) -> impl Strategy<Value = Vec<(String, Value)>> {
    vec((extra_name(), values), 0..6).prop_map(|members| {
        let mut seen = std::collections::HashSet::new();
        members
            .into_iter()
            .filter(|(name, _)| seen.insert(name.clone()))
            .collect()
    })
}

/// Activation or deactivation.
pub fn kind() -> impl Strategy<Value = RequestKind> {
    select(vec![RequestKind::Activation, RequestKind::Deactivation])
}

/// Any layout the builder writes.
pub fn style() -> impl Strategy<Value = Style> {
    select(Style::ALL.to_vec())
}

/// Everything a request file carries, and the keys it is signed with.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// Which endpoint.
    pub kind: RequestKind,
    /// The license key or the user.
    pub licensee: LicenseeValue,
    /// `hardware_id`.
    pub hardware_id: String,
    /// `product`.
    pub product: String,
    /// `date`.
    pub date: String,
    /// `request_id`, when sent.
    pub request_id: Option<String>,
    /// Extra members, in order.
    pub extras: Vec<(String, Value)>,
    /// The API key the file names.
    pub api_key: String,
    /// The shared key that signs it.
    pub shared_key: String,
}

impl RequestSpec {
    /// A builder holding these values, in this layout.
    pub fn builder(&self, style: Style) -> RequestBuilder {
        let mut b = RequestBuilder::new(self.kind)
            .hardware_id(self.hardware_id.clone())
            .product(self.product.clone())
            .date(self.date.clone())
            .style(style);
        b = match &self.licensee {
            LicenseeValue::Key(k) => b.license_key(k.clone()),
            LicenseeValue::User { username, password } => {
                let b = b.username(username.clone());
                match password {
                    Some(p) => b.password(p.clone()),
                    None => b,
                }
            }
        };
        if let Some(id) = &self.request_id {
            b = b.request_id(id.clone());
        }
        for (name, value) in &self.extras {
            b = b.field(name.clone(), value.clone());
        }
        b
    }
}

/// A request file's values for either kind.
pub fn request_spec() -> impl Strategy<Value = RequestSpec> {
    (kind(), request_spec_of_kind_parts()).prop_map(|(kind, parts)| parts.into_spec(kind))
}

/// A request file's values for one kind.
pub fn request_spec_of(kind: RequestKind) -> impl Strategy<Value = RequestSpec> {
    request_spec_of_kind_parts().prop_map(move |parts| parts.into_spec(kind))
}

#[derive(Debug, Clone)]
struct Parts {
    licensee: LicenseeValue,
    hardware_id: String,
    product: String,
    date: String,
    request_id: Option<String>,
    extras: Vec<(String, Value)>,
    api_key: String,
    shared_key: String,
}

impl Parts {
    fn into_spec(self, kind: RequestKind) -> RequestSpec {
        RequestSpec {
            kind,
            licensee: self.licensee,
            hardware_id: self.hardware_id,
            product: self.product,
            date: self.date,
            request_id: self.request_id,
            extras: self.extras,
            api_key: self.api_key,
            shared_key: self.shared_key,
        }
    }
}

fn request_spec_of_kind_parts() -> impl Strategy<Value = Parts> {
    (
        licensee(),
        field_value(),
        field_value(),
        field_value(),
        proptest::option::of(field_value()),
        extras(),
        field_value(),
        field_value(),
    )
        .prop_map(
            |(licensee, hardware_id, product, date, request_id, extras, api_key, shared_key)| Parts {
                licensee,
                hardware_id,
                product,
                date,
                request_id,
                extras,
                api_key,
                shared_key,
            },
        )
}

// ------------------------------------------------------------------ requests for one target

/// The license of a generated request: one of the profile's roles (the first one, `perpetual`
/// when the profile has it, is where shrinking goes), its user, or a key it does not know.
pub fn license_choice(profile: &Profile) -> BoxedStrategy<LicenseChoice> {
    let mut roles: Vec<LicenseChoice> = Vec::new();
    let mut names: Vec<&str> = profile.licenses.keys().map(String::as_str).collect();
    // `perpetual` first: shrinking heads for the license most likely to be accepted.
    names.sort_by_key(|r| (*r != "perpetual", *r));
    for role in names {
        if let Some(key) = profile.license(role) {
            roles.push(LicenseChoice::Role {
                role: role.to_owned(),
                key: key.to_owned(),
            });
        }
    }
    if let Some((key, _)) = &profile.limited {
        roles.push(LicenseChoice::Role {
            role: "limited".into(),
            key: key.clone(),
        });
    }
    let unknown = field_value().prop_map(LicenseChoice::Key);
    // The user's license, with its password or (sometimes) without one.
    let user = profile.user.clone().map(|(username, password)| {
        let password = match password {
            Some(p) => proptest::option::of(Just(p)).boxed(),
            None => Just(None).boxed(),
        };
        (Just(username), password).prop_map(|(username, password)| LicenseChoice::User { username, password })
    });
    match (roles.is_empty(), user) {
        (true, None) => unknown.boxed(),
        (true, Some(user)) => prop_oneof![3 => user, 1 => unknown].boxed(),
        (false, None) => prop_oneof![6 => select(roles), 1 => unknown].boxed(),
        (false, Some(user)) => prop_oneof![6 => select(roles), 2 => user, 1 => unknown].boxed(),
    }
}

/// The product: the profile's (most of the time), its other product, or one it does not know.
pub fn product_choice(profile: &Profile) -> BoxedStrategy<ProductChoice> {
    let unknown = field_value().prop_map(ProductChoice::Unknown);
    match (&profile.product, &profile.other_product) {
        (Some(p), Some(o)) => prop_oneof![
            8 => Just(ProductChoice::Profile(p.clone())),
            1 => Just(ProductChoice::Other(o.clone())),
            1 => unknown,
        ]
        .boxed(),
        (Some(p), None) => prop_oneof![9 => Just(ProductChoice::Profile(p.clone())), 1 => unknown].boxed(),
        (None, _) => unknown.boxed(),
    }
}

/// The payload `date`: now in the style's form (most of the time), days ago in another form, or
/// any text (SPEC §4: the date is opaque).
pub fn date_choice() -> impl Strategy<Value = DateChoice> {
    prop_oneof![
        6 => Just(DateChoice::Now),
        2 => (
            0u32..4000,
            select(vec![DateForm::Imf, DateForm::ImfUtc, DateForm::Rfc850, DateForm::Asctime, DateForm::JavaScript]),
        )
            .prop_map(|(days_ago, form)| DateChoice::DaysAgo { days_ago, form }),
        1 => field_text().prop_map(DateChoice::Text),
    ]
}

/// How the request file's Base64 text is written: the standard form (mostly), or with the
/// whitespace and byte-order mark SPEC §3 says a server ignores.
pub fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![
        8 => Just(Encoding::Standard),
        1 => select(vec![
            Encoding::TrailingNewline,
            Encoding::Crlf76,
            Encoding::Lf64,
            Encoding::Bom,
            Encoding::Spaces,
        ]),
    ]
}

/// How the body carries the file (SPEC §3): raw with some content type (or none), or multipart.
pub fn transport() -> impl Strategy<Value = TransportChoice> {
    prop_oneof![
        6 => Just(TransportChoice::TextPlain),
        1 => select(vec![
            TransportChoice::NoContentType,
            TransportChoice::FormUrlEncoded,
            TransportChoice::OctetStream,
            TransportChoice::Multipart,
        ]),
    ]
}

/// A place in a text or a list of any length (see [`Position`]).
pub fn position() -> impl Strategy<Value = Position> {
    any::<u64>().prop_map(Position)
}

/// A member the protocol reads, for the semantic mutations.
pub fn field() -> impl Strategy<Value = Field> {
    select(Field::ALL.to_vec())
}

/// A value for the payload's `request` member other than `"activation"` (or no value at all).
pub fn request_kind_value() -> impl Strategy<Value = KindValue> {
    prop_oneof![
        5 => Just(KindValue::Other),
        2 => select(vec![
            Misspelling::Capitalised,
            Misspelling::Upper,
            Misspelling::LeadingSpace,
            Misspelling::TrailingSpace,
            Misspelling::TrailingNul,
            Misspelling::Verb,
        ])
        .prop_map(KindValue::Misspelt),
        1 => Just(KindValue::Value(Value::from(""))),
        1 => field_value().prop_map(|t| KindValue::Value(Value::String(t))),
        1 => non_string_json().prop_map(KindValue::Value),
        1 => Just(KindValue::Value(Value::Null)),
    ]
}

fn signature_tamper() -> impl Strategy<Value = SignatureTamper> {
    prop_oneof![
        3 => Just(SignatureTamper::Corrupt),
        1 => Just(SignatureTamper::Uppercase),
        1 => field_value().prop_map(SignatureTamper::Replace),
        1 => non_string_json().prop_map(SignatureTamper::NotAString),
    ]
}

/// A correctly signed change of meaning: wrong `request` kind, a required member missing, null,
/// of the wrong type or empty, a key given twice, an unknown API key, nesting around SPEC §3's
/// limit of 32, an extra envelope member.
pub fn semantic_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        request_kind_value().prop_map(Mutation::RequestKind),
        field().prop_map(Mutation::Remove),
        field().prop_map(Mutation::Null),
        (field(), non_string_json()).prop_map(|(field, value)| Mutation::WrongType { field, value }),
        field().prop_map(Mutation::Empty),
        (field(), any::<bool>()).prop_map(|(field, same_value)| Mutation::Duplicate { field, same_value }),
        (position(), any::<bool>()).prop_map(|(at, same_value)| Mutation::DuplicateExtra { at, same_value }),
        field_value().prop_map(Mutation::UnknownApiKey),
        (28usize..=37, any::<bool>(), any::<bool>()).prop_map(|(depth, arrays, in_envelope)| {
            Mutation::Deep {
                depth,
                arrays,
                in_envelope,
            }
        }),
        (extra_name(), any_json()).prop_map(|(name, value)| Mutation::EnvelopeMember { name, value }),
    ]
}

/// A change to the file itself, left broken: a byte of the Base64 text flipped, removed or
/// inserted, the URL-safe alphabet, truncation, bad padding, a corrupted signature, a byte of the
/// JSON flipped, junk after the JSON, or JSON that is not one object.
pub fn envelope_mutation() -> impl Strategy<Value = Mutation> {
    let base64 = prop_oneof![
        (position(), 1..=255u8).prop_map(|(at, mask)| Mutation::Base64Flip { at, mask }),
        position().prop_map(Mutation::Base64Remove),
        (
            position(),
            prop_oneof![select(b"=-_.!*@ \t\r\n\0\x7f".to_vec()), any::<u8>(),]
        )
            .prop_map(|(at, byte)| Mutation::Base64Insert { at, byte }),
        Just(Mutation::UrlSafe),
        position().prop_map(Mutation::Truncate),
        prop_oneof![
            Just(Padding::Strip),
            (1usize..=3).prop_map(Padding::Extra),
            position().prop_map(Padding::Inside),
        ]
        .prop_map(Mutation::BadPadding),
    ];
    let payload = prop_oneof![
        2 => signature_tamper().prop_map(Mutation::CorruptInner),
        2 => signature_tamper().prop_map(Mutation::CorruptOuter),
        1 => (position(), 1..=255u8).prop_map(|(at, mask)| Mutation::JsonFlip { at, mask }),
        1 => prop_oneof![
            select(vec![
                "x", "}", "{}", "[]", "\0", "\u{feff}", " \n", "// c", ",", "\"\""
            ])
            .prop_map(str::to_owned),
            text(1, 8),
        ]
        .prop_map(Mutation::JunkAfterJson),
        1 => select(vec![
            Wrap::Array,
            Wrap::String,
            Wrap::Null,
            Wrap::Number,
            Wrap::Twice
        ])
        .prop_map(Mutation::NotAnObject),
    ];
    prop_oneof![6 => base64, 5 => payload]
}

/// Header text an HTTP client can send and a server reads as sent: printable ASCII, spaces
/// inside, none at either end (servers trim them).
pub fn header_text() -> impl Strategy<Value = String> {
    vec(
        prop_oneof![9 => (0x21u8..=0x7e).prop_map(char::from), 1 => Just(' ')],
        1..32,
    )
    .prop_map(|chars| {
        let text: String = chars.into_iter().collect();
        match text.trim() {
            "" => "x".to_owned(),
            t => t.to_owned(),
        }
    })
}

/// A name that stays one value inside `name="…"`: letters, digits and `-`.
fn token() -> impl Strategy<Value = String> {
    let chars: Vec<char> = ('a'..='z')
        .chain('A'..='Z')
        .chain('0'..='9')
        .chain(['-'])
        .collect();
    vec(select(chars), 1..24).prop_map(|c| c.into_iter().collect())
}

/// A change to the Date and Authorization headers (SPEC §1, §2): one left out, a Date skewed
/// (clear of the 15-minute edge), in another form or any text, the client forms of the
/// Authorization header, another algorithm, a pair left out, the HMAC made with another key, an
/// unknown API key, or any text.
pub fn header_mutation() -> impl Strategy<Value = HeaderMutation> {
    let minutes = |m: i64| m * 60;
    prop_oneof![
        2 => (any::<bool>(), any::<bool>()).prop_map(|(date, authorization)| HeaderMutation::Omit {
            date: date || !authorization,
            authorization,
        }),
        3 => prop_oneof![
            -minutes(14)..=minutes(14),
            minutes(16)..=minutes(3 * 24 * 60),
            -minutes(3 * 24 * 60)..=-minutes(16),
        ]
        .prop_map(HeaderMutation::DateSkew),
        2 => select(vec![
            DateForm::Imf,
            DateForm::ImfUtc,
            DateForm::Rfc850,
            DateForm::Asctime,
            DateForm::JavaScript,
        ])
        .prop_map(HeaderMutation::DateForm),
        1 => header_text().prop_map(HeaderMutation::DateText),
        2 => (any::<bool>(), any::<bool>(), 0usize..4).prop_map(|(camel_case, spaces, rotate)| {
            HeaderMutation::ClientForm {
                camel_case,
                spaces,
                rotate,
            }
        }),
        1 => prop_oneof![
            select(vec!["hmac-sha1", "hmac-sha512", "rsa-sha256", "hmac-sha256 ", "hs256"]).prop_map(str::to_owned),
            token(),
        ]
        .prop_map(HeaderMutation::Algorithm),
        1 => select(vec![AuthPair::Algorithm, AuthPair::Headers, AuthPair::Signature, AuthPair::ApiKey])
            .prop_map(HeaderMutation::DropPair),
        1 => Just(HeaderMutation::WrongSharedKey),
        1 => token().prop_map(HeaderMutation::UnknownApiKey),
        1 => header_text().prop_map(HeaderMutation::AuthorizationText),
    ]
}

/// What a request changes: one time in ten its headers (and then nothing else, so that what it
/// tests is plain), else its payload ([`mutation`]).
pub fn changes() -> impl Strategy<Value = (Mutation, HeaderMutation)> {
    prop_oneof![
        9 => mutation().prop_map(|m| (m, HeaderMutation::None)),
        1 => header_mutation().prop_map(|h| (Mutation::None, h)),
    ]
}

/// One defect of the JSON grammar or of Base64 in a file that is otherwise perfect, re-signed
/// ([`GrammarMutation`]): a JSON extension of common parsers, a string that is not UTF-8 text, a
/// key given twice at any depth, or a Base64 leniency. Each class shrinks towards its first
/// form (a trailing comma in an array of the flat object; a key twice in the flat object; missing
/// padding), and the whole towards the JSON extensions.
pub fn grammar_mutation() -> impl Strategy<Value = GrammarMutation> {
    let place = prop_oneof![3 => Just(Place::Flat), 1 => Just(Place::Envelope)];
    let extension = prop_oneof![
        select(vec![Container::Array, Container::Object]).prop_map(JsonExtension::TrailingComma),
        any::<bool>().prop_map(|block| JsonExtension::Comment { block }),
        Just(JsonExtension::SingleQuotes),
        Just(JsonExtension::UnquotedKey),
        select(vec![
            NonFinite::NaN,
            NonFinite::Infinity,
            NonFinite::NegativeInfinity
        ])
        .prop_map(JsonExtension::NonFinite),
        select(vec![
            NumberForm::LeadingZero,
            NumberForm::LeadingPlus,
            NumberForm::Hex,
            NumberForm::LeadingDot,
            NumberForm::TrailingDot,
        ])
        .prop_map(JsonExtension::Number),
        select(vec![
            ControlChar::Tab,
            ControlChar::Newline,
            ControlChar::Nul,
            ControlChar::CarriageReturn,
            ControlChar::UnitSeparator,
        ])
        .prop_map(JsonExtension::RawControl),
        select(vec![
            BadEscape::Hex,
            BadEscape::Bell,
            BadEscape::Apostrophe,
            BadEscape::Nul
        ])
        .prop_map(JsonExtension::BadEscape),
        Just(JsonExtension::LeadingBom),
        Just(JsonExtension::Bom),
    ];
    let utf8 = select(Utf8Defect::ALL.to_vec());
    let base64 = prop_oneof![
        Just(Base64Leniency::MissingPadding),
        Just(Base64Leniency::TrailingBits),
        position().prop_map(Base64Leniency::PaddingInside),
        Just(Base64Leniency::UrlSafe),
        (
            position(),
            prop_oneof![select(b"!.*#%$&~\\\0\x7f\xff".to_vec()), any::<u8>()]
        )
            .prop_map(|(at, byte)| Base64Leniency::Skipped { at, byte }),
    ];
    prop_oneof![
        5 => (extension, place.clone())
            .prop_map(|(extension, place)| GrammarMutation::Extension { extension, place }),
        2 => (utf8, place).prop_map(|(defect, place)| GrammarMutation::Utf8 { defect, place }),
        2 => (
            select(vec![KeyPlace::Flat, KeyPlace::Nested, KeyPlace::Envelope, KeyPlace::Signature]),
            any::<bool>(),
        )
            .prop_map(|(place, escaped)| GrammarMutation::DuplicateKey { place, escaped }),
        2 => base64.prop_map(GrammarMutation::Base64),
    ]
}

/// Any mutation: none (a valid request) eight times in twenty, a semantic one five, an envelope
/// one five, a re-signed grammar one two (the hostile share stays at six in ten).
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        8 => Just(Mutation::None),
        5 => semantic_mutation(),
        5 => envelope_mutation(),
        2 => grammar_mutation().prop_map(Mutation::Grammar),
    ]
}

/// A request for `profile`'s target: what `lsconform run --generated N` sends. It shrinks towards
/// a valid Python-style file for the profile's first license (`perpetual`), short values, no
/// extra member, standard Base64, raw text/plain, no mutation.
///
/// ```
/// use lsconform::suite::generate::strategies::generated_request;
/// use lsconform::suite::Profile;
/// use proptest::strategy::{Strategy, ValueTree};
///
/// let profile = Profile::reference("http://127.0.0.1:8080");
/// let mut runner = proptest::test_runner::TestRunner::deterministic();
/// let request = generated_request(&profile).new_tree(&mut runner).unwrap().current();
/// let case = request.render(&profile, 0, 42, std::time::SystemTime::now()).unwrap();
/// assert!(case.request.body.is_some());
/// ```
pub fn generated_request(profile: &Profile) -> BoxedStrategy<GeneratedRequest> {
    let style = select(vec![
        Style::Python,
        Style::Schema1,
        Style::CompactHex,
        Style::JavaScript,
    ]);
    (
        prop_oneof![9 => Just(RequestKind::Activation), 1 => Just(RequestKind::Deactivation)],
        style,
        license_choice(profile),
        field_text(),
        product_choice(profile),
        date_choice(),
        prop_oneof![5 => Just(true), 1 => Just(false)],
        any_extras(),
        encoding(),
        transport(),
        changes(),
    )
        .prop_map(
            |(
                kind,
                style,
                license,
                hardware_id,
                product,
                date,
                request_id,
                extras,
                encoding,
                transport,
                (mutation, headers),
            )| {
                GeneratedRequest {
                    kind,
                    style,
                    license,
                    hardware_id,
                    product,
                    date,
                    request_id,
                    extras,
                    encoding,
                    transport,
                    mutation,
                    headers,
                }
            },
        )
        .boxed()
}
