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
#   (b) wrk -t C -c C with benches/generated_load/generated.lua: the very same N requests (written by
#       examples/generated_requests.rs right before, with the same seed), each sent once, answers not
#       read beyond their status, and the same give-backs: an accepted activation's deactivate_offline
#       (written from what was sent) right after it is answered 200, on the same connection;
# goal: the rate of (a) ≥ 80% of the rate of (b), both counting the N generated requests only and
# timed from the first request to the last answer (the suite prints its own; "(a) process" is N
# over the whole process, start-up and report included, shown beside it). The
# server does the same work in both (its CPU per request is printed for each: they should be
# close), so the ratio is the suite's own cost. Then the CPU time a generated request costs the
# suite with its start-up taken out (a run of N/5 requests beside one of N), and what it may cost
# at the goal. Then (c) the full default run (`lsconform run`, in-process reference server): its
# wall time and case count.
#
# (a) and (b) alternate LSG_ROUNDS times (default 3); the best round of each counts (other work on
# the machine only slows a round down). The CPU time of the suite and of the server is shown for
# each round.
#
# Environment: LSG_REQUESTS (default 5000), LSG_JOBS (concurrency, default 4: wrk runs as many
# threads, each with one connection), LSG_SEED (default 1), LSG_PORT (default 18190), LSG_ROUNDS. wrk comes from apt-get when
# missing (root, Debian). Reuses benches/server_load/report.lua for wrk's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${LSG_REQUESTS:-5000}
JOBS=${LSG_JOBS:-4}
SEED=${LSG_SEED:-1}
PORT=${LSG_PORT:-18190}
ROUNDS=${LSG_ROUNDS:-3}
BIN=target/release

BENCH=generated_load
. benches/lib.sh
need_wrk
[ -x /usr/bin/time ] || die "/usr/bin/time is needed for the suite's CPU time (apt-get install time)"
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
wait_for "$PORT" "$SERVER_PID" "$WORK/server.log"
# The reference seed's profile, at this server.
sed -e "s#^base_url .*#base_url = \"http://127.0.0.1:$PORT\"#" \
    -e "s#^public_key .*#public_key = \"$PWD/fixtures/keys/reference-public.pem\"#" \
    fixtures/targets/reference.toml >"$WORK/profile.toml"

now() { date +%s.%N; }
# The phases run in subshells: what is wrong goes to a file.
problem() { echo "$*" >>"$WORK/problems"; }
echo "cores: $(nproc)   load average: $(load)   $N requests, $JOBS in flight, seed $SEED"
LOAD_BEFORE=$(load)
TICKS_BEFORE=$(cpu_jiffies)

TICK=$(getconf CLK_TCK)
server_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
cpu_ms() { awk -v d="$1" -v t="$TICK" 'BEGIN { printf "%.0f", 1000 * d / t }'; }

# (a): prints "req/s suite_cpu_ms server_cpu_ms whole_process_req/s".
phase_a() {
    local t0 t1 s0 s1 code
    s0=$(server_ticks)
    t0=$(now)
    set +e
    /usr/bin/time -f '%U %S' -o "$WORK/a.time" "$BIN/lsconform" run --target "$WORK/profile.toml" \
        --only 'generated/*' --generated "$N" --seed "$SEED" --jobs "$JOBS" >"$WORK/a.out" 2>&1
    code=$?
    set -e
    t1=$(now)
    s1=$(server_ticks)
    [ "$code" = 0 ] || problem "(a) the generated run did not pass (exit $code): $(grep -E '^(FAIL|ERROR|WARN)' "$WORK/a.out" | head -3)"
    # Timed by the suite from its first request to its last answer judged, as (b) is: the
    # process's start-up (reading the cases, the profile) and its report aside.
    local seconds
    seconds=$(grep -oE "^generated: $N requests from seed $SEED in [0-9.]+s" "$WORK/a.out" | grep -oE '[0-9.]+s$' | tr -d s) ||
        die "(a) printed no rate: $(tail -n 2 "$WORK/a.out")"
    awk -v n="$N" -v t="$seconds" -v a="$t0" -v b="$t1" -v c="$(cat "$WORK/a.time")" -v s="$(cpu_ms $((s1 - s0)))" \
        'BEGIN { split(c, u, " "); printf "%.1f %.0f %s %.1f\n", n / t, 1000 * (u[1] + u[2]), s, n / (b - a) }'
}

