//! The recorded side of `lsconform diff --against`: a snapshot's answer judged as a live one.
//!
//! A snapshot holds a case's normalised answer ([`normalise_answer`](super::normalise_answer)).
//! It is rebuilt as the answer to the request the live side was sent for the same case
//! ([`restore`]) and judged by that case's judge and the oracle of allowed answers, with the live
//! side's profile: the recorded side is nonconforming exactly where `lsconform run` would fail
//! that answer. What normalising left out cannot be judged again: the values made afresh and the
//! seat counts are taken as right (the comparison leaves them out too), and the RSA signatures
//! are as the snapshot recorded them (its `signatures` member names each that did not verify with
//! the recorded target's public key).

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use super::normalise::restore;
use super::Observed;
use crate::protocol::{inner_signature, rules, Rule};
use crate::suite::case::{DataCase, Severity};
use crate::suite::catalogue::Case;
use crate::suite::http::Response;
use crate::suite::judge::{self, Mismatch};
use crate::suite::profile::Profile;
use crate::suite::render::Prepared;
use crate::suite::runner::Verdict;

/// How much of an answer the report keeps (runner's `Answer`): a snapshot's text that long may
/// have been cut there.
const KEPT: usize = 4096;

/// How the suite judges a recorded answer.
struct Judged {
    verdict: Verdict,
    expected: Option<String>,
    actual: Option<String>,
    broken: Option<Rule>,
}

/// The recorded side's part in `case`: `snapshot` (its normalised answer and the verdict recorded
/// with it) judged as the answer to `sent`, the request the live side was sent for the case, on the
/// target of `profile`. A check (a snapshot holds its verdict only), or a case the live side sent
/// nothing for, keeps the verdict recorded with it.
pub(super) fn observed(
    case: Option<&Case>,
    snapshot: &Value,
    sent: Option<&Prepared>,
    profile: &Profile,
    now: SystemTime,
) -> Observed {
    let recorded = snapshot.get("verdict").and_then(Value::as_str);
    let judged = match (recorded, case, sent) {
        (Some("skipped"), ..) => Judged {
            verdict: Verdict::Skipped,
            expected: None,
            actual: Some("skipped when recorded".into()),
            broken: None,
        },
        (_, Some(case @ Case::Data(data)), Some(sent)) => match rebuilt(snapshot, sent, profile, data) {
            Ok((response, unsigned)) => {
                let judged = match judge::judge(
                    data.request.endpoint,
                    &data.expect,
                    &response,
                    sent,
                    &unsigned,
                    now,
                ) {
                    Err(m) if m.severity_in(case.severity()) == Severity::Must => Err(m),
                    // A wrong signature fails what passes, or is only a warning, otherwise.
                    other => signatures_as_recorded(snapshot).and(other),
                };
                match judged {
                    Ok(()) => Judged {
                        verdict: Verdict::Pass,
                        expected: None,
                        actual: None,
                        broken: None,
                    },
                    Err(m) => failed(m, case.severity()),
                }
            }
            Err(why) => as_recorded(recorded, why),
        },
        (_, Some(Case::Check(_)), _) => as_recorded(recorded, "a check's snapshot holds its verdict only"),
        (..) => as_recorded(
            recorded,
            "this side sent no request for the case to judge it against",
        ),
    };
    let mut normalised = snapshot.clone();
    if let Some(members) = normalised.as_object_mut() {
        members.insert("verdict".into(), Value::String(judged.verdict.name().into()));
    }
    Observed {
        verdict: judged.verdict,
        expected: judged.expected,
        actual: judged.actual,
        broken: judged.broken,
        request: None,
        // Shown as the snapshot holds it: the rebuilt answer carries values made for judging.
        answer: None,
        normalised,
        shrunk: None,
    }
}

/// The recorded answer as an answer to `sent`, and the profile to judge it with (without the
/// public key: the RSA signatures of a normalised answer cannot be checked again); or why it
/// cannot be judged again.
fn rebuilt(
    snapshot: &Value,
    sent: &Prepared,
    profile: &Profile,
    data: &DataCase,
) -> Result<(Response, Profile), &'static str> {
    let status = snapshot
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .ok_or("the snapshot holds no answer")?;
    let body = snapshot.get("body").ok_or("the snapshot holds no answer")?;
    let mut body = restore(body, sent, profile, &data.expect.members);
    if let Value::Object(members) = &mut body {
        offline_signature_as_recorded(members, snapshot, profile);
    }
    let body = match body {
        // An answer kept whole is shorter than the report keeps (runner's `Answer`).
        Value::String(text) if text.len() >= KEPT => {
            return Err("its text was cut at the 4 KiB a report keeps")
        }
        Value::String(text) => text.into_bytes(),
        other => serde_json::to_vec(&other).expect("a JSON value always serialises"),
    };
    let response = Response {
        status,
        content_type: snapshot
            .get("content_type")
            .and_then(Value::as_str)
            .map(str::to_owned),
        body,
        elapsed: Duration::ZERO,
        retried: None,
    };
    let mut unsigned = profile.clone();
    unsigned.public_key = None;
    Ok((response, unsigned))
}

