//! The success answer (SPEC §6): its fields in a fixed order, `offline_signature`,
//! `license_signature` and `license_signature_v2`; and checking an answer or a `.lic` file.

use std::time::SystemTime;

use base64::Engine as _;
use serde::Serialize;

use super::keys::{PublicKey, SigningKey};
use super::lowercase::Lowercasing;
use super::signature::{inner_signature, verify_inner_signature, BASE64};

/// `product_details` of the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductDetails {
    /// The product's short code.
    pub short_code: String,
    /// The product's name.
    pub product_name: String,
    /// `"license-key"` or `"user"`.
    pub authorization_method: String,
}

/// Who an answer is for: the license key, or the user of a user-based license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerLicensee {
    /// `license_key`.
    LicenseKey(String),
    /// `username`.
    Username(String),
}

impl AnswerLicensee {
    fn signing_value(&self) -> &str {
        match self {
            AnswerLicensee::LicenseKey(v) | AnswerLicensee::Username(v) => v,
        }
    }
}

/// The fields of a success answer, before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationAnswer {
    /// `license_key` or `username`.
    pub licensee: AnswerLicensee,
    /// `hardware_id`, as the request sent it.
    pub hardware_id: String,
    /// `product_details`.
    pub product_details: ProductDetails,
    /// `license_type`: `"perpetual"`, `"consumption"`, ….
    pub license_type: String,
    /// `is_trial`.
    pub is_trial: bool,
    /// `license_enabled`.
    pub license_enabled: bool,
    /// `license_active`.
    pub license_active: bool,
    /// `is_expired`.
    pub is_expired: bool,
    /// `validity_period`, already in the form of [`format_validity_period`], or none.
    pub validity_period: Option<String>,
    /// `max_activations`.
    pub max_activations: u64,
    /// `times_activated`.
    pub times_activated: u64,
    /// `transfer_count`: devices moved to another (a seat freed by deactivate_offline, then taken).
    pub transfer_count: u64,
    /// `request_id`, echoed from the request (`null` when it sent none).
    pub request_id: Option<String>,
    /// `date`: the answer's date, which `offline_signature` covers.
    pub date: String,
}

/// How a success answer is laid out where SPEC §6 and §10 allow more than one form. The default is
/// the reference server's: `request_id` written as `null` when the request sent none,
/// `transfer_count` written, and `license_signature` over the standard library's lower-casing.
///
/// ```
/// use lsconform::protocol::{AnswerLayout, Lowercasing};
/// let layout = AnswerLayout { null_request_id: false, ..AnswerLayout::default() };
/// assert!(layout.transfer_count);
/// assert_eq!(layout.lowercasing, Lowercasing::Current);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerLayout {
    /// `request_id: null` when the request sent none; `false`: no `request_id` member at all
    /// (SPEC §6, §10: either conforms).
    pub null_request_id: bool,
    /// The `transfer_count` member; `false`: left out (SPEC §6: not among the required members).
    pub transfer_count: bool,
    /// How `license_signature`'s signing string is lower-cased (SPEC §6, §10: where a character's
    /// lowercase mapping is newer than Unicode 14, either conforms).
    pub lowercasing: Lowercasing,
}

impl Default for AnswerLayout {
    fn default() -> Self {
        AnswerLayout {
            null_request_id: true,
            transfer_count: true,
            lowercasing: Lowercasing::Current,
        }
    }
}

/// The answer's members in the order they are sent. Integers and booleans only: SPEC §6, no floats.
/// A member skipped here is absent from the body and from what `license_signature_v2` covers alike.
#[derive(Serialize)]
struct SignedPart<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    license_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    hardware_id: &'a str,
    product_details: &'a ProductDetails,
    license_type: &'a str,
    is_trial: bool,
    license_enabled: bool,
    license_active: bool,
    is_expired: bool,
    validity_period: Option<&'a str>,
    max_activations: u64,
    times_activated: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    transfer_count: Option<u64>,
    /// `Some(None)` is `null`; `None` leaves the member out.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<Option<&'a str>>,
    date: &'a str,
    offline_signature: &'a str,
}

