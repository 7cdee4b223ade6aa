//! `lsconform verify`: checks the signatures of an answer or a `.lic` file.

use std::path::PathBuf;
use std::process::ExitCode;

use lsconform::protocol::{answer_json, check_answer, OfflineKey, PublicKey, Verdict};

use super::{read, usage, CliError};

#[derive(clap::Args)]
pub struct Args {
    /// The answer (JSON) or .lic file (Base64 of it); - for stdin.
    file: PathBuf,
    /// The server's public key (PEM: PUBLIC KEY or RSA PUBLIC KEY).
    #[arg(long)]
    public_key: PathBuf,
    /// The shared key, to check offline_signature (needs --api-key).
    #[arg(long, requires = "api_key")]
    shared_key: Option<String>,
    /// The API key the request was signed for, to check offline_signature (needs --shared-key).
    #[arg(long, requires = "shared_key")]
    api_key: Option<String>,
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let pem = read(&args.public_key)?;
    let pem = String::from_utf8(pem)
        .map_err(|_| usage(format!("{} is not PEM text", args.public_key.display())))?;
    let public_key =
        PublicKey::from_pem(&pem).map_err(|e| usage(format!("{}: {e}", args.public_key.display())))?;
    let json = answer_json(&read(&args.file)?).map_err(|e| usage(format!("{}: {e}", args.file.display())))?;
    let offline = match (&args.api_key, &args.shared_key) {
        (Some(api_key), Some(shared_key)) => Some(OfflineKey { api_key, shared_key }),
        _ => None,
    };
    let check = check_answer(&json, Some(&public_key), offline)
        .map_err(|e| usage(format!("{}: {e}", args.file.display())))?;
    for (name, verdict) in [
        ("offline_signature", check.offline_signature),
        ("license_signature", check.license_signature),
        ("license_signature_v2", check.license_signature_v2),
    ] {
        let note = match verdict {
            Verdict::NotChecked => " (give --api-key and --shared-key to check it)",
            _ => "",
        };
        println!("{name:<21} {verdict}{note}");
    }
    Ok(if check.all_hold() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
