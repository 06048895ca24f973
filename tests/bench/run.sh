#!/usr/bin/env bash
# Gateway overhead benchmark: the same upstream work straight to the Supervisor API emulator
# and through agent-gateway, side by side in one run, on loopback only.
#
#   tests/bench/run.sh [--seconds S] [--warmup W] [--connections C] [--no-pin] [--no-build]
#
# Builds Release into build-bench, starts supervisor-emulator and agent-gateway on ephemeral
# 127.0.0.1 ports, then measures (wrk for REST, grpc_load for gRPC):
#   REST JSON  : emulator POST .../responses          vs gateway POST /invocations
#   REST SSE   : the same with "stream": true
#   gRPC       : AgentService.Stream and .Invoke through the gateway (grpc_load)
# Writes tests/bench/results/latest.md and prints it. Every process it starts is stopped on exit.
set -euo pipefail

DURATION=10
WARMUP=2
CONNECTIONS=16
PIN=1
BUILD=1
COMMAND="tests/bench/run.sh${*:+ $*}"
usage() { sed -n '4,5p' "$0" | sed 's/^# *//'; }
while (($#)); do
  case "$1" in
    --seconds) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --no-pin) PIN=0; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -ge 1 ]] || { echo "--seconds: whole seconds >= 1" >&2; exit 2; }