/// SPEC §6: `validity_period` is ISO-8601 UTC with milliseconds, `2019-06-15T00:00:00.000Z`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_millis(1_560_556_800_000);
/// assert_eq!(lsconform::protocol::format_validity_period(t), "2019-06-15T00:00:00.000Z");
/// ```
pub fn format_validity_period(time: SystemTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from(time)
        .format(format)
        .expect("a SystemTime always formats")
}

/// SPEC §6: the text `license_signature` covers, lower-cased (as the reference server does it,
/// [`Lowercasing::Current`]):
/// `<hardware_id>#<license_key, or username before any "|">#<validity_period or empty>`.
///
/// ```
/// let s = lsconform::protocol::license_signing_string("HW-1", "Jane@Example.com|sso", None);
/// assert_eq!(s, "hw-1#jane@example.com#");
/// ```
pub fn license_signing_string(hardware_id: &str, licensee: &str, validity_period: Option<&str>) -> String {
    Lowercasing::Current.license_signing_string(hardware_id, licensee, validity_period)
}

impl Lowercasing {
    /// [`license_signing_string`], lower-cased this way (SPEC §6, §10).
    ///
    /// ```
    /// use lsconform::protocol::Lowercasing;
    /// let s = Lowercasing::Unicode14.license_signing_string("HW-\u{16EA0}", "K|x", None);
    /// assert_eq!(s, "hw-\u{16EA0}#k#");
    /// ```
    pub fn license_signing_string(
        self,
        hardware_id: &str,
        licensee: &str,
        validity_period: Option<&str>,
    ) -> String {
        let id = licensee.split('|').next().unwrap_or_default();
        self.lowercase(&format!(
            "{hardware_id}#{id}#{}",
            validity_period.unwrap_or_default()
        ))
    }
}

impl ActivationAnswer {
    /// The text its `license_signature` covers, lower-cased this way (SPEC §6).
    pub fn license_signing_string(&self, lowercasing: Lowercasing) -> String {
        lowercasing.license_signing_string(
            &self.hardware_id,
            self.licensee.signing_value(),
            self.validity_period.as_deref(),
        )
    }

    /// Signs the answer and writes its body: the members in a fixed order, compact, then
    /// `license_signature` and `license_signature_v2` last, so that a client that removes those
    /// two and re-serialises compactly gets exactly the bytes `license_signature_v2` covers.
    ///
    /// `api_key` and `shared_key` make `offline_signature` (built like the inner request
    /// signature, with the answer's `date`).
    pub fn sign(&self, api_key: &str, shared_key: &str, key: &SigningKey) -> Vec<u8> {
        self.sign_with(api_key, shared_key, key, AnswerLayout::default())
    }

