//! A case's request template, filled in for one target: the exact bytes to send.

use std::time::{Duration, SystemTime};

use base64::Engine as _;

use super::case::{
    AcceptTemplate, AuthorizationTemplate, DataCase, DateTemplate, Endpoint, Expectation, HeadersTemplate,
    JsonEdit, RequestTemplate, SignatureTemplate,
};
use super::profile::{Credentials, Profile};
use crate::protocol::{
    decode_request, encode_request_file, format_http_date, header_signature, outer_signature,
    AuthorizationHeader, DecodedRequest, ErrorCode, MacEncoding, RequestBuilder, RequestKind, Style, Tamper,
    Transport,
};

/// A request ready to send, and what it was made of (for reports and for giving seats back).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// `POST`, or what the case says.
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Headers, in order. Without an `Accept` among them the client sends `Accept: */*`, as
    /// curl does, unless `no_accept`.
    pub headers: Vec<(String, String)>,
    /// No `Accept` header at all (SPEC §1: never required).
    pub no_accept: bool,
    /// The body (`None`: no body at all).
    pub body: Option<Vec<u8>>,
    /// The decoded payload JSON, for people.
    pub payload: Option<String>,
    /// The license key and hardware id the request activates, for the seat give-back.
    pub seat: Option<(String, String)>,
    /// The request_id sent.
    pub request_id: Option<String>,
    /// The hardware id sent.
    pub hardware_id: Option<String>,
    /// The license key or username sent.
    pub licensee: Option<String>,
}

/// Why a case cannot run against a target: it is skipped with this reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip(pub String);

fn tamper(t: &SignatureTemplate) -> Tamper {
    match t {
        SignatureTemplate::Keep => Tamper::Keep,
        SignatureTemplate::Omit => Tamper::Omit,
        SignatureTemplate::Corrupt => Tamper::Corrupt,
        SignatureTemplate::Replace(s) => Tamper::Replace(s.clone()),
        SignatureTemplate::Uppercase => Tamper::Uppercase,
        SignatureTemplate::Truncate(n) => Tamper::Truncate(*n),
    }
}

/// JSON bytes for people: lossy UTF-8, control characters escaped.
pub(super) fn for_people(json: &[u8]) -> String {
    let text = String::from_utf8_lossy(json);
    let mut out = String::with_capacity(text.len());
    // The runs between control characters are copied whole.
    let mut start = 0;
    for (at, c) in text.match_indices(char::is_control) {
        out.push_str(&text[start..at]);
        out.extend(c.chars().flat_map(char::escape_unicode));
        start = at + c.len();
    }
    out.push_str(&text[start..]);
    out
}

/// Formats `time` in one of the HTTP-date forms of SPEC §2.
pub fn http_date(time: SystemTime, form: Option<&str>) -> Result<String, String> {
    let imf = format_http_date(time);
    Ok(match form.unwrap_or("imf") {
        "imf" => imf,
        "imf-utc" => imf.replace(" GMT", " UTC"),
        "javascript" => Style::JavaScript.date(time),
        "rfc850" | "asctime" => {
            let t = time::OffsetDateTime::from(time);
            let format = if form == Some("rfc850") {
                time::macros::format_description!(
                    "[weekday], [day]-[month repr:short]-[year repr:last_two] [hour]:[minute]:[second] GMT"
                )
            } else {
                time::macros::format_description!(
                    "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] [year]"
                )
            };
            t.format(format).map_err(|e| e.to_string())?
        }
        other => return Err(format!("unknown date form {other:?}")),
    })
}

