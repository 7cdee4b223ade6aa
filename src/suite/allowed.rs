//! The oracle of allowed answers ([`protocol::allowed`](crate::protocol::allowed), SPEC §10) for
//! one target: what its profile says the server knows (its API key and shared key, its body cap).

use std::time::SystemTime;

use super::profile::Profile;
use super::render::Prepared;
use crate::protocol::{allowed, Allowed, OracleRequest, RequestKind, SentHeaders, ServerKnows};

/// The answers SPEC allows to a request of `kind` on the target of `profile`; `headers` are the
/// `Authorization` and `Date` headers as sent (`None`: the body alone is judged).
pub(crate) fn of_request(
    profile: &Profile,
    kind: RequestKind,
    headers: Option<SentHeaders<'_>>,
    content_type: Option<&str>,
    body: Option<&[u8]>,
    now: SystemTime,
) -> Allowed {
    let known = profile.credentials.as_ref();
    let shared_key_of = |key: &str| known.filter(|c| c.api_key == key).map(|c| c.shared_key.clone());
    let server = ServerKnows {
        max_body: profile.max_body,
        shared_key_of: &shared_key_of,
    };
    let request = OracleRequest {
        kind,
        headers,
        now,
        content_type,
        body,
    };
    allowed(&request, &server)
}

