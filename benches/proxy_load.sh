#!/usr/bin/env bash
# `lsconform proxy` under load: a benchmark, never a test (issue 13). It prints figures and
# ratios; no figure fails it. It exits non-zero only when the figures are not what they claim
# (answers other than the expected status, socket errors, exchanges the proxy did not count) or
# when something cannot run.
#
#   benches/proxy_load.sh
#
# `lsconform serve` on 127.0.0.1:PORT (fresh in-memory database, request log off) and
# `lsconform proxy` in front of it on PORT+1, with the reference profile (so every exchange is
# judged on both sides) and its log line per exchange written to /dev/null.
#
#   (1) the rate, error path: wrk -t THREADS -c CONNECTIONS for DURATION seconds, the same POST
#       with a request file and an Authorization header but no Date header (400 missing_headers,
#       SPEC §1a), straight at the server (a), then through the proxy (b); alternated ROUNDS times,
#       the best round of each counting. Goal: (b) >= 0.5 of (a).
#   (2) memory: the same load through the proxy until EXCHANGES exchanges (default 10^6) went
#       through, the proxy's resident set size (VmRSS) printed after each step. Flat is the goal:
#       the journal keeps a bounded number of exchanges (--journal), whatever the count.
#
# wrk is installed from Debian when missing (apt-get, as root or with sudo); otherwise the script
# says how and stops.
#
# Environment: LSP_DURATION (default 10), LSP_ROUNDS (3), LSP_THREADS (2), LSP_CONNECTIONS (32),
# LSP_EXCHANGES (1000000), LSP_PORT (18380; the proxy is on the next port).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${LSP_DURATION:-10}
ROUNDS=${LSP_ROUNDS:-3}
THREADS=${LSP_THREADS:-2}
CONNECTIONS=${LSP_CONNECTIONS:-32}
EXCHANGES=${LSP_EXCHANGES:-1000000}
PORT=${LSP_PORT:-18380}
PROXY_PORT=$((PORT + 1))
ENDPOINT=/api/v4/activate_offline
API_KEY=lsconform-test-api-key
SHARED_KEY=lsconform-test-shared-key
BIN=${CARGO_TARGET_DIR:-target}/release

BENCH=proxy_load
. benches/lib.sh
need_wrk

say "building (release): lsconform"
cargo build --release --quiet --bin lsconform

WORK=$(mktemp -d -t lsconform-proxy.XXXXXX)
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

RUST_LOG=warn "$BIN/lsconform" serve --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
wait_for "$PORT" "$SERVER" "$WORK/server.log"
"$BIN/lsconform" proxy --listen "127.0.0.1:$PROXY_PORT" --upstream "http://127.0.0.1:$PORT" \
    --profile fixtures/targets/reference.toml >/dev/null 2>"$WORK/proxy.log" &
PROXY=$!
PIDS+=("$PROXY")
wait_for "$PROXY_PORT" "$PROXY" "$WORK/proxy.log"

# The request: a request file and its Authorization header, no Date header.
"$BIN/lsconform" request --license-key PERP-0000-0000-0001 --hardware-id proxy-load --product TP \
    --api-key "$API_KEY" --shared-key "$SHARED_KEY" --out "$WORK/request.txt"
authorization=$("$BIN/lsconform" headers --api-key "$API_KEY" --shared-key "$SHARED_KEY" |
    sed -n 's/^Authorization: //p')
cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = '$authorization'
wrk.headers["Content-Type"] = "text/plain"
local f = assert(io.open("$WORK/request.txt", "r"))
wrk.body = f:read("*a")
f:close()
function done(summary, latency, _)
   local e = summary.errors
   io.write(string.format("LSP requests=%d seconds=%.2f non2xx=%d errors=%d p50_ms=%.2f p99_ms=%.2f\n",
      summary.requests, summary.duration / 1e6, e.status, e.connect + e.read + e.write + e.timeout,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA

# Sanity: the error path answers 400 missing_headers, straight and through the proxy.
for port in "$PORT" "$PROXY_PORT"; do
    code=$(curl -s -X POST -H "Authorization: $authorization" -H 'Content-Type: text/plain' \
        --data-binary @"$WORK/request.txt" "http://127.0.0.1:$port$ENDPOINT")
    case "$code" in
    *'"missing_headers"'*) ;;
    *) die "port $port answered $code, not missing_headers" ;;
    esac
