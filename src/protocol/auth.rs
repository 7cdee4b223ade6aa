//! The `Authorization` and `Date` headers (SPEC §2).
//!
//! The header is comma-separated `name="value"` pairs with no scheme word:
//! `algorithm="hmac-sha256",headers="date",signature="<base64>",apikey="<api key>"`.

use std::time::{Duration, SystemTime};

use super::error::{ErrorCode, Rejection};
use super::signature::{hmac_sha256, verify_base64_mac, BASE64};
use base64::Engine as _;

/// SPEC §2: the Date header may be at most this far from the server clock, in either direction
/// (the docs say "up to 15 minutes old"; the future side is [pinned, safety]).
pub const MAX_DATE_SKEW: Duration = Duration::from_secs(15 * 60);

/// The only algorithm the header may name (SPEC §2).
pub const ALGORITHM: &str = "hmac-sha256";

/// The only signed header list the header may name (SPEC §2).
pub const SIGNED_HEADERS: &str = "date";

/// SPEC §2: the header signature covers exactly `licenseSpring\ndate: <Date header value as sent>`.
pub fn header_signing_string(date: &str) -> String {
    format!("licenseSpring\ndate: {date}")
}

/// The header signature: Base64 of HMAC-SHA256 keyed with the shared key's UTF-8 bytes (SPEC §2).
///
/// ```
/// // SPEC §8, the published header vector.
/// let sig = lsconform::protocol::header_signature(
///     "kw4qSnpSwXzgiv5yxYpZZmFEd9QAeiKTQ6OuyMja",
///     "Tue, 07 Jun 2011 20:51:35 GMT",
/// );
/// assert_eq!(sig, "UDysfR6MndUZReo07Y9r+vErn8vSxrnQ5ulit18iJ/Q=");
/// ```
pub fn header_signature(shared_key: &str, date: &str) -> String {
    BASE64.encode(hmac_sha256(shared_key, header_signing_string(date).as_bytes()))
}

/// A parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader {
    /// `algorithm`, as sent.
    pub algorithm: String,
    /// `headers`, as sent.
    pub headers: String,
    /// `signature`, as sent (Base64 of the MAC).
    pub signature: String,
    /// `apikey` / `apiKey`, as sent.
    pub api_key: String,
}

impl AuthorizationHeader {
    /// The header a client sends for `date`, signed with `shared_key`.
    ///
    /// ```
    /// use lsconform::protocol::AuthorizationHeader;
    /// let h = AuthorizationHeader::signed("my-api-key", "my-shared-key", "Thu, 17 Nov 2022 20:51:35 GMT");
    /// assert!(h.to_string().starts_with(r#"algorithm="hmac-sha256",headers="date",signature=""#));
    /// assert!(h.verify("my-shared-key", "Thu, 17 Nov 2022 20:51:35 GMT").is_ok());
    /// ```
    pub fn signed(api_key: &str, shared_key: &str, date: &str) -> Self {
        AuthorizationHeader {
            algorithm: ALGORITHM.to_owned(),
            headers: SIGNED_HEADERS.to_owned(),
            signature: header_signature(shared_key, date),
            api_key: api_key.to_owned(),
        }
    }

