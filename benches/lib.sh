# What the benchmark scripts share (benches/*.sh source it from the repository's root, after
# setting BENCH to their name for messages). Benchmarks, never tests: nothing here times a check.

say() { printf '\n== %s\n' "$*"; }

die() {
    echo "${BENCH:-bench}: $*" >&2
    exit 2
}

# Installs wrk from Debian when it is missing (as root, or with sudo when it needs no password).
need_wrk() {
    command -v wrk >/dev/null && return 0
    say "installing wrk (apt-get)"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    else
        die "wrk is missing, and neither root nor sudo is at hand to install it: apt-get install wrk"
    fi
    command -v wrk >/dev/null || die "apt-get did not install wrk"
}

# Waits until a server started in the background answers on 127.0.0.1:PORT (any status): at most
# ten seconds; dies with its log when its process PID exits first.
#   wait_for PORT PID LOG
wait_for() {
    command -v curl >/dev/null || die "curl is needed to wait for the servers"
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
        kill -0 "$2" 2>/dev/null || die "the server on port $1 exited: $(cat "$3")"
        sleep 0.1
    done
    die "the server on port $1 does not answer"
}

# The machine's CPU ticks, all cores: "total idle steal" (idle counting iowait).
cpu_jiffies() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $5 + $6, $9 }' /proc/stat; }

# Between two cpu_jiffies: "busy% steal%" of the machine.
cpu_usage() {
    local t1 i1 s1 t2 i2 s2
    read -r t1 i1 s1 <<<"$1"
    read -r t2 i2 s2 <<<"$2"
    awk -v t="$((t2 - t1))" -v i="$((i2 - i1))" -v s="$((s2 - s1))" \
        'BEGIN { if (t > 0) printf "%.0f %.1f", 100 * (t - i) / t, 100 * s / t; else print "0 0" }'
}

# The load average, its three figures.
load() { cut -d' ' -f1-3 /proc/loadavg; }
