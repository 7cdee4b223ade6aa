//! Time is a parameter (issue 21): the whole suite (every data case and check, generated requests,
//! a short fuzz run) against the reference server, the suite's clock and the server's pinned to the
//! same instants, the days and seconds where dates are written differently or roll over: the 1st,
//! 9th and 10th of a month (a JavaScript date's day is not padded: `Dec 9`, `Dec 10`), 29 February,
//! the last seconds of a year, the last seconds of a minute. The plain reference is held strictly
//! (no warning either); with every conforming variant on, warnings are allowed.

use std::time::{Duration, SystemTime};

use lsconform::protocol::parse_http_date;
use lsconform::server::{ReferenceServer, Variant};
use lsconform::suite::case::Severity;
use lsconform::suite::fuzz::{fuzz, FuzzOptions};
use lsconform::suite::generate::{self, GenerateOptions};
use lsconform::suite::{cases, run, Baseline, CaseResult, Profile, Report, RunOptions, Verdict};
use lsconform::Clock;

/// Generated and fuzzed requests at each instant: enough to write every layout and date form the
/// strategies know, few enough for CI's two cores.
const GENERATED: usize = 300;
const FUZZED: usize = 300;

/// Everything at `instant` against a reference server with `variants`, both on one clock: what
/// must not be there (failures and errors; warnings too against the plain reference; fuzz
/// findings, MUST ones only with variants on), as text naming the instant.
async fn nonconforming_at(instant: &str, variants: &[Variant], seed: u64) -> Vec<String> {
    let clock: Clock = instant.parse().expect("an RFC 3339 instant");
    let mut builder = ReferenceServer::builder().clock(clock);
    for v in variants {
        builder = builder.variant(*v);
    }
    let server = builder.start().await.expect("the reference server starts");
    let profile = Profile::reference(server.uri());
    let options = RunOptions {
        clock,
        ..RunOptions::default()
    };
    let mut results: Vec<CaseResult> = run(
        cases().expect("the case files are valid"),
        &profile,
        &options,
        |_| {},
    )
    .await;
    let pinned = pinned_both(instant, &results);
    results.extend(generate::run(&profile, &GenerateOptions::new(GENERATED, seed), &options, |_| {}).await);
    let fuzzing = FuzzOptions::new(seed)
        .duration(Duration::from_secs(600))
        .requests(FUZZED);
    let fuzzed = fuzz(&profile, &fuzzing, &options, |_| {}).await;
    server.shutdown().await;
    let strict = variants.is_empty();
    let report = Report::new(instant.into(), results, &Baseline::default(), Duration::ZERO).strict(strict);
    let mut bad: Vec<String> = report
        .unexpected()
        .map(|r| {
            format!(
                "{instant} {} {}: expected {:?}, got {:?}",
                r.id,
                r.verdict.name(),
                r.expected,
                r.actual
            )
        })
        .collect();
    bad.extend(pinned.err().map(|why| format!("{instant}: {why}")));
    if let Some(e) = &fuzzed.harness_error {
        bad.push(format!("{instant} fuzz: the harness broke: {e}"));
    }
    if fuzzed.sent != FUZZED {
        bad.push(format!(
            "{instant} fuzz: {} of {FUZZED} requests sent",
            fuzzed.sent
        ));
    }
    bad.extend(
        fuzzed
            .findings
            .iter()
            .filter(|f| strict || f.severity() == Severity::Must)
            .map(|f| {
                format!(
                    "{instant} fuzz {} ({}): expected {}, got {}",
                    f.id(),
                    f.rule.what,
                    f.expected,
                    f.actual
                )
            }),
    );
    bad
}

