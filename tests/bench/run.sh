#!/usr/bin/env bash
# Issue-8 benchmark: five paths to the same emulated upstream, side by side in one run, on
# loopback only, with ratios to the floor (a), nginx (b) and the Python peer (c).
#
#   tests/bench/run.sh [--seconds S] [--warmup W] [--connections C] [--hold N] [--hold-seconds H]
#                      [--cancel-iterations I] [--quick] [--skip-hold] [--no-pin] [--no-build]
#
# Paths: (a) supervisor-emulator --bench-answer 200:100 directly; (b) nginx (proxy_buffering off);
# (c) the FastAPI/httpx Python peer (peers/python_peer.py); (d) agent-gateway REST /invocations;
# (e) agent-gateway gRPC; plus grpc_bare_server, a callback-API server with no upstream, as the
# gRPC baseline. Scenarios: non-streaming saturation (wrk) and fixed rate (h2load --rps),
# streaming 200 x 100 B (sse_load / grpc_load), N open streams (RSS per stream), and
# cancel-to-upstream-close (cancel_latency). Writes tests/bench/results/latest.md (report.py).
# Every process it starts is stopped on exit, by PID.
set -euo pipefail

DURATION=10
WARMUP=2
CONNECTIONS=16
HOLD=10000
HOLD_SECONDS=5
CANCEL_ITERATIONS=100
QUICK=0
SKIP_HOLD=0
PIN=1
BUILD=1
BENCH_ANSWER="200:100"
COMMAND="tests/bench/run.sh${*:+ $*}"
usage() { sed -n '4,5p' "$0" | sed 's/^# *//'; }
while (($#)); do
  case "$1" in
    --seconds) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --hold) HOLD="$2"; shift 2 ;;
    --hold-seconds) HOLD_SECONDS="$2"; shift 2 ;;
    --cancel-iterations) CANCEL_ITERATIONS="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --skip-hold) SKIP_HOLD=1; shift ;;
    --no-pin) PIN=0; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
if ((QUICK)); then  # a smoke run of every scenario: short, and 1,000 held streams
  DURATION=2; WARMUP=1; HOLD=1000; HOLD_SECONDS=2; CANCEL_ITERATIONS=20
fi
for v in DURATION CONNECTIONS HOLD HOLD_SECONDS CANCEL_ITERATIONS; do
  [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 ]] || { echo "run.sh: $v must be a whole number >= 1" >&2; exit 2; }
