//! Named faults: listed by `serve --list-faults` with the rule each breaks, hidden from the help,
//! and each one really deviates: every test sends one request that shows its fault, to the
//! reference and to a server with the fault on, and asserts both answers (the suite's fault
//! matrix proves the suite catches them; this proves they exist, each at its own rule).

use std::future::Future;
use std::process::Command;
use std::time::{Duration, SystemTime};

use lsconform::protocol::{
    check_answer, encode_request_file, format_http_date, AuthorizationHeader, OfflineKey, PublicKey,
    RequestBuilder, RequestFile, RequestKind, Style, Tamper, Verdict,
};
use lsconform::server::{Fault, ReferenceServer};

use crate::support::{builder, device, file, license, Answer, Client, API_KEY, PUBLIC_KEY, SHARED_KEY};

#[test]
fn list_faults_names_each_with_its_rule_and_help_hides_them() {
    let out = Command::new(env!("CARGO_BIN_EXE_lsconform"))
        .args(["serve", "--list-faults"])
        .output()
        .unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(Fault::ALL.len() >= 12);
    for fault in Fault::ALL {
        let line = listed
            .lines()
            .find(|l| l.split_whitespace().next() == Some(fault.name()))
            .unwrap_or_else(|| panic!("{fault} is not listed: {listed}"));
        assert!(line.contains(fault.rule().id), "{line}");
        assert!(line.contains(fault.spec()), "{line}");
    }
    let help = Command::new(env!("CARGO_BIN_EXE_lsconform"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(!help.contains("--fault"), "{help}");
    assert!(!help.contains("skip-inner-signature"), "{help}");
}

#[test]
fn every_fault_names_a_rule_a_client_can_observe_but_no_sync() {
    for fault in Fault::ALL {
        let rule = fault.rule();
        assert_eq!(fault.spec(), rule.spec, "{fault}");
        assert_eq!(
            rule.unobservable.is_some(),
            *fault == Fault::NoSync,
            "{fault}: {}",
            rule.id
        );
    }
}

async fn with(fault: Fault) -> (lsconform::server::RunningServer, Client) {
    let server = ReferenceServer::builder().fault(fault).start().await.unwrap();
    let client = Client::of(&server);
    (server, client)
}

/// Sends the same exchange to a fresh reference server and to a fresh server with `fault` on:
/// (the reference's answer, the faulty server's answer).
async fn both<F, Fut>(fault: Fault, exchange: F) -> (Answer, Answer)
where
    F: Fn(Client) -> Fut,
    Fut: Future<Output = Answer>,
{
    let reference = ReferenceServer::builder().start().await.unwrap();
    let faulty = ReferenceServer::builder().fault(fault).start().await.unwrap();
    let expected = exchange(Client::of(&reference)).await;
    let deviant = exchange(Client::of(&faulty)).await;
    reference.shutdown().await;
    faulty.shutdown().await;
    (expected, deviant)
}

/// Activates `file` on both servers.
async fn activate_both(fault: Fault, file: &RequestFile) -> (Answer, Answer) {
    both(fault, |c| {
        let file = file.clone();
        async move { c.activate(&file).await }
    })
    .await
}

/// A signed activation file for the perpetual license on a fresh device.
fn perpetual() -> RequestFile {
    file(RequestKind::Activation, &license("perpetual"), &device())
}

/// A signed activation file for the license of `role`.
fn of_role(role: &str) -> RequestFile {
    file(RequestKind::Activation, &license(role), &device())
}

fn code(answer: &Answer) -> String {
    answer.status_and_code().1
}

/// POSTs `body` to `path` with a Date and an Authorization header signed over it, the headers
/// given replacing those (a `None` value leaves the header out), and Content-Type text/plain
/// unless given.
async fn post_with(
    c: &Client,
    path: &str,
    headers: &[(&str, Option<String>)],
    body: impl Into<Vec<u8>>,
) -> Answer {
    post_dated(c, SystemTime::now(), path, headers, body).await
}

/// [`post_with`] with the Date of `time`.
async fn post_dated(
    c: &Client,
    time: SystemTime,
    path: &str,
    headers: &[(&str, Option<String>)],
    body: impl Into<Vec<u8>>,
) -> Answer {
    let date = format_http_date(time);
    let auth = AuthorizationHeader::signed(API_KEY, SHARED_KEY, &date).to_string();
    let mut all: Vec<(&str, Option<String>)> = vec![
        ("Date", Some(date)),
        ("Authorization", Some(auth)),
        ("Content-Type", Some("text/plain".into())),
    ];
    for (name, value) in headers {
        match all.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(slot) => slot.1 = value.clone(),
            None => all.push((name, value.clone())),
        }
    }
    let mut request = c.http().post(c.url(path)).body(body.into());
    for (name, value) in all {
        if let Some(value) = value {
            request = request.header(name, value);
        }
    }
    c.send(request).await
}

const ACTIVATE: &str = "/api/v4/activate_offline";

/// A multipart body of these (name, content) parts: its Content-Type and bytes.
fn multipart(parts: &[(&str, &str)]) -> (String, Vec<u8>) {
    let mut body = String::new();
    for (name, content) in parts {
        body.push_str(&format!(
            "--b0undary\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"a.req\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n{content}\r\n"
        ));
    }
    body.push_str("--b0undary--\r\n");
    ("multipart/form-data; boundary=b0undary".into(), body.into_bytes())
}

// SPEC §1: the routes.

#[tokio::test]
async fn prefix_routed_serves_a_path_that_only_starts_like_the_endpoint() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::PrefixRouted, |c| {
        let f = f.clone();
        async move { c.post("/api/v4/activate_offline_nope", f.text.clone()).await }
    })
    .await;
    assert_eq!((reference.status, code(&reference).as_str()), (404, "not_found"));
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn wrong_method_not_found_answers_404_to_a_get_on_the_endpoint() {
    let (reference, faulty) = both(Fault::WrongMethodNotFound, |c| async move {
        c.send(c.http().get(c.url(ACTIVATE))).await
    })
    .await;
    assert_eq!(
        (reference.status, code(&reference).as_str()),
        (405, "method_not_allowed")
    );
    assert_eq!((faulty.status, code(&faulty).as_str()), (404, "not_found"));
}

