//! `lsconform fuzz`: clean against the reference server, findings against faulty ones, and every
//! finding a case file that fails where it was found and passes where the fault is fixed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::process::lsconform;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lsconform::server::{Fault, ReferenceServer};
use lsconform::suite::case::Severity;
use lsconform::suite::fuzz::{fuzz, FindingKind, FuzzOptions, FuzzReport};
use lsconform::suite::{cases_in, run, Profile, RunOptions, Verdict};

fn scratch(name: &str) -> PathBuf {
    crate::common::process::scratch("fuzz", name)
}

async fn fuzz_reference(faults: &[Fault], requests: usize, seed: u64) -> FuzzReport {
    let mut builder = ReferenceServer::builder();
    for f in faults {
        builder = builder.fault(*f);
    }
    let server = builder.start().await.expect("the reference server starts");
    let options = FuzzOptions::new(seed)
        .duration(Duration::from_secs(600))
        .requests(requests);
    let report = fuzz(
        &Profile::reference(server.uri()),
        &options,
        &RunOptions::default(),
        |_| {},
    )
    .await;
    server.shutdown().await;
    report
}

fn describe(report: &FuzzReport) -> Vec<String> {
    report
        .findings
        .iter()
        .map(|f| format!("{}: {} / {} ({})", f.id(), f.expected, f.actual, f.how))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzing_the_reference_server_finds_nothing() {
    let report = fuzz_reference(&[], 600, 11).await;
    assert_eq!(report.harness_error, None);
    assert_eq!((report.sent, report.answered), (600, 600));
    assert!(report.findings.is_empty(), "{:#?}", describe(&report));
    assert_eq!(report.exit_code(true), 0);
}

/// The faults a fuzzer of single requests can see: each one changes what the server makes of a
/// request's headers or body. The others are of sizes, seats and request ids, which the suite's
/// cases and checks cover.
const SEEN_FAULTS: &[(Fault, FindingKind)] = &[
    (Fault::WrongCodeForMissingHeaders, FindingKind::WrongRefusal),
    (Fault::SkipHeaderSignature, FindingKind::AcceptedRefused),
    (Fault::AcceptStaleDate, FindingKind::AcceptedRefused),
    (Fault::AcceptUrlSafeBase64, FindingKind::AcceptedRefused),
    (Fault::DuplicateKeysLastWins, FindingKind::AcceptedRefused),
    (Fault::AcceptAnyRequestKind, FindingKind::AcceptedRefused),
    (Fault::SkipInnerSignature, FindingKind::AcceptedRefused),
    (Fault::SkipOuterSignature, FindingKind::AcceptedRefused),
    (Fault::LeakLicenseExistence, FindingKind::AcceptedRefused),
    (Fault::DropRequestId, FindingKind::BadAnswer),
    (Fault::ReorderSignedBody, FindingKind::BadAnswer),
    (Fault::ErrorStatusMismatch, FindingKind::ErrorShape),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_of_headers_or_payload_is_found_as_its_kind_of_finding() {
    let mut missed = Vec::new();
    for (fault, kind) in SEEN_FAULTS {
        let report = fuzz_reference(&[*fault], 1000, 5).await;
        assert_eq!(report.harness_error, None);
        // Each of these faults breaks a MUST rule: found at MUST, so it fails the run without
        // --strict (a finding that is only a warning would not).
        assert_eq!(fault.rule().severity(), Severity::Must, "{fault}");
        let kinds: BTreeSet<FindingKind> = report
            .findings
            .iter()
            .filter(|f| f.severity() == Severity::Must)
            .map(|f| f.kind)
            .collect();
        println!("{fault}: {kinds:?}");
        if !kinds.contains(kind) {
            missed.push(format!(
                "{fault}: expected {kind:?} at MUST, found {:#?}",
                describe(&report)
            ));
        }
        assert_eq!(report.exit_code(false), 1, "{fault}");
    }
    assert!(missed.is_empty(), "{missed:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_is_a_case_file_that_fails_where_it_was_found_and_passes_once_fixed() {
    let faulty = ReferenceServer::builder()
        .fault(Fault::SkipOuterSignature)
        .start()
        .await
        .unwrap();
    let profile = Profile::reference(faulty.uri());
    let report = fuzz(
        &profile,
        &FuzzOptions::new(3).requests(800),
        &RunOptions::default(),
        |_| {},
    )
    .await;
    assert!(!report.findings.is_empty());
    let dir = scratch("replay");
    for f in &report.findings {
        let file = f.write_to(&dir).unwrap();
        assert_eq!(file, dir.join(format!("{}.json", f.id())));
        // Shrunk: no extra members, no odd encoding left in what was sent.
        assert!(
            f.how.starts_with("shrunk in"),
            "{:?} at {}: {}",
            f.kind,
            f.rule.id,
            f.how
        );
    }
    let cases = cases_in(&dir).expect("the findings are case files");
    assert_eq!(cases.len(), report.findings.len());
    let again = run(cases.clone(), &profile, &RunOptions::default(), |_| {}).await;
    for r in &again {
        assert!(
            matches!(r.verdict, Verdict::Fail | Verdict::Warning),
            "{} against the faulty server: {:?} {:?}",
            r.id,
            r.verdict,
            r.actual
        );
    }
    faulty.shutdown().await;
    let fixed = ReferenceServer::builder().start().await.unwrap();
    let fixed_results = run(
        cases,
        &Profile::reference(fixed.uri()),
        &RunOptions::default(),
        |_| {},
    )
    .await;
    fixed.shutdown().await;
    for r in &fixed_results {
        assert_eq!(r.verdict, Verdict::Pass, "{} once fixed: {:?}", r.id, r.actual);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_finds_the_same_findings_under_the_same_names() {
    // Requests carry the time (dates, request ids), so a mutation that flips a byte of the JSON may
    // land on other text in another run: what both runs find, they name alike.
    let a = fuzz_reference(&[Fault::SkipInnerSignature], 500, 9).await;
    let b = fuzz_reference(&[Fault::SkipInnerSignature], 500, 9).await;
    let named = |r: &FuzzReport| -> std::collections::BTreeMap<String, String> {
        r.findings
            .iter()
            .map(|f| {
                let found = f.case.found.as_ref().expect("a finding says how it was found");
                (
                    format!("{:?} #{} {}", f.kind, found.request, found.sent),
                    f.id().to_owned(),
                )
            })
            .collect()
    };
    let (a, b) = (named(&a), named(&b));
    let both: Vec<&String> = a.keys().filter(|k| b.contains_key(*k)).collect();
    assert!(!both.is_empty(), "no finding in common: {a:#?} {b:#?}");
    for k in both {
        assert_eq!(a[k], b[k], "{k}");
    }
}

/// The reference server behind a layer that breaks on some content types: multipart gets a 500,
/// a form-urlencoded body kills the connection, an octet-stream one never gets an answer (each
/// about one request in thirty of the generated ones).
async fn breaker(request: Request, next: Next) -> Response {
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if content_type.starts_with("multipart/") {
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "it broke").into_response();
    }
    match content_type.as_str() {
        "application/x-www-form-urlencoded" => panic!("the breaker closes this connection"),
        "application/octet-stream" => std::future::pending().await,
        _ => next.run(request).await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_a_closed_connection_and_a_hang_are_each_found_and_shrunk() {
    let router = ReferenceServer::builder()
        .router()
        .unwrap()
        .layer(axum::middleware::from_fn(breaker));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    // Long enough that no answered request times out on a busy machine; every hang costs it.
    let options = RunOptions {
        jobs: 4,
        timeout: Duration::from_secs(2),
        ..RunOptions::default()
    };
    let report = fuzz(
        &Profile::reference(url),
        &FuzzOptions::new(21).requests(300),
        &options,
        |_| {},
    )
    .await;
    server.abort();
    assert!(!report.gave_up, "{report:#?}");
    let kinds: BTreeSet<FindingKind> = report.findings.iter().map(|f| f.kind).collect();
    for kind in [
        FindingKind::ServerError,
        FindingKind::ClosedConnection,
        FindingKind::Hang,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} not in {:#?}", describe(&report));
    }
    for f in &report.findings {
        println!("{}: {} request(s), {}", f.id(), f.occurrences, f.how);
        let sent = |ct: &str| f.request.headers.iter().any(|(_, v)| v.starts_with(ct));
        match f.kind {
            FindingKind::ServerError => assert!(sent("multipart/"), "{}", describe(&report).join("\n")),
            FindingKind::ClosedConnection => assert!(sent("application/x-www-form-urlencoded")),
            FindingKind::Hang => assert!(sent("application/octet-stream")),
            _ => {}
        }
    }
}

/// The files in `dir` (none when it does not exist).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

/// The reference profile, pointed at `url`.
fn profile_file(dir: &Path, url: &str) -> PathBuf {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let text = std::fs::read_to_string(fixtures.join("targets/reference.toml"))
        .unwrap()
        .replace("http://127.0.0.1:8080", url)
        .replace("\"../keys/", &format!("\"{}/keys/", fixtures.display()));
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("target.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fuzz_command_exits_0_when_clean_1_with_findings_and_its_files_replay() {
    let dir = scratch("cli");
    let out = dir.join("findings");
    let out_arg = out.to_str().unwrap().to_owned();
    // Clean: the in-process reference server.
    let clean = tokio::task::spawn_blocking({
        let out_arg = out_arg.clone();
        move || lsconform(&["fuzz", "--requests", "300", "--seed", "4", "--out", &out_arg])
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert_eq!(clean.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("sent 300 requests (300 answered)"), "{stdout}");
    assert!(!out.exists(), "nothing is written when nothing is found");

    // A faulty server: findings, written as files, that replay.
    let server = ReferenceServer::builder()
        .fault(Fault::AcceptAnyRequestKind)
        .start()
        .await
        .unwrap();
    let target = profile_file(&dir, &server.uri());
    let target_arg = target.to_str().unwrap().to_owned();
    let junit = dir.join("fuzz.xml");
    let json = dir.join("fuzz.json");
    let (junit_arg, json_arg) = (junit.display().to_string(), json.display().to_string());
    let (found, files, again, fixed, suite) = tokio::task::spawn_blocking(move || {
        let found = lsconform(&[
            "fuzz",
            "--target",
            &target_arg,
            "--requests",
            "600",
            "--seed",
            "4",
            "--out",
            &out_arg,
            "--report-json",
            &json_arg,
            "--report-junit",
            &junit_arg,
        ]);
        let files = files_in(&out.join("fuzz"));
        let first = files
            .first()
            .map(|f| f.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let again = lsconform(&["replay", &first, "--target", &target_arg]);
        let fixed = lsconform(&["replay", &first]);
        let suite = lsconform(&["run", "--cases", &out_arg, "--only", "fuzz/*", "--generated", "0"]);
        (found, files, again, fixed, suite)
    })
    .await
    .unwrap();
    server.shutdown().await;
    let stdout = String::from_utf8_lossy(&found.stdout);
    assert_eq!(found.status.code(), Some(1), "{stdout}");
    assert!(!files.is_empty(), "{stdout}");
    assert!(stdout.contains("FAIL  fuzz/accepted-refused-"), "{stdout}");
    assert!(stdout.contains("lsconform replay "), "{stdout}");
    // The findings in the report files too: each a failing result, the run's exit code.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON report")).expect("JSON");
    assert_eq!(report["exit_code"], 1, "{report}");
    assert!(
        report["summary"]["fail"].as_u64().is_some_and(|n| n > 0),
        "{report}"
    );
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report");
    assert!(
        xml.contains("<failure") && xml.contains("fuzz/accepted-refused-"),
        "{xml}"
    );
    let text = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(1), "{text}");
    assert!(text.contains("verdict: Fail"), "{text}");
    let text = String::from_utf8_lossy(&fixed.stdout);
    assert_eq!(fixed.status.code(), Some(0), "{text}");
    assert!(text.contains("verdict: Pass"), "{text}");
    let text = String::from_utf8_lossy(&suite.stdout);
    assert_eq!(suite.status.code(), Some(0), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fuzz_usage_errors_exit_2() {
    let bare = lsconform(&["fuzz", "--target", "http://127.0.0.1:9", "--requests", "1"]);
    assert_eq!(bare.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bare.stderr).contains("api_key and shared_key"));
    let duration = lsconform(&["fuzz", "--duration", "soon"]);
    assert_eq!(duration.status.code(), Some(2));
    let dir = scratch("bad-cases");
    std::fs::create_dir_all(dir.join("fuzz")).unwrap();
    std::fs::write(dir.join("fuzz/x.json"), r#"{"id": "fuzz/y"}"#).unwrap();
    let bad = lsconform(&["run", "--cases", dir.to_str().unwrap(), "--generated", "0"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("fuzz/x.json"));
    let replay = lsconform(&["replay", dir.join("fuzz/x.json").to_str().unwrap()]);
    assert_eq!(replay.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_findings_writes_the_generated_requests_that_break_a_property_as_case_files() {
    let dir = scratch("run-findings");
    let server = ReferenceServer::builder()
        .fault(Fault::SkipOuterSignature)
        .start()
        .await
        .unwrap();
    let target = profile_file(&dir, &server.uri());
    let (target_arg, findings) = (target.to_str().unwrap().to_owned(), dir.join("findings"));
    let findings_arg = findings.to_str().unwrap().to_owned();
    let (found, files, again, fixed) = tokio::task::spawn_blocking(move || {
        let found = lsconform(&[
            "run",
            "--target",
            &target_arg,
            "--only",
            "generated/*",
            "--generated",
            "300",
            "--seed",
            "5",
            "--findings",
            &findings_arg,
        ]);
        let files = files_in(&findings.join("fuzz"));
        let run_them = |target: Option<&str>| {
            let mut args = vec![
                "run",
                "--cases",
                &findings_arg,
                "--only",
                "fuzz/*",
                "--generated",
                "0",
            ];
            if let Some(t) = target {
                args.extend(["--target", t]);
            }
            lsconform(&args)
        };
        (found, files, run_them(Some(&target_arg)), run_them(None))
    })
    .await
    .unwrap();
    server.shutdown().await;
    let stdout = String::from_utf8_lossy(&found.stdout);
    assert_eq!(found.status.code(), Some(1), "{stdout}");
    assert!(!files.is_empty(), "{stdout}");
    assert!(stdout.contains("written: "), "{stdout}");
    assert_eq!(
        again.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(
        fixed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fixed.stdout)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
