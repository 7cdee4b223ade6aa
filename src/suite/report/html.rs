//! The HTML report (`--report-html FILE`): one self-contained page, its CSS and script inline, no
//! network. It shows what the terminal report shows (the summary, every failure, warning and error
//! with its rule, expected, actual, payload and curl line, redacted alike), and every result,
//! grouped by group, with filters by verdict, tag, severity and text. The page is written whole on
//! the server side, every text escaped; its script only hides and shows. The filters live in the
//! URL's fragment (`report.html#verdict=fail&tag=pinned&severity=must&q=base64`), so a filtered
//! view is a link.

use std::fmt::Write as _;

use super::{curl, redact, Report};
use crate::protocol::Rule;
use crate::suite::case::{DataCase, Severity, Tag};
use crate::suite::fuzz::FuzzReport;
use crate::suite::runner::{CaseResult, Verdict};

/// Text made safe for HTML, in an element or an attribute's quoted value.
///
/// ```
/// use lsconform::suite::report::escape_html;
/// assert_eq!(escape_html(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
/// ```
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn tag_name(t: Tag) -> &'static str {
    match t {
        Tag::Seed => "seed",
        Tag::Docs => "docs",
        Tag::Sdk => "sdk",
        Tag::Pinned => "pinned",
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Must => "must",
        Severity::Should => "should",
    }
}

