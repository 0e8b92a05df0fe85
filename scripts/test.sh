#!/usr/bin/env bash
# Installs what the tests need, builds, starts a private Docker engine for the run, and runs
# every test. The README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-test-deps.sh
scripts/install-promtool.sh

# The Docker tests' engine (its own socket, data and exec roots), the ECS tests' moto server,
# the Kubernetes and Nomad tests' API servers and the store tests' PostgreSQL (127.0.0.1, free
# ports), all stopped by pid when the run ends.
engine=$(mktemp -d /tmp/runway-docker-XXXXXX)
kube="$engine.kube"
nomad="$engine.nomad"
postgres="$engine.pg"
moto_pid=""
kube_pid=""
nomad_pid=""
stop_services() {
  [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true
  [ -n "$kube_pid" ] && kill "$kube_pid" 2>/dev/null || true
  [ -n "$nomad_pid" ] && kill "$nomad_pid" 2>/dev/null || true
  scripts/postgres-server stop "$postgres"
  rm -rf "$engine.moto.log" "$kube" "$kube.log" "$nomad" "$nomad.log" "$postgres"
  scripts/docker-engine stop "$engine"
}
trap stop_services EXIT
trap 'exit 130' INT TERM  # so an interrupted run still stops them (through the EXIT trap)
RUNWAY_TEST_DOCKER_HOST=$(scripts/docker-engine start "$engine")
export RUNWAY_TEST_DOCKER_HOST
moto_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$moto_port" >"$engine.moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null || { echo "moto_server did not start:" >&2; cat "$engine.moto.log" >&2; exit 1; }
export RUNWAY_TEST_MOTO_URL="http://127.0.0.1:$moto_port"

# The Kubernetes tests' API server (Tests/Servers/kube_apiserver.py): TLS on a free loopback
# port; its node "has" two images: the runner (this build's `runway runner`) and a shell.
mkdir -p "$kube"
printf '{"runway-runner:dev": {"entrypoint": ["%s/.build/debug/runway"], "cmd": ["runner"]}, "busybox:1.36": {"entrypoint": ["/bin/sh"]}}\n' "$PWD" >"$kube/images.json"
python3 Tests/Servers/kube_apiserver.py --state "$kube" --images "$kube/images.json" >"$kube.log" 2>&1 &
kube_pid=$!
for _ in $(seq 1 100); do [ -f "$kube/url" ] && break; sleep 0.2; done
[ -f "$kube/url" ] || { echo "the test Kubernetes API server did not start:" >&2; cat "$kube.log" >&2; exit 1; }
export RUNWAY_TEST_KUBECONFIG="$kube/kubeconfig"

# The Nomad tests' API server (Tests/Servers/nomad_apiserver.py): regions global and eu, the
# same two images for the docker driver.
mkdir -p "$nomad"
python3 Tests/Servers/nomad_apiserver.py --state "$nomad" --images "$kube/images.json" --regions global,eu >"$nomad.log" 2>&1 &
nomad_pid=$!
for _ in $(seq 1 100); do [ -f "$nomad/url" ] && break; sleep 0.2; done
[ -f "$nomad/url" ] || { echo "the test Nomad API server did not start:" >&2; cat "$nomad.log" >&2; exit 1; }
export RUNWAY_TEST_NOMAD_DIR="$nomad"

# The store tests' PostgreSQL: a private cluster (initdb + pg_ctl) on a free loopback port.
RUNWAY_TEST_POSTGRES_URL=$(scripts/postgres-server start "$postgres")
export RUNWAY_TEST_POSTGRES_URL

swift build --build-tests
DOCKER_HOST=$RUNWAY_TEST_DOCKER_HOST scripts/build-runner-image .build/debug/runway
swift test --skip-build
