//! `lsconform fuzz`: generated, re-signed hostile requests against a server; each finding shrunk
//! and written as a case file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::progress::{self, Progress};
use super::{harness, run_options, runtime, target, usage, CliError, TargetArgs};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// How long to send requests: `90s`, `10m`, `1h`, `500ms`, or seconds (shrinking comes after).
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    duration: std::time::Duration,
    /// Send at most N requests (whichever of --duration and --requests ends first).
    #[arg(long, value_name = "N")]
    requests: Option<usize>,
    /// The seed: the same seed sends the same requests (default: a random one, printed).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Where each finding's case file is written, as DIR/fuzz/<kind>-<hash>.json.
    #[arg(long, value_name = "DIR", default_value = "lsconform-findings")]
    out: PathBuf,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// At most N distinct findings are shrunk and written (the others are counted).
    #[arg(long, value_name = "N", default_value_t = lsconform::suite::fuzz::DEFAULT_MAX_FINDINGS)]
    max_findings: usize,
    /// Every finding fails the run, also those of SPEC's [pinned] rules that are not safety
    /// properties (always on against the in-process reference server).
    #[arg(long)]
    strict: bool,
    /// No progress line on stderr (it is shown only on a terminal, for runs longer than 2 s).
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    reports: super::ReportFiles,
}

/// `90s`, `10m`, `1h`, `500ms`, or a number of seconds.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 90s, 10m, 1h, 500ms)"))?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => return Err(format!("unknown unit {other:?} in {text:?} (ms, s, m, h)")),
    };
    std::time::Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?} is not a positive duration"))
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    use lsconform::suite::fuzz::{fuzz, FuzzOptions};
    use lsconform::suite::report;
    let run = lsconform::suite::RunOptions {
        clock: args.target.clock,
        ..run_options(args.target.timeout, args.jobs)?
    };
    let seed = args.seed.unwrap_or_else(lsconform::suite::generate::random_seed);
    let mut options = FuzzOptions::new(seed).duration(args.duration);
    options.max_findings = args.max_findings;
    if let Some(n) = args.requests {
        options = options.requests(n);
    }
    let strict = args.strict || args.target.target.is_none();
    let show_secrets = args.target.show_secrets;
    let (report, target) = runtime()?.block_on(async {
        let (profile, server) = target(&args.target).await?;
        if profile.credentials.is_none() {
            return Err(usage(
                "fuzzing signs its requests: give --target a profile (TOML) with api_key and shared_key"
                    .into(),
            ));
        }
        eprintln!(
            "lsconform fuzz: --seed {seed}, {:?}{} against {}",
            options.duration,
            options
                .max_requests
                .map(|n| format!(" or {n} requests"))
                .unwrap_or_default(),
            profile.base_url
        );
        let line = Progress::new(args.quiet, "{spinner} {elapsed} {wide_msg}", None);
        let started = std::time::Instant::now();
        let report = fuzz(&profile, &options, &run, |p| {
            let elapsed = started.elapsed();
            line.say(format!(
                "{} requests sent ({:.0}/s), {} answered, {} finding(s) so far, {} left",
                p.sent,
                p.sent as f64 / elapsed.as_secs_f64().max(0.001),
                p.answered,
                p.findings,
                progress::short(options.duration.saturating_sub(elapsed))
            ));
        })
        .await;
        line.clear();
        if let Some(server) = server {
            server.shutdown().await;
        }
        Ok::<_, CliError>((report, args.target.target.clone()))
    })?;
    if let Some(e) = &report.harness_error {
        return Err(harness(e.clone()));
    }
    println!(
        "sent {} requests ({} answered) in {:.1} s ({:.0} requests/s) from seed {seed}: {} finding(s){}",
        report.sent,
        report.answered,
        report.elapsed.as_secs_f64(),
        report.rate(),
        report.findings.len() + report.not_shrunk,
        if report.gave_up {
            "; stopped early: requests in a row got no answer"
        } else {
            ""
        }
    );
    let again = |file: &Path| match &target {
        Some(t) => format!("lsconform replay {} --target {t}", file.display()),
        None => format!("lsconform replay {}", file.display()),
    };
    for f in &report.findings {
        let file = f
            .write_to(&args.out)
            .map_err(|e| usage(format!("cannot write under {}: {e}", args.out.display())))?;
        let verdict = match (f.severity(), strict) {
            (lsconform::suite::case::Severity::Must, _) | (_, true) => "FAIL",
            _ => "WARN",
        };
        println!(
            "\n{verdict}  {}  [SPEC {} {}{}, {}: {}]\n  the target {} ({} request(s) of the run)",
            f.id(),
            f.rule.spec,
            format!("{:?}", f.rule.tag).to_lowercase(),
            if f.rule.safety { " safety" } else { "" },
            format!("{:?}", f.severity()).to_uppercase(),
            f.rule.what,
            f.kind.what(),
            f.occurrences
        );
        println!("  expected: {}\n  actual:   {}", f.expected, f.actual);
        println!("  found:    {}", f.how);
        if let Some(payload) = &f.request.payload {
            let payload = if show_secrets {
                payload.clone()
            } else {
                report::redact(payload)
            };
            println!("  payload:  {payload}");
        }
        println!("  written:  {}\n  again:    {}", file.display(), again(&file));
    }
    let mut notes = vec![format!(
        "sent {} requests ({} answered) in {:.1} s ({:.0} requests/s) from seed {seed}: {} finding(s); `lsconform fuzz --seed {seed}` sends the same requests again",
        report.sent,
        report.answered,
        report.elapsed.as_secs_f64(),
        report.rate(),
        report.findings.len() + report.not_shrunk
    )];
    if report.not_shrunk > 0 {
        notes.push(format!(
            "{} more distinct finding(s) were not shrunk nor written (--max-findings {})",
            report.not_shrunk, options.max_findings
        ));
    }
    if report.gave_up {
        notes.push("stopped early: requests in a row got no answer".into());
    }
    args.reports.write(
        &report::Report::of_fuzz(&report, strict),
        "lsconform fuzz",
        &notes,
        show_secrets,
    )?;
    if report.not_shrunk > 0 {
        println!(
            "\n{} more distinct finding(s) were not shrunk nor written (--max-findings {})",
            report.not_shrunk, options.max_findings
        );
    }
    if !report.findings.is_empty() {
        let on = target
            .as_ref()
            .map(|t| format!(" --target {t}"))
            .unwrap_or_default();
        println!(
            "\n`lsconform run{on} --cases {}` runs every finding with the suite;\n`lsconform fuzz{on} --seed {seed}` sends the same requests again, in the same order",
            args.out.display()
        );
    }
    Ok(ExitCode::from(report.exit_code(strict)))
}
