//! `lsconform serve`: the reference server on a port, until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{harness, read, shutdown_signal, usage, CliError};

#[derive(clap::Args)]
pub struct Args {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// The SQLite database file (created and seeded when new); default: a fresh in-memory database.
    #[arg(long)]
    db: Option<PathBuf>,
    /// The seed data for a new database (TOML); default: the reference seed (fixtures/reference-seed.toml).
    #[arg(long)]
    seed: Option<PathBuf>,
    /// The private key that signs answers (PEM); default: the public TEST key of fixtures/keys.
    #[arg(long)]
    private_key: Option<PathBuf>,
    /// The request body cap in bytes.
    #[arg(long, default_value_t = lsconform::server::DEFAULT_MAX_BODY)]
    max_body: usize,
    /// Read the time from a clock that reads this RFC 3339 instant now and runs on
    /// (`2026-12-07T23:59:58Z`): the Date check, the answers' dates; to reproduce what a client
    /// does on a given day.
    #[arg(long, value_name = "RFC3339", default_value = "system")]
    clock: lsconform::Clock,
    /// Turn on a named fault (a deliberate deviation, for testing the suite); repeatable.
    #[arg(long = "fault", value_name = "NAME", hide = true)]
    faults: Vec<lsconform::server::Fault>,
    /// List the named faults (name, the catalogue rule each breaks, its SPEC section, what it does) and exit.
    #[arg(long, hide = true)]
    list_faults: bool,
    /// Turn on a named conforming variant (another answer SPEC allows at one point, for testing the
    /// suite); repeatable, and combines with faults.
    #[arg(long = "variant", value_name = "NAME", hide = true)]
    variants: Vec<lsconform::server::Variant>,
    /// List the named conforming variants (name, the catalogue rule whose latitude each uses, its SPEC
    /// section, what it does) and exit.
    #[arg(long, hide = true)]
    list_variants: bool,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    use lsconform::server::{Fault, ReferenceServer, Seed, Variant};
    if args.list_variants {
        for variant in Variant::ALL {
            println!(
                "{:<30} {:<28} SPEC {:<5} {}",
                variant.name(),
                variant.rule().id,
                variant.spec(),
                variant.description()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.list_faults {
        for fault in Fault::ALL {
            println!(
                "{:<34} {:<34} SPEC {:<5} {}",
                fault.name(),
                fault.rule().id,
                fault.spec(),
                fault.description()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    // One line a request, gathered and written in batches (src/cli/log.rs); flushed at the end.
    let _log = super::log::init();
    let mut builder = ReferenceServer::builder()
        .listen(args.listen)
        .max_body(args.max_body)
        .clock(args.clock);
    if let Some(db) = &args.db {
        builder = builder.database(db);
    }
    if let Some(path) = &args.seed {
        let text =
            String::from_utf8(read(path)?).map_err(|_| usage(format!("{} is not text", path.display())))?;
        let seed = Seed::from_toml(&text).map_err(|e| usage(format!("{}: {e}", path.display())))?;
        builder = builder.seed(seed);
    }
    match &args.private_key {
        Some(path) => {
            let pem = String::from_utf8(read(path)?)
                .map_err(|_| usage(format!("{} is not PEM", path.display())))?;
            builder = builder.private_key_pem(pem);
        }
        None => {
            tracing::warn!("signing with the public TEST key of fixtures/keys: never pin it in a real client")
        }
    }
    for fault in &args.faults {
        tracing::warn!(
            fault = fault.name(),
            "running with a named fault: {}",
            fault.description()
        );
        builder = builder.fault(*fault);
    }
    for variant in &args.variants {
        tracing::info!(
            variant = variant.name(),
            "running with a conforming variant: {}",
            variant.description()
        );
        builder = builder.variant(*variant);
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| harness(format!("cannot start tokio: {e}")))?;
    runtime.block_on(async {
        let server = builder.start().await.map_err(|e| usage(e.to_string()))?;
        tracing::info!(
            "listening on {} (database: {})",
            server.uri(),
            args.db
                .as_ref()
                .map_or("in memory".into(), |p| p.display().to_string())
        );
        server.run_until(shutdown_signal()).await;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}
