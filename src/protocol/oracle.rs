//! What SPEC allows a server to answer (SPEC §10 and §1a): for one request, the *set* of
//! conforming answers, the member of it the reference server answers (its pinned choice), and the
//! rules of SPEC the request breaks.
//!
//! The reference server gives one answer to every request; SPEC often allows several. The suite
//! judges every answer through [`allowed`]:
//!
//! - the pinned answer passes;
//! - another answer of the set is a **warning** (SPEC allows it; it differs from a [pinned] choice
//!   or a SHOULD rule);
//! - an answer outside the set fails at the severity of the rules it breaks: accepting a request
//!   breaks every rule that requires its refusal ([`Broken::refuse`]); refusing it with a code no
//!   broken rule names breaks, at the least, the most lenient of their codes ([`Rule::severity`]).
//!
//! A request that breaks several rules may be refused for any one of them (SPEC §10), except that
//! the two required headers come before everything about the body but its size cap [seed].

use std::time::SystemTime;

use super::auth::{
    authenticate, check_date, parse_http_date, parse_other_date, parse_pairs, AuthorizationHeader, ALGORITHM,
    SIGNED_HEADERS,
};
use super::catalogue::{rules, Rule, Severity};
use super::error::{ErrorCode, Rejection};
use super::payload::{without_lone_surrogates, Schema, MAX_DEPTH};
use super::request::{DecodedRequest, OddTypes, RequestKind};
use super::signature::{verify_outer_signature, MacEncoding};
use super::transport::{decode_request_file, is_multipart, request_file_text};

/// One answer a server may give to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    /// Accepted up to SPEC §5: a 200, or a refusal of the endpoint's business rules
    /// ([`ErrorCode::business`]), which depend on the server's licenses.
    Accepted,
    /// Refused with this code of the error table (any of its statuses and aliases; the first of
    /// each is the reference's).
    Refused(ErrorCode),
    /// 401 with any code (SPEC §10: a server with OAuth refuses a token it did not issue).
    Unauthorized,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Accepted => f.write_str("accepted up to SPEC §5"),
            Answer::Refused(code) => {
                let statuses: Vec<String> = code.accepted_statuses().iter().map(u16::to_string).collect();
                write!(f, "{} {}", statuses.join("|"), code.accepted_codes().join("|"))
            }
            Answer::Unauthorized => f.write_str("401 (any code)"),
        }
    }
}

/// A rule a request breaks, and what the reference answers for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The rule.
    pub rule: Rule,
    /// The refusal for it.
    pub code: ErrorCode,
    /// What exactly is wrong.
    pub detail: String,
    /// The rule that accepting the request breaks, with its severity (often `rule` itself; for a
    /// missing signature, the signature rule); `None` where SPEC allows a server to accept it
    /// (SPEC §10: the reference refuses, another server may not).
    pub refuse: Option<Rule>,
}

/// How an answer fits what SPEC allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// The reference's own answer.
    Pinned,
    /// Another answer SPEC allows: a warning.
    Allowed,
    /// Outside every answer SPEC allows.
    Outside,
}

/// The answers SPEC allows to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// The endpoint.
    pub kind: RequestKind,
    /// The reference server's answer.
    pub pinned: Answer,
    /// The other conforming answers.
    pub also: Vec<Answer>,
    /// The rules the request breaks, in the order of SPEC §1a (the first decides the pinned answer).
    pub broken: Vec<Broken>,
    /// The \[pinned] rules a request the reference accepts leans on (an optional member written
    /// as `null`, `""` or another type, SPEC §10; a payload date older than the Date window, SPEC
    /// §4): a refusal that no broken rule explains departs from them, a warning.
    pub leans_on: Vec<Rule>,
}

/// The business refusals whose status is this project's choice (SPEC §5 [pinned]): another 4xx
/// with the same code is allowed, a warning.
const PINNED_STATUS: &[ErrorCode] = &[ErrorCode::DeviceNotFound];

/// Whether an answer is a refusal of SPEC §5's business rules for the endpoint: `Some(Pinned)` with
/// the table's status, `Some(Allowed)` with another 4xx where the status is [pinned].
fn business_fit(kind: RequestKind, status: u16, code: Option<&str>) -> Option<Fit> {
    ErrorCode::business(kind).iter().find_map(|b| {
        if !code.is_some_and(|c| b.accepted_codes().contains(&c)) {
            None
        } else if b.accepted_statuses().contains(&status) {
            Some(Fit::Pinned)
        } else {
            (PINNED_STATUS.contains(b) && (400..500).contains(&status)).then_some(Fit::Allowed)
        }
    })
}

impl Allowed {
    fn new(kind: RequestKind) -> Allowed {
        Allowed {
            kind,
            pinned: Answer::Accepted,
            also: Vec::new(),
            broken: Vec::new(),
            leans_on: Vec::new(),
        }
    }

    fn allow(&mut self, answer: Answer) {
        if !self.also.contains(&answer) {
            self.also.push(answer);
        }
    }

    fn breaks(&mut self, rule: Rule, rejection: Rejection, refuse: Option<Rule>) {
        self.broken.push(Broken {
            rule,
            code: rejection.code,
            detail: rejection.detail,
            refuse,
        });
    }

