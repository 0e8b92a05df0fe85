#!/usr/bin/env bash
# Installs what the tests need beyond the build (Debian 12, as root or with sudo), when missing:
# Docker (Debian's docker.io: dockerd, containerd, runc and the CLI), PostgreSQL (the store tests'
# server and psql), busybox-static for the runner image, debootstrap, musl and musl-tools for the
# stock images jobs run in (scripts/test-images), python3-venv, and the tests' Python
# tools (Tests/requirements.txt, pinned, in a virtual environment of their own: scripts/test-venv):
# the packages that check the pod manifests against official schemas (also the test Kubernetes
# API server's), the official Kubernetes client and python-nomad (the test servers' fidelity
# checks), and moto (AWS's APIs on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh docker.io busybox-static curl openssl postgresql python3-venv debootstrap musl musl-tools
scripts/test-venv >/dev/null
