//! Judging an answer against a case's expectation. Each judgement says what was expected and
//! what came instead, never just "false".

use std::time::SystemTime;

use super::case::{Endpoint, Expectation, Severity};
use super::http::Response;
use super::profile::Profile;
use super::render::Prepared;
use crate::protocol::{
    check_answer, format_validity_period, rules, ErrorBody, ErrorCode, ErrorShapeError, Fit, OfflineKey,
    Rule, Verdict,
};

/// What was expected, and what came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Expected.
    pub expected: String,
    /// Actual.
    pub actual: String,
    /// The severity SPEC gives this answer, where it is not the case's own: `Some(Should)` where
    /// SPEC allows the answer but it differs from the reference's pinned choice or a SHOULD rule
    /// (SPEC §10: a warning); the oracle's, for an answer outside every one SPEC allows (a 5xx is
    /// always MUST); `None`: the rule's own.
    pub severity: Option<Severity>,
    /// The rule of the catalogue the answer departs from, where the judge knows it (the answer's
    /// shape, an echo, a signature; the oracle's rule at stake for the status and code), by id;
    /// `None`: the case's own.
    pub rule: Option<&'static str>,
}

impl Mismatch {
    /// A mismatch at the rule's own severity.
    pub fn new(expected: impl Into<String>, actual: impl Into<String>) -> Mismatch {
        Mismatch {
            expected: expected.into(),
            actual: actual.into(),
            severity: None,
            rule: None,
        }
    }

    /// The same mismatch, departing from `rule` unless the judge already named the rule (the
    /// answer's form).
    pub fn or_at(self, rule: Rule) -> Mismatch {
        match self.rule {
            Some(_) => self,
            None => self.at(rule),
        }
    }

    /// The same mismatch, departing from `rule`.
    pub fn at(self, rule: Rule) -> Mismatch {
        Mismatch {
            rule: Some(rule.id),
            ..self
        }
    }

    /// The same mismatch, at most a warning: SPEC allows the answer (SPEC §10). A 5xx stays a
    /// failure ([`server_error`]): SPEC allows none.
    pub fn allowed(self) -> Mismatch {
        if self.rule == Some(rules::ANY_NO_SERVER_ERROR.id) {
            return self;
        }
        Mismatch {
            severity: Some(Severity::Should),
            ..self
        }
    }

    /// The severity of this mismatch in a rule of `severity`.
    pub fn severity_in(&self, severity: Severity) -> Severity {
        self.severity.unwrap_or(severity)
    }
}