    /// Settles the pinned answer and the other refusals from the broken rules.
    fn settle(mut self) -> Allowed {
        let codes: Vec<ErrorCode> = self.broken.iter().map(|b| b.code).collect();
        if let Some(first) = codes.first() {
            self.pinned = Answer::Refused(*first);
            for code in &codes[1..] {
                self.allow(Answer::Refused(*code));
            }
            if self.broken.iter().all(|b| b.refuse.is_none()) {
                self.allow(Answer::Accepted);
            }
        }
        let pinned = self.pinned;
        self.also.retain(|a| *a != pinned);
        self
    }

    /// Whether an answer (status and the error body's `code`) is accepted up to SPEC §5.
    pub fn is_acceptance(&self, status: u16, code: Option<&str>) -> bool {
        status == 200 || business_fit(self.kind, status, code).is_some()
    }

    fn matches(&self, answer: Answer, status: u16, code: Option<&str>) -> Option<Fit> {
        match answer {
            Answer::Accepted if status == 200 => Some(Fit::Pinned),
            Answer::Accepted => business_fit(self.kind, status, code),
            Answer::Refused(c) => {
                let exact = status == c.status() && code == Some(c.code());
                let alias = c.accepted_statuses().contains(&status)
                    && code.is_some_and(|code| c.accepted_codes().contains(&code));
                if exact {
                    Some(Fit::Pinned)
                } else {
                    alias.then_some(Fit::Allowed)
                }
            }
            Answer::Unauthorized => (status == 401).then_some(Fit::Pinned),
        }
    }

    /// How an answer fits: the pinned one, another SPEC allows (an alias status or code of the
    /// pinned refusal counts as another), or outside.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use lsconform::protocol::{allowed, Fit, OracleRequest, RequestBuilder, RequestKind, ServerKnows};
    /// // A file signed with another shared key than the server's.
    /// let file = RequestBuilder::activation().license_key("K").hardware_id("hw").product("TP")
    ///     .date("d").sign("api", "another key");
    /// let keys = |k: &str| (k == "api").then(|| "shared".to_owned());
    /// let request = OracleRequest { kind: RequestKind::Activation, headers: None, now: SystemTime::now(),
    ///     content_type: None, body: Some(file.text.as_bytes()) };
    /// let set = allowed(&request, &ServerKnows { max_body: 64 * 1024, shared_key_of: &keys });
    /// assert_eq!(set.fit(401, Some("signature_mismatch")), Fit::Pinned);
    /// assert_eq!(set.fit(400, Some("signature_mismatch")), Fit::Allowed);
    /// assert_eq!(set.fit(200, None), Fit::Outside);
    /// ```
    pub fn fit(&self, status: u16, code: Option<&str>) -> Fit {
        if let Some(fit) = self.matches(self.pinned, status, code) {
            return fit;
        }
        if self.also.iter().any(|a| self.matches(*a, status, code).is_some()) {
            return Fit::Allowed;
        }
        Fit::Outside
    }

    /// The rule an answer outside the set departs from: accepting the request breaks every rule
    /// that requires its refusal (the first of the worst counts); refusing it with a code no broken
    /// rule names breaks, at the least, the most lenient of their codes (the first of those).
    /// `None` when the request breaks no rule (an acceptable request refused: the rule at stake is
    /// the caller's, e.g. "what the SDKs send is accepted"). A 5xx is never allowed (SPEC §10).
    pub fn rule_at_stake(&self, status: u16, code: Option<&str>) -> Option<Rule> {
        if status >= 500 {
            return Some(rules::ANY_NO_SERVER_ERROR);
        }
        // SPEC §10 [seed]: route and method come first; a wrong method answered with another
        // status than 404 or 405 was judged by a later check.
        let method_first = self.first().is_some_and(|b| b.rule == rules::ROUTE_METHOD);
        if method_first && !matches!(status, 404 | 405) {
            return Some(rules::ORDER_ROUTE_FIRST);
        }
        let first_of = |rules: Vec<Rule>, worst: bool| {
            let severity = rules.iter().map(Rule::severity);
            let pick = if worst { severity.max() } else { severity.min() }?;
            rules.into_iter().find(|r| r.severity() == pick)
        };
        if self.is_acceptance(status, code) {
            first_of(self.broken.iter().filter_map(|b| b.refuse).collect(), true)
        } else {
            let rules = self.broken.iter().map(|b| b.rule);
            first_of(rules.chain(self.leans_on.iter().copied()).collect(), false)
        }
    }

    /// The severity of an answer outside the set: that of [`rule_at_stake`](Self::rule_at_stake).
    pub fn outside_severity(&self, status: u16, code: Option<&str>) -> Option<Severity> {
        self.rule_at_stake(status, code).map(|r| r.severity())
    }

    /// The first broken rule (what decides the pinned answer), if any.
    pub fn first(&self) -> Option<&Broken> {
        self.broken.first()
    }

