//! Shrinking: the smallest request that still shows what a request showed, against the live target.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant, SystemTime};

use proptest::test_runner::{TestCaseError, TestError};

use super::model::GeneratedRequest;
use super::properties::{Exchange, Violation};
use super::run::{exchange, tree};
use super::{strategies, Property, MAX_SHRINK_STEPS, MAX_SHRINK_TIME};
use crate::suite::http::Client;
use crate::suite::profile::Profile;
use crate::suite::runner::RunOptions;

/// The smallest request proptest found that `keep` still keeps (what the request broke).
struct Shrunk {
    exchange: Exchange,
    violation: Violation,
    steps: usize,
    elapsed: Duration,
}

impl Shrunk {
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

/// Shrinks request `index` of the run from `seed` against the live target: proptest's `run_one`
/// on the request's own value tree, each step written, sent again and judged against `properties`
/// (on the runtime of `handle`, from this blocking thread). `keep` says whether a step still shows
/// the same problem, and which.
#[allow(clippy::too_many_arguments)]
fn shrink(
    handle: &tokio::runtime::Handle,
    profile: &Profile,
    seed: u64,
    index: usize,
    client: &Client,
    payload_time: SystemTime,
    properties: &[Property],
    keep: impl Fn(&Exchange) -> Option<Violation>,
) -> Option<Shrunk> {
    let started = Instant::now();
    let (mut runner, tree) = tree(&strategies::generated_request(profile), seed, index).ok()?;
    let last: RefCell<Option<(Exchange, Violation)>> = RefCell::new(None);
    let steps = Cell::new(0usize);
    let outcome = runner.run_one(tree, |value: GeneratedRequest| {
        steps.set(steps.get() + 1);
        let Ok(case) = value.render_at(profile, index, seed, payload_time, SystemTime::now()) else {
            return Ok(());
        };
        let ex = handle.block_on(exchange(client, profile, case, properties));
        match keep(&ex) {
            Some(v) => {
                let why = format!("{}: {}", v.mismatch.expected, v.mismatch.actual);
                *last.borrow_mut() = Some((ex, v));
                Err(TestCaseError::fail(why))
            }
            None => Ok(()),
        }
    });
    match outcome {
        Err(TestError::Fail(..)) => last.into_inner().map(|(exchange, violation)| Shrunk {
            exchange,
            violation,
            steps: steps.get().saturating_sub(1),
            elapsed: started.elapsed(),
        }),
        _ => None,
    }
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
    let handle = tokio::runtime::Handle::current();
    let (profile, client) = (profile.clone(), Client::new(profile, options.timeout));
    let shrunk = tokio::task::spawn_blocking(move || {
        shrink(
            &handle,
            &profile,
            seed,
            index,
            &client,
            payload_time,
            &properties,
            keep,
        )
    })
    .await
    .ok()
    .flatten();
    match shrunk {
        Some(s) => {
            let how = s.how(index);
            (s.exchange, s.violation, how)
        }
        None => (
            found.0,
            found.1,
            format!("request #{index}; it did not show the same again when re-sent, so it is not shrunk"),
        ),
    }
}

/// [`smallest`] for one property: the smallest request that still breaks `property`, with an
/// answer, at least as severely as `found` did (what `lsconform run` and `lsconform diff` keep).
pub(in crate::suite) async fn smallest_breaking(
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
