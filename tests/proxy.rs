//! `lsconform proxy` between real clients and real servers: the official Python SDK through the
//! proxy to the reference server (both sides conform, the bytes go through unchanged), a client
//! signing with a wrong shared key (the client flagged, the server's 401 conforming), a reference
//! server with a named fault (the server flagged at the fault's rule), the case files it writes
//! (they replay to the same verdict), forwarding byte for byte, and an upstream that is dead or
//! never answers (502 / 504 with SPEC §7's error body).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::sdk::{
    driver_args, python, repo, SdkRun, API_KEY, NON_ASCII_HOSTNAME, PERPETUAL, PRODUCT, REFERENCE_PUBLIC_KEY,
    SHARED_KEY,
};
use lsconform::protocol::{
    format_http_date, rules, AuthorizationHeader, ErrorBody, RequestBuilder, RequestKind, Style,
};
use lsconform::server::{Fault, ReferenceServer, RunningServer};
use lsconform::suite::proxy::{Exchange, Proxy, ProxyOptions, RunningProxy, SideVerdict};
use lsconform::suite::{Profile, RunOptions, Verdict};
use serde_json::Value;

/// A fresh directory under target/ for the case files of one test.
fn out_dir(name: &str) -> PathBuf {
    let dir = repo("target/proxy-tests").join(format!("{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("target/ is writable");
    dir
}

async fn reference(fault: Option<Fault>) -> RunningServer {
    let mut builder = ReferenceServer::builder();
    if let Some(fault) = fault {
        builder = builder.fault(fault);
    }
    builder.start().await.expect("the reference server starts")
}

/// A proxy in front of `upstream`, knowing the reference seed's keys.
async fn proxy(upstream: &str, out: Option<PathBuf>) -> RunningProxy {
    let mut options = ProxyOptions::new(upstream, Profile::reference(upstream));
    options.out = out;
    options.timeout = Duration::from_secs(5);
    Proxy::start(options).await.expect("the proxy starts")
}

/// An activation file in the Python SDK's layout, signed with the right keys.
fn activation(hardware_id: &str) -> String {
    RequestBuilder::activation()
        .style(Style::Python)
        .license_key(PERPETUAL)
        .hardware_id(hardware_id)
        .product(PRODUCT)
        .date(format_http_date(SystemTime::now()))
        .request_id(uuid::Uuid::new_v4().to_string())
        .sign(API_KEY, SHARED_KEY)
        .text
}

/// POSTs a request file to `base` + the activation path, its header signed with `header_key`.
async fn post(base: &str, file: String, header_key: &str) -> reqwest::Response {
    lsconform::install_crypto_provider();
    let date = format_http_date(SystemTime::now());
    reqwest::Client::new()
        .post(format!("{base}{}", RequestKind::Activation.path()))
        .header("Date", &date)
        .header(
            "Authorization",
            AuthorizationHeader::signed(API_KEY, header_key, &date).to_string(),
        )
        .header("Content-Type", "text/plain")
        .body(file)
        .send()
        .await
        .expect("the proxy answers")
}

/// The exchanges once every one is judged.
async fn judged(proxy: &RunningProxy) -> Vec<Exchange> {
    proxy.settled().await;
    proxy.exchanges()
}

fn rule_of(v: &SideVerdict) -> Option<&'static str> {
    v.finding().map(|f| f.rule.id)
}

// ------------------------------------------------------------------ the official Python SDK

#[tokio::test]
async fn the_python_sdk_through_the_proxy_conforms_on_both_sides_and_its_signature_check_passes() {
    let server = reference(None).await;
    let out = out_dir("sdk");
    let proxy = proxy(&server.uri(), Some(out.clone())).await;
    let python = tokio::task::spawn_blocking(python)
        .await
        .expect("the venv is ready");
    let hardware_id = format!("proxy-sdk-{}", uuid::Uuid::new_v4());
    let mut command = Command::new(python);
    command
        .arg(repo("tests/python_sdk/interop.py"))
        .args(driver_args(
            &proxy.uri(),
            REFERENCE_PUBLIC_KEY,
            &hardware_id,
            NON_ASCII_HOSTNAME,
            "roundtrip",
        ))
        .env("PYTHONUTF8", "1");
    let run = SdkRun::of(command, "interop.py", "4.0.0").await;
    run.assert_success();
    let report = &run.out;
    // The SDK checked license_signature_v2 over the answer's bytes as they came through.
    assert_eq!(report["license_signature_v2_verified"], 1, "{report}");
    assert_eq!(report["deactivation_answer"], "license_deactivated");

    let exchanges = judged(&proxy).await;
    let summary = proxy.stop().await;
    server.shutdown().await;
    let kinds: Vec<_> = exchanges.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [Some(RequestKind::Activation), Some(RequestKind::Deactivation)],
        "{exchanges:#?}"
    );
    for e in &exchanges {
        assert_eq!(e.client, SideVerdict::Conforming, "{}", e.line());
        assert_eq!(e.server, SideVerdict::Conforming, "{}", e.line());
        assert_eq!(e.style, Some(Style::Python), "{}", e.line());
        assert_eq!(e.status, 200, "{}", e.line());
        assert!(e.case_file.is_none());
    }
    assert!(e_lines_hold_no_secret(&exchanges));
    assert_eq!(summary.report.count(Verdict::Pass), 2);
    assert_eq!(summary.report.exit_code(), 0);
    assert_eq!(
        std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0),
        0,
        "no case file"
    );
}

