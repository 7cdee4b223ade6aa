//! What a generated request showed: the kind of finding it is, and the case file that sends it
//! again. `lsconform fuzz` and the generated requests of `lsconform run` name findings alike.

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{Exchange, Property, Rule, Violation};
use crate::protocol::{ErrorCode, RequestKind};
use crate::suite::case::{CaseFile, DataCase, Found, HeadersTemplate};
use crate::suite::http::ExchangeError;
use crate::suite::profile::Profile;

/// What a finding is, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    /// A 5xx answer.
    ServerError,
    /// No complete answer within the timeout.
    Hang,
    /// The connection closed without an HTTP answer.
    ClosedConnection,
    /// An answer larger than the suite reads.
    AnswerTooLarge,
    /// A request `protocol` refuses got past that check: a 200, or a refusal of SPEC §5.
    AcceptedRefused,
    /// An error body outside SPEC §7.
    ErrorShape,
    /// Refused with another code than `protocol`'s.
    WrongRefusal,
    /// Refused before SPEC §5 although `protocol` accepts it.
    RefusedAccepted,
    /// A success answer that does not verify.
    BadAnswer,
}

impl FindingKind {
    /// Its slug, the first part of a finding's file name.
    ///
    /// ```
    /// use lsconform::suite::fuzz::FindingKind;
    /// assert_eq!(FindingKind::AcceptedRefused.slug(), "accepted-refused");
    /// ```
    pub const fn slug(self) -> &'static str {
        match self {
            FindingKind::ServerError => "server-error",
            FindingKind::Hang => "hang",
            FindingKind::ClosedConnection => "closed-connection",
            FindingKind::AnswerTooLarge => "answer-too-large",
            FindingKind::AcceptedRefused => "accepted-refused",
            FindingKind::ErrorShape => "error-shape",
            FindingKind::WrongRefusal => "wrong-refusal",
            FindingKind::RefusedAccepted => "refused-accepted",
            FindingKind::BadAnswer => "bad-answer",
        }
    }

    /// What the target did, in a few words.
    pub const fn what(self) -> &'static str {
        match self {
            FindingKind::ServerError => "answered a 5xx",
            FindingKind::Hang => "gave no complete answer within the timeout",
            FindingKind::ClosedConnection => "closed the connection without an HTTP answer",
            FindingKind::AnswerTooLarge => "answered more than the suite reads",
            FindingKind::AcceptedRefused => {
                "got past the check on which protocol refuses the request (a 200, or a refusal of SPEC §5)"
            }
            FindingKind::ErrorShape => "answered an error body outside SPEC §7",
            FindingKind::WrongRefusal => "refused with another code than protocol's",
            FindingKind::RefusedAccepted => "refused, before SPEC §5, a request protocol accepts",
            FindingKind::BadAnswer => "accepted with a success answer that does not verify",
        }
    }
}

/// What a request showed, if anything: the worst kind of finding among the properties it broke,
/// and the answer that tells findings of that kind apart (status and code).
///
/// A request `protocol` refuses that gets a 200 *or a refusal of SPEC §5* got past the check that
/// should have stopped it: both are [`FindingKind::AcceptedRefused`], one finding whatever the
/// business answer was.
pub(in crate::suite) fn classify(ex: &Exchange) -> Option<(FindingKind, String, Violation)> {
    let (status, code) = match &ex.response {
        Ok(r) => {
            let code = serde_json::from_slice::<Value>(&r.body)
                .ok()
                .and_then(|b| b.get("code").and_then(Value::as_str).map(str::to_owned));
            (Some(r.status), code)
        }
        Err(_) => (None, None),
    };
    let past_the_checks = status == Some(200)
        || code.as_deref().is_some_and(|c| {
            ErrorCode::from_code(c).is_some_and(|c| ErrorCode::business(ex.case.value.kind).contains(&c))
        });
    let (kind, v) = ex
        .violations
        .iter()
        .map(|(property, v)| {
            let kind = match (property, &ex.response) {
                (Property::NoServerError, Err(ExchangeError::Timeout(_))) => FindingKind::Hang,
                (Property::NoServerError, Err(ExchangeError::TooLarge)) => FindingKind::AnswerTooLarge,
                (Property::NoServerError, Err(ExchangeError::Transport(_))) => FindingKind::ClosedConnection,
                (Property::NoServerError, Ok(_)) => FindingKind::ServerError,
                (Property::ErrorShape, _) => FindingKind::ErrorShape,
                (Property::OracleAgreement, _) => match &ex.case.oracle {
                    Err(_) if past_the_checks => FindingKind::AcceptedRefused,
                    Err(_) => FindingKind::WrongRefusal,
                    Ok(()) => FindingKind::RefusedAccepted,
                },
                (Property::SignedAnswer, _) => FindingKind::BadAnswer,
            };
            (kind, v)
        })
        .min_by_key(|(kind, _)| *kind)?;
    // What tells findings of a kind apart, besides the rule.
    let answer = match kind {
        FindingKind::AcceptedRefused | FindingKind::BadAnswer => String::new(),
        // The same broken shape for every code is one finding.
        FindingKind::ErrorShape => v.mismatch.expected.clone(),
        _ => format!(
            "{} {}",
            status.map(|s| s.to_string()).unwrap_or_default(),
            code.unwrap_or_default()
        ),
    };
    Some((kind, answer, v.clone()))
}

