//! Differential runs: the same requests to two servers (or a server and its recorded snapshots),
//! every difference between their answers, each classified by SPEC.
//!
//! Each side runs the suite's own machinery ([`run`] for the cases, the
//! generated requests' stream for `--generated N`): the same cases in the same order, the same
//! generated requests from the same seed and payload time, each signed with its own profile's
//! keys, the stateful checks one at a time after the cases, so that both servers go through the
//! same states (a seat taken on one is taken on the other). The two sides run at the same time.
//! A generated request is drawn once, for the first profile, and names the same license role,
//! user and product on both sides (each profile's own key); one that names what the second
//! profile lacks is sent to neither side and reported as not compared, with what it lacks.
//!
//! Each pair of answers is normalised ([`normalise_answer`]: keys, dates, request ids,
//! signatures, the hardware ids made for the run, messages) and compared; a difference is
//!
//! - **nonconforming** when the suite judges one side's answer outside what SPEC allows (the oracle
//!   of allowed answers and the case's judge, exactly as `lsconform run` fails it), naming the side
//!   and the rule;
//! - **divergence** when both answers are allowed but differ (400 where the other says 401, an
//!   absent `request_id` where the other says `null`, …);
//! - **error** when a side gave no answer to compare, or the case could not run there (a set-up
//!   the server refused).
//!
//! ```no_run
//! # async fn demo() {
//! use lsconform::suite::diff::{diff, terminal};
//! use lsconform::suite::generate::GenerateOptions;
//! use lsconform::suite::{cases, Profile, RunOptions};
//! let a = Profile::reference("http://127.0.0.1:8080");
//! let b = Profile::reference("http://127.0.0.1:8081");
//! let options = RunOptions::default();
//! let comparison = diff(cases().unwrap(), [("A", &a), ("B", &b)], &GenerateOptions::new(200, 7), &options).await;
//! print!("{}", terminal(&comparison, false));
//! std::process::exit(comparison.exit_code().into());
//! # }
//! ```

mod normalise;
mod recorded;
mod snapshot;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub use normalise::{differences, normalise_answer};
pub use snapshot::snapshot_path;

use super::case::{Rule, Severity, Tag};
use super::catalogue::Case;
use super::generate::{self, Budget, Exchange, GenerateOptions, Property};
use super::profile::Profile;
use super::render::Prepared;
use super::report::{self, Baseline, Report};
use super::runner::{run, Answer, CaseResult, RunOptions, Verdict, HARNESS};
use crate::protocol::rules;
use crate::protocol::Fit;

/// One side's part in a comparison: the suite's verdict on its answer, and the answer.
#[derive(Debug, Clone)]
pub struct Observed {
    /// How the suite judged this side alone (fail: outside what SPEC allows).
    pub verdict: Verdict,
    /// What the suite expected, when it did not pass.
    pub expected: Option<String>,
    /// What came instead, or why there is no answer.
    pub actual: Option<String>,
    /// The rule the answer broke, when the suite names one more precise than the case's.
    pub broken: Option<Rule>,
    /// The request sent (none for a snapshot).
    pub request: Option<Prepared>,
    /// The answer (none for a check, a snapshot, or no answer).
    pub answer: Option<Answer>,
    /// The normalised answer and verdict: what is compared.
    pub normalised: Value,
    /// For a generated request whose answers differ: the smallest request that still shows the
    /// same difference on both targets, as sent to this side.
    pub shrunk: Option<Shrunk>,
}

/// One side's part of the smallest generated request that still shows a difference on both
/// targets (shrunk against both: each step sent to both, each signed with its own keys).
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// How it was found, and what it is.
    pub how: String,
    /// What the suite expected, when this side answered outside what SPEC allows.
    pub expected: Option<String>,
    /// What came: what broke the rule, else a short account of the answer.
    pub actual: String,
    /// The request, as sent to this side.
    pub request: Prepared,
}

/// What kind of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// One side's answer is outside what SPEC allows.
    Nonconforming,
    /// A side gave no answer to compare, or the case could not run there.
    Error,
    /// Both answers are allowed, and they differ.
    Divergence,
}

/// A request whose two answers differ.
#[derive(Debug, Clone)]
pub struct Difference {
    /// The case's id, or `generated/request-<i>`.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The kind of difference.
    pub kind: Kind,
    /// The sides it is about (0: the first target, 1: the second): the nonconforming ones, the
    /// ones without an answer; both for a divergence.
    pub sides: Vec<usize>,
    /// The rule at stake: the one a nonconforming side broke, else the case's.
    pub rule: Rule,
    /// Where the normalised answers differ, one line each.
    pub changes: Vec<String>,
    /// Both sides.
    pub observed: [Observed; 2],
}

/// A whole comparison: every difference, and a [`Report`] of it (one result per case compared,
/// one per generated request that differs) for the JSON and JUnit writers of
/// [`report`].
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The two sides' names (the targets as given, or the snapshot directory).
    pub labels: [String; 2],
    /// Every difference, grouped: by kind, then rule, then id.
    pub differences: Vec<Difference>,
    /// Cases and generated requests whose answers were compared (those skipped on a side are not).
    pub compared: usize,
    /// Of those, the ones that differ only in what must differ.
    pub same: usize,
    /// Those not compared: skipped on a side (its profile lacks what the case needs), and why.
    pub skipped: Vec<(String, String)>,
    /// Differences from the snapshots that `--accept` wrote as the new snapshots.
    pub accepted: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// The results, for [`report::json`] and [`report::junit`]: nonconforming is `fail`,
    /// divergence `warning`, no answer `error`.
    pub report: Report,
}

