#!/usr/bin/env bash
# Instructions inside Redis per call of the sliding-window and token-bucket scripts, counted by
# callgrind: redis-server runs under valgrind, redis-benchmark sends the calls the store sends for
# one hot key (-P 16), and the count covers everything Redis does for them (reading, the script,
# replying). Unlike calls per second, the count does not move with a noisy host, so it shows what
# a change to a script saved. Under valgrind each call lands in a millisecond of its own, so the
# sliding-window figure is its costlier case (each call moves a run into the sorted set).
#
#   Benchmarks/script-instructions.sh [calls] [checks-per-call]     (defaults 5000 and 16)
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-5000}
checks=${2:-16}
for tool in valgrind redis-server redis-benchmark; do
    command -v "$tool" >/dev/null || {
        echo "install $tool: apt-get install -y valgrind redis-server" >&2
        exit 1
    }
done
swift build -c release --product LimiterBenchmark >/dev/null
bench=.build/release/LimiterBenchmark
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/redis.%p" \
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >"$work/redis.log" 2>&1 &
redis_pid=$!
trap 'kill -9 $redis_pid 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.2; done

# count NAME COMMAND...: instructions per call of COMMAND (a warm-up of 500 calls is not counted);
# stops if COMMAND answers with an error, which would be counted instead.
count() {
    local name=$1
    shift
    redis-cli -p "$port" flushall >/dev/null
    local reply
    reply=$(redis-cli -p "$port" "$@")
    if grep -qE '^[A-Z]{3,} ' <<<"$reply"; then # an error reply: ERR …, NOSCRIPT …
        echo "$name: $reply" >&2
        exit 1
    fi
    redis-benchmark -p "$port" -n 500 -P 16 -c 1 -q "$@" >/dev/null 2>&1
    callgrind_control -i on "$redis_pid" >/dev/null 2>&1
    callgrind_control -z "$redis_pid" >/dev/null 2>&1
    redis-benchmark -p "$port" -n "$calls" -P 16 -c 1 -q "$@" >/dev/null 2>&1
    callgrind_control -i off "$redis_pid" >/dev/null 2>&1
    callgrind_control -d "$redis_pid" >/dev/null 2>&1
    local dump
    dump=$(ls -t "$work"/redis.*.* | head -1)
    awk -v n="$calls" -v name="$name" -v checks="$checks" '/^totals:/ {
        printf "%-40s %7.0f instructions/call  %6.0f per check\n", name, $2 / n, $2 / n / checks }' "$dump"
    rm -f "$dump"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(redis-server --version | cut -d' ' -f1-3)"
echo "$calls calls of $checks checks each, one key, Redis's clock; limit 1e9 a minute (all pass)"
tb=$(redis-cli -p "$port" SCRIPT LOAD "$($bench script token-bucket)")
sw=$(redis-cli -p "$port" SCRIPT LOAD "$($bench script sliding-window)")
# The store's arguments: now (0: Redis TIME), limit, capacity = burst × window ms, need = cost ×
# window ms, grace, checks; and now, limit, window ms, cost, grace, checks.
count "token bucket EVALSHA" EVALSHA "$tb" 1 "b:{k}:tb" 0 1000000000 60000000000000 60000 1000 "$checks"
count "sliding window EVALSHA" EVALSHA "$sw" 2 "b:{k}:sw:runs" "b:{k}:sw:summary" 0 1000000000 60000 1 1000 "$checks"
