#!/usr/bin/env bash
# A short run of every fuzz target, bounded by a number of executions (not by time), so that a
# target that no longer builds, or panics on its seeds, corpus or early mutants, fails CI
# (`.ci/run`). Stable Rust: --sanitizer none. New inputs go to a scratch directory, never into the
# committed corpora. A fixed -seed makes a failure reproducible: the log says which input failed,
# and libFuzzer writes it to fuzz/artifacts/<target>/.
#
#   fuzz/smoke.sh [RUNS]     (default 20000)
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-20000}
targets=(decode_request verify_request base64_baseline decode_baseline auth_header multipart_body handler roundtrip)
cargo fuzz build --sanitizer none
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
    # base64_baseline and decode_baseline run on decode_request's inputs; verify_request on decode_request's seeds.
    seeds=$t corpus=$t dict=$t
    case $t in
        base64_baseline | decode_baseline) seeds=decode_request corpus=decode_request dict=decode_request ;;
        verify_request) seeds=decode_request ;;
    esac
    mkdir "$scratch/$t"
    start=$(date +%s)
    if ! cargo fuzz run "$t" --sanitizer none "$scratch/$t" "seeds/$seeds" "corpus/$corpus" -- \
        -runs="$runs" -seed=1 -dict="$dict.dict" -print_final_stats=1 >"$scratch/$t.log" 2>&1; then
        grep -v '^#[0-9]' "$scratch/$t.log" | tail -60 >&2
        echo "fuzz target $t failed (full log above, last lines); the input is in fuzz/artifacts/$t/" >&2
        exit 1
    fi
    echo "$t: $runs runs in $(($(date +%s) - start))s," \
        "$(grep -o 'cov: [0-9]*' "$scratch/$t.log" | tail -1)," \
        "$(grep -o 'peak_rss_mb: *[0-9]*' "$scratch/$t.log" | tr -s ' ')"
done
