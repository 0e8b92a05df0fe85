#!/usr/bin/env bash
# Installs the Debian packages Runway builds against, when missing (Debian 12, as root or with sudo),
# and any further packages named as arguments.
set -euo pipefail
packages=(libyaml-dev libcurl4-openssl-dev libsqlite3-dev pkg-config "$@")
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
