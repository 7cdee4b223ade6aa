//! The wire contract of `../shared/SPEC.md` as pure functions: no sockets, no clock, no database.
//! Time and keys are passed in.
//!
//! | SPEC | here |
//! |---|---|
//! | §2 the Authorization header, HTTP dates | [`authenticate`], [`AuthorizationHeader`], [`check_date`] |
//! | §3 the body transport, Base64, JSON | [`request_file_text`], [`decode_request_file`], [`decode_request`] |
//! | §4 schema 1 and 2, required fields, signatures | [`DecodedRequest::check`], [`CheckedRequest::verify`] |
//! | every rule, by id (`fixtures/rules.toml`) | [`rules`], [`Rule`] |
//! | §10 what else conforms: the set of allowed answers | [`allowed`], [`Allowed`] |
//! | §5 the business rules (a license's state) | [`activation_rules`] |
//! | §6 the success answer | [`ActivationAnswer::sign`], [`check_answer`], [`Lowercasing`] |
//! | §7 the error answer | [`ErrorCode`], [`ErrorBody`] |
//! | what the SDKs write | [`RequestBuilder`], [`Style`] |

mod answer;
mod auth;
mod builder;
mod business;
mod catalogue;
mod error;
mod keys;
mod lowercase;
mod oracle;
mod payload;
mod request;
mod signature;
mod transport;

pub use answer::{
    answer_json, check_answer, format_validity_period, license_signing_string, ActivationAnswer, AnswerCheck,
    AnswerError, AnswerLayout, AnswerLicensee, OfflineKey, ProductDetails, Verdict,
};
pub use auth::{
    authenticate, check_date, format_http_date, header_signature, header_signing_string, parse_http_date,
    parse_other_date, AuthorizationHeader, MAX_DATE_SKEW,
};
pub use builder::{RequestBuilder, RequestFile, Style, Tamper};
pub use business::{activates_offline, activation_rules, is_expired, LicenseState, Seat};
pub use catalogue::{rules, Rule, Severity, Tag};
pub use error::{ErrorBody, ErrorCode, ErrorShapeError, Rejection};
pub use keys::{KeyError, PublicKey, SigningKey};
pub use lowercase::Lowercasing;
pub use oracle::{
    allowed, wrong_method, Allowed, Answer, Broken, Fit, OracleRequest, SentHeaders, ServerKnows,
};
pub(crate) use payload::without_lone_surrogates;
pub use payload::{is_spec_member, OddMember, Oddity, Payload, Schema, MAX_DEPTH, READ_MEMBERS};
pub use request::{
    decode_request, ApiIdentity, CheckedRequest, DecodedRequest, Licensee, OddTypes, RequestKind,
    RequestMember,
};
pub use signature::{
    hmac_sha256, inner_signature, inner_signing_string, outer_signature, verify_inner_signature,
    verify_outer_signature, MacEncoding,
};
pub use transport::{
    decode_request_file, encode_request_file, is_multipart, request_file_text, Transport, FILE_PART,
    MIN_BODY_CAP,
};
