//! Generated cases: `lsconform run --generated N [--seed S]` sends N requests made by proptest
//! strategies ([`strategies`]) and holds every answer to properties that must hold on any target:
//!
//! 1. [`Property::NoServerError`]: no request, valid or hostile, gets a 5xx (or no answer);
//! 2. [`Property::ErrorShape`]: every error answer has the shape of SPEC §7;
//! 3. [`Property::OracleAgreement`]: a request is accepted exactly when the local oracle
//!    ([`oracle`]: `protocol`'s transport, Base64, JSON, field and signature checks, with the
//!    profile's shared key) accepts it: refused with the oracle's code when it refuses, and when it
//!    accepts, refused with nothing decided before SPEC §5 (the business codes of §5 are fine);
//! 4. [`Property::SignedAnswer`]: an accepted request gets a signed answer of SPEC §6 that echoes it.
//!
//! The requests are valid ones (every [`Style`], random but valid values with non-ASCII and
//! control characters and long strings, extra members of any JSON type, the profile's licenses,
//! odd payload dates, every transport) and hostile ones: semantic mutations re-signed correctly,
//! envelope mutations left broken ([`Mutation`]), re-signed grammar mutations (one defect of the
//! JSON or Base64 grammar that lenient parsers accept, in a file whose every signature is right
//! over the bytes sent: [`GrammarMutation`]), and one time in ten changed Date and
//! Authorization headers ([`HeaderMutation`]: left out, skewed, in other forms, other algorithms,
//! pairs left out, another key, any text), judged with `protocol::authenticate` first. Request *i* of a run comes from its own
//! ChaCha RNG seeded with the run's seed and *i*, so a seed reproduces a run. The first request
//! that breaks a property is shrunk with proptest (each step sends the smaller request again) and
//! reported as an ordinary [`CaseResult`] `generated/<property>`, with the decoded payload, the
//! answer and a curl line. A seat an accepted request took is given back with
//! `deactivate_offline` when the profile says the target supports it.
//!
//! [`Style`]: crate::protocol::Style
//! [`CaseResult`]: crate::suite::CaseResult
//!
//! ```no_run
//! # async fn demo() {
//! use lsconform::suite::generate::{self, GenerateOptions};
//! use lsconform::suite::{Profile, RunOptions};
//! let profile = Profile::reference("http://127.0.0.1:8080");
//! let options = GenerateOptions::new(200, 42);
//! for result in generate::run(&profile, &options, &RunOptions::default(), |_| {}).await {
//!     println!("{} {:?}", result.id, result.verdict);
//! }
//! # }
//! ```

pub mod strategies;

pub(in crate::suite) mod finding;
mod grammar;
mod model;
mod properties;
mod render;
mod run;
mod shrink;

use std::time::Duration;

pub use grammar::{
    skipped_byte, BadEscape, Base64Leniency, Container, ControlChar, GrammarMutation, JsonExtension,
    KeyPlace, NonFinite, NumberForm, Place, Utf8Defect, BASE64_FILLER, SLOT_NAME,
};
pub use model::{
    AuthPair, DateChoice, DateForm, Encoding, Field, GeneratedRequest, HeaderMutation, KindValue,
    LicenseChoice, Misspelling, Mutation, Padding, Position, ProductChoice, SignatureTamper, TransportChoice,
    Wrap,
};
pub(in crate::suite) use properties::{Exchange, Violation};
pub use render::{oracle, GeneratedCase};
pub use run::{requests, run, run_telling};
pub(in crate::suite) use run::{stream, stream_drawn, Budget};
pub(in crate::suite) use shrink::{smallest, smallest_difference};

/// How many requests `lsconform run` generates when `--generated` is not given.
pub const DEFAULT_REQUESTS: usize = 200;

/// After this many requests got no answer at all (refused connection, timeout), the rest are not
/// sent: a target that does not answer costs at most this many timeouts.
const MAX_NO_ANSWER: usize = 3;

/// Shrinking stops after this many steps (each one an exchange with the target) …
const MAX_SHRINK_STEPS: u32 = 1024;
/// … or this long.
const MAX_SHRINK_TIME: Duration = Duration::from_secs(10);

/// What a run of generated cases does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// How many requests (0: none).
    pub requests: usize,
    /// The seed: the same seed, profile and count send the same requests.
    pub seed: u64,
    /// The properties to report (all of them by default; the requests are the same).
    pub properties: Vec<Property>,
}