    /// [`sign`](Self::sign) in another layout SPEC allows; `license_signature_v2` covers exactly
    /// the members written.
    ///
    /// ```
    /// use lsconform::protocol::{check_answer, ActivationAnswer, AnswerLayout, AnswerLicensee, ProductDetails, SigningKey};
    /// # let key = SigningKey::from_pem(lsconform::server::TEST_PRIVATE_KEY).unwrap();
    /// let answer = ActivationAnswer {
    ///     licensee: AnswerLicensee::LicenseKey("K".into()), hardware_id: "hw".into(),
    ///     product_details: ProductDetails { short_code: "TP".into(), product_name: "Test".into(),
    ///         authorization_method: "license-key".into() },
    ///     license_type: "perpetual".into(), is_trial: false, license_enabled: true, license_active: true,
    ///     is_expired: false, validity_period: None, max_activations: 1, times_activated: 1,
    ///     transfer_count: 0, request_id: None, date: "Thu, 17 Nov 2022 20:51:35 GMT".into(),
    /// };
    /// let layout = AnswerLayout { null_request_id: false, transfer_count: false, ..AnswerLayout::default() };
    /// let body = answer.sign_with("api", "shared", &key, layout);
    /// let text = String::from_utf8(body.clone()).unwrap();
    /// assert!(!text.contains("request_id") && !text.contains("transfer_count"));
    /// assert!(check_answer(&body, Some(&key.public_key()), None).unwrap().license_signature_v2
    ///     == lsconform::protocol::Verdict::Ok);
    /// ```
    pub fn sign_with(
        &self,
        api_key: &str,
        shared_key: &str,
        key: &SigningKey,
        layout: AnswerLayout,
    ) -> Vec<u8> {
        let licensee = self.licensee.signing_value();
        let offline_signature = inner_signature(shared_key, &self.date, licensee, &self.hardware_id, api_key);
        let (license_key, username) = match &self.licensee {
            AnswerLicensee::LicenseKey(k) => (Some(k.as_str()), None),
            AnswerLicensee::Username(u) => (None, Some(u.as_str())),
        };
        let part = SignedPart {
            license_key,
            username,
            hardware_id: &self.hardware_id,
            product_details: &self.product_details,
            license_type: &self.license_type,
            is_trial: self.is_trial,
            license_enabled: self.license_enabled,
            license_active: self.license_active,
            is_expired: self.is_expired,
            validity_period: self.validity_period.as_deref(),
            max_activations: self.max_activations,
            times_activated: self.times_activated,
            transfer_count: layout.transfer_count.then_some(self.transfer_count),
            request_id: match self.request_id.as_deref() {
                None if !layout.null_request_id => None,
                request_id => Some(request_id),
            },
            date: &self.date,
            offline_signature: &offline_signature,
        };
        let mut body = serde_json::to_vec(&part).expect("strings, integers and booleans always serialise");
        let license_signature =
            BASE64.encode(key.sign(self.license_signing_string(layout.lowercasing).as_bytes()));
        let license_signature_v2 = BASE64.encode(key.sign(&body));
        body.pop(); // the closing brace
        body.extend_from_slice(
            format!(r#","license_signature":"{license_signature}","license_signature_v2":"{license_signature_v2}"}}"#)
                .as_bytes(),
        );
        body
    }
}

/// The outcome of checking one signature of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Present and verified.
    Ok,
    /// Present and wrong.
    Mismatch,
    /// Not in the answer.
    Absent,
    /// Present, but not checked: the key it needs was not given.
    NotChecked,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Ok => "ok",
            Verdict::Mismatch => "mismatch",
            Verdict::Absent => "absent",
            Verdict::NotChecked => "not checked",
        })
    }
}

/// What checking an answer found, signature by signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerCheck {
    /// `offline_signature`, with the API key and shared key.
    pub offline_signature: Verdict,
    /// `license_signature`, with the public key.
    pub license_signature: Verdict,
    /// `license_signature_v2`, with the public key.
    pub license_signature_v2: Verdict,
}

impl AnswerCheck {
    /// Whether no signature is wrong or missing (one not checked for want of a key is allowed).
    pub fn all_hold(&self) -> bool {
        [
            self.offline_signature,
            self.license_signature,
            self.license_signature_v2,
        ]
        .iter()
        .all(|v| matches!(v, Verdict::Ok | Verdict::NotChecked))
    }
}

/// An answer that cannot be checked at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// Neither a JSON object nor Base64 of one.
    #[error("not an answer: {0}")]
    NotAnAnswer(String),
}

/// The credentials `offline_signature` is checked with.
#[derive(Debug, Clone, Copy)]
pub struct OfflineKey<'a> {
    /// The API key the request was signed for.
    pub api_key: &'a str,
    /// Its shared key.
    pub shared_key: &'a str,
}

