//! `lsconform replay`: one case (an id, or a case file) and its whole exchange.

use std::path::Path;
use std::process::ExitCode;

use super::{run_options, runtime, target, usage, CliError, TargetArgs};

#[derive(clap::Args)]
pub struct Args {
    /// The case's id (see `lsconform list`), or the path of a case file (ending in .json).
    id: String,
    #[command(flatten)]
    target: TargetArgs,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    use lsconform::suite::{case_file, cases, report, run, select, Baseline, Report};
    let file = Path::new(&args.id);
    let selected = if args.id.ends_with(".json") || file.is_file() {
        vec![case_file(file).map_err(|e| usage(e.to_string()))?]
    } else {
        let all = cases().map_err(|e| usage(e.to_string()))?;
        let selected = select(all, std::slice::from_ref(&args.id), &[]).map_err(usage)?;
        if selected.len() != 1 || selected[0].id() != args.id {
            return Err(usage(format!(
                "no case {:?}; `lsconform list` lists them",
                args.id
            )));
        }
        selected
    };
    let options = lsconform::suite::RunOptions {
        clock: args.target.clock,
        ..run_options(args.target.timeout, 1)?
    };
    let show_secrets = args.target.show_secrets;
    let report = runtime()?.block_on(async {
        let (profile, server) = target(&args.target).await?;
        let started = std::time::Instant::now();
        let results = run(selected, &profile, &options, |_| {}).await;
        if let Some(server) = server {
            server.shutdown().await;
        }
        Ok::<_, CliError>(Report::new(
            profile.base_url.clone(),
            results,
            &Baseline::default(),
            started.elapsed(),
        ))
    })?;
    for r in &report.results {
        println!(
            "{}  [SPEC {} {:?}, {:?}]\n  {}\n",
            r.id, r.spec, r.tag, r.severity, r.title
        );
        if let Some(q) = &r.request {
            println!("> {} {}", q.method, q.url);
            for (name, value) in &q.headers {
                let value = if show_secrets {
                    value.clone()
                } else {
                    report::redact(value)
                };
                println!("> {name}: {value}");
            }
            if let Some(payload) = &q.payload {
                let payload = if show_secrets {
                    payload.clone()
                } else {
                    report::redact(payload)
                };
                println!(">\n> payload: {payload}");
            }
            println!("\n  reproduce: {}\n", report::curl(q, show_secrets));
        }
        if let Some(a) = &r.answer {
            println!(
                "< {} ({})",
                a.status,
                a.content_type.as_deref().unwrap_or("no Content-Type")
            );
            println!("< {}\n", a.body);
        }
        println!("verdict: {:?}", r.verdict);
        if let Some(e) = &r.expected {
            println!("expected: {e}");
        }
        if let Some(a) = &r.actual {
            println!("actual:   {a}");
        }
    }
    Ok(ExitCode::from(report.exit_code()))
}
