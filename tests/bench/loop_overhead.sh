#!/usr/bin/env bash
# Issue-9 benchmark: what the gateway's own agent loop (engine: local) costs per step, apart
# from the model's and the tools' time.
#
#   tests/bench/loop_overhead.sh [--seconds S] [--connections C] [--no-build]
#
# One supervisor-emulator (its scripted Chat Completions model and Genie MCP server answer at
# once) and one agent-gateway, both Release builds on CPU 1; wrk on CPU 0 POSTs the same
# /agents/{profile}/invocations request for S seconds with C connections to each profile:
#   supervisor  one Supervisor API call per request (the reference: one upstream call)
#   loop-1      engine: local, no tools: one model turn per request
#   loop-2      engine: local, a Genie tool: model turn, tool call, model turn (two steps)
# Gateway time is the gateway process's CPU time (utime + stime from /proc/PID/stat) over the
# measured requests: the model and the tools run in the emulator, so none of their time is in
# it, and neither is the time spent waiting for them. Per step = per request / model turns.
# The model turns and tool calls per request are counted at the emulator (GET /emulator/calls),
# not assumed. Writes tests/bench/results/loop_overhead.md.
set -euo pipefail

DURATION=10
CONNECTIONS=4
BUILD=1
COMMAND="tests/bench/loop_overhead.sh${*:+ $*}"
while (($#)); do
  case "$1" in
    --seconds) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '5p' "$0" | sed 's/^# *//'; exit 0 ;;
    *) echo "loop_overhead.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for v in DURATION CONNECTIONS; do
  [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -ge 1 ]] || { echo "loop_overhead.sh: $v must be >= 1" >&2; exit 2; }
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD_DIR="$ROOT/build-bench"
PY=/usr/bin/python3
"$HERE/setup.sh"
for tool in wrk curl taskset "$PY"; do
  command -v "$tool" >/dev/null || { echo "loop_overhead.sh: '$tool' not found" >&2; exit 2; }
done

WORK="$(mktemp -d /tmp/ag-loop.XXXXXX)"
PIDS=()
SERVER_PIN=()
BENCH_NAME=loop_overhead.sh
# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

if ((BUILD)); then bench_build agent-gateway supervisor-emulator; fi
EMULATOR_BIN="$(find_bin supervisor-emulator)"
GATEWAY_BIN="$(find_bin agent-gateway)"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
LOAD_PIN=()
if (($(nproc) >= 2)); then LOAD_PIN=(taskset -c 0); SERVER_PIN=(taskset -c 1); fi

start_server emulator 'listening on http://' "$EMULATOR_BIN" --listen 127.0.0.1:0 --threads 1
EMU="http://127.0.0.1:${STARTED_LINE##*:}"
cat >"$WORK/gateway.yaml" <<EOF
upstream:
  base_url: $EMU/ai-gateway/mlflow/v1
  threads: 1
listen:
  http: {address: "127.0.0.1:0"}
  grpc: {address: "127.0.0.1:0"}
limits:
  drain_grace_ms: 0
default_profile: supervisor
profiles:
  supervisor:
    model: databricks-claude-sonnet-4-5
  loop-1:
    model: databricks-claude-sonnet-4-5
    engine: local
  loop-2:
    model: databricks-claude-sonnet-4-5
    engine: local
    tools: [{type: genie_space, genie_space: {id: 01ef5a, description: Sales data}}]
EOF
start_server gateway '^  gRPC +: ' env -u DATABRICKS_HOST -u DATABRICKS_TOKEN \
  -u DATABRICKS_CLIENT_ID -u DATABRICKS_CLIENT_SECRET "$GATEWAY_BIN" --config "$WORK/gateway.yaml"