    /// Parses the header value (SPEC §2). Parameter names are case-insensitive (`apikey` or
    /// `apiKey`), spaces around pairs are allowed and the pairs may come in any order; unknown
    /// pairs are ignored.
    ///
    /// Errors, in the order of SPEC §2: not `name="value"` pairs (or a `Bearer` token, or a name
    /// given twice) → `authorization_invalid_headers`; a required pair missing or empty →
    /// `authorization_missing_params`; an algorithm other than hmac-sha256 → `hmac_required`.
    ///
    /// ```
    /// use lsconform::protocol::{AuthorizationHeader, ErrorCode};
    /// let h = AuthorizationHeader::parse(r#"apiKey="k", signature="c2ln", headers="date", algorithm="hmac-sha256""#).unwrap();
    /// assert_eq!(h.api_key, "k");
    /// let err = AuthorizationHeader::parse(r#"algorithm="hmac-sha1",headers="date",signature="s",apikey="k""#).unwrap_err();
    /// assert_eq!(err.code, ErrorCode::HmacRequired);
    /// ```
    pub fn parse(value: &str) -> Result<Self, Rejection> {
        let invalid = |detail: &str| Rejection::new(ErrorCode::AuthorizationInvalidHeaders, detail);
        let trimmed = value.trim_matches([' ', '\t']);
        if trimmed
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("bearer "))
        {
            return Err(invalid("bearer tokens (OAuth) are not supported"));
        }
        let pairs = parse_pairs(trimmed).map_err(|e| invalid(&e))?;
        let mut missing = Vec::new();
        let mut take = |name: &'static str| -> String {
            match pairs.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                Some((_, v)) if !v.is_empty() => (*v).to_owned(),
                _ => {
                    missing.push(name);
                    String::new()
                }
            }
        };
        let header = AuthorizationHeader {
            algorithm: take("algorithm"),
            headers: take("headers"),
            signature: take("signature"),
            api_key: take("apikey"),
        };
        if !missing.is_empty() {
            return Err(Rejection::new(
                ErrorCode::AuthorizationMissingParams,
                missing.join(", "),
            ));
        }
        if !header.algorithm.eq_ignore_ascii_case(ALGORITHM) {
            return Err(Rejection::new(
                ErrorCode::HmacRequired,
                format!("algorithm {:?}", header.algorithm),
            ));
        }
        if !header.headers.eq_ignore_ascii_case(SIGNED_HEADERS) {
            return Err(invalid("headers must be \"date\""));
        }
        Ok(header)
    }

    /// Verifies the header signature over `date` (the Date header as sent) in constant time.
    pub fn verify(&self, shared_key: &str, date: &str) -> Result<(), Rejection> {
        if verify_base64_mac(
            shared_key,
            header_signing_string(date).as_bytes(),
            &self.signature,
        ) {
            Ok(())
        } else {
            Err(Rejection::new(
                ErrorCode::SignatureMismatch,
                "authorization header",
            ))
        }
    }
}

impl std::fmt::Display for AuthorizationHeader {
    /// The form of the docs: `algorithm="…",headers="…",signature="…",apikey="…"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            r#"algorithm="{}",headers="{}",signature="{}",apikey="{}""#,
            self.algorithm, self.headers, self.signature, self.api_key
        )
    }
}

/// Splits `name="value", name="value"` into pairs; names must be unique (case-insensitively).
pub(crate) fn parse_pairs(text: &str) -> Result<Vec<(&str, &str)>, String> {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches([' ', '\t']);
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        if name_len == 0 {
            return Err("expected name=\"value\" pairs".into());
        }
        let name = &rest[..name_len];
        rest = rest[name_len..].trim_start_matches([' ', '\t']);
        rest = rest
            .strip_prefix('=')
            .ok_or_else(|| format!("expected = after {name}"))?
            .trim_start_matches([' ', '\t']);
        rest = rest
            .strip_prefix('"')
            .ok_or_else(|| format!("the value of {name} must be quoted"))?;
        let end = rest
            .find('"')
            .ok_or_else(|| format!("the value of {name} is not closed"))?;
        let value = &rest[..end];
        if pairs.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(format!("{name} is given twice"));
        }
        pairs.push((name, value));
        rest = rest[end + 1..].trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            return Ok(pairs);
        }
        rest = rest
            .strip_prefix(',')
            .ok_or_else(|| format!("expected , after the value of {name}"))?;
    }
}

/// Parses an HTTP date (SPEC §2): IMF-fixdate, RFC 850 and asctime forms, and `UTC` written in
/// place of `GMT`.
///
/// ```
/// use lsconform::protocol::parse_http_date;
/// let a = parse_http_date("Thu, 17 Nov 2022 20:51:35 GMT").unwrap();
/// assert_eq!(parse_http_date("Thursday, 17-Nov-22 20:51:35 GMT"), Some(a));
/// assert_eq!(parse_http_date("Thu Nov 17 20:51:35 2022"), Some(a));
/// assert_eq!(parse_http_date("Thu, 17 Nov 2022 20:51:35 UTC"), Some(a));
/// assert_eq!(parse_http_date("yesterday"), None);
/// ```
pub fn parse_http_date(value: &str) -> Option<SystemTime> {
    let value = value.trim_matches([' ', '\t']);
    match value.strip_suffix(" UTC") {
        Some(head) => httpdate::parse_http_date(&format!("{head} GMT")).ok(),
        None => httpdate::parse_http_date(value).ok(),
    }
}

