#!/usr/bin/env bash
# Installs what tests/bench/run.sh needs from Debian, only what is missing:
# nginx-light (peer b), nghttp2-client (h2load), wrk, and the Python peer's packages
# (python3-fastapi, python3-uvicorn, python3-httpx, python3-uvloop, python3-httptools).
set -euo pipefail
PACKAGES=(nginx-light nghttp2-client wrk python3-fastapi python3-uvicorn python3-httpx
  python3-uvloop python3-httptools)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
echo "setup.sh: installing ${missing[*]}"
SUDO=()
((EUID == 0)) || SUDO=(sudo)
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