/// Reads an answer: the JSON body itself, or a `.lic` file (Base64 of it, SPEC §6).
pub fn answer_json(file: &[u8]) -> Result<Vec<u8>, AnswerError> {
    let trimmed = file.trim_ascii();
    if trimmed.starts_with(b"{") {
        return Ok(trimmed.to_vec());
    }
    super::transport::decode_request_file(trimmed)
        .map_err(|_| AnswerError::NotAnAnswer("neither JSON nor Base64 of JSON".into()))
}

/// Checks every signature of an answer (its JSON, see [`answer_json`]).
///
/// `license_signature` holds when it verifies over either lower-casing SPEC allows (SPEC §6, §10: a
/// character whose lowercase mapping is newer than Unicode 14 may be lower-cased or not, see
/// [`Lowercasing`]). `license_signature_v2` is checked as the SDKs do: parse, remove both
/// `license_signature*` members, re-serialise compactly in the order received, verify.
pub fn check_answer(
    answer: &[u8],
    public_key: Option<&PublicKey>,
    offline: Option<OfflineKey<'_>>,
) -> Result<AnswerCheck, AnswerError> {
    let mut map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(answer).map_err(|e| AnswerError::NotAnAnswer(e.to_string()))?;
    let text = |map: &serde_json::Map<String, serde_json::Value>, k: &str| {
        map.get(k).and_then(|v| v.as_str()).map(str::to_owned)
    };
    let licensee = text(&map, "license_key").or_else(|| text(&map, "username"));
    let hardware_id = text(&map, "hardware_id");
    let validity = text(&map, "validity_period");
    let date = text(&map, "date");
    let signature = |map: &mut serde_json::Map<String, serde_json::Value>, k: &str| {
        map.shift_remove(k)
            .map(|v| v.as_str().and_then(|s| BASE64.decode(s).ok()))
    };
    let license_signature = signature(&mut map, "license_signature");
    let license_signature_v2 = signature(&mut map, "license_signature_v2");
    // Any of the messages verifies.
    let rsa = |sig: Option<Option<Vec<u8>>>, messages: &dyn Fn() -> Vec<Vec<u8>>| match (sig, public_key) {
        (None, _) => Verdict::Absent,
        (Some(_), None) => Verdict::NotChecked,
        (Some(Some(sig)), Some(key)) if messages().iter().any(|m| key.verify(m, &sig)) => Verdict::Ok,
        (Some(_), Some(_)) => Verdict::Mismatch,
    };
    // SPEC §10: either lower-casing (the same text, mostly: then it is verified once).
    let v1_messages = || {
        let mut texts: Vec<Vec<u8>> = Lowercasing::ALL
            .iter()
            .map(|l| {
                l.license_signing_string(
                    hardware_id.as_deref().unwrap_or_default(),
                    licensee.as_deref().unwrap_or_default(),
                    validity.as_deref(),
                )
                .into_bytes()
            })
            .collect();
        texts.dedup();
        texts
    };
    let v2_messages = || vec![serde_json::to_vec(&map).expect("a parsed value always serialises")];
    let offline_signature = match (map.get("offline_signature").map(|v| v.as_str()), offline) {
        (None, _) => Verdict::Absent,
        (Some(_), None) => Verdict::NotChecked,
        (Some(given), Some(key)) => {
            let ok = verify_inner_signature(
                key.shared_key,
                date.as_deref().unwrap_or_default(),
                licensee.as_deref().unwrap_or_default(),
                hardware_id.as_deref().unwrap_or_default(),
                key.api_key,
                given.unwrap_or_default(),
            );
            if ok {
                Verdict::Ok
            } else {
                Verdict::Mismatch
            }
        }
    };
    Ok(AnswerCheck {
        offline_signature,
        license_signature: rsa(license_signature, &v1_messages),
        license_signature_v2: rsa(license_signature_v2, &v2_messages),
    })
}
