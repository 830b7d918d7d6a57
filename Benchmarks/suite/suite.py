"""Sluice beside its peers, scenario by scenario, alternating which side runs first each round,
and writes Benchmarks/RESULTS.md and Benchmarks/results.png. Run through Benchmarks/run."""

import argparse
import datetime
import json
import socket
import statistics
import subprocess
import time
from pathlib import Path

import harness
from harness import WORK

RESULTS = harness.ROOT / "Benchmarks" / "RESULTS.md"
CHART = harness.ROOT / "Benchmarks" / "results.png"
HUGE = 1_000_000_000  # a limit no run reaches: every request passes
STEAL_RETRY_PERCENT = 5  # a measured run with more steal than this is run again ...
STALL_RETRY_MS = 10  # ... as is a latency run in which the probe itself went unscheduled for longer ...
STEAL_RETRIES = 2  # ... at most this many times


def rule(algorithm: str, limit: int, window: str, key: str = "ip", burst: int | None = None) -> dict:
    fields = {"name": "bench", "key": key, "algorithm": algorithm, "limit": limit, "window": window}
    if burst:
        fields["burst"] = burst
    return fields


def sluice_config(name: str, rules: list[dict], **fields) -> list[str]:
    return ["--config", harness.write_json(f"{name}.json", json.dumps({"rules": rules, **fields}))]


def nginx_servers(port: int, upstream_port: int) -> tuple[str, str]:
    """nginx's side of every scenario, one location each. `return` runs before `limit_req`,
    so limited locations answer with `empty_gif`."""
    zones = f"""
    limit_req_zone $binary_remote_addr zone=high:10m rate=100000000r/s;
    limit_req_zone $binary_remote_addr zone=low:10m rate=10r/m;
    limit_req_zone $http_x_key zone=keys:256m rate=10r/m;
    upstream api {{ server 127.0.0.1:{upstream_port}; keepalive 64; }}"""
    servers = f"""
    server {{
        listen 127.0.0.1:{port} backlog=65535;
        location = / {{ return 200 "OK\\n"; }}
        location /allow {{ limit_req zone=high burst=100000000 nodelay; empty_gif; }}
        location /deny {{ limit_req zone=low; empty_gif; }}
        location /keys {{ limit_req zone=keys burst=5 nodelay; empty_gif; }}
        location /proxy {{ proxy_pass http://api/; proxy_http_version 1.1; proxy_set_header Connection ""; }}
    }}"""
    return zones, servers


def redis_benchmark(port: int, seconds_hint: int, *command: str) -> float:
    """Pipelined calls/s of one command: the bound for a limiter that sends it once per decision."""
    output = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-P", "16", "-c", "50", "-n", str(200_000 * seconds_hint // 5),
         "-r", "10000", "-q", *command], capture_output=True, text=True, timeout=300).stdout
    return float(output.replace("\r", "\n").strip().split("\n")[-1].split(" requests per second")[0].split()[-1])


def script_sha(port: int, algorithm: str) -> str:
    source = subprocess.run([str(harness.LIMITER_BENCHMARK), "script", algorithm], capture_output=True,
                            text=True, check=True).stdout
    return subprocess.run(["redis-cli", "-p", str(port), "SCRIPT", "LOAD", source], capture_output=True,
                          text=True, check=True).stdout.strip()


