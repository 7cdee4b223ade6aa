//! Re-signed grammar mutations (`Mutation::Grammar`): for each class of JSON or Base64 input that
//! lenient parsers accept and strict ones refuse, in every layout, (a) the strict parser
//! (`protocol::decode_request`) refuses the file, (b) the oracle's pinned answer is a refusal and
//! an acceptance is outside what SPEC allows, and (c) a lenient reading of the same bytes passes
//! both signatures: the file is perfect but for the one defect. Against the reference server the
//! strict reading refuses each with 400 authorization_missing_params, and the two named faults
//! that read leniently (`duplicate-keys-last-wins`, `accept-url-safe-base64`) accept them.

use std::time::SystemTime;

use base64::Engine as _;
use lsconform::protocol::{
    decode_request, decode_request_file, encode_request_file, request_file_text, verify_outer_signature,
    Answer, DecodedRequest, ErrorCode, Fit, RequestKind, Schema, Style, Transport,
};
use lsconform::server::{Fault, ReferenceServer};
use lsconform::suite::generate::{
    requests, BadEscape, Base64Leniency, Container, ControlChar, DateChoice, Encoding, GenerateOptions,
    GeneratedCase, GeneratedRequest, GrammarMutation, HeaderMutation, JsonExtension, KeyPlace, LicenseChoice,
    Mutation, NonFinite, NumberForm, Place, Position, ProductChoice, TransportChoice, Utf8Defect, SLOT_NAME,
};
use lsconform::suite::Profile;
use serde_json::json;

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn profile() -> Profile {
    Profile::reference("http://127.0.0.1:9")
}

fn shared_key(profile: &Profile) -> String {
    profile
        .credentials
        .as_ref()
        .expect("credentials")
        .shared_key
        .clone()
}

/// A valid request for the profile's perpetual license but for `mutation`, with non-ASCII extras
/// (escaped by the Python layout, raw in the others).
fn request(profile: &Profile, style: Style, mutation: GrammarMutation) -> GeneratedRequest {
    GeneratedRequest {
        kind: RequestKind::Activation,
        style,
        license: LicenseChoice::Role {
            role: "perpetual".into(),
            key: profile.license("perpetual").expect("a perpetual license").into(),
        },
        hardware_id: format!("grammar-{mutation:?}"),
        product: ProductChoice::Profile(profile.product.clone().expect("a product")),
        date: DateChoice::Now,
        request_id: true,
        extras: vec![
            ("hostname".into(), json!("b\u{fc}ro \"pc\" \\ \u{1f600}")),
            ("variables".into(), json!({"os": "linux", "n": "1"})),
        ],
        encoding: Encoding::Standard,
        transport: TransportChoice::TextPlain,
        mutation: Mutation::Grammar(mutation),
        headers: HeaderMutation::None,
    }
}

fn render(profile: &Profile, style: Style, mutation: GrammarMutation, index: usize) -> GeneratedCase {
    request(profile, style, mutation)
        .render(profile, index, 7, SystemTime::now())
        .expect("the profile has credentials")
}

fn content_type(case: &GeneratedCase) -> Option<&str> {
    case.request
        .headers
        .iter()
        .find(|(n, _)| n == "Content-Type")
        .map(|(_, v)| v.as_str())
}

fn body(case: &GeneratedCase) -> &[u8] {
    case.request.body.as_deref().expect("a body")
}

/// The request file's text, out of the transport.
fn file_text(case: &GeneratedCase) -> Vec<u8> {
    request_file_text(content_type(case), body(case))
        .expect("a request file")
        .1
        .into_owned()
}

// ------------------------------------------------------------------ the classes

