//! Checks that data cannot say: several requests with state between them, concurrency, sizes.
//! Each one quotes the rule it checks.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::case::{Endpoint, Expectation, RequestTemplate, Rule};
use super::http::{Client, Response};
use super::judge::{self, Mismatch};
use super::profile::Profile;
use super::render::{prepare_template, seat_request, LicenseRef, Prepared, Skip};
use crate::protocol::{rules, ErrorCode};

/// What a check needs from a run.
pub struct Context {
    /// The target.
    pub profile: Profile,
    /// The HTTP client.
    pub client: Client,
    /// Where the time is read (the run's [`RunOptions::clock`](super::RunOptions::clock)).
    pub clock: crate::Clock,
}

/// How a check ended, short of passing.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The target answered otherwise; the request that showed it.
    Mismatch(Mismatch, Option<Box<Prepared>>),
    /// The check could not run (no answer, the set-up failed).
    Error(String, Option<Box<Prepared>>),
    /// The profile lacks what the check needs.
    Skip(String),
}

impl From<Skip> for Failure {
    fn from(Skip(reason): Skip) -> Self {
        Failure::Skip(reason)
    }
}

type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Failure>> + Send + 'a>>;

/// A check written in Rust.
pub struct Check {
    /// The immutable slug.
    pub id: &'static str,
    /// The rules of the catalogue it tests, the one that sets its section, tag and severity first.
    pub rules: &'static [Rule],
    /// The endpoint whose rules it tests.
    pub endpoint: Endpoint,
    /// One line.
    pub title: &'static str,
    /// Runs it.
    pub run: for<'a> fn(&'a Context) -> CheckFuture<'a>,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

/// Every check.
pub static ALL: &[Check] = &[
    Check {
        id: "state/reactivation-keeps-its-seat",
        rules: &[rules::BUSINESS_REACTIVATION, rules::ANSWER_TIMES_ACTIVATED],
        endpoint: Endpoint::Activate,
        title: "The same hardware id activated again is a 200 with the same license, no extra seat",
        run: |cx| Box::pin(reactivation_keeps_its_seat(cx)),
    },
    Check {
        id: "state/request-id-replay",
        rules: &[rules::BUSINESS_REQUEST_ID_REPLAY],
        endpoint: Endpoint::Activate,
        title: "The same request_id and payload again: the same answer and no extra seat",
        run: |cx| Box::pin(request_id_replay(cx)),
    },
    Check {
        id: "state/request-id-conflict",
        rules: &[rules::BUSINESS_REQUEST_ID_CONFLICT],
        endpoint: Endpoint::Activate,
        title: "The same request_id with another payload is 409 request_id_conflict",
        run: |cx| Box::pin(request_id_conflict(cx)),
    },
    Check {
        id: "state/deactivate-frees-the-seat",
        rules: &[rules::DEACTIVATE_FREES_SEAT, rules::DEACTIVATE_DEVICE_NOT_FOUND],
        endpoint: Endpoint::Deactivate,
        title: "deactivate_offline frees the device's seat; deactivating it again finds no device",
        run: |cx| Box::pin(deactivate_frees_the_seat(cx)),
    },
    Check {
        id: "state/a-freed-seat-is-free-for-another-device",
        rules: &[
            rules::DEACTIVATE_FREES_SEAT,
            rules::BUSINESS_SEATS_FULL,
            rules::ANSWER_TIMES_ACTIVATED,
        ],
        endpoint: Endpoint::Deactivate,
        title: "A seat freed by deactivate_offline on a full license activates another device",
        run: |cx| Box::pin(a_freed_seat_is_free_for_another_device(cx)),
    },
    Check {
        id: "state/seat-race",
        rules: &[rules::BUSINESS_SEATS_CONCURRENT, rules::BUSINESS_SEATS_FULL],
        endpoint: Endpoint::Activate,
        title: "N simultaneous activations of a license with k free seats give exactly k successes",
        run: |cx| Box::pin(seat_race(cx)),
    },
    Check {
        id: "envelope/body-over-the-cap",
        rules: &[rules::BODY_CAP],
        endpoint: Endpoint::Activate,
        title: "A body over the server's cap is refused with 413 payload_too_large, before any decoding",
        run: |cx| Box::pin(body_over_the_cap(cx, Endpoint::Activate)),
    },
    Check {
        id: "envelope/body-within-the-cap",
        rules: &[rules::BODY_WITHIN_CAP, rules::BASE64_WHITESPACE],
        endpoint: Endpoint::Activate,
        title: "A valid request file as large as the server's declared cap is read and activated",
        run: |cx| Box::pin(body_within_the_cap(cx, Endpoint::Activate)),
    },
    Check {
        id: "deactivate/body-over-the-cap",
        rules: &[rules::BODY_CAP],
        endpoint: Endpoint::Deactivate,
        title: "deactivate_offline: a body over the server's cap is refused with 413 payload_too_large",
        run: |cx| Box::pin(body_over_the_cap(cx, Endpoint::Deactivate)),
    },
    Check {
        id: "deactivate/body-within-the-cap",
        rules: &[rules::BODY_WITHIN_CAP, rules::BASE64_WHITESPACE],
        endpoint: Endpoint::Deactivate,
        title: "deactivate_offline: a valid request file as large as the declared cap is read",
        run: |cx| Box::pin(body_within_the_cap(cx, Endpoint::Deactivate)),
    },
    Check {
        id: "state/request-id-first",
        rules: &[
            rules::BUSINESS_REQUEST_ID_FIRST,
            rules::BUSINESS_REQUEST_ID_REPLAY,
        ],
        endpoint: Endpoint::Activate,
        title: "A request_id handled before gets its stored answer even after the license filled up",
        run: |cx| Box::pin(request_id_first(cx)),
    },
    Check {
        id: "state/deactivation-spares-other-licenses",
        rules: &[
            rules::DEACTIVATE_OTHER_LICENSE_UNTOUCHED,
            rules::DEACTIVATE_DEVICE_NOT_FOUND,
        ],
        endpoint: Endpoint::Deactivate,
        title: "Deactivating a device on a license where it holds no seat frees no seat of another license",
        run: |cx| Box::pin(deactivation_spares_other_licenses(cx)),
    },
];

