//! The committed request files in `fixtures/requests/` and the fuzz seed corpus in
//! `fuzz/corpus/decode_request/`, both generated here from fixed inputs with `RequestBuilder`.
//!
//! Without `LSCONFORM_BLESS=1` the tests compare the committed files with what the builder writes
//! now, so they can never drift; with `LSCONFORM_BLESS=1` they rewrite them (and delete files of
//! those two directories that the generator no longer writes) instead.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use lsconform::fuzzing::{split_decode_input, FUZZ_SHARED_KEY};
use lsconform::protocol::{
    decode_request, decode_request_file, encode_request_file, ErrorCode, Licensee, RequestBuilder,
    RequestKind, Schema, Style, MAX_DEPTH,
};

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

/// Files in the two directories that the generator does not own.
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

fn corpus_dir() -> PathBuf {
    root().join("fuzz/corpus/decode_request")
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
         review the diff and commit it. The same run rewrites the fuzz seed corpus \
         `fuzz/corpus/decode_request/` from these files.\n\
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
    let mut body = Vec::new();
    for (name, content) in parts {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"request.req\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    input(Some(&format!("multipart/form-data; boundary={BOUNDARY}")), &body)
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

fn expected_corpus_files() -> BTreeMap<String, Vec<u8>> {
    seeds().iter().map(|s| (s.name.clone(), s.data.clone())).collect()
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

/// The committed files of both directories, read once, after blessing them when asked to.
struct Committed {
    fixtures: BTreeMap<String, Vec<u8>>,
    corpus: BTreeMap<String, Vec<u8>>,
}

fn committed() -> &'static Committed {
    static COMMITTED: OnceLock<Committed> = OnceLock::new();
    COMMITTED.get_or_init(|| {
        if bless() {
            write_dir(&fixtures_dir(), &expected_fixture_files());
            write_dir(&corpus_dir(), &expected_corpus_files());
        }
        Committed {
            fixtures: read_dir(&fixtures_dir()),
            corpus: read_dir(&corpus_dir()),
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
                "{dir}/{name} is not written by the generator (libFuzzer adds files to the first \
                 corpus directory it is given: give it a scratch directory first)"
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
fn committed_seed_corpus_equals_what_the_fixtures_give() {
    let problems = drift(
        "fuzz/corpus/decode_request",
        &expected_corpus_files(),
        &committed().corpus,
    );
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
    for seed in seeds() {
        assert!(
            seed.data.len() <= 4096,
            "{} is {} bytes",
            seed.name,
            seed.data.len()
        );
        assert!(
            seed.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b)),
            "{} is not a plain file name",
            seed.name
        );
    }
}
