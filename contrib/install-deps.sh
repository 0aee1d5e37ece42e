#!/bin/sh
# Install everything perfkit needs to build, test and benchmark on Debian 12.
# Safe to run again.  Uses sudo only when not already root.
set -eu

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

PACKAGES="build-essential g++ autoconf automake libtool pkg-config make
 libunwind-dev libelf-dev libdw-dev libsqlite3-dev libcunit1-dev zlib1g-dev
 sqlite3 python3 strace procps util-linux tmux libxml2-utils
 golang-go chromium fonts-dejavu-core linux-perf heaptrack valgrind
 libc6-dbg"

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
command -v npm >/dev/null 2>&1 || $SUDO apt-get install -y -qq nodejs npm >/dev/null

# JavaScript test tools (schema validator, headless browser driver), pinned
# by tests/js/package-lock.json.
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$here/tests/js/package.json" ]; then
	(cd "$here/tests/js" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
echo "perfkit: dependencies installed"
