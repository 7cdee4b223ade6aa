//! SPEC §3, the two transports: the raw body is the request file's text (any content type but
//! multipart), or the part named `file` of a `multipart/form-data` body. No body, an empty one,
//! or multipart without a `file` part → `missing_parameters`; an empty `file` part →
//! `authorization_missing_params`.

use lsconform::protocol::{
    decode_request, encode_request_file, request_file_text, ErrorCode, Transport, FILE_PART,
};

const JSON: &str = r#"{"product":"fooapp","hardware_id":"~~>?xx","license_key":"BSK8-CLCY-PB5E-BXFO"}"#;

/// The request file's text; its Base64 holds `+` and `/`, which a form decoder would mangle.
fn text() -> String {
    let text = encode_request_file(JSON.as_bytes());
    assert!(text.contains('+') || text.contains('/'), "{text}");
    text
}

/// A part of a multipart body: its headers, then its content.
struct Part<'a> {
    name: &'a str,
    filename: Option<&'a str>,
    content_type: Option<&'a str>,
    content: &'a [u8],
}

impl<'a> Part<'a> {
    fn new(name: &'a str, content: &'a [u8]) -> Self {
        Part {
            name,
            filename: None,
            content_type: None,
            content,
        }
    }

    fn file(content: &'a [u8]) -> Self {
        Part::new(FILE_PART, content)
    }

    fn filename(self, filename: &'a str) -> Self {
        Part {
            filename: Some(filename),
            ..self
        }
    }

    fn content_type(self, content_type: &'a str) -> Self {
        Part {
            content_type: Some(content_type),
            ..self
        }
    }
}

