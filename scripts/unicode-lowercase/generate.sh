#!/usr/bin/env bash
# Writes src/protocol/lowercase/unicode14.rs: where Python 3.11's str.lower (Unicode 14, the Python
# SDK's runtime) and the Rust standard library's lower-casing (this toolchain's Unicode) differ, for
# every Unicode scalar value (SPEC §6, §10). Deterministic for a given Python and Rust; no network.
# Run it by hand after a toolchain update changes Rust's Unicode version, review the diff, commit.
#
#   scripts/unicode-lowercase/generate.sh            # python3.11 from PATH
#   PYTHON=/path/to/python3.11 scripts/unicode-lowercase/generate.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/unicode-lowercase
python=${PYTHON:-python3.11}
work=target/unicode-lowercase
mkdir -p "$work" src/protocol/lowercase
rustc -O --edition 2021 "$here/rust_lower.rs" -o "$work/rust_lower"
"$work/rust_lower" >"$work/rust.txt"
"$python" "$here/python_lower.py" >"$work/python.txt"
"$python" "$here/compare.py" "$work/python.txt" "$work/rust.txt" src/protocol/lowercase/unicode14.rs
