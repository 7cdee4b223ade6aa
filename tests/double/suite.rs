//! The conformance suite (`lsconform run`) against the double, with the reference seed's data
//! and the reference server's target profile: the double must pass what the reference passes.

use lsconform::double::ActivationDoubleBuilder;
use lsconform::server::REFERENCE_SEED;
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