/// Parses a `Date` in a form other than the three of HTTP that a server MAY accept (SPEC §10), as
/// real runtimes write them (`fixtures/dates/runtimes.json` holds what Node, dayjs, Python and Java
/// write, and `tests/date_forms.rs` reads every row of it back):
///
/// - JavaScript's `Date.prototype.toString()` (`Thu Nov 17 2022 20:51:35 GMT+0000`, optionally
///   followed by the zone's name in parentheses), and the Node SDK's dayjs form of it, the day not
///   padded (`Mon Dec 7 2026 22:25:28 GMT+0000`);
/// - RFC 1123 with the day not padded, as Java's `DateTimeFormatter.RFC_1123_DATE_TIME` writes it
///   (`Tue, 3 Jun 2008 11:05:30 GMT`): SPEC §10, the day's padding never makes a date "not a time";
/// - RFC 2822 with a numeric offset, the day padded or not, as Python's
///   `email.utils.format_datetime` and `formatdate` (`-0000`: UTC) and Java's RFC 1123 in another
///   zone write it (`Tue, 03 Jun 2008 13:05:30 +0200`);
/// - RFC 3339 (`2022-11-17T20:51:35Z`, `2022-11-17T22:51:35.000+02:00`).
///
/// A text [`parse_http_date`] reads is not another form: `None` (an IMF-fixdate is SPEC §2's).
///
/// ```
/// use lsconform::protocol::{parse_http_date, parse_other_date};
/// let a = parse_http_date("Thu, 17 Nov 2022 20:51:35 GMT").unwrap();
/// assert_eq!(parse_other_date("Thu Nov 17 2022 20:51:35 GMT+0000"), Some(a));
/// assert_eq!(parse_other_date("Thu Nov 17 2022 21:51:35 GMT+0100 (CET)"), Some(a));
/// assert_eq!(parse_other_date("2022-11-17T20:51:35Z"), Some(a));
/// assert_eq!(parse_other_date("Thu, 17 Nov 2022 20:51:35 GMT"), None);
/// // The day padded or not: JavaScript's toString() pads it, dayjs and Java do not.
/// let b = parse_http_date("Tue, 03 Jun 2008 11:05:30 GMT").unwrap();
/// assert_eq!(parse_other_date("Tue Jun 03 2008 11:05:30 GMT+0000 (Coordinated Universal Time)"), Some(b));
/// assert_eq!(parse_other_date("Tue Jun 3 2008 11:05:30 GMT+0000"), Some(b));
/// assert_eq!(parse_other_date("Tue, 3 Jun 2008 11:05:30 GMT"), Some(b));
/// // RFC 2822's numeric offsets, as Python and Java write them.
/// assert_eq!(parse_other_date("Tue, 03 Jun 2008 11:05:30 -0000"), Some(b));
/// assert_eq!(parse_other_date("Tue, 03 Jun 2008 13:05:30 +0200"), Some(b));
/// assert_eq!(parse_other_date("Tue, 3 Jun 2008 16:35:30 +0530"), Some(b));
/// assert_eq!(parse_other_date("Tue, 3 Jun 2008 11:05:30"), None);
/// ```
pub fn parse_other_date(value: &str) -> Option<SystemTime> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let value = value.trim_matches([' ', '\t']);
    if let Ok(t) = time::OffsetDateTime::parse(value, &Rfc3339) {
        return Some(t.into());
    }
    let head = value.split_once(" (").map_or(value, |(head, _)| head);
    let javascript = format_description!(
        "[weekday repr:short] [month repr:short] [day padding:none] [year] [hour]:[minute]:[second] GMT[offset_hour sign:mandatory][offset_minute]"
    );
    if let Ok(t) = time::OffsetDateTime::parse(head, &javascript) {
        return Some(t.into());
    }
    // SPEC §10: RFC 1123 with the day not padded (Java), and RFC 2822's numeric offsets (Python,
    // Java); `[day padding:none]` reads one digit or two.
    let rfc2822 = format_description!(
        "[weekday repr:short], [day padding:none] [month repr:short] [year] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
    );
    if let Ok(t) = time::OffsetDateTime::parse(value, &rfc2822) {
        return Some(t.into());
    }
    let gmt = format_description!(
        "[weekday repr:short], [day padding:none] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(value, &gmt)
        .ok()
        .filter(|_| parse_http_date(value).is_none())
        .map(|t| t.assume_utc().into())
}

/// Formats a time as IMF-fixdate, the form every client sends.
pub fn format_http_date(time: SystemTime) -> String {
    httpdate::fmt_http_date(time)
}

