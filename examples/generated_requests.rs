//! Helper of `benches/generated_load.sh` (a benchmark, never a test): writes the requests that
//! `lsconform run --generated COUNT --seed SEED` sends to the reference server, so that a plain load
//! generator (wrk) can send the very same bytes.
//!
//! ```text
//! generated_requests COUNT SEED OUT
//! ```
//!
//! One request a line: `Date<TAB>Authorization<TAB>Content-Type (or empty)<TAB>body in hex` (the
//! bodies hold tabs, line breaks and any byte), and for an activation the oracle accepts, four
//! columns more in the same form: the `deactivate_offline` request that gives its seat back, which
//! the suite sends when the activation is answered 200 ([`GeneratedCase::give_back`], from what
//! was sent). The requests are written for the reference seed's profile
//! (`fixtures/targets/reference.toml`) at the current time: send them within 15 minutes (SPEC §2).
//!
//! [`GeneratedCase::give_back`]: lsconform::suite::generate::GeneratedCase::give_back

use std::fmt::Write as _;
use std::time::{Instant, SystemTime};

use lsconform::protocol::RequestKind;
use lsconform::suite::generate::{requests, GenerateOptions};
use lsconform::suite::{Prepared, Profile};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [count, seed, out] = args.as_slice() else {
        return Err("usage: generated_requests COUNT SEED OUT".into());
    };
    let started = Instant::now();
    let profile = Profile::reference("http://127.0.0.1");
    let cases = requests(
        &profile,
        &GenerateOptions::new(count.parse()?, seed.parse()?),
        SystemTime::now(),
    )?;
    let mut text = String::new();
    let mut given_back = 0;
    let now = SystemTime::now();
    for case in &cases {
        write_request(&mut text, &case.request)?;
        if case.oracle.is_ok() && case.value.kind == RequestKind::Activation {
            let back = case
                .give_back(&profile, None, now)
                .ok_or("the reference profile gives no seat back")?;
            text.push('\t');
            write_request(&mut text, &back)?;
            given_back += 1;
        }
        text.push('\n');
    }
    std::fs::write(out, &text)?;
    let accepted = cases.iter().filter(|c| c.oracle.is_ok()).count();
    println!(
        "requests={} accepted_by_the_oracle={accepted} give_backs={given_back} bytes={} seconds={:.2}",
        cases.len(),
        text.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `Date<TAB>Authorization<TAB>Content-Type<TAB>hex body`.
fn write_request(text: &mut String, request: &Prepared) -> std::fmt::Result {
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let body = request.body.as_deref().unwrap_or_default();
    write!(
        text,
        "{}\t{}\t{}\t{}",
        header("Date"),
        header("Authorization"),
        header("Content-Type"),
        hex::encode(body)
    )
}
