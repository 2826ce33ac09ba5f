#!/bin/sh
# Interoperability with real Wyng 0.8, run by hand (Wyng is not available in CI):
#
#   WYNG=/path/to/wyng-backup/src/wyng sh test/compat/wyng-interop.sh
#
# Needs root, btrfs-progs, /usr/bin/python3 with python3-pycryptodome and python3-zstd.
# For each cipher mode: Skiff creates an archive and sends two sessions from a loop Btrfs;
# Wyng lists, verifies, arch-checks and receives every session byte-identical; Wyng then sends a
# third session on top; Skiff verifies the archive and restores that session byte-identical.
set -eu
. "$(dirname "$0")/lib.sh"
compat_start interop sh "$0" "$@"
compat_btrfs 2G
pool=$(compat_subvolume pool)

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

for mode in xchacha20-dgr xchacha20-msr xchacha20-ct off; do
  echo "== $mode"
  dest="file:$work/archive-$mode"
  vol="vol-$mode.img"
  gen "$pool/$vol" "$mode"
  skiff arch-init --dest="$dest" --encrypt="$mode" >/dev/null
  skiff send "$vol" --dest="$dest" --local="$pool" >/dev/null
  cp "$pool/$vol" "$work/s1.img"
  change "$pool/$vol" "$mode-2" 1048576
  sleep 1
  skiff send "$vol" --dest="$dest" --local="$pool" >/dev/null
  cp "$pool/$vol" "$work/s2.img"
  sessions=$(ls "$work/archive-$mode"/Vol_*/ | grep '^S_' | cut -c3-)
  wyng list "$vol" --dest="$dest" >/dev/null
  wyng verify "$vol" --dest="$dest" >/dev/null
  wyng arch-check --dest="$dest" >/dev/null
  n=1
  for s in $sessions; do
    wyng receive "$vol" --dest="$dest" --session="$s" --save-to="$work/w$n.img" >/dev/null
    cmp "$work/w$n.img" "$work/s$n.img"
    n=$((n + 1))
  done
  echo "   Wyng lists, verifies, arch-checks and restores both Skiff sessions byte-identical"
  change "$pool/$vol" "$mode-3" 3145728
  sleep 1
  wyng send "$vol" --dest="$dest" --local="$pool" >/dev/null
  cp "$pool/$vol" "$work/s3.img"
  skiff verify "$vol" --dest="$dest" >/dev/null
  skiff arch-check --dest="$dest" >/dev/null
  skiff receive "$vol" --dest="$dest" --save-to="$work/k3.img" >/dev/null
  cmp "$work/k3.img" "$work/s3.img"
  echo "   Wyng sent a session on top; Skiff verifies it and restores it byte-identical"
  skiff send "$vol" --dest="$dest" --local="$pool" >/dev/null
  wyng verify "$vol" --dest="$dest" >/dev/null
  echo "   Skiff sends after Wyng's session; Wyng verifies the result"
done
echo "Interoperability checks passed."
