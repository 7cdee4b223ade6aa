//! A generated request written for a target: its bytes and headers, and what the oracle makes of them.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::model::{
    DateChoice, Encoding, Field, GeneratedRequest, HeaderMutation, LicenseChoice, Mutation, Padding,
    SignatureTamper, TransportChoice,
};
use super::{rules, Rule};
use crate::protocol::{
    decode_request, encode_request_file, format_http_date, inner_signature, Allowed, Answer,
    AuthorizationHeader, Fit, Rejection, RequestBuilder, RequestKind, Style, Tamper,
};
use crate::suite::profile::Profile;
use crate::suite::render::{for_people, signed_headers, Prepared};

/// A generated request written for a target: the exact bytes, and what the oracle makes of them.
#[derive(Debug, Clone)]
pub struct GeneratedCase {
    /// Its place in the run.
    pub index: usize,
    /// What it was made from.
    pub value: GeneratedRequest,
    /// The request (headers signed at the time it was written).
    pub request: Prepared,
    /// The answers SPEC allows to it (SPEC §10), the reference's pinned one marked.
    pub allowed: Allowed,
    /// The pinned member of `allowed`, the reference server's answer: `Ok` when it accepts the
    /// request up to SPEC §5, else the first rule of SPEC §1a's order the request breaks.
    pub oracle: Result<(), Rejection>,
}

/// The pinned member of a set of allowed answers, as the reference decides it.
fn pinned(allowed: &Allowed) -> Result<(), Rejection> {
    match allowed.first() {
        Some(first) if allowed.pinned != Answer::Accepted => {
            Err(Rejection::new(first.code, first.detail.clone()))
        }
        _ => Ok(()),
    }
}

impl GeneratedCase {
    /// The `deactivate_offline` request that gives back the seat this request took, written at
    /// `now`: the device, license and product that `answer` (the success answer's body) names,
    /// which is what the server activated, else what was sent. `None` when the profile has no
    /// credentials or does not support deactivation, or nothing names a license.
    ///
    /// ```
    /// use lsconform::suite::generate::{requests, GenerateOptions};
    /// use lsconform::suite::Profile;
    /// let profile = Profile::reference("http://127.0.0.1:8080");
    /// let now = std::time::SystemTime::now();
    /// let cases = requests(&profile, &GenerateOptions::new(20, 1), now).unwrap();
    /// let accepted = cases.iter().find(|c| c.oracle.is_ok()).unwrap();
    /// let back = accepted.give_back(&profile, None, now).unwrap();
    /// assert!(back.url.ends_with("/api/v4/deactivate_offline"));
    /// assert_eq!(back.hardware_id, accepted.request.hardware_id);
    /// ```
    pub fn give_back(&self, profile: &Profile, answer: Option<&[u8]>, now: SystemTime) -> Option<Prepared> {
        if !profile.supports_deactivation {
            return None;
        }
        let c = profile.credentials.as_ref()?;
        let body: Value = answer
            .and_then(|a| serde_json::from_slice(a).ok())
            .unwrap_or(Value::Null);
        let text_at = |path: &[&str]| {
            path.iter()
                .try_fold(&body, |v, k| v.get(k))
                .and_then(Value::as_str)
        };
        let hw = text_at(&["hardware_id"])
            .map(str::to_owned)
            .or_else(|| self.request.hardware_id.clone())?;
        let product = text_at(&["product_details", "short_code"]).unwrap_or(self.value.product.code());
        let mut b = RequestBuilder::deactivation()
            .style(Style::Python)
            .hardware_id(&hw)
            .product(product)
            .date(Style::Python.date(now))
            .request_id(uuid::Uuid::new_v4().to_string());
        b = match (text_at(&["license_key"]), text_at(&["username"])) {
            (Some(key), _) => b.license_key(key),
            (None, Some(user)) => {
                let b = b.username(user);
                match &profile.user {
                    Some((u, Some(password))) if u == user => b.password(password),
                    _ => b,
                }
            }
            (None, None) => match &self.value.license {
                user @ LicenseChoice::User { .. } => user.named_in(b),
                _ => b.license_key(self.request.licensee.clone()?),
            },
        };
        let file = b.sign(&c.api_key, &c.shared_key);
        let date = format_http_date(now);
        Some(Prepared {
            method: "POST".into(),
            url: format!("{}{}", profile.base_url, RequestKind::Deactivation.path()),
            headers: vec![
                ("Date".into(), date.clone()),
                (
                    "Authorization".into(),
                    AuthorizationHeader::signed(&c.api_key, &c.shared_key, &date).to_string(),
                ),
                ("Content-Type".into(), "text/plain".into()),
            ],
            no_accept: false,
            body: Some(file.text.into_bytes()),
            payload: Some(for_people(&file.json)),
            seat: None,
            request_id: None,
            hardware_id: Some(hw),
            licensee: None,
        })
    }

