#!/usr/bin/env bash
# Installs the browser tests' npm packages (playwright-core only) exactly as package-lock.json
# pins them. Idempotent: `npm ci` runs only when node_modules is missing or package-lock.json
# changed since the last install. Chromium itself is Debian's (scripts/setup.sh installs it);
# never `npx playwright install`.
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -d node_modules/playwright-core ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "browser tests: npm packages present"
  exit 0
fi
echo "browser tests: npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
