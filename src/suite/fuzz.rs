//! Black-box fuzzing of any server: `lsconform fuzz --target PROFILE [--duration 60s] [--seed N]`.
//!
//! The fuzzer sends the requests of [`generate`]'s strategies for as long as it is
//! told: valid files in every layout, transport and Base64 form, semantic mutations (a member
//! removed, duplicated, of the wrong type, nested too deep, an unknown `api_key`, …) written
//! through the request builder and re-signed with the profile's shared key so that they reach the
//! target's deep code, envelope mutations (Base64, JSON and signature damage) left broken, and
//! changed Date and Authorization headers; to `activate_offline` and, one time in ten,
//! `deactivate_offline`. Request *i* of a run comes from the run's seed and *i* alone, so `--seed`
//! sends the same ones again (with the time of the run in their dates). Every answer is judged at
//! once, and only what is wrong is kept:
//!
//! | [`FindingKind`] | what the target did |
//! |---|---|
//! | `server-error` | answered a 5xx |
//! | `hang` | gave no complete answer within the timeout |
//! | `closed-connection` | closed the connection without an answer, on a new connection too (or answered something that is not HTTP) |
//! | `answer-too-large` | answered more than the suite reads (1 MiB) |
//! | `accepted-refused` | got past the check on which `protocol` refuses a request: a 200, or a refusal of SPEC §5 |
//! | `error-shape` | answered an error body outside SPEC §7 |
//! | `wrong-refusal` | refused with another code than `protocol`'s |
//! | `refused-accepted` | refused, before SPEC §5, a request `protocol` accepts |
//! | `bad-answer` | accepted, with a success answer that does not verify |
//!
//! Requests that show the same kind of finding for the same rule with the same answer are one
//! finding. Each finding is shrunk against the live target (proptest's shrinking, each step sent
//! again) and becomes a [`DataCase`] in the format of `fixtures/cases/`, with the exact body that
//! shows it and what a conforming server answers: [`Finding::write_to`] writes it as
//! `<dir>/fuzz/<kind>-<hash>.json`, which `lsconform replay <file>` and `lsconform run --cases <dir>`
//! send again with fresh, signed headers.
//!
//! ```no_run
//! # async fn demo() {
//! use lsconform::suite::fuzz::{fuzz, FuzzOptions};
//! use lsconform::suite::{Profile, RunOptions};
//! use std::time::Duration;
//! let profile = Profile::reference("http://127.0.0.1:8080");
//! let options = FuzzOptions::new(42).duration(Duration::from_secs(30));
//! let report = fuzz(&profile, &options, &RunOptions::default(), |_| {}).await;
//! for finding in &report.findings {
//!     let file = finding.write_to(std::path::Path::new("findings")).unwrap();
//!     println!("{} -> {}", finding.id(), file.display());
//! }
//! # }
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use super::case::CaseFile;
use super::case::{DataCase, Severity};
pub use super::generate::finding::FindingKind;
use super::generate::finding::{case_file, classify, what_came};
use super::generate::{self, Budget, Exchange, Property, Rule, Violation};
use super::profile::Profile;
use super::render::Prepared;
use super::runner::{Answer, RunOptions};

/// How long a run lasts when nothing else is said.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(60);

/// At most this many distinct findings are shrunk and written; the others are counted.
pub const DEFAULT_MAX_FINDINGS: usize = 16;

/// What a fuzzing run does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuzzOptions {
    /// The seed: the same seed and profile send the same requests.
    pub seed: u64,
    /// How long requests are sent (shrinking comes after).
    pub duration: Duration,
    /// At most this many requests, when given.
    pub max_requests: Option<usize>,
    /// At most this many findings are shrunk and written.
    pub max_findings: usize,
}

