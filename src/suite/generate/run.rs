//! Running generated cases: the requests of a run, sending them, giving seats back, and the results.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use sha2::{Digest, Sha256};

use super::model::GeneratedRequest;
use super::properties::{judge, judges, needs, Exchange, Violation};
use super::render::{GeneratedCase, Step};
use super::shrink::smallest_breaking;
use super::{
    rules, strategies, GenerateOptions, Property, Rule, MAX_NO_ANSWER, MAX_SHRINK_STEPS, MAX_SHRINK_TIME,
};
use crate::protocol::RequestKind;
use crate::suite::case::Severity;
use crate::suite::http::{Client, Response};
use crate::suite::judge;
use crate::suite::profile::Profile;
use crate::suite::runner::{Answer, CaseResult, RunOptions, Verdict};
use crate::Clock;

/// The RNG of request `index` of a run from `seed`.
fn rng(seed: u64, index: usize) -> TestRng {
    let mut h = Sha256::new();
    h.update(b"lsconform generated request\n");
    h.update(seed.to_le_bytes());
    h.update((index as u64).to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &h.finalize())
}

fn config() -> Config {
    Config {
        cases: 1,
        failure_persistence: None,
        max_shrink_iters: MAX_SHRINK_STEPS,
        max_shrink_time: MAX_SHRINK_TIME.as_millis() as u32,
        max_local_rejects: 65_536,
        max_global_rejects: 1024,
        verbose: 0,
        ..Config::default()
    }
}

/// The value tree of request `index` of a run from `seed`: the same strategy, seed and index, the
/// same tree.
pub(super) fn tree(
    strategy: &BoxedStrategy<GeneratedRequest>,
    seed: u64,
    index: usize,
) -> Result<(TestRunner, Box<dyn ValueTree<Value = GeneratedRequest>>), String> {
    let mut runner = TestRunner::new_with_rng(config(), rng(seed, index));
    let tree = strategy
        .new_tree(&mut runner)
        .map_err(|e| format!("request {index} could not be generated: {e}"))?;
    Ok((runner, tree))
}

/// The requests of a run, as a target would receive them at `now`: the same profile, options and
/// `now` give the same bytes.
///
/// ```
/// use lsconform::suite::generate::{requests, GenerateOptions};
/// use lsconform::suite::Profile;
/// let profile = Profile::reference("http://127.0.0.1:8080");
/// let now = std::time::SystemTime::now();
/// let a = requests(&profile, &GenerateOptions::new(5, 7), now).unwrap();
/// let b = requests(&profile, &GenerateOptions::new(5, 7), now).unwrap();
/// assert_eq!(a.len(), 5);
/// assert!(a.iter().zip(&b).all(|(x, y)| x.request.body == y.request.body));
/// ```
pub fn requests(
    profile: &Profile,
    options: &GenerateOptions,
    now: SystemTime,
) -> Result<Vec<GeneratedCase>, String> {
    let strategy = strategies::generated_request(profile);
    (0..options.requests)
        .map(|i| {
            let (_, tree) = tree(&strategy, options.seed, i)?;
            tree.current().render(profile, i, options.seed, now)
        })
        .collect()
}

// ------------------------------------------------------------------ giving seats back

/// Gives back the seat an accepted request took ([`GeneratedCase::give_back`]), dated by `clock`.
async fn give_back(
    client: &Client,
    profile: &Profile,
    case: &GeneratedCase,
    answer: &Response,
    clock: Clock,
) -> Option<String> {
    let request = case.give_back(profile, Some(&answer.body), clock.now())?;
    match client.send(&request).await {
        Ok(r) => judge::judge_deactivated(&r)
            .err()
            .map(|m| format!("giving the seat back: got {}", m.actual)),
        Err(e) => Some(format!("giving the seat back: {e}")),
    }
}

/// Sends one case, gives back the seat it took, and judges the answer against `properties`.
pub(super) async fn exchange(
    client: &Client,
    profile: &Profile,
    case: GeneratedCase,
    properties: &[Property],
    clock: Clock,
) -> Exchange {
    judged(sent(client, profile, case, clock).await, profile, properties)
}

/// Sends one case and gives back the seat it took: an [`Exchange`] not judged yet.
async fn sent(client: &Client, profile: &Profile, case: GeneratedCase, clock: Clock) -> Exchange {
    let response = client.send(&case.request).await;
    let give_back = match &response {
        Ok(r) if r.status == 200 && case.value.kind == RequestKind::Activation => {
            give_back(client, profile, &case, r, clock).await
        }
        _ => None,
    };
    Exchange {
        case,
        response,
        give_back,
        violations: Vec::new(),
    }
}

