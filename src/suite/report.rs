//! Reports: the terminal summary, JSON (schema in `docs/report.md`), JUnit XML, HTML; the baseline of
//! known failures; the exit code.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::render::Prepared;
use super::runner::{CaseResult, Verdict};
use crate::protocol::Rule;

mod html;
pub use html::{escape_html, html};

/// Exit codes of `lsconform run`.
pub mod exit {
    /// Every MUST case holds (warnings allowed).
    pub const OK: u8 = 0;
    /// A case failed or could not run, or a baseline entry is stale.
    pub const FAILED: u8 = 1;
    /// Bad usage or a bad profile.
    pub const USAGE: u8 = 2;
    /// The harness itself broke.
    pub const HARNESS: u8 = 3;
}

/// Known failures: cases that fail today and should not fail the run (a TOML file,
/// `known_failures = ["group/id", …]`).
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    ids: BTreeSet<String>,
}

impl Baseline {
    /// Reads a baseline file's text.
    pub fn from_toml(text: &str) -> Result<Baseline, String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            known_failures: Vec<String>,
        }
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        Ok(Baseline {
            ids: file.known_failures.into_iter().collect(),
        })
    }
}

/// A run's results, with the baseline applied.
#[derive(Debug, Clone)]
pub struct Report {
    /// The target's base URL.
    pub target: String,
    /// The results, by id.
    pub results: Vec<CaseResult>,
    /// Failures the baseline knows (they do not fail the run).
    pub known: BTreeSet<String>,
    /// Baseline entries whose case now passes (they fail the run).
    pub stale: BTreeSet<String>,
    /// Wall time of the run.
    pub elapsed: std::time::Duration,
    /// Warnings fail the run too: the target is held to the \[pinned] rules, as the reference
    /// server is.
    pub strict: bool,
}

impl Report {
    /// Applies a baseline to a run's results.
    pub fn new(
        target: String,
        results: Vec<CaseResult>,
        baseline: &Baseline,
        elapsed: std::time::Duration,
    ) -> Report {
        let mut known = BTreeSet::new();
        let mut stale = BTreeSet::new();
        for r in &results {
            if baseline.ids.contains(&r.id) {
                match r.verdict {
                    Verdict::Fail | Verdict::Error | Verdict::Warning => {
                        known.insert(r.id.clone());
                    }
                    Verdict::Pass => {
                        stale.insert(r.id.clone());
                    }
                    _ => {}
                }
            }
        }
        Report {
            target,
            results,
            known,
            stale,
            elapsed,
            strict: false,
        }
    }

    /// Holds the target to the \[pinned] rules too: a warning fails the run.
    pub fn strict(mut self, strict: bool) -> Report {
        self.strict = strict;
        self
    }

    /// How many results ended so.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.results.iter().filter(|r| r.verdict == verdict).count()
    }

    /// The failures and errors the baseline does not know (and in strict mode, the warnings).
    pub fn unexpected(&self) -> impl Iterator<Item = &CaseResult> {
        self.results.iter().filter(|r| {
            let failing = matches!(r.verdict, Verdict::Fail | Verdict::Error)
                || (self.strict && r.verdict == Verdict::Warning);
            failing && !self.known.contains(&r.id)
        })
    }

    /// The exit code: 0 when every MUST case holds (in strict mode, every case), 1 otherwise or
    /// when a baseline entry is stale, 3 when the harness itself broke.
    pub fn exit_code(&self) -> u8 {
        if self.results.iter().any(|r| r.id == super::runner::HARNESS) {
            exit::HARNESS
        } else if self.unexpected().next().is_some() || !self.stale.is_empty() {
            exit::FAILED
        } else {
            exit::OK
        }
    }
}