impl Comparison {
    /// Divergences fail too (`--fail-on divergence`).
    pub fn fail_on_divergence(mut self, yes: bool) -> Comparison {
        self.report = self.report.strict(yes);
        self
    }

    /// `lsconform run`'s exit codes: 0 no nonconforming difference and every side answered (with
    /// [`fail_on_divergence`](Self::fail_on_divergence), no divergence either), 1 otherwise, 3 the
    /// harness broke.
    pub fn exit_code(&self) -> u8 {
        self.report.exit_code()
    }

    /// How many differences of this kind.
    pub fn count(&self, kind: Kind) -> usize {
        self.differences.iter().filter(|d| d.kind == kind).count()
    }
}

/// One request (a case or a generated one) and what each side made of it.
struct Unit {
    id: String,
    title: String,
    rule: Rule,
    rules: Vec<&'static str>,
    spec: String,
    tag: Tag,
    severity: Severity,
    observed: [Observed; 2],
}

enum Outcome {
    Same,
    Skipped(String),
    Differs(Kind, Vec<usize>, Vec<String>),
}

/// The normalised form of a case's result: its verdict, and its normalised answer when it has one
/// (a check has none: its verdict is what is compared).
fn normalised(
    verdict: Verdict,
    answer: Option<&Answer>,
    sent: Option<&Prepared>,
    profile: &Profile,
) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("verdict".into(), json!(verdict.name()));
    if let Some(a) = answer {
        if let Value::Object(members) = normalise_answer(a, sent, profile) {
            out.extend(members);
        }
    }
    Value::Object(out)
}

fn observed(r: &CaseResult, profile: &Profile) -> Observed {
    Observed {
        verdict: r.verdict,
        expected: r.expected.clone(),
        actual: r.actual.clone(),
        broken: None,
        request: r.request.clone(),
        answer: r.answer.clone(),
        normalised: normalised(r.verdict, r.answer.as_ref(), r.request.as_ref(), profile),
        shrunk: None,
    }
}

fn unit_of(r: &CaseResult, observed: [Observed; 2]) -> Unit {
    let rule = r
        .rules
        .first()
        .and_then(|id| Rule::by_id(id))
        .unwrap_or(crate::protocol::rules::ANY_NO_SERVER_ERROR);
    Unit {
        id: r.id.clone(),
        title: r.title.clone(),
        rule,
        rules: r.rules.clone(),
        spec: r.spec.clone(),
        tag: r.tag,
        severity: r.severity,
        observed,
    }
}

fn observed_generated(ex: &Exchange, profile: &Profile) -> Observed {
    let request = Some(ex.case.request.clone());
    let response = match &ex.response {
        Ok(r) => r,
        Err(e) => {
            return Observed {
                verdict: Verdict::Error,
                expected: Some("an HTTP answer".into()),
                actual: Some(e.to_string()),
                broken: None,
                request,
                answer: None,
                normalised: normalised(Verdict::Error, None, None, profile),
                shrunk: None,
            }
        }
    };
    let answer = Answer::from(response);
    let worst = ex
        .violations
        .iter()
        .filter(|(_, v)| !v.no_answer)
        .max_by_key(|(_, v)| v.rule.severity());
    let verdict = match worst {
        None => Verdict::Pass,
        Some((_, v)) if v.rule.severity() == Severity::Must => Verdict::Fail,
        Some(_) => Verdict::Warning,
    };
    Observed {
        verdict,
        expected: worst
            .map(|(_, v)| format!("{} [SPEC {}: {}]", v.mismatch.expected, v.rule.spec, v.rule.what)),
        actual: worst.map(|(_, v)| v.mismatch.actual.clone()),
        broken: worst.map(|(_, v)| v.rule),
        normalised: normalised(verdict, Some(&answer), Some(&ex.case.request), profile),
        request,
        answer: Some(answer),
        shrunk: None,
    }
}

/// The normalised form of a generated request's answer by how it fits what SPEC allows for that
/// request: the reference's answer, another allowed one, or one outside.
fn by_fit(ex: &Exchange, verdict: Verdict) -> Value {
    let fit = ex.response.as_ref().ok().map(|r| {
        let code = serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned));
        match ex.case.allowed.fit(r.status, code.as_deref()) {
            Fit::Pinned => "the reference's answer to this side's request",
            Fit::Allowed => "another answer SPEC allows to this side's request",
            Fit::Outside => "outside what SPEC allows to this side's request",
        }
    });
    json!({"verdict": verdict.name(), "fit": fit})
}

/// A side's part in a request that was not compared, and why.
fn skipped(why: String) -> Observed {
    Observed {
        verdict: Verdict::Skipped,
        expected: None,
        actual: Some(why),
        broken: None,
        request: None,
        answer: None,
        normalised: Value::Null,
        shrunk: None,
    }
}

fn not_sent(label: &str) -> Observed {
    Observed {
        verdict: Verdict::Error,
        expected: Some("an HTTP answer".into()),
        actual: Some(format!("not sent to {label}: it had stopped answering")),
        broken: None,
        request: None,
        answer: None,
        normalised: json!({"verdict": "error"}),
        shrunk: None,
    }
}

