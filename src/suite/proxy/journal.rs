//! What the proxy remembers: every exchange counted, a bounded number kept whole. Memory stays flat
//! however long it runs (the double's journal does the same): the newest exchanges are kept up to
//! the journal's capacity, the oldest dropped first, and the first nonconforming ones are kept
//! aside so that a long run never loses the earliest evidence.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use super::verdict::SideVerdict;
use crate::protocol::{rules, RequestKind, Style};
use crate::suite::render::Prepared;
use crate::suite::runner::{Answer, CaseResult, Verdict};

/// A request kept for the report is at most this large (its curl line holds the body); a larger
/// one is kept without it (its case file holds it whole). With the answer's 4 KiB, an exchange
/// kept whole costs at most about 12 KiB.
const KEPT_BODY: usize = 8 * 1024;

/// How many of the first nonconforming exchanges are kept whatever comes after.
const FIRST_NONCONFORMING: usize = 100;

/// One exchange through the proxy, judged.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The order of arrival since the proxy started, from 1.
    pub seq: u64,
    /// The HTTP method.
    pub method: String,
    /// The path and query, as sent.
    pub path: String,
    /// The endpoint the path names, if any (only the two endpoints are judged).
    pub kind: Option<RequestKind>,
    /// The official client layout of the request file ([`Style::of`]), if it has one.
    pub style: Option<Style>,
    /// The client's side.
    pub client: SideVerdict,
    /// The server's side.
    pub server: SideVerdict,
    /// The status answered (the upstream's, or the proxy's own 502/504 when there was none).
    pub status: u16,
    /// The error body's `code`, if any.
    pub code: Option<String>,
    /// From the request's arrival to the answer's last byte.
    pub latency: Duration,
    /// The case file written for it (`--out`), if one was.
    pub case_file: Option<PathBuf>,
    /// The request, when kept (warnings and worse, bodies up to 8 KiB).
    pub request: Option<Prepared>,
    /// The answer, when kept (with the request).
    pub answer: Option<Answer>,
}

impl Exchange {
    /// Whether either side is outside what SPEC allows.
    pub fn nonconforming(&self) -> bool {
        matches!(self.client, SideVerdict::Nonconforming(_))
            || matches!(self.server, SideVerdict::Nonconforming(_))
    }

    /// The log line: method, path, layout, both verdicts, status, code, latency (never a key or a
    /// signature).
    pub fn line(&self) -> String {
        let mut line = format!(
            "#{} {} {} [{}] client: {} | server: {} | {} {} | {:.1} ms",
            self.seq,
            self.method,
            self.path,
            self.style.map_or("-", Style::name),
            self.client,
            self.server,
            self.status,
            self.code.as_deref().unwrap_or("-"),
            self.latency.as_secs_f64() * 1000.0,
        );
        for (side, verdict) in [("client", &self.client), ("server", &self.server)] {
            match verdict {
                SideVerdict::Nonconforming(f) | SideVerdict::Warning(f) => {
                    line.push_str(&format!(
                        "\n    {side}: expected {}, got {}",
                        f.expected, f.actual
                    ));
                }
                SideVerdict::Unjudged(why) if self.kind.is_some() => {
                    line.push_str(&format!("\n    {side}: not judged: {why}"));
                }
                _ => {}
            }
        }
        if let Some(path) = &self.case_file {
            line.push_str(&format!("\n    case file: {}", path.display()));
        }
        line
    }

