"""What the benchmark suite and the soak share: processes on free loopback ports that are always
stopped, wrk runs parsed into numbers, nginx and Redis set up the same way every time, and
process memory read from /proc."""

import atexit
import json
import os
import re
import resource
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SLUICE = ROOT / ".build" / "release" / "sluice"
LIMITER_BENCHMARK = ROOT / ".build" / "release" / "LimiterBenchmark"
LATENCY_PROBE = ROOT / ".build" / "release" / "LatencyProbe"
WORK = Path(tempfile.mkdtemp(prefix="sluice-bench-"))
NGINX = next((p for p in ("/usr/sbin/nginx", "/usr/bin/nginx") if os.path.exists(p)), "nginx")

_running: list[subprocess.Popen] = []


def _stop_all() -> None:
    for process in reversed(_running):
        stop(process)


atexit.register(_stop_all)
signal.signal(signal.SIGTERM, lambda *_: exit(1))
# Thousands of connections on both sides; children (Sluice, nginx, wrk) inherit the limit.
_, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))


def free_port(below: int = 65536) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            if s.getsockname()[1] < below:
                return s.getsockname()[1]


def wait_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def start(args: list[str], log: str, port: int | None = None) -> subprocess.Popen:
    """Starts a process with its output in WORK/log; waits for `port` to accept."""
    with open(WORK / log, "ab") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    _running.append(process)
    if port is not None:
        wait_port(port)
    return process


def stop(process: subprocess.Popen) -> None:
    """TERM, then KILL after 5 s (nginx's master takes its workers down on TERM)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process in _running:
        _running.remove(process)


def start_redis(port: int | None = None, extra: list[str] = ()) -> tuple[subprocess.Popen, int]:
    port = port or free_port()
    process = start(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--logfile", "", *extra], f"redis-{port}.log", port)
    return process, port


def start_cluster(primaries: int = 3) -> tuple[list[subprocess.Popen], list[int]]:
    """A cluster of `primaries` primaries and no replicas on free ports, all slots assigned."""
    nodes = []
    for index in range(primaries):
        directory = WORK / f"cluster-{index}"
        directory.mkdir()
        # A cluster node also listens on its port + 10000.
        nodes.append(start_redis(free_port(below=55536), extra=["--cluster-enabled", "yes", "--cluster-config-file",
                                        str(directory / "nodes.conf"), "--dir", str(directory)]))
    ports = [port for _, port in nodes]
    subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports], "--cluster-yes"],
                   check=True, capture_output=True, timeout=60)
    deadline = time.monotonic() + 30
    while b"cluster_state:ok" not in subprocess.run(
            ["redis-cli", "-p", str(ports[0]), "cluster", "info"], capture_output=True).stdout:
        if time.monotonic() > deadline:
            raise RuntimeError("the benchmark cluster never reached cluster_state:ok")
        time.sleep(0.1)
    return [process for process, _ in nodes], ports


def flush_redis(port: int) -> None:
    """Empties the Redis at `port` (its loaded scripts stay)."""
    subprocess.run(["redis-cli", "-p", str(port), "FLUSHALL"], capture_output=True, check=True, timeout=30)


def start_sluice(args: list[str], loops: int, log: str = "sluice.log") -> tuple[subprocess.Popen, int, int]:
    port, admin = free_port(), free_port()
    process = start([str(SLUICE), "--loops", str(loops), "--listen", f"127.0.0.1:{port}",
                     "--admin", f"127.0.0.1:{admin}", *args], log, port)
    return process, port, admin


def write_json(name: str, text: str) -> str:
    path = WORK / name
    path.write_text(text)
    return str(path)


def start_nginx(workers: int, servers: str, zones: str = "", name: str = "nginx") -> subprocess.Popen:
    """nginx with `workers` worker processes; `servers` are its server blocks."""
    directory = WORK / name
    directory.mkdir(exist_ok=True)
    config = directory / "nginx.conf"
    config.write_text(f"""
worker_processes {workers};
worker_rlimit_nofile 65536;
pid {directory}/nginx.pid;
error_log {directory}/error.log crit;
daemon off;
events {{ worker_connections 32768; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    limit_req_log_level info;
    limit_req_status 429;
    client_body_temp_path {directory}; proxy_temp_path {directory}; fastcgi_temp_path {directory};
    uwsgi_temp_path {directory}; scgi_temp_path {directory};
    {zones}
    {servers}
}}
""")
    return start([NGINX, "-c", str(config), "-p", str(directory)], f"{name}.log")


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: int, connections: int, script: str | None = None,
        script_args: list[str] = ()) -> dict:
    """One wrk run (one thread); requests/s, p50/p99 in ms, non-2xx answers, socket errors."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if script:
        args += ["-s", script]
    args.append(url)
    if script_args:
        args += ["--", *script_args]
    output = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        return float(match.group(1)) * UNITS[match.group(2)] if match else float("nan")

    requests = re.search(r"(\d+) requests in", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "requests": int(requests.group(1)) if requests else 0,
        "p50": latency("50%"),
        "p99": latency("99%"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": sum(map(int, errors.groups())) if errors else 0,
        "output": output,
    }


def latency_probe(url: str, rate: int, seconds: int, connections: int) -> dict:
    """One open-loop run at `rate` requests/s: achieved rate, p50/p99/p99.9 in ms, non-2xx, unanswered."""
    output = subprocess.run([str(LATENCY_PROBE), "--url", url, "--rate", str(rate), "--seconds", str(seconds),
                             "--connections", str(connections)], capture_output=True, text=True, check=True,
                            timeout=seconds + 30).stdout
    return json.loads(output)


def paced_script() -> str:
    """A wrk script that waits `args[1]` ms before each request on a connection: an offered rate."""
    return write_json("paced.lua", """
local pause = 0
function init(args) pause = tonumber(args[1]) end
function delay() return pause end
""")


def distinct_keys_script() -> str:
    """A wrk script whose requests carry X-Key client-1, client-2, … client-`args[1]`, then again."""
    return write_json("keys.lua", """
local sent, total = 0, 0
function init(args) total = tonumber(args[1]) end
function request()
  sent = sent + 1
  return wrk.format("GET", "/keys", {["X-Key"] = "client-" .. (sent % total)})
end
""")


def rss_kib(pids: list[int]) -> int:
    """Resident memory of these processes together, in KiB."""
    total = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    return total


def with_children(pid: int) -> list[int]:
    """`pid` and its children (an nginx master and its workers)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return [pid, *children]


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_ticks() -> tuple[int, int]:
    """The machine's steal and total CPU ticks so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return fields[7], sum(fields)


def steal_percent(before: tuple[int, int]) -> float:
    """The share of CPU time the hypervisor took (steal) since `before`, a `cpu_ticks()` reading: on a
    virtual machine, time the host ran something else while this machine's CPUs had work."""
    steal, total = cpu_ticks()
    return 100 * (steal - before[0]) / max(1, total - before[1])


def machine() -> str:
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) // 1024 // 1024
    return f"{os.cpu_count()} cores, {cpu.group(1).strip() if cpu else 'unknown CPU'}, {memory} GiB, " \
           f"{os.uname().sysname} {os.uname().release}"
