#!/usr/bin/env bash
# Cancel-to-upstream-close of the real agent-gateway process (issue 4; target 50 ms).
#
#   tests/bench/cancel_latency.sh [--iterations N] [--warmup W] [--deadline-ms D] [--no-build]
#
# Builds Release into build-bench (agent-gateway, cancel_latency), then runs cancel_latency:
# the emulator in its process (TLS, with its close hook), agent-gateway as its child process.
# Writes tests/bench/results/cancel_latency.md (the table plus date, machine and command) and
# prints it. cancel_latency ends its child on every path.
set -euo pipefail

ITERATIONS=200
WARMUP=5
DEADLINE_MS=200
BUILD=1
COMMAND="tests/bench/cancel_latency.sh${*:+ $*}"
usage() { sed -n '4,4p' "$0" | sed 's/^# *//'; }
while (($#)); do
  case "$1" in
    --iterations) ITERATIONS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --deadline-ms) DEADLINE_MS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "cancel_latency.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD_DIR="$ROOT/build-bench"
OUT="$HERE/results/cancel_latency.md"
WORK="$(mktemp -d /tmp/ag-cancel.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

if ((BUILD)); then
  echo "== build (Release, $BUILD_DIR)"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAG_BUILD_TESTS=ON \
    >"$WORK/cmake.log" 2>&1 || { tail -30 "$WORK/cmake.log" >&2; exit 1; }
  ninja -C "$BUILD_DIR" -j2 agent-gateway cancel_latency \
    >"$WORK/ninja.log" 2>&1 || { tail -40 "$WORK/ninja.log" >&2; exit 1; }
fi
GATEWAY_BIN="$BUILD_DIR/server/agent-gateway"
BENCH_BIN="$BUILD_DIR/tests/bench/cancel_latency"
for bin in "$GATEWAY_BIN" "$BENCH_BIN"; do
  [[ -x "$bin" ]] || { echo "cancel_latency.sh: $bin not built" >&2; exit 1; }
done

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "== cancel_latency: $ITERATIONS rounds (+$WARMUP warm-up) of 6 cases"
status=0
"$BENCH_BIN" --gateway "$GATEWAY_BIN" --iterations "$ITERATIONS" --warmup "$WARMUP" \
  --deadline-ms "$DEADLINE_MS" --out "$WORK/table.md" || status=$?
[[ -s "$WORK/table.md" ]] || { echo "cancel_latency.sh: no results (exit $status)" >&2; exit 1; }

mkdir -p "$(dirname "$OUT")"
{
  echo "**cancel-to-upstream-close** (agent-gateway process, Release)"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "- command: \`$COMMAND\`"
  echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
    git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
  echo "- machine: \`nproc\` = $(nproc), CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- $ITERATIONS measured rounds after $WARMUP discarded; each round runs the six cases once, one call at a time"
  echo
  cat "$WORK/table.md"
} >"$OUT"
echo
cat "$OUT"
exit "$status"
