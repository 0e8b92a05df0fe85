#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test. The README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-promtool.sh
swift build
swift test