#[tokio::test]
async fn headers_before_route_answers_missing_headers_on_an_unknown_path() {
    let (reference, faulty) = both(Fault::HeadersBeforeRoute, |c| async move {
        post_with(
            &c,
            "/api/v4/nowhere",
            &[("Date", None), ("Authorization", None)],
            "",
        )
        .await
    })
    .await;
    assert_eq!((reference.status, code(&reference).as_str()), (404, "not_found"));
    assert_eq!(code(&faulty), "missing_headers");
}

// SPEC §1: Accept, recommended and never required.

/// POSTs `body` to activate_offline with freshly signed headers and no Accept header at all, which
/// reqwest cannot send: over a TCP connection of its own, closed after the answer.
async fn post_without_accept(c: &Client, body: &str) -> Answer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url = c.url(ACTIVATE);
    let authority = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .expect("an http:// URL");
    let date = format_http_date(SystemTime::now());
    let auth = AuthorizationHeader::signed(API_KEY, SHARED_KEY, &date).to_string();
    let request = format!(
        "POST {ACTIVATE} HTTP/1.1\r\nHost: {authority}\r\nDate: {date}\r\nAuthorization: {auth}\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut socket = tokio::net::TcpStream::connect(authority).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    socket.read_to_end(&mut raw).await.unwrap();
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a head");
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let content_type = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    Answer {
        status,
        content_type,
        allow: None,
        body: raw[end + 4..].to_vec(),
    }
}

#[tokio::test]
async fn accept_header_required_refuses_a_request_without_accept() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::AcceptHeaderRequired, |c| {
        let f = f.clone();
        async move { post_without_accept(&c, &f.text).await }
    })
    .await;
    assert_eq!(
        reference.status,
        200,
        "{}",
        String::from_utf8_lossy(&reference.body)
    );
    assert_eq!((faulty.status, code(&faulty).as_str()), (400, "missing_headers"));
}

#[tokio::test]
async fn accept_json_only_answers_406_to_accept_text_html_only() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::AcceptJsonOnly, |c| {
        let f = f.clone();
        async move { post_with(&c, ACTIVATE, &[("Accept", Some("text/html".into()))], f.text).await }
    })
    .await;
    assert_eq!(reference.status, 200);
    assert_eq!((faulty.status, code(&faulty).as_str()), (406, "not_acceptable"));
    // An Accept that admits JSON among others is served.
    let (server, c) = with(Fault::AcceptJsonOnly).await;
    let accept = Some("text/html, application/*;q=0.1".to_owned());
    let served = post_with(&c, ACTIVATE, &[("Accept", accept)], perpetual().text).await;
    server.shutdown().await;
    assert_eq!(served.status, 200);
}

// SPEC §1, §1a: the required headers.

#[tokio::test]
async fn wrong_code_missing_headers_answers_missing_parameters() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::WrongCodeForMissingHeaders, |c| {
        let f = f.clone();
        async move { post_with(&c, ACTIVATE, &[("Date", None)], f.text).await }
    })
    .await;
    assert_eq!(code(&reference), "missing_headers");
    assert_eq!(code(&faulty), "missing_parameters");
}

#[tokio::test]
async fn body_before_missing_headers_refuses_the_body_first() {
    let (reference, faulty) = both(Fault::BodyBeforeMissingHeaders, |c| async move {
        post_with(&c, ACTIVATE, &[("Authorization", None)], "not Base64!").await
    })
    .await;
    assert_eq!(code(&reference), "missing_headers");
    assert_eq!(code(&faulty), "authorization_missing_params");
}

// SPEC §2: the Authorization header.

/// The Authorization header for now, signed, rewritten by `edit`.
fn authorization(date: &str, edit: impl Fn(String) -> String) -> Option<String> {
    Some(edit(
        AuthorizationHeader::signed(API_KEY, SHARED_KEY, date).to_string(),
    ))
}

async fn post_with_authorization(c: &Client, f: &RequestFile, edit: fn(String) -> String) -> Answer {
    let now = SystemTime::now();
    let date = format_http_date(now);
    post_dated(
        c,
        now,
        ACTIVATE,
        &[("Authorization", authorization(&date, edit))],
        f.text.clone(),
    )
    .await
}

#[tokio::test]
async fn documented_form_only_refuses_spaces_after_the_commas() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::DocumentedFormOnly, |c| {
        let f = f.clone();
        async move { post_with_authorization(&c, &f, |h| h.replace(',', ", ")).await }
    })
    .await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "authorization_invalid_headers");
}

#[tokio::test]
async fn unparseable_as_missing_pair_answers_authorization_missing_params() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::UnparseableAsMissingPair, |c| {
        let f = f.clone();
        async move { post_with_authorization(&c, &f, |_| "this is not a signature header".into()).await }
    })
    .await;
    assert_eq!(code(&reference), "authorization_invalid_headers");
    assert_eq!(code(&faulty), "authorization_missing_params");
}

#[tokio::test]
async fn missing_pair_as_unparseable_answers_authorization_invalid_headers() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::MissingPairAsUnparseable, |c| {
        let f = f.clone();
        async move {
            post_with_authorization(&c, &f, |h| {
                h.split(",apikey=").next().unwrap_or_default().to_owned()
            })
            .await
        }
    })
    .await;
    assert_eq!(code(&reference), "authorization_missing_params");
    assert_eq!(code(&faulty), "authorization_invalid_headers");
}

#[tokio::test]
async fn accept_any_algorithm_takes_hmac_sha1_for_hmac_sha256() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::AcceptAnyAlgorithm, |c| {
        let f = f.clone();
        async move { post_with_authorization(&c, &f, |h| h.replace("hmac-sha256", "hmac-sha1")).await }
    })
    .await;
    assert_eq!(code(&reference), "hmac_required");
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn api_key_before_algorithm_answers_invalid_api_key_before_hmac_required() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::ApiKeyBeforeAlgorithm, |c| {
        let f = f.clone();
        async move {
            post_with_authorization(&c, &f, |h| {
                h.replace("hmac-sha256", "hmac-sha1")
                    .replace(API_KEY, "no-such-key")
            })
            .await
        }
    })
    .await;
    assert_eq!(code(&reference), "hmac_required");
    assert_eq!(code(&faulty), "invalid_api_key");
}