/// `ex` with its answer judged against `properties`.
fn judged(mut ex: Exchange, profile: &Profile, properties: &[Property]) -> Exchange {
    ex.violations = properties
        .iter()
        .filter_map(|p| judge(*p, &ex, profile).map(|v| (*p, v)))
        .collect();
    ex
}

// ------------------------------------------------------------------ sending a stream of requests

/// How many generated requests a stream sends, and when it gives up on a target that does not
/// answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::suite) struct Budget {
    /// At most this many.
    pub(in crate::suite) requests: Option<usize>,
    /// For at most this long.
    pub(in crate::suite) time: Option<Duration>,
    /// The rest are not sent after this many requests in a row got no answer.
    pub(in crate::suite) give_up_after: usize,
}

impl Budget {
    /// `n` requests; three in a row without an answer end it.
    pub(in crate::suite) fn requests(n: usize) -> Budget {
        Budget {
            requests: Some(n),
            time: None,
            give_up_after: MAX_NO_ANSWER,
        }
    }

    fn allows(self, index: usize, started: Instant) -> bool {
        self.requests.is_none_or(|n| index < n) && self.time.is_none_or(|d| started.elapsed() < d)
    }
}

/// What a stream of generated requests did.
#[derive(Debug, Default)]
pub(in crate::suite) struct Streamed {
    /// Requests sent (each ended with an answer or an exchange error).
    pub(in crate::suite) sent: usize,
    /// Requests that got an HTTP answer.
    pub(in crate::suite) answered: usize,
    /// The stream stopped: [`Budget::give_up_after`] requests in a row got no answer.
    pub(in crate::suite) gave_up: bool,
    /// A request could not be made, or a request's task failed: the harness broke.
    pub(in crate::suite) harness_error: Option<String>,
    /// Requests drawn and not sent because a profile of the pair lacks what they name
    /// ([`stream_drawn`]): the request's index, the profile's place in the pair, and what it lacks.
    pub(in crate::suite) lacking: Vec<(usize, usize, String)>,
}

/// Sends generated requests from `seed` to `profile`'s target within `budget` (`options.jobs` at a
/// time, each bounded by `options.timeout`), judges each answer against `properties`, and hands
/// every [`Exchange`] to `on_exchange` as it ends; only what `on_exchange` keeps stays in memory.
/// After [`Budget::give_up_after`] requests in a row without an answer, the rest are not sent.
pub(in crate::suite) async fn stream(
    profile: &Profile,
    seed: u64,
    budget: Budget,
    options: &RunOptions,
    properties: &[Property],
    payload_time: SystemTime,
    on_exchange: impl FnMut(Exchange),
) -> Streamed {
    let pair = std::slice::from_ref(profile);
    stream_drawn(
        pair,
        0,
        seed,
        budget,
        options,
        properties,
        payload_time,
        on_exchange,
    )
    .await
}

