#!/usr/bin/env bash
# Measures what a connector's tunnel costs: the same gateway, in one run, serves one app directly
# (upstream: http://127.0.0.1:PORT) and the same nginx through a connector (connector: bench), and
# wrk drives both the same way:
#
#   latency     one connection, one request at a time, 1 KiB   -> the tunnel's added latency
#   h1          8 keep-alive connections, 1 KiB                 -> requests per second
#   bulk        2 connections fetching 10 MiB                    -> throughput
#
#   bench/tunnel.sh              each load 10 s (about 2 minutes in all)
#   bench/tunnel.sh --quick      each load 4 s
#
# Loopback only; every load is bounded in time. The gateway, the connector and nginx share the
# machine's cores with wrk, so the figures compare the two paths with each other, not with other
# machines. Results go to bench/out/tunnel-STAMP.txt; docs/benchmarks.md says what they mean.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
dur=${BENCH_DURATION:-10}
[ "${1:-}" = "--quick" ] && dur=4
warm=${BENCH_WARMUP:-20}
h1_conns=${BENCH_H1_CONNECTIONS:-8}
bulk_conns=${BENCH_BULK_CONNECTIONS:-2}
java_opts=${BENCH_JAVA_OPTS:--Xms512m -Xmx512m -XX:+UseG1GC}
host=bench.pep.localhost
tunnel_host=tunnel.pep.localhost

out="$repo/bench/out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d "${TMPDIR:-/tmp}/pep-tunnel-bench.XXXXXX")
report="$out/tunnel-$stamp.txt"
mkdir -p "$out" "$work/www" "$work/logs" "$work/tmp"
chmod 755 "$work" "$work/www"   # nginx workers drop root and must read the files

say() { printf '%s [tunnel-bench] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '%s [tunnel-bench] FAILED: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; exit 1; }

for c in wrk nginx java curl python3; do
    command -v "$c" >/dev/null || die "$c is needed (apt-get install wrk nginx)"
done
[ -f "$repo/pep-proxy/target/pep.jar" ] || die "build first: mvn -B -q -DskipTests package"

pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- the app: nginx serving static files ---------------------------------------------------------
head -c 1024 /dev/urandom > "$work/www/small"
head -c $((10 * 1024 * 1024)) /dev/urandom > "$work/www/bulk"
chmod 644 "$work/www/small" "$work/www/bulk"
app_port=$(free_port)
cat > "$work/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/logs/nginx.error.log warn;
events { worker_connections 4096; }
http {
    access_log off; sendfile on; tcp_nopush on;
    keepalive_requests 1000000; keepalive_timeout 120s;
    types { } default_type application/octet-stream;
    client_body_temp_path $work/tmp/b; proxy_temp_path $work/tmp/p; fastcgi_temp_path $work/tmp/f;
    uwsgi_temp_path $work/tmp/u; scgi_temp_path $work/tmp/s;
    server { listen 127.0.0.1:$app_port; root $work/www; }
}
EOF
nginx -p "$work" -c "$work/nginx.conf" > "$work/logs/nginx.out" 2>&1 &
pids+=($!)

# ---- the gateway: one app direct, one through the connector ---------------------------------------
echo "bench bench-admin-token-0123456789abcdef0123456789" > "$work/admin-tokens"
cat > "$work/gateway.yaml" <<EOF
instance: tunnel-bench
listener: { address: 127.0.0.1, port: 0 }
tls:
  development-ca: { directory: dev-ca }
admin: { address: 127.0.0.1, port: 0, token-file: admin-tokens }
connectors: { address: 127.0.0.1, port: 0, state-directory: connectors }
audit: { directory: audit }
apps:
  direct:
    hosts: [$host]
    upstream: http://127.0.0.1:$app_port
    access: public
    max-connections: 256
  tunnel:
    hosts: [$tunnel_host]
    upstream: connector:bench
    access: public