/// At most this many distinct differences of a run's generated requests are shrunk (each takes
/// up to the shrinking's time limit); the others are shown as they came.
const MAX_SHRUNK: usize = 16;

/// Both sides' part in a generated request sent to both.
fn observe_pair(a: &Exchange, b: &Exchange, profiles: [&Profile; 2]) -> [Observed; 2] {
    let (mut oa, mut ob) = (
        observed_generated(a, profiles[0]),
        observed_generated(b, profiles[1]),
    );
    // Signed with different keys, a broken byte can land on different bytes (a MAC, a key of
    // another length): when the oracle allows other answers to the two requests, they are not
    // the same request, and each answer is compared by how it fits its own.
    let (ax, ay) = (&a.case.allowed, &b.case.allowed);
    if ax.pinned != ay.pinned || ax.also != ay.also {
        oa.normalised = by_fit(a, oa.verdict);
        ob.normalised = by_fit(b, ob.verdict);
    }
    [oa, ob]
}

/// What makes two differences the same one, for shrinking: the kind, the sides, and the rules the
/// nonconforming sides break, or (a divergence) where the normalised answers differ.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DifferenceKey {
    kind: Kind,
    sides: Vec<usize>,
    what: Vec<String>,
}

impl DifferenceKey {
    /// The key of a request whose two answers differ (nonconforming or divergent; a side without an answer is
    /// not shrunk).
    fn of(observed: &[Observed; 2]) -> Option<DifferenceKey> {
        let (kind, sides, changes) = match classify(observed) {
            Outcome::Differs(kind @ (Kind::Nonconforming | Kind::Divergence), sides, changes) => {
                (kind, sides, changes)
            }
            _ => return None,
        };
        let what = match kind {
            Kind::Nonconforming => sides
                .iter()
                .map(|s| observed[*s].broken.map_or("", |r| r.id).to_owned())
                .collect(),
            _ => changes
                .iter()
                .map(|c| c.split(": ").next().unwrap_or(c).to_owned())
                .collect(),
        };
        Some(DifferenceKey { kind, sides, what })
    }
}

/// What the two sides' parts in one request make of it.
fn classify(observed: &[Observed; 2]) -> Outcome {
    let [a, b] = observed;
    let sides_where = |f: &dyn Fn(&Observed) -> bool| -> Vec<usize> {
        observed
            .iter()
            .enumerate()
            .filter(|(_, o)| f(o))
            .map(|(i, _)| i)
            .collect()
    };
    let failing = sides_where(&|o| o.verdict == Verdict::Fail);
    let silent = sides_where(&|o| o.verdict == Verdict::Error);
    let changes = differences(&a.normalised, &b.normalised);
    if !failing.is_empty() {
        return Outcome::Differs(Kind::Nonconforming, failing, changes);
    }
    if !silent.is_empty() {
        return Outcome::Differs(Kind::Error, silent, changes);
    }
    if let Some(o) = observed.iter().find(|o| o.verdict == Verdict::Skipped) {
        return Outcome::Skipped(o.actual.clone().unwrap_or_else(|| "skipped".into()));
    }
    if changes.is_empty() {
        Outcome::Same
    } else {
        Outcome::Differs(Kind::Divergence, vec![0, 1], changes)
    }
}

/// The rule whose latitude two allowed answers use, where the places they differ in name it: a
/// `request_id` echoed as `null` on one side and absent on the other (SPEC §6, §10).
fn latitude(changes: &[String]) -> Option<Rule> {
    let all_in = |place: &str| {
        !changes.is_empty()
            && changes
                .iter()
                .all(|c| c.split(": ").next().is_some_and(|p| p == place))
    };
    all_in("body.request_id").then_some(rules::ANSWER_REQUEST_ID)
}

/// A short account of one side's answer: `400 signature_mismatch`, `200 activation answer`, the
/// verdict of a check, or why there is none.
fn summary(o: &Observed) -> String {
    let n = &o.normalised;
    match (n.get("status"), n.get("body")) {
        (Some(status), Some(body)) => match body.get("code").and_then(Value::as_str) {
            Some(code) => format!("{status} {code}"),
            None if body.get("hardware_id").is_some() => format!("{status} with an activation answer"),
            None => {
                let text = body.as_str().map_or_else(|| body.to_string(), str::to_owned);
                format!("{status} {}", text.chars().take(60).collect::<String>())
            }
        },
        _ => match (&o.verdict, &o.actual) {
            (Verdict::Error, Some(why)) => format!("no answer: {why}"),
            (v, _) => format!("the check: {}", v.name()),
        },
    }
}