# (b): prints "req/s server_cpu_ms give_backs"; wrk runs until -d, each thread writes $WORK/done.<i>
# (the times of its first request and last answer) when it has the answers to its share, and then
# SIGINT stops wrk.
phase_b() {
    local s0 s1 line finished=no
    rm -f "$WORK"/done.* "$WORK/go"
    # New request ids: they carry the second they were written in.
    sleep 1
    "$BIN/examples/generated_requests" "$N" "$SEED" "$WORK/requests.tsv" >/dev/null
    s0=$(server_ticks)
    wrk -t "$JOBS" -c "$JOBS" -d 600s --timeout 10s -s benches/generated_load/generated.lua \
        "http://127.0.0.1:$PORT" -- "$WORK/requests.tsv" "$JOBS" "$WORK" >"$WORK/wrk.out" &
    local wrk_pid=$!
    for _ in $(seq 12000); do # at most two minutes
        if [ "$(find "$WORK" -maxdepth 1 -name 'done.[0-9]*' ! -name '*.part' | wc -l)" -ge "$JOBS" ]; then
            finished=yes
            break
        fi
        kill -0 "$wrk_pid" 2>/dev/null || break
        sleep 0.01
    done
    kill -INT "$wrk_pid" 2>/dev/null || true
    wait "$wrk_pid" || die "wrk failed: $(cat "$WORK/wrk.out")"
    s1=$(server_ticks)
    [ "$finished" = yes ] || problem "(b) not every wrk thread got the answers to its share"
    line=$(grep '^LSB ' "$WORK/wrk.out") || die "wrk printed no summary line"
    for kv in ${line#LSB }; do
        printf -v "W_${kv%%=*}" '%s' "${kv#*=}"
    done
    [ "$W_sent" = "$N" ] || problem "(b) wrk sent $W_sent requests, not $N"
    local errors=$((W_connect + W_read + W_write + W_timeout))
    [ "$errors" = 0 ] || problem "(b) $errors socket errors"
    # Counted: the generated requests, not the give-backs nor the 404 fillers asked for after a
    # thread's share was sent (`wrapped`).
    [ "$((W_requests - W_wrapped - W_given_back))" = "$N" ] ||
        problem "(b) wrk answered $W_requests requests: not $N generated, $W_given_back give-backs and $W_wrapped fillers"
    # From the first request of any thread to the last answer of any (wrk's own duration starts
    # after its threads' init, when the first threads are already sending).
    local seconds
    seconds=$(cat "$WORK"/done.[0-9]* | awk 'NR == 1 || $1 < a { a = $1 } NR == 1 || $2 > b { b = $2 } END { printf "%.6f", b - a }')
    awk -v n="$N" -v s="$seconds" -v c="$(cpu_ms $((s1 - s0)))" -v g="$W_given_back" \
        'BEGIN { printf "%.1f %s %s\n", n / s, c, g }'
}

say "(a) lsconform run --only 'generated/*' --generated $N --seed $SEED --jobs $JOBS, and (b) wrk -t$JOBS -c$JOBS with the same $N requests and give-backs (examples/generated_requests $N $SEED), alternately, $ROUNDS rounds"
printf '%-6s %12s %12s %12s %14s   %12s %14s %11s %7s\n' round "(a) req/s" "(a) process" "(a) CPU ms" "server CPU ms" "(b) req/s" "server CPU ms" "give-backs" "(a)/(b)"
A_BEST=0
B_BEST=0
A_CPU="" A_SERVER="" B_SERVER=""
least() { if [ -z "$1" ] || [ "$2" -lt "$1" ]; then echo "$2"; else echo "$1"; fi; }
for round in $(seq "$ROUNDS"); do
    read -r a_rps a_cpu a_server a_whole <<<"$(phase_a)"
    read -r b_rps b_server b_given <<<"$(phase_b)"
    A_CPU=$(least "$A_CPU" "$a_cpu")
    A_SERVER=$(least "$A_SERVER" "$a_server")
    B_SERVER=$(least "$B_SERVER" "$b_server")
    printf '%-6s %12s %12s %12s %14s   %12s %14s %11s %7s\n' "$round" "$a_rps" "$a_whole" "$a_cpu" "$a_server" "$b_rps" "$b_server" \
        "$b_given" "$(awk -v a="$a_rps" -v b="$b_rps" 'BEGIN { printf "%.2f", a / b }')"
    A_BEST=$(awk -v x="$A_BEST" -v y="$a_rps" 'BEGIN { print (y > x) ? y : x }')
    B_BEST=$(awk -v x="$B_BEST" -v y="$b_rps" 'BEGIN { print (y > x) ? y : x }')
done
tail -n 2 "$WORK/a.out"

# The suite's start-up (reading the cases, the profile, a runtime, a connection) taken out: a run
# of N/5 requests (best of three) beside (a)'s N, the difference divided by the 4N/5 requests more.
SHORT_N=$((N / 5))
SHORT_MS=""
for _ in 1 2 3; do
    # New request ids: they carry the second they were written in (the same ones again would be
    # replays of requests whose seats were given back).
    sleep 1
    /usr/bin/time -f '%U %S' -o "$WORK/short.time" "$BIN/lsconform" run --target "$WORK/profile.toml" \
        --only 'generated/*' --generated "$SHORT_N" --seed "$SEED" --jobs "$JOBS" >/dev/null 2>&1 ||
        problem "a run of $SHORT_N generated requests did not pass"
    ms=$(awk '{ printf "%.0f", 1000 * ($1 + $2) }' "$WORK/short.time")
    if [ -z "$SHORT_MS" ] || [ "$ms" -lt "$SHORT_MS" ]; then SHORT_MS=$ms; fi
done

say "(c) the full default run: lsconform run (the in-process reference server)"
t0=$(now)
set +e
"$BIN/lsconform" run --seed "$SEED" >"$WORK/c.out" 2>&1
code=$?
set -e
t1=$(now)
C_SECONDS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
grep -E 'cases against' "$WORK/c.out"
[ "$code" = 0 ] || problem "(c) the default run did not pass (exit $code)"

RATIO=$(awk -v a="$A_BEST" -v b="$B_BEST" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
MET=$(awk -v r="$RATIO" 'BEGIN { print (r + 0 >= 0.8) ? "met" : "NOT met" }')
say "summary: $(nproc) cores, $N requests, $JOBS in flight"
read -r _ STEAL <<<"$(cpu_usage "$TICKS_BEFORE" "$(cpu_jiffies)")"
echo "load average before the run: $LOAD_BEFORE; after it: $(load) (this run's own load included)"
echo "CPU time stolen by the hypervisor during the run: $STEAL%"
printf '%-62s %10s\n' "phase" "req/s"
printf '%-62s %10s\n' "(a) lsconform run --generated $N (oracle, judging, give-backs)" "$A_BEST"
printf '%-62s %10s\n' "(b) wrk, the same requests and give-backs" "$B_BEST"
echo "ratio of the best rounds (a)/(b): $RATIO (goal >= 0.80: $MET)"
awk -v n="$N" -v a="$A_CPU" -v m="$SHORT_N" -v am="$SHORT_MS" -v sa="$A_SERVER" -v sb="$B_SERVER" -v rb="$B_BEST" -v cores="$(nproc)" 'BEGIN {
    printf "suite CPU per generated request, start-up excluded: %.0f us ((%d ms for %d requests - %d ms for %d) / %d; least of the rounds)\n", 1000 * (a - am) / (n - m), a, n, am, m, n - m
    printf "server CPU per generated request, its give-back included: %.0f us in (a), %.0f us in (b)\n", 1000 * sa / n, 1000 * sb / n
    # At 0.80 of (b)s rate, all cores busy: what a request may cost in all, less what the server takes.
    budget = cores * 1000000 / (0.8 * rb) - 1000 * sa / n
    printf "at 0.80 of (b), the suite would have at most %.0f us of CPU a request on %d cores\n", budget, cores
}'
echo "(c) full default run: ${C_SECONDS}s wall time, $(grep -oE '^[0-9]+ cases' "$WORK/c.out")"

if [ -s "$WORK/problems" ]; then
    printf '\n!!! THESE FIGURES ARE NOT WHAT THEY CLAIM:\n'
    sed 's/^/!!! /' "$WORK/problems"
    exit 1
fi
