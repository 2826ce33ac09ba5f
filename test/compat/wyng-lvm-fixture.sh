#!/bin/sh
# Makes test/fixtures/wyng-lvm: an archive that real Wyng 0.8 sent from a thin LV of the LVM
# thin-pool model (a full session, then an incremental one after scattered writes), run by hand:
#
#   WYNG=/path/to/wyng-backup/src/wyng sh test/compat/wyng-lvm-fixture.sh
#
# Needs what wyng-lvm-model.sh needs. The sha256 of the LV at each session go to SHA256SUMS;
# test/compat/wyng-lvm-fixture.test.ts restores every session with Skiff (a file, and into
# --local=VG/POOL on the model) and compares. Session names, uuid, salts and nonces come from the
# clock and the RNG: a re-run makes a different archive with the same structure.
set -eu
: "${WYNG:?set WYNG to the path of Wyng's src/wyng}"
cd "$(dirname "$0")/../.."
[ -f dist/test/lvm-model/cli.js ] || npm run build >/dev/null
BIN=$(pwd)/test/lvm-model/bin
OUT=$(pwd)/test/fixtures/wyng-lvm
W=$(mktemp -d /var/tmp/skiff-wyng-lvmfx.XXXXXX)
VG=wyngfx$$
PASS=fixture-lvm-pass
export SKIFF_LVM_MODEL_DIR="$W/model" PATH="$BIN:$PATH"
cleanup() {
  lvm vgremove -f "$VG" >/dev/null 2>&1 || true
  lvm-model teardown 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT INT TERM

sed -e "s#\"/usr/sbin/thin_delta\"#\"$BIN/thin_delta\"#" -e "s#lvm = \"/usr/sbin/lvm\"#lvm = \"$BIN/lvm\"#" \
  -e "s#dmsetup  = \"/sbin/dmsetup\"#dmsetup  = \"$BIN/dmsetup\"#" "$WYNG" >"$W/wyng"
# Wyng's machine-wide lock (/var/lock/wyng) fails at once when another Wyng holds it: wait.
wyng() {
  tries=0
  while ! /usr/bin/python3 "$W/wyng" "$@" --meta-dir="$W/meta" --passcmd="echo $PASS" --authmin=0 2>"$W/wyng.err"; do
    tries=$((tries + 1))
    if [ "$tries" -gt 90 ] || ! grep -q 'obtaining lock' "$W/wyng.err"; then cat "$W/wyng.err" >&2; return 1; fi
    sleep 2
  done
}
lv=vm-fx-private
mkdir -p "$W/dest" "$W/meta"
lvm vgcreate "$VG" /dev/model-pv >/dev/null
lvm lvcreate --type thin-pool -L 64m -n vm-pool "$VG" >/dev/null
lvm lvcreate -V 4m --thin -n "$lv" "$VG/vm-pool" >/dev/null
# 4 MiB: 1.5 MiB of data at 0, 256 KiB at 2 MiB, zeros elsewhere (Wyng's chunks are 128 KiB).
head -c 1572864 /dev/urandom >"$W/a"; lvm-model write "$VG/$lv" 0 "$W/a"
head -c 262144 /dev/urandom >"$W/b"; lvm-model write "$VG/$lv" 2097152 "$W/b"
wyng arch-init --dest="file:$W/dest/archive" --local="$VG/vm-pool" --chunk-factor=1 >/dev/null
wyng send "$lv" --dest="file:$W/dest/archive" --local="$VG/vm-pool" >/dev/null
sum1=$(sha256sum <"/dev/$VG/$lv" | cut -d' ' -f1)
sleep 1.5
# Scattered writes: one inside the data, one in a zero region, one at the very end.
head -c 5000 /dev/urandom >"$W/c"
lvm-model write "$VG/$lv" 70000 "$W/c"
lvm-model write "$VG/$lv" 3000000 "$W/c"
lvm-model write "$VG/$lv" 4189304 "$W/c"
wyng send "$lv" --dest="file:$W/dest/archive" --local="$VG/vm-pool" >/dev/null
sum2=$(sha256sum <"/dev/$VG/$lv" | cut -d' ' -f1)

rm -rf "$OUT/archive"
mkdir -p "$OUT"
cp -a "$W/dest/archive" "$OUT/archive"
printf '%s  %s.session1\n%s  %s.session2\n' "$sum1" "$lv" "$sum2" "$lv" >"$OUT/SHA256SUMS"
echo "$PASS" >"$OUT/passphrase"
find "$OUT/archive" -type f | wc -l
du -sh "$OUT"