/// Turns units into a comparison: classifies each, and writes the results of the report.
fn conclude(labels: [String; 2], units: Vec<Unit>, harness: Option<String>, started: Instant) -> Comparison {
    let mut differences = Vec::new();
    let mut results = Vec::new();
    let (mut same, mut skipped) = (0, Vec::new());
    let compared = units.len();
    for unit in units {
        let outcome = classify(&unit.observed);
        let result = |verdict: Verdict| CaseResult {
            rules: unit.rules.clone(),
            ..CaseResult::new(
                unit.id.clone(),
                unit.spec.clone(),
                unit.tag,
                unit.severity,
                unit.title.clone(),
                verdict,
                Duration::ZERO,
            )
        };
        let (kind, sides, changes) = match outcome {
            Outcome::Same => {
                same += 1;
                if !unit.id.starts_with("generated/request-") {
                    results.push(result(Verdict::Pass));
                }
                continue;
            }
            Outcome::Skipped(why) => {
                results.push(CaseResult {
                    actual: Some(why.clone()),
                    ..result(Verdict::Skipped)
                });
                skipped.push((unit.id.clone(), why));
                continue;
            }
            Outcome::Differs(kind, sides, changes) => (kind, sides, changes),
        };
        let side = sides[0];
        let o = &unit.observed;
        let account = |i: usize| format!("{}: {}", labels[i], summary(&o[i]));
        let (verdict, expected, actual) = match kind {
            Kind::Nonconforming => (
                Verdict::Fail,
                o[side].expected.clone(),
                Some(format!(
                    "{}: {} (the other: {})",
                    labels[side],
                    o[side].actual.clone().unwrap_or_default(),
                    account(1 - side)
                )),
            ),
            Kind::Error => (
                Verdict::Error,
                Some("an answer from each side".into()),
                Some(format!("{}: {}", labels[side], summary(&o[side]))),
            ),
            Kind::Divergence => (
                Verdict::Warning,
                Some(account(0)),
                Some(format!("{}; differs in {}", account(1), changes.join("; "))),
            ),
        };
        // A divergence goes under the rule whose latitude it uses: named by where the answers
        // differ, else by the side whose answer is not the reference's (its warning's rule).
        let rule = match kind {
            Kind::Divergence => latitude(&changes)
                .or_else(|| sides.iter().find_map(|s| o[*s].broken))
                .unwrap_or(unit.rule),
            _ => o[side].broken.unwrap_or(unit.rule),
        };
        results.push(CaseResult {
            expected,
            actual,
            departs_from: Some(rule.id),
            request: o[side].request.clone().or_else(|| o[0].request.clone()),
            answer: o[side].answer.clone(),
            ..result(verdict)
        });
        differences.push(Difference {
            id: unit.id,
            title: unit.title,
            kind,
            sides,
            rule,
            changes,
            observed: unit.observed,
        });
    }
    if let Some(why) = harness {
        results.push(CaseResult::harness(why));
    }
    differences.sort_by(|a, b| (a.kind, a.rule.id, &a.id).cmp(&(b.kind, b.rule.id, &b.id)));
    results.sort_by(|a, b| a.id.cmp(&b.id));
    let report = Report::new(
        format!("{} vs {}", labels[0], labels[1]),
        results,
        &Baseline::default(),
        started.elapsed(),
    );
    Comparison {
        labels,
        differences,
        compared: compared - skipped.len(),
        same,
        skipped,
        accepted: 0,
        elapsed: started.elapsed(),
        report,
    }
}

/// The harness results of a run (a task that panicked), if any.
fn harness_of(results: &[CaseResult]) -> Option<String> {
    results
        .iter()
        .find(|r| r.id == HARNESS)
        .map(|r| r.actual.clone().unwrap_or_default())
}

/// Pairs two runs' results by case id.
fn pair_cases(
    results: [Vec<CaseResult>; 2],
    profiles: [&Profile; 2],
    units: &mut Vec<Unit>,
) -> Option<String> {
    let [a, b] = results;
    let harness = harness_of(&a).or_else(|| harness_of(&b));
    let mut b: BTreeMap<String, CaseResult> = b.into_iter().map(|r| (r.id.clone(), r)).collect();
    for ra in a.into_iter().filter(|r| r.id != HARNESS) {
        let Some(rb) = b.remove(&ra.id) else {
            continue;
        };
        let observed = [observed(&ra, profiles[0]), observed(&rb, profiles[1])];
        units.push(unit_of(&ra, observed));
    }
    harness
}

/// Sends every case and `generate.requests` generated requests to both targets (labelled, each
/// with its profile) and compares each pair of answers. `options.jobs` and `options.timeout` hold
/// on each side; a side that stops answering makes errors, never a hang (each exchange is bounded,
/// and after three generated requests in a row without an answer the rest are not sent to it).
pub async fn diff(
    cases: Vec<Case>,
    targets: [(&str, &Profile); 2],
    generate: &GenerateOptions,
    options: &RunOptions,
) -> Comparison {
    let started = Instant::now();
    let [(la, pa), (lb, pb)] = targets;
    let labels = [la.to_owned(), lb.to_owned()];
    let (ra, rb) = tokio::join!(
        run(cases.clone(), pa, options, |_| {}),
        run(cases, pb, options, |_| {})
    );
    let mut units = Vec::new();
    let mut harness = pair_cases([ra, rb], [pa, pb], &mut units);
    if generate.requests > 0 && !generate.properties.is_empty() {
        match generated(&labels, [pa, pb], generate, options).await {
            Ok(more) => units.extend(more),
            Err(why) => harness = harness.or(Some(why)),
        }
    }
    conclude(labels, units, harness, started)
}