/// The HTML report of a run (or of `diff`'s comparison, or of `fuzz`'s findings through
/// [`Report::of_fuzz`]): `heading` names what made it, `notes` are lines said under it (the seed,
/// how many requests were sent). Signatures are redacted unless `show_secrets`, as in the
/// terminal.
///
/// ```
/// use lsconform::suite::{Baseline, Report};
/// let report = Report::new("http://127.0.0.1:8080".into(), vec![], &Baseline::default(), Default::default());
/// let page = lsconform::suite::report::html(&report, "lsconform run", &["seed <1>".into()], false);
/// assert!(page.starts_with("<!DOCTYPE html>"));
/// assert!(page.contains("seed &lt;1&gt;"));
/// ```
pub fn html(report: &Report, heading: &str, notes: &[String], show_secrets: bool) -> String {
    let groups = super::by_group(&report.results);
    let mut out = String::with_capacity(64 * 1024);
    let title = format!("{heading}: {}", report.target);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape_html(&title)
    );
    let _ = write!(
        out,
        "<header>\n<h1>{}</h1>\n<p class=\"target\">against <code>{}</code> in {:.1?}, written by lsconform {}</p>\n",
        escape_html(heading),
        escape_html(&report.target),
        report.elapsed,
        env!("CARGO_PKG_VERSION")
    );
    for note in notes {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape_html(note));
    }
    out.push_str("<p id=\"summary\" class=\"summary\">");
    let _ = write!(
        out,
        "<span class=\"total\"><b id=\"count-total\">{}</b> results</span>",
        report.results.len()
    );
    for v in Verdict::ALL {
        let name = v.name();
        let _ = write!(
            out,
            " <span class=\"badge {name}\"><b id=\"count-{name}\">{}</b> {name}</span>",
            report.count(v)
        );
    }
    if !report.known.is_empty() {
        let _ = write!(
            out,
            " <span class=\"badge known\"><b id=\"count-known\">{}</b> known from the baseline</span>",
            report.known.len()
        );
    }
    if report.strict {
        out.push_str(" <span class=\"strict\">strict: warnings fail the run</span>");
    }
    out.push_str("</p>\n");
    for id in &report.stale {
        let _ = writeln!(
            out,
            "<p class=\"stale\">STALE <code>{}</code>: in the baseline, but it passes now: remove it from the baseline</p>",
            escape_html(id)
        );
    }
    out.push_str(FILTERS);
    out.push_str("</header>\n<main>\n");
    if report.results.is_empty() {
        out.push_str("<p class=\"empty\">No result.</p>\n");
    }
    for (group, results) in &groups {
        let count = |v| results.iter().filter(|r| r.verdict == v).count();
        let _ = write!(
            out,
            "<section class=\"group\" data-group=\"{g}\">\n<h2>{g} <small>{}",
            results.len(),
            g = escape_html(group)
        );
        for v in Verdict::ALL {
            let n = count(v);
            if n > 0 {
                let name = v.name();
                let _ = write!(out, " <span class=\"badge {name}\">{n} {name}</span>");
            }
        }
        out.push_str("</small></h2>\n");
        for r in results {
            result(&mut out, r, report, show_secrets);
        }
        out.push_str("</section>\n");
    }
    out.push_str("<p id=\"nothing-shown\" class=\"empty\" hidden>No result matches the filters.</p>\n");
    let _ = write!(out, "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

/// One result: a `<details>` element, open when it did not pass, its attributes what the filters
/// read.
fn result(out: &mut String, r: &CaseResult, report: &Report, show_secrets: bool) {
    let verdict = r.verdict.name();
    let known = report.known.contains(&r.id);
    let strict_fail = report.strict && r.verdict == Verdict::Warning;
    let label = match (known, strict_fail) {
        (true, _) => format!("{verdict} (known)"),
        (_, true) => "warning (strict: fails)".to_owned(),
        _ => verdict.to_owned(),
    };
    let open = !matches!(r.verdict, Verdict::Pass | Verdict::Skipped);
    let _ = write!(
        out,
        "<details class=\"result {verdict}\" data-verdict=\"{verdict}\" data-tag=\"{}\" data-severity=\"{}\" data-id=\"{}\"{}>\n\
         <summary><span class=\"badge {verdict}\">{}</span> <code class=\"id\">{}</code> <span class=\"title\">{}</span> \
         <span class=\"meta\">SPEC {} · {} · {}</span></summary>\n<dl>\n",
        tag_name(r.tag),
        severity_name(r.severity),
        escape_html(&r.id),
        if open { " open" } else { "" },
        escape_html(&label),
        escape_html(&r.id),
        escape_html(&r.title),
        escape_html(&r.spec),
        tag_name(r.tag),
        severity_name(r.severity).to_uppercase(),
    );
    let row = |out: &mut String, name: &str, class: &str, html: String| {
        let _ = writeln!(out, "<dt>{name}</dt><dd class=\"{class}\">{html}</dd>");
    };
    if !r.rules.is_empty() {
        row(
            out,
            "rules",
            "rules",
            r.rules
                .iter()
                .map(|id| format!("<code>{}</code>", escape_html(id)))
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    if let Some(rule) = r.departs_from.and_then(Rule::by_id) {
        row(
            out,
            "rule",
            "rule",
            format!(
                "<code>{}</code> ({} {}): {}",
                escape_html(rule.id),
                escape_html(rule.spec),
                severity_name(rule.severity()).to_uppercase(),
                escape_html(rule.what)
            ),
        );
    }
    if let Some(e) = &r.expected {
        row(out, "expected", "expected", escape_html(e));
    }
    if let Some(a) = &r.actual {
        row(out, "actual", "actual", escape_html(a));
    }
    if let Some(found) = r.case_file.as_ref().and_then(|f| found_in(&f.text)) {
        row(out, "found", "found", escape_html(&found));
    }
    let secret = |text: &str| {
        if show_secrets {
            text.to_owned()
        } else {
            redact(text)
        }
    };
    if let Some(req) = &r.request {
        if let Some(payload) = &req.payload {
            row(out, "payload", "payload", pre(&secret(payload)));
        }
    }
    if let Some(answer) = r.answer.as_ref().filter(|_| r.verdict != Verdict::Pass) {
        row(
            out,
            "answer",
            "answer",
            format!(
                "{} {}{}",
                answer.status,
                escape_html(answer.content_type.as_deref().unwrap_or("(no Content-Type)")),
                pre(&secret(&answer.body))
            ),
        );
    }
    if let Some(req) = r.request.as_ref().filter(|_| r.verdict != Verdict::Pass) {
        row(out, "reproduce", "curl", pre(&curl(req, show_secrets)));
    }
    let _ = writeln!(out, "<dt>time</dt><dd>{:.1?}</dd>\n</dl>\n</details>", r.elapsed);
}

fn pre(text: &str) -> String {
    format!("<pre>{}</pre>", escape_html(text))
}

/// How a generated or fuzzed request was found, from its case file's `found`: the seed and the
/// request of the run it was shrunk from, what was sent and what came.
fn found_in(case_file: &str) -> Option<String> {
    let found = serde_json::from_str::<DataCase>(case_file).ok()?.found?;
    Some(format!(
        "seed {}, request #{} of the run ({}); the target answered {} (found by {} on {})",
        found.seed, found.request, found.sent, found.answered, found.by, found.target
    ))
}

impl Report {
    /// A fuzzing run's findings as a report, one failing result each (a warning for a SHOULD
    /// finding, which `strict` makes fail), for [`html`]: the rule, expected and actual, how it was
    /// found and shrunk, the shrunk request and its answer.
    ///
    /// ```
    /// use lsconform::suite::fuzz::FuzzReport;
    /// use lsconform::suite::Report;
    /// let fuzzed = FuzzReport {
    ///     target: "http://127.0.0.1:8080".into(), seed: 1, sent: 10, answered: 10,
    ///     elapsed: Default::default(), gave_up: false, harness_error: None,
    ///     findings: vec![], not_shrunk: 0,
    /// };
    /// assert!(Report::of_fuzz(&fuzzed, true).results.is_empty());
    /// ```
    pub fn of_fuzz(fuzzed: &FuzzReport, strict: bool) -> Report {
        let results = fuzzed
            .findings
            .iter()
            .map(|f| CaseResult {
                id: f.id().to_owned(),
                spec: f.rule.spec.to_owned(),
                tag: f.rule.tag,
                rules: vec![f.rule.id],
                departs_from: Some(f.rule.id),
                severity: f.severity(),
                title: f.case.title.clone(),
                verdict: match f.severity() {
                    Severity::Must => Verdict::Fail,
                    Severity::Should => Verdict::Warning,
                },
                expected: Some(f.expected.clone()),
                actual: Some(format!(
                    "{}; the target {} ({} request(s) of the run); {}",
                    f.actual,
                    f.kind.what(),
                    f.occurrences,
                    f.how
                )),
                request: Some(f.request.clone()),
                answer: f.answer.clone(),
                case_file: Some(f.file.clone()),
                elapsed: std::time::Duration::ZERO,
            })
            .collect();
        Report::new(
            fuzzed.target.clone(),
            results,
            &super::Baseline::default(),
            fuzzed.elapsed,
        )
        .strict(strict)
    }
}

const FILTERS: &str = r#"<form id="filters" class="filters" onsubmit="return false">
<label>verdict <select id="f-verdict"><option value="">any</option><option value="fail">fail</option><option value="error">error</option><option value="warning">warning</option><option value="skipped">skipped</option><option value="pass">pass</option><option value="fail,error,warning">not passed</option></select></label>
<label>tag <select id="f-tag"><option value="">any</option><option value="seed">seed</option><option value="docs">docs</option><option value="sdk">sdk</option><option value="pinned">pinned</option></select></label>
<label>severity <select id="f-severity"><option value="">any</option><option value="must">MUST</option><option value="should">SHOULD</option></select></label>
<label>text <input id="f-q" type="search" placeholder="id, rule, code, anything"></label>
<span id="shown" class="shown"></span>
</form>
"#;

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#fff;border-bottom:1px solid #dde1e7;padding:12px 24px;position:sticky;top:0;z-index:1}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:16px;margin:18px 0 6px}
h2 small{font-weight:normal;color:#5a6272}
main{padding:4px 24px 40px}
.target,.note{margin:2px 0;color:#5a6272}
.summary{margin:8px 0}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;background:#e4e7ec;color:#1d2330}
.badge.pass{background:#d8f0dd;color:#14532d}
.badge.fail{background:#fbd5d5;color:#7f1d1d}
.badge.error{background:#fde2c8;color:#7c2d12}
.badge.warning{background:#fdf0c4;color:#713f12}
.badge.skipped{background:#e4e7ec;color:#374151}
.badge.known{background:#e0e7ff;color:#312e81}
.stale{color:#7f1d1d}
.strict{font-size:12px;color:#713f12}
.filters{display:flex;gap:14px;align-items:center;flex-wrap:wrap;margin-top:6px}
.filters select,.filters input{font:inherit}
.shown{color:#5a6272}
details.result{background:#fff;border:1px solid #dde1e7;border-left:4px solid #9aa3b2;border-radius:4px;margin:4px 0;padding:4px 10px}
details.result.fail{border-left-color:#dc2626}
details.result.error{border-left-color:#ea580c}
details.result.warning{border-left-color:#ca8a04}
details.result.pass{border-left-color:#16a34a}
summary{cursor:pointer}
.id{font-weight:600}
.meta{color:#5a6272;font-size:12px;margin-left:6px}
dl{display:grid;grid-template-columns:90px 1fr;gap:2px 12px;margin:8px 0}
dt{color:#5a6272}
dd{margin:0;overflow-wrap:anywhere}
pre{background:#f1f3f6;border-radius:3px;padding:6px 8px;margin:2px 0;white-space:pre-wrap;word-break:break-all;max-height:24em;overflow:auto}
.empty{color:#5a6272}
"#;

/// The filters: read from the fragment, written back to it, applied by hiding results (and groups
/// left empty). Nothing is fetched.
const SCRIPT: &str = r#"
(function () {
  var fields = {verdict: 'f-verdict', tag: 'f-tag', severity: 'f-severity', q: 'f-q'};
  function read() {
    var state = {};
    var params = new URLSearchParams(location.hash.replace(/^#/, '') || location.search.replace(/^\?/, ''));
    Object.keys(fields).forEach(function (k) { state[k] = params.get(k) || ''; });
    return state;
  }
  function apply(state) {
    var verdicts = state.verdict ? state.verdict.split(',') : [];
    var q = state.q.toLowerCase();
    var shown = 0, total = 0;
    document.querySelectorAll('section.group').forEach(function (group) {
      var left = 0;
      group.querySelectorAll('details.result').forEach(function (r) {
        total++;
        var ok = (!verdicts.length || verdicts.indexOf(r.dataset.verdict) >= 0)
          && (!state.tag || r.dataset.tag === state.tag)
          && (!state.severity || r.dataset.severity === state.severity)
          && (!q || r.textContent.toLowerCase().indexOf(q) >= 0);
        r.hidden = !ok;
        if (ok) { left++; }
      });
      group.hidden = left === 0;
      shown += left;
    });
    document.getElementById('shown').textContent = shown + ' of ' + total + ' shown';
    document.getElementById('nothing-shown').hidden = shown !== 0 || total === 0;
  }
  function fromForm() {
    var state = {}, parts = [];
    Object.keys(fields).forEach(function (k) {
      state[k] = document.getElementById(fields[k]).value;
      if (state[k]) { parts.push(k + '=' + encodeURIComponent(state[k])); }
    });
    history.replaceState(null, '', parts.length ? '#' + parts.join('&') : location.pathname + location.search);
    apply(state);
  }
  function toForm(state) {
    Object.keys(fields).forEach(function (k) {
      var el = document.getElementById(fields[k]);
      if (el.tagName === 'SELECT' && state[k] && !Array.prototype.some.call(el.options, function (o) { return o.value === state[k]; })) {
        var o = document.createElement('option'); o.value = state[k]; o.textContent = state[k]; el.appendChild(o);
      }
      el.value = state[k];
    });
  }
  var initial = read();
  toForm(initial);
  apply(initial);
  Object.keys(fields).forEach(function (k) {
    document.getElementById(fields[k]).addEventListener(k === 'q' ? 'input' : 'change', fromForm);
  });
  window.addEventListener('hashchange', function () { var s = read(); toForm(s); apply(s); });
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::Baseline;

    /// A result whose every text is hostile markup, as an answer from the server under test can be.
    fn hostile() -> CaseResult {
        let evil = "</pre></dd><script>alert('x')</script><img src=x onerror=\"y\">&amp;";
        CaseResult {
            expected: Some(evil.into()),
            actual: Some(evil.into()),
            answer: Some(crate::suite::Answer {
                status: 400,
                content_type: Some(evil.into()),
                body: format!("{{\"code\":\"{evil}\",\"license_signature\":\"c2VjcmV0\"}}"),
            }),
            ..CaseResult::new(
                format!("group/{evil}"),
                "§4",
                Tag::Seed,
                Severity::Must,
                evil,
                Verdict::Fail,
                std::time::Duration::ZERO,
            )
        }
    }

    #[test]
    fn text_from_the_server_under_test_never_becomes_markup() {
        let report = Report::new(
            evil_target(),
            vec![hostile()],
            &Baseline::default(),
            Default::default(),
        );
        let page = html(&report, "lsconform run", &["<b>note</b>".into()], false);
        assert_eq!(page.matches("<script").count(), 1, "only the page's own script");
        assert!(!page.contains("<img"));
        assert!(!page.contains("<b>note"));
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(
            page.contains("&amp;amp;"),
            "an entity in the text is shown as written"
        );
    }

    #[test]
    fn signatures_in_an_answer_are_redacted_unless_asked_for() {
        let report = Report::new(
            evil_target(),
            vec![hostile()],
            &Baseline::default(),
            Default::default(),
        );
        assert!(!html(&report, "run", &[], false).contains("c2VjcmV0"));
        assert!(html(&report, "run", &[], true).contains("c2VjcmV0"));
    }

    fn evil_target() -> String {
        "http://127.0.0.1:1/<script>".into()
    }
}
