#!/usr/bin/env bash
# Puts promtool (from Debian's prometheus package, unpacked, not installed: no service starts)
# in .build/tools/promtool, for the test that checks /metrics with `promtool check metrics`.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=.build/tools
[ -x "$tools/promtool" ] && exit 0
if command -v promtool >/dev/null 2>&1; then
  mkdir -p "$tools" && ln -sf "$(command -v promtool)" "$tools/promtool" && exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get download prometheus >/dev/null; }; })
dpkg-deb -x "$work"/prometheus_*.deb "$work/unpacked"
mkdir -p "$tools"
cp "$work/unpacked/usr/bin/promtool" "$tools/promtool"
"$tools/promtool" --version | head -1
