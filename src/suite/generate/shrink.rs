//! Shrinking: the smallest request that still shows what a request showed, against the live target.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant, SystemTime};

use proptest::test_runner::{TestCaseError, TestError};

use super::model::GeneratedRequest;
use super::properties::{Exchange, Violation};
use super::render::Step;
use super::run::{exchange, tree};
use super::{strategies, Property, MAX_SHRINK_STEPS, MAX_SHRINK_TIME};
use crate::suite::http::Client;
use crate::suite::profile::Profile;
use crate::suite::runner::RunOptions;
use crate::Clock;

/// The smallest request proptest found that `keep` still keeps, with what it kept: the
/// exchanges (one per target) and the steps it took.
struct Shrunk<T> {
    exchanges: Vec<Exchange>,
    kept: T,
    steps: usize,
    elapsed: Duration,
}

impl<T> Shrunk<T> {
    /// How it was found, for people.
    fn how(&self, index: usize) -> String {
        format!(
            "shrunk in {} step(s){} from request #{index}",
            self.steps,
            if self.steps as u32 >= MAX_SHRINK_STEPS || self.elapsed >= MAX_SHRINK_TIME {
                " (the limit: it may shrink further)"
            } else {
                ""
            }
        )
    }
}

/// One target a shrinking step is sent to.
struct Side {
    profile: Profile,
    client: Client,
}

/// Shrinks request `index` of the run from `seed` against live targets: proptest's `run_one` on
/// the request's value tree for the first side's profile, each step written for every side (the
/// same request, [`GeneratedRequest::for_target`], each with its own keys), sent to all of them
/// at once and judged against `properties` (on the runtime of `handle`, from this blocking
/// thread). `keep` says whether a step's exchanges (one per side, in order) still show the same
/// problem, and what it is. Each step's headers are dated by `clock`, its payload at `payload_time`.
#[allow(clippy::too_many_arguments)]
fn shrink<T>(
    handle: &tokio::runtime::Handle,
    sides: &[Side],
    seed: u64,
    index: usize,
    payload_time: SystemTime,
    clock: Clock,
    properties: &[Property],
    keep: impl Fn(&[Exchange]) -> Option<T>,
) -> Option<Shrunk<T>> {
    let started = Instant::now();
    let first = &sides.first()?.profile;
    let (mut runner, tree) = tree(&strategies::generated_request(first), seed, index).ok()?;
    let last: RefCell<Option<(Vec<Exchange>, T)>> = RefCell::new(None);
    let steps = Cell::new(0usize);
    let outcome = runner.run_one(tree, |value: GeneratedRequest| {
        steps.set(steps.get() + 1);
        // The first step is the request as the run sent it, request id and all: the same bytes
        // show the same again (SPEC §5.5 has the same request id with the same payload answered
        // alike); a request id of its own would change every MAC and Base64 character after it.
        let step = if steps.get() == 1 {
            Step::Generated
        } else {
            Step::Shrinking
        };
        let now = clock.now();
        let mut cases = Vec::with_capacity(sides.len());
        for side in sides {
            let rendered = value.for_target(&side.profile).ok().and_then(|v| {
                v.render_at(&side.profile, index, seed, payload_time, now, step)
                    .ok()
            });
            // A step one side cannot be sent keeps nothing.
            let Some(case) = rendered else { return Ok(()) };
            cases.push(case);
        }
        let exchanges =
            handle.block_on(futures_util::future::join_all(sides.iter().zip(cases).map(
                |(side, case)| exchange(&side.client, &side.profile, case, properties, clock),
            )));
        match keep(&exchanges) {
            Some(kept) => {
                *last.borrow_mut() = Some((exchanges, kept));
                Err(TestCaseError::fail("still shows it"))
            }
            None => Ok(()),
        }
    });
    match outcome {
        Err(TestError::Fail(..)) => last.into_inner().map(|(exchanges, kept)| Shrunk {
            exchanges,
            kept,
            steps: steps.get().saturating_sub(1),
            elapsed: started.elapsed(),
        }),
        _ => None,
    }
}

/// [`shrink`] on a blocking thread of the current runtime, against `profiles` (each with a client
/// bounded by `options.timeout`).
async fn shrink_on<T: Send + 'static>(
    profiles: Vec<Profile>,
    seed: u64,
    index: usize,
    options: &RunOptions,
    payload_time: SystemTime,
    properties: Vec<Property>,
    keep: impl Fn(&[Exchange]) -> Option<T> + Send + 'static,
) -> Option<Shrunk<T>> {
    let handle = tokio::runtime::Handle::current();
    let sides: Vec<Side> = profiles
        .into_iter()
        .map(|profile| Side {
            client: Client::new(&profile, options.timeout),
            profile,
        })
        .collect();
    let clock = options.clock;
    tokio::task::spawn_blocking(move || {
        shrink(
            &handle,
            &sides,
            seed,
            index,
            payload_time,
            clock,
            &properties,
            keep,
        )
    })
    .await
    .ok()
    .flatten()
}

