//! Black-box fuzzing of any server: `lsconform fuzz --target PROFILE [--duration 60s] [--seed N]`.
//!
//! The fuzzer sends the requests of [`generate`](super::generate)'s strategies for as long as it is
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
//! | `closed-connection` | closed the connection (or answered something that is not HTTP) |
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
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::case::{DataCase, Found, HeadersTemplate, Severity};
use super::generate::{self, Budget, Exchange, Property, Rule, Violation};
use super::http::ExchangeError;
use super::profile::Profile;
use super::render::Prepared;
use super::runner::{Answer, RunOptions};
use crate::protocol::{ErrorCode, RequestKind};

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
fn classify(ex: &Exchange) -> Option<(FindingKind, String, Violation)> {
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

/// A case file that sends a request again: its id (`<group>/<slug>`) and its JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFile {
    /// The case's id, its path under a cases directory.
    pub id: String,
    /// The file's text.
    pub text: String,
}

impl CaseFile {
    /// Writes it as `<dir>/<id>.json`, the layout `lsconform run --cases <dir>` reads, and
    /// returns the path.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join(format!("{}.json", self.id));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &self.text)?;
        Ok(path)
    }
}

/// The case file of a request that breaks a property (for `lsconform run`'s generated requests,
/// which name the same findings `lsconform fuzz` does); `None` when it shows nothing.
pub(super) fn case_file_of(ex: &Exchange, profile: &Profile, seed: u64) -> Option<CaseFile> {
    let (kind, _, v) = classify(ex)?;
    case_file(kind, v.rule, ex, profile, seed, &what_came(ex))
        .ok()
        .map(|(_, file)| file)
}

/// What the target did, for people: status and code, or why there was no answer.
fn what_came(ex: &Exchange) -> String {
    match &ex.response {
        Ok(r) => super::judge::summarize(r),
        Err(e) => e.to_string(),
    }
}

/// The case file of a request that showed a finding: the exact body, fresh signed headers, and
/// what `protocol` says a conforming server answers.
fn case_file(
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
    let payload_time = SystemTime::now();
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
