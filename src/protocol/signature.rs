//! The HMAC signatures of a request file (SPEC §4) and the MAC primitive the header uses (SPEC §2).

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Standard alphabet, padded, canonical trailing bits: the only Base64 the protocol speaks.
pub(crate) const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

type HmacSha256 = Hmac<Sha256>;

fn keyed(shared_key: &str) -> HmacSha256 {
    // SPEC §2: keyed with the shared key's UTF-8 bytes, not decoded.
    HmacSha256::new_from_slice(shared_key.as_bytes()).expect("HMAC takes keys of any length")
}

/// HMAC-SHA256 of `message` keyed with the shared key.
pub fn hmac_sha256(shared_key: &str, message: &[u8]) -> [u8; 32] {
    let mut mac = keyed(shared_key);
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Verifies a Base64-written MAC over `message`, in constant time. Anything that is not canonical
/// Base64 of 32 bytes is a mismatch.
pub(crate) fn verify_base64_mac(shared_key: &str, message: &[u8], given: &str) -> bool {
    base64_tag(given).is_some_and(|tag| verify_mac(keyed(shared_key), &[message], &tag))
}

/// A Base64-written MAC decoded, without an allocation: `None` unless it is canonical Base64 of
/// exactly 32 bytes (a longer text cannot be one: 44 characters hold 32 bytes).
fn base64_tag(given: &str) -> Option<[u8; 32]> {
    if given.len() != 44 {
        return None;
    }
    // Canonical padded Base64 of 32 bytes decodes to 32 bytes; the decoder needs room for 33.
    let mut buf = [0u8; 33];
    match BASE64.decode_slice(given, &mut buf) {
        Ok(32) => buf[..32].try_into().ok(),
        _ => None,
    }
}

/// Whether `tag` is the MAC of the concatenated `parts`, in constant time.
fn verify_mac(mut mac: HmacSha256, parts: &[&[u8]], tag: &[u8]) -> bool {
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(tag).is_ok()
}

/// SPEC §4: the inner signing string,
/// `licenseSpring\ndate: <date>\n<license_key or username>\n<hardware_id>\n<api_key or client_id>`,
/// LF-separated, no trailing newline, every value verbatim.
pub fn inner_signing_string(date: &str, licensee: &str, hardware_id: &str, api_key: &str) -> String {
    let parts = inner_signing_parts(date, licensee, hardware_id, api_key);
    let mut text = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    parts.iter().for_each(|p| text.extend_from_slice(p));
    String::from_utf8(text).expect("UTF-8 pieces joined by ASCII")
}

/// The pieces of [`inner_signing_string`], in order (what the MAC is fed, never written out).
fn inner_signing_parts<'a>(
    date: &'a str,
    licensee: &'a str,
    hardware_id: &'a str,
    api_key: &'a str,
) -> [&'a [u8]; 8] {
    [
        b"licenseSpring\ndate: ",
        date.as_bytes(),
        b"\n",
        licensee.as_bytes(),
        b"\n",
        hardware_id.as_bytes(),
        b"\n",
        api_key.as_bytes(),
    ]
}

/// The inner signature (schema 1, optional in schema 2), and the answer's `offline_signature`
/// (SPEC §6): Base64 HMAC-SHA256 of [`inner_signing_string`].
///
/// ```
/// // SPEC §8, the published inner payload vector.
/// let sig = lsconform::protocol::inner_signature(
///     "sharedkey",
///     "Fri, 29 Aug 2025 07:22:37 GMT",
///     "BSK8-CLCY-PB5E-BXFO",
///     "8b06c6053b7a2040f07c60b62f17f378ccc5030e21676f8a100a97ab36303ad0",
///     "apikey",
/// );
/// assert_eq!(sig, "A7Tg3dBCc3OsegkPdPc6I1/sRqHj1uSuBR3ad8uaEnk=");
/// ```
pub fn inner_signature(
    shared_key: &str,
    date: &str,
    licensee: &str,
    hardware_id: &str,
    api_key: &str,
) -> String {
    let text = inner_signing_string(date, licensee, hardware_id, api_key);
    BASE64.encode(hmac_sha256(shared_key, text.as_bytes()))
}

