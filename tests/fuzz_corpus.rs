//! Replays the committed fuzz inputs of the `decode_request` target through the target's own code
//! (`lsconform::fuzzing::decode_request_target`) on stable Rust: the seed corpus
//! `fuzz/corpus/decode_request/` and, when it exists, `fuzz/regressions/decode_request/` (inputs
//! that once crashed the target). A panic in the target fails the test and names the input.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

use lsconform::fuzzing::decode_request_target;

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

/// Runs every input through the target; panics naming each one that panicked.
fn replay(inputs: &[(PathBuf, Vec<u8>)]) {
    let failed: Vec<String> = inputs
        .iter()
        .filter(|(_, data)| panic::catch_unwind(|| decode_request_target(data)).is_err())
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "the decode_request target panicked on:\n{}",
        failed.join("\n")
    );
}

#[test]
fn every_seed_corpus_input_runs_through_the_target_without_panicking() {
    let dir = fuzz_dir().join("corpus/decode_request");
    assert!(
        dir.is_dir(),
        "the seed corpus {} is missing; `LSCONFORM_BLESS=1 cargo test --test request_fixtures` writes it",
        dir.display()
    );
    let inputs = inputs(&dir);
    assert!(
        inputs.len() >= 10,
        "the seed corpus {} holds {} inputs; `LSCONFORM_BLESS=1 cargo test --test request_fixtures` writes it",
        dir.display(),
        inputs.len()
    );
    replay(&inputs);
}

#[test]
fn every_regression_input_runs_through_the_target_without_panicking() {
    let dir = fuzz_dir().join("regressions/decode_request");
    if !dir.exists() {
        return;
    }
    let inputs = inputs(&dir);
    assert!(
        !inputs.is_empty(),
        "{} exists but holds no inputs: remove it or add the crashing input",
        dir.display()
    );
    replay(&inputs);
}

#[test]
fn the_target_does_not_panic_on_degenerate_inputs() {
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\n".to_vec(),
        b"\n\n".to_vec(),
        b"\xFF\n".to_vec(),
        b"multipart/form-data; boundary=\n".to_vec(),
        b"multipart/\n--\r\n".to_vec(),
        b"text/plain\n\xEF\xBB\xBF".to_vec(),
        b"text/plain\n====".to_vec(),
    ];
    // Every prefix of a multipart seed: truncated framing at each byte.
    let seed = fuzz_dir().join("corpus/decode_request/python-activation.multipart");
    if let Ok(data) = fs::read(seed) {
        inputs.extend((0..data.len()).map(|n| data[..n].to_vec()));
    }
    for data in &inputs {
        decode_request_target(data);
    }
}

#[test]
fn the_dictionary_is_in_libfuzzer_format() {
    let path = fuzz_dir().join("decode_request.dict");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
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
            "line {}: bad entry name in {line:?}",
            n + 1
        );
        assert!(
            value.len() >= 2 && value.ends_with('"'),
            "line {}: not quoted: {line:?}",
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
                    _ => panic!("line {}: bad escape in {line:?}", n + 1),
                },
                b'"' => panic!("line {}: unescaped quote in {line:?}", n + 1),
                _ => i += 1,
            }
        }
        entries += 1;
    }
    assert!(entries > 10, "the dictionary holds {entries} entries");
}
