#!/bin/sh
# `make bench`: wrk against Portico and, side by side in the same run,
# Debian's nginx with the equivalent config and the same worker count.
# Reports requests/s, p99 latency and requests per CPU-second of all server
# processes, and the Portico/nginx ratios. Loopback only; bounded runs.
#   BENCH_SECONDS (default 5), BENCH_CONNS (50), BENCH_WORKERS (1),
#   BENCH_ROUNDS (3: each figure is the median of that many alternating runs)
set -eu
cd "$(dirname "$0")/.."
PTC_DEPS_EXTRA="wrk nginx-light" sh scripts/install-deps.sh

secs=${BENCH_SECONDS:-5}
conns=${BENCH_CONNS:-50}
workers=${BENCH_WORKERS:-1}
rounds=${BENCH_ROUNDS:-3}
dir=$(mktemp -d)
trap 'kill $(cat "$dir"/logs/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$dir"' EXIT
mkdir -p "$dir/conf" "$dir/logs" "$dir/html"
head -c 100 /dev/zero | tr '\0' 'a' >"$dir/html/100b.txt"
head -c 16384 /dev/zero | tr '\0' 'b' >"$dir/html/16k.txt"

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
user=""
[ "$(id -u)" = 0 ] && user="user root;"
# The origin both proxies talk to: a separate nginx serving the same files.
port_origin=$(free_port)
cat >"$dir/conf/origin.conf" <<CONF
daemon off; master_process on; worker_processes 1; $user
error_log logs/origin-error.log error; pid logs/origin.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000;
    server { listen 127.0.0.1:$port_origin; root html; }
}
CONF
for name in portico nginx; do
    port=$(free_port)
    eval "port_$name=$port"
    cat >"$dir/conf/$name.conf" <<CONF
daemon off; master_process on; worker_processes $workers; $user
error_log logs/$name-error.log error; pid logs/$name.pid;
events { worker_connections 4096; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$port;
        root html;
        location = /ret { return 200 "hello"; }
        location /up/ {
            proxy_pass http://origin/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    upstream origin { server 127.0.0.1:$port_origin; keepalive 64; }
}
CONF
done
nginx -p "$dir/" -c conf/origin.conf -e logs/origin-startup.log &
./objs/portico -p "$dir/" -c conf/portico.conf &
nginx -p "$dir/" -c conf/nginx.conf -e logs/nginx-startup.log &
for name in portico nginx origin; do
    i=0
    while [ ! -s "$dir/logs/$name.pid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
done

# CPU ticks (user+system) of a master and its children
cpu_ticks() {
    master=$(cat "$dir/logs/$1.pid")
    pids="$master $(ps -o pid= --ppid "$master" | tr '\n' ' ')"
    t=0
    for p in $pids; do
        v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$((t + v))
    done
    echo "$t"
}

hz=$(getconf CLK_TCK)
printf '%-28s %-8s %12s %10s %14s\n' case server req/s p99 req/CPU-s
# one wrk run against one server: prints "req/s p99 requests cpu-seconds"
measure() { # name path extra-wrk-args
    name=$1
    path=$2
    shift 2
    eval "port=\$port_$name"
    before=$(cpu_ticks "$name")
    out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" "http://127.0.0.1:$port$path" 2>&1)
    after=$(cpu_ticks "$name")
    rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}')
    total=$(printf '%s\n' "$out" | awk '/requests in/ {print $1}')
    p99=$(printf '%s\n' "$out" | awk '$1 == "99%" {print $2}')
    cpu=$(awk -v a="$after" -v b="$before" -v hz="$hz" 'BEGIN {printf "%.3f", (a - b) / hz}')
    echo "$rps $p99 $total $cpu"
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# Each case runs BENCH_ROUNDS times, the two servers alternating which goes
# first; the figures are medians (this machine is shared and noisy).
run_case() { # label path extra-wrk-args
    label=$1
    path=$2
    shift 2
    : >"$dir/p.txt"
    : >"$dir/n.txt"
    r=0
    while [ $r -lt "$rounds" ]; do
        if [ $((r % 2)) = 0 ]; then order="portico nginx"; else order="nginx portico"; fi
        for name in $order; do
            m=$(measure "$name" "$path" "$@")
            if [ "$name" = portico ]; then echo "$m" >>"$dir/p.txt"; else echo "$m" >>"$dir/n.txt"; fi
        done
        r=$((r + 1))
    done
    for name in portico nginx; do
        f="$dir/$(printf '%s' "$name" | cut -c1).txt"
        rps=$(awk '{print $1}' "$f" | median)
        p99=$(awk '{print $2}' "$f" | sort | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
        per=$(awk '$4 > 0 {print $3 / $4}' "$f" | median)
        printf '%-28s %-8s %12.0f %10s %14.0f\n' "$label" "$name" "$rps" "$p99" "$per"
        eval "rps_$name=$rps; per_$name=$per"
    done
    awk -v a="$rps_portico" -v b="$rps_nginx" -v c="$per_portico" -v d="$per_nginx" -v l="$label" \
        'BEGIN {printf "%-28s ratio    %12.2f %10s %14.2f\n", l, a / b, "", (d > 0 ? c / d : 0)}'
}

run_case "return 5B keep-alive" /ret
run_case "file 100B keep-alive" /100b.txt
run_case "file 16KiB keep-alive" /16k.txt
run_case "file 100B close" /100b.txt -H "Connection: close"
run_case "file 16KiB close" /16k.txt -H "Connection: close"
run_case "proxy 100B keep-alive" /up/100b.txt
run_case "proxy 16KiB keep-alive" /up/16k.txt
run_case "proxy 100B close" /up/100b.txt -H "Connection: close"
run_case "proxy 16KiB close" /up/16k.txt -H "Connection: close"
echo "ratios are portico/nginx (higher is better for Portico); medians of $rounds rounds;" \
    "$workers worker(s), $conns connections"