/// [`stream`] to the target of `pair[side]` of the requests drawn for `pair[0]` (its license
/// roles, user and products, as `lsconform run --target pair[0]` draws them), each written for
/// `pair[side]` with [`GeneratedRequest::for_target`]: every side of `lsconform diff` sends
/// request *i* with the same role. A request naming what a profile of `pair` lacks (a license
/// role, the user, a product) is sent to none of them, never with another license:
/// [`Streamed::lacking`] says which and why.
#[allow(clippy::too_many_arguments)]
pub(in crate::suite) async fn stream_drawn(
    pair: &[Profile],
    side: usize,
    seed: u64,
    budget: Budget,
    options: &RunOptions,
    properties: &[Property],
    payload_time: SystemTime,
    mut on_exchange: impl FnMut(Exchange),
) -> Streamed {
    let profile = &pair[side];
    let started = Instant::now();
    let client = Client::new(profile, options.timeout);
    let clock = options.clock;
    let silent_in_a_row = Arc::new(AtomicUsize::new(0));
    let shared = Arc::new(profile.clone());
    let properties: Arc<[Property]> = properties.into();
    // The requests are made and written on a blocking thread (the strategy and its trees are not
    // Send) while the first ones are already being sent. They come over in batches: a thread woken
    // for each request costs more than writing it.
    const BATCH: usize = 16;
    let (made, batches) = tokio::sync::mpsc::channel::<Vec<Made>>(4);
    let producer = {
        let pair = pair.to_vec();
        tokio::task::spawn_blocking(move || {
            let strategy = strategies::generated_request(&pair[0]);
            let mut lacking = Vec::new();
            let (mut i, mut made_any) = (0, false);
            let mut batch = Vec::with_capacity(BATCH);
            while budget.allows(i, started) {
                let index = i;
                i += 1;
                let case =
                    match tree(&strategy, seed, index).map(|(_, t)| written_for(&t.current(), &pair, side)) {
                        Ok(Ok(value)) => value.render_at(
                            &pair[side],
                            index,
                            seed,
                            payload_time,
                            clock.now(),
                            Step::Generated,
                        ),
                        Ok(Err((s, why))) => {
                            lacking.push((index, s, why));
                            continue;
                        }
                        Err(e) => Err(e),
                    };
                let failed = case.is_err();
                batch.push(case);
                // The first request goes at once, the rest in batches.
                let full = failed || !made_any || batch.len() == BATCH;
                made_any = true;
                if full && (made.blocking_send(std::mem::take(&mut batch)).is_err() || failed) {
                    return lacking;
                }
            }
            if !batch.is_empty() {
                let _ = made.blocking_send(batch);
            }
            lacking
        })
    };
    // `options.jobs` senders, each taking the next request as soon as it has the answer to its
    // last (and has given the seat back); the answers are judged here, off the senders' path.
    let source = Arc::new(tokio::sync::Mutex::new(Source {
        batches,
        pending: std::collections::VecDeque::new(),
        stopped: None,
    }));
    let (answered, mut answers) = tokio::sync::mpsc::unbounded_channel::<Exchange>();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..options.jobs.max(1) {
        let (source, answered, client, silent, profile) = (
            Arc::clone(&source),
            answered.clone(),
            client.clone(),
            Arc::clone(&silent_in_a_row),
            Arc::clone(&shared),
        );
        senders.spawn(async move {
            loop {
                let Some(case) = source.lock().await.next(budget, started, &silent).await else {
                    return;
                };
                let ex = sent(&client, &profile, case, clock).await;
                // Counted before the next request is taken, so that it is sent knowing it.
                if ex.response.is_err() {
                    silent.fetch_add(1, Ordering::Relaxed);
                } else {
                    silent.store(0, Ordering::Relaxed);
                }
                if answered.send(ex).is_err() {
                    return;
                }
            }
        });
    }
    drop(answered);
    let mut out = Streamed::default();
    while let Some(ex) = answers.recv().await {
        let ex = judged(ex, &shared, &properties);
        out.sent += 1;
        out.answered += usize::from(ex.response.is_ok());
        on_exchange(ex);
    }
    while let Some(done) = senders.join_next().await {
        if let Err(e) = done {
            out.harness_error
                .get_or_insert(format!("a request's task failed: {e}"));
        }
    }
    match Arc::try_unwrap(source).map(tokio::sync::Mutex::into_inner) {
        Ok(Source {
            stopped: Some(Stopped::GaveUp),
            ..
        }) => out.gave_up = true,
        Ok(Source {
            stopped: Some(Stopped::Broken(e)),
            ..
        }) => out.harness_error = Some(e),
        // Dropping the source closes the channel: the writing thread ends.
        _ => {}
    }
    out.lacking = producer.await.unwrap_or_default();
    out
}

