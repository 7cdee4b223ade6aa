#!/usr/bin/env bash
# The suite's generated mode against a plain load generator: a benchmark, never a test (issue 4,
# "Speed"). It prints figures and a ratio; no figure fails it. It exits non-zero only when the
# figures are not what they claim (the generated run did not pass, wrk saw socket errors, a request
# was sent twice) or when something cannot run.
#
#   benches/generated_load.sh
#
# In one run, against one `lsconform serve` on 127.0.0.1 (fresh in-memory database, request log off):
#   (a) `lsconform run --only 'generated/*' --generated N --seed S --jobs C`: N generated requests,
#       C in flight, each one written, sent, judged against the protocol oracle, and its seat given
#       back (deactivate_offline) when it was accepted;
#   (b) wrk -t T -c C with benches/generated_load/generated.lua: the very same N requests (written by
#       examples/generated_requests.rs right before, with the same seed), each sent once, answers not
#       read beyond their status;
# goal: the rate of (a) ≥ 50% of the rate of (b). Then (c) the full default run (`lsconform run`,
# in-process reference server): its wall time and case count.
#
# Environment: LSG_REQUESTS (default 5000), LSG_JOBS (concurrency, default 4), LSG_THREADS (wrk
# threads, default 2), LSG_SEED (default 1), LSG_PORT (default 18190). wrk comes from apt-get when
# missing (root, Debian). Reuses benches/server_load/report.lua for wrk's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${LSG_REQUESTS:-5000}
JOBS=${LSG_JOBS:-4}
THREADS=${LSG_THREADS:-2}
SEED=${LSG_SEED:-1}
PORT=${LSG_PORT:-18190}
BIN=target/release

say() { printf '\n== %s\n' "$*"; }
die() {
    echo "generated_load: $*" >&2
    exit 2
}
[ "$THREADS" -le "$JOBS" ] || die "LSG_THREADS ($THREADS) must not exceed LSG_JOBS ($JOBS)"
if ! command -v wrk >/dev/null; then
    say "installing wrk (apt-get)"
    [ "$(id -u)" = 0 ] || die "wrk is missing and this is not root: apt-get install wrk"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
command -v curl >/dev/null || die "curl is needed to wait for the server"
[ -f benches/server_load/report.lua ] || die "benches/server_load/report.lua is missing"

say "building (release): lsconform, example generated_requests"
cargo build --release --quiet --bin lsconform --example generated_requests

WORK=$(mktemp -d -t lsconform-generated.XXXXXX)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RUST_LOG=warn "$BIN/lsconform" serve --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited: $(cat "$WORK/server.log")"
    sleep 0.1
done
# The reference seed's profile, at this server.
sed -e "s#^base_url .*#base_url = \"http://127.0.0.1:$PORT\"#" \
    -e "s#^public_key .*#public_key = \"$PWD/fixtures/keys/reference-public.pem\"#" \
    fixtures/targets/reference.toml >"$WORK/profile.toml"

now() { date +%s.%N; }
PROBLEMS=()
echo "cores: $(nproc)   load average: $(cut -d' ' -f1-3 /proc/loadavg)   $N requests, $JOBS in flight, seed $SEED"

say "(a) lsconform run --only 'generated/*' --generated $N --seed $SEED --jobs $JOBS"
t0=$(now)
set +e
"$BIN/lsconform" run --target "$WORK/profile.toml" --only 'generated/*' --generated "$N" --seed "$SEED" \
    --jobs "$JOBS" >"$WORK/a.out" 2>&1
code=$?
set -e
t1=$(now)
tail -n 3 "$WORK/a.out"
[ "$code" = 0 ] || PROBLEMS+=("(a) the generated run did not pass (exit $code): $(grep -E '^(FAIL|ERROR|WARN)' "$WORK/a.out" | head -3)")
A_SECONDS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
A_RPS=$(awk -v n="$N" -v s="$A_SECONDS" 'BEGIN { printf "%.1f", n / s }')
echo "wall time (process start to exit): ${A_SECONDS}s: $A_RPS generated requests/s"