/// "400 missing_headers", "401|400 signature_mismatch", ….
pub fn describe_errors(codes: &[ErrorCode]) -> String {
    codes
        .iter()
        .map(|c| {
            let statuses: Vec<String> = c.accepted_statuses().iter().map(u16::to_string).collect();
            format!("{} {}", statuses.join("|"), c.accepted_codes().join("|"))
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A short account of an answer: status and code, or status and the start of the body.
pub fn summarize(response: &Response) -> String {
    if let Ok(body) = serde_json::from_slice::<serde_json::Value>(&response.body) {
        if let Some(code) = body.get("code").and_then(|c| c.as_str()) {
            return format!("{} {code}", response.status);
        }
        let licensee = ["license_key", "username"]
            .iter()
            .find_map(|m| body.get(m).and_then(|v| v.as_str()));
        if let (Some(licensee), Some(hw)) = (licensee, body.get("hardware_id").and_then(|v| v.as_str())) {
            return format!(
                "{} with an activation answer for {licensee:?} on {hw:?}",
                response.status
            );
        }
    }
    let text = String::from_utf8_lossy(&response.body);
    let excerpt: String = text.chars().take(120).collect();
    format!("{} {excerpt:?}", response.status)
}

/// SPEC §10: "Never a 5xx" [safety]. Every judge of an answer starts here, so a 5xx is a MUST
/// failure at `any.no-server-error` wherever it comes from (a case, a check, a generated or fuzzed
/// request, `diff`, `proxy`), and [`Mismatch::allowed`] never softens it.
pub fn server_error(expected: &str, response: &Response) -> Result<(), Mismatch> {
    if response.status < 500 {
        return Ok(());
    }
    Err(Mismatch {
        severity: Some(Severity::Must),
        ..Mismatch::new(expected, summarize(response)).at(rules::ANY_NO_SERVER_ERROR)
    })
}

/// Whether a Content-Type names `application/json`, in any case (media types are
/// case-insensitive, RFC 9110 §8.3.1), with or without parameters.
pub(crate) fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

fn mismatch(expected: impl Into<String>, actual: impl Into<String>) -> Result<(), Mismatch> {
    Err(Mismatch::new(expected, actual))
}

/// A mismatch departing from `rule`.
fn mismatch_at(rule: Rule, expected: impl Into<String>, actual: impl Into<String>) -> Result<(), Mismatch> {
    Err(Mismatch::new(expected, actual).at(rule))
}

/// SPEC §7: an error answer of one of `codes`: an accepted status, `Content-Type: application/json`,
/// `{"status", "code", "message"}` with the body's status equal to the HTTP status. An alias of a
/// code or status (`missing_content`, 400 `signature_mismatch`) and members beyond the three are
/// allowed but differ from the reference's choice: a warning (SPEC §7, §10).
pub fn judge_error(codes: &[ErrorCode], response: &Response) -> Result<(), Mismatch> {
    let expected = describe_errors(codes);
    server_error(&expected, response)?;
    if !codes
        .iter()
        .any(|c| c.accepted_statuses().contains(&response.status))
    {
        return mismatch(expected, summarize(response));
    }
    let (body, more) = match ErrorBody::parse_with_more(&response.body, response.status) {
        Ok(read) => read,
        Err(e) => {
            let rule = match e {
                ErrorShapeError::StatusDiffers { .. } => rules::ERROR_STATUS_MEMBER,
                ErrorShapeError::Shape(_) => rules::ERROR_SHAPE,
            };
            return mismatch_at(
                rule,
                format!("{expected}, error body of SPEC §7"),
                format!("{}: {e}", summarize(response)),
            );
        }
    };
    if !codes
        .iter()
        .any(|c| c.accepted_codes().contains(&body.code.as_str()))
    {
        return mismatch(expected, format!("{} {}", response.status, body.code));
    }
    // Before the warnings below: a wrong Content-Type fails whichever allowed code came.
    if !is_json(response.content_type.as_deref()) {
        return mismatch_at(
            rules::ERROR_SHAPE,
            format!("{expected} with Content-Type: application/json"),
            format!(
                "Content-Type: {}",
                response.content_type.as_deref().unwrap_or("(none)")
            ),
        );
    }
    let pinned = codes
        .iter()
        .any(|c| c.status() == response.status && c.code() == body.code);
    if !pinned {
        return mismatch(
            format!(
                "{expected}, the reference's {}",
                codes
                    .iter()
                    .map(|c| format!("{} {}", c.status(), c.code()))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            format!("{} {} (SPEC allows it)", response.status, body.code),
        )
        .map_err(Mismatch::allowed);
    }
    if !more.is_empty() {
        return mismatch_at(
            rules::ERROR_EXTRA_MEMBERS,
            "the three members of SPEC §7",
            format!("also {} (clients ignore them)", more.join(", ")),
        )
        .map_err(Mismatch::allowed);
    }
    Ok(())
}

/// The members SPEC §6 says a success answer carries.
const SUCCESS_MEMBERS: &[&str] = &[
    "hardware_id",
    "product_details",
    "license_type",
    "is_trial",
    "license_enabled",
    "license_active",
    "is_expired",
    "validity_period",
    "max_activations",
    "times_activated",
    "date",
    "offline_signature",
    "license_signature",
    "license_signature_v2",
];

fn has_float(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(n) => !(n.is_i64() || n.is_u64()),
        serde_json::Value::Array(a) => a.iter().any(has_float),
        serde_json::Value::Object(o) => o.values().any(has_float),
        _ => false,
    }
}

/// SPEC §6: the form of each member the success answer carries: strings, booleans, integers, the
/// product's details, `validity_period` as ISO-8601 UTC with milliseconds or `null`, and
/// `times_activated` counting this device's seat (at least 1).
fn member_forms(answer: &serde_json::Map<String, serde_json::Value>) -> Result<(), Mismatch> {
    use serde_json::Value;
    for (member, value) in answer {
        // Each member SPEC §6 names: whether the value has its form, and the form in words.
        let (ok, form) = match member.as_str() {
            "hardware_id"
            | "license_type"
            | "date"
            | "offline_signature"
            | "license_signature"
            | "license_signature_v2"
            | "license_key"
            | "username" => (value.is_string(), "a string"),
            "is_trial" | "license_enabled" | "license_active" | "is_expired" => {
                (value.is_boolean(), "a boolean")
            }
            "max_activations" => (value.is_u64(), "an integer"),
            "times_activated" => (
                value.as_u64().is_some_and(|n| n >= 1),
                "an integer of at least 1 (this device's seat)",
            ),
            "validity_period" => (
                value.is_null() || value.as_str().is_some_and(is_validity_period),
                "ISO-8601 UTC with milliseconds (2019-06-15T00:00:00.000Z) or null",
            ),
            "product_details" => (
                ["short_code", "product_name", "authorization_method"]
                    .iter()
                    .all(|k| value.get(k).is_some_and(Value::is_string)),
                "{short_code, product_name, authorization_method} strings",
            ),
            _ => (true, ""),
        };
        if !ok {
            return mismatch_at(
                rules::ANSWER_MEMBERS,
                format!("{member} as {form} (SPEC §6)"),
                format!("{member} {value}"),
            );
        }
    }
    Ok(())
}

/// `2019-06-15T00:00:00.000Z`: ISO-8601, UTC, milliseconds (SPEC §6), exactly as
/// `protocol::format_validity_period` writes a time.
fn is_validity_period(text: &str) -> bool {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .is_ok_and(|t| format_validity_period(t.into()) == text)
}

/// SPEC §6: a 200 JSON answer with the success members, echoing what was sent, whose
/// signatures verify (the RSA ones when the profile has the public key).
pub fn judge_activated(response: &Response, sent: &Prepared, profile: &Profile) -> Result<(), Mismatch> {
    let expected = "200 with a signed activation answer";
    server_error(expected, response)?;
    if response.status != 200 {
        return mismatch(expected, summarize(response));
    }
    let Ok(answer) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&response.body)
    else {
        return mismatch_at(
            rules::ANSWER_MEMBERS,
            expected,
            format!(
                "200 with a body that is not a JSON object: {}",
                summarize(response)
            ),
        );
    };
    let mut missing: Vec<&str> = SUCCESS_MEMBERS
        .iter()
        .copied()
        .filter(|m| !answer.contains_key(*m))
        .collect();
    if !answer.contains_key("license_key") && !answer.contains_key("username") {
        missing.insert(0, "license_key");
    }
    if !missing.is_empty() {
        return mismatch_at(
            rules::ANSWER_MEMBERS,
            "the success members of SPEC §6",
            format!("no {}", missing.join(", ")),
        );
    }
    member_forms(&answer)?;
    // SPEC §6 [docs]: the success answer is `Content-Type: application/json`.
    if !is_json(response.content_type.as_deref()) {
        return mismatch_at(
            rules::ANSWER_CONTENT_TYPE,
            "the success answer with Content-Type: application/json (SPEC §6)",
            format!(
                "Content-Type: {}",
                response.content_type.as_deref().unwrap_or("(none)")
            ),
        );
    }
    let echo = |rule: Rule, member: &str, sent: &Option<String>| match sent {
        Some(v) if answer.get(member).and_then(|a| a.as_str()) != Some(v.as_str()) => mismatch_at(
            rule,
            format!("{member} {v:?} echoed"),
            format!(
                "{member} {}",
                answer.get(member).map_or("absent".to_owned(), |a| a.to_string())
            ),
        ),
        _ => Ok(()),
    };
    echo(rules::ANSWER_REQUEST_ID, "request_id", &sent.request_id)?;
    // SPEC §6, §10: no request_id sent, none echoed (absent or null).
    match (&sent.request_id, answer.get("request_id")) {
        (None, Some(v)) if !v.is_null() => {
            return mismatch_at(
                rules::ANSWER_REQUEST_ID,
                "no request_id, or null (none was sent)",
                format!("request_id {v}"),
            )
        }
        (Some(v), None) => {
            return mismatch_at(
                rules::ANSWER_REQUEST_ID,
                format!("request_id {v:?} echoed"),
                "no request_id",
            )
        }
        _ => {}
    }
    echo(rules::ANSWER_ECHO_VERBATIM, "hardware_id", &sent.hardware_id)?;
    let licensee = answer
        .get("license_key")
        .or_else(|| answer.get("username"))
        .and_then(|v| v.as_str());
    if let Some(l) = &sent.licensee {
        if licensee != Some(l.as_str()) {
            return mismatch_at(
                rules::ANSWER_ECHO_VERBATIM,
                format!("license_key or username {l:?} echoed"),
                format!("{licensee:?}"),
            );
        }
    }
    if has_float(&serde_json::Value::Object(answer.clone())) {
        return mismatch_at(
            rules::ANSWER_LICENSE_SIGNATURE_V2,
            "integers only (SPEC §6: SDKs print floats differently)",
            "a non-integer number",
        );
    }
    let offline = profile.credentials.as_ref().map(|c| OfflineKey {
        api_key: &c.api_key,
        shared_key: &c.shared_key,
    });
    let check = check_answer(&response.body, profile.public_key.as_ref(), offline)
        .map_err(|e| Mismatch::new(expected, e.to_string()).at(rules::ANSWER_MEMBERS))?;
    for (rule, name, verdict) in [
        (
            rules::ANSWER_OFFLINE_SIGNATURE,
            "offline_signature",
            check.offline_signature,
        ),
        (
            rules::ANSWER_LICENSE_SIGNATURE,
            "license_signature",
            check.license_signature,
        ),
        (
            rules::ANSWER_LICENSE_SIGNATURE_V2,
            "license_signature_v2",
            check.license_signature_v2,
        ),
    ] {
        if matches!(verdict, Verdict::Mismatch | Verdict::Absent) {
            return mismatch_at(rule, format!("{name} that verifies"), format!("{name} {verdict}"));
        }
    }
    Ok(())
}

/// SPEC §6: the members a case knows the values of (what the profile's license role says).
fn members_as_expected(
    response: &Response,
    members: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), Mismatch> {
    let answer: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&response.body).unwrap_or_default();
    for (member, value) in members {
        if answer.get(member) != Some(value) {
            let rule = match member.as_str() {
                "times_activated" => rules::ANSWER_TIMES_ACTIVATED,
                _ => rules::ANSWER_LICENSE_VALUES,
            };
            return mismatch_at(
                rule,
                format!("{member} {value} (SPEC §6, the license of this role)"),
                format!(
                    "{member} {}",
                    answer.get(member).map_or("absent".to_owned(), |v| v.to_string())
                ),
            );
        }
    }
    Ok(())
}

/// SPEC §10: with no `request_id` sent, the answer's `request_id` is absent or `null`; the
/// reference writes `null`, so an absent one is a warning.
fn request_id_as_pinned(response: &Response, sent: &Prepared) -> Result<(), Mismatch> {
    let answer: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&response.body).unwrap_or_default();
    if sent.request_id.is_none() && !answer.contains_key("request_id") {
        return mismatch_at(
            rules::ANSWER_REQUEST_ID,
            "\"request_id\": null, the reference's choice",
            "no request_id (SPEC allows it)",
        )
        .map_err(Mismatch::allowed);
    }
    Ok(())
}

