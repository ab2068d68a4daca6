#!/usr/bin/env bash
# Installs headless Chromium (Debian's chromium package) for the admin
# pages' browser tests; does nothing when it is installed already.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
echo "== installing Chromium (for the admin pages' browser tests)"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
