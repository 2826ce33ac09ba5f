#!/bin/sh
# Real Wyng 0.8 against the LVM thin-pool model, run by hand (Wyng is not available in CI):
#
#   WYNG=/path/to/wyng-backup/src/wyng sh test/compat/wyng-lvm-model.sh
#
# Needs root, /usr/bin/python3 with python3-pycryptodome and python3-zstd, gawk,
# thin-provisioning-tools, and `npm run build`. Wyng calls lvm/dmsetup/thin_delta by absolute
# paths, so a temporary copy of it gets the model's stand-ins (test/lvm-model/bin) in their place;
# nothing else is changed. The kernel side (dm-thin) is modelled; thin_delta is the real tool.
# Checks: a full send; an incremental send after two small writes stores exactly 2 chunks; a
# restore is byte-identical; receive --local=VG/POOL re-creates the LV byte-identical and re-pairs,
# so the next send stores exactly the 1 changed chunk. This is the proof that the model is good
# enough for Wyng's own LVM code path.
set -eu
: "${WYNG:?set WYNG to the path of Wyng's src/wyng}"
cd "$(dirname "$0")/../.."
[ -f dist/test/lvm-model/cli.js ] || npm run build >/dev/null
BIN=$(pwd)/test/lvm-model/bin
W=$(mktemp -d /var/tmp/skiff-wyng-lvm.XXXXXX)
VG=wyngmodel$$
export SKIFF_LVM_MODEL_DIR="$W/model" PATH="$BIN:$PATH"
cleanup() {
  lvm vgremove -f "$VG" >/dev/null 2>&1 || true
  lvm-model teardown 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT INT TERM

sed -e "s#\"/usr/sbin/thin_delta\"#\"$BIN/thin_delta\"#" -e "s#lvm = \"/usr/sbin/lvm\"#lvm = \"$BIN/lvm\"#" \
  -e "s#dmsetup  = \"/sbin/dmsetup\"#dmsetup  = \"$BIN/dmsetup\"#" "$WYNG" >"$W/wyng"
grep -q "$BIN/dmsetup" "$W/wyng" || { echo "could not point Wyng's CP paths at the model" >&2; exit 1; }
wyng() { /usr/bin/python3 "$W/wyng" "$@" --meta-dir="$W/meta" --passcmd="echo model-passphrase" --authmin=0; }
chunks() { find "$W/dest" -path "*/$1/*" -name 'x*' | wc -l; }
sessions() { find "$W/dest" -type d -name 'S_*' | sed 's#.*/##' | sort; }
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$W/dest" "$W/meta"
lvm vgcreate "$VG" /dev/model-pv >/dev/null
lvm lvcreate --type thin-pool -L 256m -n vm-pool "$VG" >/dev/null
lvm lvcreate -V 32m --thin -n vm-work-private "$VG/vm-pool" >/dev/null
head -c 20000000 /dev/urandom >"$W/d"
lvm-model write "$VG/vm-work-private" 0 "$W/d"
head -c 1000 /dev/urandom >"$W/e"

wyng arch-init --dest="file:$W/dest" --local="$VG/vm-pool" >/dev/null
wyng send vm-work-private --dest="file:$W/dest" --local="$VG/vm-pool" >/dev/null
lvm-model write "$VG/vm-work-private" 1000000 "$W/e"  # chunk 3
lvm-model write "$VG/vm-work-private" 30000000 "$W/e" # chunk 114
wyng send vm-work-private --dest="file:$W/dest" --local="$VG/vm-pool" >/dev/null
s2=$(sessions | sed -n 2p)
[ "$(chunks "$s2")" = 2 ] || fail "incremental send stored $(chunks "$s2") chunks, not 2"
wyng receive vm-work-private --dest="file:$W/dest" --save-to="$W/restored.img" >/dev/null
cmp "$W/restored.img" "/dev/$VG/vm-work-private" || fail "restore differs"

cp "/dev/$VG/vm-work-private" "$W/orig.img"
lvm lvremove -f "$VG/vm-work-private" "$VG/vm-work-private.tick" >/dev/null
wyng receive vm-work-private --dest="file:$W/dest" --local="$VG/vm-pool" >/dev/null
cmp "$W/orig.img" "/dev/$VG/vm-work-private" || fail "receive into the pool differs"
lvm-model write "$VG/vm-work-private" 5000000 "$W/e"  # chunk 19
wyng send vm-work-private --dest="file:$W/dest" --local="$VG/vm-pool" >/dev/null
s3=$(sessions | sed -n 3p)
[ "$(chunks "$s3")" = 1 ] || fail "send after receive stored $(chunks "$s3") chunks, not 1"
echo "OK: Wyng full, incremental (2 chunks), restore, receive into the pool, incremental again (1 chunk)"
