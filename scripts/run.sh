#!/usr/bin/env bash
# Quick start: install what is needed, build, and run the gateway against the local
# Supervisor API emulator. Ctrl-C stops both.
#
#   HTTP_PORT (default 8000), GRPC_PORT (50051), EMULATOR_PORT (9000) move the ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh

HTTP_PORT=${HTTP_PORT:-${DATABRICKS_APP_PORT:-8000}}
GRPC_PORT=${GRPC_PORT:-50051}
EMULATOR_PORT=${EMULATOR_PORT:-9000}
BUILD_DIR=${BUILD_DIR:-build}

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$BUILD_DIR/tests/emulator/supervisor-emulator" --listen "127.0.0.1:$EMULATOR_PORT" &
pids+=($!)
echo "(this is the local Supervisor API *emulator*, a stand-in for Databricks, on port $EMULATOR_PORT)"

"$BUILD_DIR/server/agent-gateway" \
  --http-listen "127.0.0.1:$HTTP_PORT" --grpc-listen "127.0.0.1:$GRPC_PORT" \
  --upstream "http://127.0.0.1:$EMULATOR_PORT/ai-gateway/mlflow/v1" "$@" &
pids+=($!)
cat <<MSG

Try it:
  open http://127.0.0.1:$HTTP_PORT/ in a browser (chat page), or
  curl -s http://127.0.0.1:$HTTP_PORT/invocations -H 'Content-Type: application/json' \\
       -d '{"input":[{"role":"user","content":"How did sales do last quarter?"}]}'
  curl -sN http://127.0.0.1:$HTTP_PORT/invocations -H 'Content-Type: application/json' \\
       -d '{"input":[{"role":"user","content":"Hello"}],"stream":true}'
Ctrl-C stops the gateway and the emulator.
MSG
wait -n "${pids[@]}"
