//! The `lsconform` command line: a thin layer over the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Args, Parser, Subcommand};
use lsconform::protocol::{
    answer_json, check_answer, decode_request, format_http_date, AuthorizationHeader, MacEncoding,
    OfflineKey, PublicKey, Rejection, RequestBuilder, RequestKind, Schema, Style, Verdict,
};

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
    Request(RequestArgs),
    /// Check the signatures of an activation answer or a .lic file.
    Verify(VerifyArgs),
    /// Decode a request file as a server would and show what is in it, and why it would be refused.
    Inspect(InspectArgs),
    /// Print a signed Date and Authorization header pair (for curl -H @FILE).
    Headers(HeadersArgs),
    /// Run the reference server (activate_offline and deactivate_offline).
    Serve(ServeArgs),
    /// Run the test double (a programmable fake of the endpoints, for client tests) on a port.
    Mock(MockArgs),
    /// Run the conformance suite against a server (default: the reference server, in-process).
    Run(RunArgs),
    /// List the conformance cases and the generated properties: id, SPEC tag, severity, title.
    List,
    /// Run one case, showing the whole exchange: a case id, or a case file (a finding of `fuzz`).
    Replay(ReplayArgs),
    /// Fuzz a server: send generated, re-signed hostile requests and write each finding, shrunk,
    /// as a case file that `replay` and `run --cases` send again.
    Fuzz(FuzzArgs),
}

#[derive(Args)]
struct TargetArgs {
    /// A target profile (TOML) or a bare URL; default: the reference server, started in-process on
    /// a fresh in-memory database.
    #[arg(long)]
    target: Option<String>,
    /// Bound on each exchange, in seconds.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Show shared keys' signatures and request bodies in full instead of redacted.
    #[arg(long)]
    show_secrets: bool,
}

#[derive(Args)]
struct RunArgs {
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
    /// Write the JSON report here (schema: docs/report.md).
    #[arg(long)]
    report_json: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    report_junit: Option<PathBuf>,
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
}

#[derive(Args)]
struct FuzzArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// How long to send requests: `90s`, `10m`, `1h`, `500ms`, or seconds (shrinking comes after).
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    duration: std::time::Duration,
    /// Send at most N requests (whichever of --duration and --requests ends first).
    #[arg(long, value_name = "N")]
    requests: Option<usize>,
    /// The seed: the same seed sends the same requests (default: a random one, printed).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Where each finding's case file is written, as DIR/fuzz/<kind>-<hash>.json.
    #[arg(long, value_name = "DIR", default_value = "lsconform-findings")]
    out: PathBuf,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// At most N distinct findings are shrunk and written (the others are counted).
    #[arg(long, value_name = "N", default_value_t = lsconform::suite::fuzz::DEFAULT_MAX_FINDINGS)]
    max_findings: usize,
    /// Every finding fails the run, also those of SPEC's [pinned] rules that are not safety
    /// properties (always on against the in-process reference server).
    #[arg(long)]
    strict: bool,
}

/// `90s`, `10m`, `1h`, `500ms`, or a number of seconds.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 90s, 10m, 1h, 500ms)"))?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => return Err(format!("unknown unit {other:?} in {text:?} (ms, s, m, h)")),
    };
    std::time::Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?} is not a positive duration"))
}

#[derive(Args)]
struct ReplayArgs {
    /// The case's id (see `lsconform list`), or the path of a case file (ending in .json).
    id: String,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args)]
struct ServeArgs {
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
    /// Turn on a named fault (a deliberate deviation, for testing the suite); repeatable.
    #[arg(long = "fault", value_name = "NAME", hide = true)]
    faults: Vec<lsconform::server::Fault>,
    /// List the named faults and exit.
    #[arg(long, hide = true)]
    list_faults: bool,
    /// Turn on a named conforming variant (another answer SPEC allows at one point, for testing the
    /// suite); repeatable, and combines with faults.
    #[arg(long = "variant", value_name = "NAME", hide = true)]
    variants: Vec<lsconform::server::Variant>,
    /// List the named conforming variants and exit.
    #[arg(long, hide = true)]
    list_variants: bool,
}

