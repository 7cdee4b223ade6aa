//! Replays the committed fuzz inputs of every cargo-fuzz target in `fuzz/` through the target's own
//! code (`lsconform::fuzzing::<target>_target`) on stable Rust: the generated seeds
//! `fuzz/seeds/<target>/`, the minimised corpus `fuzz/corpus/<target>/` and, when it exists,
//! `fuzz/regressions/<target>/` (inputs that once crashed the target). A panic in a target fails
//! the test and names the input; a missing or empty seed or corpus directory fails it too.

use std::collections::BTreeSet;
use std::fs;
use std::panic;
use std::path::{Path, PathBuf};
use std::time::Instant;

use lsconform::fuzzing::{
    auth_header_target, base64_baseline_target, decode_baseline_target, decode_request_target,
    handler_target, multipart_body_target, roundtrip_target, split_decode_input, verify_request_target,
};

/// A cargo-fuzz target: its name, its body, and whose inputs it runs on.
struct Target {
    name: &'static str,
    run: fn(&[u8]),
    /// The target whose seeds it uses (its own, but for the two baselines and `verify_request`).
    seeds: &'static str,
    /// The target whose minimised corpus it uses (its own, but for the two baselines).
    corpus: &'static str,
    /// Its dictionary, in `fuzz/`.
    dict: &'static str,
}

const TARGETS: &[Target] = &[
    Target {
        name: "decode_request",
        run: decode_request_target,
        seeds: "decode_request",
        corpus: "decode_request",
        dict: "decode_request.dict",
    },
    Target {
        name: "verify_request",
        run: verify_request_target,
        seeds: "decode_request",
        corpus: "verify_request",
        dict: "verify_request.dict",
    },
    Target {
        name: "base64_baseline",
        run: base64_baseline_target,
        seeds: "decode_request",
        corpus: "decode_request",
        dict: "decode_request.dict",
    },
    Target {
        name: "decode_baseline",
        run: decode_baseline_target,
        seeds: "decode_request",
        corpus: "decode_request",
        dict: "decode_request.dict",
    },
    Target {
        name: "auth_header",
        run: auth_header_target,
        seeds: "auth_header",
        corpus: "auth_header",
        dict: "auth_header.dict",
    },
    Target {
        name: "multipart_body",
        run: multipart_body_target,
        seeds: "multipart_body",
        corpus: "multipart_body",
        dict: "multipart_body.dict",
    },
    Target {
        name: "handler",
        run: handler_target,
        seeds: "handler",
        corpus: "handler",
        dict: "handler.dict",
    },
    Target {
        name: "roundtrip",
        run: roundtrip_target,
        seeds: "roundtrip",
        corpus: "roundtrip",
        dict: "roundtrip.dict",
    },
];

/// `cargo fuzz cmin` keeps the committed corpus at tens of files; thousands mean it was not run.
const MAX_CORPUS_FILES: usize = 200;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The inputs of a corpus directory, sorted by name (`.gitattributes` and the like excluded).
fn inputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|e| e.expect("a readable directory entry").path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .map(|p| {
            let data = fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            (p, data)
        })
        .collect();
    inputs.sort();
    inputs
}

/// The inputs of a directory that must exist and hold some.
fn required_inputs(dir: &Path, how: &str) -> Vec<(PathBuf, Vec<u8>)> {
    assert!(dir.is_dir(), "{} is missing; {how}", dir.display());
    let inputs = inputs(dir);
    assert!(!inputs.is_empty(), "{} holds no inputs; {how}", dir.display());
    inputs
}

/// Runs every input through the target; the names of those it panicked on.
fn replay(target: &Target, inputs: &[(PathBuf, Vec<u8>)]) -> Vec<String> {
    inputs
        .iter()
        .filter(|(_, data)| panic::catch_unwind(|| (target.run)(data)).is_err())
        .map(|(path, _)| format!("{}: {}", target.name, path.display()))
        .collect()
}

fn assert_none_failed(failed: Vec<String>) {
    assert!(
        failed.is_empty(),
        "the targets panicked on:\n{}",
        failed.join("\n")
    );
}

const SEEDS_HOW: &str = "`LSCONFORM_BLESS=1 cargo test --test request_fixtures` writes it";
const CORPUS_HOW: &str = "fuzz the target and minimise the corpus into it (fuzz/README.md)";