/// SPEC §1: deactivate_offline answers 200 with the text `license_deactivated`.
pub fn judge_deactivated(response: &Response) -> Result<(), Mismatch> {
    server_error("200 license_deactivated", response)?;
    let text = String::from_utf8_lossy(&response.body);
    let text = text.trim().trim_matches('"');
    if response.status == 200 && text == "license_deactivated" {
        Ok(())
    } else {
        mismatch("200 license_deactivated", summarize(response))
    }
}

/// Judges an answer to a request of `endpoint` against a data case's expectation: the case's
/// answer passes; another answer SPEC allows for the bytes sent (SPEC §10, through the oracle) is a
/// warning; anything else fails at the severity of the rules it breaks (at most the case's).
/// The oracle judges the Date header sent at `now` (the run's clock, SPEC §2).
pub fn judge(
    endpoint: Endpoint,
    expect: &Expectation,
    response: &Response,
    sent: &Prepared,
    profile: &Profile,
    now: SystemTime,
) -> Result<(), Mismatch> {
    let Err(m) = judge_expected(endpoint, expect, response, sent, profile) else {
        return Ok(());
    };
    if m.severity.is_some() {
        return Err(m);
    }
    // The judge knows the rule the answer departs from (its form, an echo, a signature): the
    // status and code were what the case expects, so the oracle has nothing to add.
    if let Some(rule) = m.rule.and_then(Rule::by_id) {
        let severity = Some(rule.severity());
        return Err(Mismatch { severity, ..m });
    }
    let Some(allowed) = super::allowed::of_prepared(profile, sent, now) else {
        return Err(m);
    };
    let code = error_code(response);
    let refused = response.status != 200 && !allowed.is_acceptance(response.status, code.as_deref());
    let fit = allowed.fit(response.status, code.as_deref());
    let expects_business = expect
        .error_codes()
        .unwrap_or_default()
        .iter()
        .any(|c| ErrorCode::business(endpoint.kind()).contains(c));
    let others: Vec<String> = allowed.also.iter().map(ToString::to_string).collect();
    let expected = match others.as_slice() {
        [] => m.expected.clone(),
        others => format!("{}; SPEC also allows {}", m.expected, others.join(" or ")),
    };
    match fit {
        // A refusal SPEC allows for these bytes (another broken rule, an alias, a §10 choice).
        Fit::Pinned | Fit::Allowed if refused => {
            let rule = allowed.first().map(|b| b.rule.id).or(m.rule);
            Err(Mismatch {
                rule,
                ..Mismatch::new(expected, m.actual).allowed()
            })
        }
        // Accepted where the reference refuses and SPEC allows either (§10): a warning, if the
        // answer itself is right.
        Fit::Allowed if !expects_business && response.status == 200 => {
            let right = match endpoint {
                Endpoint::Activate => judge_activated(response, sent, profile),
                Endpoint::Deactivate => judge_deactivated(response),
            };
            right.and(Err(Mismatch::new(expected, m.actual).allowed()))
        }
        Fit::Outside => {
            let severity = allowed.outside_severity(response.status, code.as_deref());
            let rule = allowed
                .rule_at_stake(response.status, code.as_deref())
                .map(|r| r.id)
                .or(m.rule);
            Err(Mismatch { severity, rule, ..m })
        }
        _ => Err(m),
    }
}

