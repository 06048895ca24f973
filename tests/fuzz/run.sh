#!/usr/bin/env bash
# Builds the libFuzzer targets in their own clang build dir and runs each for N seconds.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]     (default 600 s, all targets)
#   env: BUILD_DIR (default <repo>/build-fuzz), PARALLEL (targets at once, default 2)
#
# Each target runs as one worker (-fork=1 -ignore_crashes=1, i.e. a single job that keeps going
# after a finding so the run lasts its full time); new units go to BUILD_DIR/tests/fuzz/
# <target>_corpus, findings (crash-*, leak-*, timeout-*, oom-*) and logs to
# BUILD_DIR/tests/fuzz/runs/<target>/. The seed corpus in tests/fuzz/corpus is only read.
set -euo pipefail

SECONDS_PER_TARGET=${1:-600}
shift || true
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

echo "== configure + build $BUILD_DIR"
CC=clang CXX=clang++ cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAG_FUZZ=ON -DAG_SANITIZE="address;undefined" \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined" >/dev/null
cmake --build "$BUILD_DIR" -j2 --target "${TARGETS[@]}"

OUT=$BUILD_DIR/tests/fuzz
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

run_one() {
  local t=$1 dir=$OUT/runs/$1
  mkdir -p "$dir" "$OUT/${t}_corpus"
  (cd "$dir" && "$OUT/$t" -fork=1 -ignore_crashes=1 -max_total_time="$SECONDS_PER_TARGET" \
     -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$dir/" \
     "$OUT/${t}_corpus" "$REPO/tests/fuzz/corpus/$t" >run.log 2>&1) || true
}

report() {
  local t=$1 dir=$OUT/runs/$1 last execs secs
  last=$(grep -E '^#[0-9]+:' "$dir/run.log" | tail -n 1 || true)
  execs=$(sed -nE 's/^#([0-9]+):.*/\1/p' <<<"$last")
  secs=$(sed -nE 's/.* time: ([0-9]+)s.*/\1/p' <<<"$last")
  local findings
  findings=$(find "$dir" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'leak-*' \
             -o -maxdepth 1 -name 'timeout-*' -o -maxdepth 1 -name 'oom-*' | sort)
  printf '%-26s execs=%s time=%ss execs/s=%s corpus=%s files\n' "$t" "${execs:-?}" "${secs:-?}" \
    "$([ -n "$execs" ] && [ -n "$secs" ] && [ "$secs" -gt 0 ] && echo $((execs / secs)) || echo '?')" \
    "$(ls "$OUT/${t}_corpus" | wc -l)"
  if [ -n "$findings" ]; then
    echo "  findings:"; sed 's/^/    /' <<<"$findings"
    grep -hE 'ERROR: |terminate called|what\(\)|invariant violated' "$dir"/*.log "$dir"/*/*.log \
      2>/dev/null | sed -E 's/==[0-9]+==//; s/0x[0-9a-f]+//g' | sort | uniq -c | sed 's/^/    /' \
      | head -n 20
  else
    echo "  findings: none"
  fi
}

echo "== fuzzing ${TARGETS[*]} for ${SECONDS_PER_TARGET}s each, $PARALLEL at a time"
running=0
for t in "${TARGETS[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$PARALLEL" ]; then wait -n; running=$((running - 1)); fi
done
wait
echo "== results"
for t in "${TARGETS[@]}"; do report "$t"; done
