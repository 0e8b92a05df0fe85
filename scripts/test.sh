#!/usr/bin/env bash
# Installs what the tests need, builds, starts a private Docker engine for the run, and runs
# every test. The README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-test-deps.sh
scripts/install-promtool.sh
# The tests' Python tools, pinned, from their own virtual environment (scripts/test-venv).
PATH="$(scripts/test-venv):$PATH"
export PATH

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
# Kills what the tests started (see the end) and prints each as "pid:command".
kill_left() {
  for proc in /proc/[0-9]*; do
    environment=$( { tr '\0' '\n' <"$proc/environ"; } 2>/dev/null) || continue
    if printf '%s\n' "$environment" | grep -qE '^(RUNWAY_TASK_TOKEN|RUNWAY_JOB|RWTEST_SCOPE)='; then
      pid=${proc#/proc/}
      printf ' %s' "$pid:$( { tr '\0' ' ' <"$proc/cmdline"; } 2>/dev/null | cut -c1-80)"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}
stop_services() {
  [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true
  [ -n "$kube_pid" ] && kill "$kube_pid" 2>/dev/null || true
  [ -n "$nomad_pid" ] && kill "$nomad_pid" 2>/dev/null || true
  # After the servers that start tasks' processes (the Kubernetes and Nomad stand-ins): a run
  # that failed or crashed leaves nothing behind either.
  kill_left >/dev/null
  scripts/postgres-server stop "$postgres"
  rm -rf "$engine.build.log" "$engine.moto.log" "$kube" "$kube.log" "$nomad" "$nomad.log" "$postgres"
  scripts/docker-engine stop "$engine"
}
trap stop_services EXIT
trap 'exit 130' INT TERM  # so an interrupted run still stops them (through the EXIT trap)
RUNWAY_TEST_DOCKER_HOST=$(scripts/docker-engine start "$engine")
export RUNWAY_TEST_DOCKER_HOST
# moto takes a port number: a port taken between the pick and its start is picked again.
for _ in $(seq 1 10); do
  moto_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  moto_server -H 127.0.0.1 -p "$moto_port" >"$engine.moto.log" 2>&1 &
  moto_pid=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null 2>&1 && break
    kill -0 "$moto_pid" 2>/dev/null || break
    sleep 0.2
  done
  curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null 2>&1 && break
  kill "$moto_pid" 2>/dev/null || true
  wait "$moto_pid" 2>/dev/null || true
  grep -q "Address already in use" "$engine.moto.log" || { echo "moto_server did not start:" >&2; cat "$engine.moto.log" >&2; exit 1; }
  moto_pid=""
done
[ -n "$moto_pid" ] || { echo "moto_server found no free port" >&2; exit 1; }
export RUNWAY_TEST_MOTO_URL="http://127.0.0.1:$moto_port"

# The Kubernetes tests' API server (Tests/Servers/kube_apiserver.py): TLS on a free loopback
# port; its node "has" these images: the runner (this build's runner bundle, made below once it
# is built, started through its own loader as in a job's image), a shell, one whose container
# sleeps and never connects, and two stock images that hold nothing of Runway: one running as
# root (as most do), one as a numeric non-root user.
mkdir -p "$kube"
bundle="$kube/bundle"
cat >"$kube/images.json" <<JSON
{"runway-runner:dev": {"entrypoint": ["$bundle/lib/ld.so", "--library-path", "$bundle/lib", "$bundle/bin/runway-runner"], "cmd": ["runner"], "user": "65532"},
 "busybox:1.36": {"entrypoint": ["/bin/sh"]},
 "silent:1": {"entrypoint": ["/bin/sh", "-c", "exec sleep 120"]},
 "inert:1": {"entrypoint": ["/bin/true"], "inert": true},
 "stock/root:1": {"entrypoint": ["/bin/sh"], "user": ""},
 "stock/nonroot:1": {"entrypoint": ["/bin/sh"], "user": "1000:1000"}}
JSON
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

# Runway's own targets build without a warning (a fresh clone compiles every file, so every
# warning shows); the packages it depends on are theirs to mend.
swift build --build-tests 2>&1 | tee "$engine.build.log"
own_warnings=$(grep -E "^$PWD/(Sources|Tests|Fuzz|Benchmarks)/[^:]+:[0-9]+:[0-9]+: warning:" "$engine.build.log" | sort -u || true)
if [ -n "$own_warnings" ]; then
  echo "Runway's own targets built with warnings:" >&2
  echo "$own_warnings" >&2
  exit 1
fi
scripts/runner-bundle .build/debug/runway-runner "$bundle" >/dev/null
DOCKER_HOST=$RUNWAY_TEST_DOCKER_HOST scripts/build-runner-image .build/debug/runway
DOCKER_HOST=$RUNWAY_TEST_DOCKER_HOST scripts/test-images
# Each test run has a deadline (scripts/with-deadline): a hung test fails the run by name, with
# the processes still running, long before CI's own limit.
scripts/with-deadline "${RUNWAY_TEST_DEADLINE:-1500}" swift test --skip-build
# Timings mean something only on a machine not busy with the rest of the suite: the job that
# leaves children in the background ends within the output drain plus 1 s, checked on its own.
RUNWAY_TIMING_CHECKS=1 scripts/with-deadline 300 swift test --skip-build --filter backgroundChildren
# The chaos runs, short: the controller killed 10 times over 60 jobs; 20 Docker faults over 30
# jobs. Each fails the run on a duplicate run, a lost job or anything left behind.
scripts/chaos local --jobs 60 --kills 10
scripts/chaos docker --jobs 30 --faults 20

# Nothing the tests started may outlive them: a runner, a job or anything a job started carries
# RUNWAY_TASK_TOKEN, RUNWAY_JOB or the tests' RWTEST_SCOPE in its environment.
left=$(kill_left)
if [ -n "$left" ]; then
  echo "processes the tests left running (killed now):$left" >&2
  exit 1
fi
