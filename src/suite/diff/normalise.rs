//! What two conforming answers to the same request may not share: each target's keys, dates,
//! request ids, signatures and the hardware ids made for the run. Normalising replaces each with a
//! placeholder that keeps what must be the same (that the value echoes what was sent, its JSON
//! type), so that two answers compare equal exactly when they say the same thing.

use serde_json::{json, Map, Value};

use crate::protocol::{check_answer, OfflineKey, Verdict};
use crate::suite::profile::Profile;
use crate::suite::render::Prepared;
use crate::suite::runner::Answer;

/// Members whose value is made afresh for every answer (the answer's time and what signs it).
const FRESH: &[&str] = &[
    "date",
    "offline_signature",
    "license_signature",
    "license_signature_v2",
];

/// Members that count seats: with cases in flight at once they depend on what else holds a seat
/// at that moment, so each side's own checks judge them (`state/*`), not the comparison.
const COUNTS: &[&str] = &["times_activated", "transfer_count"];

/// The JSON type of a value, in words.
fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `<name: type>`: a value that must differ between targets, of this type.
fn placeholder(name: &str, value: &Value) -> Value {
    Value::String(format!("<{name}: {}>", type_of(value)))
}

/// The normalised form of an answer to `sent` (when known) from the target of `profile`:
/// `{"status", "content_type" (the media type), "body"}` and, when a signature of a success
/// answer does not verify with that target's keys, `"signatures"`.
///
/// ```
/// use lsconform::suite::diff::normalise_answer;
/// use lsconform::suite::{Answer, Profile};
/// let profile = Profile::bare("http://127.0.0.1:9");
/// let answer = |message: &str| Answer {
///     status: 400,
///     content_type: Some("application/json; charset=utf-8".into()),
///     body: format!(r#"{{"status":400,"code":"missing_headers","message":"{message}"}}"#),
/// };
/// // Messages are for people (SPEC §7): two wordings are the same answer.
/// let a = normalise_answer(&answer("no Date"), None, &profile);
/// assert_eq!(a, normalise_answer(&answer("the Date header is missing"), None, &profile));
/// assert_eq!(a["content_type"], "application/json");
/// assert_eq!(a["body"]["code"], "missing_headers");
/// ```
pub fn normalise_answer(answer: &Answer, sent: Option<&Prepared>, profile: &Profile) -> Value {
    let media_type = answer.content_type.as_deref().map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let mut out = Map::new();
    out.insert("status".into(), json!(answer.status));
    out.insert("content_type".into(), json!(media_type));
    let body = match serde_json::from_str::<Value>(&answer.body) {
        Ok(Value::Object(members)) => Value::Object(body(members, answer.status, sent, profile)),
        Ok(other) => other,
        // Not JSON, or JSON cut where the kept answer ends (4 KiB): the text, with what was sent
        // replaced as in a JSON answer.
        Err(_) => {
            Value::String(sent.map_or_else(|| answer.body.clone(), |s| text_without_sent(&answer.body, s)))
        }
    };
    out.insert("body".into(), body);
    if let Some(wrong) = wrong_signatures(answer, profile) {
        out.insert("signatures".into(), wrong);
    }
    Value::Object(out)
}