/// The `Date` header a template says (none when it says `omit`), and the `Authorization` header
/// that signs it with `credentials` (none without credentials, or when it says `omit`), at `now`.
pub(super) fn signed_headers(
    t: &HeadersTemplate,
    credentials: Option<&Credentials>,
    now: SystemTime,
) -> Result<Vec<(String, String)>, String> {
    let date = match &t.date {
        DateTemplate::Now { offset_seconds, form } => {
            let offset = Duration::from_secs(offset_seconds.unsigned_abs());
            let at = if *offset_seconds < 0 {
                now.checked_sub(offset).unwrap_or(SystemTime::UNIX_EPOCH)
            } else {
                now + offset
            };
            Some(http_date(at, form.as_deref())?)
        }
        DateTemplate::Literal(text) => Some(text.clone()),
        DateTemplate::Omit => None,
    };
    let mut headers = Vec::new();
    if let Some(d) = &date {
        headers.push(("Date".to_owned(), d.clone()));
    }
    if let Some(c) = credentials {
        let signed_date = date.clone().unwrap_or_default();
        let authorization = match &t.authorization {
            AuthorizationTemplate::Signed { shared_key, api_key } => Some(
                AuthorizationHeader::signed(
                    api_key.as_deref().unwrap_or(&c.api_key),
                    shared_key.as_deref().unwrap_or(&c.shared_key),
                    &signed_date,
                )
                .to_string(),
            ),
            AuthorizationTemplate::Template(text) => Some(
                text.replace("{api_key}", &c.api_key)
                    .replace("{signature}", &header_signature(&c.shared_key, &signed_date))
                    .replace("{date}", &signed_date),
            ),
            AuthorizationTemplate::Omit => None,
        };
        if let Some(a) = authorization {
            headers.push(("Authorization".to_owned(), a));
        }
    }
    Ok(headers)
}

/// Applies a case's edit to a signed request file's JSON; when it changes the schema-2 `request`
/// member, the outer MAC is made again over the changed bytes, in the same encoding.
fn edit_signed(json: &[u8], edit: &JsonEdit, shared_key: &str) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(json).map_err(|e| e.to_string())?;
    let (from, to) = match edit {
        JsonEdit::Append(tail) => return Ok(format!("{text}{tail}").into_bytes()),
        JsonEdit::Wrap(before, after) => return Ok(format!("{before}{text}{after}").into_bytes()),
        JsonEdit::Replace { from, to } => (from, to),
    };
    let at = text
        .find(from.as_str())
        .ok_or_else(|| format!("edit: {from:?} is not in the payload {text}"))?;
    let mut out = format!("{}{to}{}", &text[..at], &text[at + from.len()..]);
    let decoded = DecodedRequest::from_json(Transport::Raw, json.to_vec()).map_err(|e| e.to_string())?;
    if let (Some(request), Some(mac)) = (decoded.request_bytes(), decoded.outer_signature.as_deref()) {
        let start = request.as_ptr() as usize - decoded.json.as_ptr() as usize;
        let end = start + request.len();
        if start <= at && at + from.len() <= end {
            let changed = &out[start..end - from.len() + to.len()];
            let encoding = MacEncoding::decode(mac).map_or(MacEncoding::Hex, |(e, _)| e);
            let again = outer_signature(shared_key, changed.as_bytes(), encoding);
            let after = end - from.len() + to.len();
            let mac_at = out[after..]
                .find(mac)
                .ok_or("edit: the outer MAC is not after the request member")?;
            out.replace_range(after + mac_at..after + mac_at + mac.len(), &again);
        }
    }
    Ok(out.into_bytes())
}

/// Rewrites a request file's Base64 text in one of the encodings a case can ask for.
fn encode(json: &[u8], encoding: Option<&str>) -> Result<Vec<u8>, String> {
    let standard = encode_request_file(json);
    let wrap = |width: usize, eol: &str| {
        standard
            .as_bytes()
            .chunks(width)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(eol)
            + eol
    };
    Ok(match encoding.unwrap_or("standard") {
        "standard" => standard.into_bytes(),
        "trailing-newline" => format!("{standard}\n").into_bytes(),
        "crlf-76" => wrap(76, "\r\n").into_bytes(),
        "lf-64" => wrap(64, "\n").into_bytes(),
        "spaces" => wrap(16, " \t ").into_bytes(),
        "bom" => [b"\xEF\xBB\xBF".as_slice(), standard.as_bytes()].concat(),
        "double-bom" => [b"\xEF\xBB\xBF\xEF\xBB\xBF".as_slice(), standard.as_bytes()].concat(),
        "url-safe" => base64::engine::general_purpose::URL_SAFE
            .encode(json)
            .into_bytes(),
        "unpadded" => {
            // Whitespace after the JSON keeps its meaning and makes the length need padding.
            let mut json = json.to_vec();
            while json.len() % 3 == 0 {
                json.push(b' ');
            }
            base64::engine::general_purpose::STANDARD_NO_PAD
                .encode(json)
                .into_bytes()
        }
        "extra-padding" => format!("{standard}=").into_bytes(),
        "nul" => [standard.as_bytes(), b"\0"].concat(),
        "non-zero-trailing-bits" => {
            // Whitespace after the JSON makes the last group carry padding ("=="), then the unused
            // low bits of its last character are set: a lenient decoder reads the same bytes.
            let mut json = json.to_vec();
            while json.len() % 3 != 1 {
                json.push(b' ');
            }
            let mut text = encode_request_file(&json).into_bytes();
            let last = text.len() - 3;
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let value = alphabet.iter().position(|c| *c == text[last]).unwrap_or(0);
            text[last] = alphabet[value | 0b1111];
            text
        }
        other => return Err(format!("unknown encoding {other:?}")),
    })
}