/// The generated requests of `generate`, sent to both sides at once and paired by number.
async fn generated(
    labels: &[String; 2],
    profiles: [&Profile; 2],
    generate: &GenerateOptions,
    options: &RunOptions,
) -> Result<Vec<Unit>, String> {
    let rule = Property::OracleAgreement.rule();
    if let Some(i) = profiles.iter().position(|p| p.credentials.is_none()) {
        let skipped = skipped(format!(
            "the generated requests are signed: {}'s profile needs api_key and shared_key",
            labels[i]
        ));
        return Ok(vec![Unit {
            id: "generated/requests".into(),
            title: "Generated requests".into(),
            rule,
            rules: vec![rule.id],
            spec: rule.spec.into(),
            tag: rule.tag,
            severity: rule.severity(),
            observed: [skipped.clone(), skipped],
        }]);
    }
    let payload_time = options.clock.now();
    let budget = Budget::requests(generate.requests);
    let properties = Property::ALL;
    // Request i is drawn once, for A's profile, and each side writes it for its own: the same
    // license role, user and product on both (each profile's own key). One that a profile lacks
    // is sent to neither side: both go through the same states.
    let pair = [profiles[0].clone(), profiles[1].clone()];
    let side = |side: usize| {
        let pair = &pair;
        async move {
            let mut exchanges: Vec<Option<Exchange>> = (0..generate.requests).map(|_| None).collect();
            let streamed = generate::stream_drawn(
                pair,
                side,
                generate.seed,
                budget,
                options,
                &properties,
                payload_time,
                |ex| {
                    let i = ex.case.index;
                    if let Some(slot) = exchanges.get_mut(i) {
                        *slot = Some(ex);
                    }
                },
            )
            .await;
            (exchanges, streamed.harness_error, streamed.lacking)
        }
    };
    let ((xa, ea, lacking), (xb, eb, _)) = tokio::join!(side(0), side(1));
    if let Some(e) = ea.or(eb) {
        return Err(e);
    }
    // Both sides drew the same requests and found the same ones lacking.
    let lacking: BTreeMap<usize, String> = lacking
        .into_iter()
        .map(|(i, s, why)| {
            (
                i,
                format!("sent to neither side: {}'s profile has {why}", labels[s]),
            )
        })
        .collect();
    let mut units = Vec::new();
    // The first request of each distinct difference (kind, sides, rule or where they differ).
    let mut to_shrink: Vec<(usize, usize, DifferenceKey)> = Vec::new();
    for (i, (a, b)) in xa.into_iter().zip(xb).enumerate() {
        let observed = match (&a, &b, lacking.get(&i)) {
            (_, _, Some(why)) => [skipped(why.clone()), skipped(why.clone())],
            (Some(x), Some(y), None) => observe_pair(x, y, profiles),
            _ => {
                let observe = |ex: &Option<Exchange>, side: usize| match ex {
                    Some(ex) => observed_generated(ex, profiles[side]),
                    None => not_sent(&labels[side]),
                };
                [observe(&a, 0), observe(&b, 1)]
            }
        };
        let case = a.as_ref().or(b.as_ref()).map(|ex| &ex.case);
        let rule = case.map_or(rule, |c| c.rule());
        let unit = Unit {
            id: format!("generated/request-{i:04}"),
            title: case.map_or_else(
                || format!("generated request {i} (seed {})", generate.seed),
                |c| {
                    format!(
                        "generated request {i} (seed {}): {}",
                        generate.seed,
                        c.value.describe()
                    )
                },
            ),
            rule,
            rules: vec![rule.id],
            spec: rule.spec.into(),
            tag: rule.tag,
            severity: rule.severity(),
            observed,
        };
        if let Some(key) = DifferenceKey::of(&unit.observed) {
            if to_shrink.len() < MAX_SHRUNK && !to_shrink.iter().any(|(_, _, k)| *k == key) {
                to_shrink.push((units.len(), i, key));
            }
        }
        units.push(unit);
    }
    for (unit, index, key) in to_shrink {
        let owned = [profiles[0].clone(), profiles[1].clone()];
        let keep = move |a: &Exchange, b: &Exchange| {
            let observed = observe_pair(a, b, [&owned[0], &owned[1]]);
            DifferenceKey::of(&observed).as_ref() == Some(&key)
        };
        let Some(([a, b], how)) = generate::smallest_difference(
            profiles,
            generate.seed,
            index,
            options,
            payload_time,
            properties.to_vec(),
            keep,
        )
        .await
        else {
            continue;
        };
        let shrunk = observe_pair(&a, &b, profiles);
        let how = format!("{how}, a {}", a.case.value.describe());
        for (side, (o, ex)) in shrunk.into_iter().zip([a, b]).enumerate() {
            units[unit].observed[side].shrunk = Some(Shrunk {
                how: how.clone(),
                actual: o.actual.clone().unwrap_or_else(|| summary(&o)),
                expected: o.expected,
                request: ex.case.request,
            });
        }
    }
    Ok(units)
}

// ------------------------------------------------------------------ snapshots

/// The normalised form of a result, as a snapshot holds it.
fn snapshot_value(r: &CaseResult, profile: &Profile) -> Value {
    normalised(r.verdict, r.answer.as_ref(), r.request.as_ref(), profile)
}

/// Whether a result is one a snapshot is kept of: a case (not a generated property, not the
/// harness).
fn recorded(r: &CaseResult) -> bool {
    r.id != HARNESS && !r.id.starts_with("generated/")
}

