#!/usr/bin/env bash
# Installs what the tests need, builds, starts a private Docker engine for the run, and runs
# every test. The README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-test-deps.sh
scripts/install-promtool.sh

# The Docker tests' engine: its own socket, data and exec roots, stopped when the run ends.
engine=$(mktemp -d /tmp/runway-docker-XXXXXX)
trap 'scripts/docker-engine stop "$engine"' EXIT
RUNWAY_TEST_DOCKER_HOST=$(scripts/docker-engine start "$engine")
export RUNWAY_TEST_DOCKER_HOST

swift build --build-tests
DOCKER_HOST=$RUNWAY_TEST_DOCKER_HOST scripts/build-runner-image .build/debug/runway
swift test --skip-build
