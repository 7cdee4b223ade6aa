//! The committed request files in `fixtures/requests/` and the fuzz targets' seed corpora in
//! `fuzz/seeds/<target>/`, all generated here from fixed inputs with `RequestBuilder`.
//!
//! Without `LSCONFORM_BLESS=1` the tests compare the committed files with what the builder writes
//! now, so they can never drift; with `LSCONFORM_BLESS=1` they rewrite them (and delete files of
//! those directories that the generator no longer writes) instead.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use lsconform::fuzzing::{
    fuzz_now, multipart_body, split_decode_input, split_http_input, Delivery, FieldValue, Kind,
    RoundtripInput, Tampering, Text, Wrapping as RoundtripWrapping, FUZZ_API_KEY, FUZZ_NOW_SECS,
    FUZZ_SHARED_KEY, HANDLER_API_KEY, HANDLER_SHARED_KEY,
};
use lsconform::protocol::{
    decode_request, decode_request_file, encode_request_file, format_http_date, AuthorizationHeader,
    ErrorCode, Licensee, RequestBuilder, RequestKind, Schema, Style, Tamper, MAX_DEPTH,
};
use lsconform::server::Seed as ServerSeed;

const API_KEY: &str = "fixture-api-key";
const SHARED_KEY: &str = "fixture-shared-key";
const OTHER_SHARED_KEY: &str = "fixture-other-shared-key";
const PRODUCT: &str = "TP";
const LICENSE_KEY: &str = "AAAA-BBBB-CCCC-DDDD";
const USERNAME: &str = "jane@example.com";
const PASSWORD: &str = "fixture-password";
const HARDWARE_ID: &str = "4f1c2a9e0d7b6c5a3e8f9d0b1a2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d";
const NON_ASCII_HOSTNAME: &str = "büro-пк-😀";
/// Fri, 27 Nov 2026 04:36:34 GMT.
const DATE_SECS: u64 = 1_795_754_194;
const WRAP_COLUMNS: usize = 76;
const BLESS_HINT: &str = "if the change is intended, rerun with LSCONFORM_BLESS=1 \
     (`LSCONFORM_BLESS=1 cargo test --test request_fixtures`), review the diff and commit it";

/// Files in the generated directories that the generator does not own.
const NOT_GENERATED: &[&str] = &[".gitattributes"];

fn bless() -> bool {
    std::env::var_os("LSCONFORM_BLESS").is_some_and(|v| v == "1")
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures_dir() -> PathBuf {
    root().join("fixtures/requests")
}

/// The fuzz targets with a seed corpus (`base64_baseline` runs on `decode_request`'s).
const SEEDED_TARGETS: [&str; 5] = [
    "decode_request",
    "auth_header",
    "multipart_body",
    "handler",
    "roundtrip",
];

fn seed_dir(target: &str) -> PathBuf {
    root().join("fuzz/seeds").join(target)
}

/// One committed request file.
struct Fixture {
    name: &'static str,
    kind: RequestKind,
    style: Style,
    about: &'static str,
    /// The file's text, exactly as sent.
    text: String,
    /// The decoded JSON, exactly.
    json: Vec<u8>,
}

/// How a fixture's text is laid out on top of the builder's one-line Base64.
#[derive(Clone, Copy)]
enum Wrapping {
    OneLine,
    TrailingNewline,
    CrlfLines,
}

struct Spec {
    name: &'static str,
    kind: RequestKind,
    style: Style,
    user: bool,
    hostname: &'static str,
    wrapping: Wrapping,
    request_id: &'static str,
    about: &'static str,
}

const SPECS: &[Spec] = &[
    Spec {
        name: "schema1-activation",
        kind: RequestKind::Activation,
        style: Style::Schema1,
        user: false,
        hostname: "fixture-host",
        wrapping: Wrapping::OneLine,
        request_id: "0b6c3f4e-6f7a-4c1e-9a52-000000000001",
        about: "schema 1: one flat compact object with the inner signature (the seed's example)",
    },
    Spec {
        name: "compact-hex-activation",
        kind: RequestKind::Activation,
        style: Style::CompactHex,
        user: false,
        hostname: "fixture-host",
        wrapping: Wrapping::OneLine,
        request_id: "0b6c3f4e-6f7a-4c1e-9a52-000000000002",
        about: "schema 2, compact JSON, outer MAC in lowercase hex (the C++ SDK, the docs' example)",
    },
    Spec {
        name: "python-activation",
        kind: RequestKind::Activation,
        style: Style::Python,
        user: false,
        hostname: "fixture-host",
        wrapping: Wrapping::OneLine,
        request_id: "0b6c3f4e-6f7a-4c1e-9a52-000000000003",
        about: "schema 2 as the Python SDK writes it (`\", \"`/`\": \"`, outer MAC in Base64)",
    },
    Spec {
        name: "javascript-activation",
        kind: RequestKind::Activation,
        style: Style::JavaScript,
        user: false,
        hostname: "fixture-host",
        wrapping: Wrapping::OneLine,
        request_id: "0b6c3f4e-6f7a-4c1e-9a52-000000000004",
        about: "schema 2 as the Node SDK writes it: no inner signature, its own date form",
    },
    Spec {
        name: "python-user-activation",
        kind: RequestKind::Activation,
        style: Style::Python,
        user: true,
        hostname: "fixture-host",
        wrapping: Wrapping::OneLine,
        request_id: "0b6c3f4e-6f7a-4c1e-9a52-000000000005",
        about: "user-based license: `username` `jane@example.com` and `password` \
                `fixture-password`, no `license_key`; Python style",
    },
    Spec {
        name: "python-deactivation",
        kind: RequestKind::Deactivation,
        style: Style::Python,
        user: false,
        hostname: "fixture-host",
        wrapping: Wrapping::OneLine,
        request_id: "0b6c3f4e-6f7a-4c1e-9a52-000000000006",
        about: "a file for `deactivate_offline` (`\"request\": \"deactivation\"`), Python style",
    },
    Spec {
        name: "python-activation-non-ascii-hostname",
        kind: RequestKind::Activation,
        style: Style::Python,
        user: false,
        hostname: NON_ASCII_HOSTNAME,
        wrapping: Wrapping::OneLine,
        request_id: "0b6c3f4e-6f7a-4c1e-9a52-000000000007",
        about: "Python style with `hostname` `büro-пк-😀`, which the Python SDK escapes as \
                `\\uXXXX` (the emoji as a surrogate pair) in activation files",
    },
    Spec {
        name: "python-activation-trailing-newline",
        kind: RequestKind::Activation,
        style: Style::Python,
        user: false,
        hostname: "fixture-host",
        wrapping: Wrapping::TrailingNewline,
        request_id: "0b6c3f4e-6f7a-4c1e-9a52-000000000008",
        about: "Python style, text followed by one LF (the Python SDK writes the file with `print`)",
    },
    Spec {
        name: "compact-hex-activation-crlf76",
        kind: RequestKind::Activation,
        style: Style::CompactHex,
        user: false,
        hostname: "fixture-host",
        wrapping: Wrapping::CrlfLines,
        request_id: "0b6c3f4e-6f7a-4c1e-9a52-000000000009",
        about: "compact-hex style, text wrapped at 76 columns, every line ending in CRLF \
                (as MIME and Windows tools wrap Base64)",
    },
];

fn build(spec: &Spec) -> Fixture {
    let time = UNIX_EPOCH + Duration::from_secs(DATE_SECS);
    let sdk_lang = match spec.style {
        Style::Schema1 | Style::CompactHex => "cpp",
        Style::Python => "python",
        Style::JavaScript => "javascript",
    };
    let mut builder = RequestBuilder::new(spec.kind)
        .hardware_id(HARDWARE_ID)
        .product(PRODUCT)
        .date(spec.style.date(time))
        .request_id(spec.request_id)
        .field("hostname", spec.hostname)
        .field("os_ver", "Linux 6.8.0")
        .field("sdk_lang", sdk_lang)
        .field("is_vm", false)
        .style(spec.style);
    builder = if spec.user {
        builder.username(USERNAME).password(PASSWORD)
    } else {
        builder.license_key(LICENSE_KEY)
    };
    let file = builder.sign(API_KEY, SHARED_KEY);
    let text = match spec.wrapping {
        Wrapping::OneLine => file.text,
        Wrapping::TrailingNewline => file.text + "\n",
        Wrapping::CrlfLines => file
            .text
            .as_bytes()
            .chunks(WRAP_COLUMNS)
            .map(|line| String::from_utf8_lossy(line).into_owned() + "\r\n")
            .collect(),
    };
    Fixture {
        name: spec.name,
        kind: spec.kind,
        style: spec.style,
        about: spec.about,
        text,
        json: file.json,
    }
}

fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| SPECS.iter().map(build).collect())
}

