//! `lsconform list`: the conformance cases and the generated properties.

use std::process::ExitCode;

use super::{usage, CliError};

/// `lsconform list`'s options (none yet).
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Result<ExitCode, CliError> {
    let cases = lsconform::suite::cases().map_err(|e| usage(e.to_string()))?;
    let line = |id: &str, tag: lsconform::suite::case::Tag, severity, title: &str| {
        println!(
            "{id:<48} {:<7} {:<6} {title}",
            format!("{tag:?}").to_lowercase(),
            format!("{severity:?}").to_uppercase(),
        )
    };
    for case in &cases {
        line(case.id(), case.tag(), case.severity(), case.title());
    }
    // The properties of the generated requests (their rule, tag and severity are those of the
    // request that breaks them; these are the properties' own).
    for p in lsconform::suite::generate::Property::ALL {
        let rule = p.rule();
        line(p.id(), rule.tag, rule.severity(), p.title());
    }
    Ok(ExitCode::SUCCESS)
}
