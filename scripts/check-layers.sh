#!/bin/sh
# Checks that the C layers depend downwards only, lowest first:
#   lang (src/lang)  <  rt (src/rt)  <  sys (src/sys)  <  net (src/net)
#   <  host (src/*.c, src/*.h, the generated build/gen/lib_embed.c)
# A lower layer never includes or calls a higher one. Three checks:
#  1. includes: every #include "x.h" in a layer's .c/.h files names a
#     header of the same or a lower layer;
#  2. symbols: no undefined symbol of a layer's objects (nm -u on
#     build/obj/src/LAYER/*.o) is defined by an object of a higher layer;
#  3. libraries: a layer's objects reference no function of a C library
#     that only higher layers may use (libuv from rt up, libyaml, PCRE2,
#     OpenSSL and SQLite from sys up, libcurl and llhttp in net only).
# Prints each violation and exits 1 when there is any.
# usage: scripts/check-layers.sh [OBJDIR]   (default build/obj)
set -eu
cd "$(dirname "$0")/.."
obj=${1:-build/obj}
layers="lang rt sys net host"
bad=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rank() { # layer name -> its position
  i=0
  for l in $layers; do
    [ "$l" = "$1" ] && { echo $i; return; }
    i=$((i + 1))
  done
  echo "check-layers: unknown layer $1" >&2
  exit 2
}
srcs() { # the source files of a layer
  if [ "$1" = host ]; then ls src/*.c src/*.h; else ls src/"$1"/*.c src/"$1"/*.h; fi
}
objs() { # the object files of a layer's sources (stale objects are ignored)
  if [ "$1" = host ]; then set -- src/*.c; echo "$obj/gen/lib_embed.o"; else set -- src/"$1"/*.c; fi
  for c in "$@"; do echo "$obj/${c%.c}.o"; done
}
header_layer() { # header name -> layer that holds it, "" for none of ours
  for l in lang rt sys net; do
    [ -f src/$l/$1 ] && { echo $l; return; }
  done
  [ -f src/$1 ] && echo host
  return 0
}

# 1. includes
for l in $layers; do
  r=$(rank $l)
  for f in $(srcs $l); do
    for h in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
      hl=$(header_layer "$(basename "$h")")
      [ -z "$hl" ] && continue
      if [ "$(rank "$hl")" -gt "$r" ]; then
        echo "check-layers: $f ($l) includes $h of the higher layer $hl"
        bad=1
      fi
    done
  done
done

# 2. symbols
for l in $layers; do
  for o in $(objs $l); do
    [ -f "$o" ] || { echo "check-layers: $o is not built (make check-layers builds it)"; exit 2; }
  done
  objs $l | xargs nm --defined-only 2>/dev/null | awk 'NF == 3 && $2 ~ /[A-Z]/ {print $3}' | sort -u >"$tmp/def.$l"
  objs $l | xargs nm -u 2>/dev/null | awk 'NF == 2 {print $2}' | sort -u >"$tmp/undef.$l"
done
for l in $layers; do
  r=$(rank $l)
  for h in $layers; do
    [ "$(rank $h)" -gt "$r" ] || continue
    for s in $(comm -12 "$tmp/undef.$l" "$tmp/def.$h"); do
      users=$(for o in $(objs $l); do nm -u "$o" | awk -v s="$s" 'NF == 2 && $2 == s {found = 1} END {exit !found}' && echo "$o"; done | tr '\n' ' ')
      echo "check-layers: $users($l) uses $s, defined in the higher layer $h"
      bad=1
    done
  done
done

# 3. C libraries: symbol prefixes a layer may not reference
forbidden() {
  case $1 in
  lang) echo '^(uv_|yaml_|pcre2_|EVP_|HMAC|SHA|RAND_|sqlite3_|curl_|llhttp_)' ;;
  rt) echo '^(yaml_|pcre2_|EVP_|HMAC|SHA|RAND_|sqlite3_|curl_|llhttp_)' ;;
  sys) echo '^(curl_|llhttp_)' ;;
  *) echo '^$' ;;
  esac
}
for l in lang rt sys; do
  for s in $(grep -E "$(forbidden $l)" "$tmp/undef.$l" || true); do
    echo "check-layers: $l uses $s, a library of a higher layer"
    bad=1
  done
done

[ "$bad" -eq 0 ] && echo "check-layers: lang < rt < sys < net < host, no upward include or call"
exit $bad
