//! The body transport (SPEC §3): the request file's text as the raw body, or as the part named
//! `file` of a `multipart/form-data` body. Base64 rules of the text itself live here too.

use std::borrow::Cow;
use std::convert::Infallible;

use base64::Engine as _;
use futures_util::FutureExt as _;

use super::error::{ErrorCode, Rejection};
use super::signature::BASE64;

/// How the request file reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// The body is the request file's text (any content type but multipart).
    Raw,
    /// The `file` part of a multipart body.
    Multipart,
}

/// The name of the multipart part that carries the request file (SPEC §3, the seed).
pub const FILE_PART: &str = "file";

/// SPEC §3: a server's body cap is never below 16 KiB, since request files with device variables
/// reach several KiB (and a body within the cap it declares MUST be read).
pub const MIN_BODY_CAP: usize = 16 * 1024;

/// Whether a Content-Type names a multipart body (SPEC §3: any other content type is raw).
///
/// ```
/// use lsconform::protocol::is_multipart;
/// assert!(is_multipart(Some("multipart/form-data; boundary=x")));
/// assert!(is_multipart(Some("Multipart/Form-Data;boundary=x")));
/// assert!(!is_multipart(Some("text/plain")));
/// assert!(!is_multipart(None));
/// ```
pub fn is_multipart(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        ct.trim_start()
            .get(..10)
            .is_some_and(|t| t.eq_ignore_ascii_case("multipart/"))
    })
}

/// Takes the request file's text out of a body (SPEC §3).
///
/// No body, an empty one, or a multipart body with no `file` part (or one that cannot be read as
/// multipart) → `missing_parameters`; a multipart `file` part that is empty, or given twice →
/// `authorization_missing_params`.
///
/// ```
/// use lsconform::protocol::{request_file_text, ErrorCode, Transport};
/// let (transport, text) = request_file_text(Some("text/plain"), b"eyJ9").unwrap();
/// assert_eq!((transport, &*text), (Transport::Raw, &b"eyJ9"[..]));
/// let body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.req\"\r\n\r\neyJ9\r\n--b--\r\n";
/// let (transport, text) = request_file_text(Some("multipart/form-data; boundary=b"), body).unwrap();
/// assert_eq!((transport, &*text), (Transport::Multipart, &b"eyJ9"[..]));
/// assert_eq!(request_file_text(None, b"").unwrap_err().code, ErrorCode::MissingParameters);
/// ```
pub fn request_file_text<'a>(
    content_type: Option<&str>,
    body: &'a [u8],
) -> Result<(Transport, Cow<'a, [u8]>), Rejection> {
    if body.is_empty() {
        return Err(Rejection::new(ErrorCode::MissingParameters, "no request body"));
    }
    match content_type {
        Some(ct) if is_multipart(Some(ct)) => {
            let file = multipart_file(ct, body)?;
            Ok((Transport::Multipart, Cow::Owned(file)))
        }
        _ => Ok((Transport::Raw, Cow::Borrowed(body))),
    }
}

fn multipart_file(content_type: &str, body: &[u8]) -> Result<Vec<u8>, Rejection> {
    let no_file = |detail: String| Rejection::new(ErrorCode::MissingParameters, detail);
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| no_file(format!("multipart body without a usable boundary: {e}")))?;
    let body = bytes::Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(async move { Ok::<_, Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    // The whole body is in memory, so every future below is ready at its first poll.
    let mut file: Option<Vec<u8>> = None;
    loop {
        let field = multipart
            .next_field()
            .now_or_never()
            .expect("an in-memory multipart body never waits");
        let mut field = match field {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(no_file(format!("unreadable multipart body: {e}"))),
        };
        if field.name() != Some(FILE_PART) {
            continue;
        }
        if file.is_some() {
            return Err(Rejection::new(
                ErrorCode::AuthorizationMissingParams,
                "the file part is given twice",
            ));
        }
        let mut content = Vec::new();
        loop {
            match field.chunk().now_or_never() {
                Some(Ok(Some(chunk))) => content.extend_from_slice(&chunk),
                Some(Ok(None)) => break,
                Some(Err(e)) => return Err(no_file(format!("unreadable multipart body: {e}"))),
                None => unreachable!("an in-memory multipart body never waits"),
            }
        }
        file = Some(content);
    }
    match file {
        None => Err(no_file("no file part in the multipart body".into())),
        Some(content) if content.is_empty() => Err(Rejection::new(
            ErrorCode::AuthorizationMissingParams,
            "the file part is empty",
        )),
        Some(content) => Ok(content),
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The whitespace the request file's text may hold anywhere (SPEC §3): space, tab, CR, LF.
const IS_SPACE: [bool; 256] = {
    let mut table = [false; 256];
    table[b' ' as usize] = true;
    table[b'\t' as usize] = true;
    table[b'\r' as usize] = true;
    table[b'\n' as usize] = true;
    table
};

/// Decodes the request file's text (SPEC §3) [pinned, safety]: ASCII whitespace (space, tab, CR,
/// LF) is ignored anywhere and one leading UTF-8 byte-order mark is ignored; anything else outside
/// the standard alphabet, the URL-safe alphabet, wrong or missing padding and non-zero trailing
/// bits are refused with `authorization_missing_params`.
///
/// ```
/// use lsconform::protocol::decode_request_file;
/// assert_eq!(decode_request_file(b"eyJ9\r\n").unwrap(), b"{\"}");
/// assert!(decode_request_file(b"eyJ9=").is_err());
/// ```
pub fn decode_request_file(text: &[u8]) -> Result<Vec<u8>, Rejection> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    // Whitespace is outside the alphabet, so text Base64 decodes as it stands has none and
    // decodes the same once whitespace is taken out: most files (no whitespace) are read once.
    // Only a refusal of text that holds whitespace is tried again without it. A table, not
    // comparisons, tells whitespace (cheaper under a fuzzer's comparison tracing).
    let is_space = |b: &u8| IS_SPACE[usize::from(*b)];
    let refusal = if text.last().is_some_and(is_space) {
        None
    } else {
        match BASE64.decode(text) {
            Ok(json) => return Ok(json),
            Err(refusal) => Some(refusal),
        }
    };
    let decoded = match (text.iter().position(is_space), refusal) {
        (None, Some(refusal)) => Err(refusal),
        (None, None) => BASE64.decode(text),
        // One line end at the end, the other common layout: no copy.
        (Some(first), _) if text[first..].iter().all(is_space) => BASE64.decode(&text[..first]),
        (Some(first), _) => {
            let mut compact = Vec::with_capacity(text.len());
            compact.extend_from_slice(&text[..first]);
            compact.extend(text[first..].iter().copied().filter(|b| !is_space(b)));
            BASE64.decode(compact)
        }
    };
    decoded.map_err(|e| {
        Rejection::new(
            ErrorCode::AuthorizationMissingParams,
            format!("the body is not proper Base64: {e}"),
        )
    })
}

/// Writes a request file's text: standard, padded Base64 of the JSON, on one line.
pub fn encode_request_file(json: &[u8]) -> String {
    BASE64.encode(json)
}