#[tokio::test]
async fn unknown_api_key_mismatch_answers_signature_mismatch() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::UnknownApiKeyMismatch, |c| {
        let f = f.clone();
        async move { post_with_authorization(&c, &f, |h| h.replace(API_KEY, "no-such-api-key")).await }
    })
    .await;
    assert_eq!(code(&reference), "invalid_api_key");
    assert_eq!(code(&faulty), "signature_mismatch");
}

#[tokio::test]
async fn skip_header_signature_accepts_a_header_signed_with_another_key() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::SkipHeaderSignature, |c| {
        let f = f.clone();
        async move {
            let date = format_http_date(SystemTime::now());
            let other = AuthorizationHeader::signed(API_KEY, "another-shared-key", &date).to_string();
            post_with(
                &c,
                ACTIVATE,
                &[("Date", Some(date)), ("Authorization", Some(other))],
                f.text,
            )
            .await
        }
    })
    .await;
    assert_eq!(code(&reference), "signature_mismatch");
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn accept_any_bearer_token_lets_a_bearer_token_through() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::AcceptAnyBearerToken, |c| {
        let f = f.clone();
        async move { post_with_authorization(&c, &f, |_| "Bearer not-a-token-we-issued".into()).await }
    })
    .await;
    assert_eq!(code(&reference), "authorization_invalid_headers");
    assert_eq!(faulty.status, 200);
}

// SPEC §2: the Date header.

/// Activates a fresh perpetual file with a Date `offset` from now (negative: in the past).
async fn dated(fault: Fault, offset: i64) -> (Answer, Answer) {
    let f = perpetual();
    both(fault, |c| {
        let f = f.clone();
        async move {
            let now = SystemTime::now();
            let magnitude = Duration::from_secs(offset.unsigned_abs());
            let time = if offset < 0 {
                now - magnitude
            } else {
                now + magnitude
            };
            post_dated(&c, time, ACTIVATE, &[], f.text).await
        }
    })
    .await
}

#[tokio::test]
async fn five_minute_window_refuses_a_date_ten_minutes_old() {
    let (reference, faulty) = dated(Fault::FiveMinuteWindow, -10 * 60).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "date_header_diff");
}

#[tokio::test]
async fn accept_stale_date_accepts_a_date_twenty_minutes_old_but_not_ahead() {
    let (reference, faulty) = dated(Fault::AcceptStaleDate, -20 * 60).await;
    assert_eq!(code(&reference), "date_header_diff");
    assert_eq!(faulty.status, 200);
    let (_, ahead) = dated(Fault::AcceptStaleDate, 20 * 60).await;
    assert_eq!(code(&ahead), "date_header_diff");
}

#[tokio::test]
async fn accept_future_date_accepts_a_date_twenty_minutes_ahead_but_not_old() {
    let (reference, faulty) = dated(Fault::AcceptFutureDate, 20 * 60).await;
    assert_eq!(code(&reference), "date_header_diff");
    assert_eq!(faulty.status, 200);
    let (_, old) = dated(Fault::AcceptFutureDate, -20 * 60).await;
    assert_eq!(code(&old), "date_header_diff");
}

#[tokio::test]
async fn refuse_future_date_refuses_a_date_ten_minutes_ahead() {
    let (reference, faulty) = dated(Fault::RefuseFutureDate, 10 * 60).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "date_header_diff");
}

#[tokio::test]
async fn accept_unparseable_date_accepts_a_date_that_is_not_a_time() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::AcceptUnparseableDate, |c| {
        let f = f.clone();
        async move {
            let date = "not a date at all".to_owned();
            let auth = AuthorizationHeader::signed(API_KEY, SHARED_KEY, &date).to_string();
            post_with(
                &c,
                ACTIVATE,
                &[("Date", Some(date)), ("Authorization", Some(auth))],
                f.text,
            )
            .await
        }
    })
    .await;
    assert_eq!(code(&reference), "date_header_diff");
    assert_eq!(faulty.status, 200);
}

// SPEC §3: the body.

/// A perpetual file's text followed by `n` newlines (whitespace the Base64 rules ignore).
fn padded(n: usize) -> String {
    format!("{}{}", perpetual().text, "\n".repeat(n))
}

#[tokio::test]
async fn no_body_cap_reads_a_body_over_the_cap() {
    let body = padded(lsconform::server::DEFAULT_MAX_BODY + 1024);
    let (reference, faulty) = both(Fault::NoBodyCap, |c| {
        let body = body.clone();
        async move { c.post(ACTIVATE, body).await }
    })
    .await;
    assert_eq!(
        (reference.status, code(&reference).as_str()),
        (413, "payload_too_large")
    );
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn cap_below_declared_refuses_a_body_within_the_cap() {
    let body = padded(lsconform::server::DEFAULT_MAX_BODY * 3 / 4);
    let (reference, faulty) = both(Fault::CapBelowDeclared, |c| {
        let body = body.clone();
        async move { c.post(ACTIVATE, body).await }
    })
    .await;
    assert_eq!(reference.status, 200);
    assert_eq!(
        (faulty.status, code(&faulty).as_str()),
        (413, "payload_too_large")
    );
}

#[tokio::test]
async fn text_plain_only_refuses_a_form_urlencoded_body() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::TextPlainOnly, |c| {
        let f = f.clone();
        let form = Some("application/x-www-form-urlencoded".to_owned());
        async move { post_with(&c, ACTIVATE, &[("Content-Type", form)], f.text).await }
    })
    .await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "missing_parameters");
}

async fn post_multipart(c: &Client, parts: &[(&str, &str)]) -> Answer {
    let (content_type, body) = multipart(parts);
    post_with(c, ACTIVATE, &[("Content-Type", Some(content_type))], body).await
}

#[tokio::test]
async fn multipart_part_headers_kept_cannot_read_a_file_part() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::MultipartPartHeadersKept, |c| {
        let f = f.clone();
        async move { post_multipart(&c, &[("file", &f.text)]).await }
    })
    .await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "authorization_missing_params");
}

