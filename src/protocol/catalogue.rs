//! The rule catalogue: every testable statement of SPEC, once, with a stable id. The entries are
//! data, `fixtures/rules.toml`; the build turns each into a constant of [`rules`] (`body.cap` is
//! [`rules::BODY_CAP`]). The oracle, the reference server's faults, the cases, the Rust checks and
//! the generated properties all name the rules they apply or test by these constants and ids.

use serde::{Deserialize, Serialize};

use super::request::RequestKind;
use super::transport::Transport;

/// Where a rule comes from (SPEC's tags), which sets how strictly a third-party server is held to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tag {
    /// The endpoint page itself.
    Seed,
    /// Other LicenseSpring documentation.
    Docs,
    /// What the official SDKs send or verify.
    Sdk,
    /// This project's decision where nothing is published.
    Pinned,
}

/// How a departure from a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A warning.
    Should,
    /// A failure.
    Must,
}

impl Tag {
    /// SPEC's table: \[seed], \[docs], \[sdk] are MUST; \[pinned] is SHOULD unless a safety property.
    ///
    /// ```
    /// use lsconform::protocol::{Severity, Tag};
    /// assert_eq!(Tag::Pinned.severity(false), Severity::Should);
    /// assert_eq!(Tag::Pinned.severity(true), Severity::Must);
    /// assert_eq!(Tag::Seed.severity(false), Severity::Must);
    /// ```
    pub fn severity(self, safety: bool) -> Severity {
        match (self, safety) {
            (Tag::Pinned, false) => Severity::Should,
            _ => Severity::Must,
        }
    }
}

/// A rule of SPEC: its id, section and tag, whether it is a safety property, and its words.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The stable id, `<area>.<slug>`.
    pub id: &'static str,
    /// The section of SPEC.md, e.g. `§3`.
    pub spec: &'static str,
    /// The tag.
    pub tag: Tag,
    /// A safety property (a `[pinned]` one is then MUST).
    pub safety: bool,
    /// SPEC says SHOULD where its tag alone would make it MUST.
    pub should: bool,
    /// A few words, for reports.
    pub what: &'static str,
    /// The SPEC sentence it stands for.
    pub words: &'static str,
    /// The endpoints it applies to (none: the server as a whole, e.g. its routes).
    pub endpoints: &'static [RequestKind],
    /// The transports a case must test it on (none: any one).
    pub transports: &'static [Transport],
    /// Why no HTTP exchange of a black-box client can show it, if none can.
    pub unobservable: Option<&'static str>,
}

impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.id == other.id
    }
}

impl Eq for Rule {}

impl std::hash::Hash for Rule {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl Rule {
    /// MUST or SHOULD, by SPEC's table (or SPEC's own SHOULD).
    ///
    /// ```
    /// use lsconform::protocol::{rules, Severity};
    /// assert_eq!(rules::BODY_CAP.severity(), Severity::Must); // [pinned, safety]
    /// assert_eq!(rules::JSON_DEPTH.severity(), Severity::Should); // [pinned]
    /// assert_eq!(rules::DATE_HTTP_FORMS.severity(), Severity::Should); // SPEC's SHOULD
    /// ```
    pub fn severity(&self) -> Severity {
        if self.should {
            Severity::Should
        } else {
            self.tag.severity(self.safety)
        }
    }

    /// The same rule, held as a warning: for an answer SPEC allows that differs from the
    /// reference's pinned choice (SPEC §10).
    pub const fn warning(self) -> Rule {
        Rule { should: true, ..self }
    }

    /// The rule of this id.
    ///
    /// ```
    /// use lsconform::protocol::{rules, Rule};
    /// assert_eq!(Rule::by_id("json.duplicate-key"), Some(rules::JSON_DUPLICATE_KEY));
    /// assert_eq!(Rule::by_id("no.such-rule"), None);
    /// ```
    pub fn by_id(id: &str) -> Option<Rule> {
        rules::ALL.iter().find(|r| r.id == id).copied()
    }

    /// Whether it applies to this endpoint.
    pub fn applies_to(&self, kind: RequestKind) -> bool {
        self.endpoints.contains(&kind)
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} {})", self.id, self.spec, self.what)
    }
}

/// Every rule of `fixtures/rules.toml`, one constant each, and [`ALL`](rules::ALL).
pub mod rules {
    use super::{RequestKind, Rule, Tag, Transport};

    include!(concat!(env!("OUT_DIR"), "/rules.rs"));
}
