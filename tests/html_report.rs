//! The HTML report (`--report-html FILE` of `run`, `diff` and `fuzz`): one self-contained page
//! holding what the JSON report holds, escaped and redacted alike; and, in headless Chromium
//! (Debian's `chromium`, installed by `scripts/chromium.sh`), the rendered page shows the counts
//! and a failure's details, and its filters hide what they should.
//!
//! The browser test is ignored by default (it needs Chromium); `.ci/run` installs Chromium and runs
//! it with `cargo test --test html_report -- --ignored`. Without Chromium it fails, never passes.

#[path = "common/process.rs"]
#[allow(dead_code)]
mod process;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use process::{fixture, launch, lsconform, reference_profile};
use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    process::scratch("html", name)
}

/// The reference profile for a server at `url`, written under `dir`.
fn profile(dir: &Path, url: &str) -> String {
    let public_key = fixture("fixtures/keys/reference-public.pem");
    reference_profile(&dir.join("target.toml"), url, &public_key, |text| text)
}

/// The failing case the baseline of [`run_with_failures`] knows.
const KNOWN: &str = "signature/schema-1-inner-corrupt";

/// A run against a reference server with a fault (the inner signature is not checked: MUST
/// failures) and a conforming variant (no `request_id` member: a warning), with a baseline that
/// knows one failure; its HTML and JSON reports.
struct RunReports {
    dir: PathBuf,
    html: PathBuf,
    json: Value,
}