#[tokio::test]
async fn multipart_first_file_wins_reads_the_first_of_two_file_parts() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::MultipartFirstFileWins, |c| {
        let f = f.clone();
        async move { post_multipart(&c, &[("file", &f.text), ("file", "bm90IHRoaXMgb25l")]).await }
    })
    .await;
    assert_eq!(code(&reference), "authorization_missing_params");
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn empty_body_decoded_answers_authorization_missing_params() {
    let (reference, faulty) = both(
        Fault::EmptyBodyDecoded,
        |c| async move { c.post(ACTIVATE, "").await },
    )
    .await;
    assert_eq!(code(&reference), "missing_parameters");
    assert_eq!(code(&faulty), "authorization_missing_params");
}

#[tokio::test]
async fn multipart_no_file_as_empty_answers_authorization_missing_params() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::MultipartNoFileAsEmpty, |c| {
        let f = f.clone();
        async move { post_multipart(&c, &[("data", &f.text)]).await }
    })
    .await;
    assert_eq!(code(&reference), "missing_parameters");
    assert_eq!(code(&faulty), "authorization_missing_params");
}

#[tokio::test]
async fn multipart_empty_file_as_missing_answers_missing_parameters() {
    let (reference, faulty) = both(Fault::MultipartEmptyFileAsMissing, |c| async move {
        post_multipart(&c, &[("file", "")]).await
    })
    .await;
    assert_eq!(code(&reference), "authorization_missing_params");
    assert_eq!(code(&faulty), "missing_parameters");
}

// SPEC §3: Base64.

async fn post_text(fault: Fault, text: String) -> (Answer, Answer) {
    both(fault, |c| {
        let text = text.clone();
        async move { c.post(ACTIVATE, text).await }
    })
    .await
}

#[tokio::test]
async fn refuse_whitespace_refuses_a_trailing_newline() {
    let (reference, faulty) = post_text(Fault::RefuseWhitespace, padded(1)).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "authorization_missing_params");
}

#[tokio::test]
async fn refuse_byte_order_mark_refuses_one_leading_mark() {
    let (reference, faulty) = post_text(
        Fault::RefuseByteOrderMark,
        format!("\u{feff}{}", perpetual().text),
    )
    .await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "authorization_missing_params");
}

#[tokio::test]
async fn strip_every_byte_order_mark_accepts_two_leading_marks() {
    let text = format!("\u{feff}\u{feff}{}", perpetual().text);
    let (reference, faulty) = post_text(Fault::StripEveryByteOrderMark, text).await;
    assert_eq!(code(&reference), "authorization_missing_params");
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn accept_url_safe_base64_reads_the_url_safe_alphabet() {
    // `?` and `~` in every position of a 3-byte group put a `/` in the Base64 text.
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .field("hostname", "??~~??~~")
        .sign(API_KEY, SHARED_KEY);
    assert!(f.text.contains('/'));
    let (reference, faulty) = post_text(
        Fault::AcceptUrlSafeBase64,
        f.text.replace('+', "-").replace('/', "_"),
    )
    .await;
    assert_eq!(code(&reference), "authorization_missing_params");
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn lenient_base64_accepts_a_file_without_its_padding() {
    let f = (0..3)
        .map(|n| {
            builder(RequestKind::Activation, &license("perpetual"), &device())
                .field("hostname", "h".repeat(n))
                .sign(API_KEY, SHARED_KEY)
        })
        .find(|f| f.text.ends_with('='))
        .expect("one of three lengths is padded");
    let (reference, faulty) = post_text(Fault::LenientBase64, f.text.trim_end_matches('=').to_owned()).await;
    assert_eq!(code(&reference), "authorization_missing_params");
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn multipart_base64_strict_refuses_a_trailing_newline_in_a_file_part_only() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::MultipartBase64Strict, |c| {
        let f = f.clone();
        async move { post_multipart(&c, &[("file", &format!("{}\n", f.text))]).await }
    })
    .await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "authorization_missing_params");
    let (_, raw) = post_text(Fault::MultipartBase64Strict, padded(1)).await;
    assert_eq!(raw.status, 200);
}

// SPEC §3: JSON.

/// A perpetual file whose decoded JSON is edited (the signatures stay right: the edit is outside
/// the `request` member), posted to both servers.
async fn edited_json(fault: Fault, edit: impl Fn(&[u8]) -> Vec<u8>) -> (Answer, Answer) {
    post_text(fault, encode_request_file(&edit(&perpetual().json))).await
}

