#!/bin/sh
# `make bench`: wrk against Portico and, side by side in the same run,
# Debian's nginx with the equivalent config and the same worker count.
# Reports requests/s, p99 latency and requests per CPU-second of all server
# processes, and the Portico/nginx ratios. Loopback only; bounded runs.
# TLS cases (ECDSA P-256, same certificate for both, session cache and tickets
# off so that every "close" request is a full handshake) run against separate
# TLS instances: if one of them does not start, its cases are reported as
# "not running" and the rest of the bench goes on.
#   BENCH_SECONDS (default 5), BENCH_CONNS (50), BENCH_WORKERS (1),
#   BENCH_ROUNDS (3: each figure is the median of that many alternating runs),
#   BENCH_TLS (1; 0 skips the TLS cases), BENCH_ONLY (a substring: run only the
#   cases whose label contains it, e.g. BENCH_ONLY=TLS)
set -eu
cd "$(dirname "$0")/.."
PTC_DEPS_EXTRA="wrk nginx-light" sh scripts/install-deps.sh

secs=${BENCH_SECONDS:-5}
conns=${BENCH_CONNS:-50}
workers=${BENCH_WORKERS:-1}
rounds=${BENCH_ROUNDS:-3}
tls=${BENCH_TLS:-1}
only=${BENCH_ONLY:-}
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
# The TLS instances: one server per protocol version on its own port, so a
# TLS 1.2 client and a TLS 1.3 client meet the same certificate and settings.
tls_server() { # port protocols: one HTTPS server block
    printf '    server {\n        listen 127.0.0.1:%s ssl;\n' "$1"
    printf '        ssl_certificate bench.pem; ssl_certificate_key bench.key;\n'
    printf '        ssl_protocols %s;\n' "$2"
    printf '        ssl_session_cache off; ssl_session_tickets off;\n'
    printf '        root html;\n    }\n'
}
if [ "$tls" = 1 ]; then
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=bench.test -keyout "$dir/conf/bench.key" -out "$dir/conf/bench.pem" \
        2>/dev/null
    for name in portico nginx; do
        p13=$(free_port)
        p12=$(free_port)
        eval "port13_$name=$p13; port12_$name=$p12"
        {
            echo "daemon off; master_process on; worker_processes $workers; $user"
            echo "error_log logs/$name-tls-error.log error; pid logs/$name-tls.pid;"
            echo "events { worker_connections 4096; }"
            echo "http {"
            echo "    access_log off;"
            tls_server "$p13" TLSv1.3
            tls_server "$p12" TLSv1.2
            echo "}"
        } >"$dir/conf/$name-tls.conf"
    done
fi

nginx -p "$dir/" -c conf/origin.conf -e logs/origin-startup.log &
./objs/portico -p "$dir/" -c conf/portico.conf &
nginx -p "$dir/" -c conf/nginx.conf -e logs/nginx-startup.log &
if [ "$tls" = 1 ]; then
    ./objs/portico -p "$dir/" -c conf/portico-tls.conf 2>"$dir/logs/portico-tls-startup.log" &
    nginx -p "$dir/" -c conf/nginx-tls.conf -e logs/nginx-tls-startup.log &
fi
# running NAME: true once logs/NAME.pid names a live process (waits up to 5 s)
running() {
    i=0
    while [ $i -lt 100 ]; do
        if [ -s "$dir/logs/$1.pid" ] && kill -0 "$(cat "$dir/logs/$1.pid")" 2>/dev/null; then
            return 0
        fi
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}
for name in portico nginx origin; do
    running "$name" || { echo "bench: $name did not start" >&2; exit 1; }
done
tls_up=""
if [ "$tls" = 1 ]; then
    for name in portico nginx; do
        if running "$name-tls"; then
            tls_up="$tls_up $name"
        else
            echo "bench: the $name TLS instance did not start; its TLS cases are skipped:" >&2
            cat "$dir/logs/$name-tls-startup.log" "$dir/logs/$name-tls-error.log" 2>/dev/null |
                tail -n 3 >&2
        fi
    done
