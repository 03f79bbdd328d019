#!/usr/bin/env bash
# bench/http.sh - wrk (2 threads, 64 connections, 10 s) against the valk
# HTTP server (hello, and a 7 KB JSON body parsed per request), each beside
# the same wrk run against python3's http.server as the reference, printed
# as ratios. DURATION=10s by default.
set -u
cd "$(dirname "$0")/.."
VALK=build/valk
PY=$(python3 -c 'import sys; print(sys.executable)')
D=${DURATION:-10s}
TMP=$(mktemp -d)
cleanup() { kill "$VPID" "$PPID2" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

VP=$(port)
"$VALK" bench/http-hello.valk "$VP" >/dev/null &
VPID=$!
printf 'hello' >"$TMP/index.html"
PP=$(port)
(cd "$TMP" && exec "$PY" -m http.server "$PP" --bind 127.0.0.1 >/dev/null 2>&1) &
PPID2=$!
sleep 1

# GitHub's create event (6.9 KB), installed by `make testdata`
cp build/testdata/github-webhooks/create/1.json "$TMP/payload.json" || exit 1
cat >"$TMP/post.lua" <<LUA
local f = io.open("$TMP/payload.json", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
f:close()
LUA

# run URL [script]: prints "requests/s p99-ms errors"
run() {
  local out
  if [ -n "${2:-}" ]; then out=$(wrk -t2 -c64 -d"$D" --latency -s "$2" "$1" 2>&1)
  else out=$(wrk -t2 -c64 -d"$D" --latency "$1" 2>&1); fi
  local rps p99 err
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  err=$(echo "$out" | awk '/Socket errors|Non-2xx/ {print}' | tr '\n' ' ')
  echo "$rps $p99 ${err:-none}"
}

ms() { # wrk latency like 1.23ms / 800.00us / 1.20s -> milliseconds
  case "$1" in
    *us) echo "${1%us} / 1000" | bc -l ;;
    *ms) echo "${1%ms}" ;;
    *s) echo "${1%s} * 1000" | bc -l ;;
    *) echo 0 ;;
  esac
}

echo "== http (wrk -t2 -c64 -d$D)"
read -r vr vl ve <<<"$(run "http://127.0.0.1:$VP/")"
read -r pr pl pe <<<"$(run "http://127.0.0.1:$PP/index.html")"
printf 'hello:      valk %8.0f req/s p99 %7.2f ms | python http.server %8.0f req/s p99 %7.2f ms | ratio %.1fx  (goal >= 40000 req/s, p99 < 5 ms)\n' \
  "$vr" "$(ms "$vl")" "$pr" "$(ms "$pl")" "$(echo "$vr / $pr" | bc -l)"
[ "$ve" = none ] || echo "  valk errors: $ve"
read -r vr vl ve <<<"$(run "http://127.0.0.1:$VP/json" "$TMP/post.lua")"
read -r pr pl pe <<<"$(run "http://127.0.0.1:$PP/index.html" "$TMP/post.lua")"
printf '7 KB JSON:  valk %8.0f req/s p99 %7.2f ms | python (POST, 501) %8.0f req/s p99 %7.2f ms | ratio %.1fx\n' \
  "$vr" "$(ms "$vl")" "$pr" "$(ms "$pl")" "$(echo "$vr / $pr" | bc -l)"
[ "$ve" = none ] || echo "  valk errors: $ve"
echo "valk RSS after: $(awk '/VmRSS/ {print $2, $3}' /proc/$VPID/status)"
