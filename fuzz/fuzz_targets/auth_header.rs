//! The Authorization and Date headers: the input is the Authorization value, `\n`, then the Date
//! value (no newline: no Date header). The whole body of the target is
//! `lsconform::fuzzing::auth_header_target`, which `tests/fuzz_corpus.rs` replays on stable Rust.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lsconform::fuzzing::auth_header_target(data));
