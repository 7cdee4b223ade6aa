//! The subcommands, one file each; `main.rs` parses the command line and dispatches here. What
//! several commands share (the error type and its exit codes, the target options, reading a file or
//! stdin, the tokio runtime, the shutdown signal) lives in this file.

use std::path::{Path, PathBuf};

pub mod diff;
pub mod fuzz;
pub mod headers;
pub mod inspect;
pub mod list;
pub mod log;
pub mod mock;
pub mod progress;
pub mod proxy;
pub mod replay;
pub mod request;
pub mod run;
pub mod serve;
pub mod verify;

/// Why a command could not do its job, and its exit code.
pub struct CliError {
    pub message: String,
    /// 2: bad usage or configuration; 3: the harness itself broke (`lsconform run`'s exit codes).
    pub code: u8,
}

/// Bad usage, a bad file or profile: exit code 2.
pub fn usage(message: String) -> CliError {
    CliError { message, code: 2 }
}

/// Not the user's doing: the harness itself broke (exit code 3).
pub fn harness(message: String) -> CliError {
    CliError { message, code: 3 }
}

/// The whole file, or stdin for `-`.
pub fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| usage(format!("cannot read stdin: {e}")))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))
}

/// The target options of `run`, `replay` and `fuzz`.
#[derive(clap::Args)]
pub struct TargetArgs {
    /// A target profile (TOML) or a bare URL; default: the reference server, started in-process on
    /// a fresh in-memory database.
    #[arg(long)]
    pub target: Option<String>,
    /// Bound on each exchange, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Show shared keys' signatures and request bodies in full instead of redacted.
    #[arg(long)]
    pub show_secrets: bool,
    /// Read the time from a clock that reads this RFC 3339 instant now and runs on
    /// (`2026-12-07T23:59:58Z`): the dates sent, the oracle's, and the in-process reference
    /// server's; reproduces a verdict that depends on the day. A --target's server keeps its own.
    #[arg(long, value_name = "RFC3339", default_value = "system")]
    pub clock: lsconform::Clock,
}

/// The report files of `run`, `diff`, `fuzz` and `proxy`: each written when asked for, from the
/// same results (schema of the JSON: docs/report.md).
#[derive(clap::Args)]
pub struct ReportFiles {
    /// Write the JSON report here (schema: docs/report.md).
    #[arg(long)]
    pub report_json: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    pub report_junit: Option<PathBuf>,
    /// Write the HTML report here: one self-contained page, with filters (docs/ci.md).
    #[arg(long)]
    pub report_html: Option<PathBuf>,
}

impl ReportFiles {
    /// Writes each report asked for; `heading` and `notes` head the HTML page.
    pub fn write(
        &self,
        report: &lsconform::suite::Report,
        heading: &str,
        notes: &[String],
        show_secrets: bool,
    ) -> Result<(), CliError> {
        use lsconform::suite::report;
        let write = |path: &Path, text: String| {
            std::fs::write(path, text).map_err(|e| usage(format!("cannot write {}: {e}", path.display())))
        };
        if let Some(path) = &self.report_json {
            write(path, report::json(report, show_secrets))?;
        }
        if let Some(path) = &self.report_junit {
            write(path, report::junit(report, show_secrets))?;
        }
        if let Some(path) = &self.report_html {
            write(path, report::html(report, heading, notes, show_secrets))?;
        }
        Ok(())
    }
}

/// A profile (TOML) or a bare URL, as `--target` takes it.
pub fn load_profile(target: &str) -> Result<lsconform::suite::Profile, CliError> {
    use lsconform::suite::Profile;
    if target.starts_with("http://") || target.starts_with("https://") {
        Ok(Profile::bare(target))
    } else {
        Profile::load(Path::new(target)).map_err(|e| usage(e.to_string()))
    }
}

/// The profile a run targets, and the reference server started for it when no target is given.
pub async fn target(
    args: &TargetArgs,
) -> Result<
    (
        lsconform::suite::Profile,
        Option<lsconform::server::RunningServer>,
    ),
    CliError,
> {
    match &args.target {
        Some(t) => Ok((load_profile(t)?, None)),
        None => {
            let server = lsconform::server::ReferenceServer::builder()
                .clock(args.clock)
                .start()
                .await
                .map_err(|e| harness(format!("the reference server did not start: {e}")))?;
            Ok((lsconform::suite::Profile::reference(server.uri()), Some(server)))
        }
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Runtime::new().map_err(|e| harness(format!("cannot start tokio: {e}")))
}

/// `--jobs` and `--timeout` as the runner takes them; a timeout that is not a positive number is
/// a usage error.
pub fn run_options(timeout: f64, jobs: usize) -> Result<lsconform::suite::RunOptions, CliError> {
    if !(timeout > 0.0 && timeout.is_finite()) {
        return Err(usage("--timeout takes a positive number of seconds".into()));
    }
    Ok(lsconform::suite::RunOptions {
        jobs: jobs.max(1),
        timeout: std::time::Duration::from_secs_f64(timeout),
        ..Default::default()
    })
}

/// The suite's cases, with the case files under each of `dirs`, selected by `--only`/`--skip`.
pub fn selected_cases(
    dirs: &[std::path::PathBuf],
    only: &[String],
    skip: &[String],
) -> Result<Vec<lsconform::suite::Case>, CliError> {
    let mut all = lsconform::suite::cases().map_err(|e| usage(e.to_string()))?;
    for dir in dirs {
        let more = lsconform::suite::cases_in(dir).map_err(|e| usage(e.to_string()))?;
        if more.is_empty() {
            return Err(usage(format!("no case file (*.json) under {}", dir.display())));
        }
        for case in more {
            if all.iter().any(|c| c.id() == case.id()) {
                return Err(usage(format!(
                    "{}: the case {} is there twice",
                    dir.display(),
                    case.id()
                )));
            }
            all.push(case);
        }
    }
    lsconform::suite::select(all, only, skip).map_err(usage)
}

/// SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