/// A correctly signed request of `endpoint` for `role` from `hardware_id`.
fn request(cx: &Context, endpoint: Endpoint, role: &str, hardware_id: &str) -> Result<Prepared, Skip> {
    seat_request(
        &cx.profile,
        endpoint,
        LicenseRef::Role(role),
        hardware_id,
        cx.clock.now(),
    )
}

fn device() -> String {
    format!("lsconform-{}", uuid::Uuid::new_v4())
}

async fn send(cx: &Context, request: &Prepared) -> Result<Response, Failure> {
    cx.client
        .send(request)
        .await
        .map_err(|e| Failure::Error(e.to_string(), Some(Box::new(request.clone()))))
}

fn fail(m: Mismatch, request: &Prepared) -> Failure {
    Failure::Mismatch(m, Some(Box::new(request.clone())))
}

fn needs_deactivation(cx: &Context) -> Result<(), Failure> {
    if cx.profile.supports_deactivation {
        Ok(())
    } else {
        Err(Failure::Skip(
            "needs supports_deactivation = true (it takes seats it must give back)".into(),
        ))
    }
}

/// Takes a seat as the set-up of a check: a 200 is all it needs (what the answer says is for the
/// activation cases to judge); a refusal is an error of the check, which cannot run.
async fn take_seat(cx: &Context, role: &str, hardware_id: &str) -> Result<(Prepared, Response), Failure> {
    let r = request(cx, Endpoint::Activate, role, hardware_id)?;
    let answer = send(cx, &r).await?;
    if answer.status != 200 {
        return Err(Failure::Error(
            format!("set-up: activating {role} refused: {}", judge::summarize(&answer)),
            Some(Box::new(r)),
        ));
    }
    Ok((r, answer))
}

/// Gives a seat back as the clean-up of a check: a 200 is all it needs.
async fn give_back(cx: &Context, role: &str, hardware_id: &str) -> Result<(), Failure> {
    let r = request(cx, Endpoint::Deactivate, role, hardware_id)?;
    let answer = send(cx, &r).await?;
    if answer.status != 200 {
        return Err(Failure::Error(
            format!(
                "clean-up: deactivating {role} refused: {}",
                judge::summarize(&answer)
            ),
            Some(Box::new(r)),
        ));
    }
    Ok(())
}

