//! Dates as real runtimes write them (SPEC §2, §10): `fixtures/dates/runtimes.json`, written once
//! by Node (with dayjs), Python and Java through `scripts/date-forms/generate.sh`, a few rows by
//! hand for .NET and Go. No parser judges itself: each row is a string another runtime wrote, with
//! the instant that runtime meant. This test never runs a runtime (CI has no Java) and never reads
//! the clock: every verdict is taken at a clock set from the row.
//!
//! For every row:
//! - the reader meant for its form (`parse_http_date` for the HTTP forms of SPEC §2,
//!   `parse_other_date` for the others SPEC §10 lets a server accept) returns exactly its instant,
//!   and the other reader does not read it (so the oracle puts it in the right class);
//! - the oracle, at a clock equal to that instant, with the header signed over the text: an
//!   IMF-fixdate MUST be accepted; another HTTP form SHOULD be (accepting is the reference's
//!   answer, `date_header_diff` allowed); any other form read right MAY be (`date_header_diff` is
//!   the reference's answer, a 200 is `Fit::Allowed`); 20 minutes off either way, a 200 is
//!   `Fit::Outside` at `Severity::Must`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lsconform::protocol::{
    allowed, format_http_date, parse_http_date, parse_other_date, Allowed, Answer, AuthorizationHeader,
    ErrorCode, Fit, OracleRequest, RequestBuilder, RequestKind, ServerKnows, Severity, Style,
};
use serde::Deserialize;

const TABLE: &str = include_str!("../fixtures/dates/runtimes.json");
const API: &str = "api";
const SHARED: &str = "shared";

#[derive(Deserialize)]
struct Table {
    readers: BTreeMap<String, String>,
    rows: Vec<Row>,
}

#[derive(Deserialize)]
struct Row {
    text: String,
    unix: u64,
    form: String,
    writers: Vec<String>,
}

impl Row {
    fn instant(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.unix)
    }

    fn reader(&self) -> Reader {
        reader(&self.form).unwrap_or_else(|| panic!("{:?}: unknown form {}", self.text, self.form))
    }
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} ({}, {})", self.text, self.form, self.writers.join("; "))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    /// SPEC §2: IMF-fixdate MUST be accepted.
    ImfFixdate,
    /// SPEC §2: RFC 850, asctime and `UTC` for `GMT` SHOULD be.
    OtherHttp,
    /// SPEC §10: another form read right MAY be.
    Other,
}

fn reader(form: &str) -> Option<Reader> {
    Some(match form {
        "imf-fixdate" => Reader::ImfFixdate,
        "imf-fixdate-utc" | "rfc850-utc" | "asctime" => Reader::OtherHttp,
        "javascript" | "dayjs" | "rfc1123-unpadded-day" | "rfc2822" | "rfc3339" => Reader::Other,
        _ => return None,
    })
}

fn table() -> Table {
    serde_json::from_str(TABLE).expect("fixtures/dates/runtimes.json is the table merge.py writes")
}

fn keys(k: &str) -> Option<String> {
    (k == API).then(|| SHARED.to_owned())
}

/// The oracle's set for a valid activation sent with `Date: <date>` (the header signed over that
/// text with the right key) at the server clock `now`.
fn judged_at(body: &[u8], date: &str, now: SystemTime) -> Allowed {
    let authorization = AuthorizationHeader::signed(API, SHARED, date).to_string();
    let request = OracleRequest {
        kind: RequestKind::Activation,
        headers: Some((Some(authorization.as_bytes()), Some(date.as_bytes()))),
        now,
        content_type: Some("text/plain"),
        body: Some(body),
    };
    allowed(
        &request,
        &ServerKnows {
            max_body: 64 * 1024,
            shared_key_of: &keys,
        },
    )
}

fn body() -> String {
    RequestBuilder::activation()
        .style(Style::Python)
        .license_key("K")
        .hardware_id("hw")
        .product("TP")
        .date("d")
        .request_id("r")
        .sign(API, SHARED)
        .text
}

const DATE_HEADER_DIFF: (u16, Option<&str>) = (400, Some("date_header_diff"));

