//! `decode_request` on arbitrary bodies: the input is a Content-Type line, `\n`, then the body
//! (see `lsconform::fuzzing::split_decode_input`). The whole body of the target lives in
//! `lsconform::fuzzing::decode_request_target`, so `tests/fuzz_corpus.rs` replays the corpus
//! through the same code on stable Rust.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lsconform::fuzzing::decode_request_target(data));
