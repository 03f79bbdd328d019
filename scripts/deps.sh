#!/bin/sh
# Installs the Debian packages that building and testing Valkyria need.
# As root it runs apt-get; otherwise it prints the command to run.
set -eu
PKGS="gcc make pkg-config libgc-dev libedit-dev libuv1-dev libpcre2-dev libyaml-dev libssl-dev libcurl4-openssl-dev libsqlite3-dev node-llhttp curl wrk git clang libclang-rt-14-dev bc procps bsdutils util-linux"
# npm fetches the test data (scripts/testdata.sh); Debian's nodejs and npm
# only when no npm is installed from elsewhere
command -v npm >/dev/null || PKGS="$PKGS nodejs npm"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "deps.sh: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq $missing >/dev/null
else
  echo "deps.sh: missing packages; run: sudo apt-get install$missing" >&2
  exit 1
fi