fn fixture(name: &str) -> &'static Fixture {
    fixtures()
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no fixture named {name}"))
}

fn readme() -> String {
    let date = Style::Python.date(UNIX_EPOCH + Duration::from_secs(DATE_SECS));
    let js_date = Style::JavaScript.date(UNIX_EPOCH + Duration::from_secs(DATE_SECS));
    let mut out = format!(
        "# Request files (fixtures)\n\
         \n\
         Generated by `tests/request_fixtures.rs` with `RequestBuilder` from fixed inputs. Do not edit \
         them by hand: the test fails when any file here differs from what the builder writes now. \
         After an intended change, regenerate them with\n\
         \n\
         ```sh\n\
         LSCONFORM_BLESS=1 cargo test --test request_fixtures\n\
         ```\n\
         \n\
         review the diff and commit it. The same run rewrites the fuzz targets' seed corpora \
         `fuzz/seeds/<target>/` from these files and the builder.\n\
         \n\
         `<name>.req` is the request file's text, byte for byte what is sent as the body (or as the \
         multipart part `file`). `<name>.json` is exactly the bytes that text decodes to (no newline \
         added); for schema 2 the outer MAC covers the `request` member's bytes as they appear there.\n\
         \n\
         **Keys.** Every file is signed with API key `{API_KEY}` and shared key `{SHARED_KEY}` (test \
         values, not secret): the inner signature (where present) and the schema-2 outer MAC. No file \
         verifies with any other shared key.\n\
         \n\
         **Common inputs.** Product `{PRODUCT}`; hardware id `{HARDWARE_ID}`; license key \
         `{LICENSE_KEY}` (or user `{USERNAME}` where said); payload date `{date}` (the JavaScript \
         style writes `{js_date}`); extra members `hostname`, `os_ver`, `sdk_lang`, `is_vm`; each file \
         has its own `request_id` (`0b6c3f4e-6f7a-4c1e-9a52-00000000000N`).\n\
         \n\
         | file | endpoint | style | what it is |\n\
         |---|---|---|---|\n"
    );
    for f in fixtures() {
        out += &format!(
            "| `{}.req` | `{}` | `{}` | {} |\n",
            f.name,
            f.kind.path(),
            f.style.name(),
            f.about
        );
    }
    out
}

/// What a seed input was chosen to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Decodes, passes the check of this endpoint and verifies with the shared key.
    Verifies(RequestKind),
    /// Refused while decoding, with this code.
    Refused(ErrorCode),
}

struct Seed {
    name: String,
    data: Vec<u8>,
    expect: Expect,
}

const BOUNDARY: &str = "lsconform-seed-boundary";

fn input(content_type: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut data = content_type.unwrap_or_default().as_bytes().to_vec();
    data.push(b'\n');
    data.extend_from_slice(body);
    data
}

/// A `multipart/form-data` fuzz input with these (part name, content) parts.
fn multipart(parts: &[(&str, &[u8])]) -> Vec<u8> {
    input(
        Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
        &multipart_body(BOUNDARY, parts),
    )
}

/// `json` with `member` (`"name":value`) inserted as its first member.
fn with_first_member(json: &[u8], member: &str) -> Vec<u8> {
    let mut out = b"{".to_vec();
    out.extend_from_slice(member.as_bytes());
    out.push(b',');
    out.extend_from_slice(&json[1..]);
    out
}

