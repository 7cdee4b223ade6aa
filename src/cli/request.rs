//! `lsconform request`: writes an offline request file, as the official SDKs do.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use lsconform::protocol::{RequestBuilder, RequestKind, Style};

use super::{usage, CliError};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("licensee").required(true).args(["license_key", "username"])))]
pub struct Args {
    /// The license key (key-based licenses).
    #[arg(long)]
    license_key: Option<String>,
    /// The user (user-based licenses).
    #[arg(long)]
    username: Option<String>,
    /// The user's password (user-based licenses).
    #[arg(long, requires = "username")]
    password: Option<String>,
    /// The device's hardware id.
    #[arg(long)]
    hardware_id: String,
    /// The product's short code.
    #[arg(long)]
    product: String,
    /// The API key.
    #[arg(long)]
    api_key: String,
    /// The shared key that signs the file.
    #[arg(long)]
    shared_key: String,
    /// The layout: schema1, compact-hex (C++ SDK), python (Python SDK), javascript (Node SDK).
    #[arg(long, default_value = "python")]
    style: Style,
    /// Write a deactivation file (for deactivate_offline) instead of an activation file.
    #[arg(long)]
    deactivation: bool,
    /// The payload date (default: now, in the style's own form).
    #[arg(long)]
    date: Option<String>,
    /// The request id (default: a fresh UUID v4).
    #[arg(long)]
    request_id: Option<String>,
    /// Another string member, e.g. --field hostname=my-pc (repeatable, kept in order).
    #[arg(long = "field", value_name = "NAME=TEXT", value_parser = name_value)]
    fields: Vec<(String, String)>,
    /// Another member given as JSON, e.g. --field-json is_vm=false (repeatable).
    #[arg(long = "field-json", value_name = "NAME=JSON", value_parser = name_json)]
    json_fields: Vec<(String, serde_json::Value)>,
    /// Write the file here instead of to stdout.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

fn name_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("expected NAME=TEXT, got {s:?}")),
    }
}

fn name_json(s: &str) -> Result<(String, serde_json::Value), String> {
    let (name, value) = name_value(s)?;
    let value = serde_json::from_str(&value).map_err(|e| format!("the value of {name} is not JSON: {e}"))?;
    Ok((name, value))
}

pub fn run(args: Args) -> Result<ExitCode, CliError> {
    let kind = if args.deactivation {
        RequestKind::Deactivation
    } else {
        RequestKind::Activation
    };
    let mut builder = RequestBuilder::new(kind)
        .hardware_id(args.hardware_id)
        .product(args.product)
        .date(args.date.unwrap_or_else(|| args.style.date(SystemTime::now())))
        .request_id(
            args.request_id
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        )
        .style(args.style);
    if let Some(key) = args.license_key {
        builder = builder.license_key(key);
    }
    if let Some(username) = args.username {
        builder = builder.username(username);
    }
    if let Some(password) = args.password {
        builder = builder.password(password);
    }
    for (name, value) in args.fields {
        builder = builder.field(name, value);
    }
    for (name, value) in args.json_fields {
        builder = builder.field(name, value);
    }
    let file = builder.sign(&args.api_key, &args.shared_key);
    match args.out {
        Some(path) => std::fs::write(&path, &file.text)
            .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))?,
        None => println!("{}", file.text),
    }
    Ok(ExitCode::SUCCESS)
}