#[tokio::test]
async fn accept_trailing_garbage_reads_the_first_value_only() {
    let (reference, faulty) = edited_json(Fault::AcceptTrailingGarbage, |j| [j, b" trailing"].concat()).await;
    assert_eq!(code(&reference), "authorization_missing_params");
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn json_byte_order_mark_skipped_reads_json_after_a_mark() {
    let (reference, faulty) = edited_json(Fault::JsonByteOrderMarkSkipped, |j| {
        [&b"\xEF\xBB\xBF"[..], j].concat()
    })
    .await;
    assert_eq!(code(&reference), "authorization_missing_params");
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn duplicate_keys_last_wins_takes_the_last_copy() {
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .style(Style::Schema1)
        .sign(API_KEY, SHARED_KEY);
    let json = String::from_utf8(f.json)
        .unwrap()
        .replacen('{', r#"{"product":"OTHER","#, 1);
    let (reference, faulty) =
        post_text(Fault::DuplicateKeysLastWins, encode_request_file(json.as_bytes())).await;
    assert_eq!(code(&reference), "authorization_missing_params");
    assert_eq!(faulty.status, 200, "{}", String::from_utf8_lossy(&faulty.body));
}

#[tokio::test]
async fn no_depth_limit_reads_nesting_deeper_than_32() {
    let mut nested = serde_json::json!([]);
    for _ in 0..lsconform::protocol::MAX_DEPTH {
        nested = serde_json::json!([nested]);
    }
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .field("variables", nested)
        .sign(API_KEY, SHARED_KEY);
    let (reference, faulty) = activate_both(Fault::NoDepthLimit, &f).await;
    assert_eq!(code(&reference), "authorization_missing_params");
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn depth_limit_off_by_one_refuses_nesting_of_exactly_32() {
    // The envelope is depth 1, the request member 2, `variables` 3: 30 more arrays make 32.
    let mut nested = serde_json::json!([]);
    for _ in 0..lsconform::protocol::MAX_DEPTH - 3 {
        nested = serde_json::json!([nested]);
    }
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .field("variables", nested)
        .sign(API_KEY, SHARED_KEY);
    let (reference, faulty) = activate_both(Fault::DepthLimitOffByOne, &f).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "authorization_missing_params");
}

#[tokio::test]
async fn deep_nesting_500_crashes_on_nesting_deeper_than_32() {
    let mut nested = serde_json::json!([]);
    for _ in 0..lsconform::protocol::MAX_DEPTH {
        nested = serde_json::json!([nested]);
    }
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .field("variables", nested)
        .sign(API_KEY, SHARED_KEY);
    let (reference, faulty) = activate_both(Fault::DeepNesting500, &f).await;
    assert_eq!(code(&reference), "authorization_missing_params");
    assert_eq!(
        (faulty.status, code(&faulty).as_str()),
        (500, "internal_server_error")
    );
}

#[tokio::test]
async fn accept_lone_surrogates_accepts_an_unpaired_surrogate_in_a_signed_file() {
    // Schema 1: the inner signature does not cover hostname, so the edit keeps every signature.
    let f = perpetual_with(|b| b.style(Style::Schema1).field("hostname", "h"));
    let json = String::from_utf8(f.json)
        .unwrap()
        .replace(r#""hostname":"h""#, r#""hostname":"\ud800""#);
    assert!(json.contains(r"\ud800"));
    let (reference, faulty) =
        post_text(Fault::AcceptLoneSurrogates, encode_request_file(json.as_bytes())).await;
    assert_eq!(code(&reference), "authorization_missing_params");
    assert_eq!(faulty.status, 200);
}

// SPEC §4: the payload.

/// A Python-style activation for the perpetual license, edited, then signed with the test keys.
fn perpetual_with(edit: impl FnOnce(RequestBuilder) -> RequestBuilder) -> RequestFile {
    edit(builder(RequestKind::Activation, &license("perpetual"), &device())).sign(API_KEY, SHARED_KEY)
}

#[tokio::test]
async fn payload_key_from_header_verifies_an_unknown_payload_api_key_with_the_header_s() {
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .sign("no-such-api-key", SHARED_KEY);
    let (reference, faulty) = activate_both(Fault::PayloadKeyFromHeader, &f).await;
    assert_eq!(code(&reference), "invalid_api_key");
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn api_key_from_header_reads_a_payload_without_api_key() {
    let f = perpetual_with(|b| b.remove("api_key"));
    let (reference, faulty) = activate_both(Fault::ApiKeyFromHeader, &f).await;
    assert_eq!(code(&reference), "authorization_missing_params");
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn product_from_license_reads_a_payload_without_product() {
    let f = perpetual_with(|b| b.remove("product"));
    let (reference, faulty) = activate_both(Fault::ProductFromLicense, &f).await;
    assert_eq!(code(&reference), "authorization_missing_params");
    assert_eq!(faulty.status, 200);
    assert_eq!(faulty.json()["product_details"]["short_code"], "TP");
}

#[tokio::test]
async fn username_not_supported_refuses_a_user_based_license() {
    let f = RequestBuilder::new(RequestKind::Activation)
        .username(license("user"))
        .hardware_id(device())
        .product("TP")
        .date(format_http_date(SystemTime::now()))
        .request_id(uuid::Uuid::new_v4().to_string())
        .style(Style::Python)
        .sign(API_KEY, SHARED_KEY);
    let (reference, faulty) = activate_both(Fault::UsernameNotSupported, &f).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "authorization_missing_params");
}

#[tokio::test]
async fn username_activation_only_refuses_to_deactivate_a_user_based_license() {
    let hw = device();
    let user = |kind| {
        RequestBuilder::new(kind)
            .username(license("user"))
            .hardware_id(hw.clone())
            .product("TP")
            .date(format_http_date(SystemTime::now()))
            .request_id(uuid::Uuid::new_v4().to_string())
            .style(Style::Python)
            .sign(API_KEY, SHARED_KEY)
    };
    let (activation, deactivation) = (user(RequestKind::Activation), user(RequestKind::Deactivation));
    let (reference, faulty) = both(Fault::UsernameActivationOnly, |c| {
        let (activation, deactivation) = (activation.clone(), deactivation.clone());
        async move {
            assert_eq!(
                c.activate(&activation).await.status,
                200,
                "activation by username"
            );
            c.deactivate(&deactivation).await
        }
    })
    .await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "authorization_missing_params");
}

/// An activation of the user-based license with this password.
fn user_with_password(password: &str) -> RequestFile {
    RequestBuilder::new(RequestKind::Activation)
        .username(license("user"))
        .password(password)
        .hardware_id(device())
        .product("TP")
        .date(format_http_date(SystemTime::now()))
        .request_id(uuid::Uuid::new_v4().to_string())
        .style(Style::Python)
        .sign(API_KEY, SHARED_KEY)
}

#[tokio::test]
async fn password_checked_refuses_another_password() {
    let (reference, faulty) =
        activate_both(Fault::PasswordChecked, &user_with_password("not-the-password")).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "license_not_found");
    let (_, right) = activate_both(
        Fault::PasswordChecked,
        &user_with_password("lsconform-test-password"),
    )
    .await;
    assert_eq!(right.status, 200);
}

#[tokio::test]
async fn request_id_required_refuses_a_payload_without_request_id() {
    let f = perpetual_with(|b| b.remove("request_id"));
    let (reference, faulty) = activate_both(Fault::RequestIdRequired, &f).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "authorization_missing_params");
}

#[tokio::test]
async fn deactivation_without_request_refused_refuses_the_node_sdk_s_air_gapped_file() {
    // The Node SDK's License.deactivateOffline(): schema 2, no request, no request_id.
    let without_request = |kind, key: &str, hw: &str| {
        builder(kind, key, hw)
            .style(Style::JavaScript)
            .remove("request")
            .remove("request_id")
            .sign(API_KEY, SHARED_KEY)
    };
    let (reference, faulty) = both(Fault::DeactivationWithoutRequestRefused, |c| async move {
        let (key, hw) = (license("perpetual"), device());
        // Activation without request is untouched by the fault.
        let activated = c
            .activate(&without_request(RequestKind::Activation, &key, &hw))
            .await;
        assert_eq!(activated.status, 200);
        c.deactivate(&without_request(RequestKind::Deactivation, &key, &hw))
            .await
    })
    .await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "validation_error");
}

#[tokio::test]
async fn refuse_unknown_fields_refuses_a_member_it_does_not_know() {
    let f = perpetual_with(|b| b.field("favourite_colour", "green"));
    let (reference, faulty) = activate_both(Fault::RefuseUnknownFields, &f).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "authorization_missing_params");
}

