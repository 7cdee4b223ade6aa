//! `lsconform headers`: a signed Date and Authorization header pair, for `curl -H @FILE`.

use std::process::ExitCode;
use std::time::SystemTime;

use lsconform::protocol::{format_http_date, AuthorizationHeader};

use super::CliError;

#[derive(clap::Args)]
pub struct Args {
    /// The API key.
    #[arg(long)]
    api_key: String,
    /// The shared key that signs the Date header.
    #[arg(long)]
    shared_key: String,
    /// The Date header's value (default: now, as IMF-fixdate).
    #[arg(long)]
    date: Option<String>,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let date = args.date.unwrap_or_else(|| format_http_date(SystemTime::now()));
    println!("Date: {date}");
    println!(
        "Authorization: {}",
        AuthorizationHeader::signed(&args.api_key, &args.shared_key, &date)
    );
    Ok(ExitCode::SUCCESS)
}
