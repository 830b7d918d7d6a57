#!/usr/bin/env bash
# Rate-limit decisions per second: the in-memory store (one thread, every core), then the Redis
# store with 200 concurrent callers on one connection beside redis-benchmark running the same
# token-bucket script with EVALSHA -P 16, against one local redis-server on a free loopback port.
#
#   Benchmarks/limiter.sh [decisions]     (default 500,000 per Redis algorithm)
set -euo pipefail
cd "$(dirname "$0")/.."
decisions=${1:-500000}
command -v redis-server >/dev/null || { echo "install redis-server: apt-get install -y redis-server redis-tools" >&2; exit 1; }

swift build -c release --product LimiterBenchmark >/dev/null
bench=.build/release/LimiterBenchmark
echo "machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
$bench memory 2

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --logfile "" >/dev/null &
redis_pid=$!
trap 'kill -9 $redis_pid 2>/dev/null || true' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done

$bench redis "redis://127.0.0.1:$port" 200 "$decisions"
sha=$(redis-cli -p "$port" SCRIPT LOAD "$($bench script token-bucket)")
# Same arguments as the store sends: now=0 (Redis TIME), limit, capacity (burst × window ms),
# need (cost × window ms), grace; one check a call.
reference=$(redis-benchmark -p "$port" -P 16 -c 50 -n "$decisions" -r 10000 -q \
    EVALSHA "$sha" 1 "bench:{client-__rand_int__}:tb" 0 1000000 60000000000 60000 1000 |
    tr -d '\r' | grep -oE '[0-9.]+ requests per second' | grep -oE '^[0-9.]+')
echo "redis-benchmark EVALSHA token-bucket -P 16 -c 50: ${reference%.*} calls/s"