GW_PID="$STARTED_PID"
GW_PORT="$(sed -nE 's#^  REST +: POST http://127\.0\.0\.1:([0-9]+)/invocations.*#\1#p' "$WORK/gateway.log")"
[[ -n "$GW_PORT" ]] || { cat "$WORK/gateway.log" >&2; exit 1; }
TICKS="$(getconf CLK_TCK)"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$GW_PID/stat"; }
# The emulator's records of one request to PROFILE: "MODEL_TURNS TOOL_CALLS".
upstream_per_request() {
  curl -fsS -X POST -o /dev/null "$EMU/emulator/reset"
  curl -fsS -o /dev/null -H 'Content-Type: application/json' --data-binary "@$WORK/$1.body" \
    "http://127.0.0.1:$GW_PORT/agents/$1/invocations"
  curl -fsS "$EMU/emulator/calls?limit=100" | "$PY" -c '
import json, sys
calls = json.load(sys.stdin)["calls"]
turns = sum(1 for c in calls if c["kind"] == "model")
tools = sum(1 for c in calls if c["kind"] == "mcp" and c.get("rpc_method") == "tools/call")
print(turns, tools)'
}

declare -A QUESTION=(
  [supervisor]="How did sales do last quarter?"
  [loop-1]="How did sales do last quarter?"
  [loop-2]="Ask query_space_01ef5a for sales by region"
)
ROWS=()
for p in supervisor loop-1 loop-2; do
  "$PY" -c 'import json, sys; print(json.dumps({"input": [{"role": "user", "content": sys.argv[1]}]}))' \
    "${QUESTION[$p]}" >"$WORK/$p.body"
  "$PY" - "$WORK/$p.body" >"$WORK/$p.lua" <<'EOF'
import sys
body = open(sys.argv[1]).read()
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print(f"wrk.body = [==[{body}]==]")
EOF
  if [[ "$p" == supervisor ]]; then
    read -r TURNS TOOLS <<<"1 0"  # one Supervisor API call (the emulator records only loops)
  else
    read -r TURNS TOOLS <<<"$(upstream_per_request "$p")"
  fi
  echo "== $p: $TURNS model turn(s), $TOOLS tool call(s) per request; wrk -c$CONNECTIONS ${DURATION}s"
  "${LOAD_PIN[@]}" wrk -t1 -c"$CONNECTIONS" -d2s -s "$WORK/$p.lua" \
    "http://127.0.0.1:$GW_PORT/agents/$p/invocations" >/dev/null  # warm-up
  before="$(cpu_ticks)"
  "${LOAD_PIN[@]}" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/$p.lua" \
    "http://127.0.0.1:$GW_PORT/agents/$p/invocations" >"$WORK/$p.wrk"
  after="$(cpu_ticks)"
  cat "$WORK/$p.wrk"
  ROWS+=("$("$PY" - "$WORK/$p.wrk" "$((after - before))" "$TICKS" "$TURNS" "$TOOLS" "$p" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
ticks, hz, turns, tools, name = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
requests = int(re.search(r"(\d+) requests in", text).group(1))
errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
def ms(label):
    m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)" % label, text, re.M)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
cpu_us = ticks * 1e6 / hz / max(requests, 1)
print(f"| {name} | {turns} | {tools} | {rps:,.1f} | {ms('50'):.2f} | {ms('99'):.2f} | {errors} | "
      f"{cpu_us:,.0f} | {cpu_us / max(turns, 1):,.0f} |")
EOF
)")
done

LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
OUT="$HERE/results/loop_overhead.md"
{
  echo "# Local engine: the gateway's cost per agent-loop step (issue 9)"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "- command: \`$COMMAND\`"
  echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- . ':!tests/bench/results' || echo ' + uncommitted changes')"
  echo "- machine: \`nproc\` = $(nproc); load average before: $LOAD_BEFORE; after: $LOAD_AFTER"
  echo "- wrk -t1 -c$CONNECTIONS, ${DURATION} s per profile after a 2 s warm-up; emulator and gateway on CPU 1, wrk on CPU 0"
  echo
  echo "Gateway CPU = the gateway process's utime + stime over the measured requests (clock ticks of 1/$TICKS s), divided by the requests; per step = divided again by the model turns of one request. The model and the Genie tool answer inside the emulator's process, so their time is not in it."
  echo
  echo "| profile | model turns / request | tool calls / request | req/s | p50 ms | p99 ms | errors | gateway CPU µs / request | gateway CPU µs / step |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
} >"$OUT"
echo "== wrote $OUT"
cat "$OUT"