/// The signatures the snapshot says did not verify when it was recorded.
fn wrong_when_recorded(snapshot: &Value) -> Map<String, Value> {
    snapshot
        .get("signatures")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// An `offline_signature` that verified when recorded (SPEC §6: the HMAC of the answer's date,
/// license and hardware id with the shared key) made again for the rebuilt answer with the
/// profile's keys, so that the judge finds it verifies; one that did not stays the placeholder,
/// which does not.
fn offline_signature_as_recorded(members: &mut Map<String, Value>, snapshot: &Value, profile: &Profile) {
    let (Some(c), Some(Value::String(given))) = (&profile.credentials, members.get("offline_signature"))
    else {
        return;
    };
    if given != "<offline_signature: string>"
        || wrong_when_recorded(snapshot).contains_key("offline_signature")
    {
        return;
    }
    let text = |name: &str| members.get(name).and_then(Value::as_str).unwrap_or_default();
    let licensee = members
        .get("license_key")
        .or_else(|| members.get("username"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let signature = inner_signature(
        &c.shared_key,
        text("date"),
        licensee,
        text("hardware_id"),
        &c.api_key,
    );
    members.insert("offline_signature".into(), Value::String(signature));
}

/// SPEC §6: each RSA signature verified when the answer was recorded (a success answer's only).
fn signatures_as_recorded(snapshot: &Value) -> Result<(), Mismatch> {
    for (rule, name) in [
        (rules::ANSWER_LICENSE_SIGNATURE, "license_signature"),
        (rules::ANSWER_LICENSE_SIGNATURE_V2, "license_signature_v2"),
    ] {
        if let Some(verdict) = wrong_when_recorded(snapshot).get(name) {
            let verdict = verdict.as_str().unwrap_or("wrong");
            return Err(Mismatch {
                severity: Some(rule.severity()),
                ..Mismatch::new(
                    format!("{name} that verifies"),
                    format!("{name} {verdict} when recorded"),
                )
                .at(rule)
            });
        }
    }
    Ok(())
}

/// A mismatch as `lsconform run` makes it a verdict (runner's `failed`).
fn failed(m: Mismatch, severity: Severity) -> Judged {
    Judged {
        verdict: match m.severity_in(severity) {
            Severity::Must => Verdict::Fail,
            Severity::Should => Verdict::Warning,
        },
        broken: m.rule.and_then(Rule::by_id),
        expected: Some(m.expected),
        actual: Some(m.actual),
    }
}

/// The verdict recorded with a snapshot whose answer cannot be judged again, and why not.
fn as_recorded(recorded: Option<&str>, why: &str) -> Judged {
    let verdict = Verdict::ALL.into_iter().find(|v| Some(v.name()) == recorded);
    let (verdict, actual) = match verdict {
        Some(v) => (v, format!("{} when recorded; not judged again: {why}", v.name())),
        None => (
            Verdict::Error,
            format!("the snapshot's verdict {recorded:?} is none of lsconform's"),
        ),
    };
    Judged {
        verdict,
        expected: (verdict != Verdict::Pass).then(|| "what the case checks".into()),
        actual: (verdict != Verdict::Pass).then_some(actual),
        broken: None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use serde_json::json;

    use super::*;
    use crate::suite::catalogue::all;
    use crate::suite::render::prepare;

    /// A case of the catalogue, and the request it sends to the reference's profile.
    fn case(id: &str) -> (Case, Prepared, Profile) {
        let profile = Profile::reference("http://127.0.0.1:9");
        let case = all()
            .expect("the cases")
            .into_iter()
            .find(|c| c.id() == id)
            .expect("the case");
        let Case::Data(data) = &case else {
            panic!("{id} is a data case")
        };
        let sent = prepare(data, &profile, SystemTime::now()).expect("prepared");
        (case, sent, profile)
    }

    #[test]
    fn a_recorded_answer_is_judged_not_taken_as_recorded() {
        let (case, sent, profile) = case("envelope/missing-date-header");
        let judged =
            |snapshot: Value| observed(Some(&case), &snapshot, Some(&sent), &profile, SystemTime::now());
        // The answer SPEC §7 asks for passes.
        let right = judged(json!({
            "verdict": "pass",
            "status": 400,
            "content_type": "application/json",
            "body": {"status": 400, "code": "missing_headers", "message": "<text: string>"}
        }));
        assert_eq!(right.verdict, Verdict::Pass, "{:?}", right.actual);
        // A 500 recorded as a pass (a hand-edited snapshot, an older suite) fails, at the rule
        // that a 5xx breaks, and the verdict compared is the judged one.
        let wrong = judged(json!({
            "verdict": "pass",
            "status": 500,
            "content_type": "text/plain",
            "body": "internal error"
        }));
        assert_eq!(wrong.verdict, Verdict::Fail, "{:?}", wrong.actual);
        assert!(wrong.broken.is_some(), "{:?}", wrong.expected);
        assert_eq!(wrong.normalised["verdict"], "fail");
        // Another code than the case's: outside what SPEC allows for these bytes.
        let other = judged(json!({
            "verdict": "pass",
            "status": 401,
            "content_type": "application/json",
            "body": {"status": 401, "code": "signature_mismatch", "message": "<text: string>"}
        }));
        assert_eq!(other.verdict, Verdict::Fail, "{:?}", other.actual);
    }

    #[test]
    fn a_recorded_success_answer_is_judged_with_what_normalising_kept() {
        let (case, sent, profile) = case("echo/request-id-unusual-python");
        let Case::Data(data) = &case else { unreachable!() };
        assert!(
            data.expect.activated,
            "a case expecting a signed activation answer"
        );
        let body = json!({
            "license_key": "<the license_key sent>",
            "hardware_id": "<the hardware_id sent>",
            "product_details": {
                "short_code": "<the profile's product>",
                "product_name": "Test Product",
                "authorization_method": "license-key"
            },
            "license_type": "perpetual",
            "is_trial": false,
            "license_enabled": true,
            "license_active": true,
            "is_expired": false,
            "validity_period": null,
            "max_activations": 1000000,
            "times_activated": "<times_activated: integer>",
            "transfer_count": "<transfer_count: integer>",
            "request_id": "<the request_id sent>",
            "date": "<date: string>",
            "offline_signature": "<offline_signature: string>",
            "license_signature": "<license_signature: string>",
            "license_signature_v2": "<license_signature_v2: string>"
        });
        let snapshot = |body: Value, signatures: Option<Value>| {
            let mut s =
                json!({"verdict": "pass", "status": 200, "content_type": "application/json", "body": body});
            if let Some(wrong) = signatures {
                s["signatures"] = wrong;
            }
            s
        };
        let judged = |s: Value| observed(Some(&case), &s, Some(&sent), &profile, SystemTime::now());
        let right = judged(snapshot(body.clone(), None));
        assert_eq!(
            right.verdict,
            Verdict::Pass,
            "{:?} {:?}",
            right.expected,
            right.actual
        );
        // A request_id not echoed: SPEC §6.
        let mut dropped = body.clone();
        dropped["request_id"] = Value::Null;
        let dropped = judged(snapshot(dropped, None));
        assert_eq!(dropped.verdict, Verdict::Fail);
        assert_eq!(dropped.broken.map(|r| r.id), Some(rules::ANSWER_REQUEST_ID.id));
        // A signature that did not verify when recorded.
        for (name, rule) in [
            ("offline_signature", rules::ANSWER_OFFLINE_SIGNATURE),
            ("license_signature_v2", rules::ANSWER_LICENSE_SIGNATURE_V2),
        ] {
            let wrong = judged(snapshot(body.clone(), Some(json!({ name: "mismatch" }))));
            assert_eq!(wrong.verdict, Verdict::Fail, "{name}");
            assert_eq!(wrong.broken.map(|r| r.id), Some(rule.id), "{name}");
        }
        // A seat count of the wrong type.
        let mut count = body.clone();
        count["times_activated"] = json!("<times_activated: number>");
        assert_eq!(judged(snapshot(count, None)).verdict, Verdict::Fail);

        // No request_id sent and none echoed: SPEC allows it, a warning; with a signature that did
        // not verify, a failure all the same.
        let (case, sent, profile) = self::case("payload/request-id-omitted");
        assert!(sent.request_id.is_none());
        let judged = |s: Value| observed(Some(&case), &s, Some(&sent), &profile, SystemTime::now());
        let mut absent = body;
        absent.as_object_mut().expect("an object").remove("request_id");
        let allowed = judged(snapshot(absent.clone(), None));
        assert_eq!(allowed.verdict, Verdict::Warning, "{:?}", allowed.actual);
        let wrong = judged(snapshot(absent, Some(json!({"license_signature": "mismatch"}))));
        assert_eq!(wrong.verdict, Verdict::Fail);
        assert_eq!(
            wrong.broken.map(|r| r.id),
            Some(rules::ANSWER_LICENSE_SIGNATURE.id)
        );
    }
}
