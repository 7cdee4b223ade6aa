//! `lsconform run`: the conformance suite against a server.

use std::cell::Cell;
use std::path::PathBuf;
use std::process::ExitCode;

use super::progress::Progress;
use super::{read, run_options, runtime, target, usage, CliError, TargetArgs};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Run only the cases whose id matches (a glob, e.g. 'envelope/*'); repeatable.
    #[arg(long, value_name = "GLOB")]
    only: Vec<String>,
    /// Leave out the cases whose id matches; repeatable.
    #[arg(long, value_name = "GLOB")]
    skip: Vec<String>,
    /// Known failures (TOML: known_failures = ["id", …]): they do not fail the run; one that passes
    /// now is stale and does.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// No progress line on stderr (it is shown only on a terminal, for runs longer than 2 s).
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    reports: super::ReportFiles,
    /// Data cases in flight at once.
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// Warnings fail the run: hold the target to SPEC's [pinned] rules too (always on against the
    /// in-process reference server, which implements them).
    #[arg(long)]
    strict: bool,
    /// Generated requests (proptest: valid and hostile) judged by properties that hold on any
    /// target (`generated/*`); 0 turns them off.
    #[arg(long, value_name = "N", default_value_t = lsconform::suite::generate::DEFAULT_REQUESTS)]
    generated: usize,
    /// The seed of the generated requests: the same seed sends the same requests (default: a
    /// random one, printed).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Also run the case files under DIR (the layout of fixtures/cases: DIR/<group>/<slug>.json),
    /// e.g. the findings `lsconform fuzz --out DIR` wrote; repeatable.
    #[arg(long, value_name = "DIR")]
    cases: Vec<PathBuf>,
    /// Write each generated request that breaks a property, shrunk, as a case file under DIR
    /// (DIR/fuzz/<kind>-<hash>.json, as `lsconform fuzz` does), for `replay` and `--cases`.
    #[arg(long, value_name = "DIR")]
    findings: Option<PathBuf>,
    /// Record each case's normalised answer as an insta snapshot file under DIR
    /// (DIR/<group>__<slug>.snap), for `lsconform diff --against DIR`.
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    use lsconform::suite::generate::{self, GenerateOptions};
    use lsconform::suite::{report, run, Baseline, Report};
    let selected = super::selected_cases(&args.cases, &args.only, &args.skip)?;
    let mut generated = GenerateOptions::new(args.generated, args.seed.unwrap_or_else(generate::random_seed));
    generated.properties = generate::select_properties(&args.only, &args.skip).map_err(usage)?;
    if args.generated == 0 {
        generated.properties.clear();
    }
    if selected.is_empty() && generated.properties.is_empty() {
        return Err(usage("no case matches --only/--skip".into()));
    }
    let baseline = match &args.baseline {
        Some(path) => {
            let text = String::from_utf8(read(path)?)
                .map_err(|_| usage(format!("{} is not text", path.display())))?;
            Baseline::from_toml(&text).map_err(|e| usage(format!("{}: {e}", path.display())))?
        }
        None => Baseline::default(),
    };
    let options = lsconform::suite::RunOptions {
        clock: args.target.clock,
        ..run_options(args.target.timeout, args.jobs)?
    };
    let show_secrets = args.target.show_secrets;
    let runtime = runtime()?;
    // How long the generated requests took to send and judge, when they all were.
    let sent_in: Cell<Option<std::time::Duration>> = Cell::new(None);
    let (report, profile) = runtime.block_on(async {
        let (profile, server) = target(&args.target).await?;
        let total = selected.len() + generated.properties.len();
        if generated.properties.is_empty() {
            eprintln!("lsconform: {total} cases against {}", profile.base_url);
        } else {
            eprintln!(
                "lsconform: {} cases and {} generated requests (--seed {}) against {}",
                selected.len(),
                generated.requests,
                generated.seed,
                profile.base_url
            );
        }
        let started = std::time::Instant::now();
        let progress = Progress::new(
            args.quiet,
            "{spinner} [{pos}/{len}] {elapsed} {wide_msg}",
            Some(total as u64),
        );
        let shown = progress.clone();
        let show = move |r: &lsconform::suite::CaseResult| shown.step(&r.id);
        let mut results = run(selected, &profile, &options, show.clone()).await;
        let (requests, seed, properties) = (generated.requests, generated.seed, generated.properties.len());
        let counting = progress.clone();
        let generated_started = std::time::Instant::now();
        let sending = &sent_in;
        let answered = move |n: usize| {
            if n == requests {
                // From the first request made to the last answer judged: shrinking and the
                // report aside, as a load generator times itself.
                sending.set(Some(generated_started.elapsed()));
            }
            // Each of the first hundred, then one a hundred (the line is redrawn four times a
            // second anyway).
            if n <= 100 || n % 100 == 0 || n == requests {
                counting.say(format!(
                    "generated requests: {n}/{requests} sent and judged by {properties} properties (--seed {seed})"
                ));
            }
        };
        // After the cases, so that the generated requests never compete with the seat race.
        results.extend(generate::run_telling(&profile, &generated, &options, show, answered).await);
        results.sort_by(|a, b| a.id.cmp(&b.id));
        progress.clear();
        if let Some(server) = server {
            server.shutdown().await;
        }
        let strict = args.strict || args.target.target.is_none();
        let report =
            Report::new(profile.base_url.clone(), results, &baseline, started.elapsed()).strict(strict);
        Ok::<_, CliError>((report, profile))
    })?;
    if let Some(dir) = &args.record {
        let n = lsconform::suite::diff::record(&report.results, &profile, dir)
            .map_err(|e| usage(format!("cannot record the snapshots: {e}")))?;
        eprintln!(
            "recorded: {n} snapshots under {} (`lsconform diff --target … --against {}` compares with them)",
            dir.display(),
            dir.display()
        );
    }
    print!("{}", report::terminal(&report, show_secrets));
    if !generated.properties.is_empty() {
        let rate = match sent_in.get() {
            Some(took) => format!(
                " in {:.3}s ({:.0} requests/s)",
                took.as_secs_f64(),
                generated.requests as f64 / took.as_secs_f64().max(1e-3)
            ),
            None => String::new(),
        };
        println!(
            "generated: {} requests from seed {}{rate}; `lsconform run --seed {} --generated {}` sends the same ones",
            generated.requests, generated.seed, generated.seed, generated.requests
        );
    }
    let found: Vec<_> = report
        .results
        .iter()
        .filter_map(|r| r.case_file.as_ref())
        .collect();
    match (&args.findings, found.is_empty()) {
        (Some(dir), false) => {
            for file in &found {
                let path = file
                    .write_to(dir)
                    .map_err(|e| usage(format!("cannot write under {}: {e}", dir.display())))?;
                let on = args
                    .target
                    .target
                    .as_ref()
                    .map(|t| format!(" --target {t}"))
                    .unwrap_or_default();
                println!(
                    "written: {} (`lsconform replay {}{on}` sends it again)",
                    path.display(),
                    path.display()
                );
            }
        }
        (None, false) => println!(
            "{} generated request(s) broke a property: `--findings DIR` writes them as case files",
            found.len()
        ),
        (_, true) => {}
    }
    let mut notes = Vec::new();
    if !generated.properties.is_empty() {
        notes.push(format!(
            "generated: {} requests from seed {}; `lsconform run --seed {} --generated {}` sends the same ones",
            generated.requests, generated.seed, generated.seed, generated.requests
        ));
    }
    args.reports
        .write(&report, "lsconform run", &notes, show_secrets)?;
    Ok(ExitCode::from(report.exit_code()))
}
