#!/bin/sh
# A real backup cycle with the built CLI, on a plain image file (no root, no special file
# system needed: the image is sent with --import-other-from, read whole and compared by hash):
# create an encrypted archive, send, change the image, send again (only the changed chunk is
# stored), list, verify, restore both sessions and compare them byte for byte. Then the same
# restore on an archive written by Wyng 0.8, bundled under test/fixtures.
set -eu
cd "$(dirname "$0")/.."
[ -x dist/source-agent/main.js ] || npm run build >/dev/null

root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
# The demo works in its temporary directory, so that the commands it shows are short.
cd "$work"
echo "Working in $work (removed at the end)."

# A word as one would type it to a shell: quoted when it holds anything but safe characters.
quote_word() {
  case $1 in
    '' | *[!A-Za-z0-9_./:=@%+,-]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
    *) printf '%s' "$1" ;;
  esac
}
# --opt=value with only the value quoted, as people write it.
quote_arg() {
  case $1 in
    --*=*) printf '%s=%s' "${1%%=*}" "$(quote_word "${1#*=}")" ;;
    *) quote_word "$1" ;;
  esac
}
# Prints each command as a user would type it (with skiff on the PATH: see README.md), then
# runs it. Every command gets the demo's own metadata directory, the passphrase from
# --passcmd, and --authmin=0 (no key agent left running).
passphrase=demo-passphrase
skiff() {
  set -- "$@" --meta-dir=meta --passcmd="echo $passphrase" --authmin=0
  printf '\n$ skiff'
  for arg in "$@"; do printf ' %s' "$(quote_arg "$arg")"; done
  printf '\n'
  node "$root/dist/source-agent/main.js" "$@"
}
archive=file:archive
image=disk.img

# A 16 MiB disk image: random data, zeros and text.
node -e "
  const fs = require('fs'), { createCipheriv } = require('crypto');
  const data = createCipheriv('chacha20', Buffer.alloc(32, 7), Buffer.alloc(16)).update(Buffer.alloc(16 << 20));
  data.fill(0, 4 << 20, 10 << 20);
  data.write('demo text line\n'.repeat(70000), 10 << 20, 'latin1');
  fs.writeFileSync(process.argv[1], data)" "$image"

skiff arch-init --dest="$archive"
skiff send "--import-other-from=disk.img:|:$image" --dest="$archive"
cp "$image" disk-first.img
# Change 4 KiB in the middle of the image.
node -e "const fs = require('fs'); const fd = fs.openSync(process.argv[1], 'r+'); fs.writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 12 << 20); fs.closeSync(fd)" "$image"
sleep 1
skiff send "--import-other-from=disk.img:|:$image" --dest="$archive"
skiff list disk.img --dest="$archive" --verbose
skiff verify --all --dest="$archive"
first=$(ls archive/Vol_*/ | grep '^S_' | head -1 | cut -c3-)
skiff receive disk.img --session="$first" --save-to=restored-first.img --dest="$archive"
skiff receive disk.img --save-to=restored-newest.img --dest="$archive"
echo
cmp restored-first.img disk-first.img
cmp restored-newest.img "$image"
newest=$(ls -d archive/Vol_*/S_* | tail -1)
echo "Both sessions restored byte-identical; the second session stored $(find "$newest" -name 'x*' | wc -l) chunk file (the changed 256 KiB)."

fixture=$root/test/fixtures/wyng-v3/enc-dgr-zstd-256k
echo
echo "An archive written by Wyng 0.8:"
passphrase=fixture-pass-1
skiff receive vol1.img --save-to=vol1.img --dest="file:$fixture/archive"
cmp vol1.img "$fixture/vol1.session2.img"
echo "The Wyng-made archive restored byte-identical too."
echo
echo "Demo finished."