#[test]
fn every_seed_runs_through_its_target_without_panicking() {
    let mut failed = Vec::new();
    for target in TARGETS {
        let dir = fuzz_dir().join("seeds").join(target.seeds);
        failed.extend(replay(target, &required_inputs(&dir, SEEDS_HOW)));
    }
    assert_none_failed(failed);
}

#[test]
fn every_minimised_corpus_input_runs_through_its_target_without_panicking() {
    let mut failed = Vec::new();
    for target in TARGETS {
        let dir = fuzz_dir().join("corpus").join(target.corpus);
        let inputs = required_inputs(&dir, CORPUS_HOW);
        assert!(
            inputs.len() <= MAX_CORPUS_FILES,
            "{} holds {} inputs: minimise it (`cargo fuzz cmin`, fuzz/README.md)",
            dir.display(),
            inputs.len()
        );
        failed.extend(replay(target, &inputs));
    }
    assert_none_failed(failed);
}

#[test]
fn every_regression_input_runs_through_its_target_without_panicking() {
    let dir = fuzz_dir().join("regressions");
    let Ok(entries) = fs::read_dir(&dir) else {
        return;
    };
    let names: BTreeSet<String> = TARGETS.iter().map(|t| t.name.to_owned()).collect();
    let mut failed = Vec::new();
    for entry in entries {
        let path = entry.expect("a readable directory entry").path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        assert!(
            path.is_dir() && names.contains(&name),
            "{} is not a target's regression directory (one of {names:?})",
            path.display()
        );
        let target = TARGETS.iter().find(|t| t.name == name).expect("a known target");
        let inputs = inputs(&path);
        assert!(
            !inputs.is_empty(),
            "{} exists but holds no inputs: remove it or add the crashing input",
            path.display()
        );
        failed.extend(replay(target, &inputs));
    }
    assert_none_failed(failed);
}

#[test]
fn the_targets_do_not_panic_on_degenerate_inputs() {
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\n".to_vec(),
        b"\n\n".to_vec(),
        b"\r\n\r\n".to_vec(),
        b"\xFF\n".to_vec(),
        b"\xFF\n\xFF".to_vec(),
        b"\x00".to_vec(),
        vec![0xFF; 64],
        b"multipart/form-data; boundary=\n".to_vec(),
        b"multipart/\n--\r\n".to_vec(),
        b"text/plain\n\xEF\xBB\xBF".to_vec(),
        b"text/plain\n====".to_vec(),
        b"POST /api/v4/activate_offline\n\n".to_vec(),
        b"POST /api/v4/activate_offline\nDate:\nAuthorization:\n\n".to_vec(),
        b"POST  \n".to_vec(),
        b"POST http://[::1\n\n".to_vec(),
        b" /\n".to_vec(),
    ];
    // Every prefix of a multipart seed and of a signed request: truncated framing at each byte.
    for seed in [
        "seeds/decode_request/python-activation.multipart",
        "seeds/handler/activate.multipart",
    ] {
        if let Ok(data) = fs::read(fuzz_dir().join(seed)) {
            inputs.extend((0..data.len()).step_by(7).map(|n| data[..n].to_vec()));
        }
    }
    for target in TARGETS {
        for data in &inputs {
            (target.run)(data);
        }
    }
}

#[test]
fn every_fuzz_target_is_one_line_calling_its_function_here() {
    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let bins: BTreeSet<String> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|name| *name != "lsconform-fuzz")
        .map(str::to_owned)
        .collect();
    let known: BTreeSet<String> = TARGETS.iter().map(|t| t.name.to_owned()).collect();
    assert_eq!(
        bins, known,
        "fuzz/Cargo.toml's targets and this test's table differ"
    );
    for target in TARGETS {
        let path = fuzz_dir()
            .join("fuzz_targets")
            .join(format!("{}.rs", target.name));
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let call = format!(
            "libfuzzer_sys::fuzz_target!(|data: &[u8]| lsconform::fuzzing::{}_target(data));",
            target.name
        );
        assert!(
            text.contains(&call),
            "{} does not consist of `{call}`",
            path.display()
        );
    }
}

#[test]
fn the_dictionaries_are_in_libfuzzer_format() {
    let mut dicts: BTreeSet<&str> = TARGETS.iter().map(|t| t.dict).collect();
    for entry in fs::read_dir(fuzz_dir()).expect("fuzz/") {
        let path = entry.expect("a readable directory entry").path();
        if path.extension().is_some_and(|e| e == "dict") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            assert!(dicts.remove(name.as_str()), "{name} is no target's dictionary");
            check_dictionary(&path);
        }
    }
    assert!(dicts.is_empty(), "dictionaries missing from fuzz/: {dicts:?}");
}

