//! The generated mode of the suite (`lsconform run --generated N --seed S`): it passes against the
//! reference server, a seed reproduces its requests, a named fault makes it fail with a shrunk
//! request shown, the oracle agrees with the reference server, and the seats it takes go back.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::SystemTime;

use lsconform::protocol::{ErrorCode, Style};
use lsconform::server::{Fault, ReferenceServer};
use lsconform::suite::generate::strategies::generated_request;
use lsconform::suite::generate::{
    self, oracle, requests, Field, GenerateOptions, GeneratedCase, LicenseChoice, Mutation, Property,
    TransportChoice,
};
use lsconform::suite::{report, Baseline, CaseResult, Profile, Report, RunOptions, Verdict};
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Runs `n` generated requests from `seed` against a fresh reference server with these faults.
async fn generated_against_reference(faults: &[Fault], n: usize, seed: u64) -> Vec<CaseResult> {
    let mut builder = ReferenceServer::builder();
    for f in faults {
        builder = builder.fault(*f);
    }
    let server = builder.start().await.expect("the reference server starts");
    let profile = Profile::reference(server.uri());
    let results = generate::run(
        &profile,
        &GenerateOptions::new(n, seed),
        &RunOptions::default(),
        |_| {},
    )
    .await;
    server.shutdown().await;
    results
}

fn profile() -> Profile {
    Profile::reference("http://127.0.0.1:9")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_mode_passes_against_the_reference_server() {
    for seed in [1, 2, 3] {
        let results = generated_against_reference(&[], 200, seed).await;
        let ids: Vec<&str> = results.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, Property::ALL.map(Property::id).to_vec(), "seed {seed}");
        for r in &results {
            assert_eq!(
                r.verdict,
                Verdict::Pass,
                "seed {seed}: {} expected {:?}, got {:?}",
                r.id,
                r.expected,
                r.actual
            );
            let actual = r.actual.as_deref().unwrap_or_default();
            assert!(
                actual.contains(&format!("--seed {seed} --generated 200")),
                "{actual}"
            );
        }
    }
}

/// The decoded payload, the body's bytes and the request id of a generated request.
type Fingerprint = (Option<String>, Option<Vec<u8>>, Option<String>);

/// What identifies a generated request: its bytes, not its timing.
fn fingerprint(cases: &[GeneratedCase]) -> Vec<Fingerprint> {
    cases
        .iter()
        .map(|c| {
            (
                c.request.payload.clone(),
                c.request.body.clone(),
                c.request.request_id.clone(),
            )
        })
        .collect()
}

#[test]
fn the_same_seed_writes_the_same_requests_and_another_seed_others() {
    let now = SystemTime::now();
    let a = requests(&profile(), &GenerateOptions::new(100, 42), now).unwrap();
    let b = requests(&profile(), &GenerateOptions::new(100, 42), now).unwrap();
    assert_eq!(fingerprint(&a), fingerprint(&b));
    assert_eq!(
        a.iter().map(|c| &c.value).collect::<Vec<_>>(),
        b.iter().map(|c| &c.value).collect::<Vec<_>>()
    );
    // Request i depends on the seed and i only: a shorter run is a prefix of a longer one.
    let shorter = requests(&profile(), &GenerateOptions::new(30, 42), now).unwrap();
    assert_eq!(fingerprint(&shorter), fingerprint(&a)[..30].to_vec());
    // Another seed, other requests.
    let other = requests(&profile(), &GenerateOptions::new(100, 43), now).unwrap();
    let same = fingerprint(&a)
        .iter()
        .zip(fingerprint(&other))
        .filter(|(x, y)| **x == *y)
        .count();
    assert_eq!(
        same, 0,
        "{same} of 100 requests are the same under seeds 42 and 43"
    );
}

