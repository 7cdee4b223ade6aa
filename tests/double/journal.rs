//! The journal: what the client sent, decoded, and what it got.

use std::time::{Duration, SystemTime};

use lsconform::double::Requests;
use lsconform::protocol::{
    format_http_date, AuthorizationHeader, ErrorCode, RequestKind, Schema, Style, Transport, Verdict,
};

use crate::support::*;

#[tokio::test]
async fn the_journal_records_schema_style_fields_and_verdicts_of_each_request() {
    let double = double_with_seats(10).start().await;
    let client = Client::of(&double);
    for style in Style::ALL {
        let file = builder(RequestKind::Activation, LICENSE, &format!("hw-{style}"))
            .style(style)
            .field("hostname", format!("pc-{style}"))
            .sign(API_KEY, SHARED_KEY);
        assert_eq!(client.activate(&file).await.status, 200);
    }
    let journal = double.journal();
    assert_eq!(journal.len(), 4);
    for (entry, style) in journal.iter().zip(Style::ALL) {
        assert_eq!(entry.method, "POST");
        assert_eq!(entry.path, "/api/v4/activate_offline");
        assert_eq!(entry.endpoint, Some(RequestKind::Activation));
        assert_eq!(entry.transport, Some(Transport::Raw));
        let schema = if style == Style::Schema1 {
            Schema::V1
        } else {
            Schema::V2
        };
        assert_eq!(entry.schema, Some(schema));
        assert_eq!(entry.style, Some(style));
        assert_eq!(entry.field("hostname"), Some(format!("pc-{style}")));
        assert_eq!(entry.field("hardware_id"), Some(format!("hw-{style}")));
        assert_eq!(entry.field("license_key").as_deref(), Some(LICENSE));
        assert_eq!(entry.header_signature, Verdict::Ok);
        let inner = if style == Style::JavaScript {
            Verdict::Absent
        } else {
            Verdict::Ok
        };
        assert_eq!(entry.inner_signature, inner, "{style}");
        let outer = if style == Style::Schema1 {
            Verdict::Absent
        } else {
            Verdict::Ok
        };
        assert_eq!(entry.outer_signature, outer, "{style}");
        assert!(entry.signatures_hold());
        assert_eq!((entry.status, entry.code), (200, None));
    }
    assert_eq!(
        journal.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
}

#[tokio::test]
async fn a_file_signed_with_another_key_shows_which_signatures_failed() {
    let double = double_with_seats(1).start().await;
    let client = Client::of(&double);
    let file = builder(RequestKind::Activation, LICENSE, &device()).sign(API_KEY, "not-the-shared-key");
    let answer = client.activate(&file).await;
    assert_eq!((answer.status, answer.code()), (401, "signature_mismatch".into()));
    let entry = double.journal().pop().expect("an entry");
    assert_eq!(entry.header_signature, Verdict::Ok);
    assert_eq!(entry.inner_signature, Verdict::Mismatch);
    assert_eq!(entry.outer_signature, Verdict::Mismatch);
    assert!(!entry.signatures_hold());
    assert_eq!(entry.code, Some(ErrorCode::SignatureMismatch));
}

#[tokio::test]
async fn a_stale_date_is_refused_but_the_payload_is_still_journaled() {
    let double = double_with_seats(1).start().await;
    let client = Client::of(&double);
    let stale = format_http_date(SystemTime::now() - Duration::from_secs(3600));
    let headers = vec![
        ("date", stale.clone()),
        (
            "authorization",
            AuthorizationHeader::signed(API_KEY, SHARED_KEY, &stale).to_string(),
        ),
    ];
    let file = activation(LICENSE, "stale-clock-pc");
    let answer = client
        .send(
            "POST",
            RequestKind::Activation.path(),
            &headers,
            file.text.into_bytes(),
        )
        .await;
    assert_eq!(answer.code(), "date_header_diff");
    let entry = double.journal().pop().expect("an entry");
    assert_eq!(entry.code, Some(ErrorCode::DateHeaderDiff));
    // The MAC over the stale Date is right: only the clock is off.
    assert_eq!(entry.header_signature, Verdict::Ok);
    assert_eq!(entry.field("hardware_id").as_deref(), Some("stale-clock-pc"));
    assert_eq!(entry.inner_signature, Verdict::Ok);
}

#[tokio::test]
async fn a_body_that_does_not_decode_is_journaled_with_the_reason() {
    let double = double_with_seats(1).start().await;
    let client = Client::of(&double);
    let answer = client.post(RequestKind::Activation, "not base64!").await;
    assert_eq!(answer.code(), "authorization_missing_params");
    let entry = double.journal().pop().expect("an entry");
    assert_eq!(
        entry.decode_error.map(|r| r.code),
        Some(ErrorCode::AuthorizationMissingParams)
    );
    assert_eq!(entry.schema, None);
    assert_eq!(entry.payload.map(|_| ()), None);
    assert_eq!(entry.inner_signature, Verdict::NotChecked);
}

#[tokio::test]
async fn a_multipart_upload_is_journaled_as_multipart() {
    let double = double_with_seats(1).start().await;
    let client = Client::of(&double);
    let file = activation(LICENSE, &device());
    let boundary = "lsconform-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ls_activation.req\"\r\n\
         Content-Type: text/plain\r\n\r\n{}\r\n--{boundary}--\r\n",
        file.text
    );
    let mut headers = signed_headers(API_KEY, SHARED_KEY);
    headers.push((
        "content-type",
        format!("multipart/form-data; boundary={boundary}"),
    ));
    let answer = client
        .send(
            "POST",
            RequestKind::Activation.path(),
            &headers,
            body.into_bytes(),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let entry = double.journal().pop().expect("an entry");
    assert_eq!(entry.transport, Some(Transport::Multipart));
    assert_eq!(entry.style, Some(Style::Python));
}

#[tokio::test]
async fn the_journal_keeps_the_last_cap_requests_oldest_dropped_first() {
    let double = double_with_seats(1).journal_cap(10).start().await;
    let client = Client::of(&double);
    for i in 0..25 {
        client.activate_on(LICENSE, &format!("hw-{i}")).await;
    }
    let journal = double.journal();
    assert_eq!(journal.len(), 10);
    assert_eq!(double.received(), 25);
    assert_eq!(journal.first().map(|e| e.seq), Some(15));
    assert_eq!(journal.last().map(|e| e.seq), Some(24));
    assert_eq!(journal[0].field("hardware_id").as_deref(), Some("hw-15"));
}

#[tokio::test]
async fn a_journal_cap_of_zero_keeps_nothing_and_still_counts_for_expectations() {
    let double = double_with_seats(1).journal_cap(0).start().await;
    double.expect(Requests::activations(), 3);
    let client = Client::of(&double);
    for _ in 0..3 {
        client.activate_on(LICENSE, &device()).await;
    }
    assert!(double.journal().is_empty());
    assert_eq!(double.received(), 3);
}

#[tokio::test]
async fn a_journal_line_names_the_request_and_never_a_key_or_a_signature() {
    let double = double_with_seats(1).start().await;
    let client = Client::of(&double);
    client.activate_on(LICENSE, "hw-line").await;
    let line = double.journal().pop().expect("an entry").to_string();
    assert_eq!(
        line,
        "#0 POST /api/v4/activate_offline → 200; schema 2, python; license_key \"AAAA-BBBB-CCCC-DDDD\", \
         hardware_id \"hw-line\", product \"TP\"; signatures: header ok, inner ok, outer ok"
    );
    assert!(!line.contains(SHARED_KEY) && !line.contains(API_KEY));
}