    /// The rule a server breaks when it answers this request otherwise than the oracle.
    pub fn rule(&self) -> Rule {
        let v = &self.value;
        if v.headers != HeaderMutation::None {
            return v.headers.rule();
        }
        match (&v.mutation, &self.oracle) {
            (Mutation::None, _) if matches!(v.date, DateChoice::DaysAgo { .. } | DateChoice::Text(_)) => {
                rules::PAYLOAD_DATE_AGE
            }
            (Mutation::None, _) if v.encoding == Encoding::Bom => rules::BASE64_BYTE_ORDER_MARK,
            (Mutation::None, _) if v.encoding != Encoding::Standard => rules::BASE64_WHITESPACE,
            (Mutation::None, _) if v.transport == TransportChoice::Multipart => rules::BODY_MULTIPART,
            (Mutation::None, _) if v.transport != TransportChoice::TextPlain => rules::BODY_RAW,
            (m, _) => m.rule(v.layout()),
        }
    }
}

/// Whether a request is written as generated or as a step of its shrinking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Request `index` of a run, as its strategy made it.
    Generated,
    /// A simpler request tried in its place.
    Shrinking,
}

const BOUNDARY: &str = "lsconform-generated-5e2a";

fn multipart(text: &[u8]) -> Vec<u8> {
    [
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ls_activation.req\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
        text,
        format!("\r\n--{BOUNDARY}--\r\n").as_bytes(),
    ]
    .concat()
}

fn nested(depth: usize, arrays: bool) -> Value {
    let mut v = if arrays {
        Value::Array(vec![])
    } else {
        Value::Object(Default::default())
    };
    for _ in 1..depth {
        v = if arrays {
            Value::Array(vec![v])
        } else {
            Value::Object([("a".to_owned(), v)].into_iter().collect())
        };
    }
    v
}

impl GeneratedRequest {
    /// Writes the request for `profile`'s target as request `index` of a run from `seed`, at
    /// `now` (the payload date and the signed headers). The same arguments write the same bytes.
    /// Fails only when the profile has no credentials.
    pub fn render(
        &self,
        profile: &Profile,
        index: usize,
        seed: u64,
        now: SystemTime,
    ) -> Result<GeneratedCase, String> {
        self.render_at(profile, index, seed, now, now, Step::Generated)
    }

