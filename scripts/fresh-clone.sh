#!/bin/sh
# Runs `make TARGET...` (default: test) in a fresh clone of the committed
# HEAD, in an empty temporary directory: no build/, no untracked or
# uncommitted file, nothing beside the repository. It proves that a new
# user's clone builds and that its tests find all their data (the Debian
# packages come from apt through scripts/deps.sh, the test data from the npm
# registry through `make testdata`). `.ci/run` runs the whole suite this way.
set -eu
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- test
commit=$(git rev-parse HEAD)
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
  echo "fresh-clone: uncommitted changes are not tested, only commit $commit" >&2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
git clone -q --no-checkout "$PWD" "$dir/repo"
git -C "$dir/repo" checkout -q --detach "$commit"
echo "fresh-clone: make $* in a clone of $commit at $dir/repo"
cd "$dir/repo"
make "$@"