/// The case file of a request that breaks a property (for `lsconform run`'s generated requests,
/// which name the same findings `lsconform fuzz` does); `None` when it shows nothing.
pub(in crate::suite) fn case_file_of(ex: &Exchange, profile: &Profile, seed: u64) -> Option<CaseFile> {
    let (kind, _, v) = classify(ex)?;
    case_file(kind, v.rule, ex, profile, seed, &what_came(ex))
        .ok()
        .map(|(_, file)| file)
}

/// What the target did, for people: status and code, or why there was no answer.
pub(in crate::suite) fn what_came(ex: &Exchange) -> String {
    match &ex.response {
        Ok(r) => crate::suite::judge::summarize(r),
        Err(e) => e.to_string(),
    }
}

/// The case file of a request that showed a finding: the exact body, fresh signed headers, and
/// what `protocol` says a conforming server answers.
pub(in crate::suite) fn case_file(
    kind: FindingKind,
    rule: Rule,
    ex: &Exchange,
    profile: &Profile,
    seed: u64,
    answered: &str,
) -> Result<(DataCase, CaseFile), String> {
    let body = ex.case.request.body.clone().unwrap_or_default();
    // Named after what was sent, not its bytes (which hold the time): the same seed finds the
    // same finding under the same name, and a second run overwrites the first one's file.
    let hash = Sha256::digest(format!(
        "{} {} {} {:?}",
        kind.slug(),
        rule.what,
        ex.case.index,
        ex.case.value
    ));
    let id = format!(
        "fuzz/{}-{}",
        kind.slug(),
        hash[..4].iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let content_type = ex
        .case
        .request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone());
    // The Date and Authorization headers as the request's template writes them (signed afresh on
    // every replay), and the Content-Type as sent.
    let headers = HeadersTemplate {
        omit_content_type: content_type.is_none(),
        content_type,
        ..ex.case.value.headers.template()
    };
    let headers = serde_json::to_value(headers).map_err(|e| e.to_string())?;
    let body = match String::from_utf8(body) {
        Ok(text) => json!({ "literal": text }),
        Err(e) => {
            json!({ "literal_base64": base64::engine::general_purpose::STANDARD.encode(e.into_bytes()) })
        }
    };
    let (title, expect) = match &ex.case.oracle {
        Err(r) => (
            format!(
                "This request is refused with {}, as protocol refuses it ({})",
                r.code.code(),
                rule.what
            ),
            json!({ "error": r.code.code() }),
        ),
        Ok(()) => (
            format!(
                "This request is accepted up to SPEC §5: a 200 or a business refusal ({})",
                rule.what
            ),
            json!({ "accepted": true }),
        ),
    };
    let found = Found {
        by: concat!("lsconform fuzz ", env!("CARGO_PKG_VERSION")).to_owned(),
        target: profile.base_url.clone(),
        seed,
        request: ex.case.index,
        sent: ex.case.value.describe(),
        answered: answered.to_owned(),
    };
    let mut request = json!({ "headers": headers, "body": body });
    if ex.case.value.kind == RequestKind::Deactivation {
        request["endpoint"] = json!("deactivate");
    }
    let mut file = json!({
        "id": id,
        "rules": [rule.id],
        "title": title,
        "request": request,
        "expect": expect,
        "found": found,
    });
    // A rule held as a warning here (an answer SPEC allows) is stricter in the catalogue.
    if Rule::by_id(rule.id).is_some_and(|r| r.severity() != rule.severity()) {
        file["severity"] = json!(rule.severity());
    }
    let text = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())? + "\n";
    let case: DataCase = serde_json::from_str(&text).map_err(|e| format!("the case file of {id}: {e}"))?;
    case.expect.validate()?;
    Ok((case, CaseFile { id, text }))
}
