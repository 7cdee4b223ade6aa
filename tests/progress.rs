//! The progress line of `run` and `fuzz`: on a terminal (a pseudo-terminal made by util-linux's
//! `script`), once the work has lasted two seconds, it shows how far it is; with `--quiet`, or
//! when stderr is a pipe (CI logs), nothing of it appears.
//!
//! The runs here last well past the two seconds by construction (a `--duration` of seconds, a
//! target that never answers within `--timeout`), so no timing decides a result.

#[path = "common/process.rs"]
#[allow(dead_code)]
mod process;

use std::process::{Command, Output, Stdio};

use process::silent_target;

const LSCONFORM: &str = env!("CARGO_BIN_EXE_lsconform");

/// Runs `lsconform ARGS` with its stdout and stderr on a pseudo-terminal; returns what the terminal
/// showed.
fn on_a_terminal(args: &[&str]) -> String {
    let line = std::iter::once(LSCONFORM)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new("script")
        .args(["-qfec", &line, "/dev/null"])
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null())
        .output()
        .expect("util-linux's script runs");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "lsconform on a terminal: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `lsconform ARGS` with stdout and stderr piped, as in CI.
fn piped(args: &[&str]) -> Output {
    Command::new(LSCONFORM)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("lsconform runs")
}

/// What `fuzz`'s line says: requests sent, their rate, the findings so far and the time left.
fn fuzz_line(text: &str) -> bool {
    text.contains(" requests sent (")
        && text.contains("/s), ")
        && text.contains(" finding(s) so far, ")
        && text.contains("s left")
}

#[test]
fn fuzz_shows_requests_rate_findings_and_time_left_on_a_terminal() {
    let dir = std::env::temp_dir().join(format!("lsconform-progress-{}", std::process::id()));
    let out = dir.display().to_string();
    let screen = on_a_terminal(&["fuzz", "--duration", "6s", "--seed", "1", "--out", &out]);
    assert!(fuzz_line(&screen), "a live line on the terminal:\n{screen}");
    assert!(screen.contains("\x1b[2K"), "the line is redrawn in place");
    // Cleared before the result is printed: the last line is the result alone.
    let result = screen
        .lines()
        .find(|l| l.contains("sent ") && l.contains(" from seed 1"));
    let result = result.unwrap_or_else(|| panic!("the result line:\n{screen}"));
    assert!(result
        .rsplit("\x1b[2K")
        .next()
        .is_some_and(|l| l.starts_with("sent ")));

    let quiet = on_a_terminal(&[
        "fuzz",
        "--duration",
        "3s",
        "--seed",
        "1",
        "--out",
        &out,
        "--quiet",
    ]);
    assert!(
        !fuzz_line(&quiet) && !quiet.contains("\x1b[2K"),
        "--quiet shows no line:\n{quiet}"
    );
    assert!(quiet.contains(" from seed 1"), "but the result:\n{quiet}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fuzz_piped_prints_nothing_but_its_first_line_on_stderr() {
    let dir = std::env::temp_dir().join(format!("lsconform-progress-piped-{}", std::process::id()));
    let out = piped(&[
        "fuzz",
        "--duration",
        "3s",
        "--seed",
        "1",
        "--out",
        &dir.display().to_string(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "only the first line:\n{stderr}");
    assert!(stderr.starts_with("lsconform fuzz: --seed 1"));
    for text in [&stderr, &stdout] {
        assert!(
            !fuzz_line(text) && !text.contains('\r') && !text.contains('\x1b'),
            "{text}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_shows_cases_done_of_the_total_on_a_terminal_and_nothing_when_piped() {
    let url = silent_target();
    let args = [
        "run",
        "--target",
        &url,
        "--only",
        "envelope/missing-date-header",
        "--generated",
        "0",
        "--timeout",
        "5",
    ];
    let screen = on_a_terminal(&args);
    assert!(screen.contains("[0/1]"), "cases done of the total:\n{screen}");
    assert!(
        screen.contains("ERROR envelope/missing-date-header"),
        "then the report:\n{screen}"
    );

    let out = piped(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a case without an answer fails the run: {stderr}"
    );
    assert!(
        !stderr.contains("[0/1]") && !stderr.contains('\r') && !stderr.contains('\x1b'),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "only the first line:\n{stderr}");
}

#[test]
fn run_shows_how_many_generated_requests_were_sent_and_judged_on_a_terminal() {
    // Each request waits out the 2 s timeout; after three in a row the rest are not sent: the run
    // lasts about 6 s, past the 2 s after which the line is drawn.
    let url = silent_target();
    // The generated requests are signed: a profile with credentials, at the silent target.
    let profile = std::env::temp_dir().join(format!("lsconform-progress-{}.toml", std::process::id()));
    std::fs::write(
        &profile,
        format!(
            "base_url = \"{url}\"\napi_key = \"k\"\nshared_key = \"s\"\nproduct = \"TP\"\n\
             [licenses]\nperpetual = \"PERP-0000-0000-0001\"\n"
        ),
    )
    .expect("a profile written");
    let screen = on_a_terminal(&[
        "run",
        "--target",
        &profile.display().to_string(),
        "--only",
        "generated/*",
        "--generated",
        "50",
        "--seed",
        "1",
        "--jobs",
        "1",
        "--timeout",
        "2",
    ]);
    assert!(
        screen.contains("generated requests: ")
            && screen.contains("/50 sent and judged by 4 properties (--seed 1)"),
        "the generated requests' count:\n{screen}"
    );
    let _ = std::fs::remove_file(&profile);
}