/// Request `value` (drawn for `pair[0]`) as `pair[side]` names it, when every profile of the pair
/// has what it names; else the first that lacks something, and what.
fn written_for(
    value: &GeneratedRequest,
    pair: &[Profile],
    side: usize,
) -> Result<GeneratedRequest, (usize, String)> {
    let mut written = pair
        .iter()
        .enumerate()
        .map(|(s, p)| value.for_target(p).map_err(|why| (s, why)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(written.swap_remove(side))
}

/// A request the writing thread made, or why it could not.
type Made = Result<GeneratedCase, String>;

/// Why the senders stopped before the budget was spent.
enum Stopped {
    /// [`Budget::give_up_after`] requests in a row got no answer.
    GaveUp,
    /// A request could not be made.
    Broken(String),
}

/// The requests the writing thread made, handed to the senders one at a time.
struct Source {
    batches: tokio::sync::mpsc::Receiver<Vec<Made>>,
    pending: std::collections::VecDeque<Made>,
    stopped: Option<Stopped>,
}

impl Source {
    /// The next request to send, or `None` when there is none, the budget is spent, the target
    /// stopped answering or a request could not be made.
    async fn next(
        &mut self,
        budget: Budget,
        started: Instant,
        silent: &AtomicUsize,
    ) -> Option<GeneratedCase> {
        if self.stopped.is_some() {
            return None;
        }
        if silent.load(Ordering::Relaxed) >= budget.give_up_after {
            self.stopped = Some(Stopped::GaveUp);
            return None;
        }
        let made = loop {
            if let Some(made) = self.pending.pop_front() {
                break made;
            }
            self.pending.extend(self.batches.recv().await?);
        };
        match made {
            Ok(case) if budget.allows(case.index, started) => Some(case),
            Ok(_) => None,
            Err(e) => {
                self.stopped = Some(Stopped::Broken(e));
                None
            }
        }
    }
}

// ------------------------------------------------------------------ the run

fn result(property: Property, rule: Rule, verdict: Verdict, elapsed: Duration) -> CaseResult {
    CaseResult {
        rules: property.rules().iter().map(|r| r.id).collect(),
        ..CaseResult::new(
            property.id(),
            rule.spec,
            rule.tag,
            rule.severity(),
            property.title(),
            verdict,
            elapsed,
        )
    }
}

/// What a run keeps of one property: how many requests it judged, how many broke it, and the
/// worst of them.
#[derive(Default)]
struct Tally {
    /// Requests that gave it something to judge.
    judged: usize,
    /// Requests that broke it with an answer.
    broken: usize,
    /// The most severe of those, the earliest among equals.
    first: Option<(Exchange, Violation)>,
    /// Requests that got no answer (for [`Property::NoServerError`]).
    silent: usize,
    /// The earliest of those.
    first_silent: Option<(Exchange, Violation)>,
}

impl Tally {
    fn add(&mut self, ex: &Exchange, v: &Violation) {
        let earlier = |kept: &Option<(Exchange, Violation)>, worse: bool| match kept {
            None => true,
            Some((k, kv)) => {
                (worse && v.rule.severity() > kv.rule.severity())
                    || (v.rule.severity() == kv.rule.severity() && ex.case.index < k.case.index)
            }
        };
        if v.no_answer {
            self.silent += 1;
            if earlier(&self.first_silent, false) {
                self.first_silent = Some((ex.clone(), v.clone()));
            }
        } else {
            self.broken += 1;
            if earlier(&self.first, true) {
                self.first = Some((ex.clone(), v.clone()));
            }
        }
    }
}

/// Sends `generate.requests` generated requests to `profile`'s target (`options.jobs` at a time,
/// each bounded by `options.timeout`), judges every answer against each selected [`Property`],
/// shrinks the first request that breaks one, and returns one [`CaseResult`] per property;
/// `progress` hears of each as it ends. Without credentials in the profile, the properties are
/// skipped; after three requests in a row without an answer, the rest are not sent.
pub async fn run(
    profile: &Profile,
    generate: &GenerateOptions,
    options: &RunOptions,
    progress: impl Fn(&CaseResult),
) -> Vec<CaseResult> {
    run_telling(profile, generate, options, progress, |_| {}).await
}

/// [`run`], and `answered` hears how many requests have been sent and judged so far as each one
/// ends (a progress line's count; shrinking comes after).
pub async fn run_telling(
    profile: &Profile,
    generate: &GenerateOptions,
    options: &RunOptions,
    progress: impl Fn(&CaseResult),
    answered: impl Fn(usize),
) -> Vec<CaseResult> {
    let started = Instant::now();
    let mut ended = 0usize;
    let properties = generate.properties.clone();
    if generate.requests == 0 || properties.is_empty() {
        return Vec::new();
    }
    let finish = |results: Vec<CaseResult>| {
        for r in &results {
            progress(r);
        }
        results
    };
    if profile.credentials.is_none() {
        return finish(
            properties
                .iter()
                .map(|p| CaseResult {
                    actual: Some("needs api_key and shared_key in the profile".into()),
                    ..result(*p, p.rule(), Verdict::Skipped, Duration::ZERO)
                })
                .collect(),
        );
    }
    let payload_time = options.clock.now();
    let seed = generate.seed;
    let mut tallies: Vec<Tally> = properties.iter().map(|_| Tally::default()).collect();
    let mut stuck: (usize, Option<Exchange>) = (0, None);
    let streamed = stream(
        profile,
        seed,
        Budget::requests(generate.requests),
        options,
        &properties,
        payload_time,
        |ex| {
            ended += 1;
            answered(ended);
            for (i, p) in properties.iter().enumerate() {
                tallies[i].judged += usize::from(judges(*p, &ex));
            }
            for (p, v) in &ex.violations {
                if let Some(i) = properties.iter().position(|q| q == p) {
                    tallies[i].add(&ex, v);
                }
            }
            // A seat a correctly accepted request took and could not give back.
            if ex.give_back.is_some() && ex.case.oracle.is_ok() {
                stuck.0 += 1;
                if stuck.1.as_ref().is_none_or(|s| ex.case.index < s.case.index) {
                    stuck.1 = Some(ex);
                }
            }
        },
    )
    .await;
    if let Some(why) = streamed.harness_error {
        return finish(
            properties
                .iter()
                .map(|p| CaseResult {
                    actual: Some(why.clone()),
                    ..result(*p, p.rule(), Verdict::Error, started.elapsed())
                })
                .collect(),
        );
    }
    let answered = streamed.answered;
    let unsent = generate.requests - streamed.sent;
    let mut results = Vec::new();
    for (property, tally) in properties.iter().copied().zip(tallies) {
        let elapsed = || started.elapsed();
        let Some((ex, found)) = tally.first else {
            // No answer to judge is an error of the case, never a pass.
            let r = match tally.first_silent {
                Some((ex, v)) => CaseResult {
                    expected: Some(v.mismatch.expected.clone()),
                    actual: Some(format!(
                        "{} of {} requests got no answer{}; the first, request #{}: {} ({})",
                        tally.silent,
                        generate.requests,
                        if unsent > 0 {
                            format!(" and {unsent} were not sent after {MAX_NO_ANSWER} in a row without an answer")
                        } else {
                            String::new()
                        },
                        ex.case.index,
                        v.mismatch.actual,
                        describe_seed(generate),
                    )),
                    request: Some(ex.case.request.clone()),
                    ..result(property, property.rule(), Verdict::Error, elapsed())
                },
                // Nothing to judge is an error, never a pass.
                None if answered == 0 => CaseResult {
                    actual: Some(format!(
                        "none of the {} generated requests got an answer to judge",
                        generate.requests
                    )),
                    ..result(property, property.rule(), Verdict::Error, elapsed())
                },
                // Answers, but none this property judges: an error too (README: "nothing to
                // judge is an error, never a pass").
                None if tally.judged == 0 => CaseResult {
                    actual: Some(format!(
                        "nothing to judge: none of the {answered} answered of {} generated requests got {} ({})",
                        generate.requests,
                        needs(property),
                        describe_seed(generate)
                    )),
                    ..result(property, property.rule(), Verdict::Error, elapsed())
                },
                None => CaseResult {
                    actual: Some(format!(
                        "held for all {} judged of {answered} answered of {} generated requests ({})",
                        tally.judged,
                        generate.requests,
                        describe_seed(generate)
                    )),
                    ..result(property, property.rule(), Verdict::Pass, elapsed())
                },
            };
            results.push(r);
            continue;
        };
        let (ex, v, how) =
            smallest_breaking(profile, seed, (ex, found), options, payload_time, property).await;
        let verdict = match v.rule.severity() {
            Severity::Must => Verdict::Fail,
            Severity::Should => Verdict::Warning,
        };
        let case_file = super::finding::case_file_of(&ex, profile, seed);
        results.push(CaseResult {
            case_file,
            expected: Some(format!(
                "{} [SPEC {}: {}]",
                v.mismatch.expected, v.rule.spec, v.rule.what
            )),
            actual: Some(format!(
                "{}; {how} ({}), a {}; {} of {answered} answered generated requests break this property",
                v.mismatch.actual,
                describe_seed(generate),
                ex.case.value.describe(),
                tally.broken,
            )),
            answer: ex.response.as_ref().ok().map(Answer::from),
            request: Some(ex.case.request),
            departs_from: Some(v.rule.id),
            ..result(property, v.rule, verdict, elapsed())
        });
    }
    // A seat a correctly accepted request took and could not give back is an error of the run.
    if let (n, Some(first)) = stuck {
        let rule = rules::ROUTE_DEACTIVATE;
        results.push(CaseResult {
            id: "generated/give-back".into(),
            actual: Some(format!(
                "{n} seat(s) taken by generated requests could not be given back; the first: {}",
                first.give_back.clone().unwrap_or_default()
            )),
            title: "Every seat a generated request took is given back with deactivate_offline".into(),
            request: Some(first.case.request.clone()),
            ..result(Property::SignedAnswer, rule, Verdict::Error, started.elapsed())
        });
    }
    finish(results)
}

/// `--seed S --generated N`, to say how to run the same requests again.
fn describe_seed(generate: &GenerateOptions) -> String {
    format!(
        "lsconform run --seed {} --generated {} sends them again",
        generate.seed, generate.requests
    )
}
