#!/bin/sh
# A real backup cycle with the built CLI, on a plain image file (no root, no special file
# system needed: the image is sent with --import-other-from, read whole and compared by hash):
# create an encrypted archive, send, change the image, send again (only the changed chunk is
# stored), list, verify, restore both sessions and compare them byte for byte. Then the same
# restore on an archive written by Wyng 0.8, bundled under test/fixtures.
set -eu
cd "$(dirname "$0")/.."
[ -x dist/source-agent/main.js ] || npm run build >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
skiff() {
  echo
  echo "\$ skiff $*"
  node dist/source-agent/main.js "$@" --meta-dir="$work/meta" --passcmd='echo demo-passphrase' --authmin=0
}
archive="file:$work/archive"
image="$work/disk.img"

# A 16 MiB disk image: random data, zeros and text.
node -e "
  const fs = require('fs'), { createCipheriv } = require('crypto');
  const data = createCipheriv('chacha20', Buffer.alloc(32, 7), Buffer.alloc(16)).update(Buffer.alloc(16 << 20));
  data.fill(0, 4 << 20, 10 << 20);
  data.write('demo text line\n'.repeat(70000), 10 << 20, 'latin1');
  fs.writeFileSync(process.argv[1], data)" "$image"

skiff arch-init --dest="$archive"
skiff send "--import-other-from=disk.img:|:$image" --dest="$archive"
cp "$image" "$work/disk-first.img"
# Change 4 KiB in the middle of the image.
node -e "const fs = require('fs'); const fd = fs.openSync(process.argv[1], 'r+'); fs.writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 12 << 20); fs.closeSync(fd)" "$image"
sleep 1
skiff send "--import-other-from=disk.img:|:$image" --dest="$archive"
skiff list disk.img --dest="$archive" --verbose
skiff verify --all --dest="$archive"
first=$(ls "$work/archive"/Vol_*/ | grep '^S_' | head -1 | cut -c3-)
skiff receive disk.img --session="$first" --save-to="$work/restored-first.img" --dest="$archive"
skiff receive disk.img --save-to="$work/restored-newest.img" --dest="$archive"
echo
cmp "$work/restored-first.img" "$work/disk-first.img"
cmp "$work/restored-newest.img" "$image"
newest=$(ls -d "$work/archive"/Vol_*/S_* | tail -1)
echo "Both sessions restored byte-identical; the second session stored $(find "$newest" -name 'x*' | wc -l) chunk file (the changed 256 KiB)."

fixture=test/fixtures/wyng-v3/enc-dgr-zstd-256k
echo
echo "\$ skiff receive vol1.img  (an archive written by Wyng 0.8)"
node dist/source-agent/main.js --dest="file:$fixture/archive" --meta-dir="$work/meta" --passcmd='echo fixture-pass-1' --authmin=0 \
  receive vol1.img --save-to="$work/vol1.img" | tail -1
cmp "$work/vol1.img" "$fixture/vol1.session2.img"
echo "The Wyng-made archive restored byte-identical too."
echo
echo "Demo finished."
