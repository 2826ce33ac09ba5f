#!/bin/bash
# Interoperability of Skiff's archive-maintenance commands (prune, rename, add, delete,
# arch-deduplicate, send --dedup, recovery of an interrupted prune) with real Wyng 0.8, run by
# hand (Wyng is not available in CI):
#
#   WYNG=/path/to/wyng-backup/src/wyng bash test/compat/wyng-maintenance-interop.sh
#
# Optional: PARTS="1 2 3 4 5" (which checks to run), MODES="off xchacha20-dgr" (cipher modes of
# parts 1-3), KEEP=1 (keep the work directory), SAVE_MIDPRUNE=DIR (copy the Wyng-made mid-prune
# archives of part 5 there as fixtures, see test/fixtures/wyng-midprune/README.md).
# Needs root, btrfs-progs, /usr/bin/python3 with python3-pycryptodome and python3-zstd.
# Wyng's machine-wide lock (/var/lock/wyng) is private to the run (lib.sh, compat_start). The
# script runs a private copy of dist/ so that a rebuild during the run does not disturb it.
#
# Every check compares restored bytes with cmp and checks exit codes. A failing check is
# reported ("FAIL ...", with the command's output in the log file it names) and the script goes
# on; it exits 1 if any check failed.
#
#  1. Skiff sends 7 sessions of two volumes (with a grow and a shrink), prunes a middle session, a
#     range and the oldest session; Wyng lists, verifies and restores every remaining session and
#     arch-checks; Wyng sends on top and Skiff verifies and restores that.
#  2. Skiff renames, adds and deletes volumes; Wyng lists, verifies, arch-checks and sends to the
#     renamed and the added volume; Skiff restores those sessions.
#  3. Skiff send --dedup and arch-deduplicate; Wyng verifies, restores and arch-checks.
#  4. Skiff prunes archives Wyng wrote (the wyng-v3 fixtures and a fresh one); Wyng verifies and
#     restores every remaining session.
#  5. Wyng's prune is stopped right after its Init step and right after its Moves step (a patched
#     copy of Wyng whose destination helper exits there); Skiff, with a fresh --meta-dir, completes
#     it; Skiff and Wyng (fresh --meta-dir) then verify and restore everything, and the result is
#     compared with a normally completed Wyng prune. Then a Skiff prune is SIGKILLed part-way and
#     Wyng's and Skiff's handling of that archive is checked.
set -u
. "$(dirname "$0")/lib.sh"
PARTS=${PARTS:-"1 2 3 4 5"}
MODES=${MODES:-"off xchacha20-dgr"}
compat_start maint bash "$0" "$@"
tools="$root/test/fixtures/wyng-v3/tools"
fixtures="$root/test/fixtures/wyng-v3"
compat_btrfs 3G
pool=$(compat_subvolume pool)
mkdir -p "$work/log"
echo "work directory: $work"
compat_private_build

# --- running and recording checks -------------------------------------------------------------
passed=0
failed=0
failures=""
n=0
# The passphrase and metadata dirs can be changed per call: PASS=... SMETA=... skiff ...

ok() {
  passed=$((passed + 1))
  echo "   ok   $1"
}
bad() {
  failed=$((failed + 1))
  failures="$failures
   FAIL $1"
  echo "   FAIL $1"
}
# run DESC CMD...: the command must exit 0.
run() {
  desc=$1
  shift
  n=$((n + 1))
  log="$work/log/$n.txt"
  echo "\$ $*" >"$log"
  "$@" >>"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then ok "$desc"; else bad "$desc: exit $rc (log/$n.txt: $(tail -n 3 "$log" | tr '\n' '|'))"; fi
  return $rc
}
# run_rc RC DESC CMD...: the command must exit RC.
run_rc() {
  want=$1
  desc=$2
  shift 2
  n=$((n + 1))
  log="$work/log/$n.txt"
  echo "\$ $*" >"$log"
  "$@" >>"$log" 2>&1
  rc=$?
  if [ $rc -eq "$want" ]; then ok "$desc (exit $rc)"; else bad "$desc: exit $rc, expected $want (log/$n.txt: $(tail -n 3 "$log" | tr '\n' '|'))"; fi
}
# The output of the last run/run_rc.
last_log() { cat "$work/log/$n.txt"; }
same() { # same DESC A B: the files have the same bytes
  if cmp "$2" "$3" >/dev/null 2>&1; then ok "$1"; else bad "$1: $(cmp "$2" "$3" 2>&1 | head -1)"; fi
}
# restore_check TOOL VOL SESSION IMAGE DEST: TOOL (skiff|wyng) restores the session byte-identical.
restore_check() {
  rm -f "$work/restored.img"
  if run "$1 receive $2 --session=$3" "$1" receive "$2" --dest="$5" --session="$3" --save-to="$work/restored.img"; then
    same "$1 restores $2 $3 byte-identical" "$work/restored.img" "$4"
  fi
}