/// Verifies an inner signature (or an `offline_signature`) in constant time.
pub fn verify_inner_signature(
    shared_key: &str,
    date: &str,
    licensee: &str,
    hardware_id: &str,
    api_key: &str,
    given: &str,
) -> bool {
    verify_inner_keyed(keyed(shared_key), date, licensee, hardware_id, api_key, given)
}

/// [`verify_inner_signature`] with the key already set up: the signing string is fed to the MAC
/// piece by piece (the same bytes as [`inner_signing_string`], never written out).
fn verify_inner_keyed(
    mac: HmacSha256,
    date: &str,
    licensee: &str,
    hardware_id: &str,
    api_key: &str,
    given: &str,
) -> bool {
    let Some(tag) = base64_tag(given) else {
        return false;
    };
    verify_mac(
        mac,
        &inner_signing_parts(date, licensee, hardware_id, api_key),
        &tag,
    )
}

/// How a schema-2 outer MAC is written (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacEncoding {
    /// Lowercase hex, 64 characters: the docs' example and the C++ SDK.
    Hex,
    /// Standard Base64, 44 characters: the Python and Node SDKs.
    Base64,
}

impl MacEncoding {
    /// Writes a MAC in this encoding.
    pub fn encode(self, mac: &[u8; 32]) -> String {
        match self {
            MacEncoding::Hex => hex::encode(mac),
            MacEncoding::Base64 => BASE64.encode(mac),
        }
    }

    /// Tells the encoding of a written MAC and decodes it; `None` when it is neither 64 lowercase
    /// hex digits (SPEC §4 names lowercase hex) nor canonical Base64 of 32 bytes.
    pub fn decode(written: &str) -> Option<(MacEncoding, [u8; 32])> {
        let mut tag = [0u8; 32];
        let lowercase_hex = written.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if written.len() == 64 && lowercase_hex && hex::decode_to_slice(written, &mut tag).is_ok() {
            return Some((MacEncoding::Hex, tag));
        }
        base64_tag(written).map(|tag| (MacEncoding::Base64, tag))
    }
}

/// SPEC §4: the schema-2 outer MAC, HMAC-SHA256 over the exact bytes of the `request` member.
///
/// ```
/// use lsconform::protocol::{outer_signature, MacEncoding};
/// let request = br#"{"schema_version":2}"#;
/// let hex = outer_signature("sharedkey", request, MacEncoding::Hex);
/// assert_eq!(hex.len(), 64);
/// ```
pub fn outer_signature(shared_key: &str, request_bytes: &[u8], encoding: MacEncoding) -> String {
    encoding.encode(&hmac_sha256(shared_key, request_bytes))
}

/// Verifies a schema-2 outer MAC, written in hex or Base64, over the raw `request` bytes, in
/// constant time.
pub fn verify_outer_signature(shared_key: &str, request_bytes: &[u8], given: &str) -> bool {
    verify_outer_keyed(keyed(shared_key), request_bytes, given)
}

fn verify_outer_keyed(mac: HmacSha256, request_bytes: &[u8], given: &str) -> bool {
    match MacEncoding::decode(given) {
        Some((_, tag)) => verify_mac(mac, &[request_bytes], &tag),
        None => false,
    }
}

/// The shared key set up once for the MACs of one request file (its key block hashed once, not
/// once a MAC).
#[derive(Clone)]
pub(crate) struct SharedKey(HmacSha256);

impl SharedKey {
    pub(crate) fn new(shared_key: &str) -> SharedKey {
        SharedKey(keyed(shared_key))
    }

    /// [`verify_inner_signature`] under this key.
    pub(crate) fn verify_inner(
        &self,
        date: &str,
        licensee: &str,
        hardware_id: &str,
        api_key: &str,
        given: &str,
    ) -> bool {
        verify_inner_keyed(self.0.clone(), date, licensee, hardware_id, api_key, given)
    }

    /// [`verify_outer_signature`] under this key.
    pub(crate) fn verify_outer(&self, request_bytes: &[u8], given: &str) -> bool {
        verify_outer_keyed(self.0.clone(), request_bytes, given)
    }
}