done
[[ "$WARMUP" =~ ^[0-9]+$ ]] || { echo "run.sh: --warmup: whole seconds >= 0" >&2; exit 2; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD_DIR="$ROOT/build-bench"
RESULTS="$HERE/results"
PY=/usr/bin/python3   # Debian's python3: the Python peer's packages are installed for it
"$HERE/setup.sh"
for tool in wrk h2load nginx curl taskset "$PY"; do
  command -v "$tool" >/dev/null || { echo "run.sh: '$tool' not found (tests/bench/setup.sh)" >&2; exit 2; }
done

# Held streams need descriptors: a proxy holds two per stream (client and upstream).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE="$(ulimit -n)"

WORK="$(mktemp -d /tmp/ag-bench.XXXXXX)"
PIDS=()
SERVER_PIN=()
BENCH_NAME=run.sh
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# --- build ---------------------------------------------------------------------------------
TARGETS=(agent-gateway supervisor-emulator grpc_load sse_load grpc_bare_server cancel_latency)
if ((BUILD)); then bench_build "${TARGETS[@]}"; fi
EMULATOR_BIN="$(find_bin supervisor-emulator)"
GATEWAY_BIN="$(find_bin agent-gateway)"
GRPC_LOAD_BIN="$(find_bin grpc_load)"
SSE_LOAD_BIN="$(find_bin sse_load)"
BARE_BIN="$(find_bin grpc_bare_server)"
CANCEL_BIN="$(find_bin cancel_latency)"

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

# --- pinning: load generators on CPU 0, every server on CPU 1 (2+ cores only) ---------------
LOAD_PIN=()
PINNING="none"
if ((PIN)) && (($(nproc) >= 2)); then
  LOAD_PIN=(taskset -c 0)
  SERVER_PIN=(taskset -c 1)
  PINNING="load generators on CPU 0; emulator, nginx, Python peer, gateway and bare gRPC server on CPU 1 (taskset)"
fi

free_port() {  # a port the kernel just handed out (nginx and uvicorn cannot report port 0)
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

echo "== start servers (descriptor limit $NOFILE)"
start_server emulator 'listening on http://' \
  "$EMULATOR_BIN" --listen 127.0.0.1:0 --threads 1 --bench-answer "$BENCH_ANSWER"
EMU_PID="$STARTED_PID"
EMU_PORT="${STARTED_LINE##*:}"
EMU="http://127.0.0.1:$EMU_PORT"
UPSTREAM_BASE="$EMU/ai-gateway/mlflow/v1"

NGINX_PORT="$(free_port)"
mkdir -p "$WORK/nginx"
sed -e "s#@PREFIX@#$WORK/nginx#g" -e "s#@UPSTREAM_PORT@#$EMU_PORT#g" \
  -e "s#@LISTEN_PORT@#$NGINX_PORT#g" -e "s#@NOFILE@#$NOFILE#g" \
  -e "s#@CONNECTIONS@#$((2 * NOFILE))#g" "$HERE/peers/nginx.conf.in" >"$WORK/nginx/nginx.conf"
# master_process off: one process serves (its PID is the one whose RSS is read)
"${SERVER_PIN[@]}" nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx/" -e "$WORK/nginx/stderr.log" \
  >"$WORK/nginx.log" 2>&1 &
NGINX_PID="$!"
PIDS+=("$NGINX_PID")

PY_PORT="$(free_port)"
# Its httpx pool is sized like the gateway's upstream limit, so a hold is not capped by the pool.
(cd "$HERE/peers" && UPSTREAM_URL="$UPSTREAM_BASE" UPSTREAM_TOKEN=bench UPSTREAM_MODEL=bench-model \
  PEER_MAX_CONNECTIONS=$((HOLD + 2000)) \
  exec "${SERVER_PIN[@]}" "$PY" -m uvicorn python_peer:app --loop uvloop --http httptools \
  --workers 1 --no-access-log --host 127.0.0.1 --port "$PY_PORT" >"$WORK/python.log" 2>&1) &
PY_PID="$!"
PIDS+=("$PY_PID")

# The gateway: limits raised so a hold of N streams is not refused by its own caps.
cat >"$WORK/gateway.yaml" <<EOF
upstream:
  base_url: $UPSTREAM_BASE
  max_connections: $((HOLD + 2000))
  max_queued_requests: 1024
  threads: 1
listen:
  http: {address: "127.0.0.1:0", sse_heartbeat_ms: 15000}
  grpc: {address: "127.0.0.1:0"}
limits:
  max_concurrent_calls: $((HOLD + 2000))
  drain_grace_ms: 0
default_profile: bench
profiles:
  bench:
    model: bench-model
EOF
"$GATEWAY_BIN" --check-config "$WORK/gateway.yaml" >"$WORK/gateway-check.log" 2>&1 ||
  { cat "$WORK/gateway-check.log" >&2; exit 1; }
# Starts the gateway (again) on fresh ports: each hold measures a gateway that served only
# its warm-up, so memory one hold left in the allocator does not flatter the next one.
start_gateway() {
  start_server gateway '^  gRPC +: ' env -u DATABRICKS_HOST -u DATABRICKS_TOKEN \
    -u DATABRICKS_CLIENT_ID -u DATABRICKS_CLIENT_SECRET "$GATEWAY_BIN" --config "$WORK/gateway.yaml"
  GW_PID="$STARTED_PID"
  GW_HTTP_PORT="$(sed -nE 's#^  REST +: POST http://127\.0\.0\.1:([0-9]+)/invocations.*#\1#p' "$WORK/gateway.log")"
  GW_GRPC_PORT="$(sed -nE 's#^  gRPC +: 127\.0\.0\.1:([0-9]+).*#\1#p' "$WORK/gateway.log")"
  [[ -n "$GW_HTTP_PORT" && -n "$GW_GRPC_PORT" ]] || { cat "$WORK/gateway.log" >&2; exit 1; }
}
start_gateway

start_server bare '^grpc_bare_server listening on ' \
  "$BARE_BIN" --listen 127.0.0.1:0 --events "${BENCH_ANSWER%%:*}" --bytes "${BENCH_ANSWER##*:}"
BARE_PID="$STARTED_PID"
BARE_PORT="${STARTED_LINE##*:}"

# Path table: name, HOST:PORT, request path, server PID (whose RSS a hold reads).
declare -A TARGET=([a]="127.0.0.1:$EMU_PORT" [b]="127.0.0.1:$NGINX_PORT"
  [c]="127.0.0.1:$PY_PORT" [d]="127.0.0.1:$GW_HTTP_PORT")
declare -A URLPATH=([a]=/ai-gateway/mlflow/v1/responses [b]=/ai-gateway/mlflow/v1/responses
  [c]=/invocations [d]=/invocations)
declare -A SERVER_PID=([a]="$EMU_PID" [b]="$NGINX_PID" [c]="$PY_PID" [d]="$GW_PID" [e]="$GW_PID")

# --- bodies: (a)/(b) get a Responses request, (c)/(d) an /invocations request ----------------
QUESTION='What is the status of the bench?'
HOLD_QUESTION='Hold this stream open [[drip-ms:1000]]'
body() {  # body KIND(responses|invocations) STREAM(true|false) QUESTION
  local model=""
  [[ "$1" == responses ]] && model='"model":"bench-model",'
  printf '{%s"input":[{"role":"user","content":"%s"}],"stream":%s}' "$model" "$3" "$2"
}
for p in a b c d; do
  kind=invocations
  [[ "$p" == a || "$p" == b ]] && kind=responses
  body "$kind" false "$QUESTION" >"$WORK/$p.json.body"
  body "$kind" true "$QUESTION" >"$WORK/$p.sse.body"
  body "$kind" true "$HOLD_QUESTION" >"$WORK/$p.hold.body"
done
AUTH_HEADER='Authorization: Bearer bench'

wait_ready() {  # bounded poll until a POST answers 200 with a stamp
  local p="$1" status
  for _ in $(seq 100); do
    status="$(curl -sS --max-time 5 -o "$WORK/answer" -w '%{http_code}' -X POST \
      -H 'Content-Type: application/json' -H "$AUTH_HEADER" \
      --data-binary "@$WORK/$p.json.body" "http://${TARGET[$p]}${URLPATH[$p]}" 2>/dev/null || true)"
    [[ "$status" == 200 ]] && grep -qE '@[0-9]+;' "$WORK/answer" && return 0
    sleep 0.1
  done
  echo "run.sh: path ($p) http://${TARGET[$p]}${URLPATH[$p]} not ready (last status $status):" >&2
  head -c 600 "$WORK/answer" >&2
  exit 1
}
check_stream() {  # one streamed answer: 200 events' stamps and the end of the stream
  local p="$1"
  curl -sS --max-time 10 -N -o "$WORK/answer" -X POST -H 'Content-Type: application/json' \
    -H "$AUTH_HEADER" --data-binary "@$WORK/$p.sse.body" "http://${TARGET[$p]}${URLPATH[$p]}"
  if ! grep -q 'response.completed' "$WORK/answer" ||
    (($(grep -c 'response.output_text.delta' "$WORK/answer") < ${BENCH_ANSWER%%:*})); then
    echo "run.sh: path ($p) streamed answer incomplete:" >&2
    head -c 600 "$WORK/answer" >&2
    exit 1
  fi
}
for p in a b c d; do wait_ready "$p"; check_stream "$p"; done
echo "   (a) $EMU  (b) nginx :$NGINX_PORT  (c) python :$PY_PORT  (d) gateway REST :$GW_HTTP_PORT"
echo "   (e) gateway gRPC :$GW_GRPC_PORT  bare gRPC :$BARE_PORT; pinning: $PINNING"

# --- helpers ---------------------------------------------------------------------------------
# The emulator's counters are zeroed before each measurement and saved after it, as a check
# that every call really reached upstream (counts include the warm-up).
reset_upstream() { curl -fsS --max-time 5 -X POST -o /dev/null "$EMU/emulator/reset"; }
save_upstream() { curl -fsS --max-time 5 -o "$WORK/$1.stats" "$EMU/emulator/stats" || true; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
open_upstream() {  # the emulator's open connections; 999999 when it does not answer in 5 s
  curl -fsS --max-time 5 "$EMU/emulator/stats" 2>/dev/null | "$PY" -c '
import json, sys
try:
    print(json.load(sys.stdin)["open_connections"])
except ValueError:
    print(999999)'
}
# After a hold, waits (bounded) until the emulator's connections are back under LIMIT.
settle_upstream() {
  for _ in $(seq 300); do
    (($(open_upstream) <= $1)) && return 0
    sleep 0.1
  done
  echo "   note: emulator still has $(open_upstream) connections open"
}

wrk_lua() {  # wrk_lua BODYFILE > script: POST the body, print p50/p90/p99/p99.9 in done()
  "$PY" - "$1" "$AUTH_HEADER" <<'EOF'
import sys
body = open(sys.argv[1]).read()
level = "=" * next(n for n in range(1, 20) if "]" + "=" * n + "]" not in body)
name, value = sys.argv[2].split(": ", 1)
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print(f'wrk.headers["{name}"] = "{value}"')
print(f"wrk.body = [{level}[{body}]{level}]")
print("""done = function(summary, latency, requests)
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("percentile_us %g %d\\n", p, latency:percentile(p)))
  end
end""")
EOF
}
run_wrk() {  # run_wrk PATH
  local p="$1" lua="$WORK/$1.lua"
  wrk_lua "$WORK/$p.json.body" >"$lua"
  reset_upstream
  if ((WARMUP > 0)); then
    "${LOAD_PIN[@]}" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$lua" \
      "http://${TARGET[$p]}${URLPATH[$p]}" >/dev/null 2>&1 || true
  fi
  echo "== saturation ($p) wrk -c$CONNECTIONS ${DURATION}s"
  "${LOAD_PIN[@]}" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$lua" \
    "http://${TARGET[$p]}${URLPATH[$p]}" >"$WORK/sat_$p.wrk" 2>&1 || true
  sed -n '/Requests\/sec/p' "$WORK/sat_$p.wrk"
  save_upstream "sat_$p"
}
run_grpc() {  # run_grpc NAME PORT RPC [extra grpc_load flags...]
  local name="$1" port="$2" rpc="$3"
  shift 3
  reset_upstream
  echo "== $name: grpc_load --rpc $rpc -c$CONNECTIONS ${DURATION}s (:$port)"
  "${LOAD_PIN[@]}" "$GRPC_LOAD_BIN" --target "127.0.0.1:$port" --rpc "$rpc" \
    --concurrency "$CONNECTIONS" --seconds "$DURATION" --warmup "$WARMUP" --text "$QUESTION" "$@" \
    >"$WORK/$name.json" 2>"$WORK/$name.err" || true
  tail -1 "$WORK/$name.json"
  save_upstream "$name"
}
run_rate() {  # run_rate PATH RATE: h2load --h1 at a fixed total rate, per-request log
  local p="$1" rate="$2" per_client
  per_client=$(( (rate + CONNECTIONS - 1) / CONNECTIONS ))
  reset_upstream
  echo "== fixed rate ($p) $((per_client * CONNECTIONS)) req/s, h2load --h1 -c$CONNECTIONS ${DURATION}s"
  "${LOAD_PIN[@]}" h2load --h1 -c"$CONNECTIONS" -m1 --rps="$per_client" -D "$DURATION" \
    --warm-up-time="${WARMUP}" -d "$WORK/$p.json.body" -H 'Content-Type: application/json' \
    -H "$AUTH_HEADER" --log-file="$WORK/rate_$p.log" "http://${TARGET[$p]}${URLPATH[$p]}" \
    >"$WORK/rate_$p.h2load" 2>&1 || true
  grep -E '^(finished|requests:)' "$WORK/rate_$p.h2load" || tail -3 "$WORK/rate_$p.h2load"
  echo "$((per_client * CONNECTIONS))" >"$WORK/rate_$p.target"
  save_upstream "rate_$p"
}
run_sse() {  # run_sse PATH: closed-loop streaming
  local p="$1"
  reset_upstream
  echo "== streaming ($p) sse_load -c$CONNECTIONS ${DURATION}s"
  "${LOAD_PIN[@]}" "$SSE_LOAD_BIN" --target "${TARGET[$p]}" --path "${URLPATH[$p]}" \
    --body-file "$WORK/$p.sse.body" --header "$AUTH_HEADER" --header 'Content-Type: application/json' \
    --concurrency "$CONNECTIONS" --seconds "$DURATION" --warmup "$WARMUP" \
    >"$WORK/sse_$p.json" 2>"$WORK/sse_$p.err" || true
  tail -1 "$WORK/sse_$p.json"
  save_upstream "sse_$p"
}
# Opens N streams with the load tool (COMMAND...), waits for its "held" line, reads the
# server's VmRSS twice while they are held (keeps the larger), waits for the tool to end, then
# gives the upstream connections (bounded) 10 s to close: a proxy that does not pass the
# client's leaving on to the upstream shows in upstream_left_open.
run_hold() {  # run_hold NAME PID N COMMAND...
  local name="$1" pid="$2" n="$3" tool_pid before held=0 r open_before open_after
  shift 3
  settle_upstream 200
  open_before="$(open_upstream)"
  before="$(rss_kib "$pid")"
  reset_upstream
  echo "== hold ($name) $n streams for ${HOLD_SECONDS}s; server RSS before: $before KiB"
  "${LOAD_PIN[@]}" timeout $((HOLD_SECONDS + 180)) "$@" >"$WORK/hold_$name.json" 2>"$WORK/hold_$name.err" &
  tool_pid="$!"
  PIDS+=("$tool_pid")
  while kill -0 "$tool_pid" 2>/dev/null; do
    if grep -q '"phase":"held"' "$WORK/hold_$name.json" 2>/dev/null; then
      held="$(rss_kib "$pid")"
      sleep 0.5
      r="$(rss_kib "$pid")"
      ((r > held)) && held="$r"
      break
    fi
    sleep 0.1
  done
  wait "$tool_pid" 2>/dev/null || true
  for _ in $(seq 100); do
    open_after="$(open_upstream)"
    ((open_after <= open_before + 10)) && break
    sleep 0.1
  done
  printf '{"name":"%s","streams":%d,"rss_before_kib":%d,"rss_held_kib":%d,"server_alive":%s,"upstream_left_open":%d}\n' \
    "$name" "$n" "$before" "$held" "$(kill -0 "$pid" 2>/dev/null && echo true || echo false)" \
    "$((open_after == 999999 ? -1 : open_after > open_before ? open_after - open_before : 0))" \
    >"$WORK/hold_$name.rss"
  tail -1 "$WORK/hold_$name.json" 2>/dev/null || true
  cat "$WORK/hold_$name.rss"
  save_upstream "hold_$name"
}
stop_pid() {  # TERM, a bounded wait, then KILL (the PID stays in PIDS; cleanup skips it)
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}

# --- 1. non-streaming saturation --------------------------------------------------------------
for p in a b c d; do run_wrk "$p"; done
run_grpc sat_e "$GW_GRPC_PORT" invoke
run_grpc sat_bare "$BARE_PORT" invoke

# --- 2. non-streaming fixed rate: half of (d)'s saturation rate, the same on every path -------
GW_SAT="$(sed -nE 's/^Requests\/sec:\s+([0-9.]+).*/\1/p' "$WORK/sat_d.wrk")"
RATE="$("$PY" -c "import sys; print(max(int(float(sys.argv[1] or 0) / 2), $CONNECTIONS))" "${GW_SAT:-0}")"
echo "$RATE" >"$WORK/rate.target"
for p in a b c d; do run_rate "$p" "$RATE"; done

# --- 3. streaming: 200 deltas of 100 B ----------------------------------------------------------
for p in a b c d; do run_sse "$p"; done
run_grpc sse_e "$GW_GRPC_PORT" stream
run_grpc sse_bare "$BARE_PORT" stream

# --- 4. N concurrent open streams (dripping one event a second) -------------------------------
# A proxy holds two descriptors per stream (client + upstream): under the hard limit it can
# hold at most (limit - margin) / 2; nginx, the Python peer and the REST gateway are capped there.
PROXY_HOLD=$(( HOLD < (NOFILE - 200) / 2 ? HOLD : (NOFILE - 200) / 2 ))
echo "$HOLD $PROXY_HOLD $NOFILE" >"$WORK/hold.limits"
if ((!SKIP_HOLD)); then
  fresh_gateway() {  # stop the gateway, start a new one, warm both doors for a second
    stop_pid "$GW_PID"
    start_gateway
    TARGET[d]="127.0.0.1:$GW_HTTP_PORT"
    SERVER_PID[d]="$GW_PID"
    SERVER_PID[e]="$GW_PID"
    wait_ready d
    "${LOAD_PIN[@]}" "$SSE_LOAD_BIN" --target "${TARGET[d]}" --path "${URLPATH[d]}" \
      --body-file "$WORK/d.sse.body" --header 'Content-Type: application/json' \
      --concurrency "$CONNECTIONS" --seconds 1 >/dev/null 2>&1 || true
    "${LOAD_PIN[@]}" "$GRPC_LOAD_BIN" --target "127.0.0.1:$GW_GRPC_PORT" --rpc stream \
      --concurrency "$CONNECTIONS" --seconds 1 --text "$QUESTION" >/dev/null 2>&1 || true
  }
  sse_hold() {  # sse_hold PATH N
    run_hold "$1" "${SERVER_PID[$1]}" "$2" "$SSE_LOAD_BIN" --target "${TARGET[$1]}" \
      --path "${URLPATH[$1]}" --body-file "$WORK/$1.hold.body" --header "$AUTH_HEADER" \
      --header 'Content-Type: application/json' --hold "$2" --hold-seconds "$HOLD_SECONDS"
  }
  fresh_gateway
  sse_hold d "$PROXY_HOLD"
  fresh_gateway
  run_hold e "$GW_PID" "$HOLD" "$GRPC_LOAD_BIN" --target "127.0.0.1:$GW_GRPC_PORT" --rpc stream \
    --text "$HOLD_QUESTION" --hold "$HOLD" --hold-seconds "$HOLD_SECONDS" --channels 4
  sse_hold b "$PROXY_HOLD"
  sse_hold c "$PROXY_HOLD"
  # The Python peer keeps relaying streams whose client left (see upstream_left_open): stop it
  # so those upstream streams end before the cancel measurement.
  stop_pid "$PY_PID"
  settle_upstream 200
fi

# --- 5. cancel-to-upstream-close (its own emulator and gateway child, see cancel_latency.sh) ---
echo "== cancel_latency: $CANCEL_ITERATIONS rounds"
"${LOAD_PIN[@]}" "$CANCEL_BIN" --gateway "$GATEWAY_BIN" --iterations "$CANCEL_ITERATIONS" \
  --warmup 5 --out "$WORK/cancel.md" >"$WORK/cancel.log" 2>&1 || true

# --- report ----------------------------------------------------------------------------------
mkdir -p "$RESULTS"
cpu_model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
"$PY" "$HERE/report.py" --dir "$WORK" --out "$RESULTS/latest.md" \
  --command "$COMMAND" --date "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" --nproc "$(nproc)" \
  --cpu "$cpu_model" --load "$LOAD_BEFORE" --load-after "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --pinning "$PINNING" --seconds "$DURATION" --warmup "$WARMUP" --connections "$CONNECTIONS" \
  --bench-answer "$BENCH_ANSWER" --readme "$HERE/README.md" --commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
    git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
echo
cat "$RESULTS/latest.md"