# --- volume images ------------------------------------------------------------------------------
gen() { python3 "$tools/gen_volume.py" "$1" "$2" "$3"; }             # gen FILE SIZE SEED
mutate() { python3 "$tools/mutate.py" "$@"; }                       # mutate FILE SEED RANGES...
# Sessions of a volume, oldest first, without the S_ prefix (from Skiff's list --json).
sessions_of() { # sessions_of VOL DEST
  SMETA=$(mktemp -d "$work/sm-list.XXXXXX") skiff list --json --dest="$2" 2>/dev/null | node -e '
    const text=require("fs").readFileSync(0,"utf8"); const j=JSON.parse(text.slice(text.indexOf("{")));
    const v=j.volumes[process.argv[1]]; if(!v) process.exit(3);
    for (const s of Object.keys(v.sessions).sort()) console.log(s.replace(/^S_/,""));' "$1"
}
newest_session() { ls -d "$1"/Vol_*/S_* | sed 's|.*/S_||' | sort | tail -1; }
vid_of() { # vid_of VOL DEST
  SMETA=$(mktemp -d "$work/sm-list.XXXXXX") skiff list --json --dest="$2" 2>/dev/null | node -e '
    const text=require("fs").readFileSync(0,"utf8"); const j=JSON.parse(text.slice(text.indexOf("{")));
    console.log(j.volumes[process.argv[1]].vid)' "$1"
}
# check_all TOOL VOL DEST IMGDIR: TOOL verifies and restores every session of VOL byte-identical
# with IMGDIR/VOL.<session>.img.
check_all() {
  for s in $(sessions_of "$2" "$3"); do
    run "$1 verify $2 --session=$s" "$1" verify "$2" --dest="$3" --session="$s"
    restore_check "$1" "$2" "$s" "$4/$2.$s.img" "$3"
  done
}
expect_sessions() { # expect_sessions DESC VOL DEST "S1 S2 ..."
  got=$(sessions_of "$2" "$3" | tr '\n' ' ' | sed 's/ $//')
  if [ "$got" = "$4" ]; then ok "$1: sessions $got"; else bad "$1: sessions '$got', expected '$4'"; fi
}
# send_round TOOL DEST IMGDIR VOLS...: send the volumes in one session (a second later than the
# last one) and keep each volume's image under the new session's name.
send_round() {
  t=$1
  d=$2
  im=$3
  shift 3
  sleep 1
  run "$t send $* ${SEND_OPTS:-}" "$t" send "$@" ${SEND_OPTS:-} --dest="$d" --local="$pool"
  s=$(newest_session "${d#file:}")
  for v in "$@"; do cp "$pool/$v" "$im/$v.$s.img"; done
  last_session=$s
}