#[derive(Args)]
struct MockArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// The double's configuration (TOML: credentials, licenses, faults, journal cap; see
    /// fixtures/double/example.toml); default: the reference seed's credentials and licenses.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct HeadersArgs {
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

#[derive(Args)]
struct InspectArgs {
    /// The request file; - for stdin.
    file: PathBuf,
    /// The shared key, to verify the file's signatures.
    #[arg(long)]
    shared_key: Option<String>,
    /// Inspect it as a deactivation file (for deactivate_offline).
    #[arg(long)]
    deactivation: bool,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("licensee").required(true).args(["license_key", "username"])))]
struct RequestArgs {
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

#[derive(Args)]
struct VerifyArgs {
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

/// Why a command could not do its job, and its exit code.
struct CliError {
    message: String,
    /// 2: bad usage or configuration; 3: the harness itself broke (`lsconform run`'s exit codes).
    code: u8,
}

/// Bad usage, a bad file or profile: exit code 2.
fn usage(message: String) -> CliError {
    CliError { message, code: 2 }
}

/// Not the user's doing: the harness itself broke (exit code 3).
fn harness(message: String) -> CliError {
    CliError { message, code: 3 }
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| usage(format!("cannot read stdin: {e}")))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))
}

fn request(args: RequestArgs) -> Result<ExitCode, CliError> {
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

fn verify(args: VerifyArgs) -> Result<ExitCode, CliError> {
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

fn inspect(args: InspectArgs) -> Result<ExitCode, CliError> {
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
    let known = [
        ("request", &p.request),
        ("license_key", &p.license_key),
        ("username", &p.username),
        ("hardware_id", &p.hardware_id),
        ("product", &p.product),
        ("date", &p.date),
        ("api_key", &p.api_key),
        ("client_id", &p.client_id),
        ("request_id", &p.request_id),
        ("bundle_code", &p.bundle_code),
    ];
    for (name, value) in known {
        if let Some(value) = value {
            println!("  {name:<14} {value}");
        }
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

fn list() -> Result<ExitCode, CliError> {
    let cases = lsconform::suite::cases().map_err(|e| usage(e.to_string()))?;
    let line = |id: &str, tag: lsconform::suite::case::Tag, severity, title: &str| {
        println!(
            "{id:<48} {:<7} {:<6} {title}",
            format!("{tag:?}").to_lowercase(),
            format!("{severity:?}").to_uppercase(),
        )
    };
    for case in &cases {
        line(case.id(), case.tag(), case.severity(), case.title());
    }
    // The properties of the generated requests (their rule, tag and severity are those of the
    // request that breaks them; these are the properties' own).
    for p in lsconform::suite::generate::Property::ALL {
        let rule = p.rule();
        line(p.id(), rule.tag, rule.severity(), p.title());
    }
    Ok(ExitCode::SUCCESS)
}

/// The profile a run targets, and the reference server started for it when no target is given.
async fn target(
    args: &TargetArgs,
) -> Result<
    (
        lsconform::suite::Profile,
        Option<lsconform::server::RunningServer>,
    ),
    CliError,
> {
    use lsconform::suite::Profile;
    match &args.target {
        Some(t) if t.starts_with("http://") || t.starts_with("https://") => Ok((Profile::bare(t), None)),
        Some(path) => Ok((
            Profile::load(Path::new(path)).map_err(|e| usage(e.to_string()))?,
            None,
        )),
        None => {
            let server = lsconform::server::ReferenceServer::builder()
                .start()
                .await
                .map_err(|e| harness(format!("the reference server did not start: {e}")))?;
            Ok((Profile::reference(server.uri()), Some(server)))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Runtime::new().map_err(|e| harness(format!("cannot start tokio: {e}")))
}

fn run_options(args: &TargetArgs, jobs: usize) -> Result<lsconform::suite::RunOptions, CliError> {
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        return Err(usage("--timeout takes a positive number of seconds".into()));
    }
    Ok(lsconform::suite::RunOptions {
        jobs: jobs.max(1),
        timeout: std::time::Duration::from_secs_f64(args.timeout),
    })
}

fn run_suite(args: RunArgs) -> Result<ExitCode, CliError> {
    use lsconform::suite::generate::{self, GenerateOptions};
    use lsconform::suite::{cases, report, run, select, Baseline, Report};
    let mut all = cases().map_err(|e| usage(e.to_string()))?;
    for dir in &args.cases {
        let more = lsconform::suite::cases_in(dir).map_err(|e| usage(e.to_string()))?;
        if more.is_empty() {
            return Err(usage(format!("no case file (*.json) under {}", dir.display())));
        }
        for case in more {
            if all.iter().any(|c| c.id() == case.id()) {
                return Err(usage(format!(
                    "{}: the case {} is there twice",
                    dir.display(),
                    case.id()
                )));
            }
            all.push(case);
        }
    }
    let selected = select(all, &args.only, &args.skip).map_err(usage)?;
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
    let options = run_options(&args.target, args.jobs)?;
    let show_secrets = args.target.show_secrets;
    let runtime = runtime()?;
    let report = runtime.block_on(async {
        let (profile, server) = target(&args.target).await?;
        let total = selected.len() + generated.properties.len();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
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
        let shown = std::sync::Arc::clone(&done);
        let show = move |r: &lsconform::suite::CaseResult| {
            let n = shown.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if tty {
                eprint!("\r[{n:>4}/{total}] {:<60}", r.id);
            }
        };
        let mut results = run(selected, &profile, &options, show.clone()).await;
        // After the cases, so that the generated requests never compete with the seat race.
        results.extend(generate::run(&profile, &generated, &options, show).await);
        results.sort_by(|a, b| a.id.cmp(&b.id));
        if tty {
            eprintln!();
        }
        if let Some(server) = server {
            server.shutdown().await;
        }
        let strict = args.strict || args.target.target.is_none();
        Ok::<_, CliError>(
            Report::new(profile.base_url.clone(), results, &baseline, started.elapsed()).strict(strict),
        )
    })?;
    print!("{}", report::terminal(&report, show_secrets));
    if !generated.properties.is_empty() {
        println!(
            "generated: {} requests from seed {}; `lsconform run --seed {} --generated {}` sends the same ones",
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
    if let Some(path) = &args.report_json {
        std::fs::write(path, report::json(&report, show_secrets))
            .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))?;
    }
    if let Some(path) = &args.report_junit {
        std::fs::write(path, report::junit(&report, show_secrets))
            .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(ExitCode::from(report.exit_code()))
}

fn replay(args: ReplayArgs) -> Result<ExitCode, CliError> {
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
    let options = run_options(&args.target, 1)?;
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

fn fuzz(args: FuzzArgs) -> Result<ExitCode, CliError> {
    use lsconform::suite::fuzz::{fuzz, FuzzOptions};
    use lsconform::suite::report;
    let run = run_options(&args.target, args.jobs)?;
    let seed = args.seed.unwrap_or_else(lsconform::suite::generate::random_seed);
    let mut options = FuzzOptions::new(seed).duration(args.duration);
    options.max_findings = args.max_findings;
    if let Some(n) = args.requests {
        options = options.requests(n);
    }
    let strict = args.strict || args.target.target.is_none();
    let show_secrets = args.target.show_secrets;
    let (report, target) = runtime()?.block_on(async {
        let (profile, server) = target(&args.target).await?;
        if profile.credentials.is_none() {
            return Err(usage(
                "fuzzing signs its requests: give --target a profile (TOML) with api_key and shared_key"
                    .into(),
            ));
        }
        eprintln!(
            "lsconform fuzz: --seed {seed}, {:?}{} against {}",
            options.duration,
            options
                .max_requests
                .map(|n| format!(" or {n} requests"))
                .unwrap_or_default(),
            profile.base_url
        );
        let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let report = fuzz(&profile, &options, &run, |p| {
            if tty {
                eprint!(
                    "\r{} requests sent, {} answered, {} finding(s) so far ",
                    p.sent, p.answered, p.findings
                );
            }
        })
        .await;
        if tty {
            eprintln!();
        }
        if let Some(server) = server {
            server.shutdown().await;
        }
        Ok::<_, CliError>((report, args.target.target.clone()))
    })?;
    if let Some(e) = &report.harness_error {
        return Err(harness(e.clone()));
    }
    println!(
        "sent {} requests ({} answered) in {:.1} s from seed {seed}: {} finding(s){}",
        report.sent,
        report.answered,
        report.elapsed.as_secs_f64(),
        report.findings.len() + report.not_shrunk,
        if report.gave_up {
            "; stopped early: requests in a row got no answer"
        } else {
            ""
        }
    );
    let again = |file: &Path| match &target {
        Some(t) => format!("lsconform replay {} --target {t}", file.display()),
        None => format!("lsconform replay {}", file.display()),
    };
    for f in &report.findings {
        let file = f
            .write_to(&args.out)
            .map_err(|e| usage(format!("cannot write under {}: {e}", args.out.display())))?;
        let verdict = match (f.severity(), strict) {
            (lsconform::suite::case::Severity::Must, _) | (_, true) => "FAIL",
            _ => "WARN",
        };
        println!(
            "\n{verdict}  {}  [SPEC {} {}{}, {}: {}]\n  the target {} ({} request(s) of the run)",
            f.id(),
            f.rule.spec,
            format!("{:?}", f.rule.tag).to_lowercase(),
            if f.rule.safety { " safety" } else { "" },
            format!("{:?}", f.severity()).to_uppercase(),
            f.rule.what,
            f.kind.what(),
            f.occurrences
        );
        println!("  expected: {}\n  actual:   {}", f.expected, f.actual);
        println!("  found:    {}", f.how);
        if let Some(payload) = &f.request.payload {
            let payload = if show_secrets {
                payload.clone()
            } else {
                report::redact(payload)
            };
            println!("  payload:  {payload}");
        }
        println!("  written:  {}\n  again:    {}", file.display(), again(&file));
    }
    if report.not_shrunk > 0 {
        println!(
            "\n{} more distinct finding(s) were not shrunk nor written (--max-findings {})",
            report.not_shrunk, options.max_findings
        );
    }
    if !report.findings.is_empty() {
        let on = target
            .as_ref()
            .map(|t| format!(" --target {t}"))
            .unwrap_or_default();
        println!(
            "\n`lsconform run{on} --cases {}` runs every finding with the suite;\n`lsconform fuzz{on} --seed {seed}` sends the same requests again, in the same order",
            args.out.display()
        );
    }
    Ok(ExitCode::from(report.exit_code(strict)))
}

fn serve(args: ServeArgs) -> Result<ExitCode, CliError> {
    use lsconform::server::{Fault, ReferenceServer, Seed, Variant};
    if args.list_variants {
        for variant in Variant::ALL {
            println!(
                "{:<30} SPEC {:<5} {}",
                variant.name(),
                variant.spec(),
                variant.description()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.list_faults {
        for fault in Fault::ALL {
            println!(
                "{:<28} SPEC {:<5} {}",
                fault.name(),
                fault.spec(),
                fault.description()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    // The request log is written by a thread of its own, so that answering never waits for
    // stderr; it blocks rather than drops lines when it falls behind, and `_log` flushes it on exit.
    let (log_writer, _log) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(log_writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut builder = ReferenceServer::builder()
        .listen(args.listen)
        .max_body(args.max_body);
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

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Request(args) => request(args),
        Command::Verify(args) => verify(args),
        Command::Inspect(args) => inspect(args),
        Command::Serve(args) => serve(args),
        Command::Mock(args) => {
            lsconform::double::run_standalone(args.listen, args.config.as_deref(), shutdown_signal())
                .map(|()| ExitCode::SUCCESS)
                .map_err(|e| usage(e.to_string()))
        }
        Command::Run(args) => run_suite(args),
        Command::List => list(),
        Command::Replay(args) => replay(args),
        Command::Fuzz(args) => fuzz(args),
        Command::Headers(args) => {
            let date = args.date.unwrap_or_else(|| format_http_date(SystemTime::now()));
            println!("Date: {date}");
            println!(
                "Authorization: {}",
                AuthorizationHeader::signed(&args.api_key, &args.shared_key, &date)
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    result.unwrap_or_else(|CliError { message, code }| {
        eprintln!("error: {message}");
        ExitCode::from(code)
    })
}