    /// The exchange as one result of the suite's reports: fail when a side is nonconforming,
    /// warning when one has a warning, skipped when nothing could be judged, error when the
    /// upstream gave no answer, pass otherwise.
    pub fn result(&self) -> CaseResult {
        let endpoint = match self.kind {
            Some(RequestKind::Activation) => "activate",
            Some(RequestKind::Deactivation) => "deactivate",
            None => "other",
        };
        // The server's finding first: that is what a replay of the case file judges again.
        let worst = [&self.server, &self.client]
            .into_iter()
            .filter(|v| matches!(v, SideVerdict::Nonconforming(_)))
            .chain(
                [&self.server, &self.client]
                    .into_iter()
                    .filter(|v| matches!(v, SideVerdict::Warning(_))),
            )
            .find_map(|v| v.finding().map(|f| (v, f)));
        let no_answer = matches!(&self.server, SideVerdict::Unjudged(why) if why.starts_with("no answer"));
        let verdict = match worst {
            Some((SideVerdict::Nonconforming(_), _)) => Verdict::Fail,
            Some(_) => Verdict::Warning,
            None if no_answer => Verdict::Error,
            None if matches!(self.client, SideVerdict::Unjudged(_))
                || matches!(self.server, SideVerdict::Unjudged(_)) =>
            {
                Verdict::Skipped
            }
            None => Verdict::Pass,
        };
        // A result with no finding stands for the endpoint's exchange as a whole.
        let route = match self.kind {
            Some(RequestKind::Activation) => rules::ROUTE_ACTIVATE,
            Some(RequestKind::Deactivation) => rules::ROUTE_DEACTIVATE,
            None => rules::ROUTE_UNKNOWN_PATH,
        };
        let rule = worst.map_or(route, |(_, f)| f.rule);
        let side = |v: &SideVerdict| match v {
            SideVerdict::Unjudged(why) => format!("unjudged ({why})"),
            v => v.to_string(),
        };
        let mut result = CaseResult::new(
            format!("proxy/{:07}-{endpoint}", self.seq),
            rule.spec,
            rule.tag,
            rule.severity(),
            format!(
                "{} {} [{}]: client {}, server {}",
                self.method,
                self.path,
                self.style.map_or("-", Style::name),
                self.client,
                self.server
            ),
            verdict,
            self.latency,
        );
        if let Some((v, f)) = worst {
            let which = if std::ptr::eq(v, &self.server) {
                "server"
            } else {
                "client"
            };
            result.rules = vec![f.rule.id];
            result.departs_from = Some(f.rule.id);
            result.expected = Some(format!("{which}: {}", f.expected));
            result.actual = Some(match &self.case_file {
                Some(path) => format!("{} (case file {})", f.actual, path.display()),
                None => f.actual.clone(),
            });
        } else if verdict != Verdict::Pass {
            result.actual = Some(format!(
                "client {}; server {}",
                side(&self.client),
                side(&self.server)
            ));
        }
        result.request = self.request.clone();
        result.answer = self.answer.clone();
        result
    }
}

/// Counts by verdict, exact however many exchanges went through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Every exchange, judged or not.
    pub exchanges: u64,
    /// Exchanges with another path than the two endpoints (forwarded, not judged).
    pub other_paths: u64,
    /// Per side (`client`, `server`) and verdict word (`conforming`, `warning`, `nonconforming`,
    /// `unjudged`), among the exchanges with the endpoints.
    pub sides: BTreeMap<(&'static str, &'static str), u64>,
    /// Nonconforming exchanges per side and rule.
    pub rules: BTreeMap<(&'static str, &'static str), u64>,
    /// Exchanges the upstream gave no answer to.
    pub no_answer: u64,
}

impl Tally {
    fn count(&mut self, e: &Exchange) {
        self.exchanges += 1;
        if e.kind.is_none() {
            self.other_paths += 1;
            return;
        }
        for (side, v) in [("client", &e.client), ("server", &e.server)] {
            let word = match v {
                SideVerdict::Conforming => "conforming",
                SideVerdict::Warning(_) => "warning",
                SideVerdict::Nonconforming(f) => {
                    *self.rules.entry((side, f.rule.id)).or_default() += 1;
                    "nonconforming"
                }
                SideVerdict::Unjudged(_) => "unjudged",
            };
            *self.sides.entry((side, word)).or_default() += 1;
        }
        if matches!(&e.server, SideVerdict::Unjudged(why) if why.starts_with("no answer")) {
            self.no_answer += 1;
        }
    }

    /// How many exchanges had this verdict word on this side.
    pub fn of(&self, side: &str, word: &str) -> u64 {
        self.sides
            .iter()
            .filter(|((s, w), _)| *s == side && *w == word)
            .map(|(_, n)| n)
            .sum()
    }

    /// The summary line printed at exit.
    pub fn summary(&self) -> String {
        let side = |s: &str| {
            format!(
                "{} conforming, {} warnings, {} nonconforming, {} unjudged",
                self.of(s, "conforming"),
                self.of(s, "warning"),
                self.of(s, "nonconforming"),
                self.of(s, "unjudged")
            )
        };
        let mut out = format!(
            "{} exchanges ({} with other paths, not judged); client: {}; server: {}",
            self.exchanges,
            self.other_paths,
            side("client"),
            side("server")
        );
        if self.no_answer > 0 {
            out.push_str(&format!(
                "; {} without an answer from the upstream",
                self.no_answer
            ));
        }
        for ((side, rule), n) in &self.rules {
            out.push_str(&format!("\n  {side} nonconforming at {rule}: {n}"));
        }
        out
    }
}

