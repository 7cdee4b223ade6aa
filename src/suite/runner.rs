//! Runs cases against a target: data cases concurrently, then the checks one by one; every case
//! ends as pass, fail, warning, skipped or error, never silently.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::case::{DataCase, Endpoint, Severity, Tag};
use super::catalogue::Case;
use super::checks::{Context, Failure};
use super::http::{Client, ExchangeError};
use super::judge::{self, Mismatch};
use super::profile::Profile;
use super::render::{prepare, seat_request, LicenseRef, Prepared, Skip};
use crate::Clock;

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The target does what the rule says.
    Pass,
    /// A MUST rule does not hold.
    Fail,
    /// A SHOULD rule does not hold.
    Warning,
    /// The profile lacks what the case needs.
    Skipped,
    /// The case could not run: no answer, a timeout, an answer too large.
    Error,
}

impl Verdict {
    /// Every verdict, worst first.
    pub const ALL: [Verdict; 5] = [
        Verdict::Fail,
        Verdict::Error,
        Verdict::Warning,
        Verdict::Skipped,
        Verdict::Pass,
    ];

    /// Its name, as the reports write it.
    ///
    /// ```
    /// assert_eq!(lsconform::suite::Verdict::Warning.name(), "warning");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Warning => "warning",
            Verdict::Skipped => "skipped",
            Verdict::Error => "error",
        }
    }
}

/// One case's result.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case's id.
    pub id: String,
    /// Its SPEC section.
    pub spec: String,
    /// Its tag.
    pub tag: Tag,
    /// The ids of the rules of the catalogue it tests (`fixtures/rules.toml`).
    pub rules: Vec<&'static str>,
    /// For a failure or a warning: the id of the rule the answer departs from (the judge's, or
    /// else the case's first rule).
    pub departs_from: Option<&'static str>,
    /// Its severity.
    pub severity: Severity,
    /// Its title.
    pub title: String,
    /// How it ended.
    pub verdict: Verdict,
    /// What was expected (when it did not pass).
    pub expected: Option<String>,
    /// What came instead, or why it was skipped or could not run.
    pub actual: Option<String>,
    /// The request that showed it.
    pub request: Option<Prepared>,
    /// The answer to it: status, Content-Type and (the start of) the body.
    pub answer: Option<Answer>,
    /// For a generated request that broke a property: the case file that sends it again (`lsconform
    /// run --findings DIR` writes it, as `lsconform fuzz` writes its findings).
    pub case_file: Option<super::case::CaseFile>,
    /// How long the case took.
    pub elapsed: Duration,
}

/// An answer, kept for the report (the body cut at 4 KiB).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// Its Content-Type.
    pub content_type: Option<String>,
    /// The body, as text (lossy), at most 4 KiB of it.
    pub body: String,
}

impl From<&super::http::Response> for Answer {
    fn from(r: &super::http::Response) -> Self {
        let cut = r.body.len().min(4096);
        Answer {
            status: r.status,
            content_type: r.content_type.clone(),
            body: String::from_utf8_lossy(&r.body[..cut]).into_owned(),
        }
    }
}

/// The id of the result that says the harness itself broke (a case task panicked).
pub const HARNESS: &str = "harness";

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Data cases in flight at once.
    pub jobs: usize,
    /// Each exchange's bound.
    pub timeout: Duration,
    /// Where the time is read: the Date headers and payload dates sent, and the `now` the oracle
    /// judges the Date headers at (SPEC §2's 15 minutes). The system clock unless pinned: a target
    /// whose clock is pinned too (the reference server's [`clock`](crate::server::ReferenceServerBuilder::clock))
    /// is then run on the day the clock reads.
    ///
    /// ```
    /// use lsconform::suite::RunOptions;
    /// use lsconform::Clock;
    /// let options = RunOptions {
    ///     clock: "2026-12-07T12:00:00Z".parse::<Clock>().unwrap(),
    ///     ..RunOptions::default()
    /// };
    /// assert!(!options.clock.is_system());
    /// assert!(RunOptions::default().clock.is_system());
    /// ```
    pub clock: Clock,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            jobs: 4,
            timeout: Duration::from_secs(10),
            clock: Clock::system(),
        }
    }
}

impl CaseResult {
    /// A result of a case with this verdict, nothing more said yet (a data case, a check, a
    /// generated property, the harness).
    pub(crate) fn new(
        id: impl Into<String>,
        spec: impl Into<String>,
        tag: Tag,
        severity: Severity,
        title: impl Into<String>,
        verdict: Verdict,
        elapsed: Duration,
    ) -> CaseResult {
        CaseResult {
            id: id.into(),
            spec: spec.into(),
            tag,
            rules: Vec::new(),
            departs_from: None,
            severity,
            title: title.into(),
            verdict,
            expected: None,
            actual: None,
            request: None,
            answer: None,
            case_file: None,
            elapsed,
        }
    }
}

