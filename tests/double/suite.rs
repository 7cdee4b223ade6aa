//! The conformance suite (`lsconform run`) against the double, with the reference seed's data
//! and the reference server's target profile: the double must pass what the reference passes.

use lsconform::double::ActivationDoubleBuilder;
use lsconform::protocol::ErrorBody;
use lsconform::server::{ReferenceServer, REFERENCE_SEED};
use lsconform::suite::{cases, run, Baseline, Profile, Report, RunOptions, Verdict};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_suite_passes_against_the_double() {
    let double = ActivationDoubleBuilder::from_toml(REFERENCE_SEED)
        .expect("the seed is a configuration")
        .start()
        .await;
    let profile = Profile::reference(double.uri());
    let cases = cases().expect("every case file is valid");
    let n = cases.len();
    let results = run(cases, &profile, &RunOptions::default(), |_| {}).await;
    let report = Report::new("double".into(), results, &Baseline::default(), Default::default()).strict(true);
    let failing: Vec<String> = report
        .unexpected()
        .map(|r| {
            format!(
                "{} ({:?}): expected {}, got {}",
                r.id,
                r.verdict,
                r.expected.as_deref().unwrap_or("-"),
                r.actual.as_deref().unwrap_or("-")
            )
        })
        .collect();
    assert!(
        failing.is_empty(),
        "{} of {n} cases:\n{}",
        failing.len(),
        failing.join("\n")
    );
    eprintln!("{n} cases, {} pass", report.count(Verdict::Pass));
    assert_eq!(report.count(Verdict::Pass), n, "every case runs and passes");
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_a_double_scripted_to_misbehave() {
    use lsconform::double::{Fault, Requests};
    let double = ActivationDoubleBuilder::from_toml(REFERENCE_SEED)
        .expect("the seed is a configuration")
        .fault(Fault::bad_license_signature_v2().times(u64::MAX))
        .fault(Fault::status(503).times(u64::MAX).when(Requests::deactivations()))
        .start()
        .await;
    let profile = Profile::reference(double.uri());
    let results = run(cases().expect("valid"), &profile, &RunOptions::default(), |_| {}).await;
    let report = Report::new("double".into(), results, &Baseline::default(), Default::default()).strict(true);
    let failing: Vec<&str> = report.unexpected().map(|r| r.id.as_str()).collect();
    eprintln!("{} cases catch the faults: {failing:?}", failing.len());
    assert!(!failing.is_empty());
    assert_eq!(report.exit_code(), 1);
}

/// Status and error code of each case's answer, by case id.
fn answers(results: &[lsconform::suite::CaseResult]) -> std::collections::BTreeMap<String, (u16, String)> {
    results
        .iter()
        .filter_map(|r| {
            let a = r.answer.as_ref()?;
            let code = ErrorBody::parse(a.body.as_bytes(), a.status)
                .map(|b| b.code)
                .unwrap_or_default();
            Some((r.id.clone(), (a.status, code)))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_s_cases_get_the_same_status_and_code_from_the_double_as_from_the_reference() {
    let reference = ReferenceServer::builder()
        .start()
        .await
        .expect("the reference server starts");
    let double = ActivationDoubleBuilder::from_toml(REFERENCE_SEED)
        .expect("the seed is a configuration")
        .start()
        .await;
    let options = RunOptions {
        jobs: 1,
        ..RunOptions::default()
    };
    let on_reference = run(
        cases().expect("valid"),
        &Profile::reference(reference.uri()),
        &options,
        |_| {},
    )
    .await;
    let on_double = run(
        cases().expect("valid"),
        &Profile::reference(double.uri()),
        &options,
        |_| {},
    )
    .await;
    let (r, d) = (answers(&on_reference), answers(&on_double));
    assert_eq!(r.keys().collect::<Vec<_>>(), d.keys().collect::<Vec<_>>());
    let differences: Vec<String> = r
        .iter()
        .filter(|(id, answer)| d.get(*id) != Some(answer))
        .map(|(id, answer)| format!("{id}: reference {answer:?}, double {:?}", d.get(id)))
        .collect();
    eprintln!("{} cases with an answer compared", r.len());
    assert!(differences.is_empty(), "differences:\n{}", differences.join("\n"));
    assert!(r.len() > 90, "only {} cases kept an answer", r.len());
    reference.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzing_the_double_with_the_reference_data_finds_nothing() {
    use lsconform::suite::fuzz::{fuzz, FuzzOptions};
    let double = ActivationDoubleBuilder::from_toml(REFERENCE_SEED)
        .expect("the seed is a configuration")
        .start()
        .await;
    let options = FuzzOptions::new(17)
        .duration(std::time::Duration::from_secs(600))
        .requests(500);
    let report = fuzz(
        &Profile::reference(double.uri()),
        &options,
        &RunOptions::default(),
        |_| {},
    )
    .await;
    assert_eq!((report.sent, report.answered), (500, 500));
    let findings: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{}: expected {}, got {}", f.id(), f.expected, f.actual))
        .collect();
    assert!(findings.is_empty(), "{findings:#?}");
}