/// The log lines name no key and no signature.
fn e_lines_hold_no_secret(exchanges: &[Exchange]) -> bool {
    exchanges.iter().all(|e| {
        let line = e.line();
        !line.contains(SHARED_KEY) && !line.contains(API_KEY) && !line.contains("signature=")
    })
}

// ------------------------------------------------------------------ each side flagged

#[tokio::test]
async fn a_client_signing_with_a_wrong_shared_key_is_flagged_and_the_servers_401_judged_conforming() {
    let server = reference(None).await;
    let out = out_dir("wrong-key");
    let proxy = proxy(&server.uri(), Some(out.clone())).await;
    let answer = post(&proxy.uri(), activation("proxy-wrong-key"), "not-the-shared-key").await;
    assert_eq!(answer.status(), 401);
    let exchanges = judged(&proxy).await;
    let [e] = exchanges.as_slice() else {
        panic!("one exchange: {exchanges:#?}")
    };
    assert!(matches!(e.client, SideVerdict::Nonconforming(_)), "{}", e.line());
    assert_eq!(
        rule_of(&e.client),
        Some(rules::AUTH_HEADER_HMAC.id),
        "{}",
        e.line()
    );
    assert_eq!(e.server, SideVerdict::Conforming, "{}", e.line());
    assert_eq!(e.code.as_deref(), Some("signature_mismatch"));
    assert!(
        e.line().contains("client: nonconforming auth.header-hmac"),
        "{}",
        e.line()
    );

    // Its case file sends the request again: the server still answers as SPEC says (a pass).
    let path = e
        .case_file
        .clone()
        .expect("a case file for a nonconforming exchange");
    let case = lsconform::suite::case_file(&path).expect("the proxy's case file reads back");
    let results = lsconform::suite::run(
        vec![case],
        &Profile::reference(server.uri()),
        &RunOptions::default(),
        |_| {},
    )
    .await;
    proxy.stop().await;
    server.shutdown().await;
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].verdict, Verdict::Pass, "{:#?}", results[0]);
}

#[tokio::test]
async fn a_server_with_a_named_fault_is_flagged_at_the_faults_rule_and_its_case_file_replays_alike() {
    for fault in [
        Fault::OfflineSignatureTrailingNewline,
        Fault::DropRequestId,
        Fault::AnswerTextPlain,
    ] {
        let server = reference(Some(fault)).await;
        let out = out_dir("fault");
        let proxy = proxy(&server.uri(), Some(out.clone())).await;
        let answer = post(
            &proxy.uri(),
            activation(&format!("proxy-fault-{}", uuid::Uuid::new_v4())),
            SHARED_KEY,
        )
        .await;
        assert_eq!(answer.status(), 200, "{fault:?}");
        let exchanges = judged(&proxy).await;
        let [e] = exchanges.as_slice() else {
            panic!("one exchange: {exchanges:#?}")
        };
        assert_eq!(e.client, SideVerdict::Conforming, "{fault:?}: {}", e.line());
        assert!(
            matches!(e.server, SideVerdict::Nonconforming(_)),
            "{fault:?}: {}",
            e.line()
        );
        assert_eq!(
            rule_of(&e.server),
            Some(fault.rule().id),
            "{fault:?}: {}",
            e.line()
        );
        let summary = proxy.stop().await;
        assert_eq!(summary.report.exit_code(), 1, "{fault:?}");
        assert_eq!(summary.report.results[0].departs_from, Some(fault.rule().id));

        let path = e
            .case_file
            .clone()
            .expect("a case file for a nonconforming exchange");
        let case = lsconform::suite::case_file(&path).expect("the proxy's case file reads back");
        let results = lsconform::suite::run(
            vec![case],
            &Profile::reference(server.uri()),
            &RunOptions::default(),
            |_| {},
        )
        .await;
        server.shutdown().await;
        assert_eq!(results[0].verdict, Verdict::Fail, "{fault:?}: {:#?}", results[0]);
        assert_eq!(
            results[0].departs_from,
            Some(fault.rule().id),
            "{fault:?}: {:#?}",
            results[0]
        );

        // And against the same server without the fault, the same file passes.
        let clean = reference(None).await;
        let case = lsconform::suite::case_file(&path).expect("the proxy's case file reads back");
        let results = lsconform::suite::run(
            vec![case],
            &Profile::reference(clean.uri()),
            &RunOptions::default(),
            |_| {},
        )
        .await;
        clean.shutdown().await;
        assert_eq!(results[0].verdict, Verdict::Pass, "{fault:?}: {:#?}", results[0]);
    }
}

