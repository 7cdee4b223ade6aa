//! `lsconform mock`: the test double on a port, until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{shutdown_signal, usage, CliError};

#[derive(clap::Args)]
pub struct Args {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// The double's configuration (TOML: credentials, licenses, faults, journal cap; see
    /// fixtures/double/example.toml); default: the reference seed's credentials and licenses.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Also answer the admin API under /__lsconform/ on the same port (journal, faults,
    /// expectations, reset; README: "The double's admin API"). Off by default, so that a client
    /// under test cannot reach it by mistake.
    #[arg(long)]
    admin: bool,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    lsconform::double::run_standalone(args.listen, args.config.as_deref(), args.admin, shutdown_signal())
        .map(|()| ExitCode::SUCCESS)
        .map_err(|e| usage(e.to_string()))
}
