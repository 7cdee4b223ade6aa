//! Named conforming variants: each one a *different answer SPEC allows* at exactly one point where
//! SPEC allows more than one (SPEC §10, the order of §1a, a [pinned] rule that is not safety, or a
//! SHOULD). `lsconform serve --variant NAME` turns one on; the conformance suite must report
//! nothing worse than warnings against every one of them, which is how the project proves that
//! no check bites a server that chose differently where SPEC lets it (the dual of the named
//! faults, which prove that every check can fail).
//!
//! A running server also counts, per variant, the answers the variant changed
//! ([`ServerVariants::took_effect`]), so that a test can tell a variant the suite never exercised.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::switches::{switches, Switches};
use crate::protocol::rules;

switches! {
    /// Another answer SPEC allows, at one point, than the reference server's own.
    ///
    /// ```
    /// use lsconform::server::Variant;
    /// let v: Variant = "signature-mismatch-400".parse().unwrap();
    /// assert_eq!(v, Variant::SignatureMismatch400);
    /// assert_eq!(v.to_string(), "signature-mismatch-400");
    /// assert!(v.spec().starts_with('§'));
    /// assert_eq!(v.rule().id, "auth.header-hmac"); // the rule that allows 400 or 401
    /// assert!("no-such-variant".parse::<Variant>().is_err());
    /// ```
    pub enum Variant, listed by "lsconform serve --list-variants";

    OmitRequestId => ("omit-request-id", rules::ANSWER_REQUEST_ID, "the success answer has no request_id member (instead of null) when the request sent none");
    OddOptionalRefused => ("odd-optional-refused", rules::PAYLOAD_ODD_OPTIONAL, "any optional member present as null, \"\" or of another type is refused with 400 authorization_missing_params");
    OddOptionalAbsent => ("odd-optional-absent", rules::PAYLOAD_ODD_OPTIONAL, "an optional member the protocol reads (request_id, bundle_code, password, the schema-2 inner signature) of another type is taken as absent");
    OddSignatureMismatch => ("odd-signature-mismatch", rules::PAYLOAD_ODD_OPTIONAL, "a schema-2 inner signature present as null, \"\" or of another type is signature_mismatch");
    SignatureMismatch400 => ("signature-mismatch-400", rules::AUTH_HEADER_HMAC, "every signature_mismatch is answered with status 400 instead of 401");
    MissingContent => ("missing-content", rules::BODY_MISSING, "no body or an empty one is answered 400 missing_content instead of missing_parameters");
    OtherDateForms => ("other-date-forms", rules::DATE_OTHER_FORMS, "a Date header in a form other than HTTP's that protocol::parse_other_date reads (JavaScript's, dayjs's, RFC 1123 with the day not padded, RFC 2822 with a numeric offset, RFC 3339), within 15 minutes of the clock, is accepted");
    ImfFixdateOnly => ("imf-fixdate-only", rules::DATE_HTTP_FORMS, "a Date header in RFC 850, asctime or UTC-for-GMT form is refused with 400 date_header_diff (SHOULD accept)");
    UppercaseHexMac => ("uppercase-hex-mac", rules::SIGNATURE_UPPERCASE_MAC, "a schema-2 outer MAC written in hex is compared case-insensitively");
    Bearer401 => ("bearer-401", rules::AUTH_BEARER, "Authorization: Bearer … is answered 401 invalid_token");
    SignaturesBeforeKind => ("signatures-before-kind", rules::ORDER_FIRST_CHECK_DECIDES, "the payload signatures are verified before the request member is checked");
    BodyBeforeAuthorization => ("body-before-authorization", rules::ORDER_FIRST_CHECK_DECIDES, "after the missing-headers check, the body is checked before the Authorization header and the Date");
    SurrogatesRead => ("surrogates-read", rules::JSON_SURROGATE, "a payload with unpaired surrogate escapes is read leniently: signature_mismatch if a signature fails, else 400 authorization_missing_params");
    ErrorExtraMembers => ("error-extra-members", rules::ERROR_EXTRA_MEMBERS, "every error body carries a fourth member, documentation_url");
    UnknownPayloadKeyMismatch => ("unknown-payload-key-mismatch", rules::PAYLOAD_UNKNOWN_API_KEY, "a payload api_key the server does not know is signature_mismatch instead of invalid_api_key");
    DeviceNotFound404 => ("device-not-found-404", rules::DEACTIVATE_DEVICE_NOT_FOUND, "deactivating a device that holds no seat is answered 404 device_not_found instead of 400");
    NoTransferCount => ("no-transfer-count", rules::ANSWER_MEMBERS, "the success answer has no transfer_count member");
    BlankRequiredValidationError => ("blank-required-validation-error", rules::PAYLOAD_REQUIRED_FORM, "a required member present as null, \"\" or not a string is refused with 400 validation_error (a schema validator's answer)");
    OlderUnicodeLowercase => ("older-unicode-lowercase", rules::ANSWER_LICENSE_SIGNATURE, "license_signature is signed over Unicode 14's lower-casing, as Python 3.11's str.lower: a character whose lowercase mapping is newer (U+16EA0, …) is left as it is");
}

/// The conforming variants a server runs with.
pub type Variants = Switches<Variant>;

/// The variants a running server has on, and how many answers each one changed: one counter per
/// variant, shared by every clone (the server's state and its [`RunningServer`](super::RunningServer)).
#[derive(Debug, Clone)]
pub(crate) struct ServerVariants {
    on: Variants,
    /// Indexed by [`Variant::index`].
    effects: Arc<[AtomicU64]>,
}

impl ServerVariants {
    pub(crate) fn new(on: Variants) -> ServerVariants {
        ServerVariants {
            on,
            effects: Variant::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Whether a variant is on.
    pub(crate) fn has(&self, variant: Variant) -> bool {
        self.on.has(variant)
    }

    /// Notes that `variant` changed an answer: the hooks call it exactly where the answer differs
    /// from the one the server would give without it (not merely where [`has`](Self::has) is asked).
    pub(crate) fn took_effect(&self, variant: Variant) {
        debug_assert!(self.has(variant), "{variant} is not on");
        self.effects[variant.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Every variant that is on, with how many answers it changed so far.
    pub(crate) fn effects(&self) -> Vec<(Variant, u64)> {
        self.on
            .iter()
            .map(|v| (v, self.effects[v.index()].load(Ordering::Relaxed)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variant_s_index_is_its_position_in_all() {
        for (i, v) in Variant::ALL.iter().enumerate() {
            assert_eq!(v.index(), i, "{v}");
        }
    }

    #[test]
    fn clones_share_the_counters_and_only_variants_that_are_on_are_listed() {
        let variants = ServerVariants::new(
            Variants::none()
                .with(Variant::Bearer401)
                .with(Variant::MissingContent),
        );
        let clone = variants.clone();
        clone.took_effect(Variant::MissingContent);
        clone.took_effect(Variant::MissingContent);
        assert_eq!(
            variants.effects(),
            [(Variant::Bearer401, 0), (Variant::MissingContent, 2)]
        );
    }
}
