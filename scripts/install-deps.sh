#!/bin/sh
# Installs what building and testing Portico needs on Debian 12, skipping
# packages already present. Needs root for apt-get (skipped otherwise with a
# message listing what is missing).
set -eu

PKGS="build-essential pkg-config libssl-dev libpcre2-dev zlib1g-dev libjemalloc-dev
      python3 python3-pytest curl openssl"
[ "${PTC_DEPS_EXTRA:-}" ] && PKGS="$PKGS $PTC_DEPS_EXTRA"

missing=
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
    exit 1
fi
echo "installing:$missing"
apt-get update -q >/dev/null
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
