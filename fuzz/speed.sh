#!/usr/bin/env bash
# The speed of every fuzz target (a benchmark, not a test; issue 5's "Speed"). Two measurements,
# each target right after the other so that the same load weighs on all:
#
# 1. fuzzing (the --sanitizer none build): each target fuzzed for RUNS executions (default 1000000) from its seeds and committed
#    corpus into a scratch directory, libFuzzer's exec/s (from the wall clock, more precise than
#    libFuzzer's whole-second figure); the two yardsticks on decode_request's inputs
#    (decode_baseline: the file text, Base64 and one validating JSON pass, what any decoder must
#    do; base64_baseline: Base64 alone), and decode_request's ratio to each;
# 2. the same inputs: decode_request's seeds and corpus, PASSES times (default 2000), through
#    both yardsticks, the decoder alone, the decode_request target and the verify_request target,
#    in process (a release build of an ignored test in tests/fuzz_corpus.rs), and the ratios.
#
#   fuzz/speed.sh [RUNS] [PASSES]
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-1000000}
passes=${2:-2000}
cargo fuzz build --sanitizer none >&2
bin=target/x86_64-unknown-linux-gnu/release
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

now() { date +%s.%N; }
rate() { python3 -c "import sys; print(round(float(sys.argv[1]) / (float(sys.argv[3]) - float(sys.argv[2]))))" "$@"; }

declare -A fuzzed
printf '%-16s %12s %10s %12s\n' target runs seconds exec/s
for t in decode_request decode_baseline base64_baseline verify_request auth_header multipart_body handler roundtrip; do
    # base64_baseline and decode_baseline run on decode_request's inputs; verify_request on decode_request's seeds.
    seeds=$t corpus=$t dict=$t
    case $t in
        base64_baseline | decode_baseline) seeds=decode_request corpus=decode_request dict=decode_request ;;
        verify_request) seeds=decode_request ;;
    esac
    mkdir "$scratch/$t"
    start=$(now)
    "$bin/$t" -runs="$runs" -seed=1 -dict="$dict.dict" "$scratch/$t" "seeds/$seeds" "corpus/$corpus" \
        >"$scratch/$t.log" 2>&1 || { tail -40 "$scratch/$t.log" >&2; exit 1; }
    end=$(now)
    fuzzed[$t]=$(rate "$runs" "$start" "$end")
    printf '%-16s %12d %10.1f %12d\n' "$t" "$runs" "$(python3 -c "print($end - $start)")" "${fuzzed[$t]}"
done
echo "fuzzing: decode_request at $((100 * fuzzed[decode_request] / fuzzed[decode_baseline]))% of decode_baseline" \
    "(goal: at least 50%), $((100 * fuzzed[decode_request] / fuzzed[base64_baseline]))% of base64_baseline"

# The same inputs, in process and without libFuzzer or its instrumentation: a release build of
# tests/fuzz_corpus.rs's ignored benchmark (libFuzzer's own replay of named files reads the file
# again for every run, which would swamp Base64).
(cd .. && LSCONFORM_SPEED_PASSES=$passes cargo test --release --test fuzz_corpus -- --ignored --nocapture \
    speed_of_decode_request_against_its_yardsticks_on_the_same_inputs 2>/dev/null | grep -E 'exec/s|same inputs')
