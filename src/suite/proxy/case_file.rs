//! The case file of a nonconforming exchange: the client's body byte for byte, its headers as
//! templates that `replay` and `run --cases` sign afresh (a Date header is only good for 15
//! minutes), and what SPEC says a conforming server answers (the oracle's pinned answer).

use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::verdict::{Finding, Seen};
use crate::protocol::{
    parse_http_date, parse_other_date, Allowed, Answer, AuthorizationHeader, RequestKind, MAX_DATE_SKEW,
};
use crate::suite::case::{AuthorizationTemplate, CaseFile, DataCase, DateTemplate, HeadersTemplate};
use crate::suite::profile::Profile;
use crate::suite::render::http_date;

/// The `Date` header as a template: the same form, and the same distance from now when it was
/// outside the window of SPEC §2 (so that a replay is refused alike); a text that is no date of
/// a known form, as is.
fn date_template(sent: Option<&[u8]>, arrived: std::time::SystemTime) -> DateTemplate {
    let Some(sent) = sent else {
        return DateTemplate::Omit;
    };
    let text = String::from_utf8_lossy(sent).into_owned();
    let Some(time) = parse_http_date(&text).or_else(|| parse_other_date(&text)) else {
        return DateTemplate::Literal(text);
    };
    let form = ["imf", "imf-utc", "rfc850", "asctime", "javascript"]
        .into_iter()
        .find(|f| http_date(time, Some(f)).is_ok_and(|d| d == text.trim_matches([' ', '\t'])));
    let Some(form) = form else {
        return DateTemplate::Literal(text);
    };
    let skew = match time.duration_since(arrived) {
        Ok(ahead) => ahead.as_secs() as i64,
        Err(behind) => -(behind.duration().as_secs() as i64),
    };
    DateTemplate::Now {
        offset_seconds: if skew.unsigned_abs() > MAX_DATE_SKEW.as_secs() {
            skew
        } else {
            0
        },
        form: (form != "imf").then(|| form.to_owned()),
    }
}

/// The `Authorization` header as a template: a header whose MAC was right over the Date it was
/// sent with is signed afresh in the same layout (its signature becomes `{signature}`); any other
/// is sent as it was (a wrong MAC stays wrong over any Date).
fn authorization_template(seen: &Seen, profile: &Profile) -> AuthorizationTemplate {
    let Some(sent) = &seen.authorization else {
        return AuthorizationTemplate::Omit;
    };
    let text = String::from_utf8_lossy(sent).into_owned();
    let date = seen
        .date
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let right = AuthorizationHeader::parse(&text).ok().filter(|h| {
        profile
            .credentials
            .as_ref()
            .is_some_and(|c| c.api_key == h.api_key && h.verify(&c.shared_key, &date).is_ok())
    });
    match right {
        Some(header) if !header.signature.is_empty() => {
            AuthorizationTemplate::Template(text.replacen(&header.signature, "{signature}", 1))
        }
        _ => AuthorizationTemplate::Template(text),
    }
}