/// Replaces the signature in an Authorization header and the signatures in a payload.
///
/// ```
/// use lsconform::suite::report::redact;
/// assert_eq!(redact(r#"algorithm="hmac-sha256",signature="c2ln",apikey="k""#),
///            r#"algorithm="hmac-sha256",signature="<redacted>",apikey="k""#);
/// assert_eq!(redact(r#"{"signature": "", "api_key": "k"}"#), r#"{"signature": "<redacted>", "api_key": "k"}"#);
/// assert_eq!(redact(r#"{"license_signature_v2":"abc","x":1}"#), r#"{"license_signature_v2":"<redacted>","x":1}"#);
/// assert_eq!(redact(r#"{"signature": null}"#), r#"{"signature": null}"#);
/// ```
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // `signature="…"` (header) and `"signature": "…"` / `"…_signature…": "…"` (payload).
    while let Some(i) = rest.find("signature") {
        let (head, tail) = rest.split_at(i + "signature".len());
        out.push_str(head);
        match quoted_value_at(tail) {
            Some(start) => {
                out.push_str(&tail[..start]);
                out.push_str("<redacted>");
                let value = &tail[start..];
                rest = &value[value.find('"').unwrap_or(value.len())..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// Where the quoted value after a name starts, in `": "…` or `="…` (after the rest of the name,
/// as in `license_signature_v2`), just past its opening quote.
fn quoted_value_at(tail: &str) -> Option<usize> {
    let b = tail.as_bytes();
    let spaces = |mut i: usize| {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        i
    };
    let name_end = b
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
        .unwrap_or(b.len());
    let i = spaces(name_end + usize::from(b.get(name_end) == Some(&b'"')));
    if !matches!(b.get(i), Some(b':' | b'=')) {
        return None;
    }
    let i = spaces(i + 1);
    (b.get(i) == Some(&b'"')).then_some(i + 1)
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A curl command that sends the same request; the body inline when it is short text, as a file
/// otherwise. Redacted unless `show_secrets`.
pub fn curl(request: &Prepared, show_secrets: bool) -> String {
    let mut parts = vec![
        "curl".to_owned(),
        "-X".to_owned(),
        request.method.clone(),
        shell_quote(&request.url),
    ];
    for (name, value) in &request.headers {
        let value = if show_secrets {
            value.clone()
        } else {
            redact(value)
        };
        parts.push("-H".into());
        parts.push(shell_quote(&format!("{name}: {value}")));
    }
    // curl sends `Accept: */*` as the suite does; a header with no value is curl's way to send none.
    if request.no_accept {
        parts.push("-H".into());
        parts.push(shell_quote("Accept:"));
    }
    if let Some(body) = &request.body {
        parts.push("--data-binary".into());
        match std::str::from_utf8(body) {
            Ok(text) if show_secrets && text.len() <= 4096 => parts.push(shell_quote(text)),
            _ if show_secrets => parts.push("@request.body".into()),
            _ => parts.push("@request.body  # the file is redacted: --show-secrets prints it".into()),
        }
    }
    parts.join(" ")
}

/// The terminal report: a summary by group, then every failure, warning and error in full.
pub fn terminal(report: &Report, show_secrets: bool) -> String {
    let mut out = String::new();
    let mut groups: BTreeMap<&str, BTreeMap<Verdict, usize>> = BTreeMap::new();
    for r in &report.results {
        let group = r.id.split('/').next().unwrap_or_default();
        *groups.entry(group).or_default().entry(r.verdict).or_default() += 1;
    }
    for r in report
        .results
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Skipped))
    {
        let label = match (r.verdict, report.known.contains(&r.id)) {
            (_, true) => "KNOWN",
            (Verdict::Fail, _) => "FAIL",
            (Verdict::Warning, _) if report.strict => "FAIL (strict)",
            (Verdict::Warning, _) => "WARN",
            _ => "ERROR",
        };
        out.push_str(&format!(
            "\n{label} {}  [SPEC {} {:?}, {:?}]\n  {}\n",
            r.id, r.spec, r.tag, r.severity, r.title
        ));
        if let Some(e) = &r.expected {
            out.push_str(&format!("  expected: {e}\n"));
        }
        if let Some(a) = &r.actual {
            out.push_str(&format!("  actual:   {a}\n"));
        }
        if let Some(rule) = r.departs_from.and_then(Rule::by_id) {
            out.push_str(&format!(
                "  rule:     {} ({} {:?}): {}\n",
                rule.id,
                rule.spec,
                rule.severity(),
                rule.what
            ));
        }
        if let Some(req) = &r.request {
            if let Some(payload) = &req.payload {
                let payload = if show_secrets {
                    payload.clone()
                } else {
                    redact(payload)
                };
                out.push_str(&format!("  payload:  {}\n", shortened(&payload)));
            }
            out.push_str(&format!("  reproduce: {}\n", curl(req, show_secrets)));
        }
    }
    for id in &report.stale {
        out.push_str(&format!(
            "\nSTALE {id}: in the baseline, but it passes now: remove it from the baseline\n"
        ));
    }
    out.push_str("\ngroup           pass  fail  warn  skip  error\n");
    for (group, counts) in &groups {
        let n = |v| counts.get(&v).copied().unwrap_or(0);
        out.push_str(&format!(
            "{group:<15} {:>4}  {:>4}  {:>4}  {:>4}  {:>5}\n",
            n(Verdict::Pass),
            n(Verdict::Fail),
            n(Verdict::Warning),
            n(Verdict::Skipped),
            n(Verdict::Error)
        ));
    }
    out.push_str(&format!(
        "\n{} cases against {} in {:.1?}: {} passed, {} failed, {} warnings, {} skipped, {} errors{}\n",
        report.results.len(),
        report.target,
        report.elapsed,
        report.count(Verdict::Pass),
        report.count(Verdict::Fail),
        report.count(Verdict::Warning),
        report.count(Verdict::Skipped),
        report.count(Verdict::Error),
        if report.known.is_empty() {
            String::new()
        } else {
            format!(" ({} known from the baseline)", report.known.len())
        },
    ));
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    lsconform: &'static str,
    target: &'a str,
    elapsed_ms: u128,
    exit_code: u8,
    summary: BTreeMap<&'static str, usize>,
    stale: Vec<&'a str>,
    cases: Vec<JsonCase<'a>>,
}

#[derive(Serialize)]
struct JsonCase<'a> {
    id: &'a str,
    group: &'a str,
    spec: &'a str,
    tag: super::case::Tag,
    rules: &'a [&'static str],
    departs_from: Option<&'static str>,
    severity: super::case::Severity,
    title: &'a str,
    verdict: Verdict,
    known_failure: bool,
    expected: Option<&'a str>,
    actual: Option<&'a str>,
    payload: Option<String>,
    curl: Option<String>,
    elapsed_ms: u128,
}

/// The longest payload the terminal shows whole.
const SHOWN_PAYLOAD: usize = 2048;

/// A payload for the terminal: whole up to [`SHOWN_PAYLOAD`] bytes, else its start and how much
/// more there is (the JSON report has it whole).
fn shortened(payload: &str) -> String {
    if payload.len() <= SHOWN_PAYLOAD {
        return payload.to_owned();
    }
    let mut cut = SHOWN_PAYLOAD;
    while !payload.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}… ({} bytes more; --report-json keeps it whole)",
        &payload[..cut],
        payload.len() - cut
    )
}

