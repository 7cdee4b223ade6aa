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
        return None;
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