#[tokio::test]
async fn an_exchange_with_an_api_key_the_profile_lacks_is_unjudged_never_a_pass() {
    let server = reference(None).await;
    let mut options = ProxyOptions::new(server.uri(), Profile::bare(server.uri()));
    options.timeout = Duration::from_secs(5);
    let proxy = Proxy::start(options).await.expect("the proxy starts");
    let answer = post(&proxy.uri(), activation("proxy-no-keys"), SHARED_KEY).await;
    assert_eq!(answer.status(), 200);
    let exchanges = judged(&proxy).await;
    let summary = proxy.stop().await;
    server.shutdown().await;
    assert!(
        matches!(exchanges[0].server, SideVerdict::Unjudged(_)),
        "{}",
        exchanges[0].line()
    );
    assert_eq!(summary.report.results[0].verdict, Verdict::Skipped);
}

// ------------------------------------------------------------------ forwarding

/// An upstream that answers with what it received: method, path, headers and the body in Base64.
async fn echo_upstream() -> (String, tokio::task::JoinHandle<()>) {
    use base64::Engine as _;
    let app = axum::Router::new().fallback(|request: axum::extract::Request| async move {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let echo = serde_json::json!({
            "method": parts.method.as_str(),
            "path": parts.uri.path_and_query().map(|p| p.as_str()),
            "headers": headers,
            "body": base64::engine::general_purpose::STANDARD.encode(&body),
        });
        (
            [("x-upstream", "1"), ("content-type", "application/json")],
            echo.to_string(),
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

#[tokio::test]
async fn requests_and_answers_go_through_byte_for_byte_without_hop_by_hop_headers() {
    use base64::Engine as _;
    let (upstream, task) = echo_upstream().await;
    let proxy = proxy(&upstream, None).await;
    lsconform::install_crypto_provider();
    // Every byte value, and more than one read's worth.
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let answer = reqwest::Client::new()
        .put(format!("{}/some/where?x=1&y=%20", proxy.uri()))
        .header("X-Custom", "  spaced value  ")
        .header("Connection", "keep-alive, X-Hop")
        .header("X-Hop", "only for the next hop")
        .header("Keep-Alive", "timeout=5")
        .body(body.clone())
        .send()
        .await
        .expect("the proxy answers");
    assert_eq!(
        answer.headers().get("x-upstream").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    let echo: Value =
        serde_json::from_slice(&answer.bytes().await.expect("a body")).expect("the upstream's echo");
    proxy.stop().await;
    task.abort();
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["path"], "/some/where?x=1&y=%20");
    let sent = base64::engine::general_purpose::STANDARD
        .decode(echo["body"].as_str().expect("a body"))
        .expect("Base64");
    assert!(
        sent == body,
        "the body changed on its way ({} bytes came)",
        sent.len()
    );
    let headers: Vec<(String, String)> = serde_json::from_value(echo["headers"].clone()).expect("pairs");
    let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    // RFC 9110 §5.5: the whitespace around a field value is not part of it.
    assert_eq!(get("x-custom"), Some("spaced value"));
    assert_eq!(get("x-hop"), None, "a header Connection names is hop-by-hop");
    assert_eq!(get("keep-alive"), None);
    assert!(get("via").is_some_and(|v| v.contains("lsconform")), "{headers:?}");
    assert_eq!(get("host"), upstream.strip_prefix("http://"));
}

#[tokio::test]
async fn a_dead_upstream_gets_a_502_whose_error_body_has_the_shape_of_spec_7() {
    // A port nothing listens on: bind one, then free it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let dead = format!("http://{}", listener.local_addr().expect("an address"));
    drop(listener);
    let proxy = proxy(&dead, None).await;
    let answer = post(&proxy.uri(), activation("proxy-dead"), SHARED_KEY).await;
    assert_eq!(answer.status(), 502);
    let body = answer.bytes().await.expect("a body");
    let error = ErrorBody::parse(&body, 502).expect("the error body of SPEC §7");
    assert_eq!(error.code, "upstream_unreachable");
    let exchanges = judged(&proxy).await;
    let summary = proxy.stop().await;
    assert!(
        matches!(exchanges[0].server, SideVerdict::Unjudged(_)),
        "{}",
        exchanges[0].line()
    );
    assert_eq!(
        summary.report.results[0].verdict,
        Verdict::Error,
        "no answer is never a pass"
    );
}

#[tokio::test]
async fn an_upstream_that_never_answers_gets_a_504_after_the_timeout() {
    // Accepts connections and never writes a byte.
    let silent = common::process::silent_target();
    let mut options = ProxyOptions::new(silent.clone(), Profile::reference(silent));
    options.timeout = Duration::from_millis(500);
    let proxy = Proxy::start(options).await.expect("the proxy starts");
    let answer = post(&proxy.uri(), activation("proxy-silent"), SHARED_KEY).await;
    assert_eq!(answer.status(), 504);
    let body = answer.bytes().await.expect("a body");
    assert_eq!(
        ErrorBody::parse(&body, 504).expect("SPEC §7's shape").code,
        "upstream_timeout"
    );
    proxy.stop().await;
}

// ------------------------------------------------------------------ the suite's traffic

/// The suite's cases and `generated` generated requests through a proxy to a reference server
/// with `variants`: the run's failures and errors, and the exchanges the proxy judged.
async fn suite_through_the_proxy(
    variants: &[lsconform::server::Variant],
    generated: usize,
) -> (Vec<String>, Vec<Exchange>, RunningProxy) {
    let mut builder = ReferenceServer::builder();
    for v in variants {
        builder = builder.variant(*v);
    }
    let server = builder.start().await.expect("the reference server starts");
    let mut options = ProxyOptions::new(server.uri(), Profile::reference(server.uri()));
    options.journal = 100_000;
    let proxy = Proxy::start(options).await.expect("the proxy starts");
    let via = Profile::reference(proxy.uri());
    let run_options = RunOptions::default();
    let mut results = lsconform::suite::run(
        lsconform::suite::cases().expect("the case files are valid"),
        &via,
        &run_options,
        |_| {},
    )
    .await;
    let generate = lsconform::suite::generate::GenerateOptions::new(generated, 13);
    results.extend(lsconform::suite::generate::run(&via, &generate, &run_options, |_| {}).await);
    let exchanges = judged(&proxy).await;
    server.shutdown().await;
    let bad = results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Fail | Verdict::Error))
        .map(|r| {
            format!(
                "{} {:?}: expected {:?}, got {:?}",
                r.id, r.verdict, r.expected, r.actual
            )
        })
        .collect();
    (bad, exchanges, proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_suite_through_the_proxy_passes_and_the_reference_is_judged_conforming_on_every_exchange() {
    let (bad, exchanges, proxy) = suite_through_the_proxy(&[], 300).await;
    let summary = proxy.stop().await;
    assert!(bad.is_empty(), "the proxy changed what the suite sees: {bad:#?}");
    let judged = exchanges.iter().filter(|e| e.kind.is_some()).count();
    assert!(judged > 500, "only {judged} exchanges with the endpoints");
    assert_eq!(summary.tally.exchanges as usize, exchanges.len());
    let flagged: Vec<String> = exchanges
        .iter()
        .filter(|e| matches!(e.server, SideVerdict::Nonconforming(_) | SideVerdict::Warning(_)))
        .map(Exchange::line)
        .collect();
    assert!(flagged.is_empty(), "the reference flagged: {flagged:#?}");
    // The suite's deliberately broken requests: the client side is flagged on many of them.
    let clients = exchanges
        .iter()
        .filter(|e| matches!(e.client, SideVerdict::Nonconforming(_)))
        .count();
    assert!(clients > 100, "only {clients} broken requests flagged");
}

/// SPEC §10: a server that answers otherwise where SPEC allows it (every conforming variant at
/// once) is never nonconforming in the proxy's eyes; a few of its answers are warnings.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_with_every_conforming_variant_is_never_judged_nonconforming() {
    let (bad, exchanges, proxy) = suite_through_the_proxy(lsconform::server::Variant::ALL, 300).await;
    proxy.stop().await;
    assert!(bad.is_empty(), "the proxy changed what the suite sees: {bad:#?}");
    let flagged: Vec<String> = exchanges
        .iter()
        .filter(|e| matches!(e.server, SideVerdict::Nonconforming(_)))
        .map(Exchange::line)
        .collect();
    assert!(flagged.is_empty(), "a conforming server flagged: {flagged:#?}");
    let warnings = exchanges
        .iter()
        .filter(|e| matches!(e.server, SideVerdict::Warning(_)))
        .count();
    assert!(
        warnings > 0,
        "the variants' answers differ from the reference's: some are warnings"
    );
}

/// What the proxy saw of the suite's cases against a reference server with `fault`: the rules
/// the server side was nonconforming at.
async fn rules_flagged_with(fault: Fault) -> std::collections::BTreeSet<&'static str> {
    let server = reference(Some(fault)).await;
    let mut options = ProxyOptions::new(server.uri(), Profile::reference(server.uri()));
    options.journal = 100_000;
    let proxy = Proxy::start(options).await.expect("the proxy starts");
    let via = Profile::reference(proxy.uri());
    lsconform::suite::run(
        lsconform::suite::cases().expect("the case files are valid"),
        &via,
        &RunOptions::default(),
        |_| {},
    )
    .await;
    let exchanges = judged(&proxy).await;
    proxy.stop().await;
    server.shutdown().await;
    exchanges
        .iter()
        .filter(|e| matches!(e.server, SideVerdict::Nonconforming(_)))
        .filter_map(|e| rule_of(&e.server))
        .collect()
}

/// Which named faults the proxy sees in the suite's traffic, one exchange at a time (about two
/// and a half minutes: `cargo test --test proxy -- --ignored --nocapture` prints them). A fault of
/// the answer's form (SPEC §6, §7) shows in one answer and must be flagged at its rule; the
/// license's values and seat counts need the license's state, which one exchange does not show;
/// faults of a server's state (seats, request ids, durability) or of the order of its checks
/// show only across exchanges, or as refusals of what SPEC accepts (flagged at
/// any.sdk-files-accepted, the rule that what the SDKs send is accepted).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "runs the suite once per fault (about 150 s); the figures are in README's Proxy section"]
async fn every_fault_of_the_answers_form_is_flagged_at_its_rule() {
    let state_of_the_license = [rules::ANSWER_LICENSE_VALUES.id, rules::ANSWER_TIMES_ACTIVATED.id];
    let (mut caught, mut flagged_elsewhere, mut unseen, mut missed) = (0, 0, 0, Vec::new());
    for fault in Fault::ALL {
        let rule = fault.rule().id;
        let flagged = rules_flagged_with(*fault).await;
        let form = (rule.starts_with("answer.") || rule.starts_with("error."))
            && !state_of_the_license.contains(&rule);
        match (flagged.contains(rule), flagged.is_empty()) {
            (true, _) => caught += 1,
            (false, false) => flagged_elsewhere += 1,
            (false, true) => unseen += 1,
        }
        if form && !flagged.contains(rule) {
            missed.push(format!("{} ({rule}): flagged {flagged:?}", fault.name()));
        }
    }
    println!(
        "{} faults: {caught} flagged at their rule, {flagged_elsewhere} flagged at another rule, {unseen} not seen in one exchange",
        Fault::ALL.len()
    );
    assert!(missed.is_empty(), "{missed:#?}");
}

#[tokio::test]
async fn a_client_that_goes_away_before_the_answer_is_recorded_unjudged_and_nothing_waits() {
    // Accepts connections and never writes a byte.
    let silent = common::process::silent_target();
    let mut options = ProxyOptions::new(silent.clone(), Profile::reference(silent));
    options.timeout = Duration::from_secs(30);
    let proxy = Proxy::start(options).await.expect("the proxy starts");
    lsconform::install_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("a client");
    let date = format_http_date(SystemTime::now());
    let gone = client
        .post(format!("{}{}", proxy.uri(), RequestKind::Activation.path()))
        .header("Date", &date)
        .header(
            "Authorization",
            AuthorizationHeader::signed(API_KEY, SHARED_KEY, &date).to_string(),
        )
        .header("Content-Type", "text/plain")
        .body(activation("proxy-gone"))
        .send()
        .await;
    assert!(gone.is_err(), "the client gave up first");
    // The exchange is judged as soon as the client's connection closes, not after the proxy's
    // 30 s timeout.
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while proxy.tally().exchanges == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "the exchange was never recorded");
    let exchanges = proxy.exchanges();
    let summary = proxy.stop().await;
    assert_eq!(exchanges[0].status, 499, "{}", exchanges[0].line());
    assert_eq!(
        exchanges[0].client,
        SideVerdict::Conforming,
        "{}",
        exchanges[0].line()
    );
    assert!(
        matches!(exchanges[0].server, SideVerdict::Unjudged(_)),
        "{}",
        exchanges[0].line()
    );
    assert_eq!(
        summary.report.results[0].verdict,
        Verdict::Skipped,
        "nobody's fault, and not a pass"
    );
}

// ------------------------------------------------------------------ the command line

fn lsconform() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lsconform"))
}