impl FuzzOptions {
    /// A run from `seed` of [`DEFAULT_DURATION`].
    ///
    /// ```
    /// use lsconform::suite::fuzz::FuzzOptions;
    /// use std::time::Duration;
    /// let options = FuzzOptions::new(7).duration(Duration::from_secs(5)).requests(1000);
    /// assert_eq!((options.seed, options.max_requests), (7, Some(1000)));
    /// ```
    pub fn new(seed: u64) -> FuzzOptions {
        FuzzOptions {
            seed,
            duration: DEFAULT_DURATION,
            max_requests: None,
            max_findings: DEFAULT_MAX_FINDINGS,
        }
    }

    /// Sends requests for this long.
    pub fn duration(mut self, duration: Duration) -> FuzzOptions {
        self.duration = duration;
        self
    }

    /// Sends at most this many requests (whichever of the duration and the count ends first).
    pub fn requests(mut self, n: usize) -> FuzzOptions {
        self.max_requests = Some(n);
        self
    }
}

/// What tells two findings apart: the kind, the rule, the answer.
type Key = (FindingKind, &'static str, &'static str, String);

fn key_of(kind: FindingKind, rule: Rule, answer: &str) -> Key {
    (kind, rule.spec, rule.what, answer.to_owned())
}

/// One finding: a request that shows it (shrunk), the case file that sends it again, and how often
/// the run met it.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Its kind.
    pub kind: FindingKind,
    /// The rule of SPEC it breaks.
    pub rule: Rule,
    /// How many requests of the run showed it (before shrinking).
    pub occurrences: usize,
    /// The case that sends it again (what [`write_to`](Finding::write_to) writes).
    pub case: DataCase,
    /// Its file.
    pub file: CaseFile,
    /// The request as it was last sent.
    pub request: Prepared,
    /// The target's answer to it, if any.
    pub answer: Option<Answer>,
    /// What a conforming server answers.
    pub expected: String,
    /// What the target answered instead.
    pub actual: String,
    /// How the request was found and shrunk.
    pub how: String,
}

impl Finding {
    /// Its id, `fuzz/<kind>-<hash>`: the hash of what was sent (the same seed and target give the
    /// same ids).
    pub fn id(&self) -> &str {
        &self.case.id
    }

    /// MUST or SHOULD, by the rule's tag.
    pub fn severity(&self) -> Severity {
        self.rule.severity()
    }

    /// Writes the case file under `dir` (`<dir>/fuzz/<kind>-<hash>.json`, the layout `lsconform run
    /// --cases <dir>` reads) and returns its path.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<PathBuf> {
        self.file.write_to(dir)
    }
}

/// What a fuzzing run did and found.
#[derive(Debug, Clone)]
pub struct FuzzReport {
    /// The target.
    pub target: String,
    /// The seed.
    pub seed: u64,
    /// Requests sent.
    pub sent: usize,
    /// Requests that got an HTTP answer.
    pub answered: usize,
    /// How long the requests took (shrinking aside).
    pub elapsed: Duration,
    /// The run stopped early: many requests in a row (four times `jobs`, at least 8) got no answer.
    pub gave_up: bool,
    /// The harness broke (a request could not be made): the run is not a result.
    pub harness_error: Option<String>,
    /// The findings, worst first, shrunk.
    pub findings: Vec<Finding>,
    /// Distinct findings past [`FuzzOptions::max_findings`], counted, not shrunk nor written.
    pub not_shrunk: usize,
}

impl FuzzReport {
    /// Requests sent a second, shrinking aside.
    pub fn rate(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64().max(1e-3)
    }

    /// 0 when no finding fails the run, 1 when one does (a MUST finding, or any when `strict`),
    /// 3 when the harness broke.
    pub fn exit_code(&self, strict: bool) -> u8 {
        if self.harness_error.is_some() {
            3
        } else if self
            .findings
            .iter()
            .any(|f| strict || f.severity() == Severity::Must)
            || (self.not_shrunk > 0 && strict)
        {
            1
        } else {
            0
        }
    }
}

/// How far a run is, for people watching it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Requests sent so far.
    pub sent: usize,
    /// Of those, answered.
    pub answered: usize,
    /// Distinct findings so far.
    pub findings: usize,
}

