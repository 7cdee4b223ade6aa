#!/usr/bin/env bash
# `lsconform diff` against `lsconform run`: a benchmark, never a test (issue 12). It prints figures
# and a ratio; no figure fails it. It exits non-zero only when the figures are not what they claim
# (the run did not pass, the diff found a difference where there is none, fewer requests were
# compared than sent) or when something cannot run.
#
#   benches/diff_load.sh
#
# Two `lsconform serve` on 127.0.0.1 (fresh in-memory databases, request log off), A and B:
#   (a) `lsconform run --target A --only 'generated/*' --generated N --seed S --jobs C`: N generated
#       requests, each written, sent, judged and its seat given back when accepted;
#   (b) `lsconform diff --target A --target B --only 'generated/*' --generated N --seed S --jobs C`:
#       the same N requests to both servers at once (2N exchanges), each pair judged on each side,
#       normalised and compared.
# The rate of each is N / wall time (requests for (a), pairs for (b)); goal: (b) ≥ 0.45 of (a),
# since (b) sends every request twice on the same two cores.
#
# (a) and (b) alternate LSD_ROUNDS times (default 3); the best round of each counts (other work on
# the machine only slows a round down). The CPU time of lsconform and of each server is shown for
# each round.
#
# Environment: LSD_REQUESTS (default 5000), LSD_JOBS (default 4), LSD_SEED (default 1),
# LSD_PORT (A; B is the next port; default 18290), LSD_ROUNDS.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${LSD_REQUESTS:-5000}
JOBS=${LSD_JOBS:-4}
SEED=${LSD_SEED:-1}
PORT=${LSD_PORT:-18290}
ROUNDS=${LSD_ROUNDS:-3}
BIN=target/release

BENCH=diff_load
. benches/lib.sh
[ -x /usr/bin/time ] || die "/usr/bin/time is needed for the CPU times (apt-get install time)"

say "building (release): lsconform"
cargo build --release --quiet --bin lsconform

WORK=$(mktemp -d -t lsconform-diff.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for side in a b; do
    port=$PORT
    [ "$side" = b ] && port=$((PORT + 1))
    RUST_LOG=warn "$BIN/lsconform" serve --listen "127.0.0.1:$port" >"$WORK/server-$side.log" 2>&1 &
    PIDS+=($!)
    echo "$!" >"$WORK/server-$side.pid"
    wait_for "$port" "$!" "$WORK/server-$side.log"
    sed -e "s#^base_url .*#base_url = \"http://127.0.0.1:$port\"#" \
        -e "s#^public_key .*#public_key = \"$PWD/fixtures/keys/reference-public.pem\"#" \
        fixtures/targets/reference.toml >"$WORK/$side.toml"
done

# CPU seconds (user + system) a process has used so far.
cpu() { awk '{ print ($14 + $15) / 100 }' "/proc/$(cat "$WORK/server-$1.pid")/stat"; }
now() { date +%s.%N; }

best_run=0
best_diff=0
for round in $(seq "$ROUNDS"); do
    say "round $round of $ROUNDS"
    # (a) run, against A.
    a0=$(cpu a)
    t0=$(now)
    /usr/bin/time -f '%U %S' -o "$WORK/time" "$BIN/lsconform" run --target "$WORK/a.toml" \
        --only 'generated/*' --generated "$N" --seed "$SEED" --jobs "$JOBS" >"$WORK/run.out" 2>&1 ||
        die "the run did not pass: $(tail -5 "$WORK/run.out")"
    t1=$(now)
    a1=$(cpu a)
    rate=$(echo "$N / ($t1 - $t0)" | bc -l)
    printf '(a) run:  %5d requests in %6.2f s: %7.0f requests/s; CPU: lsconform %s s, server A %.2f s\n' \
        "$N" "$(echo "$t1 - $t0" | bc -l)" "$rate" "$(awk '{print $1 + $2}' "$WORK/time")" \
        "$(echo "$a1 - $a0" | bc -l)"
    best_run=$(echo "if ($rate > $best_run) $rate else $best_run" | bc -l)
    # (b) diff, against A and B.
    a0=$(cpu a)
    b0=$(cpu b)
    t0=$(now)
    /usr/bin/time -f '%U %S' -o "$WORK/time" "$BIN/lsconform" diff --target "$WORK/a.toml" \
        --target "$WORK/b.toml" --only 'generated/*' --generated "$N" --seed "$SEED" --jobs "$JOBS" \
        >"$WORK/diff.out" 2>&1 || die "the diff found differences: $(grep -E 'compared in' "$WORK/diff.out")"
    t1=$(now)
    a1=$(cpu a)
    b1=$(cpu b)
    grep -q "^$N compared in .*: $N the same, 0 nonconforming, 0 divergences, 0 errors" "$WORK/diff.out" ||
        die "not every request was compared: $(grep -E 'compared in' "$WORK/diff.out")"
    rate=$(echo "$N / ($t1 - $t0)" | bc -l)
    printf '(b) diff: %5d pairs    in %6.2f s: %7.0f pairs/s;    CPU: lsconform %s s, server A %.2f s, B %.2f s\n' \
        "$N" "$(echo "$t1 - $t0" | bc -l)" "$rate" "$(awk '{print $1 + $2}' "$WORK/time")" \
        "$(echo "$a1 - $a0" | bc -l)" "$(echo "$b1 - $b0" | bc -l)"
    best_diff=$(echo "if ($rate > $best_diff) $rate else $best_diff" | bc -l)
done

say "summary ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
ratio=$(echo "$best_diff / $best_run" | bc -l)
printf 'best (a) run:  %7.0f requests/s\nbest (b) diff: %7.0f pairs/s\nratio: %.2f of run'"'"'s rate (goal >= 0.45)\n' \
    "$best_run" "$best_diff" "$ratio"
