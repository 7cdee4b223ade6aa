#!/usr/bin/env bash
# The speed of every fuzz target (a benchmark, not a test; issue 5's "Speed"). Two measurements,
# both on the --sanitizer none build, each target right after the other so that the same load
# weighs on all:
#
# 1. fuzzing: each target fuzzed for RUNS executions (default 1000000) from its seeds and committed
#    corpus into a scratch directory, libFuzzer's exec/s (from the wall clock, more precise than
#    libFuzzer's whole-second figure); base64_baseline on decode_request's inputs, and the ratio;
# 2. the same inputs: decode_request and base64_baseline each run every seed and corpus input of
#    decode_request REPEAT times (default 2000) without mutating, and the ratio.
#
#   fuzz/speed.sh [RUNS] [REPEAT]
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-1000000}
repeat=${2:-2000}
cargo fuzz build --sanitizer none >&2
bin=target/x86_64-unknown-linux-gnu/release
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

now() { date +%s.%N; }
rate() { python3 -c "import sys; print(round(float(sys.argv[1]) / (float(sys.argv[3]) - float(sys.argv[2]))))" "$@"; }

declare -A fuzzed
printf '%-16s %12s %10s %12s\n' target runs seconds exec/s
for t in decode_request base64_baseline auth_header multipart_body handler roundtrip; do
    inputs=$t
    [ "$t" = base64_baseline ] && inputs=decode_request
    mkdir "$scratch/$t"
    start=$(now)
    "$bin/$t" -runs="$runs" -seed=1 -dict="$inputs.dict" "$scratch/$t" "seeds/$inputs" "corpus/$inputs" \
        >"$scratch/$t.log" 2>&1 || { tail -40 "$scratch/$t.log" >&2; exit 1; }
    end=$(now)
    fuzzed[$t]=$(rate "$runs" "$start" "$end")
    printf '%-16s %12d %10.1f %12d\n' "$t" "$runs" "$(python3 -c "print($end - $start)")" "${fuzzed[$t]}"
done
echo "fuzzing: decode_request at $((100 * fuzzed[decode_request] / fuzzed[base64_baseline]))% of base64_baseline"

# The same inputs: libFuzzer runs files given by name -runs times each, without mutating them.
mapfile -t files < <(find "seeds/decode_request" "corpus/decode_request" -type f | sort)
total=$((${#files[@]} * repeat))
declare -A replayed
for t in decode_request base64_baseline; do
    start=$(now)
    "$bin/$t" -runs="$repeat" "${files[@]}" >"$scratch/$t.replay.log" 2>&1 \
        || { tail -40 "$scratch/$t.replay.log" >&2; exit 1; }
    end=$(now)
    replayed[$t]=$(rate "$total" "$start" "$end")
    printf '%-16s %12d %10.1f %12d  (the same %d inputs x %d)\n' "$t" "$total" \
        "$(python3 -c "print($end - $start)")" "${replayed[$t]}" "${#files[@]}" "$repeat"
done
echo "same inputs: decode_request at $((100 * replayed[decode_request] / replayed[base64_baseline]))% of base64_baseline"
