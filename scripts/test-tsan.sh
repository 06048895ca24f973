#!/usr/bin/env bash
# Builds the multi-threaded test programs with ThreadSanitizer and runs them (issue 4, "Prove it").
# Separate build dir: build-tsan (or $BUILD_DIR). Exit status: non-zero when a test fails or
# TSan reports anything not covered by tests/tsan/tsan.supp (TSan's exit code 66).
#
#   scripts/test-tsan.sh [GTEST_FILTER]      env: BUILD_DIR, JOBS (build, default 2)
#
# The default filter runs every test except ScrubSecretsTest.IsLinearOnHostileMegabyteInputs, a
# single-threaded speed bound (< 2 s on megabyte inputs) that TSan's 5-15x slowdown breaks.
#
# What runs: each gtest program whose code under test has threads, as one process per program
# (not ctest's one process per test): integration_tests (whole path, faults, identity incl.
# 1000 calls from 50 users), upstream_tests (HTTPS pool), gateway_tests (Beast listener, SSE
# streams, heartbeats), server_tests (AgentService reactors), identity_tests (token refresh
# with many waiters) and emulator_tests. One process per program keeps TSan's start-up cost
# (gRPC, shadow memory) to six, and races between a test's leftovers and the next test are seen
# too. Programs run one after another: the timing tests have generous bounds, but TSan is 5-15x
# slower and the machine is shared.
#
# Build: RelWithDebInfo with -O1 -g1 (no -DNDEBUG, so asserts stay on): -O0 makes TSan runs
# slow, -O2 blurs stacks. -Wno-tsan: g++ warns that atomic_thread_fence (Asio's fenced_block)
# is not modelled by TSan; Asio's hand-offs between threads also go through pthread mutexes,
# which TSan intercepts.
#
# Debian's gRPC, protobuf, abseil and OpenSSL are shared libraries built without TSan, so TSan
# does not see their synchronization. Two small interposers in tests/tsan/, built here and
# LD_PRELOADed into the test programs, tell TSan about the ones our code relies on:
# absl_sync_annotations.cc (absl::Mutex, CondVar, Notification, ours and gRPC's) and
# grpc_batch_annotations.cc (a gRPC batch's start happens before its completion; a message's
# serialization before its parsing). What is left inside those libraries is suppressed by
# tests/tsan/tsan.supp, which explains every entry and names no code of ours.
# Reports land in $BUILD_DIR/tsan/<program>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
bash scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build-tsan}
JOBS=${JOBS:-2}
FILTER=${1:-*-ScrubSecretsTest.IsLinearOnHostileMegabyteInputs}
PROGRAMS=(
  tests/integration/integration_tests
  tests/server/upstream/upstream_tests
  tests/gateway/gateway_tests
  tests/server/server_tests
  tests/server/identity/identity_tests
  tests/emulator/emulator_tests
)

start=$(date +%s)
cmake -S . -B "$BUILD_DIR" -G Ninja -DAG_BUILD_TESTS=ON -DAG_SANITIZE=thread \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DCMAKE_CXX_FLAGS=-Wno-tsan >/dev/null
# AG_SANITIZE must reach every compile and link line: an uninstrumented TU of ours would hide
# races instead of reporting them.
total=$(grep -c '"file":' "$BUILD_DIR/compile_commands.json")
with=$(grep -c -- '-fsanitize=thread' "$BUILD_DIR/compile_commands.json")
if [ "$total" -ne "$with" ]; then
  echo "test-tsan: only $with of $total compile commands have -fsanitize=thread" >&2
  exit 2
fi
cmake --build "$BUILD_DIR" -j"$JOBS" --target "${PROGRAMS[@]##*/}" agent_proto
built=$(date +%s)

LOGS=$BUILD_DIR/tsan
mkdir -p "$LOGS"
SHIM=$LOGS/libag_tsan_annotations.so
${CXX:-c++} -std=c++20 -O1 -g -fPIC -shared -Wall -Wextra -o "$SHIM" \
  tests/tsan/absl_sync_annotations.cc tests/tsan/grpc_batch_annotations.cc -ldl