done

SENT=2 # the two sanity requests, one of them through the proxy
THROUGH=1
field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" "$WORK/wrk.out"; }
# One wrk run: rps, and how many requests; dies on socket errors. Every answer is a 400, which
# wrk counts as non-2xx: all of them must be.
run_wrk() { # port seconds
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "${2}s" -s "$WORK/post.lua" "http://127.0.0.1:$1$ENDPOINT" >"$WORK/wrk.out"
    local requests errors non2xx seconds
    requests=$(field requests)
    errors=$(field errors)
    non2xx=$(field non2xx)
    seconds=$(field seconds)
    [ "$errors" = 0 ] || die "socket errors: $(cat "$WORK/wrk.out")"
    [ "$non2xx" = "$requests" ] || die "not every answer was the 400: $(cat "$WORK/wrk.out")"
    LAST_REQUESTS=$requests
    LAST_RPS=$(echo "$requests / $seconds" | bc -l)
    LAST_P99=$(field p99_ms)
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$PROXY/status"; }
START_RSS=$(rss_kib)

say "(1) rate, error path (400 missing_headers): $ROUNDS rounds of ${DURATION}s, -t$THREADS -c$CONNECTIONS"
best_direct=0
best_proxy=0
for round in $(seq "$ROUNDS"); do
    run_wrk "$PORT" "$DURATION"
    SENT=$((SENT + LAST_REQUESTS))
    printf 'round %d (a) straight:      %8.0f requests/s, p99 %6.2f ms\n' "$round" "$LAST_RPS" "$LAST_P99"
    best_direct=$(echo "if ($LAST_RPS > $best_direct) $LAST_RPS else $best_direct" | bc -l)
    run_wrk "$PROXY_PORT" "$DURATION"
    THROUGH=$((THROUGH + LAST_REQUESTS))
    printf 'round %d (b) through proxy: %8.0f requests/s, p99 %6.2f ms\n' "$round" "$LAST_RPS" "$LAST_P99"
    best_proxy=$(echo "if ($LAST_RPS > $best_proxy) $LAST_RPS else $best_proxy" | bc -l)
done

say "(2) memory: $EXCHANGES exchanges through the proxy"
printf '%12s %12s\n' exchanges "VmRSS (KiB)"
first_rss=$(rss_kib)
printf '%12d %12d\n' "$THROUGH" "$first_rss"
while [ "$THROUGH" -lt "$EXCHANGES" ]; do
    run_wrk "$PROXY_PORT" "$DURATION"
    THROUGH=$((THROUGH + LAST_REQUESTS))
    printf '%12d %12d\n' "$THROUGH" "$(rss_kib)"
done
last_rss=$(rss_kib)

# The proxy's own count, from its summary at SIGINT, must hold every request wrk counted through
# it (wrk leaves out the requests in flight when a run ends, which the proxy forwarded too).
kill -INT "$PROXY"
wait "$PROXY" || true
summary=$(grep -m1 'exchanges (' "$WORK/proxy.log" || true)
counted=$(echo "$summary" | sed -n 's/.*proxy: \([0-9]*\) exchanges.*/\1/p')
[ -n "$counted" ] && [ "$counted" -ge "$THROUGH" ] || die "the proxy counted ${counted:-nothing} exchanges, $THROUGH were sent: $(cat "$WORK/proxy.log")"

say "summary ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf 'best (a) straight at the server: %8.0f requests/s\n' "$best_direct"
printf 'best (b) through the proxy:      %8.0f requests/s\n' "$best_proxy"
printf 'ratio: %.2f of the direct rate (goal >= 0.5)\n' "$(echo "$best_proxy / $best_direct" | bc -l)"
printf 'memory: %d exchanges through the proxy; VmRSS %d KiB at the start, %d KiB after the rate rounds, %d KiB at the end\n' \
    "$THROUGH" "$START_RSS" "$first_rss" "$last_rss"
echo "the proxy at exit: $summary"
