//! Every case of the suite: the data cases of `fixtures/cases/` and the programmatic checks of
//! [`checks`](super::checks), under one kind of id, tag and severity.

use std::path::Path;

use super::case::{DataCase, Endpoint, Expectation, Rule, Severity, Tag};
use super::checks::Check;
use crate::protocol::{ErrorCode, RequestKind};

include!(concat!(env!("OUT_DIR"), "/cases.rs"));

/// A case of either kind.
#[derive(Debug, Clone)]
pub enum Case {
    /// A data case (`fixtures/cases/<id>.json`).
    Data(Box<DataCase>),
    /// A check written in Rust (stateful, concurrent, or beyond what data can say).
    Check(&'static Check),
}

impl Case {
    /// The immutable slug.
    pub fn id(&self) -> &str {
        match self {
            Case::Data(c) => &c.id,
            Case::Check(c) => c.id,
        }
    }

    /// The group: the slug's first part.
    pub fn group(&self) -> &str {
        self.id().split('/').next().unwrap_or_default()
    }

    /// The rules of the catalogue it tests, the one that sets its section, tag and severity first.
    pub fn rules(&self) -> Vec<Rule> {
        match self {
            Case::Data(c) => c.rules().collect(),
            Case::Check(c) => c.rules.to_vec(),
        }
    }

    /// The rule it tests first.
    pub fn rule(&self) -> Rule {
        match self {
            Case::Data(c) => c.rule(),
            Case::Check(c) => c.rules[0],
        }
    }

    /// The endpoint its requests are about.
    pub fn endpoint(&self) -> Endpoint {
        match self {
            Case::Data(c) => c.request.endpoint,
            Case::Check(c) => c.endpoint,
        }
    }

    /// The SPEC section of its first rule.
    pub fn spec(&self) -> &'static str {
        self.rule().spec
    }

    /// The SPEC tag of its first rule.
    pub fn tag(&self) -> Tag {
        self.rule().tag
    }

    /// MUST or SHOULD.
    pub fn severity(&self) -> Severity {
        match self {
            Case::Data(c) => c.severity(),
            Case::Check(c) => c.rules[0].severity(),
        }
    }

    /// One line.
    pub fn title(&self) -> &str {
        match self {
            Case::Data(c) => &c.title,
            Case::Check(c) => c.title,
        }
    }
}

/// A case file that cannot be read: a defect of the project when it is one of `fixtures/cases/`
/// (its tests find it), a usage error when it is one a user gave.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct CaseFileError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// Reads one case file, whose id must be `id_path` (its path under the cases directory, without
/// `.json`).
fn parse(file: &str, id_path: &str, text: &str) -> Result<DataCase, CaseFileError> {
    let err = |reason: String| CaseFileError {
        file: file.to_owned(),
        reason,
    };
    let case: DataCase = serde_json::from_str(text).map_err(|e| {
        let moved = ["`spec`", "`tag`", "`safety`"]
            .iter()
            .any(|m| e.to_string().contains(m));
        match moved {
            true => err(format!(
                "{e}: a case names the rules it tests instead, \"rules\": [ids] (`lsconform list --rules`), \
                 which give its section, tag and severity"
            )),
            false => err(e.to_string()),
        }
    })?;
    if case.id != id_path {
        return Err(err(format!("its id {:?} is not its path ({id_path:?})", case.id)));
    }
    case.expect.validate().map_err(err)?;
    case.check_rules().map_err(err)?;
    Ok(case)
}

/// The groups of cases whose checks deactivate_offline runs the same way (SPEC §1a–§4).
const ENVELOPE_GROUPS: &[&str] = &[
    "auth",
    "base64",
    "date",
    "envelope",
    "json",
    "payload",
    "signature",
];

/// The groups of cases whose acceptance deactivate_offline shares: every form of the envelope a
/// server must accept on activate_offline it must accept on deactivate_offline too.
const ACCEPTANCE_GROUPS: &[&str] = &[
    "auth",
    "base64",
    "date",
    "echo",
    "envelope",
    "json",
    "payload",
    "signature",
    "style",
];

