//! Helpers of `benches/server_load.sh` (a benchmark, never a test: it prints figures, it fails on
//! nothing but bad usage).
//!
//! ```text
//! gen_activations requests COUNT OUT
//! gen_activations rsa SECONDS [THREADS]
//! ```
//!
//! `requests` writes COUNT correctly signed activation requests for the reference seed's perpetual
//! license (`PERP-0000-0000-0001`, product `TP`, API key `lsconform-test-api-key`), each with its own
//! hardware id and request id, as Python SDK files, one a line: `Date<TAB>Authorization<TAB>body`.
//! The Dates are within the last minute, so the lines are good for the server's 15 minutes (SPEC §2): generate them
//! right before they are sent. wrk's Lua cannot compute HMAC-SHA256, hence this.
//!
//! `rsa` signs, on THREADS threads (default: every core) for SECONDS, a message of the size and
//! shape `license_signature_v2` covers (a success answer without its two RSA signatures) with
//! the reference server's test key, and prints `key=value` lines: signatures per second, and that
//! halved, as a success answer carries two RSA signatures: the ceiling of success answers per
//! second on this machine.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use lsconform::protocol::{
    format_http_date, ActivationAnswer, AnswerLicensee, AuthorizationHeader, ProductDetails, RequestBuilder,
    SigningKey, Style,
};
use lsconform::server::TEST_PRIVATE_KEY;

const API_KEY: &str = "lsconform-test-api-key";
const SHARED_KEY: &str = "lsconform-test-shared-key";
const LICENSE_KEY: &str = "PERP-0000-0000-0001";
const PRODUCT: &str = "TP";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn usage() -> Box<dyn std::error::Error> {
    "usage: gen_activations requests COUNT OUT | gen_activations rsa SECONDS [THREADS]".into()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["requests", count, out] => requests(count.parse()?, out),
        ["rsa", seconds] => rsa(seconds.parse()?, cores()),
        ["rsa", seconds, threads] => rsa(seconds.parse()?, threads.parse()?),
        _ => Err(usage()),
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One line per request: `Date<TAB>Authorization<TAB>body`.
fn requests(count: usize, out: &str) -> Result<()> {
    let started = Instant::now();
    // Unique in this run and across runs against the same database.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut text = String::with_capacity(count * 1100);
    let now = SystemTime::now();
    for i in 0..count {
        // Dates spread over the last minute: each second its own header signature.
        let sent = now - Duration::from_secs((i % 60) as u64);
        let date = format_http_date(sent);
        let hardware_id = format!("{run}-{i:010}");
        let file = RequestBuilder::activation()
            .license_key(LICENSE_KEY)
            .hardware_id(hardware_id)
            .product(PRODUCT)
            .date(Style::Python.date(sent))
            .request_id(uuid::Uuid::new_v4().to_string())
            .field("hostname", format!("bench-host-{i}"))
            .field("os_ver", "Linux 6.1.0")
            .field("sdk_ver", "PythonSDK 4.0.0")
            .field("is_vm", false)
            .style(Style::Python)
            .sign(API_KEY, SHARED_KEY);
        let authorization = AuthorizationHeader::signed(API_KEY, SHARED_KEY, &date);
        text.push_str(&format!("{date}\t{authorization}\t{}\n", file.text));
    }
    std::fs::write(out, &text)?;
    println!(
        "requests={count} bytes={} body_bytes_each~{} seconds={:.2}",
        text.len(),
        text.lines()
            .next()
            .map_or(0, |l| l.rsplit('\t').next().unwrap_or("").len()),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What `license_signature_v2` covers in a typical success answer: the answer's members without
/// the two RSA signatures.
fn typical_signed_message(key: &SigningKey) -> Vec<u8> {
    let date = format_http_date(SystemTime::now());
    let answer = ActivationAnswer {
        licensee: AnswerLicensee::LicenseKey(LICENSE_KEY.into()),
        hardware_id: format!("{}-{:010}", uuid::Uuid::new_v4().simple(), 1),
        product_details: ProductDetails {
            short_code: PRODUCT.into(),
            product_name: "Test Product".into(),
            authorization_method: "license-key".into(),
        },
        license_type: "perpetual".into(),
        is_trial: false,
        license_enabled: true,
        license_active: true,
        is_expired: false,
        validity_period: None,
        max_activations: 1_000_000,
        times_activated: 12_345,
        transfer_count: 0,
        request_id: Some(uuid::Uuid::new_v4().to_string()),
        date,
    };
    let body = answer.sign(API_KEY, SHARED_KEY, key);
    let text = String::from_utf8(body).expect("the answer is JSON");
    let cut = text
        .find(r#","license_signature":"#)
        .expect("the answer ends with its RSA signatures");
    format!("{}}}", &text[..cut]).into_bytes()
}

fn rsa(seconds: f64, threads: usize) -> Result<()> {
    let key = SigningKey::from_pem(TEST_PRIVATE_KEY)?;
    let message = typical_signed_message(&key);
    let threads = threads.max(1);
    let duration = Duration::from_secs_f64(seconds);
    let stop = AtomicBool::new(false);
    let total = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    std::hint::black_box(key.sign(std::hint::black_box(&message)));
                    n += 1;
                }
                total.fetch_add(n, Ordering::Relaxed);
            });
        }
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
    });
    let elapsed = started.elapsed().as_secs_f64();
    let signatures = total.load(Ordering::Relaxed);
    let per_second = signatures as f64 / elapsed;
    println!("threads={threads}");
    println!("message_bytes={}", message.len());
    println!("signatures={signatures}");
    println!("seconds={elapsed:.2}");
    println!("signatures_per_s={per_second:.1}");
    println!(
        "per_signature_us_per_thread={:.1}",
        1e6 * threads as f64 / per_second
    );
    println!("answers_per_s_ceiling={:.1}", per_second / 2.0);
    Ok(())
}