/// Writes each case's normalised answer (and the suite's verdict) from a run against the target
/// of `profile` as an insta snapshot file under `dir` ([`snapshot_path`]), replacing what is
/// there; returns how many. A case that could not run (an error: no answer) is not recorded.
/// `lsconform run --record DIR` calls it.
pub fn record(results: &[CaseResult], profile: &Profile, dir: &Path) -> Result<usize, String> {
    let mut n = 0;
    for r in results
        .iter()
        .filter(|r| recorded(r) && r.verdict != Verdict::Error)
    {
        snapshot::write(&snapshot_path(dir, &r.id), &r.id, &snapshot_value(r, profile))?;
        let _ = std::fs::remove_file(snapshot::pending_path(dir, &r.id));
        n += 1;
    }
    Ok(n)
}

/// Runs `cases` against one target and compares each answer with its snapshot under `dir`
/// (written by [`record`]); the snapshots are the second side, each recorded answer judged as a
/// live one (rebuilt as the answer to this side's request for the case, then the case's judge
/// and the oracle; a check's snapshot, or an answer cut at 4 KiB, keeps the verdict recorded with
/// it), so a recorded answer outside what SPEC allows is nonconforming. A case without a snapshot
/// is a divergence. Each difference is written beside its snapshot as insta's pending change
/// (`….snap.new`, for `cargo insta review`), or, with `accept`, over the snapshot (then it no
/// longer counts as a divergence; a nonconforming answer still does).
pub async fn against(
    cases: Vec<Case>,
    target: (&str, &Profile),
    dir: &Path,
    options: &RunOptions,
    accept: bool,
) -> Result<Comparison, String> {
    let started = Instant::now();
    if !dir.is_dir() {
        return Err(format!(
            "{}: no such directory (`lsconform run --record DIR` writes one)",
            dir.display()
        ));
    }
    let (label, profile) = target;
    let by_id: BTreeMap<String, Case> = cases.iter().map(|c| (c.id().to_owned(), c.clone())).collect();
    let results = run(cases, profile, options, |_| {}).await;
    let harness = harness_of(&results);
    let mut units = Vec::new();
    let mut values = BTreeMap::new();
    for r in results.iter().filter(|r| recorded(r)) {
        let snap = snapshot::read(&snapshot_path(dir, &r.id))?;
        // The recorded answer is judged as a live one: as the answer to the request this side
        // was sent for the case, by the case's judge and the oracle.
        let recorded_side = match &snap {
            Some(snap) => recorded::observed(
                by_id.get(&r.id),
                snap,
                r.request.as_ref(),
                profile,
                options.clock.now(),
            ),
            None => Observed {
                verdict: Verdict::Pass,
                expected: None,
                actual: Some(format!("no snapshot {}", snapshot_path(dir, &r.id).display())),
                broken: None,
                request: None,
                answer: None,
                normalised: Value::Null,
                shrunk: None,
            },
        };
        let value = snapshot_value(r, profile);
        values.insert(r.id.clone(), value);
        units.push(unit_of(r, [observed(r, profile), recorded_side]));
    }
    let labels = [label.to_owned(), format!("snapshots {}", dir.display())];
    let mut comparison = conclude(labels, units, harness, started);
    // Pending changes: beside each snapshot that differs; accepted ones replace it.
    let mut accepted = Vec::new();
    for d in &comparison.differences {
        if d.kind == Kind::Error || d.changes.is_empty() {
            continue;
        }
        let value = &values[&d.id];
        if accept {
            snapshot::write(&snapshot_path(dir, &d.id), &d.id, value)?;
            let _ = std::fs::remove_file(snapshot::pending_path(dir, &d.id));
            if d.kind == Kind::Divergence {
                accepted.push(d.id.clone());
            }
        } else {
            snapshot::write(&snapshot::pending_path(dir, &d.id), &d.id, value)?;
        }
    }
    for id in values.keys() {
        if !comparison.differences.iter().any(|d| &d.id == id) {
            let _ = std::fs::remove_file(snapshot::pending_path(dir, id));
        }
    }
    if !accepted.is_empty() {
        comparison.differences.retain(|d| !accepted.contains(&d.id));
        for r in comparison.report.results.iter_mut() {
            if accepted.contains(&r.id) {
                r.verdict = Verdict::Pass;
                r.expected = None;
                r.actual = Some("accepted: the snapshot now holds this answer".into());
            }
        }
        comparison.accepted = accepted.len();
    }
    Ok(comparison)
}

// ------------------------------------------------------------------ the terminal

/// At most this many differences of one kind and rule are shown in full (and each with a shrunk
/// request); the rest by id.
const SHOWN_PER_GROUP: usize = 3;

/// At most this many ids of requests not compared for the same reason are named.
const SKIPPED_SHOWN: usize = 5;

fn redacted(text: &str, show_secrets: bool) -> String {
    if show_secrets {
        text.to_owned()
    } else {
        report::redact(text)
    }
}

