#!/usr/bin/env bash
# Sluice beside nginx under wrk, same worker count, loopback only, every run bounded:
#   1. target mode, no limiting            vs nginx `return 200`
#   2. a Redis-backed rule (all pass)      vs nginx `limit_req` (all pass) + empty_gif
# Prints requests/s and p99 for both, and the ratio.
#
#   Benchmarks/http-vs-nginx.sh [seconds per run] [workers] [connections]   (defaults: 10 1 64)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
workers=${2:-1}
connections=${3:-64}

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

swift build -c release --product sluice >/dev/null
work=$(mktemp -d)
pids=()
# TERM first (nginx's master takes its workers down with it; SIGKILL would orphan them).
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.5
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# wrk prints "Requests/sec: N" and, with --latency, a "99%" line.
measure() {
    local output
    output=$(wrk -t1 -c"$connections" -d"${seconds}s" --latency "$1")
    local rps p99
    rps=$(echo "$output" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$output" | awk '$1 == "99%" {print $2}')
    echo "$rps $p99"
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --logfile "" >/dev/null &
pids+=($!)
wait_port "$redis_port"

nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes $workers;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log crit;
daemon off;
events { worker_connections 4096; }
http {
    access_log off;
    limit_req_zone \$binary_remote_addr zone=perip:10m rate=100000000r/s;
    limit_req_log_level info;
    client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
    uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
    server {
        listen 127.0.0.1:$nginx_port;
        location / { return 200 "OK\n"; }
        location /limited { limit_req zone=perip burst=1000000 nodelay; empty_gif; }
    }
}
CONF
"$nginx_bin" -c "$work/nginx/nginx.conf" -p "$work/nginx" &
pids+=($!)
wait_port "$nginx_port"

# Starts sluice with the given flags; sets $sluice_port and $sluice_pid (no subshell, so the
# pid is recorded for cleanup).
start_sluice() {
    local admin
    sluice_port=$(free_port); admin=$(free_port)
    .build/release/sluice --loops "$workers" --listen "127.0.0.1:$sluice_port" --admin "127.0.0.1:$admin" "$@" \
        >"$work/sluice.log" 2>&1 &
    sluice_pid=$!
    pids+=("$sluice_pid")
    wait_port "$sluice_port"
}
stop_sluice() { kill -TERM "$sluice_pid"; wait "$sluice_pid" 2>/dev/null || true; }

echo '{"rules": []}' > "$work/no-rules.json"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); workers $workers, wrk 1 thread, $connections connections, ${seconds}s per run"
printf '%-34s %14s %10s %14s %10s %7s\n' scenario "sluice req/s" "p99" "nginx req/s" "p99" ratio

report() {
    local name=$1 sluice_url=$2 nginx_url=$3
    read -r s_rps s_p99 <<<"$(measure "$sluice_url")"
    read -r n_rps n_p99 <<<"$(measure "$nginx_url")"
    printf '%-34s %14s %10s %14s %10s %7s\n' "$name" "$s_rps" "$s_p99" "$n_rps" "$n_p99" \
        "$(python3 -c "print(f'{$s_rps / $n_rps:.2f}x')")"
}

start_sluice --config "$work/no-rules.json"
report "target mode vs return 200" "http://127.0.0.1:$sluice_port/" "http://127.0.0.1:$nginx_port/"
stop_sluice

start_sluice --store "redis://127.0.0.1:$redis_port" --algorithm fixed-window --limit 1000000000 --window 1h
report "redis fixed window vs limit_req" "http://127.0.0.1:$sluice_port/" "http://127.0.0.1:$nginx_port/limited"
stop_sluice
