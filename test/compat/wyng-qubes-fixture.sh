#!/bin/sh
# Makes test/fixtures/wyng-qubes: an archive as wyng-util-qubes has real Wyng 0.8 write it — the
# VMs' volumes named as in an lvm_thin pool (vm-work-private, vm-personal-private), sent with
# `--tag=qubes --send-unchanged`, and `wyng-qubes-metadata` imported from
# a tar.gz made by `find . -name '*.xml' | tar -czf … --verbatim-files-from -T -` in a
# /var/lib/qubes holding qubes.xml (the Qubes model's seed) and a firewall.xml — from thin LVs of
# the LVM thin-pool model. Run by hand (wyng-util-qubes itself needs qubesadmin; its Wyng command
# line and tar are reproduced here):
#
#   WYNG=/path/to/wyng-backup/src/wyng sh test/compat/wyng-qubes-fixture.sh
#
# Unencrypted, zlib (no python3-zstd needed). test/qubes/wyng-archive.test.ts restores it with
# skiff-qubes on the Qubes model and compares the volumes with SHA256SUMS.
set -eu
. "$(dirname "$0")/lib.sh"
compat_start wyng-qubesfx sh "$0" "$@"
compat_lvm_model
OUT="$root/test/fixtures/wyng-qubes"
W=$work
VG=wyngqfx$$
compat_vg "$VG"

# Wyng 0.8 rc4 looks every volume of a send up among the pool's LVs before it notices an
# --import-other-from volume, so an LVM send with an import fails (KeyError 'wyng-qubes-metadata'
# in prepare_snapshots_lvm) — the very send wyng-util-qubes makes. Look imports up gently.
/usr/bin/python3 - "$W/wyng" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
old = "l_vol = lvols[datavol]   ; snap1, snap2 = l_vol.snap1, l_vol.snap2"
assert old in s, "Wyng changed: check whether the import workaround is still needed"
s = s.replace(old, "l_vol = lvols.get(datavol) if datavol in other_vols else lvols[datavol]\n"
              "        snap1, snap2 = (l_vol.snap1, l_vol.snap2) if l_vol else (None, None)")
open(p, "w").write(s)
PY
mkdir -p "$W/dest" "$W/meta" "$W/varlib/appvms/work"
lvm vgcreate "$VG" /dev/model-pv >/dev/null
lvm lvcreate --type thin-pool -L 64m -n vm-pool "$VG" >/dev/null
for vm in work personal; do
  lvm lvcreate -V 4m --thin -n "vm-$vm-private" "$VG/vm-pool" >/dev/null
  head -c 300000 /dev/urandom >"$W/a"; lvm-model write "$VG/vm-$vm-private" 0 "$W/a"
  head -c 60000 /dev/urandom >"$W/b"; lvm-model write "$VG/vm-$vm-private" 3000000 "$W/b"
done
sed -e "s#@VG@#qubes_dom0#g" -e "s#@PRIVATE@#4194304#g" -e "s#@ROOT@#8388608#g" test/qubes-model/qubes.xml >"$W/varlib/qubes.xml"
printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' '<firewall version="2"><rules/></firewall>' >"$W/varlib/appvms/work/firewall.xml"
(cd "$W/varlib" && find . -name '*.xml' | tar -czf "$W/qmeta.tgz" --verbatim-files-from -T -)

wyng arch-init -u --dest="file:$W/dest/archive" --encrypt=off --compression=zlib >/dev/null
# wyng-util-qubes passes the volumes as --local-from=JSON; Wyng 0.8 rc4 then fails on the import
# (KeyError 'wyng-qubes-metadata' in prepare_snapshots_lvm), so the same pool is given as --local.
wyng -u --dest="file:$W/dest/archive" --local="$VG/vm-pool" --tag=qubes --send-unchanged \
  "--import-other-from=wyng-qubes-metadata:|:$W/qmeta.tgz" send vm-personal-private vm-work-private >/dev/null

rm -rf "$OUT"
mkdir -p "$OUT"
cp -a "$W/dest/archive" "$OUT/archive"
for vm in work personal; do
  printf '%s  vm-%s-private\n' "$(sha256sum <"/dev/$VG/vm-$vm-private" | cut -d' ' -f1)" "$vm" >>"$OUT/SHA256SUMS"
done
find "$OUT/archive" -type f | wc -l
du -sh "$OUT"
