//! The error table (SPEC §7, and every code named elsewhere in SPEC).
//!
//! Each code is written once, in [`error_table!`], with its HTTP status, the SPEC section and tag it
//! comes from, and the message people read. Everything else (the server, the double, the suite's
//! expectations) asks this table.

use serde::{Deserialize, Serialize};

use super::RequestKind;

macro_rules! error_table {
    ($( $(#[$doc:meta])* $variant:ident => ([$($status:literal),+], [$($code:literal),+], $message:literal); )+) => {
        /// A code of the error answer, `{"status": …, "code": "…", "message": "…"}`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )+
        }

        impl ErrorCode {
            /// Every code of the table, in the order of the table.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )+ ];

            /// The codes a server may answer for this error: the table's own code first, then the
            /// aliases other LicenseSpring documents use.
            pub const fn accepted_codes(self) -> &'static [&'static str] {
                match self { $( ErrorCode::$variant => &[$($code),+], )+ }
            }

            /// The statuses a server may answer with, the reference server's first.
            pub const fn accepted_statuses(self) -> &'static [u16] {
                match self { $( ErrorCode::$variant => &[$($status),+], )+ }
            }

            /// The message for people (the suite never judges message text).
            pub const fn message(self) -> &'static str {
                match self { $( ErrorCode::$variant => $message, )+ }
            }
        }
    };
}

error_table! {
    /// SPEC §1: any other path.
    NotFound => ([404], ["not_found"], "not found");
    /// SPEC §1: wrong method \[pinned].
    MethodNotAllowed => ([405], ["method_not_allowed"], "method not allowed");
    /// SPEC §3: the body cap, enforced while the body streams in [pinned, safety].
    PayloadTooLarge => ([413], ["payload_too_large"], "the request body is too large");
    /// SPEC §1 and the seed: "when missing authorization or date headers".
    MissingHeaders => ([400], ["missing_headers"], "some headers are missing");
    /// SPEC §2: the Authorization header cannot be parsed.
    AuthorizationInvalidHeaders => ([400], ["authorization_invalid_headers"], "the authorization header is invalid");
    /// SPEC §2 (a pair missing from the header), §3 and §4 (the seed's five bullets).
    AuthorizationMissingParams => ([400], ["authorization_missing_params"], "some parameters are missing in authorization");
    /// SPEC §2: an algorithm other than hmac-sha256.
    HmacRequired => ([400], ["hmac_required"], "the hmac-sha256 algorithm is required");
    /// SPEC §2: Date not parseable or more than 15 minutes from the server clock.
    DateHeaderDiff => ([400], ["date_header_diff"], "the date header is invalid or too far from the server time");
    /// SPEC §2: unknown API key.
    InvalidApiKey => ([400], ["invalid_api_key"], "invalid api key");
    /// SPEC §2 and §4: any signature mismatch; 401 in the reference, and the docs say 400 in one place.
    SignatureMismatch => ([401, 400], ["signature_mismatch"], "signature mismatch");
    /// SPEC §3 and the seed: "when no request body at all or no file found in request body";
    /// newer docs call it `missing_content`.
    MissingParameters => ([400], ["missing_parameters", "missing_content"], "some parameters are missing in the request");
    /// SPEC §4: a `request` value other than the endpoint's own [pinned, safety].
    ValidationError => ([400], ["validation_error"], "validation error");
    /// SPEC §5.1.
    UnknownProduct => ([400], ["unknown_product"], "unknown product");
    /// SPEC §5.1: unknown license, or a license of another product.
    LicenseNotFound => ([400], ["license_not_found"], "license not found");
    /// SPEC §5.2.
    LicenseNotEnabled => ([400], ["license_not_enabled"], "license is not enabled");
    /// SPEC §5.2.
    LicenseNotActive => ([400], ["license_not_active"], "license is not active");
    /// SPEC §5.2.
    LicenseExpired => ([400], ["license_expired"], "license is expired");
    /// SPEC §5.2.
    TrialExpired => ([400], ["trial_expired"], "trial is expired");
    /// SPEC §5.3 and the seed: "we support trial, perpetual and consumption license types".
    LicenseTypeNotSupportedOffline => ([400], ["license_type_not_supported_offline"], "this license type cannot be activated offline");
    /// SPEC §5.4: seats full.
    LicenseActivatedMaxTimes => ([400], ["license_activated_max_times"], "license has been activated the maximum number of times");
    /// SPEC §5.5: the same `request_id` with another payload [pinned, safety].
    RequestIdConflict => ([409], ["request_id_conflict"], "this request_id was already used for another request");
    /// deactivate_offline of a device that holds no seat \[pinned].
    DeviceNotFound => ([400], ["device_not_found"], "device not found");
    /// The server broke; never an answer to anything a client did.
    InternalServerError => ([500], ["internal_server_error"], "internal server error");
}

