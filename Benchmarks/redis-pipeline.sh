#!/usr/bin/env bash
# Pipelined INCR throughput: Sluice's Redis client (one connection, 50 callers) beside
# redis-benchmark -t incr -P 16 (50 connections, 16 commands per pipeline), against one
# local redis-server started here on a free loopback port.
#
# The two sides alternate for a few rounds, each ratio taken against the redis-benchmark run
# just before it, and the median ratio is the figure: on a shared host the absolute rates
# drift by half between minutes, while neighbouring runs see the same machine.
#
#   Benchmarks/redis-pipeline.sh [commands] [rounds]     (default 1,000,000 commands, 3 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
commands=${1:-1000000}
rounds=${2:-3}
command -v redis-server >/dev/null || { echo "install redis-server: apt-get install -y redis-server redis-tools" >&2; exit 1; }

swift build -c release --product RedisPipelineBenchmark >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --logfile "" >/dev/null &
redis_pid=$!
trap 'kill -9 $redis_pid 2>/dev/null || true' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done

echo "machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
ratios=()
for round in $(seq "$rounds"); do
    reference=$(redis-benchmark -p "$port" -t incr -P 16 -c 50 -n "$commands" -q | tr -d '\r' |
        grep -oE 'INCR: [0-9.]+' | grep -oE '[0-9.]+')
    echo "round $round: redis-benchmark -t incr -P 16 -c 50: ${reference%.*} ops/s"
    while read -r line; do
        rate=$(echo "$line" | grep -oE '[0-9]+ ops/s' | grep -oE '[0-9]+')
        ratio=$(python3 -c "print(f'{$rate / $reference:.2f}')")
        ratios+=("$(echo "$line" | cut -d: -f1) $ratio")
        echo "round $round: $line  (${ratio}× redis-benchmark)"
    done < <(.build/release/RedisPipelineBenchmark --url "redis://127.0.0.1:$port" --callers 50 --commands "$commands")
done
for mode in "sluice loop" "sluice async"; do
    median=$(printf '%s\n' "${ratios[@]}" | grep "^$mode " | awk '{print $3}' | sort -n |
        awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    echo "median $mode: ${median}× redis-benchmark (target 0.70)"
done