#[test]
fn the_table_covers_every_form_each_writer_and_the_instants_the_issue_names() {
    let table = table();
    // The table says which reader each form is for; so does this test.
    for (form, name) in &table.readers {
        let expected = match reader(form) {
            Some(Reader::ImfFixdate | Reader::OtherHttp) => "parse_http_date",
            Some(Reader::Other) => "parse_other_date",
            None => panic!("the table names a form this test does not know: {form}"),
        };
        assert_eq!(name, expected, "{form}");
    }
    let forms: Vec<&str> = table.rows.iter().map(|r| r.form.as_str()).collect();
    for form in table.readers.keys() {
        assert!(forms.contains(&form.as_str()), "no row of form {form}");
    }
    let written_by = |needle: &str| {
        table
            .rows
            .iter()
            .filter(|r| r.writers.iter().any(|w| w.contains(needle)))
            .count()
    };
    for writer in [
        "Date.prototype.toString()",
        "Date.prototype.toUTCString()",
        "dayjs",
        "formatdate(t, usegmt=True)",
        "format_datetime(dt, usegmt=True)",
        "RFC_1123_DATE_TIME",
        "hand-written: .NET",
        "hand-written: Go",
    ] {
        assert!(written_by(writer) > 0, "no row written by {writer}");
    }
    let has = |text: &str| table.rows.iter().any(|r| r.text == text);
    // Both paddings of the day, as the writers write them (SPEC §10: the padding never makes a
    // date "not a time").
    assert!(has(
        "Tue Dec 01 2026 07:13:29 GMT+0000 (Coordinated Universal Time)"
    ));
    assert!(has("Tue Dec 1 2026 07:13:29 GMT+0000"));
    assert!(has("Tue, 1 Dec 2026 07:13:29 GMT"));
    assert!(has("Thu, 10 Dec 2026 22:10:50 GMT"));
    // A year's end, a leap day, and offsets other than UTC.
    assert!(has("Thu, 31 Dec 2026 23:59:59 GMT"));
    assert!(has("Fri, 01 Jan 2027 00:00:00 GMT"));
    assert!(has("Tue, 29 Feb 2028 12:34:56 GMT"));
    assert!(has("Fri Jan 01 2027 05:29:59 GMT+0530 (India Standard Time)"));
    assert!(has(
        "Fri Jan 01 2027 00:59:59 GMT+0100 (Central European Standard Time)"
    ));
    assert!(has("Thu Dec 31 2026 18:59:59 GMT-0500 (Eastern Standard Time)"));
}

#[test]
fn each_runtime_s_date_reads_as_the_instant_it_names_with_the_reader_for_its_form() {
    let table = table();
    let mut wrong = Vec::new();
    for row in &table.rows {
        let (http, other) = (parse_http_date(&row.text), parse_other_date(&row.text));
        let (read, not_read) = match row.reader() {
            Reader::ImfFixdate | Reader::OtherHttp => (http, other),
            Reader::Other => (other, http),
        };
        if read != Some(row.instant()) {
            wrong.push(format!("{row}: read as {read:?}, not {}", row.unix));
        }
        if not_read.is_some() {
            wrong.push(format!("{row}: the other reader reads it too, as {not_read:?}"));
        }
        if row.reader() == Reader::ImfFixdate && format_http_date(row.instant()) != row.text {
            wrong.push(format!("{row}: not the IMF-fixdate of its instant"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows:\n{}",
        wrong.len(),
        table.rows.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_oracle_judges_each_runtime_s_date_right_at_its_instant_and_twenty_minutes_off() {
    let table = table();
    let body = body();
    let mut wrong = Vec::new();
    for row in &table.rows {
        let mut check = |what: &str, ok: bool, a: &Allowed| {
            if !ok {
                wrong.push(format!("{row}: {what}; allowed: {} {:?}", a.describe(), a.broken));
            }
        };
        // Within the window: at the instant itself and at both of its edges (SPEC §2: 15 minutes).
        for now in [
            row.instant(),
            row.instant() - Duration::from_secs(15 * 60),
            row.instant() + Duration::from_secs(15 * 60),
        ] {
            let a = judged_at(body.as_bytes(), &row.text, now);
            match row.reader() {
                Reader::ImfFixdate => {
                    check(
                        "accepted, nothing else",
                        a.pinned == Answer::Accepted && a.also.is_empty(),
                        &a,
                    );
                    check("a 200 is pinned", a.fit(200, None) == Fit::Pinned, &a);
                    let (status, code) = DATE_HEADER_DIFF;
                    check(
                        "date_header_diff is outside",
                        a.fit(status, code) == Fit::Outside,
                        &a,
                    );
                }
                Reader::OtherHttp => {
                    check("a 200 is pinned", a.fit(200, None) == Fit::Pinned, &a);
                    let (status, code) = DATE_HEADER_DIFF;
                    check(
                        "date_header_diff is allowed",
                        a.fit(status, code) == Fit::Allowed,
                        &a,
                    );
                }
                Reader::Other => {
                    check(
                        "date_header_diff pinned",
                        a.pinned == Answer::Refused(ErrorCode::DateHeaderDiff),
                        &a,
                    );
                    check("a 200 is allowed", a.fit(200, None) == Fit::Allowed, &a);
                }
            }
        }
        // 20 minutes off, either way: never accepted, whatever the form (SPEC §2 and §10: MUST
        // refuse a value that is not a time within the window).
        for now in [
            row.instant() - Duration::from_secs(20 * 60),
            row.instant() + Duration::from_secs(20 * 60),
        ] {
            let a = judged_at(body.as_bytes(), &row.text, now);
            check("a 200 is outside", a.fit(200, None) == Fit::Outside, &a);
            check(
                "at MUST",
                a.outside_severity(200, None) == Some(Severity::Must),
                &a,
            );
            let (status, code) = DATE_HEADER_DIFF;
            check(
                "date_header_diff is pinned",
                a.fit(status, code) == Fit::Pinned,
                &a,
            );
        }
    }
    assert!(
        wrong.is_empty(),
        "{} findings:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
