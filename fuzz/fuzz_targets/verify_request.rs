//! `decode_request`'s inputs and invariants, plus the signatures: every file that passes a check
//! is verified with the fixtures' key (and another), and what verifies must be canonical. The
//! whole body of the target lives in `lsconform::fuzzing::verify_request_target`, so
//! `tests/fuzz_corpus.rs` replays the corpus through the same code on stable Rust.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lsconform::fuzzing::verify_request_target(data));