#[tokio::test]
async fn odd_member_validation_error_answers_validation_error_to_a_numeric_request_id() {
    let f = perpetual_with(|b| b.set("request_id", 42));
    let (reference, faulty) = activate_both(Fault::OddMemberValidationError, &f).await;
    assert_eq!(code(&reference), "authorization_missing_params");
    assert_eq!(code(&faulty), "validation_error");
}

#[tokio::test]
async fn accept_any_request_kind_activates_with_a_deactivation_file() {
    let f = file(RequestKind::Deactivation, &license("perpetual"), &device());
    let (reference, faulty) = activate_both(Fault::AcceptAnyRequestKind, &f).await;
    assert_eq!(code(&reference), "validation_error");
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn refuse_old_payload_date_refuses_a_file_written_in_2019() {
    let f = perpetual_with(|b| b.date("Tue, 14 May 2019 14:26:07 GMT"));
    let (reference, faulty) = activate_both(Fault::RefuseOldPayloadDate, &f).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "date_header_diff");
}

#[tokio::test]
async fn payload_date_http_only_refuses_the_node_sdk_s_date_form() {
    let f = perpetual_with(|b| b.style(Style::Schema1).date("Fri Nov 27 2026 04:36:34 GMT+0000"));
    let (reference, faulty) = activate_both(Fault::PayloadDateHttpOnly, &f).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "validation_error");
}

// SPEC §4: the payload signatures.

#[tokio::test]
async fn skip_inner_signature_accepts_a_schema_1_file_signed_with_another_key() {
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .style(Style::Schema1)
        .sign(API_KEY, "wrong");
    let (reference, faulty) = activate_both(Fault::SkipInnerSignature, &f).await;
    assert_eq!(code(&reference), "signature_mismatch");
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn inner_signature_required_refuses_a_node_sdk_file() {
    let f = perpetual_with(|b| b.style(Style::JavaScript));
    let (reference, faulty) = activate_both(Fault::InnerSignatureRequired, &f).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "authorization_missing_params");
}

#[tokio::test]
async fn trim_before_signing_refuses_a_hardware_id_between_spaces() {
    let f = builder(
        RequestKind::Activation,
        &license("perpetual"),
        &format!("  {}  ", device()),
    )
    .sign(API_KEY, SHARED_KEY);
    let (reference, faulty) = activate_both(Fault::TrimBeforeSigning, &f).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "signature_mismatch");
}

#[tokio::test]
async fn skip_outer_signature_accepts_a_wrong_mac_of_the_right_form_only() {
    let wrong = perpetual_with(|b| b.outer_signature(Tamper::Corrupt));
    let (reference, faulty) = activate_both(Fault::SkipOuterSignature, &wrong).await;
    assert_eq!(code(&reference), "signature_mismatch");
    assert_eq!(faulty.status, 200);
    let malformed =
        perpetual_with(|b| b.outer_signature(Tamper::Replace("qtFpO/izlHGbaV6Rbgeu4p1N3yr7".into())));
    let (_, faulty) = activate_both(Fault::SkipOuterSignature, &malformed).await;
    assert_eq!(code(&faulty), "signature_mismatch");
}

#[tokio::test]
async fn outer_mac_over_python_json_refuses_a_compact_file() {
    let f = perpetual_with(|b| b.style(Style::CompactHex));
    let (reference, faulty) = activate_both(Fault::OuterMacOverPythonJson, &f).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "signature_mismatch");
    // A file in Python's own layout still passes.
    let (_, python) = activate_both(Fault::OuterMacOverPythonJson, &perpetual()).await;
    assert_eq!(python.status, 200);
}

#[tokio::test]
async fn outer_mac_base64_only_refuses_a_hex_mac() {
    let f = perpetual_with(|b| b.style(Style::CompactHex));
    let (reference, faulty) = activate_both(Fault::OuterMacBase64Only, &f).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "signature_mismatch");
}

#[tokio::test]
async fn leak_license_existence_answers_license_not_found_before_the_signature() {
    let f = builder(RequestKind::Activation, "NONE-0000", &device()).sign(API_KEY, "wrong");
    let (reference, faulty) = activate_both(Fault::LeakLicenseExistence, &f).await;
    assert_eq!(code(&reference), "signature_mismatch");
    assert_eq!(code(&faulty), "license_not_found");
}

// SPEC §5: the business rules.

#[tokio::test]
async fn unknown_product_not_found_answers_license_not_found() {
    let f = perpetual_with(|b| b.product("NOPE"));
    let (reference, faulty) = activate_both(Fault::UnknownProductNotFound, &f).await;
    assert_eq!(code(&reference), "unknown_product");
    assert_eq!(code(&faulty), "license_not_found");
}

#[tokio::test]
async fn license_of_any_product_activates_a_license_of_another_product() {
    let (reference, faulty) = activate_both(Fault::LicenseOfAnyProduct, &of_role("other_product")).await;
    assert_eq!(code(&reference), "license_not_found");
    assert_eq!(faulty.status, 200);
}

/// The license of `role` activated: the reference's refusal and the faulty server's status.
async fn role_refused(fault: Fault, role: &str) -> (String, u16) {
    let (reference, faulty) = activate_both(fault, &of_role(role)).await;
    (code(&reference), faulty.status)
}

