//! The `lsconform` command line: a thin layer over the library. This file parses the command line
//! and dispatches; each subcommand lives in its own file under `src/cli/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// Conformance kit for LicenseSpring's offline activation endpoint, POST /api/v4/activate_offline.
#[derive(Parser)]
#[command(name = "lsconform", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write an offline request file (the SDKs' offline dump) to stdout or --out.
    Request(cli::request::Args),
    /// Check the signatures of an activation answer or a .lic file.
    Verify(cli::verify::Args),
    /// Decode a request file as a server would and show what is in it, and why it would be refused.
    Inspect(cli::inspect::Args),
    /// Print a signed Date and Authorization header pair (for curl -H @FILE).
    Headers(cli::headers::Args),
    /// Run the reference server (activate_offline and deactivate_offline).
    Serve(cli::serve::Args),
    /// Run the test double (a programmable fake of the endpoints, for client tests) on a port.
    Mock(cli::mock::Args),
    /// Run the conformance suite against a server (default: the reference server, in-process).
    Run(cli::run::Args),
    /// List the conformance cases and the generated properties: id, SPEC tag, severity, title;
    /// with --rules, the rule catalogue and the cases that test each rule.
    List(cli::list::Args),
    /// Run one case, showing the whole exchange: a case id, or a case file (a finding of `fuzz`).
    Replay(cli::replay::Args),
    /// Fuzz a server: send generated, re-signed hostile requests and write each finding, shrunk,
    /// as a case file that `replay` and `run --cases` send again.
    Fuzz(cli::fuzz::Args),
    /// Send the same requests to two servers (or compare one with its recorded snapshots) and
    /// report every difference: nonconforming (one side outside what SPEC allows) or divergence.
    Diff(cli::diff::Args),
    /// Sit between a real client and a real server: forward every exchange unchanged and judge
    /// both sides against SPEC; nonconforming exchanges become case files.
    Proxy(cli::proxy::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Request(args) => cli::request::run(args),
        Command::Verify(args) => cli::verify::run(args),
        Command::Inspect(args) => cli::inspect::run(args),
        Command::Headers(args) => cli::headers::run(args),
        Command::Serve(args) => cli::serve::run(args),
        Command::Mock(args) => cli::mock::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::List(args) => cli::list::run(args),
        Command::Replay(args) => cli::replay::run(args),
        Command::Fuzz(args) => cli::fuzz::run(args),
        Command::Diff(args) => cli::diff::run(args),
        Command::Proxy(args) => cli::proxy::run(args),
    };
    result.unwrap_or_else(|cli::CliError { message, code }| {
        eprintln!("error: {message}");
        ExitCode::from(code)
    })
}