/// A multipart/form-data body, written by hand with CRLF line ends as RFC 7578 has it.
fn multipart(boundary: &str, parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(filename) = part.filename {
            disposition.push_str(&format!("; filename=\"{filename}\""));
        }
        body.extend_from_slice(format!("{disposition}\r\n").as_bytes());
        if let Some(ct) = part.content_type {
            body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(part.content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

fn form_data(boundary: &str) -> String {
    format!("multipart/form-data; boundary={boundary}")
}

/// The body is read as `transport` and decodes to [`JSON`].
#[track_caller]
fn reads(content_type: Option<&str>, body: &[u8], transport: Transport) {
    let (got, file) = request_file_text(content_type, body)
        .unwrap_or_else(|e| panic!("request_file_text({content_type:?}): {e}"));
    assert_eq!(got, transport);
    assert_eq!(
        std::str::from_utf8(&file).unwrap().trim_end(),
        text(),
        "the file's text"
    );
    let decoded = decode_request(content_type, body)
        .unwrap_or_else(|e| panic!("decode_request({content_type:?}): {e}"));
    assert_eq!(decoded.transport, transport);
    assert_eq!(decoded.json, JSON.as_bytes());
    assert_eq!(decoded.payload.hardware_id.as_deref(), Some("~~>?xx"));
}

#[track_caller]
fn refused(content_type: Option<&str>, body: &[u8], code: ErrorCode) {
    assert_eq!(
        request_file_text(content_type, body)
            .map(|_| ())
            .map_err(|e| e.code),
        Err(code),
        "request_file_text({content_type:?}, {:?})",
        String::from_utf8_lossy(body)
    );
    assert_eq!(
        decode_request(content_type, body).map(|_| ()).map_err(|e| e.code),
        Err(code),
        "decode_request({content_type:?}, {:?})",
        String::from_utf8_lossy(body)
    );
}

/// The transport hands the text over, and the Base64 step refuses it with `code`.
#[track_caller]
fn refused_after_transport(content_type: Option<&str>, body: &[u8], code: ErrorCode) {
    assert!(request_file_text(content_type, body).is_ok());
    assert_eq!(
        decode_request(content_type, body).map(|_| ()).map_err(|e| e.code),
        Err(code),
        "decode_request({content_type:?}, {:?})",
        String::from_utf8_lossy(body)
    );
}

// ---- raw bodies ---------------------------------------------------------------------------

#[test]
fn a_text_plain_body_is_read_raw() {
    reads(Some("text/plain"), text().as_bytes(), Transport::Raw);
    reads(
        Some("text/plain; charset=utf-8"),
        text().as_bytes(),
        Transport::Raw,
    );
    // As the Python SDK's users write it: with a trailing newline.
    reads(
        Some("text/plain"),
        format!("{}\n", text()).as_bytes(),
        Transport::Raw,
    );
}

#[test]
fn a_body_without_a_content_type_is_read_raw() {
    reads(None, text().as_bytes(), Transport::Raw);
}

#[test]
fn a_form_urlencoded_body_is_read_raw() {
    // curl --data sends this type; the body is not form-decoded (a `+` would become a space).
    let content_type = "application/x-www-form-urlencoded";
    assert!(text().contains('+'));
    reads(Some(content_type), text().as_bytes(), Transport::Raw);
    // A body that only a form decoder would read is not decoded.
    let encoded = text().replace('+', "%2B").replace('/', "%2F");
    refused_after_transport(
        Some(content_type),
        encoded.as_bytes(),
        ErrorCode::AuthorizationMissingParams,
    );
}

#[test]
fn any_other_content_type_is_read_raw() {
    for ct in [
        "application/json",
        "application/octet-stream",
        "text/html",
        "",
        "nonsense",
        "form-data; boundary=x",
    ] {
        reads(Some(ct), text().as_bytes(), Transport::Raw);
    }
}

// ---- multipart bodies ---------------------------------------------------------------------

#[test]
fn a_multipart_file_part_with_a_filename_is_read() {
    let t = text();
    let body = multipart(
        "XyZ123",
        &[Part::file(t.as_bytes())
            .filename("request.req")
            .content_type("application/octet-stream")],
    );
    reads(Some(&form_data("XyZ123")), &body, Transport::Multipart);
}

#[test]
fn a_multipart_file_part_without_a_filename_is_read() {
    let t = text();
    let body = multipart("b", &[Part::file(t.as_bytes())]);
    reads(Some(&form_data("b")), &body, Transport::Multipart);
}

#[test]
fn other_parts_before_the_file_part_are_skipped() {
    let t = text();
    let body = multipart(
        "----WebKitFormBoundary7MA4YWxkTrZu0gW",
        &[
            Part::new("comment", b"not the file"),
            Part::new("files", b"eyJ9").filename("other.req"),
            Part::new("upload", b"QQ==").filename("file"),
            Part::file(t.as_bytes()).filename("request.req"),
        ],
    );
    reads(
        Some(&form_data("----WebKitFormBoundary7MA4YWxkTrZu0gW")),
        &body,
        Transport::Multipart,
    );
}

#[test]
fn other_parts_after_the_file_part_are_skipped() {
    let t = text();
    let body = multipart(
        "b",
        &[
            Part::file(t.as_bytes()).filename("request.req"),
            Part::new("comment", b"after"),
        ],
    );
    reads(Some(&form_data("b")), &body, Transport::Multipart);
}

#[test]
fn a_file_part_ending_in_crlf_is_read() {
    // The uploaded file itself ends in CRLF, before the CRLF that ends the part.
    let t = format!("{}\r\n", text());
    let body = multipart("b", &[Part::file(t.as_bytes()).filename("request.req")]);
    let (_, file) = request_file_text(Some(&form_data("b")), &body).unwrap();
    assert_eq!(&*file, t.as_bytes());
    reads(Some(&form_data("b")), &body, Transport::Multipart);
    // Wrapped at 76 columns with CRLF, as a mail client would attach it.
    let wrapped: String = text()
        .as_bytes()
        .chunks(76)
        .map(|l| format!("{}\r\n", std::str::from_utf8(l).unwrap()))
        .collect();
    let body = multipart("b", &[Part::file(wrapped.as_bytes())]);
    let decoded = decode_request(Some(&form_data("b")), &body).unwrap();
    assert_eq!(decoded.json, JSON.as_bytes());
}

#[test]
fn a_quoted_boundary_and_a_mixed_case_type_are_understood() {
    let t = text();
    let body = multipart("a b:c", &[Part::file(t.as_bytes())]);
    reads(
        Some("multipart/form-data; boundary=\"a b:c\""),
        &body,
        Transport::Multipart,
    );
    let body = multipart("b", &[Part::file(t.as_bytes())]);
    reads(
        Some("Multipart/Form-Data; boundary=b"),
        &body,
        Transport::Multipart,
    );
    reads(
        Some("multipart/form-data;boundary=b"),
        &body,
        Transport::Multipart,
    );
}

#[test]
fn multipart_without_a_file_part_is_missing_parameters() {
    let t = text();
    let ct = form_data("b");
    refused(
        Some(&ct),
        &multipart("b", &[Part::new("data", t.as_bytes())]),
        ErrorCode::MissingParameters,
    );
    refused(
        Some(&ct),
        &multipart("b", &[Part::new("File", t.as_bytes()).filename("request.req")]),
        ErrorCode::MissingParameters,
    );
    // No parts at all.
    refused(Some(&ct), b"--b--\r\n", ErrorCode::MissingParameters);
}

#[test]
fn an_empty_file_part_is_authorization_missing_params() {
    let ct = form_data("b");
    refused(
        Some(&ct),
        &multipart("b", &[Part::file(b"").filename("request.req")]),
        ErrorCode::AuthorizationMissingParams,
    );
    refused(
        Some(&ct),
        &multipart("b", &[Part::new("comment", b"x"), Part::file(b"")]),
        ErrorCode::AuthorizationMissingParams,
    );
}

#[test]
fn a_file_part_given_twice_is_authorization_missing_params() {
    // Not in SPEC; the crate's documented choice (two files: which one was signed?).
    let t = text();
    refused(
        Some(&form_data("b")),
        &multipart("b", &[Part::file(t.as_bytes()), Part::file(t.as_bytes())]),
        ErrorCode::AuthorizationMissingParams,
    );
}

#[test]
fn a_file_part_that_is_not_base64_is_authorization_missing_params() {
    refused_after_transport(
        Some(&form_data("b")),
        &multipart("b", &[Part::file(JSON.as_bytes())]),
        ErrorCode::AuthorizationMissingParams,
    );
}

#[test]
fn a_multipart_body_with_the_wrong_boundary_is_missing_parameters() {
    let t = text();
    refused(
        Some(&form_data("other")),
        &multipart("b", &[Part::file(t.as_bytes())]),
        ErrorCode::MissingParameters,
    );
}

#[test]
fn a_multipart_content_type_without_a_boundary_is_missing_parameters() {
    let t = text();
    let body = multipart("b", &[Part::file(t.as_bytes())]);
    for ct in [
        "multipart/form-data",
        "multipart/form-data;",
        "multipart/form-data; charset=utf-8",
        "multipart/form-data; boundary=",
    ] {
        refused(Some(ct), &body, ErrorCode::MissingParameters);
    }
}

// ---- empty bodies -------------------------------------------------------------------------

#[test]
fn an_empty_body_is_missing_parameters() {
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=b"),
        Some("multipart/form-data"),
    ] {
        refused(ct, b"", ErrorCode::MissingParameters);
    }
}
