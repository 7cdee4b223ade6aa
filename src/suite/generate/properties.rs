//! Judging: whether a property holds for one exchange with the target.

use serde_json::Value;

use super::render::GeneratedCase;
use super::{Property, Rule};
use crate::protocol::{decode_request, Answer, ErrorBody, ErrorCode, Fit, RequestKind};
use crate::suite::http::{ExchangeError, Response};
use crate::suite::judge::{self, Mismatch};
use crate::suite::profile::Profile;

/// One request sent, and what came back.
#[derive(Debug, Clone)]
pub(in crate::suite) struct Exchange {
    pub(in crate::suite) case: GeneratedCase,
    pub(in crate::suite) response: Result<Response, ExchangeError>,
    /// Why a seat the request took could not be given back.
    pub(in crate::suite) give_back: Option<String>,
    /// The properties it breaks (judged as soon as the answer is in).
    pub(in crate::suite) violations: Vec<(Property, Violation)>,
}

/// A property that does not hold for one request.
#[derive(Debug, Clone)]
pub(in crate::suite) struct Violation {
    pub(in crate::suite) rule: Rule,
    pub(in crate::suite) mismatch: Mismatch,
    /// No answer at all (an error of the case, never a pass).
    pub(in crate::suite) no_answer: bool,
}

fn code_of(response: &Response) -> Option<String> {
    serde_json::from_slice::<Value>(&response.body)
        .ok()?
        .get("code")?
        .as_str()
        .map(str::to_owned)
}

/// Whether an exchange gives `property` something to judge: an answer (never a 5xx for the
/// properties after the first), an error answer for the error shape, an accepted request where SPEC
/// allows accepting it for the signed answer. A property that judged nothing is an error of the
/// run, never a pass.
pub(super) fn judges(property: Property, ex: &Exchange) -> bool {
    let Ok(response) = &ex.response else {
        return false;
    };
    match property {
        Property::NoServerError => true,
        Property::ErrorShape => response.status >= 400,
        Property::OracleAgreement => response.status < 500,
        Property::SignedAnswer => response.status == 200 && ex.case.allowed.fit(200, None) != Fit::Outside,
    }
}

/// What a property judges, for a run where it judged nothing.
pub(super) fn needs(property: Property) -> &'static str {
    match property {
        Property::NoServerError => "an answer",
        Property::ErrorShape => "an error answer",
        Property::OracleAgreement => "an answer below 500",
        Property::SignedAnswer => "a 200 to a request SPEC allows to accept",
    }
}

/// SPEC §5: an activation the oracle accepts up to the business rules gets the answer its
/// license's role fixes (a perpetual license is activated, a disabled one is
/// `license_not_enabled`, …): a business refusal that is not the role's (a `license_not_found`
/// from a decoding bug, a `request_id_conflict` on a fresh id) is not agreement.
fn business_as_the_role_says(ex: &Exchange, response: &Response, code: Option<&str>) -> Option<Violation> {
    let value = &ex.case.value;
    if ex.case.allowed.pinned != Answer::Accepted || value.kind != RequestKind::Activation {
        return None;
    }
    // Only where the file sent names what the value says (the fuzzer changes bytes after the
    // value was written): the license and product read from the body as a server reads them.
    let sent = &ex.case.request;
    let content_type = sent
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("Content-Type"))
        .map(|(_, v)| v.as_str());
    let read = decode_request(content_type, sent.body.as_deref()?).ok()?;
    let licensee = read
        .payload
        .license_key
        .as_deref()
        .or(read.payload.username.as_deref());
    if read.payload.product.as_deref() != Some(value.product.code())
        || licensee != Some(value.license.value())
    {
        return None;
    }
    let (expected, rule) = value.license.expected_activation(&value.product)?;
    let got = match response.status {
        200 => None,
        _ => Some(code.and_then(ErrorCode::from_code)?),
    };
    if expected.contains(&got) {
        return None;
    }
    let said: Vec<String> = expected
        .iter()
        .map(|e| {
            e.map_or("200 with the license".to_owned(), |c| {
                format!("{} {}", c.status(), c.code())
            })
        })
        .collect();
    Some(Violation {
        rule,
        mismatch: Mismatch::new(
            format!(
                "{} (SPEC §5, what the profile's license of this role gets)",
                said.join(" or ")
            ),
            judge::summarize(response),
        ),
        no_answer: false,
    })
}