fn body(
    members: Map<String, Value>,
    status: u16,
    sent: Option<&Prepared>,
    profile: &Profile,
) -> Map<String, Value> {
    let sent_value = |name: &str| -> Option<&str> {
        let sent = sent?;
        match name {
            "hardware_id" => sent.hardware_id.as_deref(),
            "request_id" => sent.request_id.as_deref(),
            "license_key" | "username" => sent.licensee.as_deref(),
            _ => None,
        }
    };
    members
        .into_iter()
        .map(|(name, value)| {
            let normalised = match (name.as_str(), &value) {
                // SPEC §7: messages are for people.
                ("message", Value::String(_)) if status >= 400 => placeholder("text", &value),
                (n, Value::String(_)) if FRESH.contains(&n) => placeholder(n, &value),
                (n, Value::Number(_)) if COUNTS.contains(&n) => placeholder(n, &value),
                // SPEC §6: echoed verbatim; what was sent differs per target and per run.
                (n, Value::String(v)) if sent_value(n) == Some(v.as_str()) => {
                    Value::String(format!("<the {n} sent>"))
                }
                ("product_details", Value::Object(details)) => Value::Object(
                    details
                        .iter()
                        .map(|(k, v)| {
                            let v = match (k.as_str(), v.as_str()) {
                                ("short_code", Some(code)) if profile.product.as_deref() == Some(code) => {
                                    json!("<the profile's product>")
                                }
                                ("short_code", Some(code))
                                    if profile.other_product.as_deref() == Some(code) =>
                                {
                                    json!("<the profile's other_product>")
                                }
                                _ => v.clone(),
                            };
                            (k.clone(), v)
                        })
                        .collect(),
                ),
                _ => value.clone(),
            };
            (name, normalised)
        })
        .collect()
}

/// An answer's normalised body (what [`normalise_answer`] made of it) as an answer to `sent` from
/// the target of `profile`: the inverse of the normalisation where it can be inverted. What was
/// echoed becomes what `sent` holds, the profile's product codes become its own, and a value made
/// afresh or a seat count becomes a value of the JSON type its placeholder keeps (a count the
/// answer's `expected` members name, that value; else 1): the snapshot holds no more of it, so
/// judging takes it as right, as the comparison does. A signature stays a placeholder.
pub(super) fn restore(
    body: &Value,
    sent: &Prepared,
    profile: &Profile,
    expected: &Map<String, Value>,
) -> Value {
    let sent_value = |name: &str| match name {
        "hardware_id" => sent.hardware_id.clone(),
        "request_id" => sent.request_id.clone(),
        "license_key" | "username" => sent.licensee.clone(),
        _ => None,
    };
    let members = match body {
        Value::Object(members) => members,
        // The text of an answer that is not a JSON object, with what was sent put back.
        Value::String(text) => {
            let mut text = text.clone();
            for name in ["hardware_id", "license_key", "request_id"] {
                if let Some(v) = sent_value(name) {
                    text = text
                        .replace(&format!("<the {name} sent, cut>"), &v)
                        .replace(&format!("<the {name} sent>"), &v);
                }
            }
            return Value::String(text);
        }
        other => return other.clone(),
    };
    let restored = members.iter().map(|(name, value)| {
        let text = value.as_str().unwrap_or_default();
        let of_type = |t: &str| value.is_string() && text == format!("<{name}: {t}>");
        let restored = match name.as_str() {
            n if value.is_string() && text == format!("<the {n} sent>") => {
                sent_value(n).map_or_else(|| value.clone(), Value::String)
            }
            n if COUNTS.contains(&n) && of_type("integer") => expected
                .get(n)
                .filter(|v| v.is_u64())
                .cloned()
                .unwrap_or(json!(1)),
            n if COUNTS.contains(&n) && of_type("number") => json!(1.5),
            "product_details" => match value {
                Value::Object(details) => Value::Object(
                    details
                        .iter()
                        .map(|(k, v)| {
                            let v = match (k.as_str(), v.as_str()) {
                                ("short_code", Some("<the profile's product>")) => json!(profile.product),
                                ("short_code", Some("<the profile's other_product>")) => {
                                    json!(profile.other_product)
                                }
                                _ => v.clone(),
                            };
                            (k.clone(), v)
                        })
                        .collect(),
                ),
                other => other.clone(),
            },
            // A message (`<text: string>`), a date and a signature (`<date: string>`) stay the
            // strings they are.
            _ => value.clone(),
        };
        (name.clone(), restored)
    });
    Value::Object(restored.collect())
}