#[tokio::test]
async fn ignore_disabled_ignore_inactive_ignore_expiry_activate_what_they_ignore() {
    assert_eq!(
        role_refused(Fault::IgnoreDisabled, "disabled").await,
        ("license_not_enabled".into(), 200)
    );
    assert_eq!(
        role_refused(Fault::IgnoreInactive, "inactive").await,
        ("license_not_active".into(), 200)
    );
    assert_eq!(
        role_refused(Fault::IgnoreExpiry, "expired").await,
        ("license_expired".into(), 200)
    );
    // ignore-expiry still refuses a trial past its end.
    assert_eq!(role_refused(Fault::IgnoreExpiry, "trial_expired").await.1, 400);
}

#[tokio::test]
async fn trial_expired_as_expired_answers_license_expired() {
    let (reference, faulty) = activate_both(Fault::TrialExpiredAsExpired, &of_role("trial_expired")).await;
    assert_eq!(code(&reference), "trial_expired");
    assert_eq!(code(&faulty), "license_expired");
}

#[tokio::test]
async fn consumption_not_offline_and_any_license_type_offline_move_the_type_line() {
    let (reference, faulty) = activate_both(Fault::ConsumptionNotOffline, &of_role("consumption")).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "license_type_not_supported_offline");
    assert_eq!(
        role_refused(Fault::AnyLicenseTypeOffline, "unsupported").await,
        ("license_type_not_supported_offline".into(), 200)
    );
}

#[tokio::test]
async fn reactivation_takes_seat_refuses_the_device_holding_the_only_seat() {
    // The exhausted license's one seat is held by this device (the reference seed).
    let f = file(
        RequestKind::Activation,
        &license("exhausted"),
        "lsconform-seed-device-1",
    );
    let (reference, faulty) = activate_both(Fault::ReactivationTakesSeat, &f).await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "license_activated_max_times");
}

