//! Named conforming variants: each gives another answer SPEC allows (SPEC §10, §1a, a [pinned]
//! choice or a SHOULD) at one point. Each test sends the request where its variant differs, checks
//! the variant's answer, and checks that the reference without it answers otherwise (so no variant
//! is a no-op). That the suite reports only warnings against each is the suite's own test.

use std::time::{Duration, SystemTime};

use lsconform::protocol::{
    check_answer, decode_request, encode_request_file, format_http_date, AuthorizationHeader, Lowercasing,
    OfflineKey, PublicKey, RequestKind, Style, Tamper,
};
use lsconform::server::{ReferenceServer, RunningServer, Variant};

use crate::support::{builder, device, license, Answer, Client, API_KEY, PUBLIC_KEY, SHARED_KEY};

/// A server with the variant and a reference server, each on its own fresh database.
struct Pair {
    variant: RunningServer,
    reference: RunningServer,
}

impl Pair {
    async fn start(variant: Variant) -> (Pair, Client, Client) {
        let with = ReferenceServer::builder().variant(variant).start().await.unwrap();
        let reference = crate::support::reference().await;
        let clients = (Client::of(&with), Client::of(&reference));
        (
            Pair {
                variant: with,
                reference,
            },
            clients.0,
            clients.1,
        )
    }

    /// Also checks that the test exercised its variant: the variant counted an answer it changed.
    async fn shutdown(self) {
        let effects = self.variant.variant_effects();
        assert!(
            effects.iter().all(|(_, n)| *n > 0),
            "a variant changed no answer: {effects:?}"
        );
        self.variant.shutdown().await;
        self.reference.shutdown().await;
    }
}

/// POSTs with these exact `Date` and `Authorization` headers.
async fn post_with(
    client: &Client,
    path: &str,
    date: &str,
    authorization: &str,
    body: impl Into<Vec<u8>>,
) -> Answer {
    let request = client
        .http()
        .post(client.url(path))
        .header("Date", date)
        .header("Authorization", authorization)
        .header("Content-Type", "text/plain")
        .body(body.into());
    client.send(request).await
}

/// A fresh, correctly signed activation file of the perpetual license, as text.
fn activation() -> String {
    builder(RequestKind::Activation, &license("perpetual"), &device())
        .sign(API_KEY, SHARED_KEY)
        .text
}

fn signatures_hold(answer: &Answer) -> bool {
    let public_key = PublicKey::from_pem(PUBLIC_KEY).unwrap();
    let offline = OfflineKey {
        api_key: API_KEY,
        shared_key: SHARED_KEY,
    };
    check_answer(&answer.body, Some(&public_key), Some(offline))
        .unwrap()
        .all_hold()
}

fn show(answer: &Answer) -> String {
    format!("{} {}", answer.status, String::from_utf8_lossy(&answer.body))
}

#[test]
fn every_variant_has_a_unique_name_that_parses_back() {
    assert!(Variant::ALL.len() >= 10);
    let mut names: Vec<&str> = Variant::ALL.iter().map(|v| v.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Variant::ALL.len());
    for v in Variant::ALL {
        assert_eq!(v.name().parse::<Variant>(), Ok(*v));
        assert!(v.spec().starts_with('§'), "{v}");
    }
}

#[tokio::test]
async fn omit_request_id_leaves_the_member_out_and_signs_what_it_sends() {
    let (pair, variant, reference) = Pair::start(Variant::OmitRequestId).await;
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .remove("request_id")
        .sign(API_KEY, SHARED_KEY);
    let answer = variant.activate(&f).await;
    assert_eq!(answer.status, 200, "{}", show(&answer));
    assert!(!answer.json().contains_key("request_id"), "{}", show(&answer));
    assert!(signatures_hold(&answer), "{}", show(&answer));
    let theirs = reference.activate(&f).await;
    assert!(theirs.json()["request_id"].is_null() && theirs.json().contains_key("request_id"));
    // A request id sent is still echoed.
    let echoed = variant.activate_on(&license("perpetual"), &device()).await;
    assert!(echoed.json()["request_id"].is_string(), "{}", show(&echoed));
    pair.shutdown().await;
}