impl CaseResult {
    /// The error of the harness itself (exit code 3), saying what broke.
    pub(crate) fn harness(why: impl Into<String>) -> CaseResult {
        CaseResult {
            actual: Some(why.into()),
            ..CaseResult::new(
                HARNESS,
                "",
                Tag::Pinned,
                Severity::Must,
                "the harness",
                Verdict::Error,
                Duration::ZERO,
            )
        }
    }
}

fn result(case: &Case, verdict: Verdict, started: Instant) -> CaseResult {
    CaseResult {
        rules: case.rules().iter().map(|r| r.id).collect(),
        ..CaseResult::new(
            case.id(),
            case.spec(),
            case.tag(),
            case.severity(),
            case.title(),
            verdict,
            started.elapsed(),
        )
    }
}

fn failed(case: &Case, m: Mismatch, request: Option<Prepared>, started: Instant) -> CaseResult {
    // At the severity of the rule the answer departs from, where the judge named one: a check's
    // first rule may be [pinned] while the count it reads is MUST (SPEC's table of tags).
    let departed = m.rule.and_then(crate::protocol::Rule::by_id);
    let verdict = match m.severity_in(departed.map_or(case.severity(), |r| r.severity())) {
        Severity::Must => Verdict::Fail,
        Severity::Should => Verdict::Warning,
    };
    CaseResult {
        expected: Some(m.expected),
        actual: Some(m.actual),
        departs_from: Some(m.rule.unwrap_or_else(|| case.rule().id)),
        request,
        ..result(case, verdict, started)
    }
}

fn errored(case: &Case, why: String, request: Option<Prepared>, started: Instant) -> CaseResult {
    CaseResult {
        actual: Some(why),
        request,
        ..result(case, Verdict::Error, started)
    }
}

/// Activates a license on a device as the set-up of a case (for re-activation and deactivation).
async fn activate_first(
    client: &Client,
    profile: &Profile,
    data: &DataCase,
    sent: &Prepared,
    clock: Clock,
) -> Result<(), String> {
    let (Some(licensee), Some(hw)) = (&sent.licensee, &sent.hardware_id) else {
        return Err("activate_first needs a license and a hardware id".into());
    };
    // A role names its license whatever identifies it (a key, or a user's name).
    let license = match (
        &data.request.payload.license_key,
        data.request.payload.license.as_deref(),
    ) {
        (None, Some(role)) => LicenseRef::Role(role),
        _ => LicenseRef::Key(licensee),
    };
    let set_up = seat_request(profile, Endpoint::Activate, license, hw, clock.now()).map_err(|Skip(s)| s)?;
    let answer = client
        .send(&set_up)
        .await
        .map_err(|e| format!("set-up activation: {e}"))?;
    // A seat is all the set-up needs: what the answer says is for the activation cases to judge.
    match answer.status {
        200 => Ok(()),
        _ => Err(format!(
            "set-up activation refused: {}",
            judge::summarize(&answer)
        )),
    }
}

/// Gives back a seat a case took (SPEC §1, deactivate_offline), when the profile allows.
async fn give_back(
    client: &Client,
    profile: &Profile,
    license_key: &str,
    hw: &str,
    clock: Clock,
) -> Result<(), String> {
    if !profile.supports_deactivation {
        return Ok(());
    }
    let r = seat_request(
        profile,
        Endpoint::Deactivate,
        LicenseRef::Key(license_key),
        hw,
        clock.now(),
    )
    .map_err(|Skip(s)| s)?;
    let answer = client
        .send(&r)
        .await
        .map_err(|e| format!("giving the seat back: {e}"))?;
    judge::judge_deactivated(&answer).map_err(|m| format!("giving the seat back: got {}", m.actual))
}

