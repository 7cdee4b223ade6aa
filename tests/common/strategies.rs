//! proptest strategies for the values a request file carries: any Unicode text (non-ASCII,
//! control characters, DEL, quotes, backslashes, astral characters), a license key or a user,
//! optional extra members with string, boolean, null and nested-object values, both kinds and
//! every [`Style`].

use lsconform::protocol::{RequestBuilder, RequestKind, Style};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

/// The members the protocol itself reads or the builder writes: an extra member must not reuse
/// one of these names, or the file would carry the key twice.
pub const RESERVED_NAMES: &[&str] = &[
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

/// One character, weighted towards the ones serialisers treat differently.
pub fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => proptest::char::range(' ', '~'),
        2 => proptest::char::range('\u{0}', '\u{1f}'),
        2 => select(vec!['"', '\\', '/', '\u{7f}']),
        1 => proptest::char::range('\u{80}', '\u{9f}'),
        2 => select(vec![
            '\u{e9}', '\u{fc}', '\u{df}', '\u{4e2d}', '\u{20ac}', '\u{2028}', '\u{2029}',
            '\u{feff}', '\u{fffd}', '\u{ffff}', '\u{d7ff}', '\u{e000}',
        ]),
        2 => proptest::char::range('\u{10000}', '\u{10ffff}'),
        1 => any::<char>(),
    ]
}

/// Text of `min..max` characters drawn from [`any_char`].
pub fn text(min: usize, max: usize) -> impl Strategy<Value = String> {
    vec(any_char(), min..max).prop_map(|chars| chars.into_iter().collect())
}

/// A value for a field the protocol requires: never empty (the protocol treats an empty value
/// as absent).
pub fn field_value() -> impl Strategy<Value = String> {
    text(1, 16)
}

/// Who the license belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenseeValue {
    /// A key-based license.
    Key(String),
    /// A user-based license, with or without a password.
    User {
        username: String,
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
    vec((extra_name(), extra_value()), 0..6).prop_map(|members| {
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
    pub kind: RequestKind,
    pub licensee: LicenseeValue,
    pub hardware_id: String,
    pub product: String,
    pub date: String,
    pub request_id: Option<String>,
    pub extras: Vec<(String, Value)>,
    pub api_key: String,
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
