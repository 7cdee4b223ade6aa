//! Judging one proxied exchange, both sides: the client's request against the rules SPEC sets for
//! a request (the oracle's broken rules), the server's answer against the set of answers SPEC
//! allows for exactly those bytes (SPEC §10) and the form of the answer (`suite::judge`).

use std::time::SystemTime;

use crate::protocol::{
    decode_request, rules, Allowed, Answer, AuthorizationHeader, DecodedRequest, ErrorBody, ErrorCode, Fit,
    RequestKind, Rule, Severity, Style,
};
use crate::suite::allowed::of_request;
use crate::suite::http::Response;
use crate::suite::judge::{self, Mismatch};
use crate::suite::profile::Profile;
use crate::suite::render::{for_people, Prepared};

/// How one side of an exchange stands with SPEC, in the words of `lsconform run` and `diff`.
///
/// ```
/// use lsconform::suite::proxy::{Finding, SideVerdict};
/// use lsconform::protocol::rules;
/// let f = Finding { rule: rules::AUTH_HEADER_HMAC, expected: "x".into(), actual: "y".into() };
/// assert_eq!(SideVerdict::Nonconforming(f).to_string(), "nonconforming auth.header-hmac");
/// assert_eq!(SideVerdict::Conforming.to_string(), "conforming");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SideVerdict {
    /// Within what SPEC allows, and the reference's own choice.
    Conforming,
    /// Allowed by SPEC, but not the reference's \[pinned] choice, or short of a SHOULD rule.
    Warning(Finding),
    /// Outside what a MUST rule of SPEC allows.
    Nonconforming(Finding),
    /// Nothing to judge, and why (never a pass): not one of the endpoints, no answer, an API key
    /// the profile has no shared key for (the signatures cannot be checked).
    Unjudged(String),
}

impl SideVerdict {
    /// The finding, for a warning or a nonconforming side.
    pub fn finding(&self) -> Option<&Finding> {
        match self {
            SideVerdict::Warning(f) | SideVerdict::Nonconforming(f) => Some(f),
            _ => None,
        }
    }

    /// Whether SPEC's MUST rules hold for this side (conforming, or a warning).
    pub fn holds(&self) -> bool {
        matches!(self, SideVerdict::Conforming | SideVerdict::Warning(_))
    }

    fn at(severity: Severity, finding: Finding) -> SideVerdict {
        match severity {
            Severity::Must => SideVerdict::Nonconforming(finding),
            Severity::Should => SideVerdict::Warning(finding),
        }
    }
}

impl std::fmt::Display for SideVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SideVerdict::Conforming => f.write_str("conforming"),
            SideVerdict::Warning(x) => write!(f, "warning {}", x.rule.id),
            SideVerdict::Nonconforming(x) => write!(f, "nonconforming {}", x.rule.id),
            SideVerdict::Unjudged(_) => f.write_str("unjudged"),
        }
    }
}

/// A rule one side departs from: what SPEC expects, and what came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule of the catalogue.
    pub rule: Rule,
    /// What SPEC expects.
    pub expected: String,
    /// What came.
    pub actual: String,
}

/// The request as the proxy saw it.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub(super) method: String,
    /// Path and query, as sent.
    pub(super) path: String,
    pub(super) authorization: Option<Vec<u8>>,
    pub(super) date: Option<Vec<u8>>,
    pub(super) content_type: Option<String>,
    /// The body, at most the profile's cap and one byte (so that a body over it shows as such).
    pub(super) body: Vec<u8>,
    /// Why the body is not whole, when it is not.
    pub(super) cut: Option<String>,
    pub(super) arrived: SystemTime,
}

impl Seen {
    /// The endpoint the path names (the query aside).
    pub(super) fn kind(&self) -> Option<RequestKind> {
        let path = self.path.split('?').next().unwrap_or_default();
        [RequestKind::Activation, RequestKind::Deactivation]
            .into_iter()
            .find(|k| k.path() == path)
    }
}

/// The upstream's part.
#[derive(Debug, Clone)]
pub(super) enum Upstream {
    /// An answer, whole (`cut: None`) or not.
    Answered { response: Response, cut: Option<String> },
    /// No answer: why.
    None(String),
    /// The client went away before the upstream answered: nothing to judge, nobody's fault.
    Abandoned(String),
}