# The canary (tests/tsan/canary.cc) uses the generated AgentService code of this build.
${CXX:-c++} -std=c++20 -O1 -g1 -fsanitize=thread -Wno-tsan -I"$BUILD_DIR/proto" \
  -o "$LOGS/canary" tests/tsan/canary.cc "$BUILD_DIR/proto/libagent_proto.a" \
  $(pkg-config --libs grpc++ protobuf)
# halt_on_error=0: keep running after a report so one run lists them all; exitcode=66 then marks
# the program failed at exit. history_size=4: enough history for the "previous access" stack of
# reports from long tests.
export TSAN_OPTIONS="suppressions=$REPO/tests/tsan/tsan.supp halt_on_error=0 exitcode=66 \
history_size=4 second_deadlock_stack=1 print_suppressions=0"

failed=0
# First the canary: the annotations and suppressions must leave a real race in our code visible
# (racy: at least one report) and add no report of their own (correct: none).
canary() {
  timeout 300 env LD_PRELOAD="$SHIM" "$LOGS/canary" "$1" >"$LOGS/canary-$1.log" 2>&1
}
rc=0; canary correct || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "test-tsan: canary (correct) failed with $rc; see $LOGS/canary-correct.log" >&2
  failed=1
fi
rc=0; canary racy || rc=$?
if [ "$rc" -ne 66 ]; then
  echo "test-tsan: canary (racy) exited $rc, not 66: a real race went unreported" >&2
  failed=1
fi
echo "canary: correct $(grep -c '^WARNING: ThreadSanitizer' "$LOGS/canary-correct.log" || true)" \
  "reports, racy $(grep -c '^WARNING: ThreadSanitizer' "$LOGS/canary-racy.log" || true) report(s)"

printf '%-18s %8s %7s %7s %8s %s\n' program tests passed failed reports status
summary=()
for p in "${PROGRAMS[@]}"; do
  name=${p##*/}
  bin=$BUILD_DIR/$p
  if ! ldd "$bin" | grep libtsan >/dev/null; then
    echo "test-tsan: $bin is not linked with libtsan" >&2
    exit 2
  fi
  t0=$(date +%s)
  rc=0
  timeout 1800 env LD_PRELOAD="$SHIM" "$bin" --gtest_filter="$FILTER" >"$LOGS/$name.log" 2>&1 || rc=$?
  secs=$(($(date +%s) - t0))
  ran=$(sed -nE 's/^\[==========\] ([0-9]+) tests? from .* ran\..*/\1/p' "$LOGS/$name.log")
  passed=$(sed -nE 's/^\[  PASSED  \] ([0-9]+) tests?\..*/\1/p' "$LOGS/$name.log")
  nfail=$(sed -nE 's/^\[  FAILED  \] ([0-9]+) tests?, listed below:.*/\1/p' "$LOGS/$name.log")
  reports=$(grep -c '^WARNING: ThreadSanitizer' "$LOGS/$name.log" || true)
  case $rc in
    0) status=ok ;;
    66) status="tsan reports" ;;
    124) status="timed out" ;;
    *) status="exit $rc" ;;
  esac
  [ "$rc" -eq 0 ] || failed=1
  summary+=("$(printf '%-18s %8s %7s %7s %8s %s (%ss)' "$name" "${ran:-?}" "${passed:-0}" \
    "${nfail:-0}" "$reports" "$status" "$secs")")
  echo "${summary[-1]}"
done

end=$(date +%s)
echo "test-tsan: build $((built - start))s, tests $((end - built))s; logs in $LOGS/"
if [ "$failed" -ne 0 ]; then
  # The first lines of each report name the racing frames; the full stacks are in the logs.
  for p in "${PROGRAMS[@]}"; do
    grep -h -A3 -E '^WARNING: ThreadSanitizer|^SUMMARY: ThreadSanitizer' "$LOGS/${p##*/}.log"
  done | head -n 80 || true
  echo "test-tsan: FAILED" >&2
  exit 1
fi
echo "test-tsan: all passed, no unsuppressed TSan report"