/// The answers SPEC allows to a prepared request: `None` when it is not a POST to one of the two
/// endpoints (route and method come first, SPEC §1a, and have one answer each).
pub(crate) fn of_prepared(profile: &Profile, sent: &Prepared, now: SystemTime) -> Option<Allowed> {
    let path = sent.url.strip_prefix(&profile.base_url)?;
    let kind = [RequestKind::Activation, RequestKind::Deactivation]
        .into_iter()
        .find(|k| k.path() == path)?;
    if sent.method != "POST" {
        return Some(crate::protocol::wrong_method(kind));
    }
    let header = |name: &str| {
        sent.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    Some(of_request(
        profile,
        kind,
        Some((
            header("Authorization").map(str::as_bytes),
            header("Date").map(str::as_bytes),
        )),
        header("Content-Type"),
        sent.body.as_deref(),
        now,
    ))
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::of_prepared;
    use crate::protocol::{Answer, ErrorCode, Fit};
    use crate::suite::catalogue::{all, Case};
    use crate::suite::profile::Profile;
    use crate::suite::render::prepare;

    /// Every data case's expectation is the oracle's pinned answer for the bytes it sends: the case
    /// files and the oracle (SPEC §10) say the same thing, so a case cannot drift from the rule.
    #[test]
    fn every_data_case_expects_the_pinned_answer_of_the_oracle() {
        let profile = Profile::reference("http://127.0.0.1:9");
        let now = SystemTime::now();
        let mut disagree = Vec::new();
        let mut judged = 0;
        for case in all().expect("the case files are valid") {
            let Case::Data(data) = &case else { continue };
            let Ok(sent) = prepare(data, &profile, now) else {
                continue;
            };
            let Some(allowed) = of_prepared(&profile, &sent, now) else {
                continue;
            };
            judged += 1;
            let codes = data.expect.error_codes().expect("known codes");
            let business = ErrorCode::business(data.request.endpoint.kind());
            let agrees = match codes.as_slice() {
                [] => allowed.pinned == Answer::Accepted,
                codes if codes.iter().all(|c| business.contains(c)) => allowed.pinned == Answer::Accepted,
                codes => codes
                    .iter()
                    .any(|c| allowed.fit(c.status(), Some(c.code())) == Fit::Pinned),
            };
            if !agrees {
                disagree.push(format!(
                    "{}: expects {:?}, the oracle pins {}",
                    data.id,
                    codes,
                    allowed.describe()
                ));
            }
        }
        assert!(judged > 100, "only {judged} cases judged");
        assert!(disagree.is_empty(), "{disagree:#?}");
    }
}

#[cfg(test)]
mod isolation {
    use std::collections::BTreeSet;
    use std::time::SystemTime;

    use super::of_prepared;
    use crate::protocol::{Answer, ErrorCode};
    use crate::suite::case::{DataCase, PayloadTemplate, RequestTemplate};
    use crate::suite::catalogue::{all, Case};
    use crate::suite::profile::Profile;
    use crate::suite::render::{prepare_template, Skip};

    /// Cases that break two rules on purpose, and why.
    const SEVERAL_RULES: &[(&str, &str)] = &[
        (
            "envelope/date-before-a-bad-body",
            "the order of two broken rules (SPEC §1a) is what it checks",
        ),
        (
            "auth/algorithm-before-unknown-api-key",
            "the order of two defects of the Authorization header (SPEC §2, [pinned]) is what it \
             checks; either refusal conforms (SPEC §10)",
        ),
    ];

    /// The case's request without its defect: the same endpoint, license, device, product, layout
    /// and payload date; the default headers, signatures and body; its extra members only where an
    /// edit changes them.
    fn without_the_defect(t: &RequestTemplate) -> RequestTemplate {
        let p = &t.payload;
        let mut twin = RequestTemplate {
            endpoint: t.endpoint,
            ..RequestTemplate::default()
        };
        twin.payload = PayloadTemplate {
            // A case without a license tests the missing member: the twin names the default one.
            license: p
                .license
                .clone()
                .or_else(|| p.license_key.is_none().then(|| "perpetual".to_owned())),
            license_key: p.license_key.clone(),
            hardware_id: p.hardware_id.clone(),
            product: p.product.clone(),
            style: p.style.clone(),
            date: p.date.clone(),
            fields: if t.body.edit.is_some() {
                p.fields.clone()
            } else {
                Default::default()
            },
            ..PayloadTemplate::default()
        };
        twin.body.transport = t
            .body
            .transport
            .clone()
            .filter(|tr| tr == "raw" || tr == "multipart");
        twin
    }

    fn error_cases() -> Vec<DataCase> {
        all()
            .expect("the case files are valid")
            .into_iter()
            .filter_map(|c| match c {
                Case::Data(d) => Some(*d),
                Case::Check(_) => None,
            })
            .filter(|d| {
                let codes = d.expect.error_codes().unwrap_or_default();
                let business = ErrorCode::business(d.request.endpoint.kind());
                !codes.is_empty() && !codes.iter().all(|c| business.contains(c))
            })
            .collect()
    }

    /// SPEC §10 / issue "checks with teeth": an error case breaks one rule only, so that a server
    /// lacking that rule is not saved by another one.
    #[test]
    fn every_error_case_breaks_one_rule_only() {
        let profile = Profile::reference("http://127.0.0.1:9");
        let now = SystemTime::now();
        let mut several = Vec::new();
        let mut judged = 0;
        for case in error_cases() {
            // The reference profile has every role and key: a case that does not prepare, or
            // that the oracle cannot judge (another path than the endpoints'), says so.
            let sent = match prepare_template(&case.request, &case.expect, &profile, now) {
                Ok(sent) => sent,
                Err(Skip(why)) => {
                    several.push(format!("{}: does not prepare: {why}", case.id));
                    continue;
                }
            };
            let Some(allowed) = of_prepared(&profile, &sent, now) else {
                assert!(case.request.path.is_some(), "{}: the oracle judges it", case.id);
                continue;
            };
            judged += 1;
            let rules: BTreeSet<&str> = allowed.broken.iter().map(|b| b.rule.id).collect();
            // A case and its twin on deactivate_offline (catalogue::on_deactivate).
            let twin = |id: &str| format!("deactivate/{}", id.replace('/', "-"));
            let exempt = SEVERAL_RULES
                .iter()
                .any(|(id, _)| *id == case.id || twin(id) == case.id);
            if rules.len() != 1 && !exempt {
                several.push(format!("{}: {rules:?}", case.id));
            }
            // And the rule that decides its answer is one the case says it tests.
            if let Some(first) = allowed
                .first()
                .filter(|b| !case.rules.iter().any(|id| id == b.rule.id))
            {
                several.push(format!(
                    "{} (citing {:?}) is refused for a rule it does not cite: {} ({})",
                    case.id, case.rules, first.rule.id, first.rule.what
                ));
            }
        }
        assert!(judged >= 120, "only {judged} error cases judged");
        assert!(
            several.is_empty(),
            "cases that break other rules than theirs: {several:#?}"
        );
    }

    /// A case is a request that would be accepted but for its one defect: the same request
    /// without it is accepted (up to SPEC §5) by the oracle the reference server follows.
    #[test]
    fn every_error_case_is_accepted_without_its_defect() {
        let profile = Profile::reference("http://127.0.0.1:9");
        let now = SystemTime::now();
        let mut judged = 0;
        let mut refused = Vec::new();
        for case in error_cases() {
            let literal = case.request.body.literal.is_some()
                || case.request.body.literal_base64.is_some()
                || case.request.body.json.is_some();
            if literal || case.request.path.is_some() || case.request.method.is_some() {
                continue;
            }
            let twin = without_the_defect(&case.request);
            let expect = Default::default();
            let sent = match prepare_template(&twin, &expect, &profile, now) {
                Ok(sent) => sent,
                Err(Skip(why)) => {
                    refused.push(format!("{}: its twin does not prepare: {why}", case.id));
                    continue;
                }
            };
            let allowed = of_prepared(&profile, &sent, now).expect("a POST to an endpoint");
            judged += 1;
            if allowed.pinned != Answer::Accepted {
                refused.push(format!("{}: {}", case.id, allowed.describe()));
            }
        }
        assert!(judged > 40, "only {judged} cases judged");
        assert!(
            refused.is_empty(),
            "cases whose request is refused even without their defect: {refused:#?}"
        );
    }
}