impl GenerateOptions {
    /// `requests` requests from `seed`, every property.
    pub fn new(requests: usize, seed: u64) -> GenerateOptions {
        GenerateOptions {
            requests,
            seed,
            properties: Property::ALL.to_vec(),
        }
    }
}

/// A seed for a run that was given none.
pub fn random_seed() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

/// A property every generated request must satisfy, on any target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Property {
    /// Never a 5xx, never no answer.
    NoServerError,
    /// Every error answer has the shape of SPEC §7.
    ErrorShape,
    /// Accepted exactly when the oracle accepts; refused with the oracle's code.
    OracleAgreement,
    /// An accepted request gets a signed SPEC §6 answer that echoes it.
    SignedAnswer,
}

impl Property {
    /// Every property.
    pub const ALL: [Property; 4] = [
        Property::NoServerError,
        Property::ErrorShape,
        Property::OracleAgreement,
        Property::SignedAnswer,
    ];

    /// Its case id.
    ///
    /// ```
    /// use lsconform::suite::generate::Property;
    /// assert_eq!(Property::OracleAgreement.id(), "generated/oracle-agreement");
    /// ```
    pub const fn id(self) -> &'static str {
        match self {
            Property::NoServerError => "generated/no-server-error",
            Property::ErrorShape => "generated/error-shape",
            Property::OracleAgreement => "generated/oracle-agreement",
            Property::SignedAnswer => "generated/signed-answer",
        }
    }

    /// One line.
    pub const fn title(self) -> &'static str {
        match self {
            Property::NoServerError => "No generated request, valid or hostile, gets a 5xx or no answer",
            Property::ErrorShape => {
                "Every error answer to a generated request is {status, code, message} with the HTTP status"
            }
            Property::OracleAgreement => {
                "A generated request is accepted exactly when protocol accepts it, else refused with its code"
            }
            Property::SignedAnswer => {
                "An accepted generated request gets a signed SPEC §6 answer that echoes what was sent"
            }
        }
    }

    /// The rule it holds the target to (for [`Property::OracleAgreement`], the rule at stake
    /// depends on the request: see [`GeneratedCase::rule`]).
    pub const fn rule(self) -> Rule {
        match self {
            Property::NoServerError => rules::ANY_NO_SERVER_ERROR,
            Property::ErrorShape => rules::ERROR_SHAPE,
            Property::OracleAgreement => rules::ANY_SDK_FILES_ACCEPTED,
            Property::SignedAnswer => rules::ANSWER_LICENSE_SIGNATURE_V2,
        }
    }

    /// The rules of the catalogue it tests, the one of [`rule`](Self::rule) first.
    pub const fn rules(self) -> &'static [Rule] {
        match self {
            Property::NoServerError => &[rules::ANY_NO_SERVER_ERROR],
            Property::ErrorShape => &[rules::ERROR_SHAPE, rules::ERROR_STATUS_MEMBER],
            Property::OracleAgreement => &[rules::ANY_SDK_FILES_ACCEPTED],
            Property::SignedAnswer => &[
                rules::ANSWER_LICENSE_SIGNATURE_V2,
                rules::ANSWER_LICENSE_SIGNATURE,
                rules::ANSWER_OFFLINE_SIGNATURE,
                rules::ANSWER_ECHO_VERBATIM,
            ],
        }
    }
}

/// Keeps the properties whose id matches one of `only` (all when empty) and none of `skip`
/// (globs, as `lsconform run --only/--skip`).
///
/// ```
/// use lsconform::suite::generate::{select_properties, Property};
/// let all = select_properties(&[], &[]).unwrap();
/// assert_eq!(all, Property::ALL.to_vec());
/// let none = select_properties(&["envelope/*".into()], &[]).unwrap();
/// assert!(none.is_empty());
/// let one = select_properties(&["generated/*".into()], &["*shape*".into(), "*error*".into(), "*signed*".into()]).unwrap();
/// assert_eq!(one, vec![Property::OracleAgreement]);
/// ```
pub fn select_properties(only: &[String], skip: &[String]) -> Result<Vec<Property>, String> {
    let selected = crate::suite::selection(only, skip)?;
    Ok(Property::ALL.into_iter().filter(|p| selected(p.id())).collect())
}

/// A rule of SPEC (one type for the oracle, the cases and the generated properties).
pub use crate::protocol::{rules, Rule};
