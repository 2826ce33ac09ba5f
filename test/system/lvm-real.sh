#!/bin/sh
# The LVM thin-pool scenario of test/lvm-model/thin-delta-real.test.ts against REAL LVM, run by hand
# on a machine with device-mapper (CI has none, so there the kernel side is modelled). It builds a
# throw-away VG on a loop device, writes between two thin snapshots, and checks that thin_delta
# reports exactly those blocks — the facts the model claims. Then (optionally) Skiff can be pointed
# at the pool.
#
#   Real LVM (root, lvm2 + thin-provisioning-tools installed, no VG named $VG):
#     sh test/system/lvm-real.sh
#   The same script against the model, to see both give the same answer (after npm run build):
#     LVM_MODEL=1 sh test/system/lvm-real.sh
#
# Everything it creates is removed at exit. Exit 0 and "OK" when thin_delta matched.
set -eu

VG=${VG:-skiffreal}
POOL=vm-pool
LV=vm-work-private
WORK=$(mktemp -d /tmp/skiff-lvm-real.XXXXXX)
LOOP=

cleanup() {
  set +e
  if [ -n "${LVM_MODEL:-}" ]; then
    lvm vgremove -f "$VG" >/dev/null 2>&1
    lvm-model teardown 2>/dev/null
  else
    dmsetup message "$VG-$(echo $POOL | sed 's/-/--/g')-tpool" 0 release_metadata_snap 2>/dev/null
    vgremove -f "$VG" >/dev/null 2>&1
    [ -n "$LOOP" ] && { pvremove -f "$LOOP" >/dev/null 2>&1; losetup -d "$LOOP"; }
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

if [ -n "${LVM_MODEL:-}" ]; then
  # The stand-ins first on PATH, as the node tests do.
  export PATH="$(cd "$(dirname "$0")/../lvm-model/bin" && pwd):$PATH" SKIFF_LVM_MODEL_DIR="$WORK/model"
  lvm vgcreate "$VG" /dev/model-pv >/dev/null
else
  truncate -s 512M "$WORK/pv.img"
  LOOP=$(losetup --show -f "$WORK/pv.img")
  pvcreate -q "$LOOP"
  vgcreate -q "$VG" "$LOOP"
fi

# write_at OFFSET LENGTH BYTE: LENGTH bytes of value BYTE (octal) at OFFSET of the LV.
write_at() {
  head -c "$2" /dev/zero | tr '\000' "\\$3" >"$WORK/data"
  if [ -n "${LVM_MODEL:-}" ]; then
    lvm-model write "$VG/$LV" "$1" "$WORK/data"
  else
    dd if="$WORK/data" of="/dev/$VG/$LV" bs=1 seek="$1" conv=notrunc,fsync status=none
  fi
}
discard_at() {
  if [ -n "${LVM_MODEL:-}" ]; then lvm-model discard "$VG/$LV" "$1" "$2"; else blkdiscard -o "$1" -l "$2" "/dev/$VG/$LV"; fi
}

B=65536
lvm lvcreate -q --type thin-pool -L 128m -c 64k -n "$POOL" "$VG" >/dev/null
lvm lvcreate -q -kn -ay -V 8m -prw --thin -n "$LV" "$VG/$POOL" >/dev/null
write_at 0 $((64 * B)) 001         # blocks 0-63 mapped
write_at $((40 * B)) 100 011       # block 40 overwritten once already
lvm lvcreate -q -kn -ay -pr --addtag=wyng -s "$VG/$LV" -n "$LV.tick" >/dev/null
write_at $((5 * B + 1)) 10 002     # block 5: shared with .tick → new data block
write_at $((5 * B + 99)) 10 003    # block 5 again: owned now → in place
write_at $((6 * B)) $B 002         # block 6, whole
write_at $((100 * B)) 10 004       # block 100: never mapped
write_at $((8 * 1048576 - 1)) 1 005 # the very last byte (block 127)
discard_at $((20 * B)) $B          # block 20 unmapped
lvm lvcreate -q -kn -ay -pr --addtag=wyng -s "$VG/$LV" -n "$LV.tock" >/dev/null

echo "lvs as Skiff/Wyng read it:"
lvm lvs --units=b --noheadings --separator=::: --options=vg_name,lv_name,lv_attr,lv_size,lv_time,pool_lv,thin_id,tags "$VG"

T1=$(lvm lvs --noheadings -o thin_id "$VG/$LV.tick" | tr -d ' ')
T2=$(lvm lvs --noheadings -o thin_id "$VG/$LV.tock" | tr -d ' ')
TPOOL="$VG-$(echo $POOL | sed 's/-/--/g')-tpool"
dmsetup message "$TPOOL" 0 reserve_metadata_snap
echo "dmsetup status (held metadata root is the field after the data blocks):"
dmsetup status "$TPOOL"
thin_delta --metadata-snap --thin1="$T1" --thin2="$T2" "/dev/mapper/$VG-$(echo $POOL | sed 's/-/--/g')_tmeta" >"$WORK/delta.xml"
dmsetup message "$TPOOL" 0 release_metadata_snap
cat "$WORK/delta.xml"

grep -v '<same ' "$WORK/delta.xml" | grep -E '<(different|left_only|right_only) ' | sed 's/^ *//' >"$WORK/got"
cat >"$WORK/want" <<'EOF'
<different begin="5" length="2"/>
<left_only begin="20" length="1"/>
<right_only begin="100" length="1"/>
<right_only begin="127" length="1"/>
EOF
if diff -u "$WORK/want" "$WORK/got"; then
  echo OK
else
  echo "MISMATCH: thin_delta on this machine disagrees with the model's claims (see the diff above)" >&2
  exit 1
fi

# Optional: Skiff itself on the same pool (SKIFF=1; after npm run build): a full send, more writes,
# an incremental send that must not say "Queuing full scan", and both sessions received back and
# compared with copies taken at each send.
if [ -n "${SKIFF:-}" ]; then
  SK="node $(cd "$(dirname "$0")/../.." && pwd)/dist/source-agent/main.js --dest=file:$WORK/archive --meta-dir=$WORK/meta --authmin=0"
  $SK arch-init --encrypt=off >/dev/null
  $SK send "$LV" --local="$VG/$POOL" >"$WORK/send1.log"
  cp "/dev/$VG/$LV" "$WORK/v1.img"
  write_at $((9 * B + 7)) 300 006
  write_at $((8 * 1048576 - 5)) 5 007
  $SK send "$LV" --local="$VG/$POOL" >"$WORK/send2.log"
  if grep -q 'Queuing full scan' "$WORK/send2.log"; then echo "SKIFF: the second send was not incremental" >&2; exit 1; fi
  cp "/dev/$VG/$LV" "$WORK/v2.img"
  S1=$($SK list "$LV" | grep -Eo '[0-9]{8}-[0-9]{6}' | sort | head -1)
  $SK receive "$LV" --session="$S1" --save-to="$WORK/r1.img" >/dev/null
  $SK receive "$LV" --save-to="$WORK/r2.img" >/dev/null
  cmp "$WORK/v1.img" "$WORK/r1.img" && cmp "$WORK/v2.img" "$WORK/r2.img"
  lvm lvs --noheadings -o lv_name,lv_tags "$VG" | grep skiff
  echo "SKIFF OK"
fi
