#!/usr/bin/env bash
# User-space instructions per request, counted by callgrind: Sluice (one loop) in target mode,
# with an in-memory rule, with a Redis fixed-window rule, and in proxy mode; nginx (one process)
# with `return 200`, with `limit_req` + `empty_gif`, and with `proxy_pass` (both proxies forward
# to one uncounted nginx over keep-alive connections). Unlike requests per second, the count does not move
# with a noisy host, so it shows what a change to the request path saved. The kernel's share
# (socket reads and writes, the same for both servers) is not counted.
#
#   Benchmarks/instructions.sh [seconds]     (default 5 of wrk per scenario, after 2 of warm-up)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
for tool in valgrind wrk nginx redis-server; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
        echo "install $tool: apt-get install -y valgrind wrk nginx-light redis-server" >&2
        exit 1
    }
done
swift build -c release --product sluice >/dev/null
work=$(mktemp -d)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# count NAME URL COMMAND...: runs COMMAND under callgrind with instrumentation off, warms it up,
# counts the instructions of one wrk run, and prints them per request.
count() {
    local name=$1 url=$2
    shift 2
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/$name.out" "$@" \
        >"$work/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 150); do curl -s -o /dev/null "$url" && break; sleep 0.2; done
    wrk -t1 -c16 -d2s "$url" >/dev/null
    callgrind_control -i on "$pid" >/dev/null 2>&1
    callgrind_control -z "$pid" >/dev/null 2>&1
    local requests
    requests=$(wrk -t1 -c16 -d"${seconds}s" "$url" | awk '/requests in/{print $1}')
    callgrind_control -i off "$pid" >/dev/null 2>&1
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local instructions
    instructions=$(awk '/^totals:/{print $2}' "$work/$name.out".1)
    printf '%-40s %9d instructions/request  (%d requests)\n' "$name" $((instructions / requests)) "$requests"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u '+%F %H:%M UTC')"
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --logfile "" >/dev/null &
pids+=($!)
until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.05; done

rule='{"name":"bench","key":"ip","algorithm":"fixed-window","limit":1000000000,"window":"1h"}'
echo '{"rules":[]}' >"$work/target.json"
echo "{\"rules\":[$rule]}" >"$work/memory.json"
echo "{\"store\":\"redis://127.0.0.1:$redis_port\",\"rules\":[$rule]}" >"$work/redis.json"
for scenario in target memory redis; do
    port=$(free_port)
    count "sluice $scenario" "http://127.0.0.1:$port/" .build/release/sluice --loops 1 \
        --listen "127.0.0.1:$port" --admin "127.0.0.1:$(free_port)" --config "$work/$scenario.json"
done

# nginx_config DIR BLOCKS: writes DIR/nginx.conf for one foreground nginx process with BLOCKS
# (zones, upstreams, servers) inside its `http` block; its files stay in DIR.
nginx_config() {
    mkdir -p "$1"
    cat >"$1/nginx.conf" <<EOF
master_process off;
daemon off;
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log crit;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $1; proxy_temp_path $1; fastcgi_temp_path $1; uwsgi_temp_path $1; scgi_temp_path $1;
$2
}
EOF
}

# The upstream of both proxies: an nginx of its own, not counted.
nginx=$(command -v nginx || echo /usr/sbin/nginx)
upstream_port=$(free_port)
nginx_config "$work/upstream" "    server { listen 127.0.0.1:$upstream_port; location / { return 200 \"OK\\n\"; } }"
"$nginx" -p "$work/upstream" -c "$work/upstream/nginx.conf" &
pids+=($!)
port=$(free_port)
count "sluice proxy" "http://127.0.0.1:$port/" .build/release/sluice --loops 1 --listen "127.0.0.1:$port" \
    --admin "127.0.0.1:$(free_port)" --config "$work/target.json" --upstream "http://127.0.0.1:$upstream_port"

port=$(free_port)
nginx_config "$work/nginx" "$(
    cat <<EOF
    limit_req_zone \$binary_remote_addr zone=high:10m rate=100000000r/s;
    upstream up { server 127.0.0.1:$upstream_port; keepalive 64; }
    server {
        listen 127.0.0.1:$port;
        location = / { return 200 "OK\n"; }
        location /allow { limit_req zone=high burst=100000000 nodelay; empty_gif; }
        location /proxy { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
EOF
)"
count "nginx return 200" "http://127.0.0.1:$port/" "$nginx" -p "$work/nginx" -c "$work/nginx/nginx.conf"
count "nginx limit_req + empty_gif" "http://127.0.0.1:$port/allow" "$nginx" -p "$work/nginx" \
    -c "$work/nginx/nginx.conf"
count "nginx proxy_pass (upstream keep-alive)" "http://127.0.0.1:$port/proxy" "$nginx" -p "$work/nginx" \
    -c "$work/nginx/nginx.conf"