#[test]
fn generated_requests_are_valid_and_hostile_in_every_layout() {
    let cases = requests(&profile(), &GenerateOptions::new(400, 9), SystemTime::now()).unwrap();
    let accepted = cases.iter().filter(|c| c.oracle.is_ok()).count();
    assert!(
        (80..=320).contains(&accepted),
        "{accepted} of 400 accepted by the oracle"
    );
    let codes: BTreeSet<&str> = cases
        .iter()
        .filter_map(|c| c.oracle.as_ref().err().map(|r| r.code.code()))
        .collect();
    for code in [
        ErrorCode::AuthorizationMissingParams,
        ErrorCode::SignatureMismatch,
        ErrorCode::ValidationError,
        ErrorCode::InvalidApiKey,
    ] {
        assert!(
            codes.contains(code.code()),
            "no request refused with {code}: {codes:?}"
        );
    }
    for style in Style::ALL {
        assert!(
            cases.iter().any(|c| c.value.style == style && c.oracle.is_ok()),
            "no valid {style} request"
        );
    }
    let valid = |c: &&GeneratedCase| c.value.mutation == Mutation::None;
    assert!(cases
        .iter()
        .filter(valid)
        .any(|c| c.value.transport == TransportChoice::Multipart));
    assert!(cases
        .iter()
        .filter(valid)
        .any(|c| matches!(c.value.license, LicenseChoice::User { .. })));
    assert!(cases.iter().any(|c| c.value.hardware_id.chars().count() >= 200));
    assert!(cases.iter().any(|c| !c.value.hardware_id.is_ascii()));
    assert!(cases
        .iter()
        .any(|c| c.value.hardware_id.chars().any(|ch| ch.is_control())));
    let extra_types: BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| c.value.extras.iter())
        .map(|(_, v)| match v {
            serde_json::Value::Null => "null",
            serde_json::Value::Bool(_) => "bool",
            serde_json::Value::Number(_) => "number",
            serde_json::Value::String(_) => "string",
            serde_json::Value::Array(_) => "array",
            serde_json::Value::Object(_) => "object",
        })
        .collect();
    assert_eq!(extra_types.len(), 6, "{extra_types:?}");
    // Semantic mutations are re-signed: they get past the signatures to the rule they break.
    let semantic_past_signatures = cases
        .iter()
        .filter(|c| {
            matches!(
                c.value.mutation,
                Mutation::RequestKind(_) | Mutation::Duplicate { .. }
            )
        })
        .filter(|c| {
            c.oracle
                .as_ref()
                .is_err_and(|r| r.code != ErrorCode::SignatureMismatch)
        })
        .count();
    assert!(semantic_past_signatures > 0);
}

#[test]
fn every_duplicate_mutation_writes_a_key_twice_and_is_refused_for_it() {
    // A "duplicate" of a member the request would not otherwise hold (a request id) must still be
    // a duplicate: alone, it is an ordinary member, and its fixed value a request id shared by
    // every such request (SPEC §5.5 then answers a replay or a conflict).
    let cases = requests(&profile(), &GenerateOptions::new(3000, 5), SystemTime::now()).unwrap();
    let duplicates: Vec<&GeneratedCase> = cases
        .iter()
        .filter(|c| matches!(c.value.mutation, Mutation::Duplicate { .. }))
        .collect();
    assert!(
        duplicates.iter().any(|c| !c.value.request_id
            && matches!(
                c.value.mutation,
                Mutation::Duplicate {
                    field: Field::RequestId,
                    ..
                }
            )),
        "no duplicated request id in a request that had none among {} duplicates",
        duplicates.len()
    );
    for c in duplicates {
        assert_eq!(
            c.oracle.as_ref().err().map(|r| r.code),
            Some(ErrorCode::AuthorizationMissingParams),
            "request #{} ({}) is not refused as a duplicated key",
            c.index,
            c.value.describe()
        );
    }
}