[[ "$WARMUP" =~ ^[0-9]+$ ]] || { echo "--warmup: whole seconds >= 0" >&2; exit 2; }
[[ "$CONNECTIONS" =~ ^[0-9]+$ && "$CONNECTIONS" -ge 1 ]] || { echo "--connections: >= 1" >&2; exit 2; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD_DIR="$ROOT/build-bench"
RESULTS="$HERE/results"
PY="${PYTHON:-python3}"
for tool in wrk curl taskset "$PY"; do
  command -v "$tool" >/dev/null || { echo "run.sh: '$tool' not found (scripts/setup.sh)" >&2; exit 2; }
done

WORK="$(mktemp -d /tmp/ag-bench.XXXXXX)"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build ---------------------------------------------------------------------------------
if ((BUILD)); then
  echo "== build (Release, $BUILD_DIR)"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAG_BUILD_TESTS=ON \
    >"$WORK/cmake.log" 2>&1 || { tail -30 "$WORK/cmake.log" >&2; exit 1; }
  ninja -C "$BUILD_DIR" -j2 agent-gateway supervisor-emulator grpc_load \
    >"$WORK/ninja.log" 2>&1 || { tail -40 "$WORK/ninja.log" >&2; exit 1; }
fi
find_bin() {
  local found
  found="$(find "$BUILD_DIR" -type f -name "$1" -perm -u+x 2>/dev/null | head -1)"
  [[ -n "$found" ]] || { echo "run.sh: $1 not built in $BUILD_DIR" >&2; exit 1; }
  echo "$found"
}
EMULATOR_BIN="$(find_bin supervisor-emulator)"
GATEWAY_BIN="$(find_bin agent-gateway)"
GRPC_LOAD_BIN="$(find_bin grpc_load)"

# --- pinning: load generator on CPU 0, both servers on CPU 1 (2+ cores only) ----------------
LOAD_PIN=()
SERVER_PIN=()
PINNING="none"
if ((PIN)) && (($(nproc) >= 2)); then
  LOAD_PIN=(taskset -c 0)
  SERVER_PIN=(taskset -c 1)
  PINNING="load generator on CPU 0; emulator and gateway on CPU 1 (taskset)"
fi

# Starts a server in the background (its PID is recorded for cleanup) and waits, bounded, for
# a line matching PATTERN in its output; sets STARTED_LINE to that line.
# Not called in $(...): the PID must land in this shell's PIDS.
start_server() {  # start_server NAME PATTERN COMMAND...
  local name="$1" log="$WORK/$1.log" pattern="$2" pid
  shift 2
  "${SERVER_PIN[@]}" "$@" >"$log" 2>&1 &
  pid="$!"
  PIDS+=("$pid")
  for _ in $(seq 100); do
    STARTED_LINE="$(grep -m1 -E "$pattern" "$log" || true)"
    [[ -n "$STARTED_LINE" ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "run.sh: $name did not start; its output:" >&2
  cat "$log" >&2
  exit 1
}
wait_http() {  # bounded poll of a GET URL until it answers 200
  for _ in $(seq 50); do
    curl -fsS --max-time 1 -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "run.sh: $1 not ready" >&2
  exit 1
}

echo "== start servers"
start_server emulator 'listening on http://' \
  "$EMULATOR_BIN" --listen 127.0.0.1:0 --threads 1
EMU_PORT="${STARTED_LINE##*:}"
EMU_PORT="${EMU_PORT%%[^0-9]*}"
EMU="http://127.0.0.1:$EMU_PORT"
RESPONSES_URL="$EMU/ai-gateway/mlflow/v1/responses"
wait_http "$EMU/emulator/stats"

start_server gateway '^  gRPC +: ' "$GATEWAY_BIN" \
  --http-listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 \
  --upstream "$EMU/ai-gateway/mlflow/v1"
GW_HTTP_PORT="$(sed -nE 's#^  REST +: POST http://127\.0\.0\.1:([0-9]+)/invocations.*#\1#p' "$WORK/gateway.log")"
GW_GRPC_PORT="$(sed -nE 's#^  gRPC +: 127\.0\.0\.1:([0-9]+).*#\1#p' "$WORK/gateway.log")"
[[ -n "$GW_HTTP_PORT" && -n "$GW_GRPC_PORT" ]] || { cat "$WORK/gateway.log" >&2; exit 1; }
GW="http://127.0.0.1:$GW_HTTP_PORT"
wait_http "$GW/health"
echo "   emulator $EMU, gateway REST $GW, gRPC 127.0.0.1:$GW_GRPC_PORT; pinning: $PINNING"

# --- bodies: the gateway's own request, and the exact body it sent upstream -----------------
printf '%s' '{"input":[{"role":"user","content":"hi"}]}' >"$WORK/gw_json.body"
printf '%s' '{"input":[{"role":"user","content":"hi"}],"stream":true}' >"$WORK/gw_sse.body"
# One POST, checked for status 200 and a marker in the answer ("" skips the marker check).
check_post() {
  local url="$1" body="$2" marker="$3" auth=()
  [[ "$url" == "$RESPONSES_URL" ]] && auth=(-H 'Authorization: Bearer x')
  local status
  status="$(curl -sS --max-time 10 -o "$WORK/answer" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' "${auth[@]}" --data-binary "@$body" "$url")"
  if [[ "$status" != 200 ]] || ! grep -q -- "$marker" "$WORK/answer"; then
    echo "run.sh: POST $url -> $status, expected 200 with '$marker':" >&2
    head -c 600 "$WORK/answer" >&2
    exit 1
  fi
}
upstream_body() {  # the body of the last request the emulator received
  curl -fsS --max-time 5 "$EMU/emulator/requests/last" |
    "$PY" -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)["body"])' >"$1"
}
check_post "$GW/invocations" "$WORK/gw_json.body" '"output"'
upstream_body "$WORK/direct_json.body"
check_post "$GW/invocations" "$WORK/gw_sse.body" 'response.completed'
upstream_body "$WORK/direct_sse.body"
check_post "$RESPONSES_URL" "$WORK/direct_json.body" '"output"'
check_post "$RESPONSES_URL" "$WORK/direct_sse.body" 'response.completed'

# --- measure -------------------------------------------------------------------------------
lua_for() {  # lua_for BODYFILE AUTH(0|1) > script
  "$PY" - "$1" "$2" <<'EOF'
import sys
body = open(sys.argv[1]).read()
level = "=" * next(n for n in range(1, 20) if "]" + "=" * n + "]" not in body)
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
if sys.argv[2] == "1":
    print('wrk.headers["Authorization"] = "Bearer x"')
print(f"wrk.body = [{level}[{body}]{level}]")
EOF
}
# The emulator's counters are zeroed before each scenario and saved after it, as a check that
# every gateway call really reached upstream (counts include the warm-up).
reset_upstream() { curl -fsS --max-time 5 -X POST -o /dev/null "$EMU/emulator/reset"; }
save_upstream() { curl -fsS --max-time 5 -o "$WORK/$1.stats" "$EMU/emulator/stats"; }
run_wrk() {  # run_wrk NAME URL BODYFILE AUTH
  local lua="$WORK/$1.lua"
  reset_upstream
  lua_for "$3" "$4" >"$lua"
  if ((WARMUP > 0)); then
    "${LOAD_PIN[@]}" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$lua" "$2" >/dev/null
  fi
  echo "== wrk $1 (${DURATION}s)"
  "${LOAD_PIN[@]}" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$lua" "$2" \
    | tee "$WORK/$1.wrk" | sed -n '/Requests\/sec/p'
  save_upstream "$1"
}
run_grpc() {  # run_grpc NAME RPC
  echo "== grpc_load $1 (${DURATION}s)"
  reset_upstream
  "${LOAD_PIN[@]}" "$GRPC_LOAD_BIN" --target "127.0.0.1:$GW_GRPC_PORT" --rpc "$2" \
    --concurrency "$CONNECTIONS" --seconds "$DURATION" --warmup "$WARMUP" \
    >"$WORK/$1.json" 2>"$WORK/$1.err" || true
  cat "$WORK/$1.json" "$WORK/$1.err"
  save_upstream "$1"
}
run_wrk json_direct "$RESPONSES_URL" "$WORK/direct_json.body" 1
run_wrk json_gateway "$GW/invocations" "$WORK/gw_json.body" 0
run_wrk sse_direct "$RESPONSES_URL" "$WORK/direct_sse.body" 1
run_wrk sse_gateway "$GW/invocations" "$WORK/gw_sse.body" 0
run_grpc grpc_stream stream
run_grpc grpc_invoke invoke

# --- report --------------------------------------------------------------------------------
mkdir -p "$RESULTS"
cpu_model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
"$PY" "$HERE/report.py" --dir "$WORK" --out "$RESULTS/latest.md" \
  --command "$COMMAND" --date "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" --nproc "$(nproc)" \
  --cpu "$cpu_model" --load "$(cut -d' ' -f1-3 /proc/loadavg)" --pinning "$PINNING" \
  --seconds "$DURATION" --warmup "$WARMUP" --connections "$CONNECTIONS" \
  --commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
    git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
echo
cat "$RESULTS/latest.md"