#[tokio::test]
async fn seats_off_by_one_gives_the_exhausted_license_one_more_seat() {
    let (reference, faulty) = activate_both(Fault::SeatsOffByOne, &of_role("exhausted")).await;
    assert_eq!(code(&reference), "license_activated_max_times");
    assert_eq!(faulty.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn non_atomic_seats_overbooks_under_concurrent_activations() {
    let (server, client) = with(Fault::NonAtomicSeats).await;
    let key = license("limited");
    let mut most = 0;
    for _ in 0..12 {
        let (winners, _) = crate::seats::contend(&client, &key).await;
        most = most.max(winners.len());
        crate::seats::give_back(&client, &key, &winners).await;
        if most > crate::seats::FREE_SEATS {
            break;
        }
    }
    assert!(
        most > crate::seats::FREE_SEATS,
        "at most {most} seats were taken at once"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn forget_answers_handles_a_replay_again() {
    let f = perpetual();
    let (reference, faulty) = both(Fault::ForgetAnswers, |c| {
        let f = f.clone();
        async move {
            let first = c.activate(&f).await;
            // A second later, so that a fresh answer has another date.
            tokio::time::sleep(Duration::from_millis(1100)).await;
            let again = c.activate(&f).await;
            assert_eq!((first.status, again.status), (200, 200));
            Answer {
                status: u16::from(first.body == again.body),
                ..again
            }
        }
    })
    .await;
    assert_eq!(
        reference.status, 1,
        "the reference answers a replay with its stored answer"
    );
    assert_eq!(faulty.status, 0, "the fault signs a fresh answer");
}

#[tokio::test]
async fn request_id_after_rules_refuses_a_replay_to_a_license_that_filled_up() {
    let key = license("limited");
    let first = file(RequestKind::Activation, &key, &device());
    let (reference, faulty) = both(Fault::RequestIdAfterRules, |c| {
        let (first, key) = (first.clone(), key.clone());
        async move {
            assert_eq!(c.activate(&first).await.status, 200);
            let hardware_id = serde_json::from_slice::<serde_json::Value>(&first.json).unwrap()["request"]
                ["hardware_id"]
                .as_str()
                .unwrap()
                .to_owned();
            assert_eq!(c.deactivate_on(&key, &hardware_id).await.status, 200);
            for _ in 0..crate::seats::FREE_SEATS {
                assert_eq!(c.activate_on(&key, &device()).await.status, 200);
            }
            c.activate(&first).await
        }
    })
    .await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "license_activated_max_times");
}

#[tokio::test]
async fn ignore_request_id_conflict_handles_another_payload_under_a_known_id() {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (reference, faulty) = both(Fault::IgnoreRequestIdConflict, |c| {
        let request_id = request_id.clone();
        async move {
            let with_id = |hardware_id: String| {
                builder(RequestKind::Activation, &license("perpetual"), &hardware_id)
                    .request_id(request_id.clone())
                    .sign(API_KEY, SHARED_KEY)
            };
            assert_eq!(c.activate(&with_id(device())).await.status, 200);
            c.activate(&with_id(device())).await
        }
    })
    .await;
    assert_eq!(
        (reference.status, code(&reference).as_str()),
        (409, "request_id_conflict")
    );
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn deactivation_keeps_seat_answers_deactivated_but_the_seat_stays_taken() {
    let (reference, faulty) = both(Fault::DeactivationKeepsSeat, |c| async move {
        let key = license("exhausted");
        let freed = c.deactivate_on(&key, "lsconform-seed-device-1").await;
        assert_eq!(freed.status, 200);
        c.activate_on(&key, &device()).await
    })
    .await;
    assert_eq!(reference.status, 200);
    assert_eq!(code(&faulty), "license_activated_max_times");
}

#[tokio::test]
async fn deactivation_frees_every_license_frees_a_seat_of_another_license() {
    let (reference, faulty) = both(Fault::DeactivationFreesEveryLicense, |c| async move {
        let hardware_id = device();
        assert_eq!(
            c.activate_on(&license("perpetual"), &hardware_id).await.status,
            200
        );
        c.deactivate_on(&license("consumption"), &hardware_id).await
    })
    .await;
    assert_eq!(code(&reference), "device_not_found");
    assert_eq!(faulty.status, 200);
}

#[tokio::test]
async fn deactivate_unknown_device_answers_deactivated() {
    let (reference, faulty) = both(Fault::DeactivateUnknownDevice, |c| async move {
        c.deactivate_on(&license("perpetual"), &device()).await
    })
    .await;
    assert_eq!(code(&reference), "device_not_found");
    assert_eq!(
        (faulty.status, faulty.body.as_slice()),
        (200, &b"license_deactivated"[..])
    );
}

// SPEC §6: the success answer.

/// The public key the reference signs with.
fn public_key() -> PublicKey {
    PublicKey::from_pem(PUBLIC_KEY).unwrap()
}

/// The signatures of an answer, checked with the test keys.
fn signatures(answer: &Answer) -> lsconform::protocol::AnswerCheck {
    let offline = OfflineKey {
        api_key: API_KEY,
        shared_key: SHARED_KEY,
    };
    check_answer(&answer.body, Some(&public_key()), Some(offline)).unwrap()
}

#[tokio::test]
async fn answer_text_plain_sends_the_answer_as_text() {
    let (reference, faulty) = activate_both(Fault::AnswerTextPlain, &perpetual()).await;
    assert_eq!(reference.content_type, "application/json");
    assert!(
        faulty.content_type.starts_with("text/plain"),
        "{}",
        faulty.content_type
    );
    assert!(signatures(&faulty).all_hold());
}

#[tokio::test]
async fn drop_is_expired_leaves_the_member_out_and_signs_what_it_sends() {
    let (reference, faulty) = activate_both(Fault::DropIsExpired, &perpetual()).await;
    assert!(reference.json().contains_key("is_expired"));
    assert!(!faulty.json().contains_key("is_expired"));
    assert!(signatures(&faulty).all_hold());
}

#[tokio::test]
async fn is_trial_always_false_says_a_trial_is_none() {
    let (reference, faulty) = activate_both(Fault::IsTrialAlwaysFalse, &of_role("trial")).await;
    assert_eq!(reference.json()["is_trial"], true);
    assert_eq!(faulty.json()["is_trial"], false);
    assert!(signatures(&faulty).all_hold());
}

#[tokio::test]
async fn times_activated_twice_counts_a_returning_device_once_more() {
    let hardware_id = device();
    let (reference, faulty) = both(Fault::TimesActivatedTwice, |c| {
        let hardware_id = hardware_id.clone();
        async move {
            let first = c.activate_on(&license("perpetual"), &hardware_id).await;
            let again = c.activate_on(&license("perpetual"), &hardware_id).await;
            Answer {
                status: (again.u64("times_activated") - first.u64("times_activated")) as u16,
                ..again
            }
        }
    })
    .await;
    assert_eq!(reference.status, 0);
    assert_eq!(faulty.status, 1);
}

#[tokio::test]
async fn trim_echoed_hardware_id_echoes_the_value_trimmed() {
    let hardware_id = format!(" {} ", device());
    let f = builder(RequestKind::Activation, &license("perpetual"), &hardware_id).sign(API_KEY, SHARED_KEY);
    let (reference, faulty) = activate_both(Fault::TrimEchoedHardwareId, &f).await;
    assert_eq!(reference.json()["hardware_id"], hardware_id.as_str());
    assert_eq!(faulty.json()["hardware_id"], hardware_id.trim());
    assert!(signatures(&faulty).all_hold());
}

#[tokio::test]
async fn offline_signature_trailing_newline_breaks_that_signature_only() {
    let (reference, faulty) = activate_both(Fault::OfflineSignatureTrailingNewline, &perpetual()).await;
    assert!(signatures(&reference).all_hold());
    let check = signatures(&faulty);
    assert_eq!(check.offline_signature, Verdict::Mismatch);
    assert_eq!(
        (check.license_signature, check.license_signature_v2),
        (Verdict::Ok, Verdict::Ok)
    );
}

#[tokio::test]
async fn license_signature_not_lowercased_breaks_that_signature_only() {
    let (reference, faulty) = activate_both(Fault::LicenseSignatureNotLowercased, &perpetual()).await;
    assert!(signatures(&reference).all_hold());
    let check = signatures(&faulty);
    assert_eq!(check.license_signature, Verdict::Mismatch);
    assert_eq!(
        (check.offline_signature, check.license_signature_v2),
        (Verdict::Ok, Verdict::Ok)
    );
}

#[tokio::test]
async fn drop_request_id_answers_without_it() {
    let (reference, faulty) = activate_both(Fault::DropRequestId, &perpetual()).await;
    assert!(reference.json()["request_id"].is_string());
    assert!(faulty.json()["request_id"].is_null());
}

#[tokio::test]
async fn reorder_signed_body_breaks_license_signature_v2_only() {
    let (_, faulty) = activate_both(Fault::ReorderSignedBody, &perpetual()).await;
    let check = signatures(&faulty);
    assert_eq!(check.license_signature_v2, Verdict::Mismatch);
    assert_eq!(
        (check.offline_signature, check.license_signature),
        (Verdict::Ok, Verdict::Ok)
    );
}

// SPEC §7: the error answer.

#[tokio::test]
async fn error_text_plain_sends_error_bodies_as_text() {
    let (reference, faulty) = both(
        Fault::ErrorTextPlain,
        |c| async move { c.post("/nowhere", "").await },
    )
    .await;
    assert_eq!(reference.content_type, "application/json");
    assert!(
        faulty.content_type.starts_with("text/plain"),
        "{}",
        faulty.content_type
    );
    assert_eq!(code(&faulty), "not_found");
}

#[tokio::test]
async fn error_status_always_400_writes_400_in_a_404_body() {
    let (reference, faulty) = both(Fault::ErrorStatusMismatch, |c| async move {
        c.post("/nowhere", "").await
    })
    .await;
    let status_member = |a: &Answer| a.json()["status"].as_u64();
    assert_eq!((reference.status, status_member(&reference)), (404, Some(404)));
    assert_eq!((faulty.status, status_member(&faulty)), (404, Some(400)));
    // A 400 is written right.
    let (_, refused) = both(Fault::ErrorStatusMismatch, |c| async move {
        c.post(ACTIVATE, "").await
    })
    .await;
    assert_eq!(code(&refused), "missing_parameters");
}
