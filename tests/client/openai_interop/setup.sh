#!/usr/bin/env bash
# Installs the OpenAI SDK interop test's npm package (openai) exactly as package-lock.json pins
# it. Idempotent: `npm ci` runs only when node_modules is missing or package-lock.json changed
# since the last install.
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -d node_modules/openai ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "openai interop test: npm packages present"
  exit 0
fi
echo "openai interop test: npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
