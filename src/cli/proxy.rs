//! `lsconform proxy`: forwards a real client's traffic to a real server, unchanged, and judges
//! both sides of every exchange; one log line each; the reports at SIGINT or SIGTERM.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use lsconform::suite::proxy::{Proxy, ProxyOptions};
use lsconform::suite::Profile;

use super::{harness, load_profile, shutdown_signal, usage, CliError};

#[derive(clap::Args)]
pub struct Args {
    /// The address to listen on (the client is pointed here instead of the server).
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: std::net::SocketAddr,
    /// The server the traffic goes to: http://host:port (with an optional base path).
    #[arg(long, value_name = "URL")]
    upstream: String,
    /// A target profile (TOML) of the upstream: its API key and shared key (to check the
    /// signatures), public key (the answers' RSA signatures) and body cap. Without it, only what
    /// needs no key is judged.
    #[arg(long, value_name = "PROFILE")]
    profile: Option<PathBuf>,
    /// Write each nonconforming exchange here as a case file (DIR/proxy/<slug>.json) that
    /// `lsconform replay` and `run --cases DIR` send again (at most 20 per side and rule).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Bound, in seconds, on the wait for the upstream's answer and on any gap in either body.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// How many exchanges are kept whole for the reports (the oldest dropped first; the first
    /// 100 nonconforming ones are kept besides). Every exchange is counted whatever this is.
    #[arg(long, default_value_t = 10_000)]
    journal: usize,
    /// Threads that forward and judge (1: all on one, the cheapest per exchange).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Show signatures and request bodies in full in the reports instead of redacted.
    #[arg(long)]
    show_secrets: bool,
    #[command(flatten)]
    reports: super::ReportFiles,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        return Err(usage("--timeout takes a positive number of seconds".into()));
    }
    if args.threads == 0 {
        return Err(usage("--threads takes at least 1".into()));
    }
    if args.journal == 0 {
        return Err(usage("--journal takes at least 1".into()));
    }
    let profile = match &args.profile {
        Some(path) => load_profile(&path.display().to_string())?,
        None => Profile::bare(args.upstream.clone()),
    };
    let keys = match (&profile.credentials, &profile.public_key) {
        (Some(c), Some(_)) => format!("API key {:?}, its shared key and the public key", c.api_key),
        (Some(c), None) => format!("API key {:?} and its shared key (no public key)", c.api_key),
        (None, _) => "no keys: the signatures are not checked".to_owned(),
    };
    let mut options = ProxyOptions::new(args.upstream.clone(), profile);
    options.listen = args.listen;
    options.out = args.out.clone();
    options.timeout = Duration::from_secs_f64(args.timeout);
    options.journal = args.journal;
    // One line an exchange, as it is judged, through the log's buffer (src/cli/log.rs: at once
    // on a terminal; into a file or a pipe flushed every 100 ms, a write a line costing a system
    // call per exchange). A closed stdout loses the log, not the proxy.
    let (log, flush) = super::log::LogWriter::stdout();
    options.on_exchange = Some(Box::new(move |exchange| {
        let _ = writeln!(log.line(), "{}", exchange.line());
    }));
    let runtime = match args.threads {
        // One thread: each exchange's parts stay on it (no wake-up crosses threads), which is
        // the cheapest on a small machine; more for a busy upstream on a large one.
        1 => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
    };
    let runtime = runtime.map_err(|e| harness(format!("cannot start tokio: {e}")))?;
    let summary = runtime.block_on(async {
        let proxy = Proxy::start(options).await.map_err(|e| usage(e.to_string()))?;
        eprintln!(
            "lsconform proxy: {} -> {} ({keys}); SIGINT or SIGTERM stops it and writes the reports",
            proxy.uri(),
            args.upstream
        );
        shutdown_signal().await;
        eprintln!("lsconform proxy: stopping (the exchanges in flight end first)");
        let summary = proxy.stop().await;
        Ok::<_, CliError>(summary)
    })?;
    // Every exchange's line out before the summary.
    drop(flush);
    eprintln!("lsconform proxy: {}", summary.tally.summary());
    if summary.report.results.len() as u64 != summary.tally.exchanges {
        eprintln!(
            "lsconform proxy: the reports hold {} of the {} exchanges (--journal {})",
            summary.report.results.len(),
            summary.tally.exchanges,
            args.journal
        );
    }
    let notes = [format!(
        "{} -> {}: {}",
        args.listen,
        args.upstream,
        summary.tally.summary()
    )];
    args.reports
        .write(&summary.report, "lsconform proxy", &notes, args.show_secrets)?;
    Ok(ExitCode::from(summary.report.exit_code()))
}
