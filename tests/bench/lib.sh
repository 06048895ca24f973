# Shared by the benchmark scripts (run.sh, loop_overhead.sh); sourced, never run. The caller
# sets ROOT, BUILD_DIR, WORK, PIDS=() and SERVER_PIN=() (a taskset prefix, or empty), and
# BENCH_NAME (its own name, for messages).

# Stops every process in PIDS (TERM, then KILL after 5 s) and removes WORK, unless KEEP_WORK
# is set. For `trap bench_cleanup EXIT`.
bench_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "${KEEP_WORK:-}" ]]; then echo "$BENCH_NAME: work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}

# Release build of the given targets into BUILD_DIR (logs in WORK; their tail on failure).
bench_build() {  # bench_build TARGET...
  echo "== build (Release, $BUILD_DIR): $*"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAG_BUILD_TESTS=ON \
    >"$WORK/cmake.log" 2>&1 || { tail -30 "$WORK/cmake.log" >&2; exit 1; }
  ninja -C "$BUILD_DIR" -j2 "$@" \
    >"$WORK/ninja.log" 2>&1 || { tail -40 "$WORK/ninja.log" >&2; exit 1; }
}

# The path of an executable built in BUILD_DIR.
find_bin() {
  local found
  found="$(find "$BUILD_DIR" -type f -name "$1" -perm -u+x 2>/dev/null | head -1)"
  [[ -n "$found" ]] || { echo "$BENCH_NAME: $1 not built in $BUILD_DIR" >&2; exit 1; }
  echo "$found"
}

# Starts a server in the background (its PID is recorded for cleanup) and waits, bounded, for
# a line matching PATTERN in its output; sets STARTED_LINE and STARTED_PID.
# Not called in $(...): the PID must land in this shell's PIDS.
start_server() {  # start_server NAME PATTERN COMMAND...
  local name="$1" log="$WORK/$1.log" pattern="$2" pid
  shift 2
  "${SERVER_PIN[@]}" "$@" >"$log" 2>&1 &
  pid="$!"
  PIDS+=("$pid")
  STARTED_PID="$pid"
  for _ in $(seq 150); do
    STARTED_LINE="$(grep -m1 -E "$pattern" "$log" || true)"
    [[ -n "$STARTED_LINE" ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$BENCH_NAME: $name did not start; its output:" >&2
  cat "$log" >&2
  exit 1
}
