//! `lsconform inspect`: decodes a request file as a server does and says why it would be refused.

use std::path::PathBuf;
use std::process::ExitCode;

use lsconform::protocol::{decode_request, MacEncoding, Rejection, RequestKind, Schema, Style};

use super::{read, CliError};

#[derive(clap::Args)]
pub struct Args {
    /// The request file; - for stdin.
    file: PathBuf,
    /// The shared key, to verify the file's signatures.
    #[arg(long)]
    shared_key: Option<String>,
    /// Inspect it as a deactivation file (for deactivate_offline).
    #[arg(long)]
    deactivation: bool,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let body = read(&args.file)?;
    let kind = if args.deactivation {
        RequestKind::Deactivation
    } else {
        RequestKind::Activation
    };
    let refused = |rejection: Rejection| {
        let body = rejection.error_body();
        println!("refused: {} {} ({})", body.status, body.code, rejection.detail);
        Ok(ExitCode::from(1))
    };
    let decoded = match decode_request(Some("text/plain"), &body) {
        Ok(decoded) => decoded,
        Err(rejection) => return refused(rejection),
    };
    let schema = match decoded.schema {
        Schema::V1 => "1",
        Schema::V2 => "2",
    };
    let style = Style::of(&decoded).map_or("no official client's", Style::name);
    println!("schema {schema}, {style} layout");
    let p = &decoded.payload;
    // The signature is shown below as a verdict, never in full; the password not at all.
    for (name, value) in p
        .read_members()
        .filter(|(name, _)| !matches!(*name, "password" | "signature"))
    {
        println!("  {name:<14} {value}");
    }
    for (name, value) in &p.other {
        println!("  {name:<14} {}", value.get());
    }
    let checked = match decoded.check(kind) {
        Ok(checked) => checked,
        Err(rejection) => return refused(rejection),
    };
    let inner = if checked.has_inner_signature() {
        "present"
    } else {
        "absent"
    };
    let outer = decoded.outer_mac_encoding().map_or("none", |e| match e {
        MacEncoding::Hex => "hex",
        MacEncoding::Base64 => "Base64",
    });
    println!("inner signature {inner}, outer MAC {outer}");
    match args.shared_key {
        None => {
            println!("signatures not checked (give --shared-key)");
            Ok(ExitCode::SUCCESS)
        }
        Some(shared_key) => match checked.verify(&shared_key) {
            Ok(()) => {
                println!("signatures ok");
                Ok(ExitCode::SUCCESS)
            }
            Err(rejection) => refused(rejection),
        },
    }
}
