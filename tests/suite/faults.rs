//! The fault matrix, strict: each named fault of the reference server breaks one rule of the
//! catalogue (`Fault::rule`), and the suite must show exactly that.
//!
//! - **Caught**: with the fault on, some case citing its rule does not pass.
//! - **No catch by accident**: every case that does not pass with the fault on cites the fault's
//!   rule, or departs from it (a rule judged on every answer of a kind, as the error body's shape).
//!   A case failing for another rule means the fault is not narrow or the case cites too little.
//! - **Teeth**: every case citing a rule that has faults fails with one of them on (a fault of its
//!   own rules: a catch by another rule's fault does not count), unless listed below with the
//!   reason it cannot. A case that no fault of its rules can make fail either cites too much or has
//!   no teeth.
//!
//! A fault of a rule no client can observe (the catalogue says why) must pass the whole suite; a
//! process-level test catches it instead.

use std::collections::BTreeMap;

use lsconform::protocol::{Rule, Severity};
use lsconform::server::Fault;
use lsconform::suite::{CaseResult, Verdict};

use crate::support::{all_cases, run_against_reference};

/// Cases that cite rules with faults without catching any of them, and why.
const NO_FAULT_CATCHES: &[(&str, &str)] = &[
    (
        "deactivate/style-python",
        "its file is the default deactivation request (the Python SDK's layout): a fault that \
         fails it fails every deactivation, the set-ups and clean-ups of every case included; \
         style/python-deactivation-layout and the other layouts' twins carry the rules",
    ),
    (
        "deactivate/echo-hardware-id-json-escapes-python",
        "its escapes read the same in every layout and its value has no whitespace to trim, so \
         no fault of the signature rules it cites changes its outcome on deactivate_offline; its \
         activation case is caught through the echo and license_signature_v2",
    ),
];

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

/// A verdict on the server: a failure or a warning. An error (a case that could not run, e.g. its
/// set-up needs a seat that a fault keeps from being freed) judges nothing, and is not a catch.
fn caught(r: &CaseResult) -> bool {
    matches!(r.verdict, Verdict::Fail | Verdict::Warning)
}

fn cites(r: &CaseResult, rule: Rule) -> bool {
    r.rules.contains(&rule.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_fault_is_caught_at_its_rule_by_every_case_citing_it_and_by_no_other() {
    let mut problems = Vec::new();
    let mut matrix =
        String::from("\nfault                          rule                             caught by\n");
    let mut faults_of_rule: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut caught_by: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut rules_of: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for fault in Fault::ALL {
        let rule = fault.rule();
        let report = run_against_reference(&[*fault], all_cases()).await;
        for r in &report.results {
            rules_of.entry(r.id.clone()).or_insert_with(|| r.rules.clone());
        }
        let catching: Vec<&CaseResult> = report.results.iter().filter(|r| caught(r)).collect();
        if let Some(why) = rule.unobservable {
            if !catching.is_empty() {
                let ids: Vec<&str> = catching.iter().map(|r| r.id.as_str()).collect();
                problems.push(format!(
                    "{fault}: its rule {} is not observable ({why}), yet {ids:?} catch it",
                    rule.id
                ));
            }
            matrix.push_str(&format!(
                "{:<30} {:<32} (not observable by a client)\n",
                fault.name(),
                rule.id
            ));
            continue;
        }
        // Caught, at its rule.
        if !catching
            .iter()
            .any(|r| cites(r, rule) || r.departs_from == Some(rule.id))
        {
            problems.push(format!("{fault}: no case citing {} catches it", rule.id));
        }
        // At its rule's severity (SPEC's table of tags): a MUST rule's fault fails at least one
        // case at that rule; a [pinned] rule's fault gives warnings only, never a failure.
        let fails_at_rule = |r: &&CaseResult| {
            r.verdict == Verdict::Fail && (r.departs_from == Some(rule.id) || cites(r, rule))
        };
        match rule.severity() {
            Severity::Must if !catching.iter().any(fails_at_rule) => problems.push(format!(
                "{fault}: its rule {} is MUST, but the cases catch it only as a warning",
                rule.id
            )),
            Severity::Should => {
                for r in catching.iter().filter(|r| r.verdict == Verdict::Fail) {
                    problems.push(format!(
                        "{fault}: its rule {} is [pinned] (a warning at most), yet {} fails at {:?}: {} / {}",
                        rule.id,
                        r.id,
                        r.departs_from,
                        r.expected.as_deref().unwrap_or_default(),
                        r.actual.as_deref().unwrap_or_default()
                    ));
                }
            }
            Severity::Must => {}
        }
        // No catch by accident.
        for r in &catching {
            if !cites(r, rule) && r.departs_from != Some(rule.id) {
                problems.push(format!(
                    "{fault} (rule {}) makes {} fail at {:?}, a case that does not cite {}: {} / {}",
                    rule.id,
                    r.id,
                    r.departs_from,
                    rule.id,
                    r.expected.as_deref().unwrap_or_default(),
                    r.actual.as_deref().unwrap_or_default()
                ));
            }
        }
        // The cases the fault gives teeth: those citing its rule.
        let ids: Vec<&str> = catching
            .iter()
            .filter(|r| cites(r, rule))
            .map(|r| r.id.as_str())
            .collect();
        for id in &ids {
            caught_by.entry((*id).to_owned()).or_default().push(fault.name());
        }
        faults_of_rule.entry(rule.id).or_default().push(fault.name());
        let shown: Vec<&str> = ids.iter().take(3).copied().collect();
        let more = ids.len().saturating_sub(shown.len());
        matrix.push_str(&format!(
            "{:<30} {:<32} {}{}\n",
            fault.name(),
            rule.id,
            shown.join(", "),
            if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            }
        ));
    }
    println!("{matrix}");
    // Teeth: each case citing a rule that has a fault is caught by a fault of its rules.
    let faulted: Vec<&str> = faults_of_rule.keys().copied().collect();
    for (id, rules) in &rules_of {
        let has_faults = rules.iter().any(|r| faulted.contains(r));
        let listed = NO_FAULT_CATCHES.iter().any(|(listed, _)| listed == id);
        match (has_faults, caught_by.contains_key(id), listed) {
            (true, false, false) => problems.push(format!(
                "{id} cites {rules:?}, but no fault of them makes it fail"
            )),
            (_, true, true) => problems.push(format!(
                "{id} is listed as caught by no fault, but {:?} catch it",
                caught_by[id]
            )),
            _ => {}
        }
    }
    for (id, why) in NO_FAULT_CATCHES {
        assert!(!why.is_empty(), "{id}: say why");
    }
    assert!(problems.is_empty(), "{problems:#?}{matrix}");
}