    /// Every answer of the set, the pinned one first, for people: `401|400 signature_mismatch or
    /// accepted up to SPEC §5`.
    pub fn describe(&self) -> String {
        std::iter::once(self.pinned)
            .chain(self.also.iter().copied())
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// The `Authorization` and `Date` headers as sent (`None`: that header is missing).
pub type SentHeaders<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// One request as the oracle reads it.
#[derive(Debug, Clone, Copy)]
pub struct OracleRequest<'a> {
    /// The endpoint.
    pub kind: RequestKind,
    /// The `Authorization` and `Date` headers as sent, or `None` to judge the body alone (as if
    /// they were signed correctly).
    pub headers: Option<SentHeaders<'a>>,
    /// When it was sent (the server's clock).
    pub now: SystemTime,
    /// The Content-Type.
    pub content_type: Option<&'a str>,
    /// The body (`None`: no body).
    pub body: Option<&'a [u8]>,
}

/// What a server knows: its body cap and its API keys.
pub struct ServerKnows<'k> {
    /// The body cap it declares (SPEC §3: a body within it MUST be read).
    pub max_body: usize,
    /// The shared key of an API key it knows.
    pub shared_key_of: &'k dyn Fn(&str) -> Option<String>,
}

/// The answers SPEC allows to `request` on a server that knows `server`'s keys (SPEC §10, §1a).
///
/// ```
/// use std::time::SystemTime;
/// use lsconform::protocol::{allowed, Answer, ErrorCode, Fit, OracleRequest, RequestBuilder, RequestKind, ServerKnows, Style};
/// let file = RequestBuilder::activation().style(Style::Python).license_key("K").hardware_id("hw")
///     .product("TP").date("d").request_id("r").sign("api", "shared");
/// let keys = |k: &str| (k == "api").then(|| "shared".to_owned());
/// let server = ServerKnows { max_body: 64 * 1024, shared_key_of: &keys };
/// let request = OracleRequest { kind: RequestKind::Activation, headers: None, now: SystemTime::now(),
///     content_type: Some("text/plain"), body: Some(file.text.as_bytes()) };
/// assert_eq!(allowed(&request, &server).pinned, Answer::Accepted);
/// // The same file on deactivate_offline: the request member names the other endpoint.
/// let other = OracleRequest { kind: RequestKind::Deactivation, ..request };
/// let refused = allowed(&other, &server);
/// assert_eq!(refused.pinned, Answer::Refused(ErrorCode::ValidationError));
/// assert_eq!(refused.fit(200, None), Fit::Outside);
/// ```
pub fn allowed(request: &OracleRequest<'_>, server: &ServerKnows<'_>) -> Allowed {
    let mut a = Allowed::new(request.kind);
    let body = request.body.unwrap_or_default();
    // SPEC §3: the cap comes before everything but route and method.
    if body.len() > server.max_body {
        a.breaks(
            rules::BODY_CAP,
            Rejection::new(ErrorCode::PayloadTooLarge, "over the declared cap"),
            Some(rules::BODY_CAP),
        );
    }
    if let Some((authorization, date)) = request.headers {
        if authorization.is_none() || date.is_none() {
            // SPEC §10 [seed]: the two headers come before everything about the body.
            let r = authenticate(authorization, date, request.now, |_| None)
                .err()
                .unwrap_or_else(|| ErrorCode::MissingHeaders.into());
            a.breaks(rules::HEADERS_REQUIRED, r, Some(rules::HEADERS_REQUIRED));
            return a.settle();
        }
        headers(&mut a, authorization, date, request.now, server);
    }
    // The header's API key, whose shared key may verify the outer MAC where the payload names none.
    let header_key = request
        .headers
        .and_then(|(authorization, _)| std::str::from_utf8(authorization?).ok())
        .and_then(|text| super::auth::AuthorizationHeader::parse(text).ok())
        .and_then(|header| (server.shared_key_of)(&header.api_key));
    body_rules(&mut a, request, body, server, header_key.as_deref());
    a.settle()
}

/// The answers SPEC allows to a request with another method than POST on an endpoint (SPEC §1,
/// §10): 405 `method_not_allowed` \[pinned] or 404 `not_found`, before every other check.
///
/// ```
/// use lsconform::protocol::{wrong_method, Fit, RequestKind, Severity};
/// let set = wrong_method(RequestKind::Activation);
/// assert_eq!(set.fit(405, Some("method_not_allowed")), Fit::Pinned);
/// assert_eq!(set.fit(404, Some("not_found")), Fit::Allowed);
/// // Answered by a later check (the headers): route and method come first [seed].
/// assert_eq!(set.fit(400, Some("missing_headers")), Fit::Outside);
/// assert_eq!(set.rule_at_stake(400, Some("missing_headers")).unwrap().id, "order.route-first");
/// assert_eq!(set.outside_severity(400, Some("missing_headers")), Some(Severity::Must));
/// ```
pub fn wrong_method(kind: RequestKind) -> Allowed {
    let mut a = Allowed::new(kind);
    let r = Rejection::new(ErrorCode::MethodNotAllowed, "not POST");
    a.breaks(rules::ROUTE_METHOD, r, Some(rules::ORDER_ROUTE_FIRST));
    a.allow(Answer::Refused(ErrorCode::NotFound));
    a.settle()
}

