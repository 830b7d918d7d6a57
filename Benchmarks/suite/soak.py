"""The soak: Sluice on Redis at ~70% of its measured maximum for a long run, Redis restarted in the
middle, resident memory and open descriptors sampled every 10 s. Writes the soak section of
Benchmarks/RESULTS.md. Run through Benchmarks/soak."""

import argparse
import datetime
import json
import re
import subprocess
import time
import urllib.request

import harness

RESULTS = harness.ROOT / "Benchmarks" / "RESULTS.md"
MARKER = "<!-- soak -->"


def metric(admin: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10, help="length of the loaded run (default 10)")
    parser.add_argument("--load", type=float, default=0.7, help="share of the measured maximum (default 0.7)")
    parser.add_argument("--loops", type=int, default=1, help="Sluice event loops (default 1)")
    options = parser.parse_args()
    started = datetime.datetime.now(datetime.timezone.utc)

    redis, redis_port = harness.start_redis()
    config = harness.write_json("soak.json", json.dumps({
        "store": f"redis://127.0.0.1:{redis_port}", "onStoreFailure": "local", "storeBudget": "50ms",
        "rules": [{"name": "soak", "key": "ip", "algorithm": "fixed-window", "limit": 1_000_000_000, "window": "1h"}],
    }))
    sluice, port, admin = harness.start_sluice(["--config", config], options.loops, "soak-sluice.log")
    time.sleep(0.5)
    url = f"http://127.0.0.1:{port}/"
    maximum = harness.wrk(url, 5, 64)["rps"]
    rate = maximum * options.load
    connections = max(1, round(rate * 10 / 1000))  # a 10 ms pause per request on each connection
    print(f"maximum {maximum:,.0f}/s; soaking at {rate:,.0f}/s offered for {options.minutes} min", flush=True)
    fds_before = harness.open_fds(sluice.pid)

    seconds = int(options.minutes * 60)
    load = subprocess.Popen(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s",
         "-s", harness.paced_script(), url, "--", "10"], stdout=subprocess.PIPE, text=True)
    samples = []
    begin = time.monotonic()
    restarted = None
    while load.poll() is None:
        elapsed = time.monotonic() - begin
        samples.append((elapsed, harness.rss_kib([sluice.pid]), harness.open_fds(sluice.pid)))
        print(f"  {elapsed:5.0f} s  RSS {samples[-1][1] / 1024:7.1f} MiB  fds {samples[-1][2]}", flush=True)
        if restarted is None and elapsed >= seconds / 2:
            harness.stop(redis)
            time.sleep(5)
            redis, _ = harness.start_redis(redis_port)
            restarted = elapsed
            print(f"  Redis stopped at {elapsed:.0f} s and back 5 s later", flush=True)
        time.sleep(max(0.0, 10 - (time.monotonic() - begin - elapsed)))
    output = load.stdout.read()
    time.sleep(1)
    fds_after = harness.open_fds(sluice.pid)
    degraded = metric(admin, "sluice_degraded_decisions_total")
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    p99 = re.search(r"^\s*99%\s+(\S+)", output, re.M)
    harness.stop(sluice)

    warm = [rss for elapsed, rss, _ in samples if elapsed >= 60] or [rss for _, rss, _ in samples]
    spread = (max(warm) - min(warm)) / min(warm)
    verdicts = [
        ("RSS flat within 10% after the first minute", spread <= 0.10, f"{min(warm) / 1024:.1f}–{max(warm) / 1024:.1f} MiB "
                                                                        f"({spread:.1%})"),
        ("no descriptor leak", fds_after <= fds_before, f"{fds_before} open before the load, {fds_after} after"),
        ("no errors beyond the store-failure policy (local: every request answered 200)",
         not (non2xx and int(non2xx.group(1))) and not (errors and sum(map(int, errors.groups()))),
         f"{requests:,} requests, non-2xx {non2xx.group(1) if non2xx else 0}, socket errors "
         f"{sum(map(int, errors.groups())) if errors else 0}; {degraded:,.0f} decided locally while Redis was away"),
    ]
    lines = [
        MARKER,
        "## Soak",
        "",
        f"Written by `Benchmarks/soak --minutes {options.minutes:g} --load {options.load:g} --loops {options.loops}` "
        f"on {started:%Y-%m-%d %H:%M} UTC; machine: {harness.machine()}.",
        f"Sluice on one Redis (fixed window, `onStoreFailure: local`, budget 50 ms); maximum {maximum:,.0f}/s, "
        f"offered {rate:,.0f}/s for {options.minutes:g} min (achieved {requests / seconds:,.0f}/s: wrk paces each "
        f"connection with a 10 ms pause after its answer); Redis stopped at {restarted or 0:.0f} s and started "
        f"again 5 s later; p99 over the whole run {p99.group(1) if p99 else '?'}.",
        "",
        "| check | holds | figures |",
        "|---|---|---|",
        *[f"| {name} | {'yes' if ok else '**no**'} | {figures} |" for name, ok, figures in verdicts],
        "",
        "| t (s) | RSS (MiB) | open fds |",
        "|---:|---:|---:|",
        *[f"| {elapsed:.0f} | {rss / 1024:.1f} | {fds} |" for elapsed, rss, fds in samples[::3]],
        "",
    ]
    head = RESULTS.read_text().split(MARKER, 1)[0] if RESULTS.exists() else "# Benchmark results\n\n"
    RESULTS.write_text(head + "\n".join(lines))
    for name, ok, figures in verdicts:
        print(f"{'ok ' if ok else 'NO '} {name}: {figures}")
    print(f"wrote the soak section of {RESULTS.relative_to(harness.ROOT)}")


if __name__ == "__main__":
    main()
