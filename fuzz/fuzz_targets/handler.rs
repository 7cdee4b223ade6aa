//! A whole HTTP request through the reference server's router, in process: the input is
//! `METHOD TARGET`, header lines, an empty line, then the body (`lsconform::fuzzing::split_http_input`).
//! The whole body of the target is `lsconform::fuzzing::handler_target`, which
//! `tests/fuzz_corpus.rs` replays on stable Rust.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lsconform::fuzzing::handler_target(data));