fn seeds() -> &'static [Seed] {
    static SEEDS: OnceLock<Vec<Seed>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds = Vec::new();
        for f in fixtures() {
            let text = f.text.as_bytes();
            let ok = Expect::Verifies(f.kind);
            for (suffix, data) in [
                ("text-plain", input(Some("text/plain"), text)),
                ("no-content-type", input(None, text)),
                (
                    "form-urlencoded",
                    input(Some("application/x-www-form-urlencoded"), text),
                ),
                ("multipart", multipart(&[("file", text)])),
            ] {
                seeds.push(Seed {
                    name: format!("{}.{suffix}", f.name),
                    data,
                    expect: ok,
                });
            }
        }

        let python = fixture("python-activation");
        let schema1 = fixture("schema1-activation");
        let mut edge = |name: &str, data: Vec<u8>, expect: Expect| {
            seeds.push(Seed {
                name: format!("edge.{name}"),
                data,
                expect,
            })
        };
        let missing_parameters = Expect::Refused(ErrorCode::MissingParameters);
        let missing_params = Expect::Refused(ErrorCode::AuthorizationMissingParams);
        let activation = Expect::Verifies(RequestKind::Activation);
        let text_plain = |body: &[u8]| input(Some("text/plain"), body);

        edge("empty-body", text_plain(b""), missing_parameters);
        // No newline at all: the whole input is the body, with no Content-Type.
        edge("no-newline", python.text.as_bytes().to_vec(), activation);
        edge(
            "bom-prefixed",
            text_plain(&[b"\xEF\xBB\xBF", python.text.as_bytes()].concat()),
            activation,
        );
        // JSON text rarely encodes to `+` or `/`; `????` always gives a `/` whatever its offset.
        // Signed with the fixture keys, so the alphabet is the only thing wrong with it.
        let standard = RequestBuilder::activation()
            .license_key(LICENSE_KEY)
            .hardware_id(HARDWARE_ID)
            .product(PRODUCT)
            .date(Style::Python.date(UNIX_EPOCH + Duration::from_secs(DATE_SECS)))
            .field("hostname", "????")
            .style(Style::Python)
            .sign(API_KEY, SHARED_KEY)
            .text;
        assert!(
            decode_request(None, standard.as_bytes()).is_ok_and(|d| d
                .check(RequestKind::Activation)
                .is_ok_and(|c| c.verify(SHARED_KEY).is_ok())),
            "the standard-alphabet original of the URL-safe seed verifies"
        );
        let url_safe = standard.replace('+', "-").replace('/', "_");
        assert_ne!(url_safe, standard, "the URL-safe seed must differ");
        edge(
            "url-safe-alphabet",
            text_plain(url_safe.as_bytes()),
            missing_params,
        );
        let padded = encode_request_file(br#"{"product":"TP"}"#);
        assert!(padded.ends_with("=="));
        edge(
            "missing-padding",
            text_plain(padded.trim_end_matches('=').as_bytes()),
            missing_params,
        );
        // `e30=` is `{}`; `e31=` has non-zero trailing bits.
        edge("nonzero-trailing-bits", text_plain(b"e31="), missing_params);
        edge(
            "duplicate-keys",
            text_plain(
                encode_request_file(&with_first_member(
                    &schema1.json,
                    r#""license_key":"EEEE-FFFF-GGGG-HHHH""#,
                ))
                .as_bytes(),
            ),
            missing_params,
        );
        edge(
            "duplicate-keys-nested",
            text_plain(
                encode_request_file(&with_first_member(
                    &schema1.json,
                    r#""variables":{"seat":"1","seat":"2"}"#,
                ))
                .as_bytes(),
            ),
            missing_params,
        );
        // The top-level object is depth 1, so a member holding n nested arrays reaches n + 1.
        let nested = |arrays: usize| {
            let member = format!("\"deep\":{}{}", "[".repeat(arrays), "]".repeat(arrays));
            text_plain(encode_request_file(&with_first_member(&schema1.json, &member)).as_bytes())
        };
        edge("nesting-at-limit", nested(MAX_DEPTH - 1), activation);
        edge("nesting-over-limit", nested(MAX_DEPTH), missing_params);
        edge(
            "json-array",
            text_plain(encode_request_file(b"[]").as_bytes()),
            missing_params,
        );
        edge(
            "not-utf8",
            text_plain(encode_request_file(b"{\"product\":\"\xFF\"}").as_bytes()),
            missing_params,
        );
        let schema1_json = String::from_utf8(schema1.json.clone()).expect("JSON is UTF-8");
        let request_array = schema1_json.replace(r#""request":"activation""#, r#""request":["activation"]"#);
        assert_ne!(request_array, schema1_json, "the request member must be replaced");
        edge(
            "request-not-a-string",
            text_plain(encode_request_file(request_array.as_bytes()).as_bytes()),
            Expect::Refused(ErrorCode::ValidationError),
        );
        edge(
            "multipart-without-file-part",
            multipart(&[("data", python.text.as_bytes())]),
            missing_parameters,
        );
        edge(
            "multipart-empty-file-part",
            multipart(&[("file", b"")]),
            missing_params,
        );
        edge(
            "multipart-two-file-parts",
            multipart(&[("file", python.text.as_bytes()), ("file", python.text.as_bytes())]),
            missing_params,
        );
        edge(
            "multipart-without-boundary",
            input(Some("multipart/form-data"), python.text.as_bytes()),
            missing_parameters,
        );
        seeds
    })
}

// ---------------------------------------------------------------------------------------------
// The other targets' seeds: auth_header, multipart_body, handler, roundtrip.

/// An `auth_header` seed and what `authenticate` answers it at the fuzz clock.
struct AuthSeed {
    name: &'static str,
    data: Vec<u8>,
    expect: Result<(), ErrorCode>,
}