impl ErrorCode {
    /// The refusals of SPEC §5, the business rules, of an endpoint: a request whose transport,
    /// file, fields and signatures are all good may still get one of these (and only these, or a
    /// 200).
    ///
    /// ```
    /// use lsconform::protocol::{ErrorCode, RequestKind};
    /// let activation = ErrorCode::business(RequestKind::Activation);
    /// assert!(activation.contains(&ErrorCode::LicenseActivatedMaxTimes));
    /// assert!(!activation.contains(&ErrorCode::SignatureMismatch));
    /// assert!(ErrorCode::business(RequestKind::Deactivation).contains(&ErrorCode::DeviceNotFound));
    /// ```
    pub const fn business(kind: RequestKind) -> &'static [ErrorCode] {
        match kind {
            RequestKind::Activation => &[
                ErrorCode::UnknownProduct,
                ErrorCode::LicenseNotFound,
                ErrorCode::LicenseNotEnabled,
                ErrorCode::LicenseNotActive,
                ErrorCode::LicenseExpired,
                ErrorCode::TrialExpired,
                ErrorCode::LicenseTypeNotSupportedOffline,
                ErrorCode::LicenseActivatedMaxTimes,
                ErrorCode::RequestIdConflict,
            ],
            RequestKind::Deactivation => &[
                ErrorCode::UnknownProduct,
                ErrorCode::LicenseNotFound,
                ErrorCode::DeviceNotFound,
                ErrorCode::RequestIdConflict,
            ],
        }
    }

    /// The wire code the reference server answers, e.g. `"missing_headers"`.
    pub const fn code(self) -> &'static str {
        self.accepted_codes()[0]
    }

    /// The HTTP status the reference server answers with.
    pub const fn status(self) -> u16 {
        self.accepted_statuses()[0]
    }

    /// Looks a wire code up in the table; also knows the documented aliases (`missing_content`).
    ///
    /// ```
    /// use lsconform::protocol::ErrorCode;
    /// assert_eq!(ErrorCode::from_code("missing_headers"), Some(ErrorCode::MissingHeaders));
    /// assert_eq!(ErrorCode::from_code("missing_content"), Some(ErrorCode::MissingParameters));
    /// assert_eq!(ErrorCode::from_code("teapot"), None);
    /// ```
    pub fn from_code(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|c| c.accepted_codes().contains(&code))
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a request is refused: a code of the table and, for people, what exactly was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct Rejection {
    /// The code of the error answer.
    pub code: ErrorCode,
    /// What was wrong, for the message (never a secret).
    pub detail: String,
}

impl Rejection {
    /// A rejection with a detail for the message.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Rejection {
            code,
            detail: detail.into(),
        }
    }

    /// The error answer's body for this rejection.
    ///
    /// ```
    /// use lsconform::protocol::{ErrorCode, Rejection};
    /// let body = Rejection::new(ErrorCode::MissingHeaders, "Date").error_body();
    /// assert_eq!(body.status, 400);
    /// assert_eq!(body.code, "missing_headers");
    /// assert_eq!(body.message, "some headers are missing: Date");
    /// ```
    pub fn error_body(&self) -> ErrorBody {
        let message = if self.detail.is_empty() {
            self.code.message().to_owned()
        } else {
            format!("{}: {}", self.code.message(), self.detail)
        };
        ErrorBody {
            status: self.code.status(),
            code: self.code.code().to_owned(),
            message,
        }
    }
}

impl From<ErrorCode> for Rejection {
    fn from(code: ErrorCode) -> Self {
        Rejection::new(code, "")
    }
}

/// The error answer, exactly `{"status": <HTTP status>, "code": "<code>", "message": "<text>"}` (SPEC §7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The same number as the HTTP status.
    pub status: u16,
    /// A code of the table (or a code unknown to it, from a third-party server).
    pub code: String,
    /// Text for people.
    pub message: String,
}

