"""What a Redis-backed rule costs, per request: Sluice (one loop) on one key under wrk, with
Redis's calls, the checks each call decided, and both processes' CPU time read from /proc. The
CPU and calls figures hold better than req/s on a noisy host: they do not depend on how much of
the machine the run got. Run through Benchmarks/redis-calls.sh."""

import argparse
import json
import os
import re
import subprocess

import harness

TICKS = os.sysconf("SC_CLK_TCK")
ALGORITHMS = {"fixed-window": {}, "sliding-window": {}, "token-bucket": {"burst": 1_000_000_000}}


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of process `pid`."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def calls(port: int) -> int:
    """Decision calls Redis has run since its statistics were reset: `INCRBY` or `EVALSHA`."""
    stats = subprocess.run(["redis-cli", "-p", str(port), "INFO", "commandstats"], capture_output=True,
                           text=True, check=True).stdout
    return sum(int(n) for n in re.findall(r"^cmdstat_(?:incrby|evalsha):calls=(\d+),", stats, re.M))


def measure(algorithm: str, redis: subprocess.Popen, redis_port: int, seconds: int, connections: int) -> dict:
    rule = {"name": "bench", "key": "ip", "algorithm": algorithm, "limit": 1_000_000_000, "window": "1m",
            **ALGORITHMS[algorithm]}
    config = harness.write_json(f"calls-{algorithm}.json",
                                json.dumps({"store": f"redis://127.0.0.1:{redis_port}", "rules": [rule]}))
    harness.flush_redis(redis_port)
    sluice, port, _ = harness.start_sluice(["--config", config], 1, f"calls-{algorithm}.log")
    url = f"http://127.0.0.1:{port}/"
    harness.wrk(url, 1, connections)  # warm-up, unmeasured
    subprocess.run(["redis-cli", "-p", str(redis_port), "CONFIG", "RESETSTAT"], capture_output=True, check=True)
    (user0, system0), redis0 = cpu_seconds(sluice.pid), sum(cpu_seconds(redis.pid))
    run = harness.wrk(url, seconds, connections)
    (user1, system1), redis1 = cpu_seconds(sluice.pid), sum(cpu_seconds(redis.pid))
    harness.stop(sluice)
    requests, made = run["requests"], calls(redis_port)
    per_request = lambda before, after: (after - before) * 1e6 / max(requests, 1)
    return {"rps": run["rps"], "user": per_request(user0, user1), "system": per_request(system0, system1),
            "redis": per_request(redis0, redis1), "checks_per_call": requests / max(made, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=4, help="per wrk run (default 4)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per algorithm (default 3)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    args = parser.parse_args()
    redis, redis_port = harness.start_redis()
    print(harness.machine())
    print(f"wrk -t1 -c{args.connections} -d{args.seconds}s on one key; Sluice --loops 1; µs of CPU per request")
    for round_ in range(1, args.rounds + 1):
        for algorithm in ALGORITHMS:
            r = measure(algorithm, redis, redis_port, args.seconds, args.connections)
            print(f"round {round_} {algorithm:15} {r['rps']:9,.0f} req/s  Sluice user {r['user']:5.2f} "
                  f"system {r['system']:5.2f}  Redis {r['redis']:5.2f}  checks per call {r['checks_per_call']:5.1f}")


if __name__ == "__main__":
    main()