/// SPEC §2, through `protocol::authenticate`, with what SPEC §10 allows besides.
fn headers(
    a: &mut Allowed,
    authorization: Option<&[u8]>,
    date: Option<&[u8]>,
    now: SystemTime,
    server: &ServerKnows<'_>,
) {
    let date_text = date.and_then(|d| std::str::from_utf8(d).ok());
    // SPEC §2: RFC 850, asctime and UTC SHOULD be accepted (IMF-fixdate MUST): a server that
    // refuses them answers date_header_diff, whatever else is wrong after the Date.
    if date_text.is_some_and(|d| parse_http_date(d).is_some() && !is_imf_fixdate(d)) {
        a.allow(Answer::Refused(ErrorCode::DateHeaderDiff));
    }
    let Err(r) = authenticate(authorization, date, now, server.shared_key_of) else {
        return;
    };
    let bearer = authorization
        .and_then(|v| v.get(..7))
        .is_some_and(|s| s.eq_ignore_ascii_case(b"bearer "));
    match r.code {
        ErrorCode::AuthorizationInvalidHeaders if bearer => {
            a.allow(Answer::Unauthorized);
            a.breaks(rules::AUTH_BEARER, r, Some(rules::AUTH_BEARER));
        }
        ErrorCode::DateHeaderDiff => match date_rule(date_text.unwrap_or_default(), now) {
            // SPEC §10: another form, parsed right and within the window, MAY be accepted; the
            // rest of the Authorization header is then judged as usual (below).
            None => a.breaks(rules::DATE_OTHER_FORMS, r, None),
            Some(rule) => a.breaks(rule, r, Some(rule)),
        },
        code => {
            let rule = authorization_rule(code);
            a.breaks(rule, r, Some(rule));
        }
    }
    // SPEC §10: §2's order is [pinned]: a header with several defects may be refused for any of
    // them (the first, above, is the reference's).
    for (rule, defect) in header_defects(authorization, date_text, now, server) {
        if !a.broken.iter().any(|b| b.code == defect.code) {
            a.breaks(rule, defect, Some(rule));
        }
    }
}

/// The rule a `Date` header refused with `date_header_diff` breaks (SPEC §2), or `None` for a
/// form other than HTTP's that names a time within the window, which a server MAY accept (§10).
fn date_rule(date: &str, now: SystemTime) -> Option<Rule> {
    match (parse_http_date(date), parse_other_date(date)) {
        (Some(t), _) if t > now => Some(rules::DATE_FUTURE_REFUSED),
        (Some(_), _) => Some(rules::DATE_PAST_WINDOW),
        (None, Some(t)) if check_date(&super::auth::format_http_date(t), now).is_ok() => None,
        (None, _) => Some(rules::DATE_UNPARSEABLE),
    }
}

/// Every defect of SPEC §2 that a header of `name="value"` pairs has, each judged on its own (an
/// algorithm other than hmac-sha256, a Date refused, an unknown API key, a header HMAC that does
/// not verify), whatever comes first in §2's order. A Date a server MAY accept is not one.
fn header_defects(
    authorization: Option<&[u8]>,
    date: Option<&str>,
    now: SystemTime,
    server: &ServerKnows<'_>,
) -> Vec<(Rule, Rejection)> {
    let Some(text) = authorization.and_then(|a| std::str::from_utf8(a).ok()) else {
        return Vec::new();
    };
    let Ok(pairs) = parse_pairs(text.trim_matches([' ', '\t'])) else {
        return Vec::new();
    };
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
            .filter(|v| !v.is_empty())
    };
    let mut defects = Vec::new();
    if let Some(algorithm) = value("algorithm").filter(|v| !v.eq_ignore_ascii_case(ALGORITHM)) {
        let r = Rejection::new(ErrorCode::HmacRequired, format!("algorithm {algorithm:?}"));
        defects.push((rules::AUTH_ALGORITHM, r));
    }
    if let Some(date) = date {
        if let (Err(r), Some(rule)) = (check_date(date, now), date_rule(date, now)) {
            defects.push((rule, r));
        }
    }
    match value("apikey").map(|key| (server.shared_key_of)(key)) {
        Some(None) => defects.push((rules::AUTH_UNKNOWN_API_KEY, ErrorCode::InvalidApiKey.into())),
        Some(Some(shared_key)) => {
            if let (Some(signature), Some(date)) = (value("signature"), date) {
                let header = AuthorizationHeader {
                    algorithm: ALGORITHM.to_owned(),
                    headers: SIGNED_HEADERS.to_owned(),
                    signature: signature.to_owned(),
                    api_key: String::new(),
                };
                if let Err(r) = header.verify(&shared_key, date) {
                    defects.push((rules::AUTH_HEADER_HMAC, r));
                }
            }
        }
        None => {}
    }
    defects
}

/// The rule of SPEC §2 an Authorization header's refusal stands for.
fn authorization_rule(code: ErrorCode) -> Rule {
    match code {
        ErrorCode::AuthorizationMissingParams => rules::AUTH_MISSING_PAIR,
        ErrorCode::HmacRequired => rules::AUTH_ALGORITHM,
        ErrorCode::InvalidApiKey => rules::AUTH_UNKNOWN_API_KEY,
        ErrorCode::SignatureMismatch => rules::AUTH_HEADER_HMAC,
        ErrorCode::DateHeaderDiff => rules::DATE_UNPARSEABLE,
        _ => rules::AUTH_UNPARSEABLE,
    }
}