/// The terminal account of a comparison: each difference (grouped by kind and rule) with both
/// exchanges side by side, then a summary line. Signatures are redacted unless `show_secrets`.
pub fn terminal(c: &Comparison, show_secrets: bool) -> String {
    let mut out = String::new();
    let names = ["A", "B"];
    for (i, label) in c.labels.iter().enumerate() {
        out.push_str(&format!("{}: {label}\n", names[i]));
    }
    let mut groups: Vec<(Kind, Rule, Vec<&Difference>)> = Vec::new();
    for d in &c.differences {
        match groups.last_mut() {
            Some((k, r, ds)) if *k == d.kind && r.id == d.rule.id => ds.push(d),
            _ => groups.push((d.kind, d.rule, vec![d])),
        }
    }
    for (kind, rule, ds) in groups {
        let kind_name = match kind {
            Kind::Nonconforming => "NONCONFORMING",
            Kind::Error => "ERROR",
            Kind::Divergence => "DIVERGENCE",
        };
        out.push_str(&format!(
            "\n== {kind_name}: {} [SPEC {} {}{}, {:?}]: {} ({})\n",
            rule.id,
            rule.spec,
            format!("{:?}", rule.tag).to_lowercase(),
            if rule.safety { " safety" } else { "" },
            rule.severity(),
            rule.what,
            ds.len()
        ));
        // The first few in full, and each that carries a shrunk request.
        let mut rest = Vec::new();
        for (i, d) in ds.iter().enumerate() {
            if i < SHOWN_PER_GROUP || d.observed.iter().any(|o| o.shrunk.is_some()) {
                out.push_str(&difference(d, c, show_secrets));
            } else {
                rest.push(d.id.as_str());
            }
        }
        if !rest.is_empty() {
            out.push_str(&format!("\n  … and {} more: {}\n", rest.len(), rest.join(", ")));
        }
    }
    if !c.skipped.is_empty() {
        out.push_str(&format!("\nnot compared ({}):\n", c.skipped.len()));
        // One line per reason (a role a profile lacks skips many generated requests).
        let mut by_reason: Vec<(&str, Vec<&str>)> = Vec::new();
        for (id, why) in &c.skipped {
            match by_reason.iter_mut().find(|(w, _)| *w == why.as_str()) {
                Some((_, ids)) => ids.push(id.as_str()),
                None => by_reason.push((why.as_str(), vec![id.as_str()])),
            }
        }
        for (why, ids) in by_reason {
            let shown = ids.len().min(SKIPPED_SHOWN);
            let more = match ids.len() - shown {
                0 => String::new(),
                n => format!(" … and {n} more"),
            };
            out.push_str(&format!("  {}{more}: {why}\n", ids[..shown].join(", ")));
        }
    }
    let by_side = |kind: Kind| {
        let per: Vec<String> = (0..2)
            .map(|i| {
                c.differences
                    .iter()
                    .filter(|d| d.kind == kind && d.sides.contains(&i))
                    .count()
            })
            .enumerate()
            .filter(|(_, n)| *n > 0)
            .map(|(i, n)| format!("{} {n}", names[i]))
            .collect();
        if per.is_empty() {
            String::new()
        } else {
            format!(" ({})", per.join(", "))
        }
    };
    out.push_str(&format!(
        "\n{} compared in {:.1?}: {} the same, {} nonconforming{}, {} divergences, {} errors{}; {} not compared{}\n",
        c.compared,
        c.elapsed,
        c.same,
        c.count(Kind::Nonconforming),
        by_side(Kind::Nonconforming),
        c.count(Kind::Divergence),
        c.count(Kind::Error),
        by_side(Kind::Error),
        c.skipped.len(),
        if c.accepted > 0 {
            format!("; {} accepted into the snapshots", c.accepted)
        } else {
            String::new()
        }
    ));
    out
}

