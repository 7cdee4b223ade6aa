//! Reports and exit codes: the terminal, JSON and JUnit reports (snapshots in `snapshots/`), the
//! baseline of known failures, and `lsconform run`'s exit codes.

use lsconform::server::Fault;
use lsconform::suite::{report, select, Baseline, Report, Verdict};

use crate::common::process::lsconform;
use crate::support::{all_cases, run_against_reference};

/// Replaces, after every `marker`, the run of characters `keep` accepts (when it starts with a
/// digit) with `placeholder`.
fn replace_after(text: &str, marker: &str, keep: fn(char) -> bool, placeholder: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(marker) {
        out.push_str(&rest[..i + marker.len()]);
        rest = &rest[i + marker.len()..];
        let end = rest.find(|c: char| !keep(c)).unwrap_or(rest.len());
        // Only a run that starts with a digit is a number, a time or a port.
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            out.push_str(placeholder);
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Replaces what changes from run to run (times, ports, uuids, dates) with fixed text.
fn stable(text: &str) -> String {
    let number = |c: char| c.is_ascii_digit() || c == '.';
    let mut s = replace_after(text, "\"elapsed_ms\": ", number, "0");
    s = replace_after(&s, "time=\"", number, "0");
    s = replace_after(&s, "127.0.0.1:", |c| c.is_ascii_digit(), "[port]");
    s = replace_after(
        &s,
        " in ",
        |c| c.is_ascii_digit() || c == '.' || c.is_ascii_alphabetic() && c != ' ',
        "[time]",
    );
    redact_volatile(&s)
}

fn redact_volatile(text: &str) -> String {
    let mut s = text.to_owned();
    // lsconform-<uuid> hardware ids and request ids: 36-character UUIDs.
    let bytes: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let candidate: String = bytes[i..bytes.len().min(i + 36)].iter().collect();
        if candidate.len() == 36 && uuid::Uuid::parse_str(&candidate).is_ok() {
            out.push_str("[uuid]");
            i += 36;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    s = out;
    // The Date header and payload dates of this run.
    let now = lsconform::protocol::format_http_date(std::time::SystemTime::now());
    let day = &now[..16];
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(i) = rest.find(day) {
        out.push_str(&rest[..i]);
        out.push_str("[date]");
        rest = &rest[(i + 29).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

fn sample_cases() -> Vec<lsconform::suite::Case> {
    select(
        all_cases(),
        &[
            "envelope/missing-date-header".into(),
            "business/perpetual".into(),
            "payload/missing-api-key".into(),
        ],
        &[],
    )
    .unwrap()
}

#[tokio::test]
async fn reports_of_a_run_with_a_failure_match_their_snapshots() {
    let mut report = run_against_reference(&[Fault::WrongCodeForMissingHeaders], sample_cases()).await;
    report.target = "http://reference.test".into();
    assert_eq!(report.count(Verdict::Fail), 1);
    insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("report-terminal", stable(&report::terminal(&report, false)));
        insta::assert_snapshot!("report-json", stable(&report::json(&report, false)));
        insta::assert_snapshot!("report-junit", stable(&report::junit(&report, false)));
    });
}

#[tokio::test]
async fn the_json_report_has_the_documented_members_and_redacts_signatures() {
    let report = run_against_reference(&[Fault::WrongCodeForMissingHeaders], sample_cases()).await;
    let json: serde_json::Value = serde_json::from_str(&report::json(&report, false)).unwrap();
    for member in [
        "lsconform",
        "target",
        "elapsed_ms",
        "exit_code",
        "summary",
        "stale",
        "cases",
    ] {
        assert!(json.get(member).is_some(), "no {member}");
    }
    assert_eq!(json["exit_code"], 1);
    assert_eq!(json["summary"]["fail"], 1);
    let failed = json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["verdict"] == "fail")
        .unwrap();
    assert_eq!(failed["id"], "envelope/missing-date-header");
    assert!(failed["curl"]
        .as_str()
        .unwrap()
        .contains("signature=\"<redacted>\""));
    let shown = report::json(&report, true);
    assert!(!shown.contains("<redacted>"), "--show-secrets shows everything");
}

#[tokio::test]
async fn a_baseline_failure_does_not_fail_the_run_and_a_stale_entry_does() {
    let results = run_against_reference(&[Fault::WrongCodeForMissingHeaders], sample_cases())
        .await
        .results;
    let known = Baseline::from_toml(r#"known_failures = ["envelope/missing-date-header"]"#).unwrap();
    let report = Report::new("t".into(), results.clone(), &known, Default::default());
    assert_eq!(report.exit_code(), 0);
    assert!(report.known.contains("envelope/missing-date-header"));
    let stale =
        Baseline::from_toml(r#"known_failures = ["envelope/missing-date-header", "business/perpetual"]"#)
            .unwrap();
    let report = Report::new("t".into(), results, &stale, Default::default());
    assert_eq!(report.exit_code(), 1);
    assert!(report.stale.contains("business/perpetual"));
    assert!(report::terminal(&report, false).contains("STALE business/perpetual"));
}

#[test]
fn run_exits_0_against_the_reference_server_and_writes_both_reports() {
    let dir = std::env::temp_dir().join(format!("lsconform-run-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let (json, junit) = (dir.join("report.json"), dir.join("report.xml"));
    let out = lsconform(&[
        "run",
        "--only",
        "envelope/*",
        "--report-json",
        json.to_str().unwrap(),
        "--report-junit",
        junit.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("0 failed"), "{stdout}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(json["summary"]["fail"], 0);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.starts_with("<?xml") && xml.contains("<testsuite name=\"envelope\""),
        "{xml}"
    );
    assert_eq!(
        xml.matches("<testcase ").count(),
        json["cases"].as_array().unwrap().len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_exits_2_for_a_bad_profile_or_glob_and_list_shows_every_case() {
    let dir = std::env::temp_dir().join(format!("lsconform-profile-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "base_url = \"http://127.0.0.1:1\"\nlicenses = { platinum = \"K\" }\n",
    )
    .unwrap();
    let out = lsconform(&["run", "--target", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown license role"));
    let out = lsconform(&["run", "--only", "no-such-group/*"]);
    assert_eq!(out.status.code(), Some(2));
    let out = lsconform(&["list"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        listed.lines().count(),
        all_cases().len() + lsconform::suite::generate::Property::ALL.len()
    );
    assert!(listed.contains("generated/oracle-agreement"));
    assert!(listed.contains("envelope/missing-date-header") && listed.contains("MUST"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_against_a_refused_port_is_exit_1_with_errors_not_passes() {
    let out = lsconform(&["run", "--target", "http://127.0.0.1:9", "--timeout", "2"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("ERROR envelope/missing-date-header"), "{stdout}");
    assert!(stdout.contains(" 0 passed"), "{stdout}");
}

#[test]
fn replay_shows_the_whole_exchange_of_one_case() {
    let out = lsconform(&["replay", "envelope/missing-date-header"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("> POST http://127.0.0.1:"), "{stdout}");
    assert!(stdout.contains("< 400"), "{stdout}");
    assert!(stdout.contains("missing_headers"), "{stdout}");
    assert!(stdout.contains("verdict: Pass"), "{stdout}");
    assert_eq!(lsconform(&["replay", "no/such-case"]).status.code(), Some(2));
}

/// The members of an answer that change from run to run (seat counts too: cases run concurrently).
const VOLATILE: &[&str] = &[
    "date",
    "offline_signature",
    "license_signature",
    "license_signature_v2",
    "request_id",
    "hardware_id",
    "times_activated",
    "transfer_count",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_reference_servers_answer_to_every_case_matches_its_snapshot() {
    let report = run_against_reference(&[], all_cases()).await;
    let mut answers = serde_json::Map::new();
    for r in &report.results {
        let Some(a) = &r.answer else { continue };
        let body = match serde_json::from_str::<serde_json::Value>(&a.body) {
            Ok(serde_json::Value::Object(mut o)) => {
                for member in VOLATILE {
                    if let Some(v) = o.get_mut(*member) {
                        *v = serde_json::Value::from("[redacted]");
                    }
                }
                // Messages name paths and details that may carry a port: keep the code, not them.
                if let Some(m) = o.get_mut("message") {
                    *m =
                        serde_json::Value::from(stable(m.as_str().unwrap_or_default()).trim_end().to_owned());
                }
                serde_json::Value::Object(o)
            }
            // Not JSON (text, or a body cut at 4 KiB): its ids redacted as text.
            _ => serde_json::Value::from(redact_volatile(&a.body)),
        };
        answers.insert(
            r.id.clone(),
            serde_json::json!({ "status": a.status, "content_type": a.content_type, "body": body }),
        );
    }
    assert!(answers.len() >= 100, "only {} answers", answers.len());
    insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("reference-answers", serde_json::to_string_pretty(&answers).unwrap());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_harness_is_exit_3_even_among_failures() {
    use lsconform::suite::case::{Severity, Tag};
    use lsconform::suite::{CaseResult, HARNESS};
    let cases = select(all_cases(), &["envelope/missing-date-header".into()], &[]).unwrap();
    let mut report = run_against_reference(&[Fault::WrongCodeForMissingHeaders], cases).await;
    assert_eq!(report.exit_code(), 1, "the fault fails the case");
    report.results.push(CaseResult {
        id: HARNESS.into(),
        spec: String::new(),
        tag: Tag::Pinned,
        rules: Vec::new(),
        departs_from: None,
        severity: Severity::Must,
        title: "the harness".into(),
        verdict: Verdict::Error,
        expected: None,
        actual: Some("a case task failed: it panicked".into()),
        request: None,
        answer: None,
        case_file: None,
        elapsed: Default::default(),
    });
    assert_eq!(report.exit_code(), 3);
    let json: serde_json::Value = serde_json::from_str(&report::json(&report, false)).unwrap();
    assert_eq!(json["exit_code"], 3);
}