fi

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
# Cases run against one kind of listener: "" (plain HTTP, the main instances),
# "13" or "12" (HTTPS with that TLS version, the -tls instances).
kind=""
# one wrk run against one server: prints "req/s p99 requests cpu-seconds"
measure() { # name path extra-wrk-args
    name=$1
    path=$2
    shift 2
    if [ -z "$kind" ]; then
        eval "port=\$port_$name"
        url="http://127.0.0.1:$port$path"
        inst=$name
    else
        eval "port=\$port${kind}_$name"
        url="https://127.0.0.1:$port$path"
        inst=$name-tls
    fi
    before=$(cpu_ticks "$inst")
    out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" "$url" 2>&1)
    after=$(cpu_ticks "$inst")
    rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}')
    total=$(printf '%s\n' "$out" | awk '/requests in/ {print $1}')
    p99=$(printf '%s\n' "$out" | awk '$1 == "99%" {print $2}')
    # a run where most requests failed (e.g. handshakes refused) counts as nothing
    errs=$(printf '%s\n' "$out" | awk '/Socket errors|Non-2xx/ {
        for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i } END {print n + 0}')
    if [ -z "$rps" ] || [ "${total:-0}" -le "$errs" ]; then
        rps=0
        total=0
        p99=-
    fi
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
    case "$label" in *"$only"*) ;; *) return 0 ;; esac
    servers="portico nginx"
    [ -n "$kind" ] && servers=$tls_up
    : >"$dir/p.txt"
    : >"$dir/n.txt"
    r=0
    while [ $r -lt "$rounds" ]; do
        if [ $((r % 2)) = 0 ]; then order="portico nginx"; else order="nginx portico"; fi
        for name in $order; do
            case " $servers " in *" $name "*) ;; *) continue ;; esac
            m=$(measure "$name" "$path" "$@")
            if [ "$name" = portico ]; then echo "$m" >>"$dir/p.txt"; else echo "$m" >>"$dir/n.txt"; fi
        done
        r=$((r + 1))
    done
    for name in portico nginx; do
        f="$dir/$(printf '%s' "$name" | cut -c1).txt"
        if [ ! -s "$f" ]; then
            printf '%-28s %-8s %12s\n' "$label" "$name" "not running"
            eval "rps_$name=0; per_$name=0"
            continue
        fi
        rps=$(awk '{print $1}' "$f" | median)
        p99=$(awk '{print $2}' "$f" | sort | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
        per=$(awk '$4 > 0 {print $3 / $4}' "$f" | median)
        printf '%-28s %-8s %12.0f %10s %14.0f\n' "$label" "$name" "$rps" "$p99" "$per"
        eval "rps_$name=$rps; per_$name=$per"
    done
    awk -v a="$rps_portico" -v b="$rps_nginx" -v c="$per_portico" -v d="$per_nginx" -v l="$label" \
        'BEGIN {
            if (a > 0 && b > 0)
                printf "%-28s ratio    %12.2f %10s %14.2f\n", l, a / b, "", (d > 0 ? c / d : 0)
            else
                printf "%-28s ratio    %12s\n", l, "n/a"
        }'
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
if [ "$tls" = 1 ]; then
    # every request a new connection and a full ECDSA P-256 handshake
    kind=13
    run_case "TLS1.3 handshake (close)" /100b.txt -H "Connection: close"
    kind=12
    run_case "TLS1.2 handshake (close)" /100b.txt -H "Connection: close"
    kind=13
    run_case "TLS1.3 file 100B keep-alive" /100b.txt
    run_case "TLS1.3 file 16KiB keep-alive" /16k.txt
    kind=""
fi
echo "ratios are portico/nginx (higher is better for Portico); medians of $rounds rounds;" \
    "$workers worker(s), $conns connections"
