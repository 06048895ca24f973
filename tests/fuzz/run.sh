#!/usr/bin/env bash
# Builds the libFuzzer targets in their own clang build dir and runs each for N seconds.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]          long runs (default 600 s, all targets)
#   tests/fuzz/run.sh --ci [SECONDS] [TARGET...]     brief CI runs (default 30 s, all targets)
#   env: BUILD_DIR (default <repo>/build-fuzz), PARALLEL (targets at once, default 2)
#
# Both modes exit non-zero when any target leaves a finding (crash-*, leak-*, timeout-*, oom-*)
# or exits with an error, and print the findings. The seed corpus in tests/fuzz/corpus is only
# read; new units go to BUILD_DIR/tests/fuzz/<target>_corpus, findings and logs to
# BUILD_DIR/tests/fuzz/runs/<target>/ (a previous run's dir is kept as runs/<target>.prev).
#
# Long mode: each target runs as one worker (-fork=1 -ignore_crashes=1: a single job that keeps
# going after a finding, so the run lasts its full time). libFuzzer's exit status in fork mode
# is the last job's only (a crash in an earlier job can end in status 0), so findings are
# detected by the artifact files.
# CI mode: each target runs in-process (no fork) and stops at its first finding with a
# non-zero status (crash 1, leak/UBSan 77, timeout 70, oom 71); both the status and the
# artifact files are checked.
set -euo pipefail

MODE=long
if [ "${1:-}" = --ci ]; then MODE=ci; shift; fi
DEFAULT_SECONDS=600; [ "$MODE" = ci ] && DEFAULT_SECONDS=30
SECONDS_PER_TARGET=${1:-$DEFAULT_SECONDS}
shift || true
case $SECONDS_PER_TARGET in ''|*[!0-9]*) echo "run.sh: SECONDS must be a number" >&2; exit 2 ;; esac
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO/build-fuzz}
PARALLEL=${PARALLEL:-2}
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(sse_decoder_fuzz invocations_mapping_fuzz config_fuzz)

if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "== installing clang + libFuzzer runtime"
  SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang libclang-rt-14-dev
fi

t_start=$(date +%s)
echo "== configure + build $BUILD_DIR"
CC=clang CXX=clang++ cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAG_FUZZ=ON -DAG_SANITIZE="address;undefined" \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined" >/dev/null
cmake --build "$BUILD_DIR" -j2 --target "${TARGETS[@]}"
t_built=$(date +%s)

OUT=$BUILD_DIR/tests/fuzz
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

run_one() {
  local t=$1 dir=$OUT/runs/$1 rc=0
  if [ -d "$dir" ]; then rm -rf "$dir.prev"; mv "$dir" "$dir.prev"; fi
  mkdir -p "$dir" "$OUT/${t}_corpus"
  local mode_flags=(-fork=1 -ignore_crashes=1)
  [ "$MODE" = ci ] && mode_flags=(-print_final_stats=1)
  (cd "$dir" && "$OUT/$t" "${mode_flags[@]}" -max_total_time="$SECONDS_PER_TARGET" \
     -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$dir/" \
     "$OUT/${t}_corpus" "$REPO/tests/fuzz/corpus/$t" >run.log 2>&1) || rc=$?
  echo "$rc" >"$dir/exit_status"
}

# Prints one summary line and the findings of a target; returns 1 if it has any.
report() {
  local t=$1 dir=$OUT/runs/$1 execs secs rc
  rc=$(cat "$dir/exit_status" 2>/dev/null || echo '?')
  if [ "$MODE" = ci ]; then
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$dir/run.log" | tail -n 1)
    secs=$(sed -nE 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/p' "$dir/run.log" | tail -n 1)
  else
    local last
    last=$(grep -E '^#[0-9]+:' "$dir/run.log" | tail -n 1 || true)
    execs=$(sed -nE 's/^#([0-9]+):.*/\1/p' <<<"$last")
    secs=$(sed -nE 's/.* time: ([0-9]+)s.*/\1/p' <<<"$last")
  fi
  local findings
  findings=$(find "$dir" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
             -o -name 'oom-*' \) | sort)
  printf '%-26s exit=%s execs=%s time=%ss execs/s=%s corpus=%s files\n' "$t" "$rc" \
    "${execs:-?}" "${secs:-?}" \
    "$([ -n "$execs" ] && [ -n "$secs" ] && [ "$secs" -gt 0 ] && echo $((execs / secs)) || echo '?')" \
    "$(ls "$OUT/${t}_corpus" | wc -l)"
  if [ -n "$findings" ]; then
    echo "  findings:"; sed 's/^/    /' <<<"$findings"
    grep -hE 'ERROR: |runtime error:|terminate called|what\(\)|invariant violated' \
      "$dir"/*.log "$dir"/*/*.log 2>/dev/null | sed -E 's/==[0-9]+==//; s/0x[0-9a-f]+//g' \
      | sort | uniq -c | sed 's/^/    /' | head -n 20
    return 1
  fi
  # Long mode: a non-zero status without an artifact is the last job's, already reported above
  # if it was a finding. CI mode: any non-zero status is a failure (bad flags, missing corpus,
  # a finding whose artifact could not be written).
  if [ "$MODE" = ci ] && [ "$rc" != 0 ]; then
    echo "  failed with exit status $rc, no artifact; last lines of $dir/run.log:"
    tail -n 15 "$dir/run.log" | sed 's/^/    /'
    return 1
  fi
  echo "  findings: none"
}

echo "== fuzzing ${TARGETS[*]} for ${SECONDS_PER_TARGET}s each, $PARALLEL at a time ($MODE mode)"
running=0
for t in "${TARGETS[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$PARALLEL" ]; then wait -n; running=$((running - 1)); fi
done
wait
t_end=$(date +%s)
echo "== results (build $((t_built - t_start))s, fuzzing $((t_end - t_built))s)"
failed=()
for t in "${TARGETS[@]}"; do report "$t" || failed+=("$t"); done
if [ ${#failed[@]} -gt 0 ]; then
  echo "== FAILED: findings in ${failed[*]} (reproduce: $OUT/<target> <artifact>)" >&2
  exit 1
fi
echo "== no findings"
