#!/usr/bin/env bash
# bench/http-soak.sh - keeps wrk (2 threads, 64 connections) on the hello
# handler for SECONDS (default 200, about 10 million requests here) and
# samples the server's RSS every 20 s: it must stay flat after warm-up.
# Not part of `make bench` (too long); run it as `make bench-soak`.
set -u
cd "$(dirname "$0")/.."
SECS=${SECONDS_TOTAL:-200}
PY=$(python3 -c 'import sys; print(sys.executable)')
P=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
build/valk bench/http-hello.valk "$P" >/dev/null &
V=$!
trap 'kill $V 2>/dev/null' EXIT
sleep 0.5
wrk -t2 -c64 -d"${SECS}s" "http://127.0.0.1:$P/" >/tmp/valk-soak-wrk.txt 2>&1 &
W=$!
t=0
echo "== http soak: RSS of the server every 20 s"
while kill -0 $W 2>/dev/null; do
  sleep 20
  t=$((t + 20))
  echo "  ${t}s RSS $(awk '/VmRSS/ {print $2, $3}' /proc/$V/status)"
done
grep -E "requests in|Requests/sec|Socket errors|Non-2xx" /tmp/valk-soak-wrk.txt
