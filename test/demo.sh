#!/bin/sh
# A real restore cycle with the built CLI on an archive that Wyng 0.8 wrote (bundled under
# test/fixtures): list it, verify it, restore both sessions of its volume, compare the bytes with
# the images Wyng backed up, and check the whole archive. Grows into a full send/receive cycle
# once `send` exists.
set -eu
cd "$(dirname "$0")/.."
[ -x dist/source-agent/main.js ] || npm run build >/dev/null

fixture=test/fixtures/wyng-v3/enc-dgr-zstd-256k
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
skiff() {
  echo
  echo "\$ skiff $*"
  node dist/source-agent/main.js --dest="file:$fixture/archive" --passcmd='echo fixture-pass-1' "$@"
}

skiff list
skiff list vol1.img --verbose
skiff verify --all
skiff receive vol1.img --session=20261128-153704 --save-to="$work/vol1-first.img"
skiff receive vol1.img --save-to="$work/vol1-newest.img"
echo
cmp "$work/vol1-first.img" "$fixture/vol1.session1.img"
cmp "$work/vol1-newest.img" "$fixture/vol1.session2.img"
echo "Both restored sessions are byte-identical to the volume images Wyng backed up."
skiff arch-check
echo
echo "Demo finished: Skiff read, verified and restored an archive written by Wyng 0.8."