/// SPEC §5: "`deactivate_offline` runs every check of §1a–§4 the same way (headers, body, Base64,
/// JSON, fields, both payload signatures)". Each case of those checks on activate_offline has a
/// twin on deactivate_offline, `deactivate/<group>-<slug>`:
///
/// - a request a server must refuse (for another reason than the `request` member, which names
///   the endpoint): the same request, the same answer;
/// - a request a server must accept: the same request for a device activated first, answered
///   `license_deactivated`.
///
/// The twin cites the rules of its case that apply to deactivate_offline.
fn on_deactivate(case: &DataCase) -> Option<DataCase> {
    let group = case.id.split('/').next().unwrap_or_default();
    let t = &case.request;
    let codes = case.expect.error_codes().ok()?;
    let business = ErrorCode::business(RequestKind::Activation);
    let envelope_error = !codes.is_empty()
        && codes
            .iter()
            .all(|c| !business.contains(c) && *c != ErrorCode::ValidationError);
    let accepted = case.expect.activated && ACCEPTANCE_GROUPS.contains(&group);
    // A literal JSON payload names no endpoint; the builder writes the request member for each.
    let written_for_either = t.body.json.is_none() && !t.payload.set.contains_key("request");
    // A file that fills the cap: its set-up activation would be as large, and a server with a
    // smaller cap would fail the set-up, not the deactivation (deactivate/body-within-the-cap
    // holds deactivate_offline to the cap).
    let fits_a_set_up = t.payload.hardware_id_to_cap.is_none();
    let eligible = t.endpoint == Endpoint::Activate
        && !t.activate_first
        && t.path.is_none()
        && ((ENVELOPE_GROUPS.contains(&group) && envelope_error) || (accepted && fits_a_set_up))
        && written_for_either;
    eligible.then(|| {
        let mut twin = case.clone();
        twin.id = format!("deactivate/{}", case.id.replace('/', "-"));
        twin.request.endpoint = Endpoint::Deactivate;
        twin.rules
            .retain(|id| Rule::by_id(id).is_some_and(|r| r.applies_to(RequestKind::Deactivation)));
        if accepted {
            twin.title = format!("{} (deactivated on deactivate_offline)", case.title);
            twin.request.activate_first = true;
            twin.expect = Expectation {
                deactivated: true,
                ..Expectation::default()
            };
            if twin.rules.is_empty() {
                twin.rules
                    .push(crate::protocol::rules::ROUTE_DEACTIVATE.id.to_owned());
            }
        } else {
            twin.title = format!("{} (on deactivate_offline)", case.title);
        }
        twin
    })
}

/// Every case, data cases first (sorted by id), then the checks.
pub fn all() -> Result<Vec<Case>, CaseFileError> {
    let mut cases = Vec::new();
    for (file, text) in CASE_FILES {
        let id = file.strip_suffix(".json").unwrap_or(file);
        let case = parse(&format!("fixtures/cases/{file}"), id, text)?;
        if let Some(twin) = on_deactivate(&case) {
            cases.push(Case::Data(Box::new(twin)));
        }
        cases.push(Case::Data(Box::new(case)));
    }
    cases.sort_by(|a, b| a.id().cmp(b.id()));
    cases.extend(super::checks::ALL.iter().map(Case::Check));
    Ok(cases)
}

/// The case files under `dir`, in the layout of `fixtures/cases/` (`<dir>/<group>/<slug>.json`,
/// each id its path under `dir`), sorted by id: the findings `lsconform fuzz --out <dir>` wrote, or
/// a project's own cases. Files not ending in `.json` are left alone.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("lsconform-doc-{}", std::process::id()));
/// std::fs::create_dir_all(dir.join("mine")).unwrap();
/// std::fs::write(
///     dir.join("mine/no-date.json"),
///     r#"{"id": "mine/no-date", "rules": ["headers.required"], "title": "No Date",
///         "request": {"headers": {"date": "omit"}}, "expect": {"error": "missing_headers"}}"#,
/// ).unwrap();
/// let cases = lsconform::suite::cases_in(&dir).unwrap();
/// assert_eq!(cases[0].id(), "mine/no-date");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn load_dir(dir: &Path) -> Result<Vec<Case>, CaseFileError> {
    let err = |file: &Path, reason: String| CaseFileError {
        file: file.display().to_string(),
        reason,
    };
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| err(&d, e.to_string()))?;
        for entry in entries {
            let path = entry.map_err(|e| err(&d, e.to_string()))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    let mut cases = Vec::new();
    for path in files {
        let relative = path.strip_prefix(dir).unwrap_or(&path).with_extension("");
        let id: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let text = std::fs::read_to_string(&path).map_err(|e| err(&path, e.to_string()))?;
        let case = parse(&path.display().to_string(), &id.join("/"), &text)?;
        cases.push(Case::Data(Box::new(case)));
    }
    cases.sort_by(|a, b| a.id().cmp(b.id()));
    Ok(cases)
}

/// One case file anywhere: its name must be the last part of its id (`…/<slug>.json`).
pub fn load_file(path: &Path) -> Result<Case, CaseFileError> {
    let err = |reason: String| CaseFileError {
        file: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let case: DataCase = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    if case.id.rsplit('/').next() != stem.as_deref() {
        return Err(err(format!("its id {:?} does not end in its file name", case.id)));
    }
    let id = case.id.clone();
    Ok(Case::Data(Box::new(parse(
        &path.display().to_string(),
        &id,
        &text,
    )?)))
}
