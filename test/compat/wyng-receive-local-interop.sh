#!/bin/sh
# `receive --local=<Btrfs subvolume>` between real Wyng 0.8 and Skiff, run by hand (Wyng is not
# in CI):
#
#   WYNG=/path/to/wyng-backup/src/wyng sh test/compat/wyng-receive-local-interop.sh
#
# Needs root, btrfs-progs, /usr/bin/python3 with python3-pycryptodome and python3-zstd.
# (a) Skiff sends two sessions from a Btrfs subvolume; Wyng's `receive --local` into another
#     subvolume restores the newest and the older one byte-identical, and with --sparse-write over
#     a changed file.
# (b) Wyng sends a session on top (from its own pool, paired by its receive); Skiff's
#     `receive --local` restores it byte-identical (also with --sparse-write over a changed file),
#     pairs the volume again, and Skiff's next send after it is incremental (no full scan, and it
#     stores about the one chunk that changed).
# Each tool pairs a volume with its own snapshot (Skiff `sk<uuid>_<vid>.skiff1`, Wyng
# `sn<uuid>_<vid>.wyng1`) and its own --meta-dir: neither sees the other's pairing, so the first
# send by one tool after the other's receive (or send) is a full scan, which stores only what
# differs. (c) Skiff receives into the pool Wyng paired: Wyng's snapshot stays, Skiff adds its own,
# and Wyng's next send from it is reported (Wyng 0.8: a full scan, its pairing being older than
# the newest session); Wyng restores that session byte-identical.
set -eu
. "$(dirname "$0")/lib.sh"
compat_start recv-interop sh "$0" "$@"
compat_btrfs 1G
skpool=$(compat_subvolume skpool)
wypool=$(compat_subvolume wypool)

gen() { # gen FILE SEED: 6 MiB of mixed random, zero and text-like data
  node -e "
    const {createCipheriv}=require('crypto');const fs=require('fs');
    const r=createCipheriv('chacha20',Buffer.alloc(32,process.argv[2].length),Buffer.alloc(16)).update(Buffer.alloc(6<<20));
    for(let i=0;i<r.length;i+=1<<20){if((i>>20)%3===1)r.fill(0,i,i+(1<<20));if((i>>20)%3===2)r.write('text line '.repeat(100000),i,(1<<20),'latin1')}
    fs.writeFileSync(process.argv[1],r)" "$1" "$2"
}
change() { # change FILE SEED OFFSET: rewrite 64 KiB in place
  node -e "
    const fs=require('fs');const fd=fs.openSync(process.argv[1],'r+');
    fs.writeSync(fd,require('crypto').createHash('sha512').update(process.argv[2]).digest().toString('hex').repeat(512),Number(process.argv[3]));fs.closeSync(fd)" "$1" "$2" "$3"
}
snaps() { # snaps POOL: the snapshot files next to the volumes
  (cd "$1" && ls -d sk*.skiff1 sk*.skiff2 sn*.wyng1 sn*.wyng2 2>/dev/null | tr '\n' ' ') || true
}
# Bytes the archive's volume directory holds (for "the send stored only what changed").
stored() { du -sb "$work/archive-$mode" | cut -f1; }