fn is_imf_fixdate(date: &str) -> bool {
    let date = date.trim_matches([' ', '\t']);
    parse_http_date(date).is_some_and(|t| super::auth::format_http_date(t) == date)
}

/// SPEC §3 and §4: the body, its transport, Base64, JSON, members and signatures.
fn body_rules(
    a: &mut Allowed,
    request: &OracleRequest<'_>,
    body: &[u8],
    server: &ServerKnows<'_>,
    header_key: Option<&str>,
) {
    let (transport, text) = match request_file_text(request.content_type, body) {
        Ok(found) => found,
        Err(r) => {
            let multipart = request.content_type.is_some_and(|ct| is_multipart(Some(ct)));
            let rule = match r.code {
                ErrorCode::MissingParameters if multipart && !body.is_empty() => {
                    rules::BODY_MULTIPART_NO_FILE
                }
                ErrorCode::MissingParameters => rules::BODY_MISSING,
                _ if r.detail.contains("twice") => rules::BODY_MULTIPART_TWO_FILES,
                _ => rules::BODY_MULTIPART_EMPTY_FILE,
            };
            return a.breaks(rule, r, Some(rule));
        }
    };
    let json = match decode_request_file(&text) {
        Ok(json) => json,
        Err(r) => return a.breaks(rules::BASE64_STRICT, r, Some(rules::BASE64_STRICT)),
    };
    let decoded = match DecodedRequest::from_json(transport, json.clone()) {
        Ok(decoded) => decoded,
        Err(r) => {
            // What a lenient parser would read instead: the rest is judged on it, and what it
            // refuses is allowed too (SPEC §10: a request breaking several rules).
            if nesting_depth(&json) > MAX_DEPTH {
                return a.breaks(rules::JSON_DEPTH, r, Some(rules::JSON_DEPTH));
            }
            if let Ok(lenient) = DecodedRequest::from_json_last_key_wins(transport, json.clone()) {
                a.breaks(rules::JSON_DUPLICATE_KEY, r, Some(rules::JSON_DUPLICATE_KEY));
                return members(a, request.kind, request.now, &lenient, server, header_key);
            }
            match without_lone_surrogates(&json).map(|text| DecodedRequest::from_json(transport, text)) {
                Some(Ok(mut lenient)) => {
                    a.breaks(rules::JSON_SURROGATE, r, Some(rules::JSON_SURROGATE));
                    // The MAC covers the bytes as sent; the replacement kept every offset.
                    lenient.json = json;
                    return members(a, request.kind, request.now, &lenient, server, header_key);
                }
                _ => {
                    // SPEC §3: a byte-order mark inside the decoded JSON is not JSON.
                    let rule = match json.starts_with("\u{feff}".as_bytes()) {
                        true => rules::JSON_BYTE_ORDER_MARK,
                        false => rules::JSON_OBJECT,
                    };
                    return a.breaks(rule, r, Some(rule));
                }
            }
        }
    };
    members(a, request.kind, request.now, &decoded, server, header_key);
}