/// Both sides of one exchange, judged.
#[derive(Debug, Clone)]
pub(super) struct Judged {
    pub(super) kind: Option<RequestKind>,
    pub(super) style: Option<Style>,
    pub(super) client: SideVerdict,
    pub(super) server: SideVerdict,
    /// What SPEC allows for the request, when it was worked out (a POST to an endpoint).
    pub(super) allowed: Option<Allowed>,
    /// The request, for reports, curl lines and the answer's echoes.
    pub(super) request: Prepared,
}

/// The rules that only say the API key is unknown: an API key the profile does not hold may well
/// be one the server knows.
const UNKNOWN_KEY: [&str; 2] = [rules::AUTH_UNKNOWN_API_KEY.id, rules::PAYLOAD_UNKNOWN_API_KEY.id];

/// Judges both sides of an exchange with the target described by `profile`, whose URL is
/// `upstream`.
pub(super) fn judge(seen: &Seen, upstream: &Upstream, profile: &Profile, base: &str) -> Judged {
    let decoded = decode_request(seen.content_type.as_deref(), &seen.body).ok();
    let request = prepared(seen, decoded.as_ref(), base);
    let style = decoded.as_ref().and_then(Style::of);
    let kind = seen.kind();
    let answer = match upstream {
        Upstream::Answered { response, cut: None } => Ok(response),
        Upstream::Answered { cut: Some(why), .. } => Err(format!("the answer did not come whole: {why}")),
        Upstream::None(why) => Err(format!("no answer: {why}")),
        Upstream::Abandoned(why) => Err(why.clone()),
    };
    let unjudged = |why: &str| Judged {
        kind,
        style,
        client: SideVerdict::Unjudged(why.to_owned()),
        server: SideVerdict::Unjudged(why.to_owned()),
        allowed: None,
        request: request.clone(),
    };
    let Some(kind) = kind else {
        return unjudged("not an endpoint of SPEC");
    };
    // A body cut after the cap of SPEC §3 is judged on what was kept: over the cap is what
    // decides its answer.
    let over_cap = seen.body.len() > profile.max_body;
    if let Some(why) = seen.cut.as_ref().filter(|_| !over_cap) {
        let mut judged = unjudged(&format!("the request's body did not come whole: {why}"));
        judged.server = answer.map_or_else(SideVerdict::Unjudged, |r| {
            form_only(r, "the request is not whole")
        });
        return judged;
    }
    let route = match kind {
        RequestKind::Activation => rules::ROUTE_ACTIVATE,
        RequestKind::Deactivation => rules::ROUTE_DEACTIVATE,
    };
    if seen.method != "POST" {
        // SPEC §1: the endpoints take POST; any other method is 405 method_not_allowed [pinned].
        let client = SideVerdict::Nonconforming(Finding {
            rule: route,
            expected: format!("POST {}", kind.path()),
            actual: format!("{} {}", seen.method, kind.path()),
        });
        let server = match &answer {
            Ok(r) => match judge::judge_error(&[ErrorCode::MethodNotAllowed], r) {
                Ok(()) => SideVerdict::Conforming,
                Err(m) => mismatched(m, rules::ROUTE_METHOD),
            },
            Err(why) => SideVerdict::Unjudged(why.clone()),
        };
        return Judged {
            kind: Some(kind),
            style,
            client,
            server,
            allowed: None,
            request,
        };
    }
    let allowed = of_request(
        profile,
        kind,
        Some((seen.authorization.as_deref(), seen.date.as_deref())),
        seen.content_type.as_deref(),
        Some(&seen.body),
        seen.arrived,
    );
    let unknown_key = unknown_key(seen, decoded.as_ref(), profile);
    let client = client_side(&allowed, unknown_key.as_deref());
    let server = match (&answer, &unknown_key) {
        (Err(why), _) => SideVerdict::Unjudged(why.clone()),
        (Ok(r), Some(why)) => form_only(r, why),
        (Ok(r), None) => server_side(&allowed, kind, r, &request, profile, style),
    };
    Judged {
        kind: Some(kind),
        style,
        client,
        server,
        allowed: Some(allowed),
        request,
    }
}