    /// A request id derived from the seed, the index and the payload time, and for a shrinking
    /// step from the request too: the same run writes the same one, and a shrinking step that
    /// changed the request another one (the same id with another payload is a conflict, SPEC §5.5).
    /// Within a run, the seed, the index and the time alone tell the requests apart, and hashing
    /// the request's every choice costs more than writing it.
    fn request_id_for(&self, seed: u64, index: usize, payload_time: SystemTime, step: Step) -> String {
        let mut h = Sha256::new();
        h.update(b"lsconform generated request_id\n");
        h.update(seed.to_le_bytes());
        h.update((index as u64).to_le_bytes());
        let secs = payload_time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        h.update(secs.to_le_bytes());
        if step == Step::Shrinking {
            // The request's every choice, written straight into the hash (no string a request).
            struct Hashing<'a>(&'a mut Sha256);
            impl std::fmt::Write for Hashing<'_> {
                fn write_str(&mut self, s: &str) -> std::fmt::Result {
                    self.0.update(s.as_bytes());
                    Ok(())
                }
            }
            let _ = std::fmt::Write::write_fmt(&mut Hashing(&mut h), format_args!("{self:?}"));
        }
        let digest = h.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
    }

    pub(super) fn render_at(
        &self,
        profile: &Profile,
        index: usize,
        seed: u64,
        payload_time: SystemTime,
        header_time: SystemTime,
        step: Step,
    ) -> Result<GeneratedCase, String> {
        let c = profile
            .credentials
            .as_ref()
            .ok_or("generated requests need api_key and shared_key in the profile")?;
        let hardware_id = format!("{}#{index}", self.hardware_id);
        let date = match &self.date {
            DateChoice::Now => self.layout().date(payload_time),
            DateChoice::DaysAgo { days_ago, form } => form.format(
                payload_time
                    .checked_sub(Duration::from_secs(u64::from(*days_ago) * 86_400))
                    .unwrap_or(SystemTime::UNIX_EPOCH),
            ),
            DateChoice::Text(text) => text.clone(),
        };
        // A request id to duplicate is written even when the request would otherwise have none:
        // a "duplicate" of an absent member is no duplicate, and a fixed value would be a request
        // id shared by every such request of every run (SPEC §5.5: replays and conflicts).
        let duplicates_request_id = matches!(
            self.mutation,
            Mutation::Duplicate {
                field: Field::RequestId,
                ..
            }
        );
        let request_id = (self.request_id || duplicates_request_id)
            .then(|| self.request_id_for(seed, index, payload_time, step));
        let product = self.product.code();
        let licensee = self.license.value();
        let mut b = RequestBuilder::new(self.kind)
            .style(self.layout())
            .hardware_id(&hardware_id)
            .product(product)
            .date(&date);
        b = self.license.named_in(b);
        if let Some(id) = &request_id {
            b = b.request_id(id);
        }
        for (name, value) in &self.extras {
            b = b.field(name, value.clone());
        }
        if self.mutation == Mutation::UrlSafe {
            // Five `~` in a row hold a whole Base64 group `fn5+`: the URL-safe text always differs
            // from the standard one (`fn5-`), whatever the other values.
            b = b.field("lsconform_url_safe", "~~~~~~");
        }
        let inner = || inner_signature(&c.shared_key, &date, licensee, &hardware_id, &c.api_key);
        let current = |f: Field| -> Value {
            Value::from(match f {
                Field::Licensee => licensee.to_owned(),
                Field::HardwareId => hardware_id.clone(),
                Field::Product => product.to_owned(),
                Field::Date => date.clone(),
                Field::ApiKey => c.api_key.clone(),
                Field::InnerSignature => inner(),
                Field::RequestId => request_id.clone().unwrap_or_default(),
            })
        };
        let other = Value::from("lsconform-other-value");
        match &self.mutation {
            Mutation::RequestKind(v) => b = b.set("request", v.value(self.kind)),
            Mutation::Remove(Field::InnerSignature) => b = b.inner_signature(Tamper::Omit),
            Mutation::Remove(f) => b = b.remove(f.name(&self.license)),
            Mutation::Null(f) => b = b.set(f.name(&self.license), Value::Null),
            Mutation::WrongType { field, value } => b = b.set(field.name(&self.license), value.clone()),
            Mutation::Empty(f) => b = b.set(f.name(&self.license), ""),
            Mutation::Duplicate { field, same_value } => {
                let value = if *same_value { current(*field) } else { other };
                b = b.duplicate(field.name(&self.license), value);
            }
            Mutation::DuplicateExtra { at, same_value } => match self.extras.len() {
                0 => {
                    let value = if *same_value {
                        Value::from("lsconform")
                    } else {
                        other
                    };
                    b = b.field("hostname", "lsconform").duplicate("hostname", value);
                }
                n => {
                    let (name, value) = &self.extras[at.index(n)];
                    b = b.duplicate(name, if *same_value { value.clone() } else { other });
                }
            },
            Mutation::UnknownApiKey(key) => {
                let key = if *key == c.api_key {
                    format!("{key}-unknown")
                } else {
                    key.clone()
                };
                b = b.set("api_key", key);
            }
            Mutation::Deep {
                depth,
                arrays,
                in_envelope,
            } => {
                let value = nested(*depth, *arrays);
                b = if *in_envelope {
                    b.envelope_member("lsconform_nested", value)
                } else {
                    b.field("lsconform_nested", value)
                };
            }
            Mutation::EnvelopeMember { name, value } => b = b.envelope_member(name, value.clone()),
            Mutation::CorruptInner(t) => {
                b = match t {
                    SignatureTamper::Corrupt => b.inner_signature(Tamper::Corrupt),
                    SignatureTamper::Uppercase => b.inner_signature(Tamper::Uppercase),
                    SignatureTamper::Replace(text) => b.inner_signature(Tamper::Replace(text.clone())),
                    SignatureTamper::NotAString(v) => b.set("signature", v.clone()),
                }
            }
            Mutation::CorruptOuter(t) => {
                b = match t {
                    SignatureTamper::Corrupt => b.outer_signature(Tamper::Corrupt),
                    SignatureTamper::Uppercase => b.outer_signature(Tamper::Uppercase),
                    SignatureTamper::Replace(text) => b.outer_signature(Tamper::Replace(text.clone())),
                    SignatureTamper::NotAString(v) => b.envelope_member("signature", v.clone()),
                }
            }
            _ => {}
        }
        // A grammar mutation writes its own defect, every signature right over the bytes sent.
        let (mut json, lenient_text) = match &self.mutation {
            Mutation::Grammar(g) => g.write(b, &c.api_key, &c.shared_key),
            _ => (b.sign(&c.api_key, &c.shared_key).json, None),
        };
        match &self.mutation {
            Mutation::JsonFlip { at, mask } if !json.is_empty() => {
                let i = at.index(json.len());
                json[i] ^= *mask;
            }
            Mutation::JunkAfterJson(junk) => json.extend_from_slice(junk.as_bytes()),
            Mutation::NotAnObject(wrap) => json = wrap.apply(&json),
            _ => {}
        }
        let standard = encode_request_file(&json);
        let mut text = match (&self.mutation, lenient_text) {
            (_, Some(text)) => text,
            (Mutation::UrlSafe, None) => base64::engine::general_purpose::URL_SAFE
                .encode(&json)
                .into_bytes(),
            (m, None) if m.on_base64() => standard.into_bytes(),
            (_, None) => self.encoding.apply(&standard),
        };
        match &self.mutation {
            Mutation::Base64Flip { at, mask } if !text.is_empty() => {
                let i = at.index(text.len());
                text[i] ^= *mask;
            }
            Mutation::Base64Remove(at) if !text.is_empty() => {
                text.remove(at.index(text.len()));
            }
            Mutation::Base64Insert { at, byte } => text.insert(at.index(text.len() + 1), *byte),
            Mutation::Truncate(at) if !text.is_empty() => text.truncate(at.index(text.len())),
            Mutation::BadPadding(Padding::Strip) => {
                let padded = text.len();
                while text.last() == Some(&b'=') {
                    text.pop();
                }
                if text.len() == padded {
                    text.push(b'=');
                }
            }
            Mutation::BadPadding(Padding::Extra(n)) => text.extend(std::iter::repeat_n(b'=', *n)),
            Mutation::BadPadding(Padding::Inside(at)) => text.insert(at.index(text.len() + 1), b'='),
            _ => {}
        }
        let (content_type, body) = match self.transport {
            TransportChoice::TextPlain => (Some("text/plain".to_owned()), text),
            TransportChoice::NoContentType => (None, text),
            TransportChoice::FormUrlEncoded => (Some("application/x-www-form-urlencoded".to_owned()), text),
            TransportChoice::OctetStream => (Some("application/octet-stream".to_owned()), text),
            TransportChoice::Multipart => (
                Some(format!("multipart/form-data; boundary={BOUNDARY}")),
                multipart(&text),
            ),
        };
        let mut headers = signed_headers(&self.headers.template(), Some(c), header_time)?;
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_bytes().to_vec())
        };
        let (authorization, date) = (header("Authorization"), header("Date"));
        if let Some(ct) = &content_type {
            headers.push(("Content-Type".to_owned(), ct.clone()));
        }
        let allowed = crate::suite::allowed::of_request(
            profile,
            self.kind,
            Some((authorization.as_deref(), date.as_deref())),
            content_type.as_deref(),
            Some(&body),
            header_time,
        );
        let oracle = pinned(&allowed);
        // What a conforming server reads (an empty value is an absent one), for the echo checks
        // of SPEC §6: only a request SPEC allows to be accepted is decoded again for them (the
        // oracle decoded it once); for the others, what was meant to be sent.
        let decoded = match allowed.fit(200, None) {
            Fit::Outside => Err(()),
            _ => decode_request(content_type.as_deref(), &body).map_err(|_| ()),
        };
        let present = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        let (read_hw, read_id, read_licensee) = match decoded {
            Ok(d) => (
                present(&d.payload.hardware_id),
                present(&d.payload.request_id),
                present(&d.payload.license_key).or_else(|| present(&d.payload.username)),
            ),
            Err(_) => (
                Some(hardware_id.clone()),
                request_id.clone(),
                Some(licensee.to_owned()),
            ),
        };
        let seat = match (&self.license, self.kind) {
            (LicenseChoice::User { .. }, _) | (_, RequestKind::Deactivation) => None,
            _ => Some((licensee.to_owned(), hardware_id.clone())),
        };
        Ok(GeneratedCase {
            index,
            value: self.clone(),
            request: Prepared {
                method: "POST".into(),
                url: format!("{}{}", profile.base_url, self.kind.path()),
                headers,
                no_accept: false,
                body: Some(body),
                payload: Some(for_people(&json)),
                seat,
                request_id: read_id,
                hardware_id: read_hw,
                licensee: read_licensee,
            },
            allowed,
            oracle,
        })
    }
}