# New request ids for (b): they carry the second they were written in.
sleep 1
say "(b) wrk -t$THREADS -c$JOBS: the same $N requests (examples/generated_requests $N $SEED), each sent once"
"$BIN/examples/generated_requests" "$N" "$SEED" "$WORK/requests.tsv"
# wrk runs until -d; each thread writes $WORK/done.<i> when it has the answers to its share, and
# then SIGINT stops wrk, which prints its figures over the time it really ran.
wrk -t "$THREADS" -c "$JOBS" -d 600s --timeout 10s -s benches/generated_load/generated.lua \
    "http://127.0.0.1:$PORT" -- "$WORK/requests.tsv" "$THREADS" "$WORK" >"$WORK/wrk.out" &
WRK_PID=$!
finished=no
for _ in $(seq 12000); do # at most two minutes
    if [ "$(find "$WORK" -maxdepth 1 -name 'done.*' | wc -l)" -ge "$THREADS" ]; then
        finished=yes
        break
    fi
    kill -0 "$WRK_PID" 2>/dev/null || break
    sleep 0.01
done
[ "$finished" = yes ] || PROBLEMS+=("(b) not every wrk thread got the answers to its share")
kill -INT "$WRK_PID" 2>/dev/null || true
wait "$WRK_PID" || die "wrk failed: $(cat "$WORK/wrk.out")"
grep -v '^LSB ' "$WORK/wrk.out"
line=$(grep '^LSB ' "$WORK/wrk.out") || die "wrk printed no summary line"
for kv in ${line#LSB }; do
    printf -v "W_${kv%%=*}" '%s' "${kv#*=}"
done
# `wrapped` counts the 404 fillers asked for after a thread's share was sent; they are not counted.
B_REQUESTS=$((W_requests - W_wrapped))
B_RPS=$(awk -v n="$B_REQUESTS" -v s="$W_seconds" 'BEGIN { printf "%.1f", n / s }')
echo "wrk: $W_sent generated requests sent, $B_REQUESTS answered (+$W_wrapped fillers) in ${W_seconds}s: $B_RPS requests/s"
[ "$W_sent" = "$N" ] || PROBLEMS+=("(b) wrk sent $W_sent requests, not $N")
socket_errors=$((W_connect + W_read + W_write + W_timeout))
[ "$socket_errors" = 0 ] || PROBLEMS+=("(b) $socket_errors socket errors")

say "(c) the full default run: lsconform run (the in-process reference server)"
t0=$(now)
set +e
"$BIN/lsconform" run --seed "$SEED" >"$WORK/c.out" 2>&1
code=$?
set -e
t1=$(now)
C_SECONDS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
grep -E 'cases against' "$WORK/c.out"
[ "$code" = 0 ] || PROBLEMS+=("(c) the default run did not pass (exit $code)")

RATIO=$(awk -v a="$A_RPS" -v b="$B_RPS" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
MET=$(awk -v r="$RATIO" 'BEGIN { print (r + 0 >= 0.5) ? "met" : "NOT met" }')
say "summary: $(nproc) cores, $N requests, $JOBS in flight"
printf '%-62s %10s\n' "phase" "req/s"
printf '%-62s %10s\n' "(a) lsconform run --generated $N (oracle, judging, give-backs)" "$A_RPS"
printf '%-62s %10s\n' "(b) wrk, the same requests" "$B_RPS"
echo "ratio (a)/(b): $RATIO (goal >= 0.50: $MET)"
echo "(c) full default run: ${C_SECONDS}s wall time, $(grep -oE '^[0-9]+ cases' "$WORK/c.out")"

if [ ${#PROBLEMS[@]} -gt 0 ]; then
    printf '\n!!! THESE FIGURES ARE NOT WHAT THEY CLAIM:\n'
    printf '!!! %s\n' "${PROBLEMS[@]}"
    exit 1
fi