/// The case file that sends the request of a nonconforming exchange again, citing the rule
/// `finding` names; `side` says whose fault it was (`client` or `server`).
pub(super) fn case_file(
    seen: &Seen,
    kind: RequestKind,
    allowed: &Allowed,
    side: &str,
    finding: &Finding,
    answered: &str,
    profile: &Profile,
) -> Result<CaseFile, String> {
    let headers = HeadersTemplate {
        date: date_template(seen.date.as_deref(), seen.arrived),
        authorization: authorization_template(seen, profile),
        omit_content_type: seen.content_type.is_none(),
        content_type: seen.content_type.clone(),
        ..HeadersTemplate::default()
    };
    let body = match std::str::from_utf8(&seen.body) {
        Ok(text) => json!({ "literal": text }),
        Err(_) => json!({
            "literal_base64": base64::engine::general_purpose::STANDARD.encode(&seen.body)
        }),
    };
    let mut request =
        json!({ "headers": serde_json::to_value(&headers).map_err(|e| e.to_string())?, "body": body });
    if kind == RequestKind::Deactivation {
        request["endpoint"] = json!("deactivate");
    }
    if seen.method != "POST" {
        request["method"] = json!(seen.method);
    }
    // Named after what is sent: the same request makes the same file, not one file a time.
    let hash = Sha256::digest(request.to_string());
    let id = format!(
        "proxy/{side}-{}-{}",
        finding.rule.id.replace('.', "-"),
        hash[..4].iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let (expect, conforming) = match allowed.pinned {
        Answer::Refused(code) => (
            json!({ "error": code.code() }),
            format!("{} {}", code.status(), code.code()),
        ),
        // Accepted up to SPEC §5: which business answer depends on the target's licenses.
        Answer::Accepted | Answer::Unauthorized => (
            json!({ "accepted": true }),
            "a 200 or a refusal of SPEC §5".to_owned(),
        ),
    };
    let title = format!(
        "Seen by lsconform proxy on {} {}, the {side} nonconforming at {} (expected {}, got {}; \
         answered {answered}): a conforming server answers {conforming}",
        seen.method, seen.path, finding.rule.id, finding.expected, finding.actual
    );
    let file = json!({
        "id": id,
        "rules": [finding.rule.id],
        "title": title,
        "request": request,
        "expect": expect,
    });
    let text = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())? + "\n";
    let case: DataCase = serde_json::from_str(&text).map_err(|e| format!("the case file of {id}: {e}"))?;
    case.expect.validate()?;
    Ok(CaseFile { id, text })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::protocol::format_http_date;

    fn seen(date: &str, authorization: String) -> Seen {
        Seen {
            method: "POST".into(),
            path: RequestKind::Activation.path().into(),
            authorization: Some(authorization.into_bytes()),
            date: Some(date.as_bytes().to_vec()),
            content_type: Some("text/plain".into()),
            body: Vec::new(),
            cut: None,
            arrived: SystemTime::now(),
        }
    }

    #[test]
    fn a_date_within_the_window_is_sent_fresh_and_one_outside_keeps_its_distance_and_form() {
        let now = SystemTime::now();
        let fresh = format_http_date(now - Duration::from_secs(30));
        assert_eq!(
            date_template(Some(fresh.as_bytes()), now),
            DateTemplate::Now {
                offset_seconds: 0,
                form: None
            }
        );
        let stale = http_date(now - Duration::from_secs(3600), Some("rfc850")).expect("a date");
        match date_template(Some(stale.as_bytes()), now) {
            DateTemplate::Now { offset_seconds, form } => {
                assert!((-3601..=-3599).contains(&offset_seconds), "{offset_seconds}");
                assert_eq!(form.as_deref(), Some("rfc850"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            date_template(Some(b"yesterday"), now),
            DateTemplate::Literal("yesterday".into())
        );
        assert_eq!(date_template(None, now), DateTemplate::Omit);
    }

    #[test]
    fn a_right_authorization_header_is_signed_afresh_and_a_wrong_one_is_sent_as_it_was() {
        let profile = Profile::reference("http://127.0.0.1:9");
        let keys = profile.credentials.clone().expect("the reference profile's keys");
        let date = format_http_date(SystemTime::now());
        let right = AuthorizationHeader::signed(&keys.api_key, &keys.shared_key, &date).to_string();
        match authorization_template(&seen(&date, right.clone()), &profile) {
            AuthorizationTemplate::Template(t) => {
                assert!(t.contains("signature=\"{signature}\""), "{t}");
                assert!(!t.contains(&AuthorizationHeader::parse(&right).expect("parses").signature));
            }
            other => panic!("{other:?}"),
        }
        let wrong = AuthorizationHeader::signed(&keys.api_key, "another key", &date).to_string();
        assert_eq!(
            authorization_template(&seen(&date, wrong.clone()), &profile),
            AuthorizationTemplate::Template(wrong)
        );
    }
}