/// Gives back every seat of `devices`, trying each; the first clean-up error, if any. A check
/// returns its outcome first (`outcome.and(give_back_all(…))`): a seat a faulty server lost is
/// no reason to hide why the check failed.
async fn give_back_all(cx: &Context, role: &str, devices: &[String]) -> Result<(), Failure> {
    let mut first = Ok(());
    for hw in devices {
        let r = give_back(cx, role, hw).await;
        if first.is_ok() {
            first = r;
        }
    }
    first
}

async fn deactivate(cx: &Context, role: &str, hardware_id: &str) -> Result<Response, Failure> {
    let r = request(cx, Endpoint::Deactivate, role, hardware_id)?;
    let answer = send(cx, &r).await?;
    judge::judge_deactivated(&answer).map_err(|m| fail(m, &r))?;
    Ok(answer)
}

fn times_activated(answer: &Response) -> Option<u64> {
    serde_json::from_slice::<serde_json::Value>(&answer.body)
        .ok()?
        .get("times_activated")?
        .as_u64()
}

/// SPEC §5.4: "The same hardware id already active on this license → 200 with the same license,
/// no extra seat [pinned]. Otherwise, seats full → 400 `license_activated_max_times`." With the
/// limited license, its seats are filled first, so a re-activation that took a seat is refused.
async fn reactivation_keeps_its_seat(cx: &Context) -> Result<(), Failure> {
    needs_deactivation(cx)?;
    let (role, fill) = match &cx.profile.limited {
        Some((_, free)) => ("limited", *free),
        None => ("perpetual", 1),
    };
    let devices: Vec<String> = (0..fill.max(1)).map(|_| device()).collect();
    let mut taken = Vec::new();
    let mut first = None;
    let mut outcome = Ok(());
    for hw in &devices {
        match take_seat(cx, role, hw).await {
            Ok((_, answer)) => {
                first.get_or_insert(answer);
                taken.push(hw.clone());
            }
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    if outcome.is_ok() {
        let again = request(cx, Endpoint::Activate, role, &devices[0])?;
        let second = send(cx, &again).await?;
        let last_count = first
            .as_ref()
            .and_then(times_activated)
            .map(|n| n + taken.len() as u64 - 1);
        outcome = judge::judge_activated(&second, &again, &cx.profile)
            .map_err(|m| fail(m, &again))
            .and_then(|()| match (last_count, times_activated(&second)) {
                (Some(a), Some(b)) if a == b => Ok(()),
                // SPEC §6 [docs]: the seats taken after the request, this device's included.
                (a, b) => Err(fail(
                    Mismatch::new(
                        format!("times_activated {a:?} again"),
                        format!("times_activated {b:?}"),
                    )
                    .at(rules::ANSWER_TIMES_ACTIVATED),
                    &again,
                )),
            });
    }
    outcome.and(give_back_all(cx, role, &taken).await)
}

/// SPEC §5.5: "The same request_id handled before: the same payload → the same answer and no
/// extra seat [pinned, safety]." The replay comes more than a second later, so an answer made
/// afresh (a server that does not remember the request and activates again) differs in its `date`.
async fn request_id_replay(cx: &Context) -> Result<(), Failure> {
    needs_deactivation(cx)?;
    let hw = device();
    let (sent, first) = take_seat(cx, "perpetual", &hw).await?;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let replay = send(cx, &sent).await?;
    let as_json = |r: &Response| serde_json::from_slice::<serde_json::Value>(&r.body).ok();
    let result = judge::judge_activated(&replay, &sent, &cx.profile)
        .map_err(|m| fail(m, &sent))
        .and_then(|()| {
            let (before, again) = (as_json(&first), as_json(&replay));
            if before == again {
                return Ok(());
            }
            let differ: Vec<String> = match (&before, &again) {
                (Some(serde_json::Value::Object(a)), Some(serde_json::Value::Object(b))) => a
                    .keys()
                    .chain(b.keys())
                    .filter(|k| a.get(*k) != b.get(*k))
                    .map(|k| {
                        let shown = |v: Option<&serde_json::Value>| match v {
                            None => "absent".to_owned(),
                            // Signatures differ with the rest; their text tells nothing more.
                            Some(_) if k.contains("signature") => "…".to_owned(),
                            Some(v) => v.to_string(),
                        };
                        format!("{k}: {} then {}", shown(a.get(k)), shown(b.get(k)))
                    })
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                _ => vec!["the body".into()],
            };
            Err(fail(
                Mismatch::new(
                    "the same answer to the same request_id and payload",
                    differ.join("; "),
                ),
                &sent,
            ))
        });
    give_back(cx, "perpetual", &hw).await?;
    result
}

/// SPEC §5.5: "a different payload → 409 `request_id_conflict` [pinned, safety]."
async fn request_id_conflict(cx: &Context) -> Result<(), Failure> {
    needs_deactivation(cx)?;
    let hw = device();
    let (sent, _) = take_seat(cx, "perpetual", &hw).await?;
    let other_hw = device();
    let mut template = RequestTemplate::default();
    template.payload.hardware_id = Some(other_hw.clone());
    template.payload.set.insert(
        "request_id".into(),
        serde_json::Value::from(sent.request_id.clone().unwrap_or_default()),
    );
    let expect = Expectation {
        error: Some("request_id_conflict".into()),
        ..Expectation::default()
    };
    let conflicting = prepare_template(&template, &expect, &cx.profile, cx.clock.now())?;
    let answer = send(cx, &conflicting).await?;
    let result =
        judge::judge_error(&[ErrorCode::RequestIdConflict], &answer).map_err(|m| fail(m, &conflicting));
    give_back(cx, "perpetual", &hw).await?;
    if answer.status == 200 {
        // The conflicting request took a seat: give it back too.
        give_back(cx, "perpetual", &other_hw).await?;
    }
    result
}

/// SPEC §5: "otherwise the seat is freed (durably) and the answer is 200 `license_deactivated`. A
/// freed seat is free for any device." The limited license is filled, one more device is refused
/// (so it is full), one device is deactivated, and the one more device then activates.
async fn a_freed_seat_is_free_for_another_device(cx: &Context) -> Result<(), Failure> {
    needs_deactivation(cx)?;
    let Some((_, free)) = cx.profile.limited.clone() else {
        return Err(Failure::Skip(
            "needs licenses.limited = { key, free_seats } in the profile".into(),
        ));
    };
    let mut taken = Vec::new();
    let outcome = async {
        let mut full = None;
        for k in 1..=free {
            let hw = device();
            let (sent, answer) = take_seat(cx, "limited", &hw).await?;
            taken.push(hw);
            // SPEC §6 [docs]: times_activated is the seats taken after the request: of the
            // license's max_activations, `free` were free before the first of these.
            let max = serde_json::from_slice::<serde_json::Value>(&answer.body)
                .ok()
                .and_then(|a| a.get("max_activations")?.as_u64());
            let count = times_activated(&answer);
            let expected = max.map(|m| (m + k as u64).saturating_sub(free as u64));
            if expected.is_none() || count != expected {
                return Err(fail(
                    Mismatch::new(
                        format!(
                            "times_activated {expected:?}: max_activations {max:?} less the {free} free \
                             seats, plus the {k} taken"
                        ),
                        format!("times_activated {count:?}"),
                    )
                    .at(rules::ANSWER_TIMES_ACTIVATED),
                    &sent,
                ));
            }
            full = count;
        }
        let newcomer = device();
        let refused = request(cx, Endpoint::Activate, "limited", &newcomer)?;
        let answer = send(cx, &refused).await?;
        if answer.status == 200 {
            taken.push(newcomer.clone());
        }
        judge::judge_error(&[ErrorCode::LicenseActivatedMaxTimes], &answer).map_err(|m| fail(m, &refused))?;
        let Some(leaving) = taken.pop() else {
            return Err(Failure::Error(
                "the limited license has no free seat to fill".into(),
                None,
            ));
        };
        deactivate(cx, "limited", &leaving).await?;
        let again = request(cx, Endpoint::Activate, "limited", &newcomer)?;
        let answer = send(cx, &again).await?;
        if answer.status == 200 {
            taken.push(newcomer);
        }
        judge::judge_activated(&answer, &again, &cx.profile).map_err(|m| fail(m, &again))?;
        // SPEC §6: times_activated counts the seats taken after the request: full again.
        match times_activated(&answer) {
            n if n == full => Ok(()),
            n => Err(fail(
                Mismatch::new(
                    format!("times_activated {full:?} again: the freed seat taken by another device"),
                    format!("times_activated {n:?}"),
                )
                .at(rules::ANSWER_TIMES_ACTIVATED),
                &again,
            )),
        }
    }
    .await;
    outcome.and(give_back_all(cx, "limited", &taken).await)
}

/// SPEC §1: deactivate_offline "answers 200 with the plain text `license_deactivated`" and frees
/// the seat (SPEC §5 [docs]: another device taking a seat then counts the seats of before); a
/// device without a seat is `device_not_found` [pinned].
async fn deactivate_frees_the_seat(cx: &Context) -> Result<(), Failure> {
    needs_deactivation(cx)?;
    let (hw, newcomer) = (device(), device());
    let (_, first) = take_seat(cx, "perpetual", &hw).await?;
    deactivate(cx, "perpetual", &hw).await?;
    // The checks run one by one, so no other request takes a seat of this license meanwhile.
    let (next, answer) = take_seat(cx, "perpetual", &newcomer).await?;
    let freed = match (times_activated(&first), times_activated(&answer)) {
        (Some(a), Some(b)) if a == b => Ok(()),
        (a, b) => Err(fail(
            Mismatch::new(
                format!("times_activated {a:?} for another device once the first one's seat was freed"),
                format!("times_activated {b:?}: the seat was not freed (or the count is not of seats)"),
            )
            .at(rules::DEACTIVATE_FREES_SEAT),
            &next,
        )),
    };
    give_back(cx, "perpetual", &newcomer).await?;
    freed?;
    let again = request(cx, Endpoint::Deactivate, "perpetual", &hw)?;
    let answer = send(cx, &again).await?;
    // The code for a device without a seat is [pinned]: another answer is a warning (a 5xx stays
    // a failure).
    judge::judge_error(&[ErrorCode::DeviceNotFound], &answer)
        .map_err(|m| fail(m.allowed().or_at(rules::DEACTIVATE_DEVICE_NOT_FOUND), &again))
}

/// Contenders in each round of the seat race, and rounds.
const CONTENDERS: usize = 32;
const ROUNDS: usize = 3;

/// SPEC §5.4: "The limit MUST hold under concurrent requests: N simultaneous activations of a
/// license with k free seats give exactly k successes [safety]."
async fn seat_race(cx: &Context) -> Result<(), Failure> {
    needs_deactivation(cx)?;
    let Some((_, free)) = cx.profile.limited.clone() else {
        return Err(Failure::Skip(
            "needs licenses.limited = { key, free_seats } in the profile".into(),
        ));
    };
    // The set-up: the license has a free seat (earlier checks gave theirs back).
    let probe = device();
    take_seat(cx, "limited", &probe).await?;
    give_back(cx, "limited", &probe).await?;
    for round in 1..=ROUNDS {
        let requests: Vec<Prepared> = (0..CONTENDERS)
            .map(|_| request(cx, Endpoint::Activate, "limited", &device()))
            .collect::<Result<_, _>>()?;
        let barrier = Arc::new(tokio::sync::Barrier::new(CONTENDERS));
        let tasks: Vec<_> = requests
            .into_iter()
            .map(|r| {
                let (client, barrier) = (cx.client.clone(), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    let answer = client.send(&r).await;
                    (r, answer)
                })
            })
            .collect();
        let mut winners = Vec::new();
        let mut refused = 0;
        let mut other: BTreeMap<String, usize> = BTreeMap::new();
        let mut no_answer: BTreeMap<String, usize> = BTreeMap::new();
        for task in tasks {
            let (r, answer) = task
                .await
                .map_err(|e| Failure::Error(format!("a contender died: {e}"), None))?;
            match answer {
                Ok(a) if a.status == 200 => winners.push(r),
                // The refusal by its status and code (an alias counts): the form of an error body
                // is the error cases' to judge.
                Ok(a)
                    if ErrorCode::LicenseActivatedMaxTimes
                        .accepted_statuses()
                        .contains(&a.status)
                        && judge::error_code(&a).is_some_and(|c| {
                            ErrorCode::LicenseActivatedMaxTimes
                                .accepted_codes()
                                .contains(&c.as_str())
                        }) =>
                {
                    refused += 1
                }
                Ok(a) => *other.entry(judge::summarize(&a)).or_default() += 1,
                Err(e) => *no_answer.entry(e.to_string()).or_default() += 1,
            }
        }
        for w in &winners {
            if let Some(hw) = &w.hardware_id {
                give_back(cx, "limited", hw).await?;
            }
        }
        let counted = |m: &BTreeMap<String, usize>| {
            m.iter()
                .map(|(what, n)| format!("{n} × {what}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        if !no_answer.is_empty() {
            return Err(Failure::Error(
                format!("round {round}: {}", counted(&no_answer)),
                None,
            ));
        }
        if winners.len() != free || !other.is_empty() {
            let mut actual = format!(
                "round {round}: {} successes, {refused} license_activated_max_times",
                winners.len()
            );
            if !other.is_empty() {
                actual.push_str(&format!(", and {}", counted(&other)));
            }
            return Err(Failure::Mismatch(
                Mismatch::new(
                    format!(
                        "{free} successes and {} license_activated_max_times of {CONTENDERS}",
                        CONTENDERS - free
                    ),
                    actual,
                ),
                winners.first().cloned().map(Box::new),
            ));
        }
    }
    Ok(())
}

/// SPEC §3: "a body within the cap the server declares (the target profile's `max_body`) MUST be
/// read": a valid request file padded with whitespace (ignored, SPEC §3) to exactly the cap; on
/// deactivate_offline, for a device activated first (SPEC §5: the same envelope).
async fn body_within_the_cap(cx: &Context, endpoint: Endpoint) -> Result<(), Failure> {
    needs_deactivation(cx)?;
    let hw = device();
    if endpoint == Endpoint::Deactivate {
        take_seat(cx, "perpetual", &hw).await?;
    }
    let mut r = request(cx, endpoint, "perpetual", &hw)?;
    let mut body = r.body.take().unwrap_or_default();
    body.resize(cx.profile.max_body, b'\n');
    r.body = Some(body);
    let answer = send(cx, &r).await?;
    let result = match endpoint {
        Endpoint::Activate => judge::judge_activated(&answer, &r, &cx.profile),
        Endpoint::Deactivate => judge::judge_deactivated(&answer),
    }
    .map_err(|m| fail(m, &r));
    // The device holds a seat: activated and accepted, or activated first and not deactivated.
    let holds_seat = (answer.status == 200) == (endpoint == Endpoint::Activate);
    if holds_seat {
        give_back(cx, "perpetual", &hw).await?;
    }
    result
}

/// SPEC §3: "the body is capped while it streams in (default 64 KiB, configurable) → 413
/// `payload_too_large` [pinned, safety]", and SPEC §1a puts the cap before everything but the route.
async fn body_over_the_cap(cx: &Context, endpoint: Endpoint) -> Result<(), Failure> {
    let mut r = request(cx, endpoint, "perpetual", &device())?;
    // Whitespace is ignored in a request file (SPEC §3), so only the size is wrong.
    let mut body = r.body.take().unwrap_or_default();
    body.resize(cx.profile.max_body + 1, b'\n');
    r.body = Some(body);
    let answer = send(cx, &r).await?;
    let result = judge::judge_error(&[ErrorCode::PayloadTooLarge], &answer).map_err(|m| fail(m, &r));
    if answer.status == 200 && endpoint == Endpoint::Activate && cx.profile.supports_deactivation {
        // The server took the oversized file and a seat with it: give the seat back.
        if let Some(hw) = &r.hardware_id {
            give_back(cx, "perpetual", hw).await?;
        }
    }
    result
}

/// SPEC §5.5: the request_id check "comes first among the business rules (before rule 1), so that
/// a client retrying after a lost answer gets the stored answer even if the license changed since
/// [pinned]". On the limited license: a device activates (the answer kept), is deactivated, the
/// license is filled by other devices, and the first request comes again: its stored answer, not
/// `license_activated_max_times`.
async fn request_id_first(cx: &Context) -> Result<(), Failure> {
    needs_deactivation(cx)?;
    let Some((_, free)) = cx.profile.limited.clone() else {
        return Err(Failure::Skip(
            "needs licenses.limited = { key, free_seats } in the profile".into(),
        ));
    };
    let first_device = device();
    let (sent, first) = take_seat(cx, "limited", &first_device).await?;
    give_back(cx, "limited", &first_device).await?;
    let mut taken = Vec::new();
    let outcome = async {
        for _ in 0..free {
            let hw = device();
            take_seat(cx, "limited", &hw).await?;
            taken.push(hw);
        }
        let replay = send(cx, &sent).await?;
        let expected =
            "the stored answer to the request_id (200, as first given), though the license is full since";
        judge::server_error(expected, &replay).map_err(|m| fail(m, &sent))?;
        let as_json = |r: &Response| serde_json::from_slice::<serde_json::Value>(&r.body).ok();
        if replay.status == 200 && as_json(&replay) == as_json(&first) {
            return Ok(());
        }
        Err(fail(Mismatch::new(expected, judge::summarize(&replay)), &sent))
    }
    .await;
    let cleaned = give_back_all(cx, "limited", &taken).await;
    // A server that let the replay take a seat over the limit: the seat goes back (a server that
    // did not answers device_not_found, which is right).
    let again = request(cx, Endpoint::Deactivate, "limited", &first_device)?;
    let _ = send(cx, &again).await;
    outcome.and(cleaned)
}

/// SPEC §5: "the hardware id holds no seat on that license → 400 `device_not_found` [pinned; that
/// no seat of another license is freed is safety]". A device fills the limited license with
/// others, then asks deactivate_offline to free it on the perpetual license, where it holds no
/// seat; the limited license must still be full.
async fn deactivation_spares_other_licenses(cx: &Context) -> Result<(), Failure> {
    needs_deactivation(cx)?;
    let Some((_, free)) = cx.profile.limited.clone() else {
        return Err(Failure::Skip(
            "needs licenses.limited = { key, free_seats } in the profile".into(),
        ));
    };
    let mut taken = Vec::new();
    let outcome = async {
        for _ in 0..free {
            let hw = device();
            take_seat(cx, "limited", &hw).await?;
            taken.push(hw);
        }
        let Some(holder) = taken.first().cloned() else {
            return Err(Failure::Error(
                "the limited license has no free seat to fill".into(),
                None,
            ));
        };
        // The license is full first (SPEC §5.4), so what follows tells a freed seat apart.
        let first_probe = device();
        let full = request(cx, Endpoint::Activate, "limited", &first_probe)?;
        let answer = send(cx, &full).await?;
        if answer.status == 200 {
            taken.push(first_probe);
        }
        judge::judge_error(&[ErrorCode::LicenseActivatedMaxTimes], &answer)
            .map_err(|m| fail(m.or_at(rules::BUSINESS_SEATS_FULL), &full))?;
        let elsewhere = request(cx, Endpoint::Deactivate, "perpetual", &holder)?;
        let answer = send(cx, &elsewhere).await?;
        // The code for a device without a seat is [pinned]: another answer is a warning.
        let not_found = judge::judge_error(&[ErrorCode::DeviceNotFound], &answer)
            .map_err(|m| fail(m.allowed().or_at(rules::DEACTIVATE_DEVICE_NOT_FOUND), &elsewhere));
        let newcomer = device();
        let probe = request(cx, Endpoint::Activate, "limited", &newcomer)?;
        let answer = send(cx, &probe).await?;
        if answer.status == 200 {
            taken.push(newcomer);
            return Err(fail(
                Mismatch::new(
                    "license_activated_max_times: the limited license still full (its seat not freed)",
                    "200: a deactivation on another license freed a seat of this one",
                ),
                &probe,
            ));
        }
        not_found
    }
    .await;
    outcome.and(give_back_all(cx, "limited", &taken).await)
}