/// The faults generated mode catches, and the property that catches each.
const CAUGHT: &[(Fault, Property)] = &[
    (Fault::SkipOuterSignature, Property::OracleAgreement),
    (Fault::SkipInnerSignature, Property::OracleAgreement),
    (Fault::AcceptUrlSafeBase64, Property::OracleAgreement),
    (Fault::DuplicateKeysLastWins, Property::OracleAgreement),
    (Fault::AcceptAnyRequestKind, Property::OracleAgreement),
    (Fault::LeakLicenseExistence, Property::OracleAgreement),
    (Fault::ErrorStatusMismatch, Property::ErrorShape),
    (Fault::DropRequestId, Property::SignedAnswer),
    (Fault::ReorderSignedBody, Property::SignedAnswer),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_fault_fails_generated_mode_with_the_shrunk_request_shown() {
    let mut missed = Vec::new();
    for (fault, property) in CAUGHT {
        let results = generated_against_reference(&[*fault], 300, 11).await;
        let Some(failed) = results
            .iter()
            .find(|r| r.id == property.id() && r.verdict == Verdict::Fail)
        else {
            missed.push((fault.name(), results));
            continue;
        };
        let actual = failed.actual.as_deref().unwrap_or_default();
        assert!(actual.contains("shrunk in"), "{fault}: {actual}");
        assert!(actual.contains("--seed 11 --generated 300"), "{fault}: {actual}");
        // The request shown is the one that failed: for oracle-agreement, one the oracle and the
        // server disagree on.
        let request = failed.request.as_ref().expect("the failing request");
        assert!(request.payload.is_some(), "{fault}: no payload");
        if *property == Property::OracleAgreement {
            let content_type = request
                .headers
                .iter()
                .find(|(n, _)| n == "Content-Type")
                .map(|(_, v)| v.as_str());
            let answer = failed.answer.as_ref().expect("the answer");
            let answered = serde_json::from_str::<serde_json::Value>(&answer.body)
                .ok()
                .and_then(|v| v.get("code")?.as_str().map(str::to_owned));
            match oracle(
                &Profile::reference("http://x"),
                content_type,
                request.body.as_deref(),
            ) {
                Ok(()) => assert_ne!(answer.status, 200, "{fault}: {answer:?}"),
                Err(r) => assert_ne!(answered.as_deref(), Some(r.code.code()), "{fault}: {answer:?}"),
            }
        }
        // Every report format carries it: the terminal one with the payload and a curl line.
        let report = Report::new(
            "reference".into(),
            results,
            &Baseline::default(),
            Default::default(),
        );
        assert_eq!(report.exit_code(), 1, "{fault}");
        let terminal = report::terminal(&report, false);
        let block = terminal
            .split("\nFAIL ")
            .find(|b| b.starts_with(property.id()))
            .unwrap_or_else(|| panic!("{fault}: no FAIL block for {}:\n{terminal}", property.id()));
        assert!(block.contains("  payload:  {"), "{fault}: {block}");
        assert!(block.contains("  reproduce: curl -X POST"), "{fault}: {block}");
        assert!(report::json(&report, false).contains(property.id()));
        assert!(report::junit(&report, false).contains(&format!("name=\"{}\"", property.id())));
    }
    assert!(
        missed.is_empty(),
        "faults generated mode did not catch: {missed:#?}"
    );
}

#[test]
fn the_oracle_and_the_reference_server_agree_on_every_generated_request() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(ReferenceServer::builder().start())
        .expect("the reference server starts");
    let profile = Profile::reference(server.uri());
    lsconform::install_crypto_provider();
    let http = reqwest::Client::new();
    let config = Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&generated_request(&profile), |value| {
        let case = value
            .render(&profile, 0, 0, SystemTime::now())
            .map_err(TestCaseError::fail)?;
        let r = &case.request;
        let (status, body) = runtime.block_on(async {
            let mut send = http.post(&r.url);
            for (name, value) in &r.headers {
                send = send.header(name, value);
            }
            let answer = send
                .body(r.body.clone().unwrap_or_default())
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.bytes().await.unwrap())
        });
        let code = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("code")?.as_str().map(str::to_owned));
        match &case.oracle {
            // The reference server answers exactly the oracle's status and code.
            Err(rejection) => {
                let expected = (rejection.code.status(), Some(rejection.code.code().to_owned()));
                if (status, code.clone()) != expected {
                    return Err(TestCaseError::fail(format!(
                        "oracle {expected:?}, server {status} {code:?}: {}",
                        value.describe()
                    )));
                }
            }
            // It accepts, or refuses for a business rule of SPEC §5 only.
            Ok(()) => {
                let business = lsconform::protocol::ErrorCode::business(value.kind);
                let refused_for_business = code
                    .as_deref()
                    .and_then(lsconform::protocol::ErrorCode::from_code)
                    .is_some_and(|c| business.contains(&c));
                if status != 200 && !refused_for_business {
                    return Err(TestCaseError::fail(format!(
                        "oracle accepts, server {status} {code:?}: {}",
                        value.describe()
                    )));
                }
            }
        }
        Ok(())
    });
    runtime.block_on(server.shutdown());
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_taken_by_generated_requests_are_given_back() {
    let server = ReferenceServer::builder().start().await.unwrap();
    let profile = Profile::reference(server.uri());
    let options = GenerateOptions::new(300, 5);
    // Among these requests, some activate the limited license (3 seats) and are accepted.
    let cases = requests(&profile, &options, SystemTime::now()).unwrap();
    let on_limited = cases
        .iter()
        .filter(|c| c.oracle.is_ok() && c.value.mutation == Mutation::None)
        .filter(|c| matches!(&c.value.license, LicenseChoice::Role { role, .. } if role == "limited"))
        .filter(|c| matches!(&c.value.product, generate::ProductChoice::Profile(_)))
        .count();
    assert!(
        on_limited >= 3,
        "only {on_limited} valid activations of the limited license"
    );
    let results = generate::run(&profile, &options, &RunOptions::default(), |_| {}).await;
    assert!(results.iter().all(|r| r.verdict == Verdict::Pass), "{results:#?}");
    // All three seats of the limited license are free again: the seat race passes.
    let cases = lsconform::suite::select(
        lsconform::suite::cases().unwrap(),
        &["state/seat-race".into()],
        &[],
    )
    .unwrap();
    let race = lsconform::suite::run(cases, &profile, &RunOptions::default(), |_| {}).await;
    server.shutdown().await;
    assert_eq!(race[0].verdict, Verdict::Pass, "{:?}", race[0].actual);
}