/// SPEC §4 and §10: the members, the request kind, the API key and the signatures.
fn members(
    a: &mut Allowed,
    kind: RequestKind,
    now: SystemTime,
    decoded: &DecodedRequest,
    server: &ServerKnows<'_>,
    header_key: Option<&str>,
) {
    // SPEC §10: an optional member null, empty or of another type may be taken as absent, or the
    // request refused; a signature of another type may also be a mismatch.
    for m in decoded.odd_optional_members() {
        if m.name == "signature" {
            a.allow(Answer::Refused(ErrorCode::SignatureMismatch));
        }
        a.allow(Answer::Refused(ErrorCode::AuthorizationMissingParams));
    }
    if let Some(r) = decoded.odd_refusal() {
        a.breaks(rules::PAYLOAD_ODD_OPTIONAL, r, None);
    }
    if decoded.odd_optional_members().next().is_some() {
        a.leans_on.push(rules::PAYLOAD_ODD_OPTIONAL);
    }
    // SPEC §4 [pinned]: a payload is not refused because its date is old (files cross air gaps).
    // Only for an HTTP date: one in another form may be refused for its form [sdk], a MUST rule.
    let payload_date = decoded.payload.date.as_deref();
    if payload_date
        .and_then(parse_http_date)
        .is_some_and(|t| t + super::auth::MAX_DATE_SKEW < now)
    {
        a.leans_on.push(rules::PAYLOAD_DATE_AGE);
    }
    let missing = decoded.missing_members();
    // SPEC §10: a required member present as null, "" or not a string may also be refused with
    // validation_error, and a signature so written with signature_mismatch (never accepted).
    for m in decoded.blank_required_members() {
        if m == "signature" {
            a.allow(Answer::Refused(ErrorCode::SignatureMismatch));
        }
        a.allow(Answer::Refused(ErrorCode::ValidationError));
    }
    if !missing.is_empty() {
        let seed = missing
            .iter()
            .any(|m| matches!(*m, "license_key" | "hardware_id" | "api_key"));
        let signature = match decoded.schema {
            Schema::V1 => rules::SIGNATURE_INNER,
            Schema::V2 => rules::SIGNATURE_OUTER,
        };
        let (rule, refuse) = match seed {
            true => (rules::PAYLOAD_REQUIRED, rules::PAYLOAD_REQUIRED),
            // A missing signature must be refused whatever the code (SPEC §4, §10: safety).
            false if missing.contains(&"signature") => (rules::PAYLOAD_REQUIRED_PINNED, signature),
            false => (rules::PAYLOAD_REQUIRED_PINNED, rules::PAYLOAD_REQUIRED_PINNED),
        };
        let r = Rejection::new(ErrorCode::AuthorizationMissingParams, missing.join(", "));
        a.breaks(rule, r, Some(refuse));
    }
    if let Err(r) = decoded.check_kind(kind) {
        a.breaks(rules::PAYLOAD_REQUEST_KIND, r, Some(rules::PAYLOAD_REQUEST_KIND));
    }
    if !missing.is_empty() {
        // Schema 2: the outer MAC covers the raw bytes, so a server may judge it without the
        // members, with the shared key of the payload's api_key or else of the header's: a
        // mismatch is then another broken rule (SPEC §10: refused for any of them).
        let payload_key = decoded.payload.api_key.as_deref().and_then(server.shared_key_of);
        if let (Some(bytes), Some(mac), Some(key)) = (
            decoded.request_bytes(),
            decoded.outer_signature.as_deref(),
            payload_key.as_deref().or(header_key),
        ) {
            if !verify_outer_signature(key, bytes, mac) {
                let r = Rejection::new(ErrorCode::SignatureMismatch, "outer signature");
                a.breaks(rules::SIGNATURE_OUTER, r, Some(rules::SIGNATURE_OUTER));
            }
        }
        return;
    }
    // The kind is judged above; the signatures are judged whatever it says.
    let Ok(checked) = decoded.check_members(OddTypes::AsAbsent) else {
        return;
    };
    let Some(shared_key) = (server.shared_key_of)(checked.identity.value()) else {
        let r = Rejection::new(ErrorCode::InvalidApiKey, "the payload's api_key");
        // Unknown keys cannot verify a signature: accepting is never allowed.
        return a.breaks(rules::PAYLOAD_UNKNOWN_API_KEY, r, Some(rules::SIGNATURE_INNER));
    };
    if let Err(r) = checked.verify_inner(&shared_key) {
        a.breaks(rules::SIGNATURE_INNER, r, Some(rules::SIGNATURE_INNER));
    }
    if let Err(r) = checked.verify_outer(&shared_key) {
        // SPEC §10: the right MAC in uppercase hex may be accepted.
        let uppercase_right = decoded.outer_signature.as_deref().is_some_and(|mac| {
            mac.len() == 64
                && mac.bytes().any(|b| b.is_ascii_uppercase())
                && MacEncoding::decode(&mac.to_ascii_lowercase()).is_some()
                && decoded.request_bytes().is_some_and(|bytes| {
                    verify_outer_signature(&shared_key, bytes, &mac.to_ascii_lowercase())
                })
        });
        if uppercase_right {
            a.breaks(rules::SIGNATURE_UPPERCASE_MAC, r, None);
        } else {
            a.breaks(rules::SIGNATURE_OUTER, r, Some(rules::SIGNATURE_OUTER));
        }
    }
}

