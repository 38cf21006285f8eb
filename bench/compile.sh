#!/usr/bin/env bash
# Compile-time benchmark: the same app (30 values, 10 handlers) written with
# axum-providers (bench/compile/providers-app) and by hand with axum's
# State/FromRef/FromRequestParts (bench/compile/handwritten-app).
#
#   bash bench/compile.sh
#
# After one untimed warm-up of each profile (so that every dependency is
# built), each round touches a crate's src/lib.rs and times, in turn,
# `cargo check`, `cargo build` and `cargo build --release` of that crate
# alone (touching again before each). Rounds alternate which crate goes
# first. Ends with the medians and ratios, one line per profile:
#   compile check: providers=1.23s handwritten=0.98s ratio=1.26
#
# COMPILE_ROUNDS (default 3) sets the rounds. The builds use their own target
# directory (COMPILE_BENCH_TARGET_DIR, default target/compile-bench) so that
# another cargo running in the workspace does not hold the lock mid-timing.
# A timed command that recompiled anything besides the crate itself (a
# dependency was edited during the run) is timed again, up to 3 times; one
# still tainted is shown with `*` and left out of the medians.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${COMPILE_ROUNDS:-3}"
export CARGO_TARGET_DIR="${COMPILE_BENCH_TARGET_DIR:-target/compile-bench}"
NAMES=(providers handwritten)
declare -A PKG=([providers]=compile-bench-providers [handwritten]=compile-bench-handwritten)
declare -A DIR=([providers]=bench/compile/providers-app [handwritten]=bench/compile/handwritten-app)
PROFILES=(check debug release)
declare -A TIMES=() # "name:profile" -> space-separated seconds
declare -A CELL=()  # "round:name:profile" -> seconds, with `*` when tainted
RETRIES=0
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
SCRIPT_START="$(date +%s.%N)"

cargo_args() { # profile pkg -> cargo arguments
    case "$1" in
        check) echo "check -p $2" ;;
        debug) echo "build -p $2" ;;
        release) echo "build --release -p $2" ;;
    esac
}

run_cargo() { # cargo arguments...; output to $LOG, shown on failure
    if ! cargo "$@" >"$LOG" 2>&1; then
        cat "$LOG" >&2
        echo "compile.sh: cargo $* failed" >&2
        exit 1
    fi
}

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

median() { # numbers... -> median
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "compile benchmark: $(rustc --version), $(nproc) cpus, ${ROUNDS} rounds, target dir ${CARGO_TARGET_DIR}"
echo "warm-up (untimed): check, debug and release builds of both crates"
for name in "${NAMES[@]}"; do
    for profile in "${PROFILES[@]}"; do
        # shellcheck disable=SC2046 # word splitting of the arguments is intended
        run_cargo $(cargo_args "$profile" "${PKG[$name]}")
    done
done

for round in $(seq 1 "$ROUNDS"); do
    if ((round % 2)); then order=(providers handwritten); else order=(handwritten providers); fi
    for name in "${order[@]}"; do
        for profile in "${PROFILES[@]}"; do
            for _ in 1 2 3; do
                touch "${DIR[$name]}/src/lib.rs"
                start="$(date +%s.%N)"
                # shellcheck disable=SC2046
                run_cargo $(cargo_args "$profile" "${PKG[$name]}")
                end="$(date +%s.%N)"
                seconds="$(elapsed "$start" "$end")"
                if ! grep -E '^\s*(Compiling|Checking) ' "$LOG" | grep -qv " ${PKG[$name]} "; then
                    TIMES[$name:$profile]="${TIMES[$name:$profile]:-} $seconds"
                    CELL[$round:$name:$profile]="${seconds}s"
                    break
                fi
                # a dependency was recompiled (edited during the run): time again
                RETRIES=$((RETRIES + 1))
                CELL[$round:$name:$profile]="${seconds}s*"
            done
        done
    done
done

echo
printf '%-6s %-12s %9s %9s %9s\n' round crate check debug release
for round in $(seq 1 "$ROUNDS"); do
    if ((round % 2)); then order=(providers handwritten); else order=(handwritten providers); fi
    for name in "${order[@]}"; do
        printf '%-6s %-12s %9s %9s %9s\n' "$round" "$name" \
            "${CELL[$round:$name:check]}" "${CELL[$round:$name:debug]}" "${CELL[$round:$name:release]}"
    done
done
echo

for profile in "${PROFILES[@]}"; do
    if [[ -z "${TIMES[providers:$profile]:-}" || -z "${TIMES[handwritten:$profile]:-}" ]]; then
        echo "compile ${profile}: no untainted timing (a dependency kept changing)"
        continue
    fi
    # shellcheck disable=SC2086 # the lists are space-separated numbers
    p="$(median ${TIMES[providers:$profile]})"
    # shellcheck disable=SC2086
    h="$(median ${TIMES[handwritten:$profile]})"
    ratio="$(awk -v p="$p" -v h="$h" 'BEGIN { printf "%.2f", p / h }')"
    echo "compile ${profile}: providers=${p}s handwritten=${h}s ratio=${ratio}"
done
if ((RETRIES > 0)); then echo "timed again because a dependency was recompiled: ${RETRIES}"; fi
echo "total: $(elapsed "$SCRIPT_START" "$(date +%s.%N)")s"
