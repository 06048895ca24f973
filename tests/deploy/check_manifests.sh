#!/usr/bin/env bash
# Offline validation of deploy/ (a CTest test; no cluster, no Docker engine, no network except
# a one-time `npm ci` from the npm registry when tests/deploy/node_modules is missing):
#   1. yamllint --strict on every YAML file under deploy/
#   2. `kubectl kustomize` of each example (deploy/kubernetes/base, deploy/kubernetes/sidecar)
#   3. k8s_check.js on the rendered objects: kubernetes-models schema types, unknown fields,
#      and this project's rules (non-root, read-only root, probes, resources, empty Secrets)
#   4. dockerfilelint and dockerfile-utils lint on deploy/Dockerfile
#   5. dockerfile_check.js: stages, base images, non-root USER, no build tools in the final
#      stage, a build package for every find_package(), a runtime package for every library
#      the built agent-gateway loads
# A missing tool fails the test with the package to install; nothing is skipped.
#
# Usage: check_manifests.sh SOURCE_DIR AGENT_GATEWAY_BINARY WORK_DIR
set -euo pipefail

SOURCE_DIR=$(cd "$1" && pwd)
BINARY=$2
WORK_DIR=$3
HERE="$SOURCE_DIR/tests/deploy"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

need() {  # need COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 || {
    echo "FAIL: '$1' is missing: install $2 (scripts/setup.sh lists it)"
    exit 1
  }
}
need yamllint "the Debian package yamllint"
need kubectl "kubectl (preinstalled on this machine kind; do not install Debian's kubernetes-client)"
need node "nodejs (preinstalled on this machine kind; Node 20)"
need npm "npm (ships with that nodejs build; do not add Debian's npm)"
need ldd "the Debian package libc-bin"
need dpkg-query "dpkg"
need flock "the Debian package util-linux"

# npm packages, pinned by package-lock.json, into tests/deploy/node_modules; installed only when
# missing or older than the lock file, under a lock so parallel runs do not race.
(
  flock 9
  if [ ! -f "$HERE/node_modules/.package-lock.json" ] ||
     [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
    echo "== npm ci (tests/deploy/node_modules)"
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) ||
      { echo "FAIL: npm ci in tests/deploy failed (needs the npm registry once)"; exit 1; }
  fi
) 9>"$HERE/.npm-install.lock"
BIN="$HERE/node_modules/.bin"

mkdir -p "$WORK_DIR"
rm -f "$WORK_DIR"/*.yaml

echo "== yamllint deploy/"
yamllint -c "$HERE/yamllint.yaml" --strict "$SOURCE_DIR/deploy" || fail "yamllint found problems"

rendered=()
for example in base sidecar; do
  echo "== kubectl kustomize deploy/kubernetes/$example"
  out="$WORK_DIR/$example.yaml"
  if kubectl kustomize "$SOURCE_DIR/deploy/kubernetes/$example" >"$out"; then
    rendered+=("$out")
  else
    fail "kubectl kustomize deploy/kubernetes/$example"
  fi
done

echo "== k8s_check (schema, unknown fields, rules)"
if ((${#rendered[@]})); then
  node "$HERE/k8s_check.js" "${rendered[@]}" || fail "k8s_check found problems"
fi

echo "== dockerfilelint deploy/Dockerfile"
"$BIN/dockerfilelint" "$SOURCE_DIR/deploy/Dockerfile" || fail "dockerfilelint found problems"

echo "== dockerfile-utils lint deploy/Dockerfile"
lint=$("$BIN/dockerfile-utils" lint "$SOURCE_DIR/deploy/Dockerfile" 2>&1) || true
if [ -n "$lint" ]; then
  echo "$lint"
  fail "dockerfile-utils reported problems"
fi

echo "== dockerfile_check (stages, user, packages against the built binary)"
node "$HERE/dockerfile_check.js" --dockerfile "$SOURCE_DIR/deploy/Dockerfile" \
  --source-dir "$SOURCE_DIR" --binary "$BINARY" || fail "dockerfile_check found problems"

if ((failures)); then
  echo "check_manifests: $failures check(s) failed"
  exit 1
fi
echo "check_manifests: all checks passed"