fn json_extensions() -> Vec<JsonExtension> {
    let mut all = vec![
        JsonExtension::TrailingComma(Container::Array),
        JsonExtension::TrailingComma(Container::Object),
        JsonExtension::Comment { block: true },
        JsonExtension::Comment { block: false },
        JsonExtension::SingleQuotes,
        JsonExtension::UnquotedKey,
        JsonExtension::LeadingBom,
        JsonExtension::Bom,
    ];
    all.extend(
        [NonFinite::NaN, NonFinite::Infinity, NonFinite::NegativeInfinity].map(JsonExtension::NonFinite),
    );
    all.extend(
        [
            NumberForm::LeadingZero,
            NumberForm::LeadingPlus,
            NumberForm::Hex,
            NumberForm::LeadingDot,
            NumberForm::TrailingDot,
        ]
        .map(JsonExtension::Number),
    );
    all.extend(
        [
            ControlChar::Tab,
            ControlChar::Newline,
            ControlChar::CarriageReturn,
            ControlChar::Nul,
            ControlChar::UnitSeparator,
        ]
        .map(JsonExtension::RawControl),
    );
    all.extend(
        [
            BadEscape::Hex,
            BadEscape::Bell,
            BadEscape::Apostrophe,
            BadEscape::Nul,
        ]
        .map(JsonExtension::BadEscape),
    );
    all
}

/// Every JSON class (extensions and UTF-8 look-alikes) at both places.
fn json_classes() -> Vec<GrammarMutation> {
    let mut all = Vec::new();
    for place in [Place::Flat, Place::Envelope] {
        for extension in json_extensions() {
            all.push(GrammarMutation::Extension { extension, place });
        }
        for defect in Utf8Defect::ALL {
            all.push(GrammarMutation::Utf8 { defect, place });
        }
    }
    all
}

fn duplicate_classes() -> Vec<GrammarMutation> {
    let mut all = Vec::new();
    for place in [
        KeyPlace::Flat,
        KeyPlace::Nested,
        KeyPlace::Envelope,
        KeyPlace::Signature,
    ] {
        for escaped in [false, true] {
            all.push(GrammarMutation::DuplicateKey { place, escaped });
        }
    }
    all
}

fn base64_classes() -> Vec<Base64Leniency> {
    let mut all = vec![
        Base64Leniency::TrailingBits,
        Base64Leniency::MissingPadding,
        Base64Leniency::UrlSafe,
    ];
    for at in [0, u64::MAX / 3, u64::MAX / 2, u64::MAX] {
        all.push(Base64Leniency::PaddingInside(Position(at)));
        for byte in [b'!', b'.', b'*', 0, 0x7f, 0xff] {
            all.push(Base64Leniency::Skipped {
                at: Position(at),
                byte,
            });
        }
    }
    all
}

