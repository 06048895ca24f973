#!/usr/bin/env bash
# Soak: mixed load with random client cancels and random upstream faults against the real
# agent-gateway and supervisor-emulator binaries, on loopback only, for a bounded time.
#
#   tests/bench/soak.sh [--minutes M] [--workers W] [--fault-rate F] [--cancel-rate C] [--seed N]
#                       [--warmup-seconds S] [--pause-ms MS] [--faults a,b,...] [--no-build] [--build-dir DIR]
#
# Builds Release into build-bench (agent-gateway, supervisor-emulator, soak_driver), starts the
# emulator and the gateway on ephemeral 127.0.0.1 ports (the gateway with 3 s upstream
# response/idle timeouts, so a hung upstream ends in an explicit error, and 1 s SSE
# heartbeats), then runs soak_driver: warm-up, RSS/fd sample, M minutes of load (default 20),
# idle, RSS/fd sample, summary. Exit code: soak_driver's (0 = nothing lost or duplicated, every
# call ended as it must, fds did not grow). The full log goes to tests/bench/results/soak.log.
# Every process it starts is stopped on exit (by PID).
set -euo pipefail

MINUTES=20
DRIVER_ARGS=()
BUILD=1
BUILD_DIR=""
COMMAND="tests/bench/soak.sh${*:+ $*}"
usage() { sed -n '4,5p' "$0" | sed 's/^# *//'; }
while (($#)); do
  case "$1" in
    --minutes) MINUTES="$2"; shift 2 ;;
    --workers|--fault-rate|--cancel-rate|--seed|--warmup-seconds|--pause-ms|--faults)
      DRIVER_ARGS+=("$1" "$2"); shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --build-dir) BUILD_DIR="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "soak.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-bench}"
LOG="$HERE/results/soak.log"
WORK="$(mktemp -d /tmp/ag-soak.XXXXXX)"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ((BUILD)); then
  echo "== build (Release, $BUILD_DIR)"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAG_BUILD_TESTS=ON \
    >"$WORK/cmake.log" 2>&1 || { tail -30 "$WORK/cmake.log" >&2; exit 1; }
  ninja -C "$BUILD_DIR" -j2 agent-gateway supervisor-emulator soak_driver \
    >"$WORK/ninja.log" 2>&1 || { tail -40 "$WORK/ninja.log" >&2; exit 1; }
fi
EMULATOR_BIN="$BUILD_DIR/tests/emulator/supervisor-emulator"
GATEWAY_BIN="$BUILD_DIR/server/agent-gateway"
DRIVER_BIN="$BUILD_DIR/tests/bench/soak_driver"
for bin in "$EMULATOR_BIN" "$GATEWAY_BIN" "$DRIVER_BIN"; do
  [[ -x "$bin" ]] || { echo "soak.sh: $bin not built" >&2; exit 1; }
done

# Starts a server in the background (PID kept for cleanup) and waits, bounded, for a line
# matching PATTERN in its stdout. Not called in $(...): the PID must land in this shell's PIDS.
start_server() {  # start_server NAME PATTERN COMMAND...
  local name="$1" pattern="$2" pid
  shift 2
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  pid="$!"
  PIDS+=("$pid")
  STARTED_PID="$pid"
  for _ in $(seq 100); do
    grep -qE "$pattern" "$WORK/$name.out" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "soak.sh: $name did not start:" >&2
  cat "$WORK/$name.out" "$WORK/$name.err" >&2
  exit 1
}

start_server emulator 'listening on http://' "$EMULATOR_BIN" --listen 127.0.0.1:0 --threads 1
EMU_PORT="$(sed -nE 's#.*listening on http://127\.0\.0\.1:([0-9]+).*#\1#p' "$WORK/emulator.out")"
EMU="http://127.0.0.1:$EMU_PORT"

cat >"$WORK/gateway.yaml" <<YAML
upstream:
  response_timeout_ms: 3000
  read_idle_timeout_ms: 3000
listen:
  http: {sse_heartbeat_ms: 1000}
default_profile: default
profiles:
  default:
    model: databricks-claude-sonnet-4-5
    instructions: You are a helpful data assistant. Use the tools when the question needs them.
    tools:
      - type: genie_space
        genie_space: {id: sales, description: "Sales figures by region and quarter"}
      - type: uc_function
        uc_function: {name: system.ai.python_exec, description: "Runs Python code"}
      - type: knowledge_assistant
        knowledge_assistant: {knowledge_assistant_id: handbook, description: "The employee handbook"}
YAML
AGENT_GATEWAY_LOG_LEVEL=warning start_server gateway '^  gRPC +: ' "$GATEWAY_BIN" \
  --config "$WORK/gateway.yaml" --http-listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 \
  --upstream "$EMU/ai-gateway/mlflow/v1"
GATEWAY_PID="$STARTED_PID"
GW_HTTP_PORT="$(sed -nE 's#^  REST +: POST http://127\.0\.0\.1:([0-9]+)/invocations.*#\1#p' "$WORK/gateway.out")"
GW_GRPC_PORT="$(sed -nE 's#^  gRPC +: 127\.0\.0\.1:([0-9]+).*#\1#p' "$WORK/gateway.out")"
[[ -n "$GW_HTTP_PORT" && -n "$GW_GRPC_PORT" ]] || { cat "$WORK/gateway.out" >&2; exit 1; }

mkdir -p "$(dirname "$LOG")"
{
  echo "soak: $COMMAND"
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
    git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
  echo "machine: nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "emulator $EMU (pid ${PIDS[0]}), gateway REST 127.0.0.1:$GW_HTTP_PORT gRPC 127.0.0.1:$GW_GRPC_PORT (pid $GATEWAY_PID)"
} | tee "$LOG"
set +e
"$DRIVER_BIN" --grpc "127.0.0.1:$GW_GRPC_PORT" --rest-port "$GW_HTTP_PORT" --emulator "$EMU" \
  --gateway-pid "$GATEWAY_PID" --minutes "$MINUTES" "${DRIVER_ARGS[@]}" 2>&1 | tee -a "$LOG"
status="${PIPESTATUS[0]}"
set -e
if ! kill -0 "$GATEWAY_PID" 2>/dev/null; then
  echo "soak.sh: the gateway died during the soak; its stderr:" | tee -a "$LOG" >&2
  tail -20 "$WORK/gateway.err" | tee -a "$LOG" >&2
  status=1
fi
echo "emulator stats at the end: $(curl -fsS --max-time 5 "$EMU/emulator/stats" || echo '?')" | tee -a "$LOG"
echo "gateway warnings/errors logged: $(grep -c . "$WORK/gateway.err" || true)" | tee -a "$LOG"
exit "$status"