/// `text` with each value `sent` that it echoes (hardware_id, license key or username, request_id)
/// replaced by a placeholder, also when the text is cut inside one (at least 8 characters of it).
fn text_without_sent(text: &str, sent: &Prepared) -> String {
    let mut out = text.to_owned();
    let values = [
        ("hardware_id", &sent.hardware_id),
        ("license_key", &sent.licensee),
        ("request_id", &sent.request_id),
    ];
    for (name, value) in values {
        let Some(value) = value.as_deref().filter(|v| v.len() >= 8) else {
            continue;
        };
        out = out.replace(value, &format!("<the {name} sent>"));
        let cut = (8..value.len())
            .rev()
            .filter(|n| value.is_char_boundary(*n))
            .find(|n| out.ends_with(&value[..*n]));
        if let Some(n) = cut {
            out.truncate(out.len() - n);
            out.push_str(&format!("<the {name} sent, cut>"));
        }
    }
    out
}

/// The signatures of a success answer that do not verify with the target's own keys (SPEC §6),
/// `None` when each verifies or cannot be checked.
fn wrong_signatures(answer: &Answer, profile: &Profile) -> Option<Value> {
    if answer.status != 200 || !answer.body.contains("license_signature") {
        return None;
    }
    let offline = profile.credentials.as_ref().map(|c| OfflineKey {
        api_key: &c.api_key,
        shared_key: &c.shared_key,
    });
    let check = check_answer(answer.body.as_bytes(), profile.public_key.as_ref(), offline).ok()?;
    let wrong: Map<String, Value> = [
        ("offline_signature", check.offline_signature),
        ("license_signature", check.license_signature),
        ("license_signature_v2", check.license_signature_v2),
    ]
    .into_iter()
    .filter(|(_, v)| matches!(v, Verdict::Mismatch | Verdict::Absent))
    .map(|(name, v)| (name.to_owned(), json!(v.to_string())))
    .collect();
    (!wrong.is_empty()).then_some(Value::Object(wrong))
}

/// Where two normalised answers differ, one line each: `status: 401 | 400`,
/// `body.request_id: null | (absent)`. Member order is not compared (SPEC §6 lets a server order
/// its members; each side's `license_signature_v2` is checked over its own order).
///
/// ```
/// use lsconform::suite::diff::differences;
/// use serde_json::json;
/// let a = json!({"status": 200, "body": {"request_id": null, "x": 1}});
/// let b = json!({"status": 200, "body": {"x": 1}});
/// assert_eq!(differences(&a, &b), vec!["body.request_id: null | (absent)"]);
/// assert!(differences(&a, &a).is_empty());
/// // An error answer and a success answer share no member: one line.
/// let error = json!({"body": {"status": 401, "code": "signature_mismatch", "message": "<text>"}});
/// let success = json!({"body": {"license_key": "<sent>", "hardware_id": "<sent>"}});
/// assert_eq!(
///     differences(&error, &success),
///     vec!["body: {status, code, message} | {license_key, hardware_id}"]
/// );
/// ```
pub fn differences(a: &Value, b: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk("", Some(a), Some(b), &mut out);
    out
}

fn walk(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<String>) {
    let show = |v: Option<&Value>| v.map_or_else(|| "(absent)".to_owned(), Value::to_string);
    match (a, b) {
        // Two objects with no member in common (an error answer and a success answer): one line.
        (Some(Value::Object(x)), Some(Value::Object(y)))
            if !x.is_empty() && !y.is_empty() && !x.keys().any(|k| y.contains_key(k)) =>
        {
            let members = |o: &Map<String, Value>| {
                let names: Vec<&str> = o.keys().take(4).map(String::as_str).collect();
                let more = o.len().saturating_sub(names.len());
                match more {
                    0 => format!("{{{}}}", names.join(", ")),
                    n => format!("{{{}, … {n} more}}", names.join(", ")),
                }
            };
            out.push(format!(
                "{}: {} | {}",
                if path.is_empty() { "(whole)" } else { path },
                members(x),
                members(y)
            ));
        }
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let names = x.keys().chain(y.keys().filter(|k| !x.contains_key(*k)));
            for name in names {
                let p = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                walk(&p, x.get(name), y.get(name), out);
            }
        }
        (a, b) if a != b => out.push(format!(
            "{}: {} | {}",
            if path.is_empty() { "(whole)" } else { path },
            show(a),
            show(b)
        )),
        _ => {}
    }
}