/// Whether `property` holds for one exchange, and if not, why.
pub(in crate::suite) fn judge(property: Property, ex: &Exchange, profile: &Profile) -> Option<Violation> {
    let violation = |rule: Rule, expected: String, actual: String| {
        Some(Violation {
            rule,
            mismatch: Mismatch::new(expected, actual),
            no_answer: false,
        })
    };
    let response = match (&ex.response, property) {
        (Err(e), Property::NoServerError) => {
            return Some(Violation {
                rule: property.rule(),
                mismatch: Mismatch::new("an HTTP answer", e.to_string()),
                no_answer: true,
            })
        }
        (Err(_), _) => return None,
        (Ok(r), _) => r,
    };
    match property {
        Property::NoServerError if response.status >= 500 => violation(
            property.rule(),
            "an answer below 500".into(),
            judge::summarize(response),
        ),
        Property::NoServerError => None,
        Property::ErrorShape if response.status >= 400 => {
            let shape =
                ErrorBody::parse_with_more(&response.body, response.status).map_err(|e| e.to_string());
            let json = judge::is_json(response.content_type.as_deref());
            match (shape, json) {
                (Ok((_, more)), true) if more.is_empty() => None,
                // SPEC §7: more members are allowed by clients, a warning.
                (Ok((_, more)), true) => violation(
                    property.rule().warning(),
                    "the three members of SPEC §7".into(),
                    format!("{}: also {}", judge::summarize(response), more.join(", ")),
                ),
                (Err(e), _) => violation(
                    property.rule(),
                    "{\"status\": <the HTTP status>, \"code\": …, \"message\": …} (SPEC §7)".into(),
                    format!("{}: {e}", judge::summarize(response)),
                ),
                (Ok(_), false) => violation(
                    property.rule(),
                    "the error body with Content-Type: application/json".into(),
                    format!(
                        "{} with Content-Type: {}",
                        judge::summarize(response),
                        response.content_type.as_deref().unwrap_or("(none)")
                    ),
                ),
            }
        }
        Property::ErrorShape => None,
        // A 5xx is the first property's.
        Property::OracleAgreement if response.status >= 500 => None,
        Property::OracleAgreement => {
            let code = code_of(response);
            let allowed = &ex.case.allowed;
            let why = allowed
                .first()
                .map(|b| format!(" ({}: {})", b.rule.what, b.detail))
                .unwrap_or_default();
            match allowed.fit(response.status, code.as_deref()) {
                Fit::Pinned => business_as_the_role_says(ex, response, code.as_deref()),
                // SPEC §10: another answer SPEC allows is a warning.
                Fit::Allowed => violation(
                    allowed
                        .first()
                        .map_or_else(|| ex.case.rule(), |b| b.rule)
                        .warning(),
                    format!(
                        "{}, the reference's answer{why}; SPEC also allows this one",
                        allowed.pinned
                    ),
                    judge::summarize(response),
                ),
                Fit::Outside => violation(
                    allowed
                        .rule_at_stake(response.status, code.as_deref())
                        .unwrap_or_else(|| ex.case.rule()),
                    format!("{}{why}", allowed.describe()),
                    judge::summarize(response),
                ),
            }
        }
        // An accepted request, where SPEC allows accepting it, gets a right answer.
        Property::SignedAnswer
            if response.status == 200 && ex.case.allowed.fit(200, None) != Fit::Outside =>
        {
            let judged = match ex.case.value.kind {
                RequestKind::Activation => judge::judge_activated(response, &ex.case.request, profile),
                RequestKind::Deactivation => judge::judge_deactivated(response),
            };
            judged
                .err()
                .and_then(|m| violation(property.rule(), m.expected, m.actual))
        }
        Property::SignedAnswer => None,
    }
}
