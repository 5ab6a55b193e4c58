#!/usr/bin/env bash
# Benchmarks the gateway side by side with HAProxy and nginx (each terminating TLS with the same
# certificate and TLS settings in front of the same upstream) and with the upstream alone.
#
#   bench/run.sh            full run, about 6 minutes
#   bench/run.sh --quick    shorter loads, about 2 minutes
#   bench/run.sh --only gateway,haproxy     a subset of: direct gateway haproxy nginx
#
# The machine has two cores shared with the load generator, so the primary figure is each server's
# own CPU time per request (utime+stime from /proc/PID/stat, before and after each load, divided by
# the requests completed). The server under test runs on core 1, the load generator and the
# upstream on core 0. Results go to bench/out/ and are printed as a table. docs/benchmarks.md says
# what every figure means. Loopback only; every load is bounded in time.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

quick=0
targets="direct gateway haproxy nginx"
install=1
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --only) shift; targets=$(echo "${1:?--only needs a list}" | tr ',' ' ') ;;
        --no-install) install=0 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
for t in $targets; do
    case "$t" in direct|gateway|haproxy|nginx) ;; *) echo "run.sh: unknown target $t" >&2; exit 2 ;; esac
done

# ---- settings (environment overrides) ----------------------------------------------------------
if [ "$quick" = 1 ]; then
    dur=${BENCH_DURATION:-3}; gw_warm=${BENCH_GATEWAY_WARMUP:-20}; warm_secs=2; idle_n=${BENCH_IDLE_CONNECTIONS:-300}
else
    dur=${BENCH_DURATION:-10}; gw_warm=${BENCH_GATEWAY_WARMUP:-60}; warm_secs=3; idle_n=${BENCH_IDLE_CONNECTIONS:-1000}
fi
h1_conns=${BENCH_H1_CONNECTIONS:-8}         # wrk keep-alive connections
h2_conns=${BENCH_H2_CONNECTIONS:-4}         # h2load connections ...
h2_streams=${BENCH_H2_STREAMS:-10}          # ... each with this many concurrent streams
hs_rate=${BENCH_HANDSHAKE_RATE:-250}       # new TLS connections per second, one request each
bulk_conns=${BENCH_BULK_CONNECTIONS:-2}     # wrk connections fetching the 10 MiB file
lg_cpu=${BENCH_LOADGEN_CPU:-0}
proxy_cpu=${BENCH_PROXY_CPU:-1}
upstream_cpu=${BENCH_UPSTREAM_CPU:-0}
nice_level=${BENCH_NICE:--10}                # servers and load generator run at this priority
java_opts=${BENCH_JAVA_OPTS:--Xms512m -Xmx512m -XX:+UseG1GC -XX:+AlwaysPreTouch}
port_base=${BENCH_PORT_BASE:-18400}
upstream_port=$((port_base + 80)); upstream_h2c_port=$((port_base + 81))
gateway_port=$((port_base + 43)); gateway_admin_port=$((port_base + 90))
haproxy_port=$((port_base + 44)); nginx_port=$((port_base + 45))
host=bench.pep.localhost
small_size=1024
bulk_size=$((10 * 1024 * 1024))
# The same TLS settings for all three: Mozilla "intermediate" as the gateway implements it
# (TLS 1.3 + TLS 1.2 ECDHE AEAD suites; no DHE), and BoringSSL's default groups.
tls12_ciphers="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
tls13_suites="TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
tls_groups="X25519:P-256:P-384"

out="$repo/bench/out"
work="$out/work"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results_tsv="$out/results-$stamp.tsv"
report="$out/report-$stamp.txt"
clk_tck=$(getconf CLK_TCK)
started_at=$(date +%s)

say() { printf '%s [bench] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '\n%s [bench] FAILED: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; exit 1; }

