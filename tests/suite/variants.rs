//! The other direction of the proof (SPEC §10): against the reference server with each named
//! *conforming variant* (another answer SPEC allows at one point), alone and all at once, the
//! whole suite, the generated properties and the fuzzer report nothing worse than warnings. The
//! faults show each check can fail; the variants show no check fails a server SPEC allows.

use std::time::Duration;

use lsconform::server::{Fault, ReferenceServer, Variant};
use lsconform::suite::case::Severity;
use lsconform::suite::fuzz::{fuzz, FuzzOptions};
use lsconform::suite::generate::{self, GenerateOptions};
use lsconform::suite::{cases, run, CaseResult, Profile, RunOptions, Verdict};

/// Requests of each kind sent against one variant alone, and against all of them at once.
const ALONE: (usize, usize) = (1000, 20_000);
const ALL_AT_ONCE: (usize, usize) = (1000, 20_000);

/// Every case, `generated` generated requests and `fuzzed` fuzzed ones against a reference server
/// with `variants`: the results that are failures or errors, and the MUST findings, as text; and
/// how many answers each variant changed.
async fn nonconforming_verdicts(
    variants: &[Variant],
    (generated, fuzzed): (usize, usize),
    seed: u64,
) -> (Vec<String>, Vec<(Variant, u64)>) {
    let mut builder = ReferenceServer::builder();
    for v in variants {
        builder = builder.variant(*v);
    }
    nonconforming_verdicts_of(builder, (generated, fuzzed), seed).await
}

