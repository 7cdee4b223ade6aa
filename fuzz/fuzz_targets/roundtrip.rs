//! A structured payload (`lsconform::fuzzing::RoundtripInput`, derived with `arbitrary`) through the
//! request builder in every style and back through the decoder. The whole body of the target is
//! `lsconform::fuzzing::roundtrip_target`, which `tests/fuzz_corpus.rs` replays on stable Rust.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lsconform::fuzzing::roundtrip_target(data));
