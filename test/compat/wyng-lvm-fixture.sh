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
. "$(dirname "$0")/lib.sh"
PASS=fixture-lvm-pass
compat_start wyng-lvmfx sh "$0" "$@"
compat_lvm_model
OUT="$root/test/fixtures/wyng-lvm"
W=$work
VG=wyngfx$$
compat_vg "$VG"
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