/// [`nonconforming_verdicts`] against the server `builder` starts.
async fn nonconforming_verdicts_of(
    builder: lsconform::server::ReferenceServerBuilder,
    (generated, fuzzed): (usize, usize),
    seed: u64,
) -> (Vec<String>, Vec<(Variant, u64)>) {
    let server = builder.start().await.expect("the reference server starts");
    let profile = Profile::reference(server.uri());
    let options = RunOptions::default();
    let mut results: Vec<CaseResult> = run(
        cases().expect("the case files are valid"),
        &profile,
        &options,
        |_| {},
    )
    .await;
    results.extend(generate::run(&profile, &GenerateOptions::new(generated, seed), &options, |_| {}).await);
    let fuzzing = FuzzOptions::new(seed)
        .duration(Duration::from_secs(600))
        .requests(fuzzed);
    let report = fuzz(&profile, &fuzzing, &options, |_| {}).await;
    let effects = server.variant_effects();
    server.shutdown().await;
    let mut bad: Vec<String> = results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Fail | Verdict::Error))
        .map(|r| {
            format!(
                "{} {:?}: expected {:?}, got {:?}",
                r.id, r.verdict, r.expected, r.actual
            )
        })
        .collect();
    assert!(report.harness_error.is_none(), "{:?}", report.harness_error);
    assert_eq!(report.sent, fuzzed, "every fuzzed request was sent");
    bad.extend(
        report
            .findings
            .iter()
            .filter(|f| f.severity() == Severity::Must)
            .map(|f| {
                format!(
                    "fuzz {} ({}): expected {}, got {}",
                    f.id(),
                    f.rule.what,
                    f.expected,
                    f.actual
                )
            }),
    );
    (bad, effects)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_check_fails_the_reference_server_with_any_one_conforming_variant() {
    let mut failures = Vec::new();
    // Every variant is run, and must have changed answers the suite judged: a variant the suite
    // never reaches proves nothing, and a new one cannot be left out of the proof.
    for (i, variant) in Variant::ALL.iter().enumerate() {
        let (bad, effects) = nonconforming_verdicts(&[*variant], ALONE, 1000 + i as u64).await;
        for verdict in bad {
            failures.push(format!("{}: {verdict}", variant.name()));
        }
        if effects != [(*variant, effects.first().map_or(0, |e| e.1))] || effects[0].1 == 0 {
            failures.push(format!(
                "{}: not exercised by the suite ({effects:?})",
                variant.name()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A fault of a [pinned] rule (not safety) is another answer SPEC allows, held as a warning at
/// most (SPEC's table of tags; §10: e.g. §2's order, 404 for a wrong method): like a variant, it
/// must give no failure and no error anywhere, cases, generated requests or the fuzzer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_check_fails_the_reference_server_with_any_one_fault_of_a_pinned_rule() {
    let pinned: Vec<Fault> = Fault::ALL
        .iter()
        .copied()
        .filter(|f| f.rule().severity() == Severity::Should)
        .collect();
    assert!(pinned.len() >= 10, "the faults of [pinned] rules: {pinned:?}");
    let mut failures = Vec::new();
    for (i, fault) in pinned.iter().enumerate() {
        let builder = ReferenceServer::builder().fault(*fault);
        let (bad, _) = nonconforming_verdicts_of(builder, ALONE, 3000 + i as u64).await;
        failures.extend(bad.into_iter().map(|b| format!("{}: {b}", fault.name())));
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_check_fails_the_reference_server_with_every_conforming_variant_at_once() {
    let (failures, _) = nonconforming_verdicts(Variant::ALL, ALL_AT_ONCE, 2026).await;
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The rows of the issue that led to the variants: what another conforming server answered, and
/// what the suite must say of it now (a pass or a warning; never a failure).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_answer_spec_allows_is_a_pass_or_a_warning() {
    let rows: &[(&str, Variant, Verdict)] = &[
        (
            "envelope/date-before-a-bad-body",
            Variant::BodyBeforeAuthorization,
            Verdict::Warning,
        ),
        (
            "payload/request-id-omitted",
            Variant::OmitRequestId,
            Verdict::Warning,
        ),
        (
            "signature/schema-2-inner-null",
            Variant::OddSignatureMismatch,
            Verdict::Warning,
        ),
        (
            "signature/schema-2-inner-not-a-string",
            Variant::OddSignatureMismatch,
            Verdict::Warning,
        ),
        (
            "signature/schema-2-inner-not-a-string",
            Variant::OddOptionalAbsent,
            Verdict::Warning,
        ),
        (
            "payload/request-null",
            Variant::SignaturesBeforeKind,
            Verdict::Pass,
        ),
        // The case puts the surrogate where only the outer MAC, over the raw bytes, covers it: a
        // server reading it leniently has nothing else to refuse, and refuses it the same way.
        ("json/unpaired-surrogate", Variant::SurrogatesRead, Verdict::Pass),
        ("date/javascript-form", Variant::OtherDateForms, Verdict::Warning),
        ("auth/bearer-token", Variant::Bearer401, Verdict::Warning),
        ("envelope/empty-body", Variant::MissingContent, Verdict::Warning),
        (
            "signature/schema-1-inner-corrupt",
            Variant::SignatureMismatch400,
            Verdict::Warning,
        ),
    ];
    let all = cases().expect("the case files are valid");
    for (id, variant, verdict) in rows {
        let case: Vec<_> = all.iter().filter(|c| c.id() == *id).cloned().collect();
        assert_eq!(case.len(), 1, "{id} is a case");
        let server = ReferenceServer::builder()
            .variant(*variant)
            .start()
            .await
            .expect("the reference server starts");
        let results = run(
            case,
            &Profile::reference(server.uri()),
            &RunOptions::default(),
            |_| {},
        )
        .await;
        server.shutdown().await;
        assert_eq!(
            results[0].verdict,
            *verdict,
            "{id} against {}: {:?} / {:?}",
            variant.name(),
            results[0].expected,
            results[0].actual
        );
    }
}

/// The one real finding of the rows: a server that answers 500 to an optional member of another
/// type fails, whatever else SPEC allows for that request (SPEC §10: never a 5xx).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_is_a_failure_even_where_spec_allows_several_answers() {
    use wiremock::matchers::any;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let broken = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&broken)
        .await;
    let case: Vec<_> = cases()
        .expect("the case files are valid")
        .into_iter()
        .filter(|c| c.id() == "payload/request-id-not-a-string")
        .collect();
    let results = run(
        case,
        &Profile::reference(broken.uri()),
        &RunOptions::default(),
        |_| {},
    )
    .await;
    assert_eq!(results[0].verdict, Verdict::Fail, "{:?}", results[0].actual);
}
