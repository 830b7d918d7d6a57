#!/usr/bin/env bash
# Pipelined INCR throughput: Sluice's Redis client (one connection, 50 callers) beside
# redis-benchmark -t incr -P 16 (50 connections, 16 commands per pipeline), against one
# local redis-server started here on a free loopback port.
#
#   Benchmarks/redis-pipeline.sh [commands]     (default 2,000,000)
set -euo pipefail
cd "$(dirname "$0")/.."
commands=${1:-2000000}
command -v redis-server >/dev/null || { echo "install redis-server: apt-get install -y redis-server redis-tools" >&2; exit 1; }

swift build -c release --product RedisPipelineBenchmark >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --logfile "" >/dev/null &
redis_pid=$!
trap 'kill -9 $redis_pid 2>/dev/null || true' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done

echo "machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
reference=$(redis-benchmark -p "$port" -t incr -P 16 -c 50 -n "$commands" -q | tr -d '\r' | grep -oE 'INCR: [0-9.]+' | grep -oE '[0-9.]+')
echo "redis-benchmark -t incr -P 16 -c 50: ${reference%.*} ops/s"
.build/release/RedisPipelineBenchmark --url "redis://127.0.0.1:$port" --callers 50 --commands "$commands" |
    while read -r line; do
        rate=$(echo "$line" | grep -oE '[0-9]+ ops/s' | grep -oE '[0-9]+')
        echo "$line  ($(python3 -c "print(f'{$rate / $reference:.0%}')") of redis-benchmark)"
    done
