#!/usr/bin/env bash
# One command for every benchmark of providers against hand-written axum:
#   bash bench/run.sh
# wrk load on 127.0.0.1 (the two servers in turn, every route four times,
# A B in odd rounds and B A in even ones so that neither always goes first),
# server CPU time per request, the RSS check, then the criterion
# micro-benchmarks, the summary with one line per route:
#   route=/deps providers_rps=... handwritten_rps=... ratio=... cpu_us_providers=... cpu_us_handwritten=...
# and last the compile times of a 30-provider app against the same app by
# hand (bench/compile.sh: `compile check|debug|release: ... ratio=...`).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${BENCH_DURATION:-3}"      # seconds per wrk run
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
ROUNDS="${BENCH_ROUNDS:-4}"
ROUTES=(/plain /deps /deps-handler /sqlx /tx)
export BENCH_DATABASE_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/providers_bench}"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
psql -h 127.0.0.1 -U postgres -qtAc "SELECT 1 FROM pg_database WHERE datname = 'providers_bench'" postgres | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE providers_bench" postgres
psql -h 127.0.0.1 -U postgres -qc "CREATE TABLE IF NOT EXISTS bench_items (id BIGSERIAL PRIMARY KEY, note TEXT NOT NULL)" providers_bench
psql -h 127.0.0.1 -U postgres -qc "TRUNCATE bench_items" providers_bench

cargo build --release -q -p axum-providers-bench
BIN="${CARGO_TARGET_DIR:-target}/release/bench-server"
WORK="$(mktemp -d)"
# PostgreSQL runs on core 1 with wrk, so that the database's work does not
# preempt the servers on core 0 at random (new backends inherit the
# postmaster's affinity); every core is given back on exit.
pin_postgres() { for pid in $(pgrep -x postgres); do taskset -a -p -c "$1" "$pid" >/dev/null 2>&1 || true; done; }
pin_postgres 1
cleanup() {
    kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"
    pin_postgres "0-$(($(nproc) - 1))"
}
PIDS=()
trap cleanup EXIT

# Servers on core 0, wrk and PostgreSQL on core 1 (this machine has two).
taskset -c 0 "$BIN" providers 3101 >"$WORK/providers.log" 2>&1 & PIDS+=($!); PROVIDERS_PID=$!
taskset -c 0 "$BIN" handwritten 3102 >"$WORK/handwritten.log" 2>&1 & PIDS+=($!); HANDWRITTEN_PID=$!
for port in 3101 3102; do
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/plain" >/dev/null && break; sleep 0.1; done
done
declare -A PID=([providers]=$PROVIDERS_PID [handwritten]=$HANDWRITTEN_PID)
declare -A PORT=([providers]=3101 [handwritten]=3102)
TICK=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
user_ticks() { awk '{print $14}' "/proc/$1/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# wrk's latency to microseconds.
to_us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else print n * 1000000 }'; }

run_wrk() { # server route duration -> "rps p50_us p99_us requests cpu_us_per_request user_us_per_request"
    local server=$1 route=$2 duration=$3 before after user_before user_after out
    before=$(cpu_ticks "${PID[$server]}")
    user_before=$(user_ticks "${PID[$server]}")
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${duration}s" --latency -H 'x-request-id: 42' \
        "http://127.0.0.1:${PORT[$server]}$route")
    after=$(cpu_ticks "${PID[$server]}")
    user_after=$(user_ticks "${PID[$server]}")
    local rps p50 p99 requests errors
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(to_us "$(awk '$1 == "50%" {print $2}' <<<"$out")")
    p99=$(to_us "$(awk '$1 == "99%" {print $2}' <<<"$out")")
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    if [ -n "$errors" ]; then echo "warning: $server $route: $errors non-2xx responses" >&2; fi
    awk -v r="$rps" -v a="$p50" -v b="$p99" -v n="$requests" -v t="$((after - before))" \
        -v u="$((user_after - user_before))" -v k="$TICK" \
        'BEGIN { printf "%s %s %s %s %.2f %.2f\n", r, a, b, n, (t / k) * 1e6 / n, (u / k) * 1e6 / n }'
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); $(rustc --version); wrk -t1 -c$CONNECTIONS -d${DURATION}s"
echo "warm-up"
for route in "${ROUTES[@]}"; do for server in providers handwritten; do run_wrk "$server" "$route" 1 >/dev/null; done; done

# cpu_us: the server's CPU time (user + system) per request; user_us: the
# part spent in the server's own code (the kernel's share, network and
# scheduling, varies most from run to run on a shared machine).
printf '%-7s %-12s %5s %10s %9s %9s %9s %9s\n' route server round req/s p50_us p99_us cpu_us user_us
for round in $(seq 1 "$ROUNDS"); do
    order="providers handwritten"
    if [ $((round % 2)) -eq 0 ]; then order="handwritten providers"; fi
    for route in "${ROUTES[@]}"; do
        for server in $order; do
            read -r rps p50 p99 _ cpu user <<<"$(run_wrk "$server" "$route" "$DURATION")"
            printf '%-7s %-12s %5s %10s %9s %9s %9s %9s\n' "$route" "$server" "$round" "$rps" "$p50" "$p99" "$cpu" "$user"
            echo "$route $server $rps $cpu $user" >>"$WORK/results"
        done
    done
done

echo "memory: RSS of the providers server on /deps"
served=0; rss_100k=""; rss_1m=""
while [ "$served" -lt 1000000 ]; do
    read -r _ _ _ requests _ <<<"$(run_wrk providers /deps 2)"
    served=$((served + requests))
    if [ -z "$rss_100k" ] && [ "$served" -ge 100000 ]; then rss_100k=$(rss_kib "$PROVIDERS_PID"); echo "  after $served requests: ${rss_100k} KiB"; fi
done
rss_1m=$(rss_kib "$PROVIDERS_PID")
echo "  after $served requests: ${rss_1m} KiB"
awk -v a="$rss_100k" -v b="$rss_1m" 'BEGIN { printf "rss_100k_kib=%s rss_1m_kib=%s growth=%.1f%%\n", a, b, (b - a) * 100 / a }'

echo "criterion micro-benchmarks"
cargo bench -q -p axum-providers-bench --bench resolve -- --warm-up-time 1 --measurement-time 3 2>/dev/null \
    | grep -E "^[a-z0-9_/ ]+time:|^[a-z0-9_/]+$|time:" || true

echo "server user-space CPU per request (mean of $ROUNDS rounds)"
for route in "${ROUTES[@]}"; do
    awk -v route="$route" '
        $1 == route && $2 == "providers"   { pu += $5; pn++ }
        $1 == route && $2 == "handwritten" { hu += $5; hn++ }
        END { printf "  %-7s providers %.2f us, hand-written %.2f us, difference %+.2f us\n", route, pu / pn, hu / hn, pu / pn - hu / hn }
    ' "$WORK/results"
done

echo "summary (mean of $ROUNDS rounds)"
for route in "${ROUTES[@]}"; do
    awk -v route="$route" '
        $1 == route && $2 == "providers"   { pr += $3; pc += $4; pn++ }
        $1 == route && $2 == "handwritten" { hr += $3; hc += $4; hn++ }
        END {
            printf "route=%s providers_rps=%.0f handwritten_rps=%.0f ratio=%.3f cpu_us_providers=%.2f cpu_us_handwritten=%.2f\n",
                route, pr / pn, hr / hn, (pr / pn) / (hr / hn), pc / pn, hc / hn
        }' "$WORK/results"
done

echo "compile times: the same 30-provider app with providers and by hand (bench/compile.sh)"
bash bench/compile.sh
