//! The conformance suite: point it at any server and learn, rule by rule, where it departs from
//! SPEC. Cases are data (`fixtures/cases/`) and Rust checks ([`checks`]); a target is described by
//! a [`Profile`]; a run gives [`CaseResult`]s, which a [`Report`] judges and writes out.
//!
//! ```no_run
//! # async fn demo() {
//! use lsconform::suite::{cases, run, Baseline, Profile, Report, RunOptions};
//! let profile = Profile::bare("http://127.0.0.1:8080");
//! let results = run(cases().unwrap(), &profile, &RunOptions::default(), |_| {}).await;
//! let report = Report::new(profile.base_url.clone(), results, &Baseline::default(), Default::default());
//! println!("{}", lsconform::suite::report::terminal(&report, false));
//! # }
//! ```

mod allowed;
pub mod case;
mod catalogue;
pub mod checks;
pub mod coverage;
pub mod diff;
pub mod fuzz;
pub mod generate;
mod http;
mod judge;
mod profile;
pub mod proxy;
mod render;
pub mod report;
mod runner;

pub use catalogue::{all as cases, load_dir as cases_in, load_file as case_file, Case, CaseFileError};
pub use profile::{Credentials, Profile, ProfileError, ROLES};
pub use render::Prepared;
pub use report::{Baseline, Report};
pub use runner::{run, Answer, CaseResult, RunOptions, Verdict, HARNESS};

/// Keeps the cases whose id matches one of `only` (all when empty) and none of `skip` (globs:
/// `envelope/*`, `*signature*`).
pub fn select(cases: Vec<Case>, only: &[String], skip: &[String]) -> Result<Vec<Case>, String> {
    let selected = selection(only, skip)?;
    Ok(cases.into_iter().filter(|c| selected(c.id())).collect())
}

/// Whether an id is selected by `--only` globs (all when there are none) and no `--skip` glob.
pub(crate) fn selection(only: &[String], skip: &[String]) -> Result<impl Fn(&str) -> bool, String> {
    let set = |globs: &[String]| -> Result<globset::GlobSet, String> {
        let mut b = globset::GlobSetBuilder::new();
        for g in globs {
            b.add(globset::Glob::new(g).map_err(|e| format!("{g:?}: {e}"))?);
        }
        b.build().map_err(|e| e.to_string())
    };
    let (only_set, skip_set) = (set(only)?, set(skip)?);
    let all = only.is_empty();
    Ok(move |id: &str| (all || only_set.is_match(id)) && !skip_set.is_match(id))
}