EOF
say "starting the gateway"
PEP_JAVA_OPTS="$java_opts" "$repo/pep" serve --config "$work/gateway.yaml" > "$work/logs/gateway.out" 2> "$work/logs/gateway.err" &
pids+=($!)
for _ in $(seq 300); do grep -q "gateway started" "$work/logs/gateway.err" && break; sleep 0.2; done
grep -q "gateway started" "$work/logs/gateway.err" || die "gateway did not start: $(tail -5 "$work/logs/gateway.err")"
gw_port=$(grep -o 'gateway started listener=[^ ]*' "$work/logs/gateway.err" | grep -o '[0-9]*$')
cn_port=$(grep -o 'connector listener started address=[^ ]*' "$work/logs/gateway.err" | grep -o '[0-9]*$')

"$repo/pep" connector token create --config "$work/gateway.yaml" --name bench --app tunnel > "$work/token"
cat > "$work/connector.yaml" <<EOF
name: bench
gateways: [ { address: 127.0.0.1:$cn_port } ]
gateway-ca: connectors/ca.pem
enrolment-token-file: token
state-directory: connector-state
apps:
  tunnel: { address: 127.0.0.1:$app_port }
EOF
say "starting the connector"
PEP_JAVA_OPTS="$java_opts" "$repo/pep" connector --config "$work/connector.yaml" > "$work/logs/connector.out" 2> "$work/logs/connector.err" &
pids+=($!)
for _ in $(seq 300); do grep -q "tunnel up" "$work/logs/connector.err" && break; sleep 0.2; done
grep -q "tunnel up" "$work/logs/connector.err" || die "connector did not connect: $(tail -5 "$work/logs/connector.err")"

# wrk resolves the app names through a private /etc/hosts (a mount namespace of its own), so it
# sends the right SNI and Host without touching the machine's resolver.
printf '127.0.0.1 localhost %s %s\n' "$host" "$tunnel_host" > "$work/hosts"
lg() { # seconds command... : runs it with the private hosts file, killed if it overruns
    local limit=$1; shift
    timeout --kill-after=5 "$limit" unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$work/hosts" "$@"
}
for h in "$host" "$tunnel_host"; do
    code=$(curl -s --cacert "$work/dev-ca/ca.pem" --resolve "$h:$gw_port:127.0.0.1" -o "$work/check.out" \
        -w '%{http_code}' "https://$h:$gw_port/small")
    [ "$code" = 200 ] || die "$h: GET /small answered $code: $(head -c 300 "$work/check.out")"
done

run_wrk() { # app threads connections seconds path -> wrk output
    local h
    h=$([ "$1" = direct ] && echo "$host" || echo "$tunnel_host")
    lg "$(($4 + 30))" wrk --latency -t "$2" -c "$3" -d "${4}s" "https://$h:$gw_port$5" 2>&1
}

say "warming up for ${warm}s"
run_wrk direct 2 8 $((warm / 2)) /small > /dev/null
run_wrk tunnel 2 8 $((warm / 2)) /small > /dev/null

line() { # label app output
    local rps p50 p99 tr
    rps=$(awk '/Requests\/sec/ {print $2}' <<< "$3")
    p50=$(awk '$1=="50%" {print $2}' <<< "$3")
    p99=$(awk '$1=="99%" {print $2}' <<< "$3")
    tr=$(awk '/Transfer\/sec/ {print $2}' <<< "$3")
    errs=$(grep -Eo 'Non-2xx or 3xx responses: [0-9]+|Socket errors: .*' <<< "$3" | tr '\n' ' ' || true)
    printf '%-8s %-7s %10s req/s  p50 %8s  p99 %8s  %10s/s  %s\n' "$1" "$2" "$rps" "$p50" "$p99" "$tr" "$errs"
}

{
    echo "pep connector tunnel vs direct upstream, $(date -u +%Y-%m-%dT%H:%M:%SZ), ${dur}s per load, $(nproc) cores"
    echo "gateway $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown); app: nginx static files on loopback"
    echo
    for test in latency h1 bulk; do
        for app in direct tunnel; do
            case "$test" in
                latency) o=$(run_wrk "$app" 1 1 "$dur" /small) ;;
                h1) o=$(run_wrk "$app" 2 "$h1_conns" "$dur" /small) ;;
                bulk) o=$(run_wrk "$app" 1 "$bulk_conns" "$dur" /bulk) ;;
            esac
            line "$test" "$app" "$o"
        done
    done
} | tee "$report"
say "report: $report"