fn run_with_failures(name: &str) -> RunReports {
    let dir = scratch(name);
    let (_server, url, _log) = launch(
        "serve",
        &["--fault", "skip-inner-signature", "--variant", "omit-request-id"],
    );
    let target = profile(&dir, &url);
    let baseline = dir.join("baseline.toml");
    std::fs::write(&baseline, format!("known_failures = [\"{KNOWN}\"]\n")).expect("a baseline");
    let (html, json) = (dir.join("report.html"), dir.join("report.json"));
    let out = lsconform(&[
        "run",
        "--target",
        &target,
        "--baseline",
        &baseline.display().to_string(),
        "--generated",
        "100",
        "--seed",
        "7",
        "--report-html",
        &html.display().to_string(),
        "--report-json",
        &json.display().to_string(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the faulty server fails the run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&std::fs::read(&json).expect("the JSON report")).expect("JSON");
    for verdict in ["fail", "warning", "pass"] {
        assert!(
            json["summary"][verdict].as_u64().unwrap_or(0) > 0,
            "the run has a {verdict}: {}",
            json["summary"]
        );
    }
    RunReports { dir, html, json }
}

fn cases(json: &Value) -> &Vec<Value> {
    json["cases"].as_array().expect("the cases")
}

/// Text as the page escapes it.
fn escaped(text: &str) -> String {
    lsconform::suite::report::escape_html(text)
}

/// Text as a browser serialises a text node (quotes left as they are).
fn serialised(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn the_html_report_of_a_run_holds_every_result_redacted_and_needs_nothing_from_the_network() {
    let run = run_with_failures("file");
    let page = std::fs::read_to_string(&run.html).expect("the HTML report");
    for case in cases(&run.json) {
        let id = case["id"].as_str().expect("an id");
        assert!(
            page.contains(&format!("data-id=\"{}\"", escaped(id))),
            "{id} is on the page"
        );
        // What the JSON report says of a failure is on the page, escaped: the payload (redacted the
        // same way), expected, actual and the curl line.
        if case["verdict"] != "pass" {
            for member in ["payload", "expected", "actual", "curl"] {
                if let Some(text) = case[member].as_str() {
                    assert!(
                        page.contains(&escaped(text)),
                        "{id}'s {member} is on the page: {text}"
                    );
                }
            }
        }
    }
    for verdict in ["pass", "fail", "warning", "skipped", "error"] {
        let n = run.json["summary"][verdict].as_u64().expect("a count");
        assert!(
            page.contains(&format!("id=\"count-{verdict}\">{n}<")),
            "{n} {verdict} in the summary"
        );
    }
    assert!(
        page.contains("id=\"count-known\">1<"),
        "the baseline's known failure is counted"
    );
    // Redacted: the shared key never, and every signature member's value is the placeholder.
    assert!(!page.contains("lsconform-test-shared-key"));
    let quoted_signature = "signature&quot;:&quot;";
    let mut signatures = 0;
    for (at, _) in page.match_indices(quoted_signature) {
        signatures += 1;
        let value = &page[at + quoted_signature.len()..];
        assert!(
            value.starts_with("&lt;redacted&gt;"),
            "a signature left in: {}",
            &value[..40]
        );
    }
    assert!(
        signatures > 0,
        "the page shows payloads with their signatures (redacted)"
    );
    // Self-contained: no external script, style sheet, image or font.
    for external in ["src=", "<link", "@import", "url(", "=\"http", "='http"] {
        assert!(
            !page.contains(external),
            "the page refers to something outside it: {external}"
        );
    }
    assert_eq!(page.matches("<script").count(), 1, "one script, the page's own");
    let _ = std::fs::remove_dir_all(&run.dir);
}

#[test]
fn fuzz_and_diff_write_their_html_reports_with_the_seed_and_shrink_steps_of_each_finding() {
    let dir = scratch("fuzz-diff");
    let (_faulty, faulty_url, _log) = launch("serve", &["--fault", "skip-inner-signature"]);
    let target = profile(&dir, &faulty_url);
    let html = dir.join("fuzz.html");
    let out = lsconform(&[
        "fuzz",
        "--target",
        &target,
        "--requests",
        "400",
        "--seed",
        "3",
        "--max-findings",
        "1",
        "--out",
        &dir.join("findings").display().to_string(),
        "--report-html",
        &html.display().to_string(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let page = std::fs::read_to_string(&html).expect("the fuzz report");
    assert!(page.contains("<h1>lsconform fuzz</h1>"));
    assert!(page.contains("data-id=\"fuzz/"), "a finding is on the page");
    assert!(
        page.contains("seed 3, request #"),
        "the seed and request of the finding"
    );
    assert!(page.contains("shrunk in "), "how it was shrunk");
    assert!(page.contains("sent 400 requests"), "the run's note");

    let (_clean, clean_url, _log) = launch("serve", &[]);
    let clean_dir = dir.join("clean");
    std::fs::create_dir_all(&clean_dir).expect("a directory");
    let clean = profile(&clean_dir, &clean_url);
    let html = dir.join("diff.html");
    let out = lsconform(&[
        "diff",
        "--target",
        &clean,
        "--target",
        &target,
        "--only",
        "signature/*",
        "--generated",
        "0",
        "--report-html",
        &html.display().to_string(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let page = std::fs::read_to_string(&html).expect("the diff report");
    assert!(page.contains("<h1>lsconform diff</h1>"));
    assert!(
        page.contains("data-verdict=\"fail\"") && page.contains("signature.inner"),
        "the nonconforming difference, with its rule"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The page after its script ran, as headless Chromium serialises it, at `url` (a `file://` URL
/// with the filters in its fragment).
fn rendered(url: &str, profile_dir: &Path) -> String {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile_dir.display()),
            "--dump-dom",
            url,
        ])
        .stdin(Stdio::null())
        .output()
        .expect("chromium runs (scripts/chromium.sh installs it)");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the DOM as text")
}

/// Each result element of a rendered page: its `data-id`, `data-verdict`, whether it is hidden,
/// and its markup.
fn results(dom: &str) -> Vec<(String, String, bool, String)> {
    dom.split("<details ")
        .skip(1)
        .map(|part| {
            let tag = &part[..part.find('>').expect("a tag")];
            let attribute = |name: &str| {
                let start = tag.find(&format!("{name}=\"")).map(|i| i + name.len() + 2)?;
                Some(tag[start..start + tag[start..].find('"')?].to_owned())
            };
            let body = &part[tag.len() + 1..part.find("</details>").expect("the element's end")];
            (
                attribute("data-id").expect("data-id"),
                attribute("data-verdict").expect("data-verdict"),
                tag.split_whitespace()
                    .any(|a| a == "hidden" || a.starts_with("hidden=")),
                body.to_owned(),
            )
        })
        .collect()
}

/// The text of the element with this id.
fn text_of(dom: &str, id: &str) -> String {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("#{id} on the page"));
    let start = at + dom[at..].find('>').expect("its tag's end") + 1;
    dom[start..start + dom[start..].find('<').expect("its text's end")].to_owned()
}

#[test]
#[ignore = "needs Chromium (scripts/chromium.sh); .ci/run runs it"]
fn chromium_shows_the_counts_a_failure_in_full_and_filters_that_hide_the_rest() {
    let run = run_with_failures("chromium");
    let profile_dir = run.dir.join("chromium-profile");
    let url = format!("file://{}", run.html.display());
    let all = cases(&run.json);
    let count = |verdict: &str| all.iter().filter(|c| c["verdict"] == verdict).count();

    // No filter: every result shown, the counts as in the JSON report.
    let dom = rendered(&url, &profile_dir);
    let shown = results(&dom);
    assert_eq!(shown.len(), all.len(), "one element per result");
    assert!(
        shown.iter().all(|(_, _, hidden, _)| !hidden),
        "nothing hidden without a filter"
    );
    assert_eq!(
        text_of(&dom, "shown"),
        format!("{} of {} shown", all.len(), all.len())
    );
    for verdict in ["pass", "fail", "warning"] {
        assert_eq!(
            text_of(&dom, &format!("count-{verdict}")),
            count(verdict).to_string()
        );
    }
    // A failure in full: its rule, expected, actual, payload and curl line, as the JSON has them.
    let failure = all
        .iter()
        .find(|c| c["verdict"] == "fail" && c["payload"].is_string() && c["id"] != KNOWN)
        .expect("a failure with a payload");
    let id = failure["id"].as_str().expect("an id");
    let (_, _, _, body) = shown
        .iter()
        .find(|(i, ..)| i == id)
        .expect("the failure's element");
    for member in ["departs_from", "expected", "actual", "payload", "curl"] {
        let text = failure[member]
            .as_str()
            .unwrap_or_else(|| panic!("{id} has {member}"));
        assert!(
            body.contains(&serialised(text)),
            "{id}'s {member} rendered: {text}"
        );
    }

    // verdict=fail: exactly the failures are shown.
    let dom = rendered(&format!("{url}#verdict=fail"), &profile_dir);
    for (id, verdict, hidden, _) in results(&dom) {
        assert_eq!(hidden, verdict != "fail", "{id} ({verdict}) under verdict=fail");
    }
    assert_eq!(
        text_of(&dom, "shown"),
        format!("{} of {} shown", count("fail"), all.len())
    );

    // tag=pinned with severity=should: only results of both; text: only what contains it.
    let dom = rendered(&format!("{url}#tag=pinned&severity=should"), &profile_dir);
    let want = |c: &&Value| c["tag"] == "pinned" && c["severity"] == "should";
    let mut visible: Vec<String> = results(&dom).into_iter().filter(|r| !r.2).map(|r| r.0).collect();
    let mut expected: Vec<String> = all
        .iter()
        .filter(want)
        .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(!expected.is_empty(), "the run has pinned SHOULD cases");
    visible.sort();
    expected.sort();
    assert_eq!(visible, expected, "tag and severity filters");
    let dom = rendered(&format!("{url}#q={id}"), &profile_dir);
    let mut kept = 0;
    for (other, _, hidden, body) in results(&dom) {
        assert_eq!(hidden, !body.contains(id), "{other} under the text filter {id}");
        kept += usize::from(!hidden);
    }
    assert!(
        kept >= 1 && kept < all.len() / 4,
        "the text filter keeps {id} and hides most: {kept}"
    );
    let _ = std::fs::remove_dir_all(&run.dir);
}
