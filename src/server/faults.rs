//! Named faults: each one a single, deliberate deviation from SPEC at the exact place of one rule
//! of the catalogue (`fixtures/rules.toml`), a mistake real implementations make, breaking that
//! rule and nothing else. `lsconform serve --fault NAME` turns one on; the conformance suite must
//! catch every one of them with a case citing its rule, which is how the project proves that each
//! of its checks can fail.

use super::switches::{switches, Switches};
use crate::protocol::rules;

switches! {
    /// A deliberate deviation of the reference server.
    ///
    /// ```
    /// use lsconform::server::Fault;
    /// let f: Fault = "skip-inner-signature".parse().unwrap();
    /// assert_eq!(f, Fault::SkipInnerSignature);
    /// assert_eq!(f.rule().id, "signature.inner");
    /// assert_eq!(f.spec(), "§4");
    /// assert!("no-such-fault".parse::<Fault>().unwrap_err().contains("--list-faults"));
    /// ```
    pub enum Fault, listed by "lsconform serve --list-faults";

    // SPEC §1: the routes.
    PrefixRouted => ("prefix-routed", rules::ROUTE_UNKNOWN_PATH, "a path that starts with an endpoint's path is routed to that endpoint (a prefix match)");
    WrongMethodNotFound => ("wrong-method-not-found", rules::ROUTE_METHOD, "another method than POST on an endpoint is answered 404 not_found (a router keyed by method and path)");
    HeadersBeforeRoute => ("headers-before-route", rules::ORDER_ROUTE_FIRST, "a request without its required headers is answered missing_headers before its path and method are looked at (an authentication layer in front of the router)");
    // SPEC §1: Accept, recommended and never required.
    AcceptHeaderRequired => ("accept-header-required", rules::HEADERS_ACCEPT_OPTIONAL, "a request without an Accept header is answered missing_headers (Accept counted among the required headers)");
    AcceptJsonOnly => ("accept-json-only", rules::HEADERS_ACCEPT_OPTIONAL, "a request whose Accept header admits no JSON (text/html) is answered 406 not_acceptable (content negotiation on a JSON API)");
    // SPEC §1, §1a: the two required headers.
    WrongCodeForMissingHeaders => ("wrong-code-missing-headers", rules::HEADERS_REQUIRED, "a missing Date or Authorization header is answered missing_parameters instead of missing_headers");
    BodyBeforeMissingHeaders => ("body-before-missing-headers", rules::ORDER_HEADERS_BEFORE_BODY, "when a required header is missing, the body is checked first (its refusal wins over missing_headers)");
    // SPEC §2: the Authorization header.
    DocumentedFormOnly => ("documented-form-only", rules::AUTH_CLIENT_FORMS, "the Authorization header is read only in the documented form: lowercase names, in the documented order, no spaces");
    UnparseableAsMissingPair => ("unparseable-as-missing-pair", rules::AUTH_UNPARSEABLE, "an unparseable Authorization header is answered authorization_missing_params (read as pairs, none found)");
    MissingPairAsUnparseable => ("missing-pair-as-unparseable", rules::AUTH_MISSING_PAIR, "an Authorization header lacking a pair is answered authorization_invalid_headers");
    AcceptAnyAlgorithm => ("accept-any-algorithm", rules::AUTH_ALGORITHM, "the algorithm pair is not checked: any value is taken for hmac-sha256");
    ApiKeyBeforeAlgorithm => ("api-key-before-algorithm", rules::AUTH_ERROR_ORDER, "the header's API key is looked up before its algorithm is checked: an unknown key with another algorithm is invalid_api_key");
    UnknownApiKeyMismatch => ("unknown-api-key-mismatch", rules::AUTH_UNKNOWN_API_KEY, "an API key the server does not know is answered signature_mismatch (verified with no key) instead of invalid_api_key");
    SkipHeaderSignature => ("skip-header-signature", rules::AUTH_HEADER_HMAC, "the Authorization header's HMAC is not checked");
    AcceptAnyBearerToken => ("accept-any-bearer-token", rules::AUTH_BEARER, "Authorization: Bearer with any token passes the header check");
    // SPEC §2: the Date header.
    FiveMinuteWindow => ("five-minute-window", rules::DATE_PAST_WINDOW, "a Date header more than 5 minutes old is refused with date_header_diff (the window of other APIs)");
    AcceptStaleDate => ("accept-stale-date", rules::DATE_PAST_WINDOW, "a Date header more than 15 minutes in the past is accepted");
    AcceptFutureDate => ("accept-future-date", rules::DATE_FUTURE_REFUSED, "a Date header more than 15 minutes ahead of the server clock is accepted");
    RefuseFutureDate => ("refuse-future-date", rules::DATE_FUTURE_WINDOW, "a Date header more than a minute ahead of the server clock is refused with date_header_diff");
    AcceptUnparseableDate => ("accept-unparseable-date", rules::DATE_UNPARSEABLE, "a Date header that is not a time is not checked against the clock (only the HMAC over it is)");
    // SPEC §3: the body.
    NoBodyCap => ("no-body-cap", rules::BODY_CAP, "the body size cap is not enforced");
    CapBelowDeclared => ("cap-below-declared", rules::BODY_WITHIN_CAP, "bodies are capped at half the declared cap, so a request file within it is refused 413");
    TextPlainOnly => ("text-plain-only", rules::BODY_RAW, "a raw body is read only with Content-Type text/plain; any other (or none) is answered missing_parameters");
    MultipartPartHeadersKept => ("multipart-part-headers-kept", rules::BODY_MULTIPART, "the multipart file part is read with its part headers in front of the text, so it never decodes");
    MultipartFirstFileWins => ("multipart-first-file-wins", rules::BODY_MULTIPART_TWO_FILES, "of two multipart file parts the first is read");
    EmptyBodyDecoded => ("empty-body-decoded", rules::BODY_MISSING, "no body or an empty one goes on to the Base64 step: 400 authorization_missing_params");
    MultipartNoFileAsEmpty => ("multipart-no-file-as-empty", rules::BODY_MULTIPART_NO_FILE, "a multipart body without a file part is answered like an empty file part: authorization_missing_params");
    MultipartEmptyFileAsMissing => ("multipart-empty-file-as-missing", rules::BODY_MULTIPART_EMPTY_FILE, "an empty multipart file part is answered like no file part: missing_parameters");
    // SPEC §3: Base64.
    RefuseWhitespace => ("refuse-whitespace", rules::BASE64_WHITESPACE, "ASCII whitespace in the Base64 text (a trailing newline, wrapped lines) is refused");
    RefuseByteOrderMark => ("refuse-byte-order-mark", rules::BASE64_BYTE_ORDER_MARK, "a leading UTF-8 byte-order mark before the Base64 text is refused");
    StripEveryByteOrderMark => ("strip-every-byte-order-mark", rules::BASE64_BYTE_ORDER_MARK, "every leading byte-order mark is stripped, not only one");
    AcceptUrlSafeBase64 => ("accept-url-safe-base64", rules::BASE64_STRICT, "request files in the URL-safe Base64 alphabet are accepted");
    NotBase64ValidationError => ("not-base64-validation-error", rules::BASE64_STRICT, "a request file with printable characters outside the Base64 alphabet is answered 400 validation_error (the decoder's error taken for a validation error)");
    NonAlphabetDiscarded => ("non-alphabet-discarded", rules::BASE64_STRICT, "ASCII characters outside the Base64 alphabet are discarded before decoding (as Python's b64decode does without validate=True)");
    ExtraPaddingIgnored => ("extra-padding-ignored", rules::BASE64_STRICT, "padding beyond what the text's length needs is ignored (the `=` stripped and written again)");
    LenientBase64 => ("lenient-base64", rules::BASE64_STRICT, "missing padding and non-zero trailing bits are accepted (a lenient Base64 decoder)");
    MultipartBase64Strict => ("multipart-base64-strict", rules::BASE64_ANY_TRANSPORT, "a multipart file part is decoded without the whitespace and byte-order-mark allowances of a raw body");
    // SPEC §3: JSON.
    AcceptTrailingGarbage => ("accept-trailing-garbage", rules::JSON_OBJECT, "the first JSON value is read and whatever follows it is ignored");
    NonObjectJson500 => ("non-object-json-500", rules::JSON_OBJECT, "a JSON value that is not an object (an array, a string, null) is answered 500 internal_server_error (its members are read without a type check)");
    NotJsonValidationError => ("not-json-validation-error", rules::JSON_OBJECT, "a decoded text in which no JSON value starts is answered 400 validation_error (the framework's answer to a parse error)");
    JsonByteOrderMarkSkipped => ("json-byte-order-mark-skipped", rules::JSON_BYTE_ORDER_MARK, "a byte-order mark at the start of the decoded JSON is skipped");
    DuplicateKeysLastWins => ("duplicate-keys-last-wins", rules::JSON_DUPLICATE_KEY, "a key given twice in the payload is accepted, the last copy wins");
    NoDepthLimit => ("no-depth-limit", rules::JSON_DEPTH, "nesting deeper than 32 is read like any other JSON");
    DepthLimitOffByOne => ("depth-limit-off-by-one", rules::JSON_DEPTH, "nesting of exactly 32 is refused with authorization_missing_params (the limit counted from 0)");
    DeepNesting500 => ("deep-nesting-500", rules::JSON_ANY_DEPTH, "nesting deeper than 32 is answered 500 internal_server_error (a recursion limit that escapes as a crash)");
    AcceptLoneSurrogates => ("accept-lone-surrogates", rules::JSON_SURROGATE, "an unpaired surrogate escape is read as U+FFFD and the file accepted");
    // SPEC §4: the payload.
    PayloadKeyFromHeader => ("payload-key-from-header", rules::SIGNATURE_INNER, "the payload signatures are verified with the shared key of the Authorization header's API key, whatever the payload's api_key");
    ApiKeyFromHeader => ("api-key-from-header", rules::PAYLOAD_REQUIRED, "a payload without api_key is read with the Authorization header's API key");
    ProductFromLicense => ("product-from-license", rules::PAYLOAD_REQUIRED_PINNED, "a payload without product is read with the product of its license");
    UsernameNotSupported => ("username-not-supported", rules::PAYLOAD_USERNAME, "a payload with username and no license_key is answered authorization_missing_params");
    UsernameActivationOnly => ("username-activation-only", rules::PAYLOAD_USERNAME, "deactivate_offline takes license keys only: a deactivation file with username and no license_key is answered authorization_missing_params");
    PasswordChecked => ("password-checked", rules::PAYLOAD_PASSWORD_NOT_CHECKED, "a password sent with username is compared with the stored one: another is answered license_not_found");
    MissingRequiredValidationError => ("missing-required-validation-error", rules::PAYLOAD_REQUIRED, "a payload without hardware_id, license_key (or username) or api_key (or client_id) is answered 400 validation_error (a schema validator's answer)");
    MissingSignedMemberMismatch => ("missing-signed-member-mismatch", rules::PAYLOAD_REQUIRED_PINNED, "a payload without date, or without the signature its schema requires (schema 1: signature; schema 2: the outer MAC), is answered signature_mismatch (the signatures checked over what is there)");
    RequestMemberRequired => ("request-member-required", rules::PAYLOAD_OPTIONAL_MEMBERS, "a payload without its request member is answered 400 validation_error (the endpoint's kind compared with what is there)");
    RequestIdRequired => ("request-id-required", rules::PAYLOAD_OPTIONAL_MEMBERS, "a payload without request_id is answered authorization_missing_params");
    RefuseUnknownFields => ("refuse-unknown-fields", rules::PAYLOAD_UNKNOWN_FIELDS, "a payload member the server does not know is refused with authorization_missing_params");
    OddMemberValidationError => ("odd-member-validation-error", rules::PAYLOAD_ODD_OPTIONAL, "an optional member the server reads (request_id, bundle_code, password, the inner signature) present as null, \"\" or of another type is answered 400 validation_error");
    DeactivationWithoutRequestRefused => ("deactivation-without-request-refused", rules::PAYLOAD_REQUEST_ABSENT, "a deactivation file without a request member is answered 400 validation_error (an absent member read as \"activation\")");
    AcceptAnyRequestKind => ("accept-any-request-kind", rules::PAYLOAD_REQUEST_KIND, "the payload's request member is not read, so files can be replayed across endpoints");
    RefuseOldPayloadDate => ("refuse-old-payload-date", rules::PAYLOAD_DATE_AGE, "a payload date more than a day old is refused with date_header_diff");
    PayloadDateHttpOnly => ("payload-date-http-only", rules::PAYLOAD_DATE_FORMS, "a schema-1 payload date that is not an HTTP date is refused with validation_error");
    // SPEC §4: the payload signatures.
    SkipInnerSignature => ("skip-inner-signature", rules::SIGNATURE_INNER, "the payload's inner signature is not checked");
    InnerSignatureRequired => ("inner-signature-required", rules::SIGNATURE_INNER_OPTIONAL, "a schema-2 file without an inner signature member is answered authorization_missing_params");
    TrimBeforeSigning => ("trim-before-signing", rules::SIGNATURE_INNER_VERBATIM, "the inner signature is verified over the values trimmed of surrounding whitespace");
    SkipOuterSignature => ("skip-outer-signature", rules::SIGNATURE_OUTER, "the schema-2 outer MAC is checked for its form only (lowercase hex or Base64 of 32 bytes), never for its value");
    OuterMacPrefixCompared => ("outer-mac-prefix-compared", rules::SIGNATURE_OUTER, "the schema-2 outer MAC is compared over the length written (a memcmp of the given length), so the start of the right MAC passes");
    OuterMacOverPythonJson => ("outer-mac-over-python-json", rules::SIGNATURE_OUTER_RAW_BYTES, "the schema-2 outer MAC is verified over the request member re-serialised as Python's json.dumps writes it (\", \", \": \", non-ASCII escaped), not over its bytes");
    OuterMacBase64Only => ("outer-mac-base64-only", rules::SIGNATURE_OUTER_ENCODINGS, "a schema-2 outer MAC written in hex is answered signature_mismatch");
    LeakLicenseExistence => ("leak-license-existence", rules::SIGNATURE_BEFORE_LICENSE, "the product and the license are looked up before the payload signatures are checked");
    // SPEC §5: the business rules.
    UnknownProductNotFound => ("unknown-product-not-found", rules::BUSINESS_UNKNOWN_PRODUCT, "an unknown product is answered license_not_found (one lookup by product and key)");
    UnknownLicenseAsUnknownProduct => ("unknown-license-as-unknown-product", rules::BUSINESS_UNKNOWN_LICENSE, "a license the product does not have is answered unknown_product (product and license looked up in one join)");
    LicenseOfAnyProduct => ("license-of-any-product", rules::BUSINESS_UNKNOWN_LICENSE, "a license is looked up by its key alone, so a license of another product is activated");
    IgnoreDisabled => ("ignore-disabled", rules::BUSINESS_DISABLED, "a disabled license is activated");
    IgnoreInactive => ("ignore-inactive", rules::BUSINESS_INACTIVE, "an inactive license is activated");
    IgnoreExpiry => ("ignore-expiry", rules::BUSINESS_EXPIRED, "the validity of a license that is not a trial is not checked");
    TrialExpiredAsExpired => ("trial-expired-as-expired", rules::BUSINESS_TRIAL_EXPIRED, "a trial past its end is answered license_expired instead of trial_expired");
    ConsumptionNotOffline => ("consumption-not-offline", rules::BUSINESS_LICENSE_TYPE, "a consumption license is answered license_type_not_supported_offline");
    AnyLicenseTypeOffline => ("any-license-type-offline", rules::BUSINESS_LICENSE_TYPE, "a license of any type is activated offline");
    ReactivationConflict500 => ("reactivation-conflict-500", rules::ANY_NO_SERVER_ERROR, "activating a device that already holds a seat on the license is answered 500 (the seat's unique key violated)");
    ReactivationTakesSeat => ("reactivation-takes-seat", rules::BUSINESS_REACTIVATION, "a device that already holds a seat is refused when the seats are full");
    SeatsOffByOne => ("seats-off-by-one", rules::BUSINESS_SEATS_FULL, "one activation more than max_activations is allowed");
    NonAtomicSeats => ("non-atomic-seats", rules::BUSINESS_SEATS_CONCURRENT, "seats are counted and taken in two transactions, so concurrent activations overbook");
    ForgetAnswers => ("forget-answers", rules::BUSINESS_REQUEST_ID_REPLAY, "a replay (the same request_id and payload) is handled again instead of answered with the stored answer");
    RequestIdAfterRules => ("request-id-after-rules", rules::BUSINESS_REQUEST_ID_FIRST, "the request_id is looked up after the license rules, so a replay to a license that filled up since is refused");
    IgnoreRequestIdConflict => ("ignore-request-id-conflict", rules::BUSINESS_REQUEST_ID_CONFLICT, "a request_id seen before with another payload is handled as a new request");
    /// No HTTP exchange can see it (the page cache keeps the data for as long as the machine
    /// runs); `tests/reference_server/durability.rs` catches it by counting sync system calls.
    NoSync => ("no-sync", rules::BUSINESS_DURABLE, "acknowledged activations are not synced to disk (synchronous=OFF)");
    DeactivationKeepsSeat => ("deactivation-keeps-seat", rules::DEACTIVATE_FREES_SEAT, "deactivate_offline answers license_deactivated but the seat stays taken");
    DeactivationFreesEveryLicense => ("deactivation-frees-every-license", rules::DEACTIVATE_OTHER_LICENSE_UNTOUCHED, "deactivating a device that holds no seat on the license frees its seats on every other license");
    DeactivateUnknownDevice => ("deactivate-unknown-device", rules::DEACTIVATE_DEVICE_NOT_FOUND, "deactivating a device that holds no seat answers license_deactivated");
    // SPEC §6: the success answer.
    AnswerTextPlain => ("answer-text-plain", rules::ANSWER_CONTENT_TYPE, "the success answer is sent with Content-Type text/plain");
    DropIsExpired => ("drop-is-expired", rules::ANSWER_MEMBERS, "the success answer has no is_expired member (license_signature_v2 covers the members sent)");
    IsTrialAlwaysFalse => ("is-trial-always-false", rules::ANSWER_LICENSE_VALUES, "the success answer says is_trial false for every license");
    TimesActivatedTwice => ("times-activated-twice", rules::ANSWER_TIMES_ACTIVATED, "times_activated counts a device that already held its seat once more (the count plus one, whether a seat was taken or not)");
    TrimEchoedHardwareId => ("trim-echoed-hardware-id", rules::ANSWER_ECHO_VERBATIM, "once the signatures passed, hardware_id is trimmed of surrounding whitespace: stored, echoed and signed so");
    OfflineSignatureTrailingNewline => ("offline-signature-trailing-newline", rules::ANSWER_OFFLINE_SIGNATURE, "offline_signature is computed over its signing string with a trailing newline");
    LicenseSignatureNotLowercased => ("license-signature-not-lowercased", rules::ANSWER_LICENSE_SIGNATURE, "license_signature is computed over its signing string without lower-casing it");
    DropRequestId => ("drop-request-id", rules::ANSWER_REQUEST_ID, "the success answer does not echo request_id");
    ReorderSignedBody => ("reorder-signed-body", rules::ANSWER_LICENSE_SIGNATURE_V2, "license_signature_v2 is computed over the body with its members re-ordered");
    // SPEC §7: the error answer.
    ErrorTextPlain => ("error-text-plain", rules::ERROR_SHAPE, "error answers are sent with Content-Type text/plain");
    ErrorStatusMismatch => ("error-status-always-400", rules::ERROR_STATUS_MEMBER, "the error body's status member is always 400, whatever the HTTP status");
}

/// The faults a server runs with.
pub type Faults = Switches<Fault>;