/// Fuzzes `profile`'s target: sends generated requests for `options.duration` (at most
/// `options.max_requests`), `run.jobs` at a time, each bounded by `run.timeout`; then shrinks each
/// distinct finding against the target and makes it a case file. Needs the profile's credentials.
/// `progress` hears how far it is about once a second while requests are sent.
pub async fn fuzz(
    profile: &Profile,
    options: &FuzzOptions,
    run: &RunOptions,
    mut progress: impl FnMut(Progress),
) -> FuzzReport {
    let started = Instant::now();
    let mut report = FuzzReport {
        target: profile.base_url.clone(),
        seed: options.seed,
        sent: 0,
        answered: 0,
        elapsed: Duration::ZERO,
        gave_up: false,
        harness_error: None,
        findings: Vec::new(),
        not_shrunk: 0,
    };
    if profile.credentials.is_none() {
        report.harness_error = Some("fuzzing needs api_key and shared_key in the profile".into());
        return report;
    }
    let payload_time = run.clock.now();
    // The first request of each distinct finding, and how many showed it.
    let mut seen: HashMap<Key, (usize, Exchange, FindingKind, String, Violation)> = HashMap::new();
    let (mut sent, mut answered, mut told) = (0, 0, Instant::now());
    let streamed = generate::stream(
        profile,
        options.seed,
        Budget {
            requests: options.max_requests,
            time: Some(options.duration),
            // A target that hangs on some requests is a finding, not a reason to stop: only one
            // that answers nothing for a while (every request in flight, four times over) is down.
            give_up_after: 8.max(4 * run.jobs),
        },
        run,
        &Property::ALL,
        payload_time,
        |ex| {
            sent += 1;
            answered += usize::from(ex.response.is_ok());
            if told.elapsed() >= Duration::from_secs(1) {
                told = Instant::now();
                progress(Progress {
                    sent,
                    answered,
                    findings: seen.len(),
                });
            }
            if let Some((kind, answer, v)) = classify(&ex) {
                let entry = seen
                    .entry(key_of(kind, v.rule, &answer))
                    .or_insert_with(|| (0, ex.clone(), kind, answer, v));
                entry.0 += 1;
                if ex.case.index < entry.1.case.index {
                    entry.1 = ex;
                }
            }
        },
    )
    .await;
    report.sent = streamed.sent;
    report.answered = streamed.answered;
    report.gave_up = streamed.gave_up;
    report.elapsed = started.elapsed();
    if let Some(e) = streamed.harness_error {
        report.harness_error = Some(e);
        return report;
    }
    let mut distinct: Vec<_> = seen.into_values().collect();
    distinct.sort_by_key(|(n, ex, kind, _, v)| {
        (
            std::cmp::Reverse(v.rule.severity() == Severity::Must),
            *kind,
            std::cmp::Reverse(*n),
            ex.case.index,
        )
    });
    report.not_shrunk = distinct.len().saturating_sub(options.max_findings);
    distinct.truncate(options.max_findings);
    for (occurrences, ex, kind, answer, v) in distinct {
        let key = key_of(kind, v.rule, &answer);
        let (ex, v, how) = generate::smallest(
            profile,
            options.seed,
            (ex, v),
            run,
            payload_time,
            Property::ALL.to_vec(),
            move |ex| {
                classify(ex)
                    .filter(|(k, a, v)| key_of(*k, v.rule, a) == key)
                    .map(|(_, _, v)| v)
            },
        )
        .await;
        match case_file(kind, v.rule, &ex, profile, options.seed, &what_came(&ex)) {
            Ok((case, file)) => report.findings.push(Finding {
                kind,
                rule: v.rule,
                occurrences,
                case,
                file,
                answer: ex.response.as_ref().ok().map(Answer::from),
                request: ex.case.request,
                expected: v.mismatch.expected,
                actual: v.mismatch.actual,
                how,
            }),
            Err(e) => {
                report.harness_error = Some(e);
                return report;
            }
        }
    }
    report
}