const BOUNDARY: &str = "lsconform-boundary-7d1f";

fn multipart(transport: &str, text: &[u8]) -> Result<Vec<u8>, String> {
    let part = |name: &str, content: &[u8]| {
        [
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"ls_activation.req\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
            content,
            b"\r\n",
        ]
        .concat()
    };
    let parts = match transport {
        "multipart" => [part("note", b"lsconform"), part("file", text)].concat(),
        "multipart-no-file" => part("upload", text),
        "multipart-empty-file" => part("file", b""),
        "multipart-two-files" => [part("file", text), part("file", text)].concat(),
        other => return Err(format!("unknown transport {other:?}")),
    };
    Ok([parts, format!("--{BOUNDARY}--\r\n").into_bytes()].concat())
}

/// Fills in a case for a target, or says why it cannot run there.
pub fn prepare(case: &DataCase, profile: &Profile, now: SystemTime) -> Result<Prepared, Skip> {
    prepare_template(&case.request, &case.expect, profile, now)
}

/// Which license a set-up or clean-up request names.
#[derive(Debug, Clone, Copy)]
pub enum LicenseRef<'a> {
    /// A role of the profile.
    Role(&'a str),
    /// A license key.
    Key(&'a str),
}

/// A correctly signed request of `endpoint` for a license from `hardware_id`: the set-up and
/// clean-up requests of cases and checks (activate first, give the seat back), dated `now`.
pub fn seat_request(
    profile: &Profile,
    endpoint: Endpoint,
    license: LicenseRef<'_>,
    hardware_id: &str,
    now: SystemTime,
) -> Result<Prepared, Skip> {
    let mut template = RequestTemplate {
        endpoint,
        ..RequestTemplate::default()
    };
    match license {
        LicenseRef::Role(role) => template.payload.license = Some(role.to_owned()),
        LicenseRef::Key(key) => {
            template.payload.license = None;
            template.payload.license_key = Some(key.to_owned());
        }
    }
    template.payload.hardware_id = Some(hardware_id.to_owned());
    let expect = Expectation {
        activated: endpoint == Endpoint::Activate,
        deactivated: endpoint == Endpoint::Deactivate,
        ..Expectation::default()
    };
    prepare_template(&template, &expect, profile, now)
}

/// A fresh request_id from a case's template (`{uuid}`, `{UUID}`; default `{uuid}`).
fn fresh_request_id(template: Option<&str>) -> Result<String, String> {
    let fresh = uuid::Uuid::new_v4().to_string();
    match template {
        None => Ok(fresh),
        Some(t) if t.contains("{uuid}") || t.contains("{UUID}") => {
            Ok(t.replace("{uuid}", &fresh).replace("{UUID}", &fresh.to_uppercase()))
        }
        Some(t) => Err(format!(
            "request_id {t:?} holds neither {{uuid}} nor {{UUID}}: a fixed id would be replayed by the next run"
        )),
    }
}

/// The hardware_id of a case: its text with `{uuid}` and `{UUID}` filled in with a fresh UUID
/// (lowercase, uppercase), so that a case, its deactivate twin and the next run each use a device
/// of their own; a fresh `lsconform-<uuid>` when it names none.
fn fresh_hardware_id(template: Option<&str>) -> String {
    let fresh = uuid::Uuid::new_v4().to_string();
    match template {
        None => format!("lsconform-{fresh}"),
        Some(t) => t
            .replace("{uuid}", &fresh)
            .replace("{UUID}", &fresh.to_uppercase()),
    }
}

/// `payload.hardware_id_to_cap`: the template with its hardware_id followed by `unit` as many
/// times as both the request file and the deactivation file giving its seat back stay within the
/// profile's `max_body` (SPEC §3: a body within the declared cap MUST be read).
fn prepare_to_cap(
    t: &RequestTemplate,
    unit: &str,
    expect: &Expectation,
    profile: &Profile,
    now: SystemTime,
) -> Result<Prepared, Skip> {
    if unit.is_empty() {
        return Err(Skip("the case is malformed: hardware_id_to_cap is empty".into()));
    }
    let base = fresh_hardware_id(t.payload.hardware_id.as_deref());
    let fits = |p: &Prepared| p.body.as_ref().map_or(0, Vec::len) <= profile.max_body;
    let with = |n: usize| -> Result<(Prepared, bool), Skip> {
        let mut fixed = t.clone();
        fixed.payload.hardware_id_to_cap = None;
        fixed.payload.hardware_id = Some(format!("{base}{}", unit.repeat(n)));
        let sent = prepare_template(&fixed, expect, profile, now)?;
        let back = match &sent.seat {
            Some((key, hw)) => fits(&seat_request(
                profile,
                Endpoint::Deactivate,
                LicenseRef::Key(key),
                hw,
                now,
            )?),
            None => true,
        };
        let ok = fits(&sent) && back;
        Ok((sent, ok))
    };
    let (mut best, ok) = with(0)?;
    if !ok {
        return Err(Skip(format!(
            "the case is malformed: its request is over max_body ({}) even without hardware_id_to_cap",
            profile.max_body
        )));
    }
    // `lo` repetitions fit, `hi` do not (the hardware_id alone would be over the cap).
    let (mut lo, mut hi) = (0, profile.max_body / unit.len() + 1);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        match with(mid)? {
            (sent, true) => (lo, best) = (mid, sent),
            (_, false) => hi = mid,
        }
    }
    Ok(best)
}

