//! The speed yardstick for `decode_request`: the same inputs, only Base64-decoded
//! (`lsconform::fuzzing::base64_baseline_target`). Run it on `decode_request`'s corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lsconform::fuzzing::base64_baseline_target(data));
