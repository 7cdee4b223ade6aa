//! Every case of the suite: the data cases of `fixtures/cases/` and the programmatic checks of
//! [`checks`](super::checks), under one kind of id, tag and severity.

use super::case::{DataCase, Severity, Tag};
use super::checks::Check;

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

    /// The SPEC section.
    pub fn spec(&self) -> &str {
        match self {
            Case::Data(c) => &c.spec,
            Case::Check(c) => c.spec,
        }
    }

    /// The SPEC tag.
    pub fn tag(&self) -> Tag {
        match self {
            Case::Data(c) => c.tag,
            Case::Check(c) => c.tag,
        }
    }

    /// MUST or SHOULD.
    pub fn severity(&self) -> Severity {
        match self {
            Case::Data(c) => c.severity(),
            Case::Check(c) => c.tag.severity(c.safety),
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

/// A case file that cannot be read: a defect of the project, found by its tests.
#[derive(Debug, thiserror::Error)]
#[error("fixtures/cases/{file}: {reason}")]
pub struct CaseFileError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// Every case, data cases first (sorted by id), then the checks.
pub fn all() -> Result<Vec<Case>, CaseFileError> {
    let mut cases = Vec::new();
    for (file, text) in CASE_FILES {
        let err = |reason: String| CaseFileError {
            file: (*file).to_owned(),
            reason,
        };
        let case: DataCase = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
        if format!("{}.json", case.id) != *file {
            return Err(err(format!("its id {:?} is not its path", case.id)));
        }
        case.expect.error_codes().map_err(err)?;
        let outcomes = usize::from(case.expect.activated)
            + usize::from(case.expect.deactivated)
            + usize::from(case.expect.error.is_some() || !case.expect.errors.is_empty());
        if outcomes != 1 {
            return Err(err(
                "expect exactly one of error(s), activated, deactivated".into()
            ));
        }
        cases.push(Case::Data(Box::new(case)));
    }
    cases.sort_by(|a, b| a.id().cmp(b.id()));
    cases.extend(super::checks::ALL.iter().map(Case::Check));
    Ok(cases)
}
