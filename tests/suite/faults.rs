//! The fault matrix: every named fault of the reference server makes a (strict) run fail, naming
//! the cases that caught it; every MUST case catches at least one fault, or is listed below with
//! the reason it cannot.

use std::collections::{BTreeMap, BTreeSet};

use lsconform::server::Fault;
use lsconform::suite::case::Severity;
use lsconform::suite::Verdict;

use crate::support::{all_cases, run_against_reference};

/// MUST cases that no named fault can make fail, and why.
const NOT_FAULT_TESTABLE: &[(&str, &str)] = &[];

/// Faults that no HTTP exchange can show, so no suite case can catch them; each is listed with
/// the reason and the process-level test that catches it instead. The suite must still pass
/// against each (a listed fault the suite catches belongs in the matrix, not here).
const CAUGHT_OUTSIDE_THE_SUITE: &[(Fault, &str)] = &[(
    Fault::NoSync,
    "SPEC §5.6: an unsynced commit is still in the page cache, so every later answer is the same; \
     tests/reference_server/durability.rs (durability_syncs_every_acknowledged_activation_to_disk) \
     counts the server's sync calls under strace and fails it",
)];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_suite_passes_against_the_reference_server() {
    let report = run_against_reference(&[], all_cases()).await;
    let bad: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| {
            format!(
                "{} {:?}: expected {:?}, got {:?}",
                r.id, r.verdict, r.expected, r.actual
            )
        })
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_fault_is_caught_and_every_must_case_catches_a_fault() {
    let cases = all_cases();
    let must: BTreeSet<String> = cases
        .iter()
        .filter(|c| c.severity() == Severity::Must)
        .map(|c| c.id().to_owned())
        .collect();
    let mut caught_by: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    let mut matrix = String::from("\nfault                        SPEC   caught by\n");
    let mut uncaught = Vec::new();
    for fault in Fault::ALL {
        let report = run_against_reference(&[*fault], all_cases()).await;
        let catching: Vec<&str> = report
            .results
            .iter()
            .filter(|r| r.verdict != Verdict::Pass)
            .map(|r| r.id.as_str())
            .collect();
        if let Some((_, reason)) = CAUGHT_OUTSIDE_THE_SUITE.iter().find(|(f, _)| f == fault) {
            assert!(
                report.exit_code() == 0 && catching.is_empty(),
                "{fault} is listed as caught outside the suite, but {catching:?} catch it"
            );
            matrix.push_str(&format!(
                "{:<28} {:<6} (outside the suite) {reason}\n",
                fault.name(),
                fault.spec()
            ));
            continue;
        }
        for id in &catching {
            caught_by.entry((*id).to_owned()).or_default().push(fault.name());
        }
        let shown: Vec<&str> = catching.iter().take(4).copied().collect();
        let more = catching.len().saturating_sub(shown.len());
        matrix.push_str(&format!(
            "{:<28} {:<6} {}{}\n",
            fault.name(),
            fault.spec(),
            shown.join(", "),
            if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            }
        ));
        if report.exit_code() == 0 || catching.is_empty() {
            uncaught.push(fault.name());
        }
    }
    println!("{matrix}");
    assert!(uncaught.is_empty(), "faults no case caught: {uncaught:?}{matrix}");
    let listed: BTreeMap<&str, &str> = NOT_FAULT_TESTABLE.iter().copied().collect();
    let untested: Vec<&String> = must
        .iter()
        .filter(|id| !caught_by.contains_key(*id) && !listed.contains_key(id.as_str()))
        .collect();
    assert!(
        untested.is_empty(),
        "MUST cases that catch no fault and are not listed as not fault-testable: {untested:#?}"
    );
    for id in listed.keys() {
        assert!(
            !caught_by.contains_key(*id),
            "{id} is listed as not fault-testable, but it catches a fault"
        );
    }
}
