#!/usr/bin/env bash
# Installs the few Debian packages the test suites need beyond npm: the strict gRPC reflection
# client test runs Debian's python3-grpcio, whose descriptor pool refuses files whose
# dependencies are missing (the grpcurl #459 failure mode). Idempotent; a no-op when present.
set -euo pipefail
need=()
for pkg in python3-grpcio python3-protobuf; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
[[ ${#need[@]} -eq 0 ]] && exit 0
echo "test-tools: installing ${need[*]}"
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
