#!/bin/sh
# Wyng 0.8's `diff` and Skiff's on the same archive and volume, run by hand (Wyng is not in CI):
#
#   WYNG=/path/to/wyng-backup/src/wyng sh test/compat/wyng-diff-interop.sh
#
# Needs root, btrfs-progs, /usr/bin/python3 with python3-pycryptodome and python3-zstd.
# Skiff sends a volume from a loop Btrfs; its snapshot is put aside so that both tools compare the
# volume itself (Wyng does not know Skiff's `sk…skiff1` snapshots, nor Skiff Wyng's). Then, for
# each case (unchanged, a changed data chunk, a changed zero chunk, a changed partial last chunk,
# another size, no --local), both diffs run, normal and --quick, and their lines (banner and bar
# length aside) and exit codes must be the same. Then Wyng sends a session on top and the
# unchanged volume is compared again with it. Only --quick may disagree, and only where the two
# tools' zstd compress a chunk of the volume differently (checked and named, see zstd_agrees).
set -eu
. "$(dirname "$0")/lib.sh"
compat_start diff-interop sh "$0" "$@"
compat_btrfs 1G
pool=$(compat_subvolume pool)
mkdir -p "$work/aside"
# The lines both print, without the banner, blank lines and the bar's length.
normal() { grep -v -e '^Wyng ' -e '^Skiff ' -e '^Last updated' -e '^$' | sed -E 's/^\[\|*\]/[bar]/'; }

gen() { # gen FILE SEED TEXT: 6 MiB + 1000 bytes of random, zero and TEXT bytes of text per MiB
  node -e "
    const {createCipheriv}=require('crypto');const fs=require('fs');
    const r=createCipheriv('chacha20',Buffer.alloc(32,process.argv[2].length),Buffer.alloc(16)).update(Buffer.alloc((6<<20)+1000));
    const text='text line '.repeat(Number(process.argv[3])/10);
    for(let i=0;i<(6<<20);i+=1<<20){if((i>>20)%3===1)r.fill(0,i,i+(1<<20));if((i>>20)%3===2)r.write(text,i,(1<<20),'latin1')}
    fs.writeFileSync(process.argv[1],r)" "$1" "$2" "$3"
}
poke() { # poke FILE OFFSET: 4 bytes in place
  printf 'poke' | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# --quick compares the hash of each local chunk compressed here with the hash of the chunk the
# archive holds, compressed by whoever sent it: Wyng's python-zstd and Skiff's zstd-napi bundle
# different libzstd versions, which compress some inputs to different bytes. Where they do, a
# --quick verdict can differ between the two (each is right about its own compressor).
zstd_agrees() { # zstd_agrees FILE: exit 0 when both compressors give the same bytes for every chunk
  /usr/bin/python3 -c "
import zstd,hashlib,sys
d=open(sys.argv[1],'rb').read()
for i in range(0,len(d),262144): print(hashlib.sha256(zstd.compress(d[i:i+262144],3)).hexdigest())" "$1" >"$work/zpy"
  node -e "
const {zstdCodec}=require('./dist/source-agent/archive/compression/zstd.js');const c=zstdCodec(3);
const d=require('fs').readFileSync(process.argv[1]);let o='';
for(let i=0;i<d.length;i+=262144)o+=require('crypto').createHash('sha256').update(c.compress(d.subarray(i,i+262144))).digest('hex')+'\\n';
process.stdout.write(o)" "$1" >"$work/zjs"
  cmp -s "$work/zpy" "$work/zjs"
}

same=0
compare() { # compare CASE ARGS...: both diffs, normal and --quick
  label=$1
  shift
  for quick in "" "--quick"; do
    wrc=0
    src=0
    wyng diff vol.img --dest="$dest" "$@" $quick >"$work/wo" 2>"$work/we" || wrc=$?
    skiff diff vol.img --dest="$dest" "$@" $quick >"$work/so" 2>"$work/se" || src=$?
    cat "$work/wo" "$work/we" | normal >"$work/wn"
    cat "$work/so" "$work/se" | normal >"$work/sn"
    if [ "$wrc" = "$src" ] && cmp -s "$work/wn" "$work/sn"; then
      printf '   %-28s %-8s exit %s, same lines: %s\n' "$label" "${quick:-normal}" "$wrc" "$(grep -e 'Diff bytes' -e ': OK' -e 'differ' -e 'valid --local' "$work/wn" | tr -s ' ' | tr '\n' ' ')"
    elif [ -n "$quick" ] && ! zstd_agrees "$pool/vol.img"; then
      printf '   %-28s %-8s Wyng exit %s, Skiff exit %s: expected, libzstd %s (Wyng) and %s (Skiff) compress chunk(s) %s differently\n' \
        "$label" "$quick" "$wrc" "$src" "$(/usr/bin/python3 -c 'import zstd;print(zstd.ZSTD_version())')" "$(node -p "require('zstd-napi/binding.js').versionString()")" \
        "$(paste "$work/zpy" "$work/zjs" | awk '$1 != $2 {printf "%s ", NR-1}')"
    else
      echo "   $label ${quick:-normal}: DIFFERENT (Wyng exit $wrc, Skiff exit $src)"
      diff "$work/wn" "$work/sn" || true
      same=1
    fi
  done
}

# xchacha20-dgr: text fills its MiB (every chunk compresses to the same bytes in both tools);
# off: text ends inside a chunk, whose mix of text and random bytes the two libzstd versions
# compress differently, which shows in --quick.
for mode in xchacha20-dgr off; do
  echo "== $mode"
  dest="file:$work/archive-$mode"
  if [ "$mode" = off ]; then gen "$pool/vol.img" "$mode" 1000000; else gen "$pool/vol.img" "$mode" 1048580; fi
  cp "$pool/vol.img" "$work/orig.img"
  skiff arch-init --dest="$dest" --encrypt="$mode" >/dev/null
  skiff send vol.img --dest="$dest" --local="$pool" >/dev/null
  mv "$pool"/sk*.skiff1 "$work/aside/"

  compare "unchanged" --local="$pool"
  poke "$pool/vol.img" 300000
  compare "data chunk 1 changed" --local="$pool"
  cp "$work/orig.img" "$pool/vol.img"
  poke "$pool/vol.img" 1300000
  compare "zero chunk 4 changed" --local="$pool"
  cp "$work/orig.img" "$pool/vol.img"
  poke "$pool/vol.img" $(((6 << 20) + 10))
  compare "partial last chunk changed" --local="$pool"
  cp "$work/orig.img" "$pool/vol.img"
  truncate -s $(((6 << 20) + 4096)) "$pool/vol.img"
  compare "another size" --local="$pool"
  cp "$work/orig.img" "$pool/vol.img"
  compare "no --local"

  poke "$pool/vol.img" 5000000
  wyng send vol.img --dest="$dest" --local="$pool" >/dev/null
  rm -f "$pool"/sn*.wyng1
  compare "after Wyng's send, unchanged" --local="$pool"
  rm -f "$work/aside"/*
done
[ "$same" = 0 ] && echo "Wyng's diff and Skiff's agree in every case (--quick: but where the compressors differ, named above)." || { echo "They differ."; exit 1; }