/// The `code` of an error body, when it has one.
pub fn error_code(response: &Response) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()?
        .get("code")?
        .as_str()
        .map(str::to_owned)
}

fn judge_expected(
    endpoint: Endpoint,
    expect: &Expectation,
    response: &Response,
    sent: &Prepared,
    profile: &Profile,
) -> Result<(), Mismatch> {
    if expect.activated {
        judge_activated(response, sent, profile)?;
        members_as_expected(response, &expect.members)?;
        request_id_as_pinned(response, sent)
    } else if expect.accepted {
        match (response.status, endpoint) {
            (200, Endpoint::Activate) => judge_activated(response, sent, profile),
            (200, Endpoint::Deactivate) => judge_deactivated(response),
            _ => judge_error(ErrorCode::business(endpoint.kind()), response).map_err(|m| Mismatch {
                expected: match endpoint {
                    Endpoint::Activate => format!("200 with a signed activation answer, or {}", m.expected),
                    Endpoint::Deactivate => format!("200 license_deactivated, or {}", m.expected),
                },
                ..m
            }),
        }
    } else if expect.deactivated {
        judge_deactivated(response)
    } else {
        judge_error(&expect.error_codes().unwrap_or_default(), response)
    }
}

#[cfg(test)]
mod tests {
    use super::{is_validity_period, member_forms};