/// Fills in a request template for a target; `expect` tells which answers come before the API
/// key is looked up (those run without credentials).
pub fn prepare_template(
    t: &RequestTemplate,
    expect: &Expectation,
    profile: &Profile,
    now: SystemTime,
) -> Result<Prepared, Skip> {
    if let Some(unit) = &t.payload.hardware_id_to_cap {
        return prepare_to_cap(t, unit, expect, profile, now);
    }
    let kind = t.endpoint.kind();
    let bad = |e: String| Skip(format!("the case is malformed: {e}"));
    let literal = match (&t.body.literal, &t.body.literal_base64) {
        (Some(text), _) => Some(text.clone().into_bytes()),
        (None, Some(b64)) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| bad(format!("literal_base64: {e}")))?,
        ),
        (None, None) => None,
    };
    let needs_credentials = !matches!(t.headers.authorization, AuthorizationTemplate::Omit)
        || (literal.is_none() && t.body.json.is_none() && !t.body.omit);
    // SPEC §1a: these answers come before the API key is looked up, so any key will do.
    let before_the_key = expect.error_codes().is_ok_and(|codes| {
        !codes.is_empty()
            && codes.iter().all(|c| {
                matches!(
                    c,
                    ErrorCode::NotFound
                        | ErrorCode::MethodNotAllowed
                        | ErrorCode::PayloadTooLarge
                        | ErrorCode::MissingHeaders
                )
            })
    });
    let credentials = match (&profile.credentials, needs_credentials) {
        (Some(c), _) => Some(c.clone()),
        (None, false) => None,
        (None, true) if before_the_key => Some(Credentials {
            api_key: "lsconform-no-api-key".into(),
            shared_key: "lsconform-no-shared-key".into(),
        }),
        (None, true) => return Err(Skip("needs api_key and shared_key in the profile".into())),
    };
    let mut headers = signed_headers(&t.headers, credentials.as_ref(), now).map_err(bad)?;
    // The payload.
    let p = &t.payload;
    let mut prepared_seat = None;
    let (mut hardware_id, mut licensee, mut request_id) = (None, None, None);
    let (payload_json, text): (Option<String>, Option<Vec<u8>>) = if t.body.omit {
        (None, None)
    } else if let Some(literal) = literal {
        // What a server reads from the body, for people and for giving a seat back.
        let content_type = match t.body.transport.as_deref() {
            None | Some("raw") if !t.headers.omit_content_type => {
                Some(t.headers.content_type.as_deref().unwrap_or("text/plain"))
            }
            _ => None,
        };
        let read = decode_request(content_type, &literal).ok();
        let json = read.as_ref().map(|d| for_people(&d.json));
        if let Some(d) = read {
            let present = |v: Option<String>| v.filter(|v| !v.is_empty());
            hardware_id = present(d.payload.hardware_id);
            request_id = present(d.payload.request_id);
            let key = present(d.payload.license_key);
            licensee = key.clone().or_else(|| present(d.payload.username));
            if kind == RequestKind::Activation {
                prepared_seat = key.zip(hardware_id.clone());
            }
        }
        (json, Some(literal))
    } else if let Some(json) = &t.body.json {
        let json = match &credentials {
            Some(c) => json.replace("{api_key}", &c.api_key),
            None => json.clone(),
        };
        let text = encode(json.as_bytes(), t.body.encoding.as_deref()).map_err(bad)?;
        (Some(json), Some(text))
    } else {
        let c = credentials
            .as_ref()
            .expect("a payload needs credentials, checked above");
        let style: Style = p.style.as_deref().unwrap_or("python").parse().map_err(bad)?;
        let mut b = RequestBuilder::new(kind).style(style);
        let license = match (&p.license_key, &p.license) {
            (Some(key), _) => Some((false, key.clone())),
            (None, Some(role)) if role == "user" => {
                let (user, password) = profile
                    .user
                    .clone()
                    .ok_or_else(|| Skip("needs licenses.user in the profile".into()))?;
                if let Some(pw) = password {
                    b = b.password(pw);
                }
                Some((true, user))
            }
            (None, Some(role)) => {
                let key = match profile.license(role) {
                    Some(key) => key.to_owned(),
                    None if before_the_key => "LSCONFORM-ANY-LICENSE".to_owned(),
                    None => return Err(Skip(format!("needs licenses.{role} in the profile"))),
                };
                Some((false, key))
            }
            (None, None) => None,
        };
        if let Some((is_user, value)) = &license {
            b = if *is_user {
                b.username(value)
            } else {
                b.license_key(value)
            };
            licensee = Some(value.clone());
        }
        let hw = fresh_hardware_id(p.hardware_id.as_deref());
        b = b.hardware_id(&hw);
        hardware_id = Some(hw.clone());
        let product = match p.product.as_deref() {
            None | Some("profile") => match &profile.product {
                Some(p) => p.clone(),
                None if before_the_key => "LSCONFORM-ANY-PRODUCT".to_owned(),
                None => return Err(Skip("needs product in the profile".into())),
            },
            Some("other") => profile
                .other_product
                .clone()
                .ok_or_else(|| Skip("needs other_product in the profile".into()))?,
            Some(literal) => literal.to_owned(),
        };
        b = b
            .product(&product)
            .date(p.date.clone().unwrap_or_else(|| style.date(now)));
        if !p.omit_request_id {
            let id = fresh_request_id(p.request_id.as_deref()).map_err(bad)?;
            b = b.request_id(&id);
            request_id = Some(id);
        } else if p.request_id.is_some() {
            return Err(bad("request_id with omit_request_id".into()));
        }
        for (name, value) in &p.fields {
            b = b.field(name, value.clone());
        }
        for (name, value) in &p.set {
            b = b.set(name, value.clone());
        }
        for name in &p.remove {
            b = b.remove(name);
        }
        // The request_id the payload carries in the end: one `set` to another value (null, "",
        // another type: SPEC §10, taken as absent or refused) or removed echoes none.
        if let Some((_, value)) = p.set.iter().find(|(name, _)| name.as_str() == "request_id") {
            request_id = value.as_str().filter(|id| !id.is_empty()).map(str::to_owned);
        }
        if p.remove.iter().any(|name| name == "request_id") {
            request_id = None;
        }
        for (name, value) in &p.duplicate {
            b = b.duplicate(name, value.clone());
        }
        for (name, value) in &p.envelope {
            b = b.envelope_member(name, value.clone());
        }
        b = b
            .inner_signature(tamper(&p.inner_signature))
            .outer_signature(tamper(&p.outer_signature));
        let file = b.sign(
            p.api_key.as_deref().unwrap_or(&c.api_key),
            p.shared_key.as_deref().unwrap_or(&c.shared_key),
        );
        if let (Some((false, key)), RequestKind::Activation) = (&license, kind) {
            prepared_seat = Some((key.clone(), hw));
        }
        let json = match &t.body.edit {
            Some(edit) => edit_signed(&file.json, edit, p.shared_key.as_deref().unwrap_or(&c.shared_key))
                .map_err(bad)?,
            None => file.json,
        };
        let text = encode(&json, t.body.encoding.as_deref()).map_err(bad)?;
        (Some(String::from_utf8_lossy(&json).into_owned()), Some(text))
    };
    let body = match (text, t.body.transport.as_deref()) {
        (None, _) => None,
        (Some(text), None | Some("raw")) => {
            if !t.headers.omit_content_type {
                let ct = t
                    .headers
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "text/plain".into());
                headers.push(("Content-Type".to_owned(), ct));
            }
            Some(text)
        }
        (Some(text), Some(transport)) => {
            headers.push((
                "Content-Type".to_owned(),
                format!("multipart/form-data; boundary={BOUNDARY}"),
            ));
            Some(multipart(transport, &text).map_err(bad)?)
        }
    };
    // SPEC §1: Accept is recommended, never required; the client sends `*/*` unless told.
    let no_accept = match &t.headers.accept {
        AcceptTemplate::Any => false,
        AcceptTemplate::Literal(value) => {
            headers.push(("Accept".to_owned(), value.clone()));
            false
        }
        AcceptTemplate::Omit => true,
    };
    let path = t.path.clone().unwrap_or_else(|| kind.path().to_owned());
    Ok(Prepared {
        method: t.method.clone().unwrap_or_else(|| "POST".into()),
        url: format!("{}{path}", profile.base_url),
        headers,
        no_accept,
        body,
        payload: payload_json,
        seat: prepared_seat,
        request_id,
        hardware_id,
        licensee,
    })
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::{fresh_hardware_id, fresh_request_id, prepare_template, seat_request, LicenseRef};
    use crate::suite::case::{Endpoint, Expectation, RequestTemplate};
    use crate::suite::profile::Profile;

    #[test]
    fn for_people_escapes_every_control_character_and_keeps_the_rest() {
        let every: String = (0..=0x2ffu32).filter_map(char::from_u32).collect();
        let slow: String = every
            .chars()
            .flat_map(|c| {
                if c.is_control() {
                    c.escape_unicode().collect::<Vec<_>>()
                } else {
                    vec![c]
                }
            })
            .collect();
        assert_eq!(super::for_people(every.as_bytes()), slow);
        assert_eq!(
            super::for_people(b"{\"a\":\"\xff\x01\"}"),
            "{\"a\":\"\u{fffd}\\u{1}\"}"
        );
    }

    fn body_len(p: &super::Prepared) -> usize {
        p.body.as_ref().map_or(0, Vec::len)
    }

    /// `payload.hardware_id_to_cap`: the activation and the give-back of its seat fit the cap, and
    /// one more repetition would not (the longest hardware_id, not merely a long one).
    #[test]
    fn hardware_id_to_cap_fills_the_cap_and_no_further() {
        let profile = Profile::reference("http://127.0.0.1:9");
        let expect = Expectation {
            activated: true,
            ..Expectation::default()
        };
        let mut t = RequestTemplate::default();
        t.payload.hardware_id = Some("hw-{uuid}-".into());
        t.payload.hardware_id_to_cap = Some("x".into());
        let sent = prepare_template(&t, &expect, &profile, SystemTime::now()).expect("it prepares");
        let hw = sent.hardware_id.clone().expect("a hardware_id");
        let (key, _) = sent.seat.clone().expect("a seat");
        let back = |hw: &str| {
            let r = seat_request(
                &profile,
                Endpoint::Deactivate,
                LicenseRef::Key(&key),
                hw,
                SystemTime::now(),
            );
            body_len(&r.expect("it prepares"))
        };
        assert!(body_len(&sent) <= profile.max_body && back(&hw) <= profile.max_body);
        assert!(hw.len() > profile.max_body / 2, "only {} bytes", hw.len());
        let longer = format!("{hw}x");
        t.payload.hardware_id_to_cap = None;
        t.payload.hardware_id = Some(longer.clone());
        let more = prepare_template(&t, &expect, &profile, SystemTime::now()).expect("it prepares");
        assert!(body_len(&more) > profile.max_body || back(&longer) > profile.max_body);
    }

    #[test]
    fn templates_get_a_fresh_uuid_and_a_request_id_template_needs_one() {
        assert!(fresh_request_id(Some("fixed-id")).is_err());
        let upper = fresh_request_id(Some("{UUID}")).expect("a template");
        assert_eq!((upper.len(), upper.to_uppercase()), (36, upper.clone()));
        assert_ne!(fresh_request_id(None), fresh_request_id(None));
        let hw = fresh_hardware_id(Some(" {uuid} é "));
        assert!(hw.starts_with(' ') && hw.ends_with(" é ") && !hw.contains("{uuid}"));
        assert_eq!(fresh_hardware_id(Some("literal")), "literal");
    }
}
