#!/usr/bin/env bash
# Installs what the tests need beyond the build (Debian 12, as root or with sudo), when missing:
# Docker (Debian's docker.io: dockerd, containerd, runc and the CLI), PostgreSQL (the store tests'
# server and psql), busybox-static for the
# runner image, the Python packages that check the pod manifests against official schemas (also
# the test Kubernetes API server's), the official Kubernetes client and python-nomad (the test
# servers' fidelity checks), and
# moto (AWS's APIs on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh docker.io busybox-static curl openssl postgresql
python3 -c 'import kubernetes_validate, kubernetes, nomad, botocore, yaml' 2>/dev/null || python3 -m pip install -q kubernetes-validate kubernetes python-nomad botocore pyyaml
# moto's server plays AWS's ECS API for the ECS tests (pinned: its behaviour is what they know).
command -v moto_server >/dev/null 2>&1 || python3 -m pip install -q "moto[server]==5.2.1"