# === Part 1 and 2: Skiff prunes, renames, adds, deletes; Wyng reads and writes on top ============
part12() {
  mode=$1
  echo "== part 1: Skiff prune, Wyng reads ($mode)"
  a="$work/p1-$mode"
  dest="file:$a"
  im="$work/img-p1-$mode"
  mkdir -p "$im"
  rm -f "$pool"/a.img "$pool"/b.img "$pool"/d.img
  gen "$pool/a.img" 3000000 "a-$mode"
  gen "$pool/b.img" 2000000 "b-$mode"
  gen "$pool/d.img" 500000 "d-$mode"
  run "skiff arch-init --encrypt=$mode" skiff arch-init --dest="$dest" --encrypt="$mode" --chunk-factor=1
  send_round skiff "$dest" "$im" a.img b.img d.img
  s1=$last_session
  mutate "$pool/a.img" 2 100000:70000 1000000:z131072
  mutate "$pool/b.img" 2 0:5000
  send_round skiff "$dest" "$im" a.img b.img
  s2=$last_session
  mutate "$pool/a.img" 3 2000000:300000
  mutate "$pool/b.img" 3 1500000:65536
  send_round skiff "$dest" "$im" a.img b.img
  s3=$last_session
  mutate "$pool/a.img" 4 size=4200123 3500000:400000 # grow
  mutate "$pool/b.img" 4 100:100
  send_round skiff "$dest" "$im" a.img b.img
  s4=$last_session
  mutate "$pool/a.img" 5 size=1900001 1800000:z65536 10:10 # shrink below the start size
  mutate "$pool/b.img" 5 700000:200000
  send_round skiff "$dest" "$im" a.img b.img
  s5=$last_session
  mutate "$pool/a.img" 6 500000:1000
  mutate "$pool/b.img" 6 1999000:1000
  send_round skiff "$dest" "$im" a.img b.img
  s6=$last_session
  mutate "$pool/a.img" 7 0:65536
  mutate "$pool/b.img" 7 300000:5
  send_round skiff "$dest" "$im" a.img b.img
  s7=$last_session
  expect_sessions "Skiff sent 7 sessions of a.img" a.img "$dest" "$s1 $s2 $s3 $s4 $s5 $s6 $s7"

  # a.img: a middle session, then the range over the grow and the shrink (merged into a smaller
  # target), then the oldest session. b.img: a range from the oldest, then a single middle one.
  run "skiff prune a.img --session=$s2 (middle)" skiff prune a.img --session="$s2" -u --dest="$dest"
  run "skiff prune a.img --session=$s4,$s5 (range: grow, shrink)" skiff prune a.img --session="$s4,$s5" -u --dest="$dest"
  run "skiff prune a.img --session=$s1 (oldest)" skiff prune a.img --session="$s1" -u --dest="$dest"
  run "skiff prune b.img --session=$s1,$s3 (range from the oldest)" skiff prune b.img --session="$s1,$s3" -u --dest="$dest"
  run "skiff prune b.img --session=$s6 (middle)" skiff prune b.img --session="$s6" -u --dest="$dest"
  expect_sessions "after Skiff's prunes, a.img" a.img "$dest" "$s3 $s6 $s7"
  expect_sessions "after Skiff's prunes, b.img" b.img "$dest" "$s4 $s5 $s7"
  if [ -e "$a"/Vol_*/merge ] || [ -e "$a"/Vol_*/merge.lst.gz ]; then bad "prune left merge/ or merge.lst.gz"; else ok "no merge leftovers"; fi

  run "wyng list" wyng list --dest="$dest"
  run "wyng list a.img b.img" wyng list a.img b.img --dest="$dest"
  for s in $s3 $s6 $s7; do
    if ! last_log | grep -q "$s"; then bad "wyng list does not show $s"; fi
  done
  check_all wyng a.img "$dest" "$im"
  check_all wyng b.img "$dest" "$im"
  run "wyng arch-check" wyng arch-check --dest="$dest"
  check_all skiff a.img "$dest" "$im"
  run "skiff arch-check" skiff arch-check --dest="$dest"

  mutate "$pool/a.img" 8 1000000:100000 size=2500000
  mutate "$pool/b.img" 8 0:1
  send_round wyng "$dest" "$im" a.img b.img
  s8=$last_session
  run "skiff verify a.img (Wyng's session on top)" skiff verify a.img --dest="$dest"
  restore_check skiff a.img "$s8" "$im/a.img.$s8.img" "$dest"
  restore_check skiff b.img "$s8" "$im/b.img.$s8.img" "$dest"
  run "skiff prune a.img --session=$s6,$s7 (into Wyng's session)" skiff prune a.img --session="$s6,$s7" -u --dest="$dest"
  check_all wyng a.img "$dest" "$im"
  run "wyng arch-check" wyng arch-check --dest="$dest"

  echo "== part 2: Skiff rename/add/delete, Wyng reads and sends ($mode)"
  run "skiff rename b.img c.img" skiff rename b.img c.img --local="$pool" -u --dest="$dest"
  run "skiff add e.img" skiff add e.img -u --dest="$dest"
  dvid=$(vid_of d.img "$dest")
  run "skiff delete d.img -u" skiff delete d.img -u --dest="$dest"
  [ -e "$a/$dvid" ] && bad "deleted volume's $dvid still there" || ok "$dvid removed"
  run "wyng list" wyng list --dest="$dest"
  out=$(last_log)
  case $out in *c.img*e.img*) ok "wyng lists c.img and e.img" ;; *) bad "wyng list lacks c.img or e.img" ;; esac
  case $out in *" b.img"* | *" d.img"*) bad "wyng still lists b.img or d.img" ;; *) ok "wyng no longer lists b.img, d.img" ;; esac
  for s in $(sessions_of c.img "$dest"); do
    ln -f "$im/b.img.$s.img" "$im/c.img.$s.img"
  done
  check_all wyng c.img "$dest" "$im"
  # Wyng's arch-check fails on any volume without sessions (its KeyError('None'), also on its own
  # plain-zlib-64k fixture's newvol.img): exit 2 naming e.img only.
  run_rc 2 "wyng arch-check (after rename/add/delete; e.img has no session yet)" wyng arch-check --dest="$dest"
  last_log | grep -q "Error on volumes: e.img\$" && ok "wyng arch-check errs only on session-less e.img" || bad "wyng arch-check: $(last_log | grep -i error | tr '\n' '|')"
  mv "$pool/b.img" "$pool/c.img"
  mutate "$pool/c.img" 9 50000:50000
  gen "$pool/e.img" 300000 "e-$mode"
  send_round wyng "$dest" "$im" c.img e.img
  s9=$last_session
  restore_check skiff c.img "$s9" "$im/c.img.$s9.img" "$dest"
  restore_check skiff e.img "$s9" "$im/e.img.$s9.img" "$dest"
  check_all wyng c.img "$dest" "$im"
  run "skiff arch-check" skiff arch-check --dest="$dest"
  rm -f "$pool/c.img" "$pool/e.img"
}

