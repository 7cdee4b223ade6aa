//! Multipart bodies: the input is a Content-Type line, `\n`, then the body, as for
//! `decode_request`. The whole body of the target is `lsconform::fuzzing::multipart_body_target`,
//! which `tests/fuzz_corpus.rs` replays on stable Rust.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lsconform::fuzzing::multipart_body_target(data));