/// One difference in full: what differs, then both sides' verdict, status, code, answer and curl
/// line.
fn difference(d: &Difference, c: &Comparison, show_secrets: bool) -> String {
    let names = ["A", "B"];
    let mut out = format!("\n  {}  {}\n", d.id, d.title);
    if d.kind == Kind::Nonconforming || d.kind == Kind::Error {
        for &i in &d.sides {
            let o = &d.observed[i];
            out.push_str(&format!(
                "    {} ({}) {}: expected {}, got {}\n",
                names[i],
                c.labels[i],
                if d.kind == Kind::Error {
                    "could not be judged (no answer, or the case could not run)"
                } else {
                    "answers outside what SPEC allows"
                },
                o.expected.as_deref().unwrap_or("an answer"),
                o.actual.as_deref().unwrap_or("?"),
            ));
        }
    }
    // The verdicts and statuses are in the table below; without an answer, nothing else differs.
    let shown = match d.kind {
        Kind::Error => &[][..],
        _ => &d.changes[..],
    };
    for change in shown.iter().filter(|c| !c.starts_with("verdict: ")) {
        out.push_str(&format!("    differs: {}\n", redacted(change, show_secrets)));
    }
    let code = |o: &Observed| {
        o.normalised
            .pointer("/body/code")
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_owned()
    };
    let status = |o: &Observed| {
        o.normalised
            .get("status")
            .map_or_else(|| "-".to_owned(), Value::to_string)
    };
    let [a, b] = &d.observed;
    let rows = [
        ("", names[0].to_owned(), names[1].to_owned()),
        (
            "verdict",
            a.verdict.name().to_owned(),
            b.verdict.name().to_owned(),
        ),
        ("status", status(a), status(b)),
        ("code", code(a), code(b)),
    ];
    for (name, x, y) in rows {
        out.push_str(&format!("    {name:<9} {x:<40} {y}\n"));
    }
    for (i, o) in d.observed.iter().enumerate() {
        let shown = match (&o.answer, o.normalised.get("body")) {
            (Some(a), _) => format!(
                "{} {}",
                a.status,
                redacted(&a.body.chars().take(600).collect::<String>(), show_secrets)
            ),
            (None, Some(_)) => format!("(normalised) {}", o.normalised),
            (None, None) => summary(o),
        };
        out.push_str(&format!("    {} answer: {shown}\n", names[i]));
    }
    for (i, o) in d.observed.iter().enumerate() {
        if let Some(q) = &o.request {
            out.push_str(&format!(
                "    {} curl:   {}\n",
                names[i],
                report::curl(q, show_secrets)
            ));
        }
    }
    for (i, o) in d.observed.iter().enumerate() {
        if let Some(s) = &o.shrunk {
            out.push_str(&format!("    smallest on {}: {}\n", names[i], s.how));
            match &s.expected {
                Some(expected) => out.push_str(&format!("      expected {expected}, got {}\n", s.actual)),
                None => out.push_str(&format!("      answered {}\n", s.actual)),
            }
            if let Some(payload) = &s.request.payload {
                out.push_str(&format!("      payload: {}\n", redacted(payload, show_secrets)));
            }
            out.push_str(&format!(
                "      curl:    {}\n",
                report::curl(&s.request, show_secrets)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{ReferenceServer, Seed};

    /// The reference seed (or its profile) under another API key, shared key and license keys.
    fn other(text: &str) -> String {
        text.replace("lsconform-test-api-key", "lsconform-other-api-key")
            .replace(
                "lsconform-test-shared-key",
                "lsconform-other-shared-key-of-another-length",
            )
            .replace("-0000-0000-0001", "-OTHER-1")
    }

    /// The role of the license a request names in `profile`.
    fn role_of(profile: &Profile, licensee: &str) -> String {
        let roles = profile
            .licenses
            .keys()
            .map(String::as_str)
            .chain(["limited", "user"]);
        roles
            .into_iter()
            .find(|r| profile.license(r) == Some(licensee))
            .unwrap_or("a key neither knows")
            .to_owned()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn both_sides_of_every_generated_pair_name_the_same_role() {
        // B: the same licenses under other keys; its profile, like a real one, without the odd
        // key and the user (a role missing from B's list shifted B's pick when each side drew
        // its own license).
        let seed = other(include_str!("../../../fixtures/reference-seed.toml"));
        let seed = Seed::from_toml(&seed).expect("the seed under other keys");
        let (a_server, b_server) = (
            ReferenceServer::builder().start().await.expect("A starts"),
            ReferenceServer::builder()
                .seed(seed)
                .start()
                .await
                .expect("B starts"),
        );
        let a = Profile::reference(a_server.uri());
        let text: String = other(include_str!("../../../fixtures/targets/reference.toml"))
            .lines()
            .filter(|l| !l.starts_with("odd_key ") && !l.starts_with("user ") && !l.starts_with("public_key"))
            .map(|l| format!("{l}\n"))
            .collect();
        let b = Profile::from_toml(&text, Path::new("."))
            .expect("B's profile")
            .at(b_server.uri());
        let labels = ["A".to_owned(), "B".to_owned()];
        let units = generated(
            &labels,
            [&a, &b],
            &GenerateOptions::new(300, 3),
            &RunOptions::default(),
        )
        .await
        .expect("the generated requests");
        a_server.shutdown().await;
        b_server.shutdown().await;
        assert_eq!(units.len(), 300);
        let (mut pairs, mut not_sent, mut role_only) = (0, Vec::new(), Vec::new());
        for unit in &units {
            let [x, y] = &unit.observed;
            match (&x.request, &y.request) {
                (Some(p), Some(q)) => {
                    pairs += 1;
                    let roles = [
                        role_of(&a, p.licensee.as_deref().unwrap_or_default()),
                        role_of(&b, q.licensee.as_deref().unwrap_or_default()),
                    ];
                    if roles[0] != roles[1] {
                        role_only.push(format!("{}: {roles:?}", unit.id));
                    }
                }
                _ => {
                    assert_eq!(x.verdict, Verdict::Skipped, "{}: {:?}", unit.id, x.actual);
                    assert_eq!(y.actual, x.actual);
                    not_sent.push(x.actual.clone().unwrap_or_default());
                }
            }
        }
        assert!(role_only.is_empty(), "pairs of two roles: {role_only:#?}");
        // What B's profile lacks is sent to neither side, and said so.
        assert!(pairs > 150 && !not_sent.is_empty(), "{pairs} pairs");
        let lacks = [
            "sent to neither side: B's profile has no license of role \"odd_key\"",
            "sent to neither side: B's profile has no user license",
        ];
        assert!(
            not_sent.iter().all(|why| lacks.contains(&why.as_str())),
            "{not_sent:#?}"
        );
        assert!(
            lacks.iter().all(|l| not_sent.iter().any(|why| why == l)),
            "{not_sent:#?}"
        );
        // The servers differ in their keys only: every pair sent is answered alike.
        let differing: Vec<&str> = units
            .iter()
            .filter(|u| matches!(classify(&u.observed), Outcome::Differs(..)))
            .map(|u| u.id.as_str())
            .collect();
        assert!(differing.is_empty(), "{differing:?}");
    }
}