#[test]
fn the_command_refuses_an_upstream_it_cannot_forward_to_with_a_clear_error() {
    for (upstream, says) in [
        (
            "https://licensing.example.com",
            "https upstreams are not supported",
        ),
        ("ftp://host", "must start with http://"),
        ("not a url", "not a URL"),
    ] {
        let out = lsconform()
            .args(["proxy", "--listen", "127.0.0.1:0", "--upstream", upstream])
            .output()
            .expect("lsconform runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{upstream}: {stderr}");
        assert!(stderr.contains(says), "{upstream}: {stderr}");
    }
}

#[tokio::test]
async fn the_command_logs_each_exchange_and_writes_the_reports_and_case_files_at_sigint() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let server = reference(None).await;
    let out = out_dir("cli");
    let mut proxy = lsconform()
        .args(["proxy", "--listen", "127.0.0.1:0", "--upstream", &server.uri()])
        .arg("--profile")
        .arg(repo("fixtures/targets/reference.toml"))
        .arg("--out")
        .arg(out.join("cases"))
        .arg("--report-json")
        .arg(out.join("report.json"))
        .arg("--report-junit")
        .arg(out.join("report.xml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lsconform proxy starts");
    // The first line on stderr names the address it listens on.
    let mut stderr = BufReader::new(proxy.stderr.take().expect("stderr"));
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stderr.read_line(&mut line).expect("a line");
        (line, stderr)
    });
    let (line, mut stderr) = first.await.expect("the reader");
    let uri = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    let answer = post(&uri, activation("proxy-cli"), "not-the-shared-key").await;
    assert_eq!(answer.status(), 401);
    // SIGINT: the reports are written and the exit code says an exchange was nonconforming.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The shell's own kill: no procps needed.
    let killed = Command::new("sh")
        .args(["-c", &format!("kill -INT {}", proxy.id())])
        .status()
        .expect("sh runs");
    assert!(killed.success());
    let output = tokio::task::spawn_blocking(move || proxy.wait_with_output())
        .await
        .expect("the waiter")
        .expect("the proxy ends");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("stderr");
    server.shutdown().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{rest}");
    assert!(
        stdout.starts_with("#1 POST /api/v4/activate_offline [python] client: nonconforming auth.header-hmac | server: conforming | 401 signature_mismatch"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(SHARED_KEY) && !stdout.contains("signature=\""),
        "{stdout}"
    );
    assert!(rest.contains("1 exchanges"), "{rest}");
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).expect("the JSON report"))
            .expect("JSON");
    assert_eq!(report["cases"][0]["verdict"], "fail", "{report}");
    assert_eq!(report["cases"][0]["departs_from"], "auth.header-hmac", "{report}");
    let junit = std::fs::read_to_string(out.join("report.xml")).expect("the JUnit report");
    assert!(junit.contains("<failure"), "{junit}");
    let cases = std::fs::read_dir(out.join("cases/proxy"))
        .expect("the case files")
        .count();
    assert_eq!(cases, 1);
}