/// That the run was at `instant` on both sides: every accepted activation's answer `date` (the
/// server's clock) is within ten minutes after it, and the Date header it was sent with (the
/// suite's clock) within the 15 minutes SPEC §2 allows either side of that. Without this, a clock
/// that was not passed on would pass on most days.
fn pinned_both(instant: &str, results: &[CaseResult]) -> Result<(), String> {
    let at = time::OffsetDateTime::parse(instant, &time::format_description::well_known::Rfc3339)
        .map(SystemTime::from)
        .map_err(|e| e.to_string())?;
    let window = Duration::from_secs(600);
    let skew = Duration::from_secs(15 * 60 + 1);
    let mut accepted = 0;
    for r in results {
        let Some(answer) = r.answer.as_ref().filter(|a| a.status == 200) else {
            continue;
        };
        let Ok(body) = serde_json::from_str::<serde_json::Value>(&answer.body) else {
            continue;
        };
        let Some(answered) = body.get("date").and_then(|d| d.as_str()) else {
            continue;
        };
        accepted += 1;
        if !parse_http_date(answered).is_some_and(|t| t >= at && t < at + window) {
            return Err(format!(
                "{}: the answer's date {answered:?} is not the server's pinned clock",
                r.id
            ));
        }
        let sent = r
            .request
            .iter()
            .flat_map(|p| &p.headers)
            .find(|(n, _)| n == "Date");
        if let Some((_, sent)) = sent {
            if parse_http_date(sent).is_some_and(|t| t + skew < at || t > at + window + skew) {
                return Err(format!(
                    "{}: the Date sent {sent:?} is not the suite's pinned clock",
                    r.id
                ));
            }
        }
    }
    match accepted {
        0 => Err("no accepted activation to read the dates of".into()),
        _ => Ok(()),
    }
}

async fn clean_at(instant: &str, seed: u64) {
    let bad = nonconforming_at(instant, &[], seed).await;
    assert!(bad.is_empty(), "{bad:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_is_clean_on_the_1st_of_a_month() {
    clean_at("2026-03-01T08:05:09Z", 2101).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_is_clean_on_the_9th_of_a_month() {
    clean_at("2026-12-09T22:25:28Z", 2109).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_is_clean_on_the_10th_of_a_month() {
    clean_at("2026-12-10T01:02:03Z", 2110).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_is_clean_on_29_february() {
    clean_at("2028-02-29T12:00:00Z", 2229).await;
}

/// The last ten seconds of a year: the Dates the cases send 14 and 16 minutes ahead, and the
/// server's validity and answer dates after them, are the next year's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_is_clean_on_31_december_at_23_59_50() {
    clean_at("2026-12-31T23:59:50Z", 2231).await;
}

/// Two seconds before a minute boundary, which is also an hour's, a day's and a month's (28 February
/// of a common year): the clocks roll over while the cases run (the suite takes 2 to 4 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_is_clean_across_a_minute_boundary() {
    clean_at("2027-02-28T23:59:58Z", 2359).await;
}

/// Every conforming variant on (among them the other Date forms, which read JavaScript's dates):
/// nothing worse than a warning on the 7th, whose day a JavaScript date writes as `7`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_conforming_variant_is_conforming_on_the_7th_of_a_month() {
    let bad = nonconforming_at("2026-12-07T22:25:28Z", Variant::ALL, 2107).await;
    assert!(bad.is_empty(), "{bad:#?}");
}

/// The row of `variants.rs` that was red on days 1 to 9 of every month (a JavaScript date's day is
/// not padded, `Mon Dec 7 2026`, and was not read), at those days and the 10th: a server that reads
/// JavaScript's dates accepts the case's, which is allowed where the reference refuses (a warning).
/// With every variant on, `imf-fixdate-only` refuses other forms first, so the run above cannot
/// show it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_javascript_date_is_read_on_single_digit_days() {
    let case: Vec<_> = cases()
        .expect("the case files are valid")
        .into_iter()
        .filter(|c| c.id() == "date/javascript-form")
        .collect();
    assert_eq!(case.len(), 1, "date/javascript-form is a case");
    let mut wrong = Vec::new();
    for instant in [
        "2026-12-01T00:00:01Z",
        "2026-12-07T22:25:28Z",
        "2027-01-09T23:59:58Z",
        "2027-01-10T00:00:00Z",
    ] {
        let clock: Clock = instant.parse().expect("an RFC 3339 instant");
        let server = ReferenceServer::builder()
            .clock(clock)
            .variant(Variant::OtherDateForms)
            .start()
            .await
            .expect("the reference server starts");
        let options = RunOptions {
            clock,
            ..RunOptions::default()
        };
        let results = run(case.clone(), &Profile::reference(server.uri()), &options, |_| {}).await;
        let effects = server.variant_effects();
        server.shutdown().await;
        let r = &results[0];
        if r.verdict != Verdict::Warning || effects != [(Variant::OtherDateForms, 1)] {
            wrong.push(format!(
                "{instant}: {} (expected a warning, the variant accepting the Date {:?}); {:?} / {:?}; {effects:?}",
                r.verdict.name(),
                r.request.iter().flat_map(|p| &p.headers).find(|(n, _)| n == "Date"),
                r.expected,
                r.actual
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