/// The JSON report (its schema: `docs/report.md`).
pub fn json(report: &Report, show_secrets: bool) -> String {
    let mut summary = BTreeMap::new();
    for v in Verdict::ALL {
        summary.insert(v.name(), report.count(v));
    }
    let cases = report
        .results
        .iter()
        .map(|r| JsonCase {
            id: &r.id,
            group: r.id.split('/').next().unwrap_or_default(),
            spec: &r.spec,
            tag: r.tag,
            rules: &r.rules,
            departs_from: r.departs_from,
            severity: r.severity,
            title: &r.title,
            verdict: r.verdict,
            known_failure: report.known.contains(&r.id),
            expected: r.expected.as_deref(),
            actual: r.actual.as_deref(),
            payload: r.request.as_ref().and_then(|q| q.payload.as_ref()).map(|p| {
                if show_secrets {
                    p.clone()
                } else {
                    redact(p)
                }
            }),
            curl: r
                .request
                .as_ref()
                .filter(|_| r.verdict != Verdict::Pass)
                .map(|q| curl(q, show_secrets)),
            elapsed_ms: r.elapsed.as_millis(),
        })
        .collect();
    let doc = JsonReport {
        lsconform: env!("CARGO_PKG_VERSION"),
        target: &report.target,
        elapsed_ms: report.elapsed.as_millis(),
        exit_code: report.exit_code(),
        summary,
        stale: report.stale.iter().map(String::as_str).collect(),
        cases,
    };
    serde_json::to_string_pretty(&doc).expect("the report always serialises")
}

fn xml(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&apos;".to_owned(),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => format!("&#x{:x};", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// The results by group (the part of the id before `/`), in the groups' order.
pub(crate) fn by_group(results: &[CaseResult]) -> BTreeMap<&str, Vec<&CaseResult>> {
    let mut groups: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
    for r in results {
        groups
            .entry(r.id.split('/').next().unwrap_or_default())
            .or_default()
            .push(r);
    }
    groups
}

/// The JUnit XML report: one testsuite per group, one testcase per case.
pub fn junit(report: &Report, show_secrets: bool) -> String {
    let groups = by_group(&report.results);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"lsconform\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">\n",
        report.results.len(),
        report.count(Verdict::Fail),
        report.count(Verdict::Error),
        report.count(Verdict::Skipped),
        report.elapsed.as_secs_f64()
    ));
    for (group, results) in groups {
        let n = |v| results.iter().filter(|r| r.verdict == v).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
            xml(group),
            results.len(),
            n(Verdict::Fail),
            n(Verdict::Error),
            n(Verdict::Skipped)
        ));
        for r in results {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">",
                xml(group),
                xml(&r.id),
                r.elapsed.as_secs_f64()
            ));
            let detail = || {
                let mut d = format!("SPEC {} [{:?}] {}\n", r.spec, r.tag, r.title);
                if let Some(e) = &r.expected {
                    d.push_str(&format!("expected: {e}\n"));
                }
                if let Some(a) = &r.actual {
                    d.push_str(&format!("actual: {a}\n"));
                }
                if let Some(rule) = r.departs_from {
                    d.push_str(&format!("rule: {rule}\n"));
                }
                if let Some(q) = &r.request {
                    d.push_str(&format!("reproduce: {}\n", curl(q, show_secrets)));
                }
                xml(&d)
            };
            let message = xml(r.actual.as_deref().unwrap_or_default());
            match r.verdict {
                Verdict::Pass => {}
                Verdict::Fail => out.push_str(&format!(
                    "\n      <failure message=\"{message}\">{}</failure>\n    ",
                    detail()
                )),
                Verdict::Error => out.push_str(&format!(
                    "\n      <error message=\"{message}\">{}</error>\n    ",
                    detail()
                )),
                Verdict::Skipped => out.push_str(&format!("\n      <skipped message=\"{message}\"/>\n    ")),
                Verdict::Warning => out.push_str(&format!(
                    "\n      <system-out>warning: {}</system-out>\n    ",
                    detail()
                )),
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