/// The smallest request that still shows what `found` showed: [`shrink`] from `found`'s request,
/// on a blocking thread of the current runtime; `found` itself when it does not show it again.
/// Returns the exchange, what it broke, and how it was found, for people.
pub(in crate::suite) async fn smallest(
    profile: &Profile,
    seed: u64,
    found: (Exchange, Violation),
    options: &RunOptions,
    payload_time: SystemTime,
    properties: Vec<Property>,
    keep: impl Fn(&Exchange) -> Option<Violation> + Send + 'static,
) -> (Exchange, Violation, String) {
    let index = found.0.case.index;
    let shrunk = shrink_on(
        vec![profile.clone()],
        seed,
        index,
        options,
        payload_time,
        properties,
        move |exchanges| exchanges.first().and_then(&keep),
    )
    .await;
    match shrunk {
        Some(mut s) if !s.exchanges.is_empty() => {
            let how = s.how(index);
            (s.exchanges.swap_remove(0), s.kept, how)
        }
        _ => (
            found.0,
            found.1,
            format!("request #{index}; it did not show the same again when re-sent, so it is not shrunk"),
        ),
    }
}

/// The smallest request that still shows a difference between two targets (`profiles`, with the
/// same roles): [`shrink`] request `index` of the run, each step written for both (each with its
/// own keys) and sent to both at once; `keep` says whether the two exchanges still show the same
/// difference. Returns both exchanges and how they were found, or `None` when the difference did
/// not show again.
pub(in crate::suite) async fn smallest_difference(
    profiles: [&Profile; 2],
    seed: u64,
    index: usize,
    options: &RunOptions,
    payload_time: SystemTime,
    properties: Vec<Property>,
    keep: impl Fn(&Exchange, &Exchange) -> bool + Send + 'static,
) -> Option<([Exchange; 2], String)> {
    let shrunk = shrink_on(
        profiles.iter().map(|p| (*p).clone()).collect(),
        seed,
        index,
        options,
        payload_time,
        properties,
        move |exchanges| match exchanges {
            [a, b] if keep(a, b) => Some(()),
            _ => None,
        },
    )
    .await?;
    let how = shrunk.how(index);
    let [a, b]: [Exchange; 2] = shrunk.exchanges.try_into().ok()?;
    Some(([a, b], how))
}

/// [`smallest`] for one property: the smallest request that still breaks `property`, with an
/// answer, at least as severely as `found` did (what `lsconform run` keeps).
pub(super) async fn smallest_breaking(
    profile: &Profile,
    seed: u64,
    found: (Exchange, Violation),
    options: &RunOptions,
    payload_time: SystemTime,
    property: Property,
) -> (Exchange, Violation, String) {
    let severity = found.1.rule.severity();
    smallest(
        profile,
        seed,
        found,
        options,
        payload_time,
        vec![property],
        move |ex| {
            ex.violations
                .iter()
                .find(|(p, v)| *p == property && !v.no_answer && v.rule.severity() >= severity)
                .map(|(_, v)| v.clone())
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::server::ReferenceServer;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shrinking_starts_from_the_bytes_the_run_sent() {
        // The run's request id, MACs and Base64 text are sent again as they were: a mutation whose
        // effect depends on the bytes around it (a flipped Base64 character, an upper-cased MAC)
        // then shows the same again, and the finding is shrunk.
        let server = ReferenceServer::builder().start().await.unwrap();
        let profile = Profile::reference(server.uri());
        let strategy = strategies::generated_request(&profile);
        let (seed, payload_time) = (5, SystemTime::now() - Duration::from_secs(3));
        for index in 0..32 {
            let (_, t) = tree(&strategy, seed, index).unwrap();
            let run = t.current();
            let run = run
                .render_at(
                    &profile,
                    index,
                    seed,
                    payload_time,
                    SystemTime::now(),
                    Step::Generated,
                )
                .unwrap();
            let first: Arc<Mutex<Vec<Option<Vec<u8>>>>> = Arc::default();
            let record = Arc::clone(&first);
            let none = shrink_on(
                vec![profile.clone()],
                seed,
                index,
                &RunOptions::default(),
                payload_time,
                Vec::new(),
                move |ex| {
                    record.lock().unwrap().push(ex[0].case.request.body.clone());
                    None::<()>
                },
            )
            .await;
            assert!(none.is_none());
            let first = first.lock().unwrap();
            assert!(
                *first == [run.request.body],
                "request #{index}: the first step sent other bytes than the run"
            );
        }
        server.shutdown().await;
    }
}
