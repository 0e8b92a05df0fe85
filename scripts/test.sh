#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test. The README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-promtool.sh
# The pod-manifest checks use the platforms' own schemas, from PyPI.
python3 -c 'import kubernetes_validate, botocore, yaml' 2>/dev/null || python3 -m pip install -q kubernetes-validate botocore pyyaml
swift build
swift test