fn check_dictionary(path: &Path) {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let file = path.display();
    let mut entries = 0;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // `"value"` or `name="value"`, with `\\`, `\"` and `\xNN` escapes.
        let value = line.find('"').map(|i| &line[i..]).unwrap_or_default();
        let name = &line[..line.len() - value.len()];
        assert!(
            name.is_empty()
                || (name.ends_with('=')
                    && name[..name.len() - 1]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_')),
            "{file}:{}: bad entry name in {line:?}",
            n + 1
        );
        assert!(
            value.len() >= 2 && value.ends_with('"'),
            "{file}:{}: not quoted: {line:?}",
            n + 1
        );
        let inner = &value.as_bytes()[1..value.len() - 1];
        let mut i = 0;
        while i < inner.len() {
            match inner[i] {
                b'\\' => match inner.get(i + 1) {
                    Some(b'\\') | Some(b'"') => i += 2,
                    Some(b'x')
                        if inner
                            .get(i + 2..i + 4)
                            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
                    {
                        i += 4
                    }
                    _ => panic!("{file}:{}: bad escape in {line:?}", n + 1),
                },
                b'"' => panic!("{file}:{}: unescaped quote in {line:?}", n + 1),
                _ => i += 1,
            }
        }
        entries += 1;
    }
    assert!(entries > 10, "{file} holds {entries} entries");
}

/// Not a test but a benchmark (`fuzz/speed.sh` runs it with `--release`): `decode_request`'s cost
/// against its two yardsticks, `decode_baseline` (what any decoder must do) and Base64 alone, on
/// the same inputs (its seeds and corpus), in process and without
/// libFuzzer's instrumentation, `LSCONFORM_SPEED_PASSES` passes (default 2000). It prints the
/// decoder alone (`protocol::decode_request`: transport, Base64, JSON) and the `verify_request`
/// target (the same, and the signatures) too.
#[test]
#[ignore = "a benchmark: fuzz/speed.sh runs it with --release"]
fn speed_of_decode_request_against_its_yardsticks_on_the_same_inputs() {
    let mut inputs = required_inputs(&fuzz_dir().join("seeds/decode_request"), SEEDS_HOW);
    inputs.extend(required_inputs(
        &fuzz_dir().join("corpus/decode_request"),
        CORPUS_HOW,
    ));
    let passes: usize = std::env::var("LSCONFORM_SPEED_PASSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    fn decoder_alone(data: &[u8]) {
        let (content_type, body) = split_decode_input(data);
        std::hint::black_box(lsconform::protocol::decode_request(content_type, body).is_ok());
    }
    let runs = passes * inputs.len();
    type Body = fn(&[u8]);
    let targets: [(&str, Body); 5] = [
        ("base64_baseline", base64_baseline_target),
        ("decode_baseline", decode_baseline_target),
        ("decode_request (the decoder alone)", decoder_alone),
        ("decode_request (the target)", decode_request_target),
        ("verify_request (the target)", verify_request_target),
    ];
    // Three rounds, the targets one after the other in each, the best round of each counting:
    // other work on the machine only slows a round down.
    let mut rates = [0f64; 5];
    for _ in 0..3 {
        for (i, (_, run)) in targets.iter().enumerate() {
            inputs.iter().for_each(|(_, data)| run(data));
            let start = Instant::now();
            for _ in 0..passes {
                inputs.iter().for_each(|(_, data)| run(data));
            }
            rates[i] = rates[i].max(runs as f64 / start.elapsed().as_secs_f64());
        }
    }
    for ((name, _), rate) in targets.iter().zip(rates) {
        println!("{name:<36} {runs:>10} runs {rate:>12.0} exec/s (best of 3)");
    }
    let of = |i: usize, base: usize| 100.0 * rates[i] / rates[base];
    println!(
        "same inputs, in process ({} inputs x {passes}): the decoder alone at {:.0}%, the decode_request \
         target at {:.0}%, the verify_request target at {:.0}% of decode_baseline (goal for decode_request: \
         at least 50%); against base64_baseline: {:.0}%, {:.0}%, {:.0}%",
        inputs.len(),
        of(2, 1),
        of(3, 1),
        of(4, 1),
        of(2, 0),
        of(3, 0),
        of(4, 0),
    );
}