/// SPEC §2: the Date header must parse and be within [`MAX_DATE_SKEW`] of `now`, either way;
/// otherwise `date_header_diff`.
pub fn check_date(value: &str, now: SystemTime) -> Result<SystemTime, Rejection> {
    let date = parse_http_date(value)
        .ok_or_else(|| Rejection::new(ErrorCode::DateHeaderDiff, "not an HTTP date"))?;
    let skew = match date.duration_since(now) {
        Ok(ahead) => ahead,
        Err(behind) => behind.duration(),
    };
    if skew > MAX_DATE_SKEW {
        return Err(Rejection::new(
            ErrorCode::DateHeaderDiff,
            format!("{}s from the server clock", skew.as_secs()),
        ));
    }
    Ok(date)
}

/// The whole header check of SPEC §1a and §2, in its order: both headers present
/// (`missing_headers`), the Authorization header's form, the Date, the API key known, the
/// header signature. `shared_key_of` looks up an API key's shared key. Returns the API key.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use lsconform::protocol::{authenticate, AuthorizationHeader, ErrorCode, format_http_date};
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let date = format_http_date(now);
/// let auth = AuthorizationHeader::signed("k", "s", &date).to_string();
/// let keys = |k: &str| (k == "k").then(|| "s".to_owned());
/// assert_eq!(authenticate(Some(auth.as_bytes()), Some(date.as_bytes()), now, keys).unwrap(), "k");
/// let err = authenticate(None, Some(date.as_bytes()), now, keys).unwrap_err();
/// assert_eq!(err.code, ErrorCode::MissingHeaders);
/// ```
pub fn authenticate(
    authorization: Option<&[u8]>,
    date: Option<&[u8]>,
    now: SystemTime,
    shared_key_of: impl FnOnce(&str) -> Option<String>,
) -> Result<String, Rejection> {
    let (authorization, date) = match (authorization, date) {
        (Some(a), Some(d)) => (a, d),
        (a, d) => {
            let missing: Vec<&str> = [(a.is_none(), "Authorization"), (d.is_none(), "Date")]
                .into_iter()
                .filter_map(|(m, name)| m.then_some(name))
                .collect();
            return Err(Rejection::new(ErrorCode::MissingHeaders, missing.join(", ")));
        }
    };
    let authorization = std::str::from_utf8(authorization)
        .map_err(|_| Rejection::new(ErrorCode::AuthorizationInvalidHeaders, "the header is not text"))?;
    let header = AuthorizationHeader::parse(authorization)?;
    let date = std::str::from_utf8(date)
        .map_err(|_| Rejection::new(ErrorCode::DateHeaderDiff, "the header is not text"))?;
    check_date(date, now)?;
    let shared_key =
        shared_key_of(&header.api_key).ok_or_else(|| Rejection::from(ErrorCode::InvalidApiKey))?;
    header.verify(&shared_key, date)?;
    Ok(header.api_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"algorithm="hmac-sha256",headers="date",signature="c2ln",apikey="k""#;

    #[test]
    fn accepts_the_docs_form() {
        let h = AuthorizationHeader::parse(HEADER).unwrap();
        assert_eq!(h.signature, "c2ln");
        assert_eq!(h.api_key, "k");
    }

    #[test]
    fn accepts_api_key_in_camel_case_spaces_and_any_order() {
        let h = AuthorizationHeader::parse(
            r#" apiKey="k" ,  signature = "c2ln",headers="date",	algorithm="HMAC-SHA256" "#,
        )
        .unwrap();
        assert_eq!(h.api_key, "k");
    }

    #[test]
    fn ignores_unknown_pairs() {
        let h = AuthorizationHeader::parse(&format!(r#"{HEADER},keyId="x""#)).unwrap();
        assert_eq!(h.api_key, "k");
    }

    #[test]
    fn refuses_garbage_as_invalid_headers() {
        for bad in [
            "",
            "garbage",
            r#"algorithm=hmac-sha256,headers="date""#,
            r#"algorithm="hmac-sha256"headers="date""#,
            r#"algorithm="hmac-sha256",,headers="date""#,
            r#"algorithm="hmac-sha256",headers="date"#,
            r#"algorithm="hmac-sha256",algorithm="hmac-sha256",headers="date",signature="s",apikey="k""#,
            "Bearer abc.def",
            r#"Signature algorithm="hmac-sha256",headers="date",signature="s",apikey="k""#,
        ] {
            let err = AuthorizationHeader::parse(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::AuthorizationInvalidHeaders, "{bad}");
        }
    }

    #[test]
    fn refuses_a_missing_or_empty_pair_as_missing_params() {
        for bad in [
            r#"algorithm="hmac-sha256",headers="date",signature="s""#,
            r#"algorithm="hmac-sha256",headers="date",apikey="k""#,
            r#"headers="date",signature="s",apikey="k""#,
            r#"algorithm="hmac-sha256",signature="s",apikey="k""#,
            r#"algorithm="hmac-sha256",headers="date",signature="",apikey="k""#,
        ] {
            let err = AuthorizationHeader::parse(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::AuthorizationMissingParams, "{bad}");
        }
    }

    #[test]
    fn a_missing_pair_is_reported_before_a_wrong_algorithm() {
        let err = AuthorizationHeader::parse(r#"algorithm="md5",signature="s",apikey="k""#).unwrap_err();
        assert_eq!(err.code, ErrorCode::AuthorizationMissingParams);
    }

    #[test]
    fn refuses_another_signed_header_list() {
        let err = AuthorizationHeader::parse(
            r#"algorithm="hmac-sha256",headers="date host",signature="s",apikey="k""#,
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::AuthorizationInvalidHeaders);
    }

    #[test]
    fn date_skew_of_exactly_fifteen_minutes_is_accepted_either_way() {
        let now = parse_http_date("Thu, 17 Nov 2022 20:51:35 GMT").unwrap();
        assert!(check_date("Thu, 17 Nov 2022 20:36:35 GMT", now).is_ok());
        assert!(check_date("Thu, 17 Nov 2022 21:06:35 GMT", now).is_ok());
    }

    #[test]
    fn date_skew_past_fifteen_minutes_is_refused_either_way() {
        let now = parse_http_date("Thu, 17 Nov 2022 20:51:35 GMT").unwrap();
        for date in ["Thu, 17 Nov 2022 20:36:34 GMT", "Thu, 17 Nov 2022 21:06:36 GMT"] {
            assert_eq!(check_date(date, now).unwrap_err().code, ErrorCode::DateHeaderDiff);
        }
    }

    #[test]
    fn an_unparseable_date_is_date_header_diff() {
        let now = SystemTime::UNIX_EPOCH;
        assert_eq!(
            check_date("17/11/2022", now).unwrap_err().code,
            ErrorCode::DateHeaderDiff
        );
    }

    #[test]
    fn authenticate_checks_in_the_order_of_spec_2() {
        let now = parse_http_date("Thu, 17 Nov 2022 20:51:35 GMT").unwrap();
        let date = "Thu, 17 Nov 2022 20:51:35 GMT";
        let stale = "Thu, 17 Nov 2022 19:51:35 GMT";
        let keys = |k: &str| (k == "k").then(|| "s".to_owned());
        let run = |auth: &str, date: &str| {
            authenticate(Some(auth.as_bytes()), Some(date.as_bytes()), now, keys).map_err(|r| r.code)
        };
        let good = AuthorizationHeader::signed("k", "s", date).to_string();
        assert_eq!(run(&good, date), Ok("k".to_owned()));
        // A wrong algorithm is found before a stale date.
        assert_eq!(
            run(&good.replace("hmac-sha256", "hmac-sha1"), stale),
            Err(ErrorCode::HmacRequired)
        );
        // A stale date is found before an unknown key.
        let unknown = AuthorizationHeader::signed("other", "s", stale).to_string();
        assert_eq!(run(&unknown, stale), Err(ErrorCode::DateHeaderDiff));
        // An unknown key is found before a bad signature.
        let unknown = AuthorizationHeader::signed("other", "wrong", date).to_string();
        assert_eq!(run(&unknown, date), Err(ErrorCode::InvalidApiKey));
        let wrong = AuthorizationHeader::signed("k", "wrong", date).to_string();
        assert_eq!(run(&wrong, date), Err(ErrorCode::SignatureMismatch));
        // The MAC covers the Date header as sent, so another spelling of the same instant fails.
        assert_eq!(
            run(&good, "Thursday, 17-Nov-22 20:51:35 GMT"),
            Err(ErrorCode::SignatureMismatch)
        );
    }

    #[test]
    fn missing_headers_names_what_is_missing() {
        let err = authenticate(None, None, SystemTime::UNIX_EPOCH, |_| None).unwrap_err();
        assert_eq!(err.code, ErrorCode::MissingHeaders);
        assert_eq!(err.detail, "Authorization, Date");
    }
}