/// How an error answer departs from the shape of SPEC §7.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorShapeError {
    /// Not a JSON object with exactly `status`, `code` and `message` of the right types.
    #[error("the error body is not {{\"status\": number, \"code\": string, \"message\": string}}: {0}")]
    Shape(String),
    /// `status` in the body differs from the HTTP status.
    #[error("the body says status {body} but the HTTP status is {http}")]
    StatusDiffers {
        /// `status` in the body.
        body: u16,
        /// The HTTP status line.
        http: u16,
    },
}

/// An error body of SPEC §7 as a client reads it: the three members, and any others (a warning).
#[derive(Deserialize)]
struct ErrorBodyWithMore {
    status: u16,
    code: String,
    message: String,
    #[serde(flatten)]
    more: serde_json::Map<String, serde_json::Value>,
}

impl ErrorBody {
    /// Like [`parse`](Self::parse), but members beyond the three of SPEC §7 are allowed (clients
    /// ignore them; SPEC §7 makes them a warning): the body and the names of the others, in order.
    ///
    /// ```
    /// use lsconform::protocol::ErrorBody;
    /// let body = br#"{"status":400,"code":"missing_headers","message":"x","docs":"y"}"#;
    /// let (parsed, more) = ErrorBody::parse_with_more(body, 400).unwrap();
    /// assert_eq!((parsed.code.as_str(), more), ("missing_headers", vec!["docs".to_owned()]));
    /// assert!(ErrorBody::parse_with_more(br#"{"status":400,"code":"x"}"#, 400).is_err());
    /// ```
    pub fn parse_with_more(
        body: &[u8],
        http_status: u16,
    ) -> Result<(ErrorBody, Vec<String>), ErrorShapeError> {
        if let Ok(exact) = ErrorBody::parse(body, http_status) {
            return Ok((exact, Vec::new()));
        }
        let parsed: ErrorBodyWithMore =
            serde_json::from_slice(body).map_err(|e| ErrorShapeError::Shape(e.to_string()))?;
        if parsed.status != http_status {
            return Err(ErrorShapeError::StatusDiffers {
                body: parsed.status,
                http: http_status,
            });
        }
        let more = parsed.more.keys().cloned().collect();
        let body = ErrorBody {
            status: parsed.status,
            code: parsed.code,
            message: parsed.message,
        };
        Ok((body, more))
    }

    /// The body as JSON text, members in the order of SPEC §7.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a struct of strings and a number always serialises")
    }

    /// Reads an error answer and checks its shape against SPEC §7, including that the body's
    /// `status` equals the HTTP status.
    ///
    /// ```
    /// use lsconform::protocol::ErrorBody;
    /// let body = br#"{"status":400,"code":"missing_headers","message":"x"}"#;
    /// assert!(ErrorBody::parse(body, 400).is_ok());
    /// assert!(ErrorBody::parse(body, 401).is_err());
    /// assert!(ErrorBody::parse(br#"{"status":400,"code":"x"}"#, 400).is_err());
    /// ```
    pub fn parse(body: &[u8], http_status: u16) -> Result<ErrorBody, ErrorShapeError> {
        // serde's derive refuses unknown and duplicated members, so the shape is exact.
        let parsed: ErrorBody =
            serde_json::from_slice(body).map_err(|e| ErrorShapeError::Shape(e.to_string()))?;
        if parsed.status != http_status {
            return Err(ErrorShapeError::StatusDiffers {
                body: parsed.status,
                http: http_status,
            });
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_appears_once_in_the_table() {
        let mut codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.code()).collect();
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n);
    }

    #[test]
    fn every_code_round_trips_through_from_code() {
        for &c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(c.code()), Some(c));
            assert!(c.accepted_statuses().contains(&c.status()));
        }
    }

    #[test]
    fn the_seed_codes_are_400() {
        for c in [
            ErrorCode::MissingHeaders,
            ErrorCode::MissingParameters,
            ErrorCode::AuthorizationMissingParams,
        ] {
            assert_eq!(c.status(), 400);
        }
    }

    #[test]
    fn error_body_has_exactly_three_members_in_order() {
        let json = Rejection::from(ErrorCode::SignatureMismatch)
            .error_body()
            .to_json();
        assert_eq!(
            json,
            r#"{"status":401,"code":"signature_mismatch","message":"signature mismatch"}"#
        );
    }

    #[test]
    fn error_body_with_an_extra_member_is_refused() {
        let body = br#"{"status":400,"code":"x","message":"m","extra":1}"#;
        assert!(matches!(
            ErrorBody::parse(body, 400),
            Err(ErrorShapeError::Shape(_))
        ));
    }
}
