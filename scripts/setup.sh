#!/usr/bin/env bash
# Installs the Debian 12 packages agent-gateway needs to build, run and test.
# Idempotent: packages already present are not reinstalled; apt lists are refreshed
# only when something is missing.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build ccache pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libabsl-dev nlohmann-json3-dev libssl-dev openssl
  libgtest-dev libgmock-dev libyaml-cpp-dev libcli11-dev libspdlog-dev prometheus-cpp-dev
  curl wrk python3 python3-grpcio python3-protobuf yamllint
  chromium fonts-dejavu-core
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi

# The browser tests' npm packages (playwright-core), installed only when missing or changed.
bash "$(dirname "$0")/../tests/browser/setup.sh"

# The MCP interop test's npm packages (@modelcontextprotocol/sdk), likewise.
bash "$(dirname "$0")/../tests/local/mcp_interop/setup.sh"

# The OpenAI SDK interop test's npm package (openai), likewise.
bash "$(dirname "$0")/../tests/client/openai_interop/setup.sh"