#[tokio::test]
async fn odd_optional_refused_refuses_a_null_hostname() {
    let (pair, variant, reference) = Pair::start(Variant::OddOptionalRefused).await;
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .field("hostname", serde_json::Value::Null)
        .sign(API_KEY, SHARED_KEY);
    let answer = variant.activate(&f).await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, "authorization_missing_params".into())
    );
    assert_eq!(reference.activate(&f).await.status, 200);
    pair.shutdown().await;
}

#[tokio::test]
async fn odd_optional_absent_takes_a_numeric_request_id_as_absent() {
    let (pair, variant, reference) = Pair::start(Variant::OddOptionalAbsent).await;
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .set("request_id", 5)
        .sign(API_KEY, SHARED_KEY);
    let answer = variant.activate(&f).await;
    assert_eq!(answer.status, 200, "{}", show(&answer));
    assert!(answer.json()["request_id"].is_null());
    assert_eq!(
        reference.activate(&f).await.code(),
        "authorization_missing_params"
    );
    // SPEC §10 row 4: an unpaired surrogate is not "another type": still refused.
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .style(Style::Schema1)
        .remove("request_id")
        .sign(API_KEY, SHARED_KEY);
    let json = String::from_utf8(f.json)
        .unwrap()
        .replacen('{', r#"{"request_id":"\ud800","#, 1);
    let path = RequestKind::Activation.path();
    let answer = variant.post(path, encode_request_file(json.as_bytes())).await;
    assert_eq!(answer.code(), "authorization_missing_params");
    pair.shutdown().await;
}

#[tokio::test]
async fn odd_signature_mismatch_answers_an_empty_inner_signature_with_signature_mismatch() {
    let (pair, variant, reference) = Pair::start(Variant::OddSignatureMismatch).await;
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .style(Style::Python)
        .inner_signature(Tamper::Replace(String::new()))
        .sign(API_KEY, SHARED_KEY);
    let answer = variant.activate(&f).await;
    assert_eq!((answer.status, answer.code()), (401, "signature_mismatch".into()));
    assert_eq!(reference.activate(&f).await.status, 200);
    // A missing field still comes first (SPEC §1a).
    let missing = builder(RequestKind::Activation, &license("perpetual"), &device())
        .inner_signature(Tamper::Replace(String::new()))
        .remove("hardware_id")
        .sign(API_KEY, SHARED_KEY);
    assert_eq!(
        variant.activate(&missing).await.code(),
        "authorization_missing_params"
    );
    pair.shutdown().await;
}

#[tokio::test]
async fn signature_mismatch_400_answers_a_wrong_payload_signature_with_400() {
    let (pair, variant, reference) = Pair::start(Variant::SignatureMismatch400).await;
    let f = builder(RequestKind::Activation, &license("perpetual"), &device()).sign(API_KEY, "wrong");
    let answer = variant.activate(&f).await;
    // `code()` checks that the body's status equals the HTTP status (SPEC §7).
    assert_eq!((answer.status, answer.code()), (400, "signature_mismatch".into()));
    assert_eq!(reference.activate(&f).await.status, 401);
    pair.shutdown().await;
}

#[tokio::test]
async fn missing_content_answers_an_empty_body_with_missing_content() {
    let (pair, variant, reference) = Pair::start(Variant::MissingContent).await;
    let path = RequestKind::Activation.path();
    let answer = variant.post(path, Vec::new()).await;
    assert_eq!((answer.status, answer.code()), (400, "missing_content".into()));
    assert_eq!(
        reference.post(path, Vec::new()).await.code(),
        "missing_parameters"
    );
    pair.shutdown().await;
}

#[tokio::test]
async fn other_date_forms_accepts_an_rfc_3339_date_within_the_window_and_no_other() {
    let (pair, variant, reference) = Pair::start(Variant::OtherDateForms).await;
    let path = RequestKind::Activation.path();
    let rfc3339 = |t: SystemTime| {
        time::OffsetDateTime::from(t)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let date = rfc3339(SystemTime::now());
    let auth = AuthorizationHeader::signed(API_KEY, SHARED_KEY, &date).to_string();
    let answer = post_with(&variant, path, &date, &auth, activation()).await;
    assert_eq!(answer.status, 200, "{}", show(&answer));
    let theirs = post_with(&reference, path, &date, &auth, activation()).await;
    assert_eq!(theirs.code(), "date_header_diff");
    // Still a time within the window, and still the HMAC over the text as sent.
    let stale = rfc3339(SystemTime::now() - Duration::from_secs(20 * 60));
    let stale_auth = AuthorizationHeader::signed(API_KEY, SHARED_KEY, &stale).to_string();
    let answer = post_with(&variant, path, &stale, &stale_auth, activation()).await;
    assert_eq!(answer.code(), "date_header_diff");
    let other_text =
        AuthorizationHeader::signed(API_KEY, SHARED_KEY, &format_http_date(SystemTime::now())).to_string();
    let answer = post_with(&variant, path, &date, &other_text, activation()).await;
    assert_eq!(answer.code(), "signature_mismatch");
    pair.shutdown().await;
}

#[tokio::test]
async fn imf_fixdate_only_refuses_a_utc_date_and_still_accepts_imf_fixdate() {
    let (pair, variant, reference) = Pair::start(Variant::ImfFixdateOnly).await;
    let path = RequestKind::Activation.path();
    let date = format_http_date(SystemTime::now()).replace(" GMT", " UTC");
    let auth = AuthorizationHeader::signed(API_KEY, SHARED_KEY, &date).to_string();
    let answer = post_with(&variant, path, &date, &auth, activation()).await;
    assert_eq!(answer.code(), "date_header_diff");
    assert_eq!(
        post_with(&reference, path, &date, &auth, activation())
            .await
            .status,
        200
    );
    assert_eq!(variant.post(path, activation()).await.status, 200);
    pair.shutdown().await;
}

#[tokio::test]
async fn uppercase_hex_mac_accepts_the_right_mac_in_uppercase() {
    let (pair, variant, reference) = Pair::start(Variant::UppercaseHexMac).await;
    let b = builder(RequestKind::Activation, &license("perpetual"), &device()).style(Style::CompactHex);
    let right = b.sign(API_KEY, SHARED_KEY);
    let mac = decode_request(None, right.text.as_bytes())
        .unwrap()
        .outer_signature
        .unwrap();
    let upper = b
        .outer_signature(Tamper::Replace(mac.to_ascii_uppercase()))
        .sign(API_KEY, SHARED_KEY);
    let answer = variant.activate(&upper).await;
    assert_eq!(answer.status, 200, "{}", show(&answer));
    assert_eq!(reference.activate(&upper).await.code(), "signature_mismatch");
    // A wrong MAC in uppercase is still a mismatch.
    let wrong = builder(RequestKind::Activation, &license("perpetual"), &device())
        .style(Style::CompactHex)
        .outer_signature(Tamper::Replace("AB".repeat(32)))
        .sign(API_KEY, SHARED_KEY);
    assert_eq!(variant.activate(&wrong).await.code(), "signature_mismatch");
    pair.shutdown().await;
}

#[tokio::test]
async fn bearer_401_refuses_a_bearer_token_with_401_invalid_token() {
    let (pair, variant, reference) = Pair::start(Variant::Bearer401).await;
    let path = RequestKind::Activation.path();
    let date = format_http_date(SystemTime::now());
    let answer = post_with(&variant, path, &date, "Bearer not-issued-here", activation()).await;
    assert_eq!((answer.status, answer.code()), (401, "invalid_token".into()));
    let theirs = post_with(&reference, path, &date, "Bearer not-issued-here", activation()).await;
    assert_eq!(
        (theirs.status, theirs.code()),
        (400, "authorization_invalid_headers".into())
    );
    pair.shutdown().await;
}

#[tokio::test]
async fn signatures_before_kind_answers_a_wrong_kind_with_a_broken_signature_signature_mismatch() {
    let (pair, variant, reference) = Pair::start(Variant::SignaturesBeforeKind).await;
    let wrong_kind = |shared_key: &str| {
        builder(RequestKind::Deactivation, &license("perpetual"), &device()).sign(API_KEY, shared_key)
    };
    let broken = wrong_kind("wrong");
    assert_eq!(variant.activate(&broken).await.code(), "signature_mismatch");
    assert_eq!(reference.activate(&broken).await.code(), "validation_error");
    // SPEC §4 [safety]: a well-signed file of the other kind is still refused.
    assert_eq!(
        variant.activate(&wrong_kind(SHARED_KEY)).await.code(),
        "validation_error"
    );
    pair.shutdown().await;
}

#[tokio::test]
async fn body_before_authorization_answers_an_empty_body_before_a_wrong_header_mac() {
    let (pair, variant, reference) = Pair::start(Variant::BodyBeforeAuthorization).await;
    let path = RequestKind::Activation.path();
    let date = format_http_date(SystemTime::now());
    let wrong = AuthorizationHeader::signed(API_KEY, "wrong", &date).to_string();
    let answer = post_with(&variant, path, &date, &wrong, Vec::new()).await;
    assert_eq!(answer.code(), "missing_parameters");
    assert_eq!(
        post_with(&reference, path, &date, &wrong, Vec::new())
            .await
            .code(),
        "signature_mismatch"
    );
    // The headers' presence still comes first (SPEC §10 [seed]), and a good body still needs them.
    let no_date = variant
        .send(
            variant
                .http()
                .post(variant.url(path))
                .header("Authorization", wrong.as_str()),
        )
        .await;
    assert_eq!(no_date.code(), "missing_headers");
    let answer = post_with(&variant, path, &date, &wrong, activation()).await;
    assert_eq!(answer.code(), "signature_mismatch");
    pair.shutdown().await;
}

/// A schema-1 file with a lone surrogate escape in a key of its own (which no signature covers, and
/// which the strict parse decodes, so refuses).
fn with_lone_surrogate(shared_key: &str) -> String {
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .style(Style::Schema1)
        .sign(API_KEY, shared_key);
    let json = String::from_utf8(f.json)
        .unwrap()
        .replacen('{', r#"{"x\ud800":"y","#, 1);
    encode_request_file(json.as_bytes())
}

#[tokio::test]
async fn surrogates_read_lets_a_wrong_signature_decide_and_never_accepts() {
    let (pair, variant, reference) = Pair::start(Variant::SurrogatesRead).await;
    let path = RequestKind::Activation.path();
    let broken = with_lone_surrogate("wrong");
    assert_eq!(
        variant.post(path, broken.clone()).await.code(),
        "signature_mismatch"
    );
    assert_eq!(
        reference.post(path, broken).await.code(),
        "authorization_missing_params"
    );
    let signed = variant.post(path, with_lone_surrogate(SHARED_KEY)).await;
    assert_eq!(
        (signed.status, signed.code()),
        (400, "authorization_missing_params".into())
    );
    pair.shutdown().await;
}

#[tokio::test]
async fn error_extra_members_adds_documentation_url_to_every_error_body() {
    let (pair, variant, reference) = Pair::start(Variant::ErrorExtraMembers).await;
    let answer = variant.activate_on("NONE-0000", &device()).await;
    assert_eq!(answer.status, 400);
    let body = answer.json();
    assert_eq!(body["status"], 400);
    assert_eq!(body["code"], "license_not_found");
    assert!(body["message"].is_string());
    assert_eq!(body["documentation_url"], "https://example.invalid/errors");
    assert_eq!(body.len(), 4);
    assert_eq!(
        reference.activate_on("NONE-0000", &device()).await.json().len(),
        3
    );
    pair.shutdown().await;
}

#[tokio::test]
async fn unknown_payload_key_mismatch_answers_an_unknown_payload_api_key_signature_mismatch() {
    let (pair, variant, reference) = Pair::start(Variant::UnknownPayloadKeyMismatch).await;
    // The headers are signed with the known key; the payload names another.
    let f = builder(RequestKind::Activation, &license("perpetual"), &device()).sign("unknown-api-key", "s");
    let answer = variant.activate(&f).await;
    assert_eq!((answer.status, answer.code()), (401, "signature_mismatch".into()));
    assert_eq!(reference.activate(&f).await.code(), "invalid_api_key");
    pair.shutdown().await;
}

#[tokio::test]
async fn device_not_found_404_answers_a_device_without_a_seat_with_404() {
    let (pair, variant, reference) = Pair::start(Variant::DeviceNotFound404).await;
    let answer = variant.deactivate_on(&license("perpetual"), &device()).await;
    assert_eq!((answer.status, answer.code()), (404, "device_not_found".into()));
    let theirs = reference.deactivate_on(&license("perpetual"), &device()).await;
    assert_eq!((theirs.status, theirs.code()), (400, "device_not_found".into()));
    pair.shutdown().await;
}

#[tokio::test]
async fn no_transfer_count_leaves_the_member_out_and_signs_what_it_sends() {
    let (pair, variant, reference) = Pair::start(Variant::NoTransferCount).await;
    let answer = variant.activate_on(&license("perpetual"), &device()).await;
    assert_eq!(answer.status, 200, "{}", show(&answer));
    assert!(!answer.json().contains_key("transfer_count"));
    assert!(signatures_hold(&answer), "{}", show(&answer));
    let theirs = reference.activate_on(&license("perpetual"), &device()).await;
    assert!(theirs.json().contains_key("transfer_count"));
    pair.shutdown().await;
}

/// Which lower-casing of its signing string an answer's `license_signature` is over.
fn license_signature_over(answer: &Answer, hardware_id: &str) -> Vec<Lowercasing> {
    use base64::Engine as _;
    let public_key = PublicKey::from_pem(PUBLIC_KEY).unwrap();
    let signature = answer.json()["license_signature"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .unwrap_or_default();
    Lowercasing::ALL
        .into_iter()
        .filter(|l| {
            let text = l.license_signing_string(hardware_id, &license("perpetual"), None);
            public_key.verify(text.as_bytes(), &signature)
        })
        .collect()
}

#[tokio::test]
async fn older_unicode_lowercase_signs_license_signature_over_unicode_14_s_lowercasing() {
    let (pair, variant, reference) = Pair::start(Variant::OlderUnicodeLowercase).await;
    // U+16EA0 BERIA ERFE CAPITAL LETTER ARKAB (Unicode 17): Python 3.11 leaves it as it is.
    let hardware_id = format!("{}-\u{16EA0}", device());
    let answer = variant.activate_on(&license("perpetual"), &hardware_id).await;
    assert_eq!(answer.status, 200, "{}", show(&answer));
    assert!(signatures_hold(&answer), "{}", show(&answer));
    assert_eq!(
        license_signature_over(&answer, &hardware_id),
        [Lowercasing::Unicode14]
    );
    let theirs = reference.activate_on(&license("perpetual"), &hardware_id).await;
    assert_eq!(
        license_signature_over(&theirs, &hardware_id),
        [Lowercasing::Current]
    );
    // Where the two lower-casings agree, the answer is the reference's.
    let plain = device();
    let answer = variant.activate_on(&license("perpetual"), &plain).await;
    assert_eq!(license_signature_over(&answer, &plain), Lowercasing::ALL);
    assert_eq!(variant_effects_of(&pair), 1);
    pair.shutdown().await;
}

fn variant_effects_of(pair: &Pair) -> u64 {
    pair.variant.variant_effects().iter().map(|(_, n)| n).sum()
}

#[tokio::test]
async fn variants_combine_with_each_other_and_with_faults() {
    let server = ReferenceServer::builder()
        .variant(Variant::SignatureMismatch400)
        .variant(Variant::ErrorExtraMembers)
        .fault(lsconform::server::Fault::SkipInnerSignature)
        .start()
        .await
        .unwrap();
    let client = Client::of(&server);
    // The fault lets a schema-1 file signed with another key through …
    let f = builder(RequestKind::Activation, &license("perpetual"), &device())
        .style(Style::Schema1)
        .sign(API_KEY, "wrong");
    assert_eq!(client.activate(&f).await.status, 200);
    // … and a wrong header MAC gets both variants' answer.
    let date = format_http_date(SystemTime::now());
    let wrong = AuthorizationHeader::signed(API_KEY, "wrong", &date).to_string();
    let answer = post_with(
        &client,
        RequestKind::Activation.path(),
        &date,
        &wrong,
        activation(),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["code"], "signature_mismatch");
    assert_eq!(answer.json()["status"], 400);
    assert!(answer.json().contains_key("documentation_url"));
    server.shutdown().await;
}

#[tokio::test]
async fn a_variant_counts_the_answers_it_changed_and_no_other() {
    let server = ReferenceServer::builder()
        .variant(Variant::SignatureMismatch400)
        .start()
        .await
        .unwrap();
    let client = Client::of(&server);
    assert_eq!(server.variant_effects(), [(Variant::SignatureMismatch400, 0)]);
    // A good activation and another refusal: answered as the reference answers them.
    assert_eq!(
        client.activate_on(&license("perpetual"), &device()).await.status,
        200
    );
    assert_eq!(
        client.activate_on("NONE-0000", &device()).await.code(),
        "license_not_found"
    );
    assert_eq!(server.variant_effects(), [(Variant::SignatureMismatch400, 0)]);
    // A wrong payload signature: 400 instead of 401.
    let f = builder(RequestKind::Activation, &license("perpetual"), &device()).sign(API_KEY, "wrong");
    assert_eq!(client.activate(&f).await.status, 400);
    assert_eq!(server.variant_effects(), [(Variant::SignatureMismatch400, 1)]);
    server.shutdown().await;
}

#[tokio::test]
async fn an_order_variant_counts_only_when_the_other_order_answers_otherwise() {
    let server = ReferenceServer::builder()
        .variant(Variant::BodyBeforeAuthorization)
        .variant(Variant::NoTransferCount)
        .start()
        .await
        .unwrap();
    let client = Client::of(&server);
    let path = RequestKind::Activation.path();
    assert_eq!(
        server.variant_effects(),
        [
            (Variant::BodyBeforeAuthorization, 0),
            (Variant::NoTransferCount, 0)
        ]
    );
    // An empty body with good headers: missing_parameters in either order.
    assert_eq!(client.post(path, Vec::new()).await.code(), "missing_parameters");
    // A good body with a wrong header MAC: signature_mismatch in either order.
    let date = format_http_date(SystemTime::now());
    let wrong = AuthorizationHeader::signed(API_KEY, "wrong", &date).to_string();
    let answer = post_with(&client, path, &date, &wrong, activation()).await;
    assert_eq!(answer.code(), "signature_mismatch");
    assert_eq!(
        server.variant_effects(),
        [
            (Variant::BodyBeforeAuthorization, 0),
            (Variant::NoTransferCount, 0)
        ]
    );
    // An empty body with a wrong header MAC: the body's refusal instead of the header's.
    let answer = post_with(&client, path, &date, &wrong, Vec::new()).await;
    assert_eq!(answer.code(), "missing_parameters");
    assert_eq!(
        server.variant_effects(),
        [
            (Variant::BodyBeforeAuthorization, 1),
            (Variant::NoTransferCount, 0)
        ]
    );
    // Each success answer leaves transfer_count out.
    assert_eq!(
        client.activate_on(&license("perpetual"), &device()).await.status,
        200
    );
    assert_eq!(
        server.variant_effects(),
        [
            (Variant::BodyBeforeAuthorization, 1),
            (Variant::NoTransferCount, 1)
        ]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_without_variants_lists_no_effects() {
    let server = crate::support::reference().await;
    assert!(server.variant_effects().is_empty());
    server.shutdown().await;
}