# ---- tools ---------------------------------------------------------------------------------------
ensure_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v h2load >/dev/null || missing+=(nghttp2-client)
    command -v haproxy >/dev/null || missing+=(haproxy)
    command -v nginx >/dev/null || missing+=(nginx)
    if [ ${#missing[@]} -gt 0 ]; then
        [ "$install" = 1 ] || die "missing: ${missing[*]} (run without --no-install)"
        say "installing ${missing[*]}"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    fi
    for c in openssl curl python3 java jcmd taskset unshare ss; do
        command -v "$c" >/dev/null || die "$c is needed"
    done
    [ -f "$repo/pep-proxy/target/pep.jar" ] \
        || die "pep-proxy/target/pep.jar not found; build it: mvn -B -q -DskipTests package"
    [ "$(nproc)" -ge 2 ] || die "needs two cores (load generator and server on separate cores)"
}

# ---- processes -----------------------------------------------------------------------------------
pids_to_stop=()
cleanup() {
    local p
    for p in "${pids_to_stop[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${pids_to_stop[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {
    local p=$1 keep=() q
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    for q in "${pids_to_stop[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
    pids_to_stop=("${keep[@]}")
}

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

wait_port() {
    local port=$1 pid=$2 name=$3
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || die "$name exited while starting (see $work/logs/)"
        ! port_free "$port" && return 0
        sleep 0.1
    done
    die "$name did not listen on $port within 30 s"
}

# The whole process, or for nginx the master and its workers.
server_pids() {
    local pid=$1
    echo "$pid"
    pgrep -P "$pid" 2>/dev/null || true
}

cpu_ticks() {
    local total=0 p t
    for p in $1; do
        t=$(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}') || die "pid $p gone"
        total=$((total + t))
    done
    echo "$total"
}

# CPU time of the JVM's JIT compiler threads: still high means the gateway is not warm yet.
jit_ticks() {
    local total=0 t v
    for t in /proc/"$1"/task/*; do
        case "$(cat "$t/comm" 2>/dev/null)" in
            C1\ Compiler*|C2\ Compiler*)
                v=$(sed 's/^.*) //' "$t/stat" 2>/dev/null | awk '{print $12 + $13}') || continue
                total=$((total + ${v:-0})) ;;
        esac
    done
    echo "$total"
}

# Busy and steal jiffies of one core (everything but idle and iowait), for the noise estimate.
core_busy() {
    awk -v c="cpu$1" '$1 == c {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat
}

# Load generators run on their core with a private /etc/hosts that names the bench host, so the
# right SNI is sent without touching the machine's resolver.
lg() {
    timeout --kill-after=5 "$((dur + gw_warm + 60))" nice -n "$nice_level" taskset -c "$lg_cpu" \
        unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$work/hosts" "$@"
}

# ---- setup ---------------------------------------------------------------------------------------
render() {
    sed -e "s|@WORK@|$work|g" -e "s|@UPSTREAM_PORT@|$upstream_port|g" \
        -e "s|@UPSTREAM_H2C_PORT@|$upstream_h2c_port|g" -e "s|@GATEWAY_PORT@|$gateway_port|g" \
        -e "s|@GATEWAY_ADMIN_PORT@|$gateway_admin_port|g" -e "s|@HAPROXY_PORT@|$haproxy_port|g" \
        -e "s|@NGINX_PORT@|$nginx_port|g" -e "s|@TLS12_CIPHERS@|$tls12_ciphers|g" \
        -e "s|@TLS13_SUITES@|$tls13_suites|g" -e "s|@GROUPS@|$tls_groups|g" "$1" > "$2"
    if grep -q '@[A-Z0-9_]*@' "$2"; then die "unreplaced placeholder in $2"; fi
}

make_pki() {
    local d="$out/pki"
    if [ -f "$d/server.chain.pem" ] && [ -f "$d/server.key" ] && [ -f "$d/ca.pem" ]; then
        return 0
    fi
    say "making a local CA and an ECDSA P-256 certificate for $host"
    mkdir -p "$d"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$d/ca.key" -sha256 -days 3650 -subj "/CN=pep bench CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$d/ca.pem" 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/server.key" 2>/dev/null
    openssl req -new -key "$d/server.key" -subj "/CN=$host" -out "$d/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
        "$host" > "$d/server.ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
        -days 825 -sha256 -extfile "$d/server.ext" -out "$d/server.chain.pem" 2>/dev/null
    cat "$d/server.chain.pem" "$d/server.key" > "$d/server.combined.pem"
    chmod 600 "$d"/*.key "$d/server.combined.pem"
}

setup_work() {
    rm -rf "$work"
    mkdir -p "$work/logs" "$work/tmp" "$work/www" "$work/conf"
    ln -s "$out/pki" "$work/pki"
    head -c "$small_size" /dev/urandom > "$work/www/1k"
    head -c "$bulk_size" /dev/urandom > "$work/www/10m"
    printf '127.0.0.1 localhost\n127.0.0.1 %s\n' "$host" > "$work/hosts"
    local f
    for f in upstream-nginx.conf proxy-nginx.conf haproxy.cfg gateway.yaml; do
        render "$here/conf/$f" "$work/conf/$f"
    done
}

# ---- servers -------------------------------------------------------------------------------------
upstream_pid=""
start_upstream() {
    port_free "$upstream_port" || die "port $upstream_port is taken (set BENCH_PORT_BASE)"
    nice -n "$nice_level" taskset -c "$upstream_cpu" nginx -p "$work" -c "$work/conf/upstream-nginx.conf" \
        > "$work/logs/upstream.out" 2>&1 &
    upstream_pid=$!
    pids_to_stop+=("$upstream_pid")
    wait_port "$upstream_port" "$upstream_pid" "upstream nginx"
    wait_port "$upstream_h2c_port" "$upstream_pid" "upstream nginx (h2c)"
}

# Starts one server under test on the proxy core; sets server_pid and server_port.
server_pid=""; server_port=""
start_server() {
    local name=$1
    case "$name" in
        direct) server_pid=$upstream_pid; server_port=$upstream_port; return 0 ;;
        gateway) server_port=$gateway_port ;;
        haproxy) server_port=$haproxy_port ;;
        nginx) server_port=$nginx_port ;;
    esac
    port_free "$server_port" || die "port $server_port is taken (set BENCH_PORT_BASE)"
    local log="$work/logs/$name.log"
    case "$name" in
        gateway)
            port_free "$gateway_admin_port" || die "port $gateway_admin_port is taken"
            (cd "$repo" && PEP_JAVA_OPTS="$java_opts" exec nice -n "$nice_level" taskset -c "$proxy_cpu" \
                ./pep serve --config "$work/conf/gateway.yaml") > "$log" 2>&1 &
            ;;
        haproxy)
            haproxy -c -q -f "$work/conf/haproxy.cfg" > "$work/logs/haproxy.check" 2>&1 \
                || die "haproxy rejects its config: $(cat "$work/logs/haproxy.check")"
            nice -n "$nice_level" taskset -c "$proxy_cpu" haproxy -db -f "$work/conf/haproxy.cfg" > "$log" 2>&1 &
            ;;
        nginx)
            nginx -t -q -p "$work" -c "$work/conf/proxy-nginx.conf" > "$work/logs/nginx.check" 2>&1 \
                || die "nginx rejects its config: $(cat "$work/logs/nginx.check")"
            nice -n "$nice_level" taskset -c "$proxy_cpu" nginx -p "$work" -c "$work/conf/proxy-nginx.conf" > "$log" 2>&1 &
            ;;
    esac
    server_pid=$!
    pids_to_stop+=("$server_pid")
    wait_port "$server_port" "$server_pid" "$name"
    if [ "$name" = gateway ]; then
        for _ in $(seq 300); do
            grep -q 'gateway started' "$log" && break
            kill -0 "$server_pid" 2>/dev/null || die "gateway exited: $(tail -5 "$log")"
            sleep 0.1
        done
        grep -q 'gateway started' "$log" || die "gateway did not log 'gateway started'"
        gateway_tls=$(grep -o 'tls=[a-z]*' "$log" | head -1 || true)
        say "gateway ${gateway_tls:-tls=unknown} pid=$server_pid"
        [ "$gateway_tls" = "tls=boringssl" ] || say "WARNING: the gateway is not using BoringSSL"
    fi
}

url() {
    local name=$1 path=$2 proto=${3:-h1}
    if [ "$name" = direct ]; then
        if [ "$proto" = h2 ]; then echo "http://127.0.0.1:$upstream_h2c_port$path"
        else echo "http://127.0.0.1:$upstream_port$path"; fi
    else
        echo "https://$host:$server_port$path"
    fi
}

# Every server must answer 200 with the right body, over HTTP/1.1 and HTTP/2.
check_server() {
    local name=$1 path size proto flags code got
    for path in /1k /10m; do
        size=$small_size; [ "$path" = /10m ] && size=$bulk_size
        for proto in h1 h2; do
            if [ "$name" = direct ]; then
                flags=(--http1.1); [ "$proto" = h2 ] && flags=(--http2-prior-knowledge)
            else
                flags=(--http1.1 --cacert "$out/pki/ca.pem" --resolve "$host:$server_port:127.0.0.1")
                [ "$proto" = h2 ] && flags=(--http2 --cacert "$out/pki/ca.pem" --resolve "$host:$server_port:127.0.0.1")
            fi
            got=$(curl -sS -o "$work/tmp/check.body" -w '%{http_code} %{size_download} %{http_version}' \
                --max-time 20 "${flags[@]}" "$(url "$name" "$path" "$proto")") \
                || die "$name did not answer $path over $proto"
            code=${got%% *}
            [ "$code" = 200 ] || die "$name answered $code for $path over $proto"
            cmp -s "$work/tmp/check.body" "$work/www/${path#/}" \
                || die "$name returned a wrong body for $path over $proto ($got)"
            [ "$proto" = h1 ] || [ "${got##* }" = 2 ] || die "$name did not speak HTTP/2 ($got)"
        done
    done
}

# ---- measuring -----------------------------------------------------------------------------------
# Runs a load, records the server's CPU time around it, and parses the load generator's output.
# Sets: m_requests m_seconds m_rps m_p50 m_p90 m_p99 (µs) m_cpu_us (µs per request) m_noise (%).
measure() {
    local name=$1 test=$2 tool=$3; shift 3
    local pids t0 t1 b0 b1 w0 w1 j0=0 j1=0 outf="$work/logs/$name-$test.out"
    pids=$(server_pids "$server_pid")
    [ "$name" = gateway ] && j0=$(jit_ticks "$server_pid")
    t0=$(cpu_ticks "$pids"); b0=$(core_busy "$proxy_cpu"); w0=$(date +%s%N)
    lg "$@" > "$outf" 2>&1 || die "$name $test: load generator failed: $(tail -5 "$outf")"
    w1=$(date +%s%N); b1=$(core_busy "$proxy_cpu"); t1=$(cpu_ticks "$pids")
    [ "$name" = gateway ] && j1=$(jit_ticks "$server_pid")
    m_jit=""; m_cpu_nojit_us=""
    case "$tool" in
        wrk) parse_wrk "$outf" "$name $test" ;;
        h2load) parse_h2load "$outf" "$name $test" "$work/logs/$name-$test.h2log" ;;
    esac
    [ "$m_requests" -gt 0 ] || die "$name $test completed no request"
    m_cpu_us=$(awk -v t=$((t1 - t0)) -v hz="$clk_tck" -v n="$m_requests" \
        'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
    if [ "$name" = gateway ]; then
        # The JIT compiler's share, and the CPU per request without it (the warm steady state).
        m_jit=$(awk -v j=$((j1 - j0)) -v t=$((t1 - t0)) 'BEGIN {printf "%.0f", (t > 0 ? 100 * j / t : 0)}')
        m_cpu_nojit_us=$(awk -v t=$((t1 - t0 - j1 + j0)) -v hz="$clk_tck" -v n="$m_requests" \
            'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
    fi
    # Busy time on the server's core that was not the server's: other work on the machine.
    if [ "$name" = direct ] && [ "$upstream_cpu" != "$proxy_cpu" ]; then
        m_noise=$(awk -v b=$((b1 - b0)) -v w=$((w1 - w0)) -v hz="$clk_tck" \
            'BEGIN {printf "%.0f", 100 * b / hz / (w / 1e9)}')
    else
        m_noise=$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v w=$((w1 - w0)) -v hz="$clk_tck" \
            'BEGIN {x = 100 * (b - t) / hz / (w / 1e9); if (x < 0) x = 0; printf "%.0f", x}')
    fi
}

# wrk prints latency with units; this converts to microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") f = 1; else if (u == "ms") f = 1000; else if (u == "s") f = 1e6;
        else if (u == "m") f = 6e7; else f = 1
        printf "%.0f", n * f }'
}

parse_wrk() {
    local f=$1 what=$2 line
    if grep -q 'Non-2xx or 3xx responses' "$f"; then
        die "$what: $(grep 'Non-2xx' "$f" | xargs) — every response must be 200"
    fi
    line=$(grep -E '^ +[0-9]+ requests in ' "$f") || die "$what: no wrk summary: $(cat "$f")"
    m_requests=$(echo "$line" | awk '{print $1}')
    m_seconds=$(echo "$line" | awk '{s = $4; sub(/s,?$/, "", s); print s}')
    m_rps=$(awk -v n="$m_requests" -v s="$m_seconds" 'BEGIN {printf "%.0f", n / s}')
    m_p50=$(to_us "$(awk '$1 == "50%" {print $2}' "$f")")
    m_p90=$(to_us "$(awk '$1 == "90%" {print $2}' "$f")")
    m_p99=$(to_us "$(awk '$1 == "99%" {print $2}' "$f")")
    m_errors=$(awk '/Socket errors/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$f")
    m_errors=${m_errors:-0}
}

parse_h2load() {
    local f=$1 what=$2 log=$3 line codes
    line=$(grep -E '^requests: ' "$f") || die "$what: no h2load summary: $(tail -5 "$f")"
    # requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout
    m_requests=$(echo "$line" | awk '{print $8}')
    local failed errored
    failed=$(echo "$line" | awk '{print $10}'); errored=$(echo "$line" | awk '{print $12}')
    codes=$(grep -E '^status codes: ' "$f")
    # status codes: N 2xx, N 3xx, N 4xx, N 5xx (a stream cut off at the end may count once more)
    local c2xx others
    c2xx=$(echo "$codes" | awk '{print $3}')
    others=$(echo "$codes" | awk '{print $5 + $7 + $9}')
    [ "$failed" = 0 ] && [ "$errored" = 0 ] || die "$what: $line"
    [ "$others" = 0 ] && [ "$c2xx" -ge "$m_requests" ] || die "$what: not all responses were 2xx: $codes"
    awk -F'\t' '$2 != 200 {bad++} END {exit bad > 0}' "$log" || die "$what: a response was not 200"
    m_seconds=$(grep -E '^finished in ' "$f" | awk '{s = $3; sub(/s,$/, "", s); print s}')
    m_rps=$(awk -v n="$m_requests" -v s="$m_seconds" 'BEGIN {printf "%.0f", n / s}')
    read -r m_p50 m_p90 m_p99 < <(cut -f3 "$log" | sort -n | awk '
        {v[NR] = $1} END {
            if (NR == 0) {print "0 0 0"; exit}
            printf "%d %d %d\n", v[int(NR * 0.50) + (NR * 0.50 > int(NR * 0.50))],
                v[int(NR * 0.90) + (NR * 0.90 > int(NR * 0.90))],
                v[int(NR * 0.99) + (NR * 0.99 > int(NR * 0.99))] }')
    m_errors=0
}

# One line of results_tsv: name test requests req/s cpu_us p50 p90 p99 noise% extra jit% cpu_nojit_us
record() {
    local name=$1 test=$2 extra=${3:-} jit=""
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$test" "$m_requests" "$m_rps" \
        "$m_cpu_us" "$m_p50" "$m_p90" "$m_p99" "$m_noise" "$extra" "$m_jit" "$m_cpu_nojit_us" >> "$results_tsv"
    [ -n "$m_jit" ] && jit=" (JIT ${m_jit}%; ${m_cpu_nojit_us} µs without it)"
    say "$(printf '%-8s %-10s %8s req/s  %7s µs CPU/req  p50 %6s µs  p99 %7s µs  noise %s%% %s%s' \
        "$name" "$test" "$m_rps" "$m_cpu_us" "$m_p50" "$m_p99" "$m_noise" "$extra" "$jit")"
}

run_h1() {
    measure "$1" h1 wrk wrk -t1 -c"$h1_conns" -d"${dur}s" --latency "$(url "$1" /1k)"
    record "$1" h1
}

run_h2() {
    local name=$1 log="$work/logs/$1-h2.h2log"
    rm -f "$log"
    measure "$name" h2 h2load h2load -t1 -c"$h2_conns" -m"$h2_streams" -D"$dur" \
        --log-file="$log" "$(url "$name" /1k h2)"
    record "$name" h2
}

# One request per connection, each with a full TLS handshake (h2load keeps no session between
# connections; wrk would resume them). h2load opens connections at a fixed rate (open loop), so
# req/s is the offered rate as long as the server keeps up; CPU µs per connection is the figure to
# compare, and 1e6 / that is the handshakes per second one core could do. For direct: plain TCP.
run_handshake() {
    local name=$1 log="$work/logs/$1-handshake.h2log" per_tick total
    per_tick=$(( (hs_rate + 99) / 100 )); total=$((per_tick * 100 * dur))
    rm -f "$log"
    measure "$name" handshake h2load h2load --h1 -t1 -r"$per_tick" --rate-period=10ms \
        -c"$total" -n"$total" -T 10s --log-file="$log" "$(url "$name" /1k)"
    local cap
    cap=$(awk -v c="$m_cpu_us" 'BEGIN {printf "%.0f", (c > 0 ? 1e6 / c : 0)}')
    record "$name" handshake "1 core ≈ $cap/s"
}

run_bulk() {
    measure "$1" bulk wrk wrk -t1 -c"$bulk_conns" -d"${dur}s" --latency "$(url "$1" /10m)"
    local mbps
    mbps=$(awk -v n="$m_requests" -v s="$m_seconds" -v b="$bulk_size" 'BEGIN {printf "%.0f", n * b / s / 1e6}')
    record "$1" bulk "$mbps MB/s"
}

run_idle() {
    local name=$1 pids probe="" json
    [ "$name" = direct ] && return 0
    # nginx: the worker holds the connections; the master is idle.
    if [ "$name" = nginx ]; then pids=$(pgrep -P "$server_pid" | xargs); else pids=$server_pid; fi
    if [ "$name" = gateway ]; then
        # Live heap after a full GC, in KiB (with AlwaysPreTouch the heap's RSS does not move).
        probe="jcmd $server_pid GC.run >/dev/null && jcmd $server_pid GC.run >/dev/null && jcmd $server_pid GC.heap_info | awk '/garbage-first heap/ {for (i = 1; i <= NF; i++) if (\$i == \"used\") {v = \$(i + 1); sub(/K,?/, \"\", v); print v}}'"
    fi
    json=$(nice -n "$nice_level" taskset -c "$lg_cpu" timeout 120 python3 "$here/idle_conns.py" --port "$server_port" \
        --cafile "$out/pki/ca.pem" -n "$idle_n" --probe "$probe" $pids 2> "$work/logs/$name-idle.err") \
        || die "$name idle connections: $(tail -3 "$work/logs/$name-idle.err") $json"
    echo "$json" > "$work/logs/$name-idle.json"
    local rss heap
    rss=$(echo "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rss_bytes_per_conn"])')
    heap=$(echo "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("probe_bytes_per_conn", 0))')
    printf '%s\tidle\t%s\t\t%s\t\t\t\t\tRSS %s + live heap %s\t\t\n' "$name" "$idle_n" "$((rss + heap))" "$rss" "$heap" >> "$results_tsv"
    say "$(printf '%-8s %-10s %s connections: %s bytes/conn (RSS %s + live heap %s)' "$name" idle "$idle_n" "$((rss + heap))" "$rss" "$heap")"
}

# One round of every load, short. Checks that all answers were 2xx.
warm_round() {
    local name=$1 secs=$2 n
    lg wrk -t1 -c"$h1_conns" -d"${secs}s" "$(url "$name" /1k)" > "$work/logs/$name-warm-h1.out" 2>&1 \
        || die "$name warm-up failed"
    lg h2load -t1 -c"$h2_conns" -m"$h2_streams" -D"$secs" "$(url "$name" /1k h2)" \
        > "$work/logs/$name-warm-h2.out" 2>&1 || die "$name h2 warm-up failed"
    n=$(( (hs_rate + 99) / 100 * 100 ))
    lg h2load --h1 -t1 -r"$(( (hs_rate + 99) / 100 ))" --rate-period=10ms -c"$n" -n"$n" -T 10s \
        "$(url "$name" /1k)" > "$work/logs/$name-warm-hs.out" 2>&1 || die "$name handshake warm-up failed"
    grep -q "status codes: $n 2xx, 0 3xx, 0 4xx, 0 5xx" "$work/logs/$name-warm-hs.out" \
        || die "$name handshake warm-up: not all 2xx: $(grep 'status codes' "$work/logs/$name-warm-hs.out")"
    lg wrk -t1 -c"$bulk_conns" -d1s "$(url "$name" /10m)" > "$work/logs/$name-warm-bulk.out" 2>&1 \
        || die "$name bulk warm-up failed"
    if grep -q 'Non-2xx' "$work/logs/$name"-warm-*.out; then die "$name answered non-2xx while warming up"; fi
    if grep -qE 'status codes: [0-9]+ 2xx, [0-9]+ 3xx, [1-9]' "$work/logs/$name-warm-h2.out"; then
        die "$name answered 4xx/5xx over h2 while warming up"
    fi
}

# The peers need no warming beyond filling their caches; the JVM compiles the hot paths while it
# runs, so the gateway is warmed in rounds until its JIT compiler threads use under a tenth of its
# CPU time (or gw_warm seconds have passed).
warm_up() {
    local name=$1 start j0 j1 t0 t1 share pids round=0
    if [ "$name" != gateway ]; then
        say "warming $name up"
        warm_round "$name" 1
        return 0
    fi
    start=$(date +%s)
    pids=$server_pid
    while :; do
        round=$((round + 1))
        j0=$(jit_ticks "$server_pid"); t0=$(cpu_ticks "$pids")
        warm_round "$name" "$warm_secs"
        j1=$(jit_ticks "$server_pid"); t1=$(cpu_ticks "$pids")
        share=$(( t1 > t0 ? 100 * (j1 - j0) / (t1 - t0) : 100 ))
        say "gateway warm-up round $round: JIT ${share}% of its CPU"
        if [ "$round" -ge 2 ] && [ "$share" -lt 10 ]; then break; fi
        if [ $(( $(date +%s) - start )) -ge "$gw_warm" ]; then
            say "gateway warm-up stopped after ${gw_warm}s with JIT still at ${share}% (see the jit column)"
            break
        fi
    done
}

bench_target() {
    local name=$1
    say "=== $name"
    start_server "$name"
    check_server "$name"
    # Memory first, on the fresh process: after the loads its allocator pools would already hold
    # memory that new connections reuse, and the growth would read near zero.
    run_idle "$name"
    warm_up "$name"
    run_h1 "$name"
    run_h2 "$name"
    run_handshake "$name"
    run_bulk "$name"
    check_server "$name"
    if [ "$name" = gateway ]; then
        grep -E ' (ERROR|WARN) ' "$work/logs/gateway.log" | head -5 > "$work/logs/gateway.warnings" || true
        [ -s "$work/logs/gateway.warnings" ] && say "gateway logged warnings: see $work/logs/gateway.log"
    fi
    [ "$name" = direct ] || stop_pid "$server_pid"
}

# ---- report --------------------------------------------------------------------------------------
print_report() {
    python3 "$here/report.py" "$results_tsv" "$1"
}

# ---- main ----------------------------------------------------------------------------------------
ensure_tools
mkdir -p "$out"
make_pki
setup_work
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
: > "$results_tsv"
say "results: $results_tsv; logs: $work/logs; duration ${dur}s per load; targets: $targets"
start_upstream
for t in $targets; do
    bench_target "$t"
done

elapsed=$(( $(date +%s) - started_at ))
load=$(cut -d' ' -f1-3 /proc/loadavg)
header="pep bench $(date -u '+%Y-%m-%d %H:%M UTC') — $(nproc) cores $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}'), \
$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); server on core $proxy_cpu, \
load generator on core $lg_cpu, upstream on core $upstream_cpu; ${dur}s per load; \
gateway ${gateway_tls:-not run}; $(haproxy -v | head -1 | awk '{print "HAProxy", $3}'); \
$(nginx -v 2>&1 | sed 's|nginx version: nginx/|nginx |'); $(openssl version | awk '{print "OpenSSL", $2}'); \
run took ${elapsed}s; load average at end $load"
print_report "$header" | tee "$report"
say "report: $report"