/// The reference's answer to an activation body on the target of `profile` (the pinned member of
/// what SPEC allows, [`crate::protocol::allowed`]): `Ok` when only a business rule of SPEC §5 may
/// refuse it, else the first rule of SPEC §1a's order it breaks. The headers are taken as good.
///
/// ```
/// use lsconform::protocol::{ErrorCode, RequestBuilder};
/// use lsconform::suite::generate::oracle;
/// use lsconform::suite::Profile;
/// let profile = Profile::reference("http://127.0.0.1:8080");
/// let file = RequestBuilder::activation().license_key("K").hardware_id("h").product("TP").date("d")
///     .sign("lsconform-test-api-key", "lsconform-test-shared-key");
/// assert!(oracle(&profile, Some("text/plain"), Some(file.text.as_bytes())).is_ok());
/// let other = RequestBuilder::activation().license_key("K").hardware_id("h").product("TP").date("d")
///     .sign("lsconform-test-api-key", "another-shared-key");
/// let refused = oracle(&profile, Some("text/plain"), Some(other.text.as_bytes())).unwrap_err();
/// assert_eq!(refused.code, ErrorCode::SignatureMismatch);
/// ```
pub fn oracle(profile: &Profile, content_type: Option<&str>, body: Option<&[u8]>) -> Result<(), Rejection> {
    let now = SystemTime::now();
    let allowed =
        crate::suite::allowed::of_request(profile, RequestKind::Activation, None, content_type, body, now);
    pinned(&allowed)
}