fn auth_seed_list() -> Vec<AuthSeed> {
    let date = format_http_date(fuzz_now());
    let signed = |date: &str| AuthorizationHeader::signed(API_KEY, SHARED_KEY, date);
    let good = signed(&date).to_string();
    let sig = signed(&date).signature;
    let line = |auth: &str, date: &str| format!("{auth}\n{date}").into_bytes();
    let ok = Ok(());
    let invalid = Err(ErrorCode::AuthorizationInvalidHeaders);
    let missing = Err(ErrorCode::AuthorizationMissingParams);
    let stale = Err(ErrorCode::DateHeaderDiff);
    let seed = |name, data, expect| AuthSeed { name, data, expect };
    // The same instant in the other forms of SPEC §2; the MAC covers the text as sent.
    let rfc850 = "Friday, 27-Nov-26 04:36:34 GMT";
    let asctime = "Fri Nov 27 04:36:34 2026";
    let utc = date.replace("GMT", "UTC");
    let stale_date = format_http_date(fuzz_now() - Duration::from_secs(15 * 60 + 1));
    let future_date = format_http_date(fuzz_now() + Duration::from_secs(15 * 60 + 1));
    let edge_date = format_http_date(fuzz_now() - Duration::from_secs(15 * 60));
    vec![
        seed("docs-form", line(&good, &date), ok),
        seed(
            "camel-case-spaces-any-order",
            line(
                &format!(r#"apiKey="{API_KEY}", signature="{sig}",  headers="date",algorithm="HMAC-SHA256""#),
                &date,
            ),
            ok,
        ),
        seed("unknown-pair", line(&format!(r#"{good},keyId="x""#), &date), ok),
        seed("rfc850-date", line(&signed(rfc850).to_string(), rfc850), ok),
        seed("asctime-date", line(&signed(asctime).to_string(), asctime), ok),
        seed("utc-date", line(&signed(&utc).to_string(), &utc), ok),
        seed(
            "date-at-the-limit",
            line(&signed(&edge_date).to_string(), &edge_date),
            ok,
        ),
        seed(
            "stale-date",
            line(&signed(&stale_date).to_string(), &stale_date),
            stale,
        ),
        seed(
            "future-date",
            line(&signed(&future_date).to_string(), &future_date),
            stale,
        ),
        seed(
            "not-a-date",
            line(&signed("yesterday").to_string(), "yesterday"),
            stale,
        ),
        seed(
            "other-spelling-of-the-date",
            line(&good, rfc850),
            Err(ErrorCode::SignatureMismatch),
        ),
        seed(
            "wrong-key",
            line(
                &AuthorizationHeader::signed(API_KEY, OTHER_SHARED_KEY, &date).to_string(),
                &date,
            ),
            Err(ErrorCode::SignatureMismatch),
        ),
        seed(
            "unknown-api-key",
            line(
                &AuthorizationHeader::signed("other", SHARED_KEY, &date).to_string(),
                &date,
            ),
            Err(ErrorCode::InvalidApiKey),
        ),
        seed(
            "hmac-sha1",
            line(&good.replace("hmac-sha256", "hmac-sha1"), &date),
            Err(ErrorCode::HmacRequired),
        ),
        seed(
            "other-signed-headers",
            line(
                &good.replace(r#"headers="date""#, r#"headers="date host""#),
                &date,
            ),
            invalid,
        ),
        seed(
            "missing-signature",
            line(
                &format!(r#"algorithm="hmac-sha256",headers="date",apikey="{API_KEY}""#),
                &date,
            ),
            missing,
        ),
        seed(
            "empty-api-key",
            line(
                &good.replace(&format!(r#"apikey="{API_KEY}""#), r#"apikey="""#),
                &date,
            ),
            missing,
        ),
        seed(
            "pair-given-twice",
            line(&format!(r#"{good},apiKey="{API_KEY}""#), &date),
            invalid,
        ),
        seed(
            "bearer",
            line("Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", &date),
            invalid,
        ),
        seed(
            "unquoted-value",
            line(&good.replace(r#"headers="date""#, "headers=date"), &date),
            invalid,
        ),
        seed("scheme-word", line(&format!("Signature {good}"), &date), invalid),
        seed(
            "no-date-header",
            good.clone().into_bytes(),
            Err(ErrorCode::MissingHeaders),
        ),
    ]
}

fn auth_seeds() -> Vec<(String, Vec<u8>)> {
    auth_seed_list()
        .into_iter()
        .map(|s| (s.name.to_owned(), s.data))
        .collect()
}

/// A `multipart_body` seed and what `request_file_text` takes out of it.
struct MultipartSeed {
    name: String,
    data: Vec<u8>,
    /// The file part's text, or the refusal.
    expect: Result<Vec<u8>, ErrorCode>,
}

fn multipart_seed_list() -> Vec<MultipartSeed> {
    let text = fixture("python-activation").text.as_bytes().to_vec();
    let crlf = fixture("compact-hex-activation-crlf76").text.as_bytes().to_vec();
    let part_head = |name: &str| {
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"request.req\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
    };
    let body = |parts: &[(&str, &[u8])]| multipart_body(BOUNDARY, parts);
    let plain_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let with_type = |content_type: &str, body: &[u8]| input(Some(content_type), body);
    let mut seeds = vec![
        ("file-part", multipart(&[("file", &text)]), Ok(text.clone())),
        ("file-part-crlf-lines", multipart(&[("file", &crlf)]), Ok(crlf.clone())),
        (
            "file-part-among-others",
            multipart(&[("data", b"x"), ("file", &text), ("note", b"y")]),
            Ok(text.clone()),
        ),
        (
            "quoted-boundary-uppercase-type",
            with_type(
                &format!("Multipart/Form-Data; charset=utf-8; boundary=\"{BOUNDARY}\""),
                &body(&[("file", &text)]),
            ),
            Ok(text.clone()),
        ),
        (
            "preamble-and-epilogue",
            with_type(
                &plain_type,
                &[&b"a preamble\r\n"[..], &body(&[("file", &text)]), b"an epilogue\r\n"].concat(),
            ),
            Ok(text.clone()),
        ),
        (
            "no-filename",
            with_type(
                &plain_type,
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n{}\r\n--{BOUNDARY}--\r\n",
                    String::from_utf8_lossy(&text)
                )
                .as_bytes(),
            ),
            Ok(text.clone()),
        ),
        (
            "no-file-part",
            multipart(&[("data", &text)]),
            Err(ErrorCode::MissingParameters),
        ),
        (
            "part-named-file-in-capitals",
            multipart(&[("File", &text)]),
            Err(ErrorCode::MissingParameters),
        ),
        (
            "empty-file-part",
            multipart(&[("file", b"")]),
            Err(ErrorCode::AuthorizationMissingParams),
        ),
        (
            "two-file-parts",
            multipart(&[("file", &text), ("file", &text)]),
            Err(ErrorCode::AuthorizationMissingParams),
        ),
        (
            "no-closing-delimiter",
            with_type(
                &plain_type,
                &[part_head("file").as_bytes(), &text, b"\r\n"].concat(),
            ),
            Err(ErrorCode::MissingParameters),
        ),
        (
            "lf-line-ends",
            with_type(
                &plain_type,
                &body(&[("file", &text)])
                    .split(|&b| b == b'\r')
                    .flatten()
                    .copied()
                    .collect::<Vec<u8>>(),
            ),
            Err(ErrorCode::MissingParameters),
        ),
        (
            "no-boundary-parameter",
            with_type("multipart/form-data", &body(&[("file", &text)])),
            Err(ErrorCode::MissingParameters),
        ),
        (
            "other-boundary",
            with_type(
                "multipart/form-data; boundary=another",
                &body(&[("file", &text)]),
            ),
            Err(ErrorCode::MissingParameters),
        ),
        ("raw-text-plain", with_type("text/plain", &text), Ok(text.clone())),
        ("raw-no-content-type", input(None, &text), Ok(text.clone())),
        (
            "empty-body",
            with_type(&plain_type, b""),
            Err(ErrorCode::MissingParameters),
        ),
    ];
    seeds
        .drain(..)
        .map(|(name, data, expect)| MultipartSeed {
            name: name.to_owned(),
            data,
            expect,
        })
        .collect()
}

fn multipart_seeds() -> Vec<(String, Vec<u8>)> {
    multipart_seed_list()
        .into_iter()
        .map(|s| (s.name, s.data))
        .collect()
}

/// A `handler` seed and the status and code (or 200 body) the reference server answers it with
/// when the seeds run in their listed order on a fresh server.
struct HandlerSeed {
    name: String,
    data: Vec<u8>,
    expect: (u16, &'static str),
}

/// The reference seed's licenses (`fixtures/reference-seed.toml`).
const PERPETUAL: &str = "PERP-0000-0000-0001";
const HANDLER_HARDWARE_ID: &str = "fuzz-device-1";

/// A handler input: the request line, the headers, an empty line, the body.
fn http(method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut data = format!("{method} {path}\n").into_bytes();
    for (name, value) in headers {
        data.extend_from_slice(format!("{name}: {value}\n").as_bytes());
    }
    data.push(b'\n');
    data.extend_from_slice(body);
    data
}

/// The Date and Authorization headers of the reference seed's API key, at the fuzz clock.
fn signed_headers() -> Vec<(&'static str, String)> {
    let date = format_http_date(fuzz_now());
    let auth = AuthorizationHeader::signed(HANDLER_API_KEY, HANDLER_SHARED_KEY, &date).to_string();
    vec![("Date", date), ("Authorization", auth)]
}

/// An activation file for the reference server, in `style`, with request id `n`.
fn reference_file(style: Style, license_key: &str, n: u32) -> RequestBuilder {
    RequestBuilder::activation()
        .license_key(license_key)
        .hardware_id(HANDLER_HARDWARE_ID)
        .product("TP")
        .date(style.date(fuzz_now()))
        .request_id(format!("5eed0000-0000-4000-8000-{n:012}"))
        .field("hostname", "fuzz-host")
        .style(style)
}

fn handler_seed_list() -> Vec<HandlerSeed> {
    let signed = signed_headers();
    let with = |extra: &[(&'static str, String)]| -> Vec<(&'static str, String)> {
        signed.iter().cloned().chain(extra.iter().cloned()).collect()
    };
    let text_plain = with(&[("Content-Type", "text/plain".to_owned())]);
    let activate = RequestKind::Activation.path();
    let deactivate = RequestKind::Deactivation.path();
    let sign = |b: RequestBuilder| b.sign(HANDLER_API_KEY, HANDLER_SHARED_KEY).text.into_bytes();
    let post = |headers: &[(&'static str, String)], body: &[u8]| http("POST", activate, headers, body);
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    let mut seeds: Vec<(String, Vec<u8>, (u16, &'static str))> = Vec::new();
    let ok = (200, "ok");

    // Successes, in every style and transport.
    for style in Style::ALL {
        let body = sign(reference_file(style, PERPETUAL, next()));
        seeds.push((format!("activate.{}", style.name()), post(&text_plain, &body), ok));
    }
    let body = sign(reference_file(Style::Python, PERPETUAL, next()));
    seeds.push(("activate.no-content-type".into(), post(&signed, &body), ok));
    let body = sign(reference_file(Style::Python, PERPETUAL, next()));
    let boundary = "lsconform-seed-boundary";
    seeds.push((
        "activate.multipart".into(),
        post(
            &with(&[(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )]),
            &multipart_body(boundary, &[("file", &body)]),
        ),
        ok,
    ));
    let body = sign(
        reference_file(Style::Python, PERPETUAL, next())
            .field("variables", serde_json::json!({"seat": "1"}))
            .field("is_vm", false),
    );
    seeds.push((
        "activate.form-urlencoded".into(),
        post(
            &with(&[("Content-Type", "application/x-www-form-urlencoded".to_owned())]),
            &body,
        ),
        ok,
    ));
    let user = RequestBuilder::activation()
        .username("user@example.com")
        .password("lsconform-test-password")
        .hardware_id(HANDLER_HARDWARE_ID)
        .product("TP")
        .date(Style::Python.date(fuzz_now()))
        .request_id(format!("5eed0000-0000-4000-8000-{:012}", next()));
    seeds.push(("activate.user".into(), post(&text_plain, &sign(user)), ok));

    // Every business rule of SPEC §5.
    for (name, key, expect) in [
        ("trial", "TRIA-0000-0000-0001", ok),
        ("consumption", "CONS-0000-0000-0001", ok),
        (
            "subscription",
            "SUBS-0000-0000-0001",
            (400, "license_type_not_supported_offline"),
        ),
        ("disabled", "DISA-0000-0000-0001", (400, "license_not_enabled")),
        ("inactive", "INAC-0000-0000-0001", (400, "license_not_active")),
        ("expired", "EXPI-0000-0000-0001", (400, "license_expired")),
        ("trial-expired", "TREX-0000-0000-0001", (400, "trial_expired")),
        (
            "exhausted",
            "EXHA-0000-0000-0001",
            (400, "license_activated_max_times"),
        ),
        ("other-product", "OTHE-0000-0000-0001", (400, "license_not_found")),
        (
            "unknown-license",
            "NONE-0000-0000-0001",
            (400, "license_not_found"),
        ),
    ] {
        let body = sign(reference_file(Style::Python, key, next()));
        seeds.push((format!("activate.{name}"), post(&text_plain, &body), expect));
    }
    let body = sign(reference_file(Style::Python, PERPETUAL, next()).product("NOPE"));
    seeds.push((
        "activate.unknown-product".into(),
        post(&text_plain, &body),
        (400, "unknown_product"),
    ));
    // SPEC §5.5: the first seed's request id with another payload.
    let body = sign(reference_file(Style::Python, PERPETUAL, 1).hardware_id("fuzz-device-2"));
    seeds.push((
        "activate.request-id-conflict".into(),
        post(&text_plain, &body),
        (409, "request_id_conflict"),
    ));
    // deactivate_offline gives back the seat the activations took, then finds none.
    for (name, expect) in [
        ("deactivate", (200, "license_deactivated")),
        ("deactivate.again", (400, "device_not_found")),
    ] {
        let body = sign(
            RequestBuilder::deactivation()
                .license_key(PERPETUAL)
                .hardware_id(HANDLER_HARDWARE_ID)
                .product("TP")
                .date(Style::Python.date(fuzz_now()))
                .request_id(format!("5eed0000-0000-4000-8000-{:012}", next())),
        );
        seeds.push((name.into(), http("POST", deactivate, &text_plain, &body), expect));
    }

    // Every check before the business rules, in the order of SPEC §1a.
    let good = sign(reference_file(Style::Python, PERPETUAL, next()));
    let date = signed[0].1.clone();
    let auth = signed[1].1.clone();
    seeds.push((
        "error.not-found".into(),
        http("POST", "/api/v4/activate", &text_plain, &good),
        (404, "not_found"),
    ));
    seeds.push((
        "error.get".into(),
        http("GET", activate, &text_plain, &good),
        (405, "method_not_allowed"),
    ));
    seeds.push((
        "error.content-length-over-the-cap".into(),
        post(&with(&[("Content-Length", "65537".to_owned())]), &good),
        (413, "payload_too_large"),
    ));
    seeds.push((
        "error.no-headers".into(),
        post(&[("Content-Type", "text/plain".to_owned())], &good),
        (400, "missing_headers"),
    ));
    seeds.push((
        "error.no-date".into(),
        post(&[("Authorization", auth.clone())], &good),
        (400, "missing_headers"),
    ));
    seeds.push((
        "error.bearer".into(),
        post(
            &[
                ("Date", date.clone()),
                ("Authorization", "Bearer abc.def".to_owned()),
            ],
            &good,
        ),
        (400, "authorization_invalid_headers"),
    ));
    seeds.push((
        "error.hmac-sha1".into(),
        post(
            &[
                ("Date", date.clone()),
                ("Authorization", auth.replace("hmac-sha256", "hmac-sha1")),
            ],
            &good,
        ),
        (400, "hmac_required"),
    ));
    let stale = format_http_date(fuzz_now() - Duration::from_secs(3600));
    seeds.push((
        "error.stale-date".into(),
        post(
            &[
                (
                    "Authorization",
                    AuthorizationHeader::signed(HANDLER_API_KEY, HANDLER_SHARED_KEY, &stale).to_string(),
                ),
                ("Date", stale),
            ],
            &good,
        ),
        (400, "date_header_diff"),
    ));
    seeds.push((
        "error.unknown-api-key".into(),
        post(
            &[
                ("Date", date.clone()),
                (
                    "Authorization",
                    AuthorizationHeader::signed("nope", HANDLER_SHARED_KEY, &date).to_string(),
                ),
            ],
            &good,
        ),
        (400, "invalid_api_key"),
    ));
    seeds.push((
        "error.header-signature".into(),
        post(
            &[
                ("Date", date.clone()),
                (
                    "Authorization",
                    AuthorizationHeader::signed(HANDLER_API_KEY, "wrong", &date).to_string(),
                ),
            ],
            &good,
        ),
        (401, "signature_mismatch"),
    ));
    seeds.push((
        "error.empty-body".into(),
        post(&text_plain, b""),
        (400, "missing_parameters"),
    ));
    seeds.push((
        "error.not-base64".into(),
        post(&text_plain, b"not base64!"),
        (400, "authorization_missing_params"),
    ));
    seeds.push((
        "error.multipart-without-file-part".into(),
        post(
            &with(&[(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )]),
            &multipart_body(boundary, &[("data", &good)]),
        ),
        (400, "missing_parameters"),
    ));
    seeds.push((
        "error.missing-hardware-id".into(),
        post(
            &text_plain,
            &sign(reference_file(Style::Python, PERPETUAL, next()).remove("hardware_id")),
        ),
        (400, "authorization_missing_params"),
    ));
    seeds.push((
        "error.request-kind".into(),
        post(
            &text_plain,
            &sign(reference_file(Style::Python, PERPETUAL, next()).set("request", "deactivation")),
        ),
        (400, "validation_error"),
    ));
    seeds.push((
        "error.payload-api-key".into(),
        post(
            &text_plain,
            reference_file(Style::Python, PERPETUAL, next())
                .sign("unknown-api-key", HANDLER_SHARED_KEY)
                .text
                .as_bytes(),
        ),
        (400, "invalid_api_key"),
    ));
    for style in [Style::Schema1, Style::CompactHex] {
        let (tamper, what) = match style {
            Style::Schema1 => (
                reference_file(style, PERPETUAL, next()).inner_signature(Tamper::Corrupt),
                "inner",
            ),
            _ => (
                reference_file(style, PERPETUAL, next()).outer_signature(Tamper::Corrupt),
                "outer",
            ),
        };
        seeds.push((
            format!("error.{what}-signature"),
            post(&text_plain, &sign(tamper)),
            (401, "signature_mismatch"),
        ));
    }
    seeds
        .into_iter()
        .map(|(name, data, expect)| HandlerSeed { name, data, expect })
        .collect()
}

fn handler_seeds() -> &'static [HandlerSeed] {
    static SEEDS: OnceLock<Vec<HandlerSeed>> = OnceLock::new();
    SEEDS.get_or_init(handler_seed_list)
}

fn text(s: &str) -> Text {
    Text::from(s)
}

/// The roundtrip seeds: each fixture's fields, delivered in turn by each transport, then edges.
fn roundtrip_seeds() -> Vec<(String, RoundtripInput)> {
    let deliveries = [
        Delivery::TextPlain,
        Delivery::Raw,
        Delivery::FormUrlencoded,
        Delivery::Multipart,
    ];
    let mut seeds = Vec::new();
    for (i, spec) in SPECS.iter().enumerate() {
        let (license_key, username, password) = if spec.user {
            (None, Some(text(USERNAME)), Some(text(PASSWORD)))
        } else {
            (Some(text(LICENSE_KEY)), None, None)
        };
        let input = RoundtripInput {
            kind: match spec.kind {
                RequestKind::Activation => Kind::Activation,
                RequestKind::Deactivation => Kind::Deactivation,
            },
            delivery: deliveries[i % deliveries.len()],
            wrapping: match spec.wrapping {
                Wrapping::OneLine => RoundtripWrapping::OneLine,
                Wrapping::TrailingNewline => RoundtripWrapping::TrailingNewline,
                Wrapping::CrlfLines => RoundtripWrapping::CrlfLines,
            },
            tampering: Tampering::None,
            license_key,
            username,
            password,
            hardware_id: Some(text(HARDWARE_ID)),
            product: Some(text(PRODUCT)),
            date: Some(text(
                &spec.style.date(UNIX_EPOCH + Duration::from_secs(DATE_SECS)),
            )),
            request_id: Some(text(spec.request_id)),
            api_key: text(API_KEY),
            shared_key: text(SHARED_KEY),
            fields: vec![
                (text("hostname"), FieldValue::Str(text(spec.hostname))),
                (text("os_ver"), FieldValue::Str(text("Linux 6.8.0"))),
                (text("sdk_lang"), FieldValue::Str(text("python"))),
                (text("is_vm"), FieldValue::Bool(false)),
            ],
        };
        seeds.push((spec.name.to_owned(), input));
    }
    let base = seeds[0].1.clone();
    let edge = |name: &str, change: &dyn Fn(&mut RoundtripInput)| {
        let mut input = base.clone();
        change(&mut input);
        (format!("edge.{name}"), input)
    };
    seeds.extend([
        edge("bom", &|i| i.wrapping = RoundtripWrapping::Bom),
        edge("tampered-inner", &|i| i.tampering = Tampering::Inner),
        edge("tampered-outer", &|i| i.tampering = Tampering::Outer),
        edge("all-fields-absent", &|i| {
            i.license_key = None;
            i.hardware_id = None;
            i.product = None;
            i.date = None;
            i.request_id = None;
        }),
        edge("empty-values", &|i| {
            i.license_key = Some(text(""));
            i.username = Some(text(USERNAME));
            i.hardware_id = Some(text(""));
            i.api_key = text("");
        }),
        edge("duplicate-extra", &|i| {
            i.fields.push((text("hostname"), FieldValue::Str(text("again"))))
        }),
        edge("reserved-extra-names", &|i| {
            i.fields.push((text("signature"), FieldValue::Null));
            i.fields.push((text("request"), FieldValue::Map(vec![])));
            i.fields.push((text("client_id"), FieldValue::Str(text("c"))));
        }),
        edge("structured-extras", &|i| {
            i.fields.push((
                text("variables"),
                FieldValue::Map(vec![(text("seat"), text("1")), (text("tier"), text("pro"))]),
            ));
            i.fields
                .push((text("tags"), FieldValue::List(vec![text("a"), text("ü")])));
            i.fields.push((text("max"), FieldValue::Int(i64::MIN)));
        }),
        edge("escapes", &|i| {
            i.hardware_id = Some(text("hw\"\\\n\t\u{7f}\u{2028}😀"));
            i.date = Some(text("Fri Nov 27 2026 04:36:34 GMT+0000"));
        }),
        edge("deactivation-multipart", &|i| {
            i.kind = Kind::Deactivation;
            i.delivery = Delivery::Multipart;
            i.hardware_id = Some(text(NON_ASCII_HOSTNAME));
        }),
    ]);
    seeds
}

#[test]
fn the_fuzz_targets_use_the_fixtures_keys_and_date() {
    assert_eq!(FUZZ_API_KEY, API_KEY);
    assert_eq!(FUZZ_NOW_SECS, DATE_SECS);
    let reference = ServerSeed::reference();
    assert!(
        reference
            .api_keys
            .iter()
            .any(|k| k.api_key == HANDLER_API_KEY && k.shared_key == HANDLER_SHARED_KEY),
        "the handler seeds sign with the reference seed's API key"
    );
}

#[test]
fn every_auth_header_seed_gets_the_answer_it_was_chosen_for() {
    let keys = |k: &str| (k == API_KEY).then(|| SHARED_KEY.to_owned());
    for seed in auth_seed_list() {
        let (authorization, date) = lsconform::fuzzing::split_header_input(&seed.data);
        let got = lsconform::protocol::authenticate(Some(authorization), date, fuzz_now(), keys);
        assert_eq!(got.map(drop).map_err(|r| r.code), seed.expect, "{}", seed.name);
    }
}

#[test]
fn every_multipart_seed_gets_the_answer_it_was_chosen_for() {
    for seed in multipart_seed_list() {
        let (content_type, body) = split_decode_input(&seed.data);
        let got = lsconform::protocol::request_file_text(content_type, body);
        assert_eq!(
            got.map(|(_, text)| text.into_owned()).map_err(|r| r.code),
            seed.expect,
            "{}",
            seed.name
        );
    }
}

#[test]
fn every_handler_seed_gets_the_answer_it_was_chosen_for_in_order() {
    for seed in handler_seeds() {
        let input = split_http_input(&seed.data);
        assert!(
            input.headers.iter().all(|(n, _)| !n.is_empty()),
            "{}: a header without a name",
            seed.name
        );
        let Some((status, body)) = lsconform::fuzzing::handler_response(&seed.data) else {
            panic!("{}: not a request", seed.name);
        };
        let (want_status, want) = seed.expect;
        let got = if status == 200 && want != "ok" {
            String::from_utf8_lossy(&body).into_owned()
        } else if status == 200 {
            "ok".to_owned()
        } else {
            let error: serde_json::Value = serde_json::from_slice(&body).expect("an error body");
            error["code"].as_str().unwrap_or_default().to_owned()
        };
        assert_eq!((status, got.as_str()), (want_status, want), "{}", seed.name);
        // And the target's own invariants hold on it.
        lsconform::fuzzing::handler_target(&seed.data);
    }
}

#[test]
fn every_roundtrip_seed_reads_back_as_the_input_it_was_written_from() {
    for (name, input) in roundtrip_seeds() {
        let bytes = input.to_fuzz_input();
        assert_eq!(
            RoundtripInput::from_fuzz_input(&bytes).as_ref(),
            Some(&input),
            "{name}: `arbitrary` reads the seed back as another input (has its format changed? \
             RoundtripInput::to_fuzz_input must follow it)"
        );
        lsconform::fuzzing::roundtrip(&input);
    }
}

/// The regular files of a directory, by name; an absent directory is empty.
fn read_dir(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|e| e.expect("a readable directory entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .expect("a UTF-8 file name")
                .to_owned();
            let bytes = fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            (name, bytes)
        })
        .collect()
}

/// Every file the generator owns in `fixtures/requests/`, by name.
fn expected_fixture_files() -> BTreeMap<String, Vec<u8>> {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for f in fixtures() {
        files.insert(format!("{}.req", f.name), f.text.as_bytes().to_vec());
        files.insert(format!("{}.json", f.name), f.json.clone());
    }
    files.insert("README.md".into(), readme().into_bytes());
    files
}

/// A seed corpus: (file name, input).
fn seed_files(target: &str) -> BTreeMap<String, Vec<u8>> {
    let files: Vec<(String, Vec<u8>)> = match target {
        "decode_request" => seeds().iter().map(|s| (s.name.clone(), s.data.clone())).collect(),
        "auth_header" => auth_seeds(),
        "multipart_body" => multipart_seeds(),
        "handler" => handler_seeds()
            .iter()
            .map(|s| (s.name.clone(), s.data.clone()))
            .collect(),
        "roundtrip" => roundtrip_seeds()
            .iter()
            .map(|(name, input)| (name.clone(), input.to_fuzz_input()))
            .collect(),
        other => panic!("no seeds for {other}"),
    };
    let n = files.len();
    let files: BTreeMap<String, Vec<u8>> = files.into_iter().collect();
    assert_eq!(files.len(), n, "two {target} seeds have the same name");
    files
}

/// Rewrites a directory to hold exactly `files` (besides [`NOT_GENERATED`]).
fn write_dir(dir: &Path, files: &BTreeMap<String, Vec<u8>>) {
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    for name in read_dir(dir).keys() {
        if !files.contains_key(name) && !NOT_GENERATED.contains(&name.as_str()) {
            let path = dir.join(name);
            fs::remove_file(&path).unwrap_or_else(|e| panic!("removing {}: {e}", path.display()));
        }
    }
    for (name, bytes) in files {
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}

/// The committed files of the generated directories, read once, after blessing them when asked to.
struct Committed {
    fixtures: BTreeMap<String, Vec<u8>>,
    /// By target.
    seeds: BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>,
}

fn committed() -> &'static Committed {
    static COMMITTED: OnceLock<Committed> = OnceLock::new();
    COMMITTED.get_or_init(|| {
        if bless() {
            write_dir(&fixtures_dir(), &expected_fixture_files());
            for target in SEEDED_TARGETS {
                write_dir(&seed_dir(target), &seed_files(target));
            }
        }
        Committed {
            fixtures: read_dir(&fixtures_dir()),
            seeds: SEEDED_TARGETS
                .into_iter()
                .map(|t| (t, read_dir(&seed_dir(t))))
                .collect(),
        }
    })
}

fn committed_text(f: &Fixture) -> &'static [u8] {
    committed()
        .fixtures
        .get(&format!("{}.req", f.name))
        .unwrap_or_else(|| panic!("fixtures/requests/{}.req is missing; {BLESS_HINT}", f.name))
}

/// Differences between a directory and what the generator writes, one line each.
fn drift(dir: &str, expected: &BTreeMap<String, Vec<u8>>, actual: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, bytes) in expected {
        match actual.get(name) {
            None => problems.push(format!("{dir}/{name} is missing")),
            Some(found) if found != bytes => {
                problems.push(format!("{dir}/{name} differs from what the generator writes now"))
            }
            Some(_) => {}
        }
    }
    for name in actual.keys() {
        if !expected.contains_key(name) && !NOT_GENERATED.contains(&name.as_str()) {
            problems.push(format!(
                "{dir}/{name} is not written by the generator (libFuzzer adds the inputs it finds to \
                 the first corpus directory it is given: give it fuzz/corpus/<target>/ first)"
            ));
        }
    }
    problems
}

#[test]
fn committed_fixture_files_equal_what_the_builder_writes_now() {
    let problems = drift(
        "fixtures/requests",
        &expected_fixture_files(),
        &committed().fixtures,
    );
    assert!(problems.is_empty(), "{}\n{BLESS_HINT}", problems.join("\n"));
}

#[test]
fn committed_seed_corpora_equal_what_the_fixtures_and_the_builder_give() {
    let mut problems = Vec::new();
    for target in SEEDED_TARGETS {
        problems.extend(drift(
            &format!("fuzz/seeds/{target}"),
            &seed_files(target),
            &committed().seeds[target],
        ));
    }
    assert!(problems.is_empty(), "{}\n{BLESS_HINT}", problems.join("\n"));
}

#[test]
fn there_is_an_activation_fixture_for_every_style() {
    for style in Style::ALL {
        assert!(
            fixtures()
                .iter()
                .any(|f| f.style == style && f.kind == RequestKind::Activation),
            "no activation fixture in style {style}"
        );
    }
}

#[test]
fn every_fixture_decodes_to_its_json_file() {
    for f in fixtures() {
        let decoded = decode_request_file(committed_text(f))
            .unwrap_or_else(|e| panic!("{}.req does not decode: {e}", f.name));
        assert_eq!(decoded, f.json, "{}.req does not decode to {0}.json", f.name);
        let expected_schema = match f.style {
            Style::Schema1 => Schema::V1,
            _ => Schema::V2,
        };
        let request = decode_request(Some("text/plain"), committed_text(f))
            .unwrap_or_else(|e| panic!("{}.req is refused: {e}", f.name));
        assert_eq!(request.schema, expected_schema, "{}", f.name);
    }
}

#[test]
fn every_fixture_passes_the_check_of_its_endpoint_and_verifies_with_the_shared_key() {
    for f in fixtures() {
        let decoded = decode_request(Some("text/plain"), committed_text(f))
            .unwrap_or_else(|e| panic!("{}.req is refused: {e}", f.name));
        let checked = decoded
            .check(f.kind)
            .unwrap_or_else(|e| panic!("{}.req fails the {:?} check: {e}", f.name, f.kind));
        checked
            .verify(SHARED_KEY)
            .unwrap_or_else(|e| panic!("{}.req does not verify: {e}", f.name));
        assert_eq!(checked.product, PRODUCT);
        assert_eq!(checked.hardware_id, HARDWARE_ID);
        assert_eq!(checked.identity.value(), API_KEY);
        assert_eq!(
            checked.has_inner_signature(),
            f.style != Style::JavaScript,
            "{}: only the JavaScript style omits the inner signature",
            f.name
        );
    }
}

#[test]
fn no_fixture_verifies_with_another_shared_key() {
    for f in fixtures() {
        let decoded = decode_request(Some("text/plain"), committed_text(f))
            .unwrap_or_else(|e| panic!("{}.req is refused: {e}", f.name));
        let checked = decoded
            .check(f.kind)
            .unwrap_or_else(|e| panic!("{}.req fails its check: {e}", f.name));
        let refused = checked.verify(OTHER_SHARED_KEY).unwrap_err();
        assert_eq!(refused.code, ErrorCode::SignatureMismatch, "{}", f.name);
    }
}

#[test]
fn no_fixture_passes_the_check_of_the_other_endpoint() {
    for f in fixtures() {
        let other = match f.kind {
            RequestKind::Activation => RequestKind::Deactivation,
            RequestKind::Deactivation => RequestKind::Activation,
        };
        let decoded = decode_request(Some("text/plain"), committed_text(f))
            .unwrap_or_else(|e| panic!("{}.req is refused: {e}", f.name));
        let refused = decoded.check(other).unwrap_err();
        assert_eq!(refused.code, ErrorCode::ValidationError, "{}", f.name);
    }
}

#[test]
fn the_user_fixture_is_signed_over_the_username() {
    let f = fixture("python-user-activation");
    let decoded = decode_request(None, committed_text(f)).expect("the user fixture decodes");
    let checked = decoded.check(f.kind).expect("the user fixture checks");
    assert_eq!(
        checked.licensee,
        Licensee::User {
            username: USERNAME,
            password: Some(PASSWORD)
        }
    );
    assert!(decoded.payload.license_key.is_none());
}

#[test]
fn the_non_ascii_hostname_is_escaped_in_the_json_and_decodes_to_itself() {
    let f = fixture("python-activation-non-ascii-hostname");
    assert!(
        f.json.is_ascii(),
        "the Python activation layout escapes non-ASCII"
    );
    let json = String::from_utf8_lossy(&f.json);
    assert!(json.contains(r"\u00fc"), "ü is escaped: {json}");
    assert!(json.contains(r"\ud83d\ude00"), "😀 is a surrogate pair: {json}");
    let decoded = decode_request(None, committed_text(f)).expect("the fixture decodes");
    assert_eq!(
        decoded.payload.other_str("hostname").as_deref(),
        Some(NON_ASCII_HOSTNAME)
    );
}

#[test]
fn the_wrapped_fixtures_are_wrapped_as_their_names_say() {
    let newline = committed_text(fixture("python-activation-trailing-newline"));
    assert!(newline.ends_with(b"\n") && !newline.ends_with(b"\n\n"));
    assert_eq!(newline.iter().filter(|&&b| b == b'\n').count(), 1);

    let crlf = committed_text(fixture("compact-hex-activation-crlf76"));
    let text = std::str::from_utf8(crlf).expect("Base64 text is ASCII");
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert!(lines.len() > 2, "the CRLF fixture spans several lines");
    let (last, full) = lines.split_last().expect("at least one line");
    assert!(full.iter().all(|l| l.len() == WRAP_COLUMNS));
    assert!(!last.is_empty() && last.len() <= WRAP_COLUMNS);
    assert!(text.ends_with("\r\n"));
    assert!(!text.replace("\r\n", "").contains(['\r', '\n']));
}

#[test]
fn the_fuzz_target_verifies_with_the_fixtures_shared_key() {
    assert_eq!(FUZZ_SHARED_KEY, SHARED_KEY);
}

#[test]
fn every_seed_gets_the_answer_it_was_chosen_for() {
    for seed in seeds() {
        let (content_type, body) = split_decode_input(&seed.data);
        let decoded = decode_request(content_type, body);
        match (seed.expect, decoded) {
            (Expect::Refused(code), Err(refused)) => {
                assert_eq!(refused.code, code, "{}: {refused}", seed.name)
            }
            // Members of another type are noted while decoding and refused by the check.
            (Expect::Refused(code), Ok(decoded)) if decoded.check(RequestKind::Activation).is_err() => {
                let refused = decoded.check(RequestKind::Activation).map(drop).unwrap_err();
                assert_eq!(refused.code, code, "{}: {refused}", seed.name)
            }
            (Expect::Verifies(kind), Ok(decoded)) => {
                let checked = decoded
                    .check(kind)
                    .unwrap_or_else(|e| panic!("{} fails its check: {e}", seed.name));
                checked
                    .verify(FUZZ_SHARED_KEY)
                    .unwrap_or_else(|e| panic!("{} does not verify: {e}", seed.name));
            }
            (expect, got) => panic!(
                "{}: expected {expect:?}, got {:?}",
                seed.name,
                got.map(|d| d.schema)
            ),
        }
    }
}

#[test]
fn seeds_are_small_and_readably_named() {
    for target in SEEDED_TARGETS {
        for (name, data) in seed_files(target) {
            // libFuzzer's default -max_len is 4096: a longer seed would be cut.
            assert!(data.len() <= 4096, "{target}/{name} is {} bytes", data.len());
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b)),
                "{target}/{name} is not a plain file name"
            );
        }
    }
}
