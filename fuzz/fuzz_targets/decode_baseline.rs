//! The fair speed yardstick for `decode_request`: the same inputs, and only what any decoder must
//! do with them (`lsconform::fuzzing::decode_baseline_target`: the file text, Base64, one
//! validating JSON pass). Run it on `decode_request`'s corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lsconform::fuzzing::decode_baseline_target(data));