class Suite:
    def __init__(self, seconds: int, rounds: int, workers: int, connections: int):
        self.seconds, self.rounds, self.workers, self.connections = seconds, rounds, workers, connections
        self.rows: list[dict] = []
        self.memory_rows: list[dict] = []
        self.latency_rows: list[dict] = []
        upstream_port, self.nginx_port = harness.free_port(), harness.free_port()
        self.upstream_port = upstream_port
        harness.start_nginx(1, f'server {{ listen 127.0.0.1:{upstream_port}; location / {{ return 200 "OK\\n"; }} }}',
                            name="upstream")
        harness.wait_port(upstream_port)
        zones, servers = nginx_servers(self.nginx_port, upstream_port)
        self.nginx = harness.start_nginx(workers, servers, zones)
        harness.wait_port(self.nginx_port)
        self.redis, self.redis_port = harness.start_redis()

    def nginx_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.nginx_port}{path}"

    def compare(self, name: str, sluice_args: list[str], peer: str, peer_path: str,
                bound: tuple[str, float] | None = None, expect_denials: bool = False) -> dict:
        """Runs Sluice and nginx `rounds` times each under wrk, alternating who goes first; keeps medians."""
        sluice_runs, peer_runs = self.alternate(sluice_args, self.nginx_url(peer_path),
                                                lambda url: harness.wrk(url, self.seconds, self.connections))
        row = {"scenario": name, "peer": peer, "path": peer_path, "args": sluice_args, "sluice": self.median(sluice_runs),
               "nginx": self.median(peer_runs), "round_ratios": round_ratios(sluice_runs, peer_runs), "bound": bound,
               "expect_denials": expect_denials}
        self.rows.append(row)
        self.print_row(row)
        return row

    def alternate(self, sluice_args: list[str], peer_url: str, measure) -> tuple[list[dict], list[dict]]:
        """`rounds` runs of `measure(url)` on each side, alternating which goes first: on a Sluice
        started afresh with `sluice_args` each round, and on nginx at `peer_url`.

        Each side gets the same unmeasured 1 s wrk run first. nginx runs through the whole suite
        while each Sluice is new, and a new server's first tenth of a second under load is slow on
        this kind of machine (perf shows page faults in it): on a fresh nginx as much as on a fresh
        Sluice, the first 0.2 s at 20k req/s had a p99 of 12 to 20 ms. Unwarmed, a latency row
        charged that to Sluice alone. Each Sluice round also starts from an empty Redis, so a
        round's counts do not carry into the next. A run during which the hypervisor took more than
        STEAL_RETRY_PERCENT of the CPU (this is a virtual machine on a shared host), or during which
        the latency probe itself waited more than STALL_RETRY_MS to be scheduled (a few ms is the
        two cores' ordinary sharing, tens of ms a hiccup of the host that charges every request it
        held back), measured the host: it is run again, on either side alike, and the least
        disturbed run is kept."""
        sluice_runs, peer_runs = [], []

        def warm_then_measure(url: str) -> dict:
            harness.wrk(url, 1, self.connections)
            before = harness.cpu_ticks()
            return {**measure(url), "steal": harness.steal_percent(before)}

        def disturbed(run: dict) -> bool:
            return run["steal"] > STEAL_RETRY_PERCENT or run.get("probeStall", 0) > STALL_RETRY_MS

        def least_disturbed(attempt) -> dict:
            """`attempt()` again while the host disturbed it, up to STEAL_RETRIES times; an
            undisturbed run if there is one, else the one with the least steal, then stall."""
            runs = [attempt()]
            while disturbed(runs[-1]) and len(runs) <= STEAL_RETRIES:
                runs.append(attempt())
            return min(runs, key=lambda run: (disturbed(run), run["steal"], run.get("probeStall", 0)))

        for round_ in range(self.rounds):
            def sluice_attempt() -> dict:
                harness.flush_redis(self.redis_port)
                process, port, _ = harness.start_sluice(sluice_args, self.workers)
                time.sleep(0.3)  # connections to Redis are made at start
                run = warm_then_measure(f"http://127.0.0.1:{port}/")
                harness.stop(process)
                return run

            def run_sluice():
                sluice_runs.append(least_disturbed(sluice_attempt))

            def run_peer():
                peer_runs.append(least_disturbed(lambda: warm_then_measure(peer_url)))

            for side in ((run_sluice, run_peer) if round_ % 2 == 0 else (run_peer, run_sluice)):
                side()
        return sluice_runs, peer_runs

    @staticmethod
    def median(runs: list[dict]) -> dict:
        return {**{key: statistics.median(run[key] for run in runs)
                   for key in ("rps", "p50", "p99", "non2xx", "errors", "requests")},
                "steal": max(run["steal"] for run in runs)}

    @staticmethod
    def print_row(row: dict) -> None:
        s, n = row["sluice"], row["nginx"]
        ratio = s["rps"] / n["rps"] if n["rps"] else float("nan")
        bound = f"  bound {row['bound'][0]} {row['bound'][1]:,.0f}/s" if row["bound"] else ""
        print(f"{row['scenario']:<42} sluice {s['rps']:>10,.0f}/s p99 {s['p99']:6.2f} ms   "
              f"{row['peer']:<22} {n['rps']:>10,.0f}/s p99 {n['p99']:6.2f} ms   {ratio:5.2f}x "
              f"(rounds {ratio_range(row['round_ratios'])}){bound}"
              f"  steal {s['steal']:.0f}%/{n['steal']:.0f}%", flush=True)

    def throughput(self) -> None:
        c = lambda name, rules, **fields: sluice_config(name, rules, **fields)
        redis = ["--store", f"redis://127.0.0.1:{self.redis_port}"]
        self.compare("target mode, no limiting", c("target", []), "nginx return 200", "/")
        self.compare("in-memory, all pass", c("mem-allow", [rule("fixed-window", HUGE, "1h")]),
                     "nginx limit_req", "/allow")
        self.compare("in-memory, almost all denied", c("mem-deny", [rule("fixed-window", 10, "1m")]),
                     "nginx limit_req", "/deny", expect_denials=True)
        incr = redis_benchmark(self.redis_port, self.seconds, "INCRBY", "bench:{__rand_int__}:fw", "1")
        pexpire = redis_benchmark(self.redis_port, self.seconds, "PEXPIRE", "bench:{__rand_int__}:fw", "60000", "NX")
        both = 1 / (1 / incr + 1 / pexpire)  # one decision = one INCRBY and one PEXPIRE
        self.compare("Redis fixed window, all pass", redis + c("redis-fw", [rule("fixed-window", HUGE, "1h")]),
                     "nginx limit_req", "/allow", bound=("INCRBY+PEXPIRE", both))
        sliding = redis_benchmark(self.redis_port, self.seconds, "EVALSHA", script_sha(self.redis_port, "sliding-window"),
                                  "2", "b:{__rand_int__}:sw:runs", "b:{__rand_int__}:sw:summary", "0", str(HUGE), "60000",
                                  "1", "1000")
        self.compare("Redis sliding window, all pass",
                     redis + c("redis-sw", [rule("sliding-window", HUGE, "1m")]), "nginx limit_req", "/allow",
                     bound=("EVALSHA", sliding))
        bucket = redis_benchmark(self.redis_port, self.seconds, "EVALSHA", script_sha(self.redis_port, "token-bucket"),
                                 "1", "b:{__rand_int__}:tb", "0", "1000000", "60000000000", "60000", "1000")
        self.compare("Redis token bucket, all pass",
                     redis + c("redis-tb", [rule("token-bucket", 1_000_000, "1m", burst=1_000_000)]),
                     "nginx limit_req", "/allow", bound=("EVALSHA", bucket))
        self.compare("proxy mode (upstream keep-alive)", ["--upstream", f"http://127.0.0.1:{self.upstream_port}",
                                                          *c("proxy", [])], "nginx proxy_pass", "/proxy")
        nodes, ports = harness.start_cluster()
        cluster = ["--store", "redis-cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports)]
        self.compare("3-primary cluster, fixed window", cluster + c("cluster", [rule("fixed-window", HUGE, "1h")]),
                     "nginx limit_req", "/allow")
        for node in nodes:
            harness.stop(node)

    def latency_at_half_load(self) -> None:
        """p50/p99/p99.9 when both sides are offered half of Sluice's measured maximum, open loop
        (LatencyProbe: each request timed from when it was due), alternating sides each round."""
        scenarios = (
            ("target mode", "target mode, no limiting"),
            ("in-memory fixed window", "in-memory, all pass"),
            ("Redis fixed window", "Redis fixed window, all pass"),
            ("Redis token bucket", "Redis token bucket, all pass"),
            ("proxy mode", "proxy mode (upstream keep-alive)"),
        )
        for name, base in scenarios:
            # The same Sluice as the throughput row it halves.
            source = next(row for row in self.rows if row["scenario"] == base)
            rate = round(source["sluice"]["rps"] / 2)
            sluice_runs, peer_runs = self.alternate(
                source["args"], self.nginx_url(source["path"]),
                lambda url: harness.latency_probe(url, rate, self.seconds, self.connections))
            row = {"scenario": name, "peer": source["peer"], "rate": rate,
                   "sluice": self.median_latency(sluice_runs), "nginx": self.median_latency(peer_runs)}
            self.latency_rows.append(row)
            s, n = row["sluice"], row["nginx"]
            print(f"latency at {rate:,}/s: {name:<24} sluice p50 {s['p50']:.3f} p99 {s['p99']:.3f} "
                  f"(server {s['serverP99']:.3f}) ms   {row['peer']:<18} p50 {n['p50']:.3f} p99 {n['p99']:.3f} "
                  f"(server {n['serverP99']:.3f}) ms", flush=True)

    @staticmethod
    def median_latency(runs: list[dict]) -> dict:
        """Medians of the latencies; the worst round of what went wrong, so that one bad round shows."""
        median = {key: statistics.median(run[key] for run in runs)
                  for key in ("achieved", "p50", "p99", "p999", "serverP50", "serverP99", "serverP999")}
        return {**median,
                **{key: max(run[key] for run in runs) for key in ("non2xx", "unanswered", "probeStall", "steal")}}

    def memory(self) -> None:
        """Resident memory: idle, holding 10,000 idle keep-alive connections, holding 1M keys."""
        config = sluice_config("memory", [rule("fixed-window", 10, "1h", key="header:X-Key")], maxConnections=20_000)
        process, port, _ = harness.start_sluice(config, self.workers)
        time.sleep(1)
        nginx_pids = harness.with_children(self.nginx.pid)
        self.memory_row("idle", harness.rss_kib([process.pid]), harness.rss_kib(nginx_pids))
        held = hold_connections(port, 10_000)
        sluice_kib = harness.rss_kib([process.pid])
        for sock in held:
            sock.close()
        held = hold_connections(self.nginx_port, 10_000)
        self.memory_row("10,000 idle keep-alive connections", sluice_kib,
                        harness.rss_kib(harness.with_children(self.nginx.pid)))
        for sock in held:
            sock.close()
        # Long enough to go through a million keys at either side's speed on this machine.
        keys = harness.distinct_keys_script()
        sent = harness.wrk(f"http://127.0.0.1:{port}/", 30, 64, keys, ["1000000"])["requests"]
        nginx_sent = harness.wrk(self.nginx_url("/"), 30, 64, keys, ["1000000"])["requests"]
        self.memory_row(f"{min(sent, 1_000_000):,} distinct keys (Sluice in-memory store) / "
                        f"{min(nginx_sent, 1_000_000):,} (nginx limit_req zone)", harness.rss_kib([process.pid]),
                        harness.rss_kib(harness.with_children(self.nginx.pid)))
        harness.stop(process)

    def memory_row(self, name: str, sluice_kib: int, nginx_kib: int) -> None:
        self.memory_rows.append({"scenario": name, "sluice": sluice_kib, "nginx": nginx_kib})
        print(f"RSS {name:<60} sluice {sluice_kib / 1024:8.1f} MiB   nginx {nginx_kib / 1024:8.1f} MiB", flush=True)


def hold_connections(port: int, count: int) -> list[socket.socket]:
    """Opens `count` keep-alive connections, sends one request on each, reads the answer, keeps them."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nX-Key: idle\r\n\r\n")
        sockets.append(sock)
    for sock in sockets:
        sock.settimeout(10)
        sock.recv(4096)
    return sockets


def round_ratios(sluice_runs: list[dict], peer_runs: list[dict]) -> list[float]:
    """Each round's Sluice req/s over the peer's: the two ran back to back, so a round's ratio
    is spared the host's slower drift that the medians of each side are not."""
    return [s["rps"] / n["rps"] for s, n in zip(sluice_runs, peer_runs) if n["rps"]]


def ratio_range(ratios: list[float]) -> str:
    """The lowest and highest of the rounds' ratios: how far the host's noise moved the ratio."""
    return f"{min(ratios):.2f}–{max(ratios):.2f}×" if ratios else "—"


def percentiles(latency: dict, prefix: str = "") -> str:
    """p50 / p99 / p99.9 in ms, of the whole latency or (prefix "server") of the server's share."""
    keys = ("p50", "p99", "p999") if not prefix else tuple(prefix + key.capitalize() for key in ("p50", "p99", "p999"))
    return " / ".join(f"{latency[key]:.2f}" for key in keys)


def write_results(suite: Suite, command: str, started: datetime.datetime) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}` on {started:%Y-%m-%d %H:%M} UTC.",
        f"Machine: {harness.machine()}. Loopback only; Sluice `--loops {suite.workers}` and nginx "
        f"`worker_processes {suite.workers}`; wrk 1 thread, {suite.connections} connections, {suite.seconds} s per run, "
        f"{suite.rounds} rounds alternating which side runs first; medians shown, and the lowest and highest of the "
        "rounds' own ratios (each round runs the two sides back to back), which show how far the host moved a ratio. "
        "Before each measured run (here and in the latency table) the side gets an unmeasured 1 s wrk run, and each "
        "Sluice starts from an empty Redis. "
        "Redis runs on the same machine. A run during which the hypervisor took more than "
        f"{STEAL_RETRY_PERCENT}% of this virtual machine's CPU time (steal, from /proc/stat) is run again, on either "
        f"side alike, up to {STEAL_RETRIES} times, keeping the least disturbed; a note's steal is the most that a kept "
        "run of that row had (Sluice's / the peer's): rows with a high steal are the host's noise, not either server.",
        "",
        "| scenario | Sluice req/s | peer | peer req/s | ratio | rounds' ratios | Sluice p50 / p99 ms | peer p50 / p99 ms "
        "| note |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in suite.rows:
        s, n = row["sluice"], row["nginx"]
        notes = []
        if row["bound"]:
            notes.append(f"redis-benchmark {row['bound'][0]} -P 16: {row['bound'][1]:,.0f}/s")
        if row["expect_denials"]:
            notes.append(f"non-2xx: Sluice {s['non2xx']:,.0f}, nginx {n['non2xx']:,.0f}")
        elif s["non2xx"] or n["non2xx"] or s["errors"] or n["errors"]:
            notes.append(f"non-2xx/errors: Sluice {s['non2xx']:,.0f}/{s['errors']:,.0f}, "
                         f"nginx {n['non2xx']:,.0f}/{n['errors']:,.0f}")
        notes.append(f"steal up to {s['steal']:.0f}% / {n['steal']:.0f}%")
        ratio = s["rps"] / n["rps"] if n["rps"] else float("nan")
        lines.append(f"| {row['scenario']} | {s['rps']:,.0f} | {row['peer']} | {n['rps']:,.0f} | {ratio:.2f}× | "
                     f"{ratio_range(row['round_ratios'])} | "
                     f"{s['p50']:.2f} / {s['p99']:.2f} | {n['p50']:.2f} / {n['p99']:.2f} | {'; '.join(notes)} |")
    lines += ["", f"Latency at half load: `LatencyProbe` offers half of Sluice's maximum from the table above to each side "
              f"at a fixed rate for {suite.seconds} s on {suite.connections} keep-alive connections (open loop: each request "
              "is timed from when it was due, so a stall is charged to every request it held back; the probe sends on a "
              "50 µs tick, which adds up to 0.05 ms to both sides). The server's share leaves the probe's own lateness "
              "out: it runs from the probe's first wakeup after a request was due (so waiting for a free connection "
              "still counts) to when the kernel received the answer (a receive timestamp, so a probe late to read does "
              "not count). Medians of the rounds. The note gives the probe's "
              "longest stall between two wakeups in any round (Sluice's runs / the peer's): a tail about that long is "
              "the machine's, not the server's; a run in which the probe stalled more than "
              f"{STALL_RETRY_MS} ms is run again like one with steal, either side alike. Non-2xx and unanswered counts "
              "are the worst round's.", "",
              "| scenario | offered req/s | Sluice p50 / p99 / p99.9 ms | server's share p50 / p99 / p99.9 ms | peer | "
              "peer p50 / p99 / p99.9 ms | server's share p50 / p99 / p99.9 ms | note |",
              "|---|---:|---:|---:|---|---:|---:|---|"]
    for row in suite.latency_rows:
        s, n = row["sluice"], row["nginx"]
        notes = [f"{side} {r['non2xx']:,.0f} non-2xx, {r['unanswered']:,.0f} unanswered"
                 for side, r in (("Sluice", s), ("peer", n)) if r["non2xx"] or r["unanswered"]]
        notes.append(f"probe stalled up to {s['probeStall']:.1f} / {n['probeStall']:.1f} ms; "
                     f"steal up to {s['steal']:.0f}% / {n['steal']:.0f}%")
        lines.append(f"| {row['scenario']} | {row['rate']:,} | {percentiles(s)} | {percentiles(s, 'server')} | "
                     f"{row['peer']} | {percentiles(n)} | {percentiles(n, 'server')} | {'; '.join(notes)} |")
    lines += ["", "| memory (RSS) | Sluice MiB | nginx MiB |", "|---|---:|---:|"]
    for row in suite.memory_rows:
        lines.append(f"| {row['scenario']} | {row['sluice'] / 1024:.1f} | {row['nginx'] / 1024:.1f} |")
    lines += ["", "![Sluice and nginx, requests per second](results.png)", ""]
    soak = RESULTS.read_text().split("<!-- soak -->", 1)[1] if RESULTS.exists() and "<!-- soak -->" in RESULTS.read_text() else "\n"
    RESULTS.write_text("\n".join(lines) + "\n<!-- soak -->" + soak)
    subprocess.run(["python3", str(Path(__file__).with_name("chart.py")), str(CHART)],
                   input=json.dumps(suite.rows), text=True, check=True)
    print(f"wrote {RESULTS.relative_to(harness.ROOT)} and {CHART.relative_to(harness.ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="per wrk run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per side per scenario (default 3)")
    parser.add_argument("--workers", type=int, default=1, help="Sluice loops = nginx workers (default 1)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    options = parser.parse_args()
    started = datetime.datetime.now(datetime.timezone.utc)
    suite = Suite(options.seconds, options.rounds, options.workers, options.connections)
    print(f"machine: {harness.machine()}; work files in {WORK}", flush=True)
    suite.throughput()
    suite.latency_at_half_load()
    suite.memory()
    command = (f"Benchmarks/run --seconds {options.seconds} --rounds {options.rounds} "
               f"--workers {options.workers} --connections {options.connections}")
    write_results(suite, command, started)


if __name__ == "__main__":
    main()