/// The bounded store of judged exchanges.
#[derive(Debug)]
pub(super) struct Journal {
    capacity: usize,
    recent: VecDeque<Exchange>,
    first_nonconforming: Vec<Exchange>,
    tally: Tally,
}

impl Journal {
    pub(super) fn new(capacity: usize) -> Journal {
        Journal {
            capacity: capacity.max(1),
            recent: VecDeque::new(),
            first_nonconforming: Vec::new(),
            tally: Tally::default(),
        }
    }

    /// Counts an exchange and keeps it, dropping the oldest beyond the capacity. A conforming
    /// exchange is kept without its request and answer.
    pub(super) fn push(&mut self, mut e: Exchange) {
        self.tally.count(&e);
        let notable = !(e.client.holds() && e.server.holds())
            || e.client.finding().is_some()
            || e.server.finding().is_some();
        let small = e
            .request
            .as_ref()
            .is_some_and(|q| q.body.as_ref().is_none_or(|b| b.len() <= KEPT_BODY));
        if !notable || !small {
            e.request = None;
            e.answer = None;
        }
        if e.nonconforming() && self.first_nonconforming.len() < FIRST_NONCONFORMING {
            self.first_nonconforming.push(e);
            return;
        }
        if self.recent.len() == self.capacity {
            self.recent.pop_front();
        }
        self.recent.push_back(e);
    }

    pub(super) fn tally(&self) -> &Tally {
        &self.tally
    }

    /// The exchanges kept, in the order they came.
    pub(super) fn kept(&self) -> Vec<Exchange> {
        let mut all: Vec<Exchange> = self
            .first_nonconforming
            .iter()
            .chain(&self.recent)
            .cloned()
            .collect();
        all.sort_by_key(|e| e.seq);
        all
    }

    /// How many exchanges are kept now (at most the capacity and the first nonconforming ones).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.first_nonconforming.len() + self.recent.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::proxy::Finding;

    fn exchange(seq: u64, server: SideVerdict) -> Exchange {
        Exchange {
            seq,
            method: "POST".into(),
            path: "/api/v4/activate_offline".into(),
            kind: Some(RequestKind::Activation),
            style: Some(Style::Python),
            client: SideVerdict::Conforming,
            server,
            status: 200,
            code: None,
            latency: Duration::from_millis(1),
            case_file: None,
            request: None,
            answer: None,
        }
    }

    fn nonconforming() -> SideVerdict {
        SideVerdict::Nonconforming(Finding {
            rule: rules::ANSWER_REQUEST_ID,
            expected: "request_id echoed".into(),
            actual: "none".into(),
        })
    }

    #[test]
    fn the_journal_keeps_at_most_its_capacity_and_counts_everything() {
        let mut journal = Journal::new(10);
        for seq in 1..=1000 {
            journal.push(exchange(seq, SideVerdict::Conforming));
        }
        assert_eq!(journal.len(), 10);
        assert_eq!(journal.kept().first().map(|e| e.seq), Some(991));
        assert_eq!(journal.tally().exchanges, 1000);
        assert_eq!(journal.tally().of("server", "conforming"), 1000);
    }

    #[test]
    fn the_first_nonconforming_exchanges_outlive_the_capacity() {
        let mut journal = Journal::new(5);
        journal.push(exchange(1, nonconforming()));
        for seq in 2..=100 {
            journal.push(exchange(seq, SideVerdict::Conforming));
        }
        let kept = journal.kept();
        assert_eq!(kept.first().map(|e| e.seq), Some(1));
        assert_eq!(kept.len(), 6);
        assert_eq!(
            journal.tally().rules.get(&("server", "answer.request-id")),
            Some(&1)
        );
        assert_eq!(kept[0].result().verdict, Verdict::Fail);
        assert_eq!(kept[0].result().departs_from, Some("answer.request-id"));
    }

    #[test]
    fn an_exchange_without_an_answer_is_an_error_never_a_pass() {
        let e = exchange(1, SideVerdict::Unjudged("no answer: connection refused".into()));
        assert_eq!(e.result().verdict, Verdict::Error);
        let other = Exchange {
            kind: None,
            client: SideVerdict::Unjudged("not an endpoint of SPEC".into()),
            ..exchange(2, SideVerdict::Unjudged("not an endpoint of SPEC".into()))
        };
        assert_eq!(other.result().verdict, Verdict::Skipped);
    }
}
