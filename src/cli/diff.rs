//! `lsconform diff`: two servers (or a server and its recorded snapshots), the same requests,
//! every difference.

use std::path::PathBuf;
use std::process::ExitCode;

use lsconform::suite::diff::{against, diff, terminal};
use lsconform::suite::generate::{self, GenerateOptions};

use super::{load_profile, run_options, runtime, selected_cases, usage, CliError};

/// Which differences fail the run.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// An answer outside what SPEC allows, on either side (and a side without an answer).
    Nonconforming,
    /// Also two allowed answers that differ.
    Divergence,
}

#[derive(clap::Args)]
pub struct Args {
    /// A target: a profile (TOML) or a bare URL, as `run --target` takes it. Give it twice (A,
    /// then B), or once with --against.
    #[arg(long, value_name = "PROFILE|URL", required = true)]
    target: Vec<String>,
    /// Compare the target with the snapshots under DIR (written by `lsconform run --record DIR`)
    /// instead of a second target.
    #[arg(long, value_name = "DIR")]
    against: Option<PathBuf>,
    /// With --against: write each differing answer over its snapshot (otherwise it is written
    /// beside it as `….snap.new`, for `cargo insta review`).
    #[arg(long, requires = "against")]
    accept: bool,
    /// Compare only the cases whose id matches (a glob, e.g. 'envelope/*'); repeatable.
    #[arg(long, value_name = "GLOB")]
    only: Vec<String>,
    /// Leave out the cases whose id matches; repeatable.
    #[arg(long, value_name = "GLOB")]
    skip: Vec<String>,
    /// Also send the case files under DIR (DIR/<group>/<slug>.json); repeatable.
    #[arg(long, value_name = "DIR")]
    cases: Vec<PathBuf>,
    /// Generated requests sent to both targets (the same ones: same --seed); 0 turns them off
    /// (default 200; the snapshots hold the cases only).
    #[arg(long, value_name = "N")]
    generated: Option<usize>,
    /// The seed of the generated requests (default: a random one, printed).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Requests in flight at once, on each side.
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// Bound on each exchange, in seconds.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Which differences fail the run (exit code 1).
    #[arg(long, value_enum, default_value = "nonconforming")]
    fail_on: FailOn,
    /// Show signatures and request bodies in full instead of redacted.
    #[arg(long)]
    show_secrets: bool,
    #[command(flatten)]
    reports: super::ReportFiles,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    match (&args.against, args.target.len()) {
        (Some(_), 1) | (None, 2) => {}
        (Some(_), n) => {
            return Err(usage(format!(
                "--against compares one target with its snapshots: give --target once, not {n} times"
            )))
        }
        (None, n) => {
            return Err(usage(format!(
                "diff compares two targets: give --target twice (or once with --against DIR), not {n} time(s)"
            )))
        }
    }
    if args.against.is_some() && args.generated.is_some_and(|n| n > 0) {
        return Err(usage(
            "the snapshots hold the cases only: --generated compares two targets, not --against".into(),
        ));
    }
    let selected = selected_cases(&args.cases, &args.only, &args.skip)?;
    let requests = match args.against {
        Some(_) => 0,
        None => args.generated.unwrap_or(generate::DEFAULT_REQUESTS),
    };
    let mut generated = GenerateOptions::new(requests, args.seed.unwrap_or_else(generate::random_seed));
    generated.properties = generate::select_properties(&args.only, &args.skip).map_err(usage)?;
    if requests == 0 {
        generated.properties.clear();
    }
    if selected.is_empty() && generated.properties.is_empty() {
        return Err(usage("no case matches --only/--skip".into()));
    }
    let options = run_options(args.timeout, args.jobs)?;
    let profiles = args
        .target
        .iter()
        .map(|t| load_profile(t))
        .collect::<Result<Vec<_>, _>>()?;
    let comparison = runtime()?.block_on(async {
        match &args.against {
            Some(dir) => {
                eprintln!(
                    "lsconform diff: {} cases, {} against the snapshots under {}",
                    selected.len(),
                    args.target[0],
                    dir.display()
                );
                against(
                    selected,
                    (&args.target[0], &profiles[0]),
                    dir,
                    &options,
                    args.accept,
                )
                .await
                .map_err(usage)
            }
            None => {
                eprintln!(
                    "lsconform diff: {} cases and {} generated requests (--seed {}), {} and {}",
                    selected.len(),
                    if generated.properties.is_empty() {
                        0
                    } else {
                        generated.requests
                    },
                    generated.seed,
                    args.target[0],
                    args.target[1]
                );
                Ok(diff(
                    selected,
                    [(&args.target[0], &profiles[0]), (&args.target[1], &profiles[1])],
                    &generated,
                    &options,
                )
                .await)
            }
        }
    })?;
    let comparison = comparison.fail_on_divergence(args.fail_on == FailOn::Divergence);
    print!("{}", terminal(&comparison, args.show_secrets));
    if !generated.properties.is_empty() {
        println!(
            "generated: {} requests from seed {}; `--seed {} --generated {}` sends the same ones",
            generated.requests, generated.seed, generated.seed, generated.requests
        );
    }
    let mut notes = vec![match &args.against {
        Some(dir) => format!("{} against the snapshots under {}", args.target[0], dir.display()),
        None => format!("A: {}, B: {}", args.target[0], args.target[1]),
    }];
    if !generated.properties.is_empty() {
        notes.push(format!(
            "generated: {} requests from seed {}; `--seed {} --generated {}` sends the same ones",
            generated.requests, generated.seed, generated.seed, generated.requests
        ));
    }
    args.reports
        .write(&comparison.report, "lsconform diff", &notes, args.show_secrets)?;
    Ok(ExitCode::from(comparison.exit_code()))
}