/// What a JSON class writes (the defect, from the slot member's key on where it has one) and what a
/// lenient parser reads in its place, with `colon` the layout's separator after a key.
fn defect_and_reading(m: GrammarMutation, colon: &str) -> (Vec<u8>, Vec<u8>) {
    let key = format!("\"{SLOT_NAME}\"{colon}");
    let member = |value: &str| format!("{key}{value}").into_bytes();
    let pair = |defect: &str, reading: &str| (member(defect), member(reading));
    match m {
        GrammarMutation::Extension { extension, .. } => match extension {
            JsonExtension::TrailingComma(Container::Array) => {
                pair(r#"["lsconform",1,]"#, r#"["lsconform",1]"#)
            }
            JsonExtension::TrailingComma(Container::Object) => (b",}".to_vec(), b"}".to_vec()),
            JsonExtension::Comment { block: true } => (
                [b"/*lsconform*/".as_slice(), &member(r#""lsconform""#)].concat(),
                member(r#""lsconform""#),
            ),
            JsonExtension::Comment { block: false } => (
                [b"//lsconform\n".as_slice(), &member(r#""lsconform""#)].concat(),
                member(r#""lsconform""#),
            ),
            JsonExtension::SingleQuotes => pair("'lsconform'", r#""lsconform""#),
            JsonExtension::UnquotedKey => (
                format!("{SLOT_NAME}{colon}\"lsconform\"").into_bytes(),
                member(r#""lsconform""#),
            ),
            JsonExtension::NonFinite(NonFinite::NaN) => pair("NaN", "null"),
            JsonExtension::NonFinite(NonFinite::Infinity) => pair("Infinity", "null"),
            JsonExtension::NonFinite(NonFinite::NegativeInfinity) => pair("-Infinity", "null"),
            JsonExtension::Number(NumberForm::LeadingZero) => pair("01", "1"),
            JsonExtension::Number(NumberForm::LeadingPlus) => pair("+1", "1"),
            JsonExtension::Number(NumberForm::Hex) => pair("0x1F", "31"),
            JsonExtension::Number(NumberForm::LeadingDot) => pair(".5", "0.5"),
            JsonExtension::Number(NumberForm::TrailingDot) => pair("1.", "1.0"),
            JsonExtension::RawControl(c) => {
                let escaped = match c {
                    ControlChar::Tab => r"\t",
                    ControlChar::Newline => r"\n",
                    ControlChar::CarriageReturn => r"\r",
                    ControlChar::Nul => r"\u0000",
                    ControlChar::UnitSeparator => r"\u001f",
                };
                (
                    [&member("\"a")[..], &[c.byte()], b"b\""].concat(),
                    member(&format!("\"a{escaped}b\"")),
                )
            }
            JsonExtension::BadEscape(e) => {
                let (written, read) = match e {
                    BadEscape::Hex => (r"\x41", r"\u0041"),
                    BadEscape::Bell => (r"\a", r"\u0007"),
                    BadEscape::Apostrophe => (r"\'", "'"),
                    BadEscape::Nul => (r"\0", r"\u0000"),
                };
                pair(&format!("\"a{written}b\""), &format!("\"a{read}b\""))
            }
            JsonExtension::LeadingBom | JsonExtension::Bom => (BOM.to_vec(), Vec::new()),
        },
        GrammarMutation::Utf8 { defect, .. } => {
            let written = match defect {
                Utf8Defect::InvalidByte => b"\xFF".as_slice(),
                Utf8Defect::Overlong => b"\xC0\xAF",
                Utf8Defect::EncodedSurrogate => b"\xED\xA0\x80",
                Utf8Defect::LoneContinuation => b"\x80",
                Utf8Defect::Truncated => b"\xE2\x82",
                Utf8Defect::EscapedSurrogate => br"\ud800",
            };
            (
                [&member("\"a")[..], written, b"b\""].concat(),
                member(r#""a\ufffdb""#),
            )
        }
        _ => unreachable!("a JSON class"),
    }
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// The byte range of the schema-2 `request` member in a decoded file the strict parser reads.
fn request_span(decoded: &DecodedRequest) -> Option<std::ops::Range<usize>> {
    decoded.request_bytes().map(|bytes| {
        let start = bytes.as_ptr() as usize - decoded.json.as_ptr() as usize;
        start..start + bytes.len()
    })
}

/// Whether a JSON class is written inside schema 2's `request` member (a byte-order mark before
/// its `{` is outside it).
fn in_request_member(m: GrammarMutation) -> bool {
    match m {
        GrammarMutation::Extension {
            extension: JsonExtension::LeadingBom,
            ..
        } => false,
        GrammarMutation::Extension { place, .. } | GrammarMutation::Utf8 { place, .. } => {
            place == Place::Flat
        }
        _ => false,
    }
}

/// Every JSON class in every layout: refused by the strict parser and by the oracle, and perfect
/// once its one defect is read as a lenient parser reads it.
#[test]
fn each_json_class_is_refused_strictly_and_verifies_read_leniently() {
    let profile = profile();
    let key = shared_key(&profile);
    let mut checked = 0;
    for (i, m) in json_classes().into_iter().enumerate() {
        for style in Style::ALL {
            let case = render(&profile, style, m, i);
            let what = format!("{style} {}", case.value.describe());
            // (a) The strict parser refuses it, for the grammar.
            let refused = decode_request(content_type(&case), body(&case))
                .expect_err(&format!("{what}: the strict parser read it"));
            assert_eq!(refused.code, ErrorCode::AuthorizationMissingParams, "{what}");
            // (b) The oracle's pinned answer is that refusal; accepting is outside SPEC.
            let pinned = case.oracle.as_ref().expect_err(&what);
            assert_eq!(pinned.code, ErrorCode::AuthorizationMissingParams, "{what}");
            assert_eq!(
                case.allowed.pinned,
                Answer::Refused(ErrorCode::AuthorizationMissingParams)
            );
            assert!(!case.allowed.also.contains(&Answer::Accepted), "{what}");
            assert_eq!(case.allowed.fit(200, None), Fit::Outside, "{what}");
            assert_eq!(case.rule(), m.rule(), "{what}");
            // (c) The Base64 is proper; the JSON holds the defect once, and read leniently the file
            // is perfect: both signatures verify over the bytes sent.
            let json = decode_request_file(&file_text(&case)).expect("proper Base64");
            let colon = if case.value.layout() == Style::Python {
                ": "
            } else {
                ":"
            };
            let (defect, reading) = defect_and_reading(m, colon);
            let at = find_all(&json, &defect);
            assert_eq!(
                at.len(),
                1,
                "{what}: the defect {:?} in {}",
                String::from_utf8_lossy(&defect),
                String::from_utf8_lossy(&json)
            );
            let at = at[0];
            let lenient = [&json[..at], &reading[..], &json[at + defect.len()..]].concat();
            let decoded = DecodedRequest::from_json(Transport::Raw, lenient)
                .unwrap_or_else(|e| panic!("{what}: not perfect once read leniently: {e:?}"));
            let request = decoded.check(RequestKind::Activation).expect(&what);
            request.verify_inner(&key).expect(&what);
            assert_eq!(
                request.has_inner_signature(),
                case.value.layout() != Style::JavaScript
            );
            if decoded.schema == Schema::V2 {
                // The outer MAC covers the request member as sent, defect included.
                let span = request_span(&decoded).expect("schema 2");
                let delta = defect.len() as isize - reading.len() as isize;
                let shift = |n: usize| (n as isize + delta) as usize;
                let sent = if at + reading.len() <= span.start {
                    shift(span.start)..shift(span.end)
                } else if at < span.end {
                    span.start..shift(span.end)
                } else {
                    span.clone()
                };
                let mac = decoded.outer_signature.as_deref().expect("a MAC");
                assert!(verify_outer_signature(&key, &json[sent.clone()], mac), "{what}");
                let inside = sent.contains(&at) && at != sent.start;
                assert_eq!(inside, in_request_member(m), "{what}");
                if inside {
                    // Re-signed: the MAC is over the mutated bytes, not over the lenient reading.
                    assert!(!verify_outer_signature(&key, &decoded.json[span], mac), "{what}");
                }
            } else {
                assert_eq!(style, Style::Schema1, "{what}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, json_classes().len() * Style::ALL.len());
}

/// A key given twice at every depth, plain and once escaped: refused strictly, and read as a
/// last-copy-wins parser reads it, perfect.
#[test]
fn each_duplicate_key_is_refused_strictly_and_verifies_last_copy_wins() {
    let profile = profile();
    let key = shared_key(&profile);
    for (i, m) in duplicate_classes().into_iter().enumerate() {
        for style in Style::ALL {
            let case = render(&profile, style, m, i);
            let what = format!("{style} {}", case.value.describe());
            let refused = decode_request(content_type(&case), body(&case)).expect_err(&what);
            assert_eq!(refused.code, ErrorCode::AuthorizationMissingParams, "{what}");
            assert!(refused.detail.contains("duplicate"), "{what}: {}", refused.detail);
            assert_eq!(
                case.oracle.as_ref().expect_err(&what).code,
                ErrorCode::AuthorizationMissingParams
            );
            assert_eq!(case.allowed.fit(200, None), Fit::Outside, "{what}");
            assert_eq!(case.rule(), lsconform::protocol::rules::JSON_DUPLICATE_KEY);
            let json = decode_request_file(&file_text(&case)).expect("proper Base64");
            let lenient = DecodedRequest::from_json_last_key_wins(Transport::Raw, json.clone())
                .unwrap_or_else(|e| panic!("{what}: {e:?}"));
            let request = lenient.check(RequestKind::Activation).expect(&what);
            request.verify(&key).unwrap_or_else(|e| panic!("{what}: {e:?}"));
            let text = String::from_utf8(json).expect("UTF-8");
            let escaped = matches!(m, GrammarMutation::DuplicateKey { escaped: true, .. });
            let written_escaped = text.contains(r"\u006csconform") || text.contains(r"\u0073ignature");
            assert_eq!(written_escaped, escaped, "{what}: {text}");
            match m {
                GrammarMutation::DuplicateKey {
                    place: KeyPlace::Signature,
                    ..
                } => assert!(lenient.outer_signature.is_some(), "{what}"),
                GrammarMutation::DuplicateKey {
                    place: KeyPlace::Envelope | KeyPlace::Nested,
                    ..
                } => assert!(text.contains("\"second\""), "{what}"),
                _ => assert_eq!(
                    lenient.payload.other_str(SLOT_NAME).as_deref(),
                    Some("second"),
                    "{what}"
                ),
            }
            if matches!(
                m,
                GrammarMutation::DuplicateKey {
                    place: KeyPlace::Envelope | KeyPlace::Signature,
                    ..
                }
            ) {
                assert_eq!(lenient.schema, Schema::V2, "{what}: in the envelope");
            }
        }
    }
}

/// A Base64 decoder as lenient as they come: both alphabets, anything else skipped, each padded
/// piece decoded on its own, trailing bits dropped.
fn lenient_base64(text: &[u8]) -> Vec<u8> {
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0u32);
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                (acc, bits) = (0, 0);
                continue;
            }
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Each Base64 leniency: refused strictly; decoded leniently, exactly a perfect file.
#[test]
fn each_base64_leniency_is_refused_strictly_and_decodes_leniently_to_a_perfect_file() {
    let profile = profile();
    let key = shared_key(&profile);
    for (i, l) in base64_classes().into_iter().enumerate() {
        for style in Style::ALL {
            let m = GrammarMutation::Base64(l);
            let case = render(&profile, style, m, i);
            let what = format!("{style} {}", case.value.describe());
            let text = file_text(&case);
            let refused = decode_request(content_type(&case), body(&case)).expect_err(&what);
            assert_eq!(refused.code, ErrorCode::AuthorizationMissingParams, "{what}");
            assert!(refused.detail.contains("Base64"), "{what}: {}", refused.detail);
            assert_eq!(
                case.oracle.as_ref().expect_err(&what).code,
                ErrorCode::AuthorizationMissingParams
            );
            assert_eq!(case.allowed.fit(200, None), Fit::Outside, "{what}");
            assert_eq!(case.rule(), lsconform::protocol::rules::BASE64_STRICT);
            let json = lenient_base64(&text);
            let decoded = DecodedRequest::from_json(Transport::Raw, json.clone())
                .unwrap_or_else(|e| panic!("{what}: {e:?}"));
            decoded
                .check(RequestKind::Activation)
                .expect(&what)
                .verify(&key)
                .unwrap_or_else(|e| panic!("{what}: {e:?}"));
            let standard = encode_request_file(&json);
            assert_ne!(text, standard.as_bytes(), "{what}");
            match l {
                Base64Leniency::TrailingBits => {
                    // One character differs, the last before the padding, and a decoder that
                    // ignores trailing bits reads the same bytes.
                    assert!(standard.ends_with('='), "{what}");
                    let differ: Vec<usize> = (0..text.len())
                        .filter(|&j| text[j] != standard.as_bytes()[j])
                        .collect();
                    assert_eq!(differ, [standard.trim_end_matches('=').len() - 1], "{what}");
                    let lax = base64::engine::GeneralPurpose::new(
                        &base64::alphabet::STANDARD,
                        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
                    );
                    assert_eq!(lax.decode(&text).unwrap(), json, "{what}");
                }
                Base64Leniency::MissingPadding => {
                    assert!(standard.ends_with('='), "{what}");
                    assert_eq!(text, standard.trim_end_matches('=').as_bytes(), "{what}");
                }
                Base64Leniency::PaddingInside(_) => {
                    let inner = text.iter().position(|&b| b == b'=').expect("padding");
                    assert!(text[inner..].iter().any(|&b| b != b'='), "{what}: padding inside");
                }
                Base64Leniency::UrlSafe => {
                    assert!(standard.contains('+') && standard.contains('/'), "{what}");
                    assert!(text.contains(&b'-') && text.contains(&b'_'), "{what}");
                    let url = base64::engine::general_purpose::URL_SAFE.decode(&text).unwrap();
                    assert_eq!(url, json, "{what}");
                }
                Base64Leniency::Skipped { byte, .. } => {
                    assert_eq!(text.len(), standard.len() + 1, "{what}");
                    assert!(text.contains(&byte), "{what}");
                }
            }
        }
    }
}

/// Every class against the reference server: refused with 400 authorization_missing_params, the
/// oracle's answer; and the faults that read leniently accept what they read leniently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_refuses_every_class_and_the_lenient_faults_accept_theirs() {
    let mut all: Vec<GrammarMutation> = json_classes();
    all.extend(duplicate_classes());
    all.extend(base64_classes().into_iter().map(GrammarMutation::Base64));
    lsconform::install_crypto_provider();
    let http = reqwest::Client::new();
    let send = |case: &GeneratedCase| {
        let r = &case.request;
        let mut send = http.post(&r.url);
        for (name, value) in &r.headers {
            send = send.header(name, value);
        }
        let body = r.body.clone().unwrap_or_default();
        async move {
            let answer = send.body(body).send().await.expect("an answer");
            let status = answer.status().as_u16();
            let bytes = answer.bytes().await.unwrap_or_default();
            let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            (
                status,
                body.get("code").and_then(|c| c.as_str()).map(str::to_owned),
            )
        }
    };
    let server = ReferenceServer::builder()
        .start()
        .await
        .expect("the reference server starts");
    let profile = Profile::reference(server.uri());
    for (i, m) in all.iter().enumerate() {
        for style in Style::ALL {
            let case = render(&profile, style, *m, i);
            let (status, code) = send(&case).await;
            assert_eq!(
                (status, code.as_deref()),
                (400, Some("authorization_missing_params")),
                "{style} {}",
                case.value.describe()
            );
        }
    }
    server.shutdown().await;
    // A server that reads these leniently accepts them (up to SPEC §5), and the oracle fails it.
    for (fault, lenient) in [
        (Fault::DuplicateKeysLastWins, duplicate_classes()),
        (
            Fault::AcceptUrlSafeBase64,
            vec![GrammarMutation::Base64(Base64Leniency::UrlSafe)],
        ),
    ] {
        let server = ReferenceServer::builder().fault(fault).start().await.unwrap();
        let profile = Profile::reference(server.uri());
        for (i, m) in lenient.iter().enumerate() {
            for style in Style::ALL {
                let case = render(&profile, style, *m, 100 + i);
                let (status, code) = send(&case).await;
                let what = format!("{fault}: {style} {}", case.value.describe());
                assert!(
                    case.allowed.is_acceptance(status, code.as_deref()),
                    "{what}: {status} {code:?}"
                );
                assert_eq!(case.allowed.fit(status, code.as_deref()), Fit::Outside, "{what}");
            }
        }
        server.shutdown().await;
    }
}

/// Generated runs carry grammar mutations of every family, named as such, each refused by the
/// oracle, and the hostile share of requests stays about six in ten.
#[test]
fn generated_runs_carry_grammar_mutations_named_and_refused() {
    let cases = requests(&profile(), &GenerateOptions::new(1000, 5), SystemTime::now()).unwrap();
    let grammar: Vec<&GeneratedCase> = cases
        .iter()
        .filter(|c| matches!(c.value.mutation, Mutation::Grammar(_)))
        .collect();
    assert!((40..=140).contains(&grammar.len()), "{} of 1000", grammar.len());
    for family in [
        |m: &GrammarMutation| matches!(m, GrammarMutation::Extension { .. }),
        |m: &GrammarMutation| matches!(m, GrammarMutation::Utf8 { .. }),
        |m: &GrammarMutation| matches!(m, GrammarMutation::DuplicateKey { .. }),
        |m: &GrammarMutation| matches!(m, GrammarMutation::Base64(_)),
    ] {
        assert!(grammar
            .iter()
            .any(|c| matches!(&c.value.mutation, Mutation::Grammar(m) if family(m))));
    }
    for c in &grammar {
        let what = c.value.describe();
        assert!(what.contains("grammar: ") && what.contains("re-signed"), "{what}");
        assert!(c.oracle.is_err(), "{what}");
        assert_eq!(c.allowed.fit(200, None), Fit::Outside, "{what}");
    }
    let hostile = cases
        .iter()
        .filter(|c| c.value.mutation != Mutation::None || c.value.headers != HeaderMutation::None)
        .count();
    assert!((560..=700).contains(&hostile), "{hostile} of 1000 hostile");
}
