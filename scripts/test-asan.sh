#!/usr/bin/env bash
# Builds everything with AddressSanitizer + UndefinedBehaviorSanitizer (Debug) and runs the whole
# test suite under them, leak detection on. Separate build dir: build-asan (or $BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export BUILD_DIR=${BUILD_DIR:-build-asan}
bash scripts/build.sh -DCMAKE_BUILD_TYPE=Debug "-DAG_SANITIZE=address;undefined" \
  -DCMAKE_CXX_FLAGS=-g1 -DAG_BUILD_TESTS=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 --timeout 300