/// Why the signatures cannot be checked: the request names an API key (in its Authorization
/// header or its payload) that is not the profile's.
fn unknown_key(seen: &Seen, decoded: Option<&DecodedRequest>, profile: &Profile) -> Option<String> {
    let header = seen
        .authorization
        .as_deref()
        .and_then(|a| std::str::from_utf8(a).ok())
        .and_then(|a| AuthorizationHeader::parse(a).ok())
        .map(|h| h.api_key);
    let payload = decoded.and_then(|d| d.payload.api_key.clone());
    let known = profile.credentials.as_ref().map(|c| c.api_key.as_str());
    let stranger = header
        .iter()
        .chain(&payload)
        .find(|k| Some(k.as_str()) != known)?;
    Some(match known {
        None => "the profile has no credentials (--profile): the signatures are not checked".to_owned(),
        Some(_) => format!(
            "the profile has no shared key for the API key {stranger:?}: the signatures are not checked"
        ),
    })
}

/// The client's side: the rules of SPEC the request breaks. A rule whose breach servers MUST
/// refuse makes it nonconforming; one SPEC lets servers accept (SPEC §10) or a SHOULD rule, a
/// warning.
fn client_side(allowed: &Allowed, unknown_key: Option<&str>) -> SideVerdict {
    let broken: Vec<_> = allowed
        .broken
        .iter()
        .filter(|b| unknown_key.is_none() || !UNKNOWN_KEY.contains(&b.rule.id))
        .collect();
    let finding = |b: &crate::protocol::Broken| Finding {
        rule: b.rule,
        expected: format!("a request within SPEC {}: {}", b.rule.spec, b.rule.what),
        actual: match b.detail.as_str() {
            "" => format!(
                "a request that breaks it (the reference answers {} {})",
                b.code.status(),
                b.code.code()
            ),
            detail => format!(
                "a request that breaks it: {detail} (the reference answers {} {})",
                b.code.status(),
                b.code.code()
            ),
        },
    };
    let must = broken
        .iter()
        .find(|b| b.refuse.is_some_and(|r| r.severity() == Severity::Must));
    match (must, broken.first(), unknown_key) {
        (Some(b), ..) => SideVerdict::Nonconforming(finding(b)),
        (None, Some(b), _) => SideVerdict::Warning(finding(b)),
        (None, None, Some(why)) => SideVerdict::Unjudged(why.to_owned()),
        (None, None, None) => SideVerdict::Conforming,
    }
}

/// The rule a refused request that breaks no rule stands for: an official client's file is
/// accepted (SPEC §2–§4 [sdk]); otherwise the endpoint's own rule.
fn acceptance_rule(kind: RequestKind, style: Option<Style>) -> Rule {
    match (style, kind) {
        (Some(_), _) => rules::ANY_SDK_FILES_ACCEPTED,
        (None, RequestKind::Activation) => rules::ROUTE_ACTIVATE,
        (None, RequestKind::Deactivation) => rules::ROUTE_DEACTIVATE,
    }
}

/// A mismatch of `suite::judge` as a verdict, at the rule the judge names (else `fallback`).
fn mismatched(m: Mismatch, fallback: Rule) -> SideVerdict {
    let rule = m.rule.and_then(Rule::by_id).unwrap_or(fallback);
    let severity = m.severity_in(rule.severity());
    SideVerdict::at(
        severity,
        Finding {
            rule,
            expected: m.expected,
            actual: m.actual,
        },
    )
}

/// The server's side: the answer against the set SPEC allows for the request (SPEC §10), then its
/// form: the error body of SPEC §7, or the success answer of SPEC §6 with its echoes and
/// signatures (those the profile's keys can check).
fn server_side(
    allowed: &Allowed,
    kind: RequestKind,
    response: &Response,
    sent: &Prepared,
    profile: &Profile,
    style: Option<Style>,
) -> SideVerdict {
    let code = judge::error_code(response);
    let fallback = allowed
        .first()
        .map_or_else(|| acceptance_rule(kind, style), |b| b.rule);
    let fit = allowed.fit(response.status, code.as_deref());
    if fit == Fit::Outside {
        let rule = allowed
            .rule_at_stake(response.status, code.as_deref())
            .unwrap_or_else(|| acceptance_rule(kind, style));
        let finding = Finding {
            rule,
            expected: allowed.describe(),
            actual: judge::summarize(response),
        };
        return SideVerdict::at(rule.severity(), finding);
    }
    let refusals: Vec<ErrorCode> = std::iter::once(allowed.pinned)
        .chain(allowed.also.iter().copied())
        .filter_map(|a| match a {
            Answer::Refused(c) => Some(c),
            _ => None,
        })
        .collect();
    let form = if response.status == 200 {
        match kind {
            RequestKind::Activation => judge::judge_activated(response, sent, profile),
            RequestKind::Deactivation => judge::judge_deactivated(response),
        }
    } else if allowed.is_acceptance(response.status, code.as_deref()) {
        // A refusal of SPEC §5: its status and code fit (the oracle said so, with the latitude
        // SPEC gives some business statuses); its body is SPEC §7's.
        error_shape(response)
    } else if code
        .as_deref()
        .is_some_and(|c| refusals.iter().any(|r| r.accepted_codes().contains(&c)))
    {
        judge::judge_error(&refusals, response)
    } else {
        // SPEC §10: a 401 with any code (a server with OAuth refuses a token it did not issue).
        error_shape(response)
    };
    match form {
        Err(m) => mismatched(m, fallback),
        Ok(()) if fit == Fit::Allowed => SideVerdict::Warning(Finding {
            rule: fallback,
            expected: format!(
                "{}, the reference's answer (SPEC also allows this one)",
                allowed.pinned
            ),
            actual: judge::summarize(response),
        }),
        Ok(()) => SideVerdict::Conforming,
    }
}