for mode in xchacha20-dgr off; do
  echo "== $mode"
  dest="file:$work/archive-$mode"
  vol="vol-$mode.img"
  gen "$skpool/$vol" "$mode"
  skiff arch-init --dest="$dest" --encrypt="$mode" >/dev/null
  skiff send "$vol" --dest="$dest" --local="$skpool" >/dev/null
  cp "$skpool/$vol" "$work/s1.img"
  change "$skpool/$vol" "$mode-2" 1048576
  change "$skpool/$vol" "$mode-2b" 4194304
  sleep 1
  skiff send "$vol" --dest="$dest" --local="$skpool" >/dev/null
  cp "$skpool/$vol" "$work/s2.img"
  set -- $(ls "$work/archive-$mode"/Vol_*/ | grep '^S_' | cut -c3-)
  s1=$1 s2=$2

  # (a) Wyng receives what Skiff sent, into a Btrfs subvolume.
  wyng receive "$vol" --dest="$dest" --local="$wypool" --force >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  cmp "$wypool/$vol" "$work/s2.img"
  echo "   Wyng receive --local, newest Skiff session $s2: byte-identical; snapshots now: $(snaps "$wypool")"
  wyng receive "$vol" --dest="$dest" --local="$wypool" --session="$s1" --force >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  cmp "$wypool/$vol" "$work/s1.img"
  echo "   Wyng receive --local --session=$s1 (older): byte-identical"
  change "$wypool/$vol" "$mode-x" 2097152
  wyng receive "$vol" --dest="$dest" --local="$wypool" --session="$s2" --sparse-write --force >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  cmp "$wypool/$vol" "$work/s2.img"
  echo "   Wyng receive --local --sparse-write of $s2 over a changed file: byte-identical ($(grep -o 'Diff bytes: [0-9]*' "$work/out" || echo 'no Diff bytes line'))"

  # (b) Wyng sends a session on top; Skiff receives it into its own pool.
  wyng receive "$vol" --dest="$dest" --local="$wypool" --force >/dev/null 2>&1
  change "$wypool/$vol" "$mode-3" 3145728
  sleep 1
  wyng send "$vol" --dest="$dest" --local="$wypool" >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  if grep -q 'full scan' "$work/out"; then wyng_send="a full scan"; else wyng_send="incremental"; fi
  cp "$wypool/$vol" "$work/s3.img"
  s3=$(ls "$work/archive-$mode"/Vol_*/ | grep '^S_' | cut -c3- | tail -n 1)
  echo "   Wyng sent $s3 from its pool, paired by its own receive: $wyng_send"

  skiff receive "$vol" --dest="$dest" --local="$skpool" --force >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  cmp "$skpool/$vol" "$work/s3.img"
  echo "   Skiff receive --local, newest (Wyng's) session $s3: byte-identical; snapshots now: $(snaps "$skpool")"
  skiff receive "$vol" --dest="$dest" --local="$skpool" --session="$s2" --force >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  cmp "$skpool/$vol" "$work/s2.img"
  echo "   Skiff receive --local --session=$s2 (older, Skiff's): byte-identical"
  change "$skpool/$vol" "$mode-y" 0
  skiff receive "$vol" --dest="$dest" --local="$skpool" --sparse-write --force >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  cmp "$skpool/$vol" "$work/s3.img"
  echo "   Skiff receive --local --sparse-write of $s3 over a changed file: byte-identical ($(grep -o 'Diff bytes: [0-9]*' "$work/out" || echo 'no Diff bytes line'))"
  skiff receive "$vol" --dest="$dest" --local="$skpool" --force >/dev/null 2>&1
  cmp "$skpool/$vol" "$work/s3.img"

  # The next Skiff send after Skiff's receive of the newest session is incremental.
  change "$skpool/$vol" "$mode-4" 5242880
  sleep 1
  before=$(stored)
  skiff send "$vol" --dest="$dest" --local="$skpool" >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  grown=$(($(stored) - before))
  if grep -q 'full scan' "$work/out"; then
    echo "   Skiff's send after its receive was a FULL SCAN:"
    cat "$work/out"
    exit 1
  fi
  echo "   Skiff's send after its receive: incremental (no full scan), archive grew by $grown bytes for a 64 KiB change"
  [ "$grown" -lt 1048576 ]
  wyng verify "$vol" --dest="$dest" >/dev/null
  wyng receive "$vol" --dest="$dest" --save-to="$work/w4.img" >/dev/null
  cmp "$work/w4.img" "$skpool/$vol"
  echo "   Wyng verifies the archive and restores that session byte-identical"

  # (c) Switching tools in one pool: Skiff receives the newest session into Wyng's pool.
  skiff receive "$vol" --dest="$dest" --local="$wypool" --force >/dev/null 2>&1
  cmp "$wypool/$vol" "$skpool/$vol"
  echo "   Skiff receive --local into Wyng's pool: byte-identical; snapshots now: $(snaps "$wypool")"
  ls "$wypool"/sn*.wyng1 >/dev/null
  change "$wypool/$vol" "$mode-5" 1048576
  sleep 1
  wyng send "$vol" --dest="$dest" --local="$wypool" >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  if grep -q 'full scan' "$work/out"; then wyng_send="a full scan"; else wyng_send="incremental"; fi
  wyng receive "$vol" --dest="$dest" --save-to="$work/w5.img" >/dev/null
  cmp "$work/w5.img" "$wypool/$vol"
  echo "   Wyng's next send from that pool (its snapshot older than Skiff's session): $wyng_send; restores byte-identical"
  rm -f "$wypool/$vol" "$skpool/$vol" "$wypool"/s[kn]*.* "$skpool"/s[kn]*.* "$work"/s?.img "$work"/w?.img
done
echo "Wyng and Skiff receive --local each other's sessions; each re-pairs with its own snapshot."
