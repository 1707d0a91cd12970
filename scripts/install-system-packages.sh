#!/usr/bin/env bash
# Install the Debian packages livepose needs, when running as root and they are missing.
# Usage: scripts/install-system-packages.sh PACKAGE...
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "livepose setup: please install these system packages: ${missing[*]}" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# A package this distribution does not have (Ubuntu's chromium is a snap) is skipped with a note, not fatal.
available=()
for pkg in "${missing[@]}"; do
  if apt-cache show "$pkg" >/dev/null 2>&1; then available+=("$pkg"); else
    echo "livepose setup: no package $pkg in this distribution's archive; skipping it" >&2; fi
done
[ ${#available[@]} -eq 0 ] && exit 0
echo "livepose setup: installing ${available[*]}" >&2
apt-get install -y -qq --no-install-recommends "${available[@]}" >/dev/null
