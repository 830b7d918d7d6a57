#!/usr/bin/env bash
# What a Redis-backed rule costs per request: Sluice's and Redis's CPU time and the checks each
# Redis call decided, for each algorithm on one key under wrk (Redis on a free loopback port).
#
#   Benchmarks/redis-calls.sh [--seconds 4] [--rounds 3] [--connections 64]
set -euo pipefail
cd "$(dirname "$0")/.."
Benchmarks/suite/setup
exec python3 Benchmarks/suite/redis_calls.py "$@"