/// SPEC §7's error body, whatever its code.
fn error_shape(response: &Response) -> Result<(), Mismatch> {
    let json = judge::is_json(response.content_type.as_deref());
    match ErrorBody::parse_with_more(&response.body, response.status) {
        Err(e) => Err(Mismatch::new(
            "{\"status\": <the HTTP status>, \"code\": …, \"message\": …} (SPEC §7)",
            format!("{}: {e}", judge::summarize(response)),
        )
        .at(match e {
            crate::protocol::ErrorShapeError::StatusDiffers { .. } => rules::ERROR_STATUS_MEMBER,
            crate::protocol::ErrorShapeError::Shape(_) => rules::ERROR_SHAPE,
        })),
        Ok(_) if !json => Err(Mismatch::new(
            "the error body with Content-Type: application/json (SPEC §7)",
            format!(
                "Content-Type: {}",
                response.content_type.as_deref().unwrap_or("(none)")
            ),
        )
        .at(rules::ERROR_SHAPE)),
        Ok((_, more)) if !more.is_empty() => Err(Mismatch::new(
            "the three members of SPEC §7",
            format!("also {} (clients ignore them)", more.join(", ")),
        )
        .at(rules::ERROR_EXTRA_MEMBERS)
        .allowed()),
        Ok(_) => Ok(()),
    }
}

/// What can be judged of an answer without knowing what the request deserved: never a 5xx
/// (SPEC §10), and an error body of SPEC §7's shape. The rest is unjudged, and says why.
fn form_only(response: &Response, why: &str) -> SideVerdict {
    if response.status >= 500 {
        return SideVerdict::Nonconforming(Finding {
            rule: rules::ANY_NO_SERVER_ERROR,
            expected: "an answer below 500".into(),
            actual: judge::summarize(response),
        });
    }
    if response.status >= 400 {
        if let Err(m) = error_shape(response) {
            return mismatched(m, rules::ERROR_SHAPE);
        }
    }
    SideVerdict::Unjudged(why.to_owned())
}

/// The request as the suite's reports show it (curl line, payload) and as `suite::judge` reads
/// the answer's echoes.
fn prepared(seen: &Seen, decoded: Option<&DecodedRequest>, base: &str) -> Prepared {
    let mut headers = Vec::new();
    for (name, value) in [
        ("Date", seen.date.as_deref()),
        ("Authorization", seen.authorization.as_deref()),
        ("Content-Type", seen.content_type.as_deref().map(str::as_bytes)),
    ] {
        if let Some(value) = value {
            headers.push((name.to_owned(), String::from_utf8_lossy(value).into_owned()));
        }
    }
    let payload = decoded.map(|d| &d.payload);
    // SPEC §10: an empty optional member may be taken as absent (the suite's requests read alike).
    let present = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    Prepared {
        method: seen.method.clone(),
        url: format!("{base}{}", seen.path),
        headers,
        no_accept: false,
        body: Some(seen.body.clone()),
        payload: decoded.map(|d| for_people(&d.json)),
        seat: None,
        request_id: payload.and_then(|p| present(&p.request_id)),
        hardware_id: payload.and_then(|p| present(&p.hardware_id)),
        licensee: payload.and_then(|p| present(&p.license_key).or_else(|| present(&p.username))),
    }
}