async fn run_data(
    case: &Case,
    data: &DataCase,
    profile: &Profile,
    client: &Client,
    clock: Clock,
) -> CaseResult {
    let started = Instant::now();
    let sent = match prepare(data, profile, clock.now()) {
        Ok(sent) => sent,
        Err(Skip(reason)) => {
            return CaseResult {
                actual: Some(reason),
                ..result(case, Verdict::Skipped, started)
            }
        }
    };
    if data.request.activate_first {
        if let Err(why) = activate_first(client, profile, data, &sent, clock).await {
            return errored(case, why, Some(sent), started);
        }
    }
    let answer = match client.send(&sent).await {
        Ok(answer) => answer,
        Err(e @ (ExchangeError::Transport(_) | ExchangeError::Timeout(_) | ExchangeError::TooLarge)) => {
            return errored(case, e.to_string(), Some(sent), started)
        }
    };
    let verdict = judge::judge(
        data.request.endpoint,
        &data.expect,
        &answer,
        &sent,
        profile,
        clock.now(),
    );
    // Whatever the verdict, a seat the case took goes back.
    let took_seat = answer.status == 200 && data.request.endpoint == Endpoint::Activate;
    let seat = if data.request.activate_first && data.request.endpoint == Endpoint::Activate {
        sent.licensee.clone().zip(sent.hardware_id.clone())
    } else {
        sent.seat.clone().filter(|_| took_seat)
    };
    let give_back_error = match seat {
        Some((license, hw)) => give_back(client, profile, &license, &hw, clock).await.err(),
        None => None,
    };
    let mut r = match (verdict, give_back_error) {
        (Err(m), _) => failed(case, m, Some(sent), started),
        (Ok(()), Some(why)) => errored(case, why, Some(sent), started),
        (Ok(()), None) => match unverified_signatures(case, profile, &answer) {
            // A check that could not look is skipped, never passed.
            Some(why) => CaseResult {
                actual: Some(why),
                request: Some(sent),
                ..result(case, Verdict::Skipped, started)
            },
            None => CaseResult {
                request: Some(sent),
                ..result(case, Verdict::Pass, started)
            },
        },
    };
    r.answer = Some(Answer::from(&answer));
    // SPEC §1: the answer judged came on a new connection; the report says so.
    if let Some(note) = answer.retry_note() {
        r.actual = Some(match r.actual.take() {
            Some(actual) => format!("{actual}; {note}"),
            None => note,
        });
    }
    r
}

/// Why a case that passed judged less than it cites: an activation answer whose RSA signatures
/// (SPEC §6) the profile has no public key to verify, in a case citing them.
fn unverified_signatures(case: &Case, profile: &Profile, answer: &super::http::Response) -> Option<String> {
    use crate::protocol::rules;
    let cited: Vec<&str> = [
        rules::ANSWER_LICENSE_SIGNATURE,
        rules::ANSWER_LICENSE_SIGNATURE_V2,
    ]
    .iter()
    .filter(|r| case.rules().contains(r))
    .map(|r| r.id)
    .collect();
    (profile.public_key.is_none() && answer.status == 200 && !cited.is_empty()).then(|| {
        format!(
            "{} not verified: the profile has no public_key (the rest of the answer passed)",
            cited.join(" and ")
        )
    })
}

async fn run_check(case: &Case, check: &super::checks::Check, cx: &Context) -> CaseResult {
    let started = Instant::now();
    match (check.run)(cx).await {
        Ok(()) => result(case, Verdict::Pass, started),
        Err(Failure::Mismatch(m, request)) => failed(case, m, request.map(|r| *r), started),
        Err(Failure::Error(why, request)) => errored(case, why, request.map(|r| *r), started),
        Err(Failure::Skip(reason)) => CaseResult {
            actual: Some(reason),
            ..result(case, Verdict::Skipped, started)
        },
    }
}

/// Runs `cases` against the target of `profile`; `progress` hears of each result as it comes.
pub async fn run(
    cases: Vec<Case>,
    profile: &Profile,
    options: &RunOptions,
    progress: impl Fn(&CaseResult) + Send + Sync + 'static,
) -> Vec<CaseResult> {
    let client = Client::new(profile, options.timeout);
    let progress = Arc::new(progress);
    let limit = Arc::new(tokio::sync::Semaphore::new(options.jobs.max(1)));
    let profile_arc = Arc::new(profile.clone());
    let clock = options.clock;
    let (data, checks): (Vec<Case>, Vec<Case>) = cases.into_iter().partition(|c| matches!(c, Case::Data(_)));
    let mut tasks = Vec::new();
    for case in data {
        let (client, profile, limit, progress) = (
            client.clone(),
            Arc::clone(&profile_arc),
            Arc::clone(&limit),
            Arc::clone(&progress),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = limit
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let Case::Data(data) = &case else {
                unreachable!("partitioned")
            };
            let r = run_data(&case, data, &profile, &client, clock).await;
            progress(&r);
            r
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        match task.await {
            Ok(r) => results.push(r),
            Err(e) => results.push(CaseResult::harness(format!("a case task failed: {e}"))),
        }
    }
    let cx = Arc::new(Context {
        profile: profile.clone(),
        client,
        clock,
    });
    for case in checks {
        let Case::Check(check) = case else {
            unreachable!("partitioned")
        };
        let cx = Arc::clone(&cx);
        // In a task of its own, so that a check that panics is a broken harness, not a crash.
        let r = match tokio::spawn(async move { run_check(&Case::Check(check), check, &cx).await }).await {
            Ok(r) => r,
            Err(e) => CaseResult {
                id: HARNESS.into(),
                actual: Some(format!("the check {} failed: {e}", check.id)),
                ..result(&Case::Check(check), Verdict::Error, Instant::now())
            },
        };
        progress(&r);
        results.push(r);
    }
    results.sort_by(|a, b| a.id.cmp(&b.id));
    results
}