/// The deepest nesting of arrays and objects in a JSON text (strings skipped; the top-level
/// object is depth 1), whether or not the text is valid JSON.
fn nesting_depth(json: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in json {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, ..) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'{' | b'[') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b'}' | b']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;

    use super::*;
    use crate::protocol::{
        encode_request_file, format_http_date, AuthorizationHeader, RequestBuilder, Style,
    };

    const API: &str = "api";
    const SHARED: &str = "shared";

    fn keys(k: &str) -> Option<String> {
        (k == API).then(|| SHARED.to_owned())
    }

    fn file() -> RequestBuilder {
        RequestBuilder::activation()
            .style(Style::Python)
            .license_key("K")
            .hardware_id("hw")
            .product("TP")
            .date("d")
            .request_id("r")
    }

    /// The set for a body sent with a Date of `date` (text) at `now`, signed with the right key.
    fn judged_at(body: &[u8], date: &str, now: SystemTime) -> Allowed {
        let authorization = AuthorizationHeader::signed(API, SHARED, date).to_string();
        let request = OracleRequest {
            kind: RequestKind::Activation,
            headers: Some((Some(authorization.as_bytes()), Some(date.as_bytes()))),
            now,
            content_type: Some("text/plain"),
            body: Some(body),
        };
        allowed(
            &request,
            &ServerKnows {
                max_body: 64 * 1024,
                shared_key_of: &keys,
            },
        )
    }

    /// A fixed clock: no test here depends on the day it runs (the date tests below take their
    /// own instants).
    fn clock() -> SystemTime {
        crate::protocol::parse_http_date("Mon, 07 Dec 2026 22:25:28 GMT").expect("an IMF-fixdate")
    }

    fn judged(body: &[u8]) -> Allowed {
        let now = clock();
        judged_at(body, &format_http_date(now), now)
    }

    fn refusal(code: ErrorCode) -> (u16, Option<&'static str>) {
        (code.status(), Some(code.code()))
    }

    #[test]
    fn a_valid_request_is_accepted_and_nothing_else() {
        let a = judged(file().sign(API, SHARED).text.as_bytes());
        assert_eq!(a.pinned, Answer::Accepted);
        assert!(a.also.is_empty() && a.broken.is_empty());
        assert_eq!(a.fit(200, None), Fit::Pinned);
        assert_eq!(a.fit(400, Some("license_expired")), Fit::Pinned);
        let (status, code) = refusal(ErrorCode::AuthorizationMissingParams);
        assert_eq!(a.fit(status, code), Fit::Outside);
        assert_eq!(
            a.outside_severity(status, code),
            None,
            "the caller's acceptance rule decides"
        );
        assert_eq!(a.outside_severity(500, None), Some(Severity::Must));
    }

    #[test]
    fn a_request_breaking_a_member_and_the_outer_mac_may_be_refused_for_either() {
        // The schema-2 request member's api_key renamed after signing: a required member is
        // missing, and the outer MAC no longer covers the bytes.
        let signed = file().sign(API, SHARED);
        let json = String::from_utf8(signed.json)
            .unwrap()
            .replacen("\"api_key\"", "\"api_kez\"", 1);
        let a = judged(encode_request_file(json.as_bytes()).as_bytes());
        assert_eq!(a.pinned, Answer::Refused(ErrorCode::AuthorizationMissingParams));
        let (status, code) = refusal(ErrorCode::SignatureMismatch);
        assert_eq!(a.fit(status, code), Fit::Allowed);
        assert_eq!(a.fit(200, None), Fit::Outside);
        assert_eq!(a.outside_severity(200, None), Some(Severity::Must));
    }

    #[test]
    fn a_null_request_member_is_a_validation_error_only() {
        let a = judged(
            file()
                .set("request", Value::Null)
                .sign(API, SHARED)
                .text
                .as_bytes(),
        );
        assert_eq!(a.pinned, Answer::Refused(ErrorCode::ValidationError));
        assert!(a.also.is_empty());
        assert_eq!(a.outside_severity(200, None), Some(Severity::Must));
    }

    #[test]
    fn a_file_without_a_request_member_is_of_the_endpoint_it_is_posted_to() {
        // SPEC §4 [sdk]: the Node SDK's air-gapped deactivation file (no request, no request_id).
        let on = |kind: RequestKind, f: RequestBuilder| {
            let now = SystemTime::now();
            let date = format_http_date(now);
            let authorization = AuthorizationHeader::signed(API, SHARED, &date).to_string();
            let text = f.sign(API, SHARED).text;
            let keys = |k: &str| (k == API).then(|| SHARED.to_owned());
            let request = OracleRequest {
                kind,
                headers: Some((Some(authorization.as_bytes()), Some(date.as_bytes()))),
                now,
                content_type: Some("text/plain"),
                body: Some(text.as_bytes()),
            };
            allowed(
                &request,
                &ServerKnows {
                    max_body: 64 * 1024,
                    shared_key_of: &keys,
                },
            )
        };
        let air_gapped = || {
            RequestBuilder::new(RequestKind::Deactivation)
                .style(Style::JavaScript)
                .license_key("K")
                .hardware_id("hw")
                .product("TP")
                .date("d")
                .remove("request")
        };
        for kind in [RequestKind::Activation, RequestKind::Deactivation] {
            let a = on(kind, air_gapped());
            assert_eq!(a.pinned, Answer::Accepted, "{kind:?}");
            assert!(a.broken.is_empty(), "{kind:?}: {:?}", a.broken);
            let (status, code) = refusal(ErrorCode::ValidationError);
            assert_eq!(a.fit(status, code), Fit::Outside, "{kind:?}");
        }
        // A request member naming the other kind is still refused, on either endpoint.
        let activation_file = on(RequestKind::Deactivation, file());
        assert_eq!(
            activation_file.pinned,
            Answer::Refused(ErrorCode::ValidationError)
        );
        assert_eq!(activation_file.outside_severity(200, None), Some(Severity::Must));
        let deactivation_file = on(
            RequestKind::Activation,
            air_gapped().set("request", "deactivation"),
        );
        assert_eq!(
            deactivation_file.pinned,
            Answer::Refused(ErrorCode::ValidationError)
        );
    }

    #[test]
    fn an_optional_member_null_or_of_another_type_may_be_refused_or_taken_as_absent() {
        let hostname = judged(
            file()
                .field("hostname", Value::Null)
                .sign(API, SHARED)
                .text
                .as_bytes(),
        );
        assert_eq!(hostname.pinned, Answer::Accepted);
        let (status, code) = refusal(ErrorCode::AuthorizationMissingParams);
        assert_eq!(hostname.fit(status, code), Fit::Allowed);
        let request_id = judged(
            file()
                .set("request_id", serde_json::json!([""]))
                .sign(API, SHARED)
                .text
                .as_bytes(),
        );
        assert_eq!(
            request_id.pinned,
            Answer::Refused(ErrorCode::AuthorizationMissingParams)
        );
        assert_eq!(request_id.fit(200, None), Fit::Allowed);
        let signature = judged(file().set("signature", 0).sign(API, SHARED).text.as_bytes());
        let (status, code) = refusal(ErrorCode::SignatureMismatch);
        assert_eq!(signature.fit(status, code), Fit::Allowed);
        assert_eq!(signature.fit(200, None), Fit::Allowed);
    }

    #[test]
    fn nesting_deeper_than_32_accepted_is_only_a_warning() {
        let mut deep = Value::from("x");
        for _ in 0..40 {
            deep = Value::Array(vec![deep]);
        }
        let a = judged(file().field("deep", deep).sign(API, SHARED).text.as_bytes());
        assert_eq!(a.pinned, Answer::Refused(ErrorCode::AuthorizationMissingParams));
        assert_eq!(a.fit(200, None), Fit::Outside);
        assert_eq!(a.outside_severity(200, None), Some(Severity::Should));
    }

    /// Instants where a date is written differently: a one-digit day (the 1st, the 9th), the first
    /// two-digit one (the 10th), a leap day, the last seconds of a year (the window reaches into
    /// the next), a minute boundary.
    const DATE_INSTANTS: [&str; 6] = [
        "Tue, 01 Dec 2026 07:13:29 GMT",
        "Wed, 09 Dec 2026 15:57:21 GMT",
        "Thu, 10 Dec 2026 22:10:50 GMT",
        "Tue, 29 Feb 2028 12:34:56 GMT",
        "Thu, 31 Dec 2026 23:59:50 GMT",
        "Wed, 09 Dec 2026 23:59:00 GMT",
    ];

    #[test]
    fn a_javascript_date_within_the_window_may_be_accepted_and_outside_it_never() {
        let body = file().sign(API, SHARED).text;
        for instant in DATE_INSTANTS {
            let now = crate::protocol::parse_http_date(instant).expect("an IMF-fixdate");
            // SPEC §10: the Node SDK's form (the day not padded), read right, within the window.
            let within = Style::JavaScript.date(now);
            let a = judged_at(body.as_bytes(), &within, now);
            assert_eq!(a.pinned, Answer::Refused(ErrorCode::DateHeaderDiff), "{within}");
            assert_eq!(a.fit(200, None), Fit::Allowed, "{within} at {instant}");
            for off in [
                now - Duration::from_secs(20 * 60),
                now + Duration::from_secs(20 * 60),
            ] {
                let stale = Style::JavaScript.date(off);
                let b = judged_at(body.as_bytes(), &stale, now);
                assert_eq!(b.fit(200, None), Fit::Outside, "{stale} at {instant}");
                assert_eq!(
                    b.outside_severity(200, None),
                    Some(Severity::Must),
                    "{stale} at {instant}"
                );
            }
        }
    }

    #[test]
    fn missing_headers_come_before_everything_about_the_body() {
        let request = OracleRequest {
            kind: RequestKind::Activation,
            headers: Some((None, Some(b"x"))),
            now: clock(),
            content_type: None,
            body: Some(b"not base64!"),
        };
        let a = allowed(
            &request,
            &ServerKnows {
                max_body: 64 * 1024,
                shared_key_of: &keys,
            },
        );
        assert_eq!(a.pinned, Answer::Refused(ErrorCode::MissingHeaders));
        let (status, code) = refusal(ErrorCode::AuthorizationMissingParams);
        assert_eq!(a.fit(status, code), Fit::Outside);
    }

    #[test]
    fn a_right_outer_mac_in_uppercase_hex_may_be_accepted_and_a_wrong_one_never() {
        // The outer MAC is the envelope's last member, in hex.
        let upper_mac = |shared: &str| {
            let text = String::from_utf8(file().style(Style::CompactHex).sign(API, shared).json).unwrap();
            let (head, mac) = text.rsplit_once("\"signature\":\"").unwrap();
            let upper = format!("{head}\"signature\":\"{}", mac.to_ascii_uppercase());
            judged(encode_request_file(upper.as_bytes()).as_bytes())
        };
        let a = upper_mac(SHARED);
        assert_eq!(a.pinned, Answer::Refused(ErrorCode::SignatureMismatch));
        assert_eq!(a.fit(200, None), Fit::Allowed);
        let b = upper_mac("another shared key");
        assert_eq!(b.fit(200, None), Fit::Outside);
    }

    #[test]
    fn nesting_depth_counts_outside_strings() {
        assert_eq!(nesting_depth(br#"{"a":[{"b":"[[[["}]}"#), 3);
        assert_eq!(nesting_depth(br#"{"a":"\"{{{"}"#), 1);
    }

    #[test]
    fn lone_surrogates_are_replaced_keeping_the_length() {
        let json = br#"{"a":"\ud800x","b":"\ud83d\ude00","c":"\udc00"}"#;
        let out = without_lone_surrogates(json).unwrap();
        assert_eq!(out.len(), json.len());
        assert_eq!(
            out,
            br#"{"a":"\ufffdx","b":"\ud83d\ude00","c":"\ufffd"}"#.to_vec()
        );
        assert_eq!(without_lone_surrogates(br#"{"b":"\ud83d\ude00"}"#), None);
    }

    #[test]
    fn severities_order_must_above_should() {
        assert!(Severity::Must > Severity::Should);
    }
}
