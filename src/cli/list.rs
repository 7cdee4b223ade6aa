//! `lsconform list`: the conformance cases and the generated properties, or the rule catalogue
//! with the cases that test each rule.

use std::process::ExitCode;

use super::{usage, CliError};

/// `lsconform list`'s options.
#[derive(clap::Args)]
pub struct Args {
    /// List the rule catalogue instead (fixtures/rules.toml): each rule of SPEC with its id,
    /// section, tag and severity, and the cases, checks and properties that test it on each
    /// endpoint; a rule no case tests on an endpoint it applies to is shown UNCOVERED.
    #[arg(long)]
    rules: bool,
    /// With --rules: as the Markdown table of docs/coverage.md.
    #[arg(long, requires = "rules")]
    markdown: bool,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let cases = lsconform::suite::cases().map_err(|e| usage(e.to_string()))?;
    if args.rules {
        let coverage = lsconform::suite::coverage::of(&cases);
        match args.markdown {
            true => print!("{}", lsconform::suite::coverage::markdown(&coverage)),
            false => print!("{}", lsconform::suite::coverage::terminal(&coverage)),
        }
        return Ok(ExitCode::SUCCESS);
    }
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