    fn forms(json: &str) -> Result<(), String> {
        let answer = serde_json::from_str(json).expect("a JSON object");
        member_forms(&answer).map_err(|m| m.expected)
    }

    #[test]
    fn validity_period_is_iso_8601_utc_with_milliseconds() {
        assert!(is_validity_period("2019-06-15T00:00:00.000Z"));
        assert!(!is_validity_period("2019-06-15T00:00:00Z"));
        assert!(!is_validity_period("2019-06-15T00:00:00.000+00:00"));
        assert!(!is_validity_period("2019-13-15T00:00:00.000Z"));
    }

    #[test]
    fn each_member_of_the_success_answer_has_its_form() {
        assert!(forms(
            r#"{"is_trial":false,"times_activated":1,"validity_period":null,"transfer_count":"x"}"#
        )
        .is_ok());
        assert!(forms(r#"{"is_trial":"false"}"#).unwrap_err().contains("boolean"));
        assert!(forms(r#"{"max_activations":1.0}"#)
            .unwrap_err()
            .contains("integer"));
        assert!(forms(r#"{"times_activated":0}"#)
            .unwrap_err()
            .contains("at least 1"));
        assert!(forms(r#"{"validity_period":"2019-06-15"}"#)
            .unwrap_err()
            .contains("milliseconds"));
        assert!(forms(r#"{"product_details":{"short_code":"TP"}}"#).is_err());
        assert!(forms(r#"{"hardware_id":5}"#).unwrap_err().contains("string"));
    }
}