#[test]
fn lsconform_run_prints_its_seed_and_generated_0_turns_the_generated_cases_off() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_lsconform"))
            .arg("run")
            .args(args)
            .output()
            .expect("lsconform runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&["--only", "generated/*", "--generated", "40", "--seed", "77"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("40 generated requests (--seed 77)"), "{stderr}");
    assert!(
        stdout.contains("`lsconform run --seed 77 --generated 40` sends the same ones"),
        "{stdout}"
    );
    assert!(stdout.contains("4 cases against"), "{stdout}");
    // Without --seed, a random one, printed.
    let (_, stdout, _) = run(&["--only", "generated/*", "--generated", "10"]);
    assert!(stdout.contains("generated: 10 requests from seed "), "{stdout}");
    // --generated 0: none.
    let (code, stdout, _) = run(&["--only", "envelope/missing-date-header", "--generated", "0"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(!stdout.contains("generated"), "{stdout}");
    assert!(stdout.contains("1 cases against"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_mode_runs_on_a_spawned_task() {
    // The run's future is Send: a caller may spawn it next to other work, as the runner does.
    let server = ReferenceServer::builder().start().await.unwrap();
    let profile = Profile::reference(server.uri());
    let task = tokio::spawn(async move {
        generate::run(
            &profile,
            &GenerateOptions::new(20, 4),
            &RunOptions::default(),
            |_| {},
        )
        .await
    });
    let results = task.await.expect("the task ends");
    server.shutdown().await;
    assert_eq!(results.len(), Property::ALL.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_target_costs_a_few_timeouts_and_ends_in_errors_not_passes() {
    // Accepts connections, never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let options = RunOptions {
        jobs: 4,
        timeout: std::time::Duration::from_millis(500),
        ..RunOptions::default()
    };
    let results = generate::run(
        &Profile::reference(url),
        &GenerateOptions::new(200, 1),
        &options,
        |_| {},
    )
    .await;
    silent.abort();
    assert_eq!(results.len(), Property::ALL.len());
    for r in &results {
        assert_eq!(r.verdict, Verdict::Error, "{}: {:?}", r.id, r.actual);
    }
    let first = &results[0];
    assert_eq!(first.id, Property::NoServerError.id());
    assert!(
        first
            .actual
            .as_deref()
            .is_some_and(|a| a.contains("were not sent after 3 in a row without an answer")),
        "{:?}",
        first.actual
    );
    // Three requests in a row without an answer stop the sending: the ones in flight then (at most
    // `jobs` more) time out too, not 200 / 4 rounds of them.
    let silent: usize = first
        .actual
        .as_deref()
        .and_then(|a| a.split(" of 200 requests got no answer").next())
        .and_then(|n| n.parse().ok())
        .expect("the count of requests without an answer");
    assert!(
        (3..=3 + options.jobs).contains(&silent),
        "{silent} requests went unanswered"
    );
}