# === Part 3: dedup ==============================================================================
part3() {
  mode=$1
  echo "== part 3: Skiff send --dedup and arch-deduplicate, Wyng reads ($mode)"
  im="$work/img-p3-$mode"
  mkdir -p "$im"
  gen "$pool/x.img" 1500000 "x-$mode"
  cp "$pool/x.img" "$pool/y.img"
  for variant in send-dedup arch-dedup; do
    a="$work/p3-$variant-$mode"
    dest="file:$a"
    run "skiff arch-init --encrypt=$mode ($variant)" skiff arch-init --dest="$dest" --encrypt="$mode" --chunk-factor=1
    if [ $variant = send-dedup ]; then
      SEND_OPTS=--dedup send_round skiff "$dest" "$im" x.img y.img
    else
      send_round skiff "$dest" "$im" x.img y.img
    fi
    links=$(find "$a" -path '*/S_*/*/x*' -type f -links +1 | wc -l)
    if [ $variant = arch-dedup ]; then
      if [ "$links" -eq 0 ]; then ok "no hard links before arch-deduplicate"; else bad "$links hard links before arch-deduplicate"; fi
      run "skiff arch-deduplicate" skiff arch-deduplicate --dest="$dest" -u
      links=$(find "$a" -path '*/S_*/*/x*' -type f -links +1 | wc -l)
    fi
    if [ "$links" -gt 0 ]; then ok "$variant: $links chunk files are hard links"; else bad "$variant: no chunk file is a hard link"; fi
    rm -f "$im"/*.img
    s=$(newest_session "$a")
    cp "$pool/x.img" "$im/x.img.$s.img"
    cp "$pool/y.img" "$im/y.img.$s.img"
    check_all wyng x.img "$dest" "$im"
    check_all wyng y.img "$dest" "$im"
    run "wyng arch-check ($variant)" wyng arch-check --dest="$dest"
  done
  rm -f "$pool/x.img" "$pool/y.img"
}

# === Part 4: Skiff prunes archives Wyng wrote ===================================================
part4() {
  echo "== part 4: Skiff prunes Wyng's archives"
  # plain-zlib-64k: vol2.img has S_20261128-153734 (image 1), -153738 (image 3), -153740 (image 4).
  im="$work/img-p4"
  mkdir -p "$im"
  f="$fixtures/plain-zlib-64k"
  cp "$f/vol2.session1.img" "$im/vol2.img.20261128-153734.img"
  cp "$f/vol2.session3.img" "$im/vol2.img.20261128-153738.img"
  cp "$f/vol2.session4.img" "$im/vol2.img.20261128-153740.img"
  for which in 20261128-153738 20261128-153734; do
    a="$work/p4-plain-$which"
    cp -a "$f/archive" "$a"
    chmod -R u+w "$a"
    dest="file:$a"
    PASS=none SMETA="$work/sm-p4-$which" run "skiff prune vol2.img --session=$which (Wyng's plain-zlib-64k)" \
      skiff prune vol2.img --session="$which" -u --dest="$dest"
    PASS=none WMETA="$work/wm-p4-$which" check_all wyng vol2.img "$dest" "$im"
    PASS=none WMETA="$work/wm-p4-$which" run_rc 2 "wyng arch-check (newvol.img: Wyng's own KeyError('None') as on the pristine fixture)" \
      wyng arch-check --dest="$dest"
    last_log | grep -q "Error on volumes: newvol.img\$" && ok "wyng arch-check errs only on session-less newvol.img" || bad "wyng arch-check: $(last_log | grep -i error | tr '\n' '|')"
    PASS=none WMETA="$work/wm-p4-$which" run "wyng verify dup.img" wyng verify dup.img --dest="$dest"
  done
  # enc-dgr-zstd-256k: two sessions of vol1.img; prune the older.
  f="$fixtures/enc-dgr-zstd-256k"
  a="$work/p4-dgr"
  cp -a "$f/archive" "$a"
  chmod -R u+w "$a"
  dest="file:$a"
  cp "$f/vol1.session2.img" "$im/vol1.img.20261128-153711.img"
  PASS=fixture-pass-1 SMETA="$work/sm-p4-dgr" run "skiff prune vol1.img --session=20261128-153704 (Wyng's enc-dgr-zstd-256k)" \
    skiff prune vol1.img --session=20261128-153704 -u --dest="$dest"
  PASS=fixture-pass-1 SMETA="$work/sm-p4-dgr" expect_sessions "enc-dgr after prune" vol1.img "$dest" "20261128-153711"
  PASS=fixture-pass-1 WMETA="$work/wm-p4-dgr" check_all wyng vol1.img "$dest" "$im"
  PASS=fixture-pass-1 WMETA="$work/wm-p4-dgr" run "wyng arch-check (enc-dgr)" wyng arch-check --dest="$dest"

  # A fresh Wyng archive, per mode, with 6 sessions (grow and shrink); Skiff prunes.
  for mode in $MODES; do
    a="$work/p4-fresh-$mode"
    dest="file:$a"
    im="$work/img-p4-$mode"
    mkdir -p "$im"
    WMETA="$work/wm-p4-$mode"
    SMETA="$work/sm-p4-$mode"
    run "wyng arch-init --encrypt=$mode" wyng arch-init --dest="$dest" --encrypt="$mode" --chunk-factor=1
    gen "$pool/w.img" 1300000 "w-$mode"
    send_round wyng "$dest" "$im" w.img
    for k in 2 3 4 5 6; do
      case $k in
      3) mutate "$pool/w.img" "$k" size=1700000 1600000:100000 ;;
      5) mutate "$pool/w.img" "$k" size=800000 0:1000 ;;
      *) mutate "$pool/w.img" "$k" $((k * 100000)):70000 ;;
      esac
      send_round wyng "$dest" "$im" w.img
    done
    mapfile -t S < <(sessions_of w.img "$dest")
    run "skiff prune w.img --session=${S[1]} (middle of Wyng's)" skiff prune w.img --session="${S[1]}" -u --dest="$dest"
    run "skiff prune w.img --session=${S[2]},${S[3]} (range over the grow)" skiff prune w.img --session="${S[2]},${S[3]}" -u --dest="$dest"
    run "skiff prune w.img --session=${S[0]} (oldest)" skiff prune w.img --session="${S[0]}" -u --dest="$dest"
    expect_sessions "Wyng's archive after Skiff's prunes ($mode)" w.img "$dest" "${S[4]} ${S[5]}"
    check_all wyng w.img "$dest" "$im"
    run "wyng arch-check ($mode)" wyng arch-check --dest="$dest"
    check_all skiff w.img "$dest" "$im"
    rm -f "$pool/w.img"
  done
  WMETA="$work/wyng-meta"
  SMETA="$work/skiff-meta"
}

# === Part 5: interrupted prunes =================================================================
# A copy of Wyng whose destination helper exits with 60 right after the given step of a merge.
patched_wyng() { # patched_wyng init|moves -> path
  p="$work/wyng-stop-$1"
  mkdir -p "$p"
  if [ "$1" = init ]; then
    anchor='replace("merge-init", "merge")    ; fssync(".")'
  else
    anchor='open("CHECK-mv-rm","w").close()'
  fi
  python3 - "$WYNG" "$p/wyng" "$anchor" <<'EOF'
import sys
src, dst, anchor = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(src).read()
assert text.count(anchor) == 1, anchor
text = text.replace(anchor, anchor + "   ; sys.stdout.flush()   ; os._exit(60)")
open(dst, "w").write(text)
EOF
  echo "$p/wyng"
}

# Build a small Wyng archive of 4 sessions of m.img (images kept by session name).
wyng_archive_4() { # wyng_archive_4 ARCHIVE IMGDIR MODE
  run "wyng arch-init --encrypt=$3 (part 5)" wyng arch-init --dest="file:$1" --encrypt="$3" --chunk-factor=1
  gen "$pool/m.img" 1100000 "m-$3"
  send_round wyng "file:$1" "$2" m.img
  mutate "$pool/m.img" 2 65536:1000 131072:z65536 700000:100
  send_round wyng "file:$1" "$2" m.img
  mutate "$pool/m.img" 3 65536:2000 327680:65536 size=1300000
  send_round wyng "file:$1" "$2" m.img
  mutate "$pool/m.img" 4 0:10 size=900000
  send_round wyng "file:$1" "$2" m.img
  rm -f "$pool/m.img"
}

in_process_of() { # in_process_of ARCHIVE: the [in_process] section of an unencrypted archive
  tail -c +18 "$1/archive.ini" | gunzip 2>/dev/null | sed -n '/^\[in_process\]/,/^\[/p'
}

part5() {
  mode=off
  echo "== part 5: Wyng's prune interrupted, Skiff completes it"
  base="$work/p5-base"
  im="$work/img-p5"
  mkdir -p "$im"
  WMETA="$work/wm-p5-base"
  wyng_archive_4 "$base" "$im" "$mode"
  mapfile -t S < <(SMETA="$work/sm-p5-list" sessions_of m.img "file:$base")
  echo "   sessions: ${S[*]}; pruning ${S[1]},${S[2]} into ${S[3]}"
  for v in normal init moves; do
    cp -a "$base" "$work/p5-$v"
    cp -a "$WMETA" "$work/wm-p5-$v"
  done
  # The reference: Wyng's own, uninterrupted prune.
  WMETA="$work/wm-p5-normal" run "wyng prune (normal)" wyng prune m.img --session="${S[1]},${S[2]}" -u --dest="file:$work/p5-normal"
  for v in init moves; do
    a="$work/p5-$v"
    dest="file:$a"
    pw=$(patched_wyng $v)
    WMETA="$work/wm-p5-$v" run_rc 60 "patched wyng prune stops after $v" \
      /usr/bin/python3 "$pw" prune m.img --session="${S[1]},${S[2]}" -u --dest="$dest" \
      --meta-dir="$work/wm-p5-$v" --passcmd="echo $PASS" --authmin=0
    ip=$(in_process_of "$a")
    case $ip in *"0 = merge"*) ok "archive.ini holds [in_process] merge after $v: $(echo "$ip" | tr '\n' ' ')" ;;
    *) bad "archive.ini [in_process] after $v: $ip" ;; esac
    vdir=$(ls -d "$a"/Vol_*)
    [ -d "$vdir/merge" ] && ok "Vol_*/merge exists after $v" || bad "no Vol_*/merge after $v"
    if [ $v = moves ]; then [ -e "$vdir/merge/CHECK-mv-rm" ] && ok "CHECK-mv-rm exists" || bad "no CHECK-mv-rm"; fi
    # Wyng keys its cache by the destination path: Skiff works on a copy at another path, and
    # Wyng's own completion (with the cache of the interrupted run) on the original.
    rm -rf "${a}-frozen" "${a}-skiff"
    cp -a "$a" "${a}-frozen"
    cp -a "$a" "${a}-skiff"
    wdest=$dest
    a="${a}-skiff"
    dest="file:$a"
    vdir=$(ls -d "$a"/Vol_*)
    SMETA="$work/sm-p5-$v-list" run "skiff list on the mid-prune archive ($v)" skiff list --dest="$dest"
    last_log | grep -q "Prior operation in progress" && ok "skiff list reports the prior operation" ||
      bad "skiff list does not report '** Prior operation in progress'"
    # Wyng with a fresh cache cannot load the mid-prune archive (spec 15.4: volinfo still lists
    # the sessions that are now inside merge/).
    WMETA="$work/wm-p5-$v-fresh0" run_rc 1 "wyng list (fresh cache) on the mid-prune archive fails as the spec says ($v)" \
      wyng list m.img --dest="$dest"
    last_log | grep -q "FileNotFoundError" && ok "  ... with FileNotFoundError for a moved session's info" || bad "wyng list: $(last_log | tail -n 1)"
    # Skiff completes it with a fresh meta dir and a write that changes nothing else.
    SMETA="$work/sm-p5-$v" run "skiff arch-deduplicate (fresh meta dir) completes the prune ($v)" \
      skiff arch-deduplicate --dest="$dest" -u
    last_log | grep -q "Completing prior operation in progress." && ok "Skiff printed 'Completing prior operation in progress.'" ||
      bad "Skiff did not print 'Completing prior operation in progress.'"
    ip=$(in_process_of "$a")
    case $ip in *"0 ="*) bad "[in_process] still set after Skiff ($v)" ;; *) ok "[in_process] empty after Skiff ($v)" ;; esac
    [ -e "$vdir/merge" ] || [ -e "$vdir/merge.lst.gz" ] && bad "merge leftovers after Skiff ($v)" || ok "no merge leftovers ($v)"
    SMETA="$work/sm-p5-$v" expect_sessions "after Skiff's completion ($v)" m.img "$dest" "${S[0]} ${S[3]}"
    SMETA="$work/sm-p5-$v" check_all skiff m.img "$dest" "$im"
    WMETA="$work/wm-p5-$v-fresh" run "wyng list (fresh cache) ($v)" wyng list m.img --dest="$dest"
    WMETA="$work/wm-p5-$v-fresh" check_all wyng m.img "$dest" "$im"
    WMETA="$work/wm-p5-$v-fresh" run "wyng arch-check (fresh cache) ($v)" wyng arch-check --dest="$dest"
    # Compare with Wyng's normal prune: every file but archive.ini* (updated_at).
    d=$(cd "$a" && find . -type f ! -name 'archive.ini*' | sort | while read -r f; do cmp -s "$f" "$work/p5-normal/$f" || echo "$f"; done)
    d2=$(cd "$work/p5-normal" && find . -type f ! -name 'archive.ini*' | sort | while read -r f; do [ -e "$a/$f" ] || echo "missing $f"; done)
    if [ -z "$d$d2" ]; then ok "Skiff-completed archive ($v) = Wyng's normal prune (all files but archive.ini*)"; else
      bad "Skiff-completed archive ($v) differs from Wyng's normal prune: $(echo $d $d2)"; fi
    # Wyng's own completion of the same state, with the cache of its interrupted run (spec 9.5:
    # it completes the merge, then reports a spurious 'Local and dest metadata differ', exit 1).
    WMETA="$work/wm-p5-$v" run_rc 1 "wyng's own completion (arch-deduplicate, its own cache) ($v)" \
      wyng arch-deduplicate --dest="$wdest" -u
    d=$(cd "$a" && find . -type f ! -name 'archive.ini*' | sort | while read -r f; do cmp -s "$f" "${wdest#file:}/$f" || echo "$f"; done)
    d2=$(cd "${wdest#file:}" && find . -type f ! -name 'archive.ini*' | sort | while read -r f; do [ -e "$a/$f" ] || echo "missing $f"; done)
    if [ -z "$d$d2" ]; then ok "Skiff's completion = Wyng's own completion ($v)"; else bad "Skiff's completion differs from Wyng's own ($v): $(echo $d $d2)"; fi
    a="${a%-skiff}"
    # Wyng 0.8 abandons (does not complete) a merge when the first volume named is the one being
    # merged (spec 15.4); Skiff must complete it: rename the in-process volume itself.
    rm -rf "${a}-rename"
    cp -a "${a}-frozen" "${a}-rename"
    SMETA="$work/sm-p5-$v-rename" run "skiff rename m.img m2.img (the merged volume; fresh meta dir) ($v)" \
      skiff rename m.img m2.img -u --dest="file:${a}-rename"
    last_log | grep -q "Completing prior operation in progress." && ok "Skiff printed 'Completing prior operation in progress.'" ||
      bad "Skiff did not print 'Completing prior operation in progress.'"
    for s in "${S[0]}" "${S[3]}"; do ln -f "$im/m.img.$s.img" "$im/m2.img.$s.img"; done
    SMETA="$work/sm-p5-$v-rename" expect_sessions "after rename with completion ($v)" m2.img "file:${a}-rename" "${S[0]} ${S[3]}"
    WMETA="$work/wm-p5-$v-rename" check_all wyng m2.img "file:${a}-rename" "$im"
    if [ -n "${SAVE_MIDPRUNE:-}" ]; then
      out="$SAVE_MIDPRUNE/stopped-after-$v"
      rm -rf "$out"
      mkdir -p "$out"
      cp -a "${a}-frozen" "$out/archive"
      for i in 0 1 2 3; do cp "$im/m.img.${S[$i]}.img" "$out/m.session$((i + 1)).img"; done
      (cd "$out" && sha256sum m.session*.img >SHA256SUMS.images)
      echo "   saved $out"
    fi
  done

  echo "== part 5b: Skiff's prune interrupted (SIGKILL while Vol_*/merge exists)"
  a="$work/p5-skiff"
  dest="file:$a"
  im="$work/img-p5b"
  mkdir -p "$im"
  SMETA="$work/sm-p5b"
  WMETA="$work/wm-p5b"
  run "skiff arch-init (part 5b)" skiff arch-init --dest="$dest" --encrypt=off --chunk-factor=1
  head -c 100000000 /dev/urandom >"$pool/k.img"
  send_round skiff "$dest" "$im" k.img
  head -c 100000000 /dev/urandom | dd of="$pool/k.img" conv=notrunc status=none
  send_round skiff "$dest" "$im" k.img
  mutate "$pool/k.img" 3 5000000:1000
  send_round skiff "$dest" "$im" k.img
  rm -f "$pool/k.img"
  mapfile -t K < <(sessions_of k.img "$dest")
  a0=$a
  for point in init half-moved; do
  a="$a0-$point"
  dest="file:$a"
  rm -rf "$a"
  cp -a "$a0" "$a"
  SMETA="$work/sm-p5b-$point"
  vdir=$(ls -d "$a"/Vol_*)
  # The second session rewrote every chunk, so pruning the first renames ~1500 chunk files
  # from the second into the first's directory inside merge/. A busy-polling watcher SIGKILLs
  # Skiff as soon as Vol_*/merge exists (init), or once half of the second session's chunk
  # files have been moved out of merge/S_<second>/000000000 (half-moved).
  total=$(ls "$vdir/S_${K[1]}/000000000" | wc -l)
  node "$SKIFF_MAIN" prune k.img --session="${K[0]}" -u --dest="$dest" \
    --meta-dir="$SMETA" --authmin=0 >"$work/log/p5b-prune-$point.txt" 2>&1 &
  pid=$!
  killed=$(python3 -c '
import os, sys, signal
pid, d, point, sub, total = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
def ready():
    if point == "init": return os.path.isdir(d)
    try: return len(os.listdir(d + "/" + sub)) < total // 2
    except FileNotFoundError: return False
while True:
    if ready():
        os.kill(pid, signal.SIGKILL); print("yes"); break
    try:
        os.kill(pid, 0)
        if open("/proc/%d/stat" % pid).read().split()[2] == "Z": raise ProcessLookupError
    except (ProcessLookupError, FileNotFoundError):
        print("no"); break' "$pid" "$vdir/merge" "$point" "S_${K[1]}/000000000" "$total")
  wait $pid 2>/dev/null
  echo "   state after the kill ($point): $(ls "$vdir" | tr '\n' ' ') merge/: $(ls "$vdir/merge" 2>/dev/null | tr '\n' ' ')"
  for s in "${K[0]}" "${K[1]}"; do echo "     merge/S_$s/000000000: $(ls "$vdir/merge/S_$s/000000000" 2>/dev/null | wc -l) files (S_${K[1]} had $total)"; done
  ip=$(in_process_of "$a")
  if [ $killed = yes ] && [ -d "$vdir/merge" ]; then
    ok "Skiff prune SIGKILLed with Vol_*/merge present ($point); [in_process]: $(echo "$ip" | tr '\n' ' ')"
    rm -rf "${a}-frozen"
    cp -a "$a" "${a}-frozen"
    # Wyng (fresh cache) cannot load it, exactly as with its own mid-prune archive.
    WMETA="$work/wm-p5b-$point-fresh" run_rc 1 "wyng list on Skiff's mid-prune archive fails (as on Wyng's own)" wyng list k.img --dest="$dest"
    last_log | grep -q "FileNotFoundError" && ok "  ... with FileNotFoundError for a moved session's info" || bad "wyng list: $(last_log | tail -n 1)"
    WMETA="$work/wm-p5b-$point-fresh2" run_rc 1 "wyng verify on Skiff's mid-prune archive fails (as on Wyng's own)" wyng verify k.img --dest="$dest" --session="${K[2]}"
    SMETA="$work/sm-p5b-$point-fresh" run "skiff add probe.img completes Skiff's interrupted prune" skiff add probe.img -u --dest="$dest"
    last_log | grep -q "Completing prior operation in progress." && ok "Skiff printed 'Completing prior operation in progress.'" ||
      bad "Skiff did not print 'Completing prior operation in progress.'"
    ip=$(in_process_of "$a")
    case $ip in *"0 ="*) bad "[in_process] still set" ;; *) ok "[in_process] empty" ;; esac
    [ -e "$vdir/merge" ] && bad "Vol_*/merge still there" || ok "no Vol_*/merge"
    SMETA="$work/sm-p5b-$point-fresh" expect_sessions "after completing Skiff's prune" k.img "$dest" "${K[1]} ${K[2]}"
    SMETA="$work/sm-p5b-$point-fresh" check_all skiff k.img "$dest" "$im"
    WMETA="$work/wm-p5b-$point-fresh3" check_all wyng k.img "$dest" "$im"
    WMETA="$work/wm-p5b-$point-fresh3" run_rc 2 "wyng arch-check after completion (Wyng's KeyError on session-less probe.img)" wyng arch-check --dest="$dest"
    last_log | grep -q "Error on volumes: probe.img\$" && ok "wyng arch-check errs only on session-less probe.img" || bad "wyng arch-check: $(last_log | grep -i error | tr '\n' '|')"
  else
    bad "could not SIGKILL Skiff's prune while Vol_*/merge existed (killed=$killed; log: $(tail -n 2 "$work/log/p5b-prune-$point.txt" | tr '\n' '|'))"
  fi
  done
  WMETA="$work/wyng-meta"
  SMETA="$work/skiff-meta"
}

case " $PARTS " in *" 1 "* | *" 2 "*) for m in $MODES; do part12 "$m"; done ;; esac
case " $PARTS " in *" 3 "*) for m in $MODES; do part3 "$m"; done ;; esac
case " $PARTS " in *" 4 "*) part4 ;; esac
case " $PARTS " in *" 5 "*) part5 ;; esac

echo
echo "$passed passed, $failed failed"
[ -n "$failures" ] && echo "Failures:$failures"
[ "$failed" -eq 0 ]
