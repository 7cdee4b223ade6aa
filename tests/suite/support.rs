//! Running the suite in-process against a reference server.

use lsconform::server::{Fault, ReferenceServer};
use lsconform::suite::{cases, run, Baseline, Case, CaseResult, Profile, Report, RunOptions};

/// Runs `cases` against a fresh reference server with these faults.
pub async fn run_against_reference(faults: &[Fault], cases: Vec<Case>) -> Report {
    let mut builder = ReferenceServer::builder();
    for f in faults {
        builder = builder.fault(*f);
    }
    let server = builder.start().await.expect("the reference server starts");
    let profile = Profile::reference(server.uri());
    let results: Vec<CaseResult> = run(cases, &profile, &RunOptions::default(), |_| {}).await;
    server.shutdown().await;
    Report::new(
        "reference".into(),
        results,
        &Baseline::default(),
        Default::default(),
    )
    .strict(true)
}

/// Every case.
pub fn all_cases() -> Vec<Case> {
    cases().expect("every case file is valid")
}
