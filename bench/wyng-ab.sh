#!/bin/bash
# Issue 17's acceptance, measured: real Wyng 0.8, Skiff as built in this tree and Skiff as built
# from an older commit, on the same data in the same run, on block-backed file systems (loop
# devices, so that dropping the page cache means reading from a disk again). Run by hand, as root:
#
#   npm run build
#   git archive 01b2015 | (mkdir -p /tmp/skiff-01b2015 && tar -x -C /tmp/skiff-01b2015)
#   ln -s "$PWD/node_modules" /tmp/skiff-01b2015/node_modules   # 01b2015 has the same dependencies
#   (cd /tmp/skiff-01b2015 && npm run build)
#   WYNG=/tmp/wyng/src/wyng SKIFF_OLD=/tmp/skiff-01b2015 bench/wyng-ab.sh
#   MODE=rss SKIFF_OLD=/tmp/skiff-01b2015 bench/wyng-ab.sh             # peak RSS, 1–8 GiB
#   MODE=floors RUNS=3 bench/wyng-ab.sh                                # what no tool beats here
#
# (`git worktree add /tmp/skiff-01b2015 01b2015` works as well, but registers the worktree in the
# repository's git directory; `git archive` leaves it alone.)
#
# Settings (environment):
#   MODE=ab|rss|floors  ab (default): the time table below; rss: peak RSS of Skiff's send and
#                     receive; floors: the memory and I/O costs under any tool's send and receive
#                     on these file systems (see the MODE=floors block)
#   SIZE_MIB=1024     the volume (ab mode); mixed content: 50% random, 25% zeros, 25% text, per MiB
#   RUNS=5            ab mode: runs; the order of the tools rotates from run to run
#   SIZES_MIB="1024 2048 4096 8192"   rss mode: volume sizes
#   WYNG=/tmp/wyng/src/wyng            Wyng's script (run with $WYNG_PY, default /usr/bin/python3);
#                                      set WYNG= (empty) to leave Wyng out
#   SKIFF_OLD=<dir>   a built checkout of the older Skiff (left out when unset)
#   SKIFF_NEW=<dir>   the Skiff to measure (default: this repository)
#   BENCH_DIR=/var/tmp/skiff-wyng-ab   where the loop images and the local state go (removed at the end)
#   VERIFY=first|all|none              compare the restores byte for byte (default: in the first run)
#   NICE=-10          run every timed command under `nice -n -10` (all tools alike): on a shared
#                     machine the measured tool then gets most of the CPU (not the disk)
#   LOGS=<dir>        keep every command's output there (else it goes with $BENCH_DIR)
#   PASSCMD_EVERY=1   give --passcmd to every command (see argv_of below)
#   WYNG_PRIVATE_LOCK=1                run Wyng in its own mount namespace with a private tmpfs on
#                                      /var/lock, so that another user's Wyng run neither blocks nor
#                                      is blocked by this one (0: use the machine's lock)
#
# What one ab run does, for each tool in turn (per step, all tools before the next step):
#   start-up         `list` of the tool's empty archive: the fixed cost of one command
#   cold start-up    the same after drop_caches: the interpreter and the tool's code read from disk
#                    (every cold step below pays it: Node's and Python's own files are dropped too)
#   cold full send   first send of cold.img (--local, a Btrfs subvolume), after sync + drop_caches
#   cold incremental send after rewriting 1% of its 256 KiB chunks (the same chunks in every run)
#   cold receive     the newest session of cold.img to a new file, after sync + drop_caches
#   warm full send   first send of warm.img (same content) just after reading it into the page cache
#   warm incremental the same 1% rewritten (just written, so still cached), then send
#   warm receive     the newest session of warm.img, just after reading the tool's archive files
# Sends read the volume from a Btrfs subvolume (--local: reflink snapshots, and incrementals from
# the extent maps, as both tools do it in dom0; --import-other-from would make every "incremental"
# read and hash the whole volume again); the archives are on XFS (file: destination); the restores
# go to the Btrfs file system. Each step is timed from the start of the command to the end of a
# `sync -f` of both file systems after it (Skiff syncs before it commits; Wyng leaves its writes
# to the page cache). Each tool has its own fresh archive per run (default settings:
# xchacha20-dgr, zstd:3, 256 KiB) and unlocks it once before the timed steps, keeping its keys in
# its agent (--authmin=60), so the passphrase's key derivation (scrypt) is never timed. The agents
# are stopped, the file systems unmounted and the loop devices detached at the end, also after a
# failure or Ctrl-C.
#
# Output: per step and tool, median and min–max seconds, MB/s, CPU seconds (user+sys of the tool
# and its children), peak RSS, the seconds of the sync after it, and the CPU seconds the rest of
# the machine was busy meanwhile (other users, and kernel threads: on a shared 2-core machine a
# step whose "rest" approaches 2 × its seconds was starved, and a single-threaded Wyng loses more
# to that than a multi-threaded Skiff); then speed ratios per step, each the median and min–max of
# the per-run ratios (Wyng/new: how many times faster the new Skiff is than Wyng), next to issue
# 17's targets. The load average is printed before every run: the machine is shared.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
MODE=${MODE:-ab}
SIZE_MIB=${SIZE_MIB:-1024}
RUNS=${RUNS:-5}
SIZES_MIB=${SIZES_MIB:-1024 2048 4096 8192}
WYNG=${WYNG-/tmp/wyng/src/wyng}
WYNG_PY=${WYNG_PY:-/usr/bin/python3}
SKIFF_NEW=${SKIFF_NEW:-$repo}
SKIFF_OLD=${SKIFF_OLD:-}
BENCH_DIR=${BENCH_DIR:-/var/tmp/skiff-wyng-ab}
VERIFY=${VERIFY:-first}
WYNG_PRIVATE_LOCK=${WYNG_PRIVATE_LOCK:-1}
PASSCMD_EVERY=${PASSCMD_EVERY:-0}
NICE=${NICE:-}
LOGS=${LOGS:-}
PASS=bench-passphrase-1234
NODE=$(command -v node)

die() { echo "wyng-ab: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (loop devices, mounts, drop_caches)"
[ -x /usr/bin/time ] || die "GNU time is missing: apt-get install time"
for t in losetup mkfs.btrfs mkfs.xfs btrfs filefrag python3; do command -v $t >/dev/null || die "$t is missing"; done
[ -f "$SKIFF_NEW/dist/source-agent/main.js" ] || die "$SKIFF_NEW is not built (npm run build)"
[ -z "$SKIFF_OLD" ] || [ -f "$SKIFF_OLD/dist/source-agent/main.js" ] || die "SKIFF_OLD=$SKIFF_OLD is not a built checkout"
[ "$MODE" != ab ] || [ -z "$WYNG" ] || [ -f "$WYNG" ] || die "WYNG=$WYNG not found (set WYNG= to leave Wyng out)"

# --- the work area: two loop file systems ---------------------------------------------------
W=$BENCH_DIR
[ -e "$W" ] && die "$W exists (a run in progress, or one that was killed: unmount and remove it)"
mkdir -p "$W/logs" "$W/src" "$W/dst"
loops=()
mounts=()
agents=() # "tool dest" of each archive whose agent may hold keys
child=    # the tool command running now (in_bg)
# A trap runs with the redirections of the command it interrupts (a step's log): fd 3 is the
# script's own stderr, for the cleanup's messages.
exec 3>&2
cleanup() {
  set +e
  trap '' INT TERM
  echo "wyng-ab: cleaning up $W" >&3
  [ -z "$child" ] || stop_child
  [ -z "$LOGS" ] || { mkdir -p "$LOGS" && cp -r "$W/logs/." "$LOGS/" && echo "wyng-ab: the tools' output is in $LOGS" >&3; }
  for a in "${agents[@]}"; do stop_agent $a; done
  local kept=0
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount "${mounts[$i]}" || kept=1; done
  if [ $kept = 1 ]; then
    echo "wyng-ab: a file system under $W stayed mounted: unmount it, detach ${loops[*]}, remove $W" >&3
    return
  fi
  for l in "${loops[@]}"; do losetup -d "$l"; done
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# in_bg CMD...: runs CMD and waits for it. Run in the foreground, a tool that survives a Ctrl-C
# (Skiff finishes an arch-init it has begun) would swallow it: bash acts on a SIGINT only if its
# foreground child died of it. From `wait` the trap runs at once. `env --default-signal` undoes
# the SIGINT that bash ignores in background commands, so the tool still gets the Ctrl-C itself.
in_bg() {
  env --default-signal=INT,QUIT "$@" &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=
  return $rc
}
# stop_child: interrupts the running tool (and, under GNU time, its child) by their ids, gives it
# 30 s to end cleanly, then kills it.
stop_child() {
  local kids i
  kids=$(ps -o pid= --ppid "$child" | xargs)
  kill -INT $kids "$child" 2>/dev/null
  for ((i = 0; i < 30; i++)); do kill -0 "$child" 2>/dev/null || break; sleep 1; done
  kill -KILL $kids "$child" 2>/dev/null
  wait "$child" 2>/dev/null
  child=
}

# mkloopfs IMAGE MIB MKFS MOUNTPOINT OPTIONS: a sparse file on $W's file system, attached with
# direct I/O (no second copy of every page in the cache through the backing file), formatted and
# mounted with OPTIONS.
mkloopfs() {
  local image=$1 mib=$2 mkfs=$3 mnt=$4 options=$5 dev
  truncate -s "${mib}M" "$image"
  dev=$(losetup --find --show --direct-io=on "$image" 2>/dev/null || losetup --find --show "$image")
  loops+=("$dev")
  $mkfs -q -f "$dev" >/dev/null
  mount -o "$options" "$dev" "$mnt"
  mounts+=("$mnt")
}

max_mib=$SIZE_MIB
[ "$MODE" = rss ] && max_mib=$(printf '%s\n' $SIZES_MIB | sort -n | tail -n 1)
# nodiscard: Btrfs would otherwise discard the extents of every removed restore in the background
# (the loop device punches holes in its file), during the steps that follow.
mkloopfs "$W/src.img" $((max_mib * 3 + 1024)) mkfs.btrfs "$W/src" nodiscard
mkloopfs "$W/dst.img" $((max_mib * 4 + 1024)) mkfs.xfs "$W/dst" nodiscard
POOL=$W/src/pool
btrfs subvolume create "$POOL" >/dev/null

# --- the tools ------------------------------------------------------------------------------
tools=()
[ "$MODE" = ab ] && [ -n "$WYNG" ] && tools+=(wyng)
tools+=(new)
[ -n "$SKIFF_OLD" ] && tools+=(old)

# argv_of TOOL ARGS...: sets the array `argv` to the command line that runs TOOL with ARGS and its
# own local state, keys kept by its agent for 60 minutes. No passphrase: the agent has the keys
# (since commit 6e3108e Skiff checks a passphrase given to it while its agent holds the keys, at
# the cost of a key derivation: about 2 s and 512 MiB that Wyng, which ignores it, never pays).
# PASSCMD_EVERY=1 gives --passcmd to every command all the same.
argv_of() {
  local t=$1
  shift
  case $t in
  new) argv=("$NODE" "$SKIFF_NEW/dist/source-agent/main.js") ;;
  old) argv=("$NODE" "$SKIFF_OLD/dist/source-agent/main.js") ;;
  wyng)
    if [ "$WYNG_PRIVATE_LOCK" = 1 ]; then
      # Wyng allows one run per machine (a lock on /var/lock/wyng); a private /var/lock keeps
      # other users' Wyng runs out of this benchmark's timings and this benchmark out of theirs.
      argv=(unshare -m sh -c 'mount -t tmpfs -o size=1m wyng-ab-lock "$(readlink -f /var/lock)" && exec "$0" "$@"' "$WYNG_PY" "$WYNG")
    else
      argv=("$WYNG_PY" "$WYNG")
    fi
    ;;
  esac
  argv+=("$@" --meta-dir="$W/src/meta-$t")
  [ "$PASSCMD_EVERY" = 1 ] && argv+=(--passcmd="echo $PASS")
  case " $* " in *" --authmin="*) ;; *) argv+=(--authmin=60) ;; esac
}
tool() {
  argv_of "$@"
  in_bg "${argv[@]}" </dev/null
}
# stop_agent TOOL DEST. Wyng's agent leaves its fifo, /tmp/wyng-agent-<uid><blake2b-160 of uid and
# --dest>, behind when it is stopped: removed here (the name is this archive's alone).
stop_agent() {
  tool "$1" list --dest="$2" --authmin=-1 >/dev/null 2>&1
  if [ "$1" = wyng ]; then
    local fifo
    fifo=/tmp/$(python3 -c 'import hashlib, os, sys; u = str(os.getuid()); print("wyng-agent-" + u + hashlib.blake2b((u + sys.argv[1]).encode(), digest_size=20).hexdigest())' "$2")
    if [ -p "$fifo" ]; then rm -f "$fifo"; fi
  fi
}
dest_of() { echo "file:$W/dst/arch-$1"; }
# new_archive TOOL: a fresh archive and local state, unlocked once (its keys go to the agent).
new_archive() {
  local t=$1 d
  d=$(dest_of "$t")
  rm -rf "$W/dst/arch-$t" "$W/src/meta-$t"
  mkdir -p "$W/src/meta-$t"
  agents+=("$t $d") # before arch-init: Skiff's starts the agent, also when interrupted
  tool "$t" arch-init --dest="$d" --passcmd="echo $PASS" >"$W/logs/init-$t.log" 2>&1 || { tail -n 5 "$W/logs/init-$t.log"; die "$t arch-init failed"; }
  tool "$t" list --dest="$d" --passcmd="echo $PASS" >>"$W/logs/init-$t.log" 2>&1 || { tail -n 5 "$W/logs/init-$t.log"; die "$t unlock failed"; }
}
# drop_archive TOOL: stops its agent and removes the archive and its local state.
drop_archive() {
  stop_agent "$1" "$(dest_of "$1")" || true
  local kept=()
  for a in "${agents[@]}"; do [ "$a" = "$1 $(dest_of "$1")" ] || kept+=("$a"); done
  agents=("${kept[@]}")
  rm -rf "$W/dst/arch-$1" "$W/src/meta-$1"
}

# --- data -----------------------------------------------------------------------------------
# make_volume PATH MIB: per MiB, cycling: random, random, zeros, text (as ../shared/tools/core-scaling.sh).
make_volume() {
  python3 - "$1" "$2" <<'EOF'
import random, sys
path, mib = sys.argv[1], int(sys.argv[2]); M = 1 << 20
r = random.Random(20261205)
words = b"backup volume snapshot session chunk archive thin pool extent reflink delta qubes dom0 "
with open(path, "wb") as f:
    for i in range(mib):
        k = i % 4
        if k < 2: f.write(r.randbytes(M))
        elif k == 2: f.write(bytes(M))
        else:
            line = b"%08d " % i + words * 3 + b"\n"; f.write((line * (M // len(line) + 1))[:M])
EOF
}
# change_volume PATH SEED: rewrites every 100th 256 KiB chunk (1%, over every kind of content)
# with new random data, in place; prints the bytes changed.
change_volume() {
  python3 - "$1" "$2" <<'EOF'
import os, random, sys
path, seed = sys.argv[1], sys.argv[2]; C = 256 << 10
r = random.Random(seed); fd = os.open(path, os.O_WRONLY); n = 0
for c in range(50, os.fstat(fd).st_size // C, 100):
    os.pwrite(fd, r.randbytes(C), c * C); n += C
os.close(fd); print(n)
EOF
}
# Only the benchmark's own file systems are synced (the root file system carries other users' writes);
# the local state (--meta-dir) and the restores are on the source file system, as in dom0.
sync_ours() { sync -f "$W/src" "$W/dst"; }
drop_caches() { sync_ours && echo 3 >/proc/sys/vm/drop_caches; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
# busy: CPU seconds the whole machine has been busy (user, nice, system, irq, softirq, steal)
busy() { awk '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / 100 }' /proc/stat; }

# timed RUN TOOL STEP ARGS...: runs the tool; appends "run tool step wall cpu rss_kib rest sync"
# to $W/results (wall: until a sync of our file systems after it has returned; sync: the part of
# wall that sync took, the writes the tool left to the page cache; cpu: user+sys of the
# tool and its children; rss: GNU time's peak resident size of the largest process; rest: CPU
# seconds the rest of the machine was busy meanwhile: other users' processes, and kernel threads,
# including those that write our data to the loop devices).
timed() {
  local run=$1 t=$2 step=$3 a b c0 c1 e
  shift 3
  local log="$W/logs/$run-$t-${step// /-}.log"
  argv_of "$t" "$@"
  [ -z "$NICE" ] || argv=(nice -n "$NICE" "${argv[@]}")
  sync_ours
  c0=$(busy)
  a=$(now)
  if ! in_bg /usr/bin/time -o "$W/time.out" -f '%U %S %M' "${argv[@]}" </dev/null >"$log" 2>&1; then
    tail -n 8 "$log" >&2
    die "$t: $step failed (run $run; log above)"
  fi
  e=$(now)
  sync_ours
  b=$(now)
  c1=$(busy)
  read -r u s m <"$W/time.out"
  echo "$run $t ${step// /_} $(python3 -c "print(round($b - $a, 3), round($u + $s, 2), $m, round(max(0, $c1 - $c0 - $u - $s), 2), round($b - $e, 3))")" >>"$W/results"
}
# verify RUN TOOL FILE REFERENCE
verify() {
  if [ "$VERIFY" = all ] || { [ "$VERIFY" = first ] && [ "$1" = 1 ]; }; then
    cmp -s "$3" "$4" || die "$2's restore in run $1 differs from the volume"
    echo "  $2: restore identical to the volume"
  fi
}

git_of() { git -C "$1" log -1 --format='commit %h of %cs' 2>/dev/null || echo "not a git checkout"; }
echo "# wyng-ab $MODE on $(hostname), $(date -u '+%F %T') UTC, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# kernel $(uname -r), node $($NODE --version), python $($WYNG_PY -c 'import sys; print(sys.version.split()[0])')"
echo "# new: $SKIFF_NEW  ($(git_of "$SKIFF_NEW"))"
[ -n "$SKIFF_OLD" ] && echo "# old: $SKIFF_OLD  ($(git_of "$SKIFF_OLD"))"
[ " ${tools[*]} " != *" wyng "* ] || echo "# wyng: $WYNG  ($($WYNG_PY "$WYNG" --version 2>/dev/null | head -n 1))"
[ -z "$NICE" ] || echo "# timed commands run under nice -n $NICE"
echo "# source: Btrfs on $(findmnt -no SOURCE "$W/src"), archives: XFS on $(findmnt -no SOURCE "$W/dst"), backing files on $(findmnt -no FSTYPE -T "$W") ($W)"

# --- MODE=floors: what a send and a receive cannot take less than here -----------------------
# Measured RUNS times on the bench's own file systems, with no backup tool running:
#   fresh memory     touching 512 MiB of new anonymous memory: the first-touch cost of a page
#                    (in a VM whose freed memory goes back to the host, the host's work too);
#                    every page a tool allocates and every page of the page cache it fills pays it
#   snapshot read    reading a fresh reflink copy of the volume after drop_caches, and again
#                    just after reading the volume itself: what a send reads, "warm" or not
#                    (page caches are per file, so the copy's pages come from the disk either way)
#   chunk files      the chunk files of Skiff's full send of the volume, written again from
#                    memory into new files on the archive file system, then sync -f: the
#                    archive's own writes
#   restored volume  dd of the volume (in the page cache; zero blocks left as holes) into a new
#                    file on the source file system, then sync -f: what any receive writes
# A step of a tool cannot take less than the longest of its floors, nor less than the format's
# CPU floor (dist/bench/cpu-floor.js) divided by the cores.
if [ "$MODE" = floors ]; then
  echo "load $(load): writing a $SIZE_MIB MiB volume"
  make_volume "$POOL/floor.img" "$SIZE_MIB"
  new_archive new
  timed 0 new send send floor.img --dest="$(dest_of new)" --local="$POOL"
  rm -f "$W/results"
  record() { echo "$1 $2 $(python3 -c "print(round($(now) - $3, 3))")" >>"$W/results"; }
  for ((run = 1; run <= RUNS; run++)); do
    a=$(now)
    python3 -c 'import mmap
n = 512 << 20
m = mmap.mmap(-1, n)
for i in range(0, n, 4096): m[i] = 1'
    record "$run" fresh_memory_512MiB "$a"

    cp --reflink=always "$POOL/floor.img" "$POOL/floor-copy.img"
    drop_caches
    a=$(now)
    cat "$POOL/floor-copy.img" >/dev/null
    record "$run" snapshot_read_caches_dropped "$a"
    rm -f "$POOL/floor-copy.img"
    cp --reflink=always "$POOL/floor.img" "$POOL/floor-copy.img"
    cat "$POOL/floor.img" >/dev/null
    a=$(now)
    cat "$POOL/floor-copy.img" >/dev/null
    record "$run" snapshot_read_volume_in_cache "$a"
    rm -f "$POOL/floor-copy.img"

    rm -rf "$W/dst/floor-copy"
    sync_ours
    python3 -c '
import os, subprocess, sys, time
src, dst, run = sys.argv[1:4]
files = []
for d, _, names in os.walk(src):
    for n in sorted(names):
        if n.startswith("x"):
            with open(os.path.join(d, n), "rb") as f:
                files.append(f.read())
t = time.perf_counter()
for i, data in enumerate(files):
    sub = os.path.join(dst, "%03d" % (i // 1000))
    if i % 1000 == 0:
        os.makedirs(sub)
    fd = os.open(os.path.join(sub, "x%016x" % i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    os.close(fd)
subprocess.run(["sync", "-f", dst], check=True)
print(f"{run} chunk_files_{len(files)}_files_{sum(map(len, files)) >> 20}_MiB {time.perf_counter() - t:.3f}")
' "$W/dst/arch-new" "$W/dst/floor-copy" "$run" >>"$W/results"
    rm -rf "$W/dst/floor-copy"

    rm -f "$W/src/floor-restored.img"
    cat "$POOL/floor.img" >/dev/null
    sync_ours
    a=$(now)
    dd if="$POOL/floor.img" of="$W/src/floor-restored.img" bs=1M conv=sparse status=none
    sync -f "$W/src"
    record "$run" restored_volume "$a"
    rm -f "$W/src/floor-restored.img"
  done
  drop_archive new
  find "$POOL" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  echo "load after: $(load)"
  python3 -c '
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
steps = list(dict.fromkeys(r[1] for r in rows))
head = "floor, volume %s MiB" % sys.argv[2]
print("\n%-52s %9s %15s" % (head, "median s", "min–max s"))
for step in steps:
    v = [float(r[2]) for r in rows if r[1] == step]
    print("%-52s %9.3f %7.3f–%-7.3f" % (step.replace("_", " "), statistics.median(v), min(v), max(v)))
' "$W/results" "$SIZE_MIB"
  exit 0
fi

# --- MODE=rss: peak resident size of send and receive against volume size ---------------------
if [ "$MODE" = rss ]; then
  for size in $SIZES_MIB; do
    echo "load $(load): writing a $size MiB volume"
    make_volume "$POOL/rss.img" "$size"
    for t in "${tools[@]}"; do
      new_archive "$t"
      timed "$size" "$t" send send rss.img --dest="$(dest_of "$t")" --local="$POOL"
      rm -f "$W/src/restored.img"
      timed "$size" "$t" receive receive rss.img --dest="$(dest_of "$t")" --save-to="$W/src/restored.img" -u
      [ "$VERIFY" = none ] || cmp -s "$W/src/restored.img" "$POOL/rss.img" || die "$t's restore of $size MiB differs"
      rm -f "$W/src/restored.img"
      drop_archive "$t"
      # the tool's reflink snapshots of rss.img go with it
      find "$POOL" -mindepth 1 -maxdepth 1 ! -name rss.img -exec rm -rf {} +
    done
    rm -f "$POOL/rss.img"
  done
  echo "load after: $(load)"
  python3 - "$W/results" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1])]
print(f"\n{'MiB':>6} {'tool':5} {'step':8} {'seconds':>8} {'MB/s':>6} {'peak RSS MiB':>13}")
peaks = {}
for size, tool, step, wall, cpu, rss, rest, synced in rows:
    mib = int(rss) / 1024
    peaks.setdefault((tool, step), []).append(mib)
    print(f"{size:>6} {tool:5} {step:8} {float(wall):8.2f} {int(size) * 1.048576 / float(wall):6.0f} {mib:13.0f}")
print("\npeak RSS, largest / smallest volume (flat: about 1; target: every peak <= 300 MiB)")
for (tool, step), v in peaks.items():
    print(f"  {tool:5} {step:8} {max(v):5.0f} MiB max, {v[-1] / v[0]:.2f}x from the first size to the last")
EOF
  exit 0
fi

# --- MODE=ab ----------------------------------------------------------------------------------
echo "# volume $SIZE_MIB MiB, $RUNS runs, tools: ${tools[*]}"
make_volume "$W/src/base.img" "$SIZE_MIB"
for ((run = 1; run <= RUNS; run++)); do
  # rotate the order: each tool goes first, in the middle and last in turn
  order=()
  for ((i = 0; i < ${#tools[@]}; i++)); do order+=("${tools[$(((i + run - 1) % ${#tools[@]}))]}"); done
  echo "run $run/$RUNS, order ${order[*]}, load $(load)"
  find "$POOL" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  cp --reflink=always "$W/src/base.img" "$POOL/cold.img"
  cp --reflink=always "$W/src/base.img" "$POOL/warm.img"
  for t in "${order[@]}"; do new_archive "$t"; done
  for t in "${order[@]}"; do timed $run "$t" "start-up" list --dest="$(dest_of "$t")"; done
  for t in "${order[@]}"; do
    drop_caches
    timed $run "$t" "cold start-up" list --dest="$(dest_of "$t")"
  done

  for t in "${order[@]}"; do
    drop_caches
    timed $run "$t" "cold full send" send cold.img --dest="$(dest_of "$t")" --local="$POOL"
  done
  changed=$(change_volume "$POOL/cold.img" "run $run")
  for t in "${order[@]}"; do
    drop_caches
    timed $run "$t" "cold incremental" send cold.img --dest="$(dest_of "$t")" --local="$POOL"
  done
  for t in "${order[@]}"; do
    rm -f "$W/src/restored.img"
    drop_caches
    timed $run "$t" "cold receive" receive cold.img --dest="$(dest_of "$t")" --save-to="$W/src/restored.img" -u
    verify $run "$t" "$W/src/restored.img" "$POOL/cold.img"
  done
  rm -f "$W/src/restored.img"

  for t in "${order[@]}"; do
    cat "$POOL/warm.img" >/dev/null
    timed $run "$t" "warm full send" send warm.img --dest="$(dest_of "$t")" --local="$POOL"
  done
  change_volume "$POOL/warm.img" "run $run" >/dev/null
  for t in "${order[@]}"; do
    timed $run "$t" "warm incremental" send warm.img --dest="$(dest_of "$t")" --local="$POOL"
  done
  for t in "${order[@]}"; do
    rm -f "$W/src/restored.img"
    find "$W/dst/arch-$t" -type f -exec cat {} + >/dev/null
    timed $run "$t" "warm receive" receive warm.img --dest="$(dest_of "$t")" --save-to="$W/src/restored.img" -u
    verify $run "$t" "$W/src/restored.img" "$POOL/warm.img"
  done
  rm -f "$W/src/restored.img"
  for t in "${order[@]}"; do drop_archive "$t"; done
done
echo "load after: $(load); incrementals changed $changed bytes of $((SIZE_MIB << 20))"

python3 - "$W/results" "$SIZE_MIB" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
mib = int(sys.argv[2])
steps = list(dict.fromkeys(r[2] for r in rows))
tools = list(dict.fromkeys(r[1] for r in rows))
wall = {}  # (step, tool) -> {run: seconds}
cpu, rss, rest, synced = {}, {}, {}, {}
for run, tool, step, w, c, m, o, y in rows:
    synced.setdefault((step, tool), []).append(float(y))
    wall.setdefault((step, tool), {})[run] = float(w)
    cpu.setdefault((step, tool), []).append(float(c))
    rss.setdefault((step, tool), []).append(int(m) / 1024)
    rest.setdefault((step, tool), []).append(float(o))
med = statistics.median
print(f"\n{'step':18} {'tool':5} {'median s':>9} {'min–max s':>15} {'MB/s':>6} {'CPU s':>6} {'RSS MiB':>8} {'rest CPU s':>10} {'sync s':>7}")
for step in steps:
    for tool in tools:
        v = list(wall.get((step, tool), {}).values())
        if not v: continue
        rate = f"{mib * 1.048576 / med(v):6.0f}" if ("full" in step or "receive" in step) else " " * 6
        print(f"{step.replace('_', ' '):18} {tool:5} {med(v):9.3f} {min(v):7.3f}–{max(v):<7.3f} {rate} {med(cpu[step, tool]):6.2f} {med(rss[step, tool]):8.0f} {med(rest[step, tool]):10.2f} {med(synced[step, tool]):7.3f}")
targets = {"cold_full_send": 2, "cold_receive": 2, "warm_full_send": 5, "warm_incremental": 4, "warm_receive": 4}
print("\nspeed ratios (slower tool's seconds / faster tool's, per run: median [min–max]); target from issue 17")
pairs = [("wyng", "new"), ("wyng", "old"), ("old", "new")]
print(f"{'step':18} " + " ".join(f"{a + '/' + b:>21}" for a, b in pairs) + "   target")
for step in steps:
    cells = []
    for a, b in pairs:
        wa, wb = wall.get((step, a)), wall.get((step, b))
        if not wa or not wb:
            cells.append(f"{'—':>21}"); continue
        ratios = [wa[r] / wb[r] for r in wa if r in wb]
        cells.append(f"{med(ratios):6.2f} [{min(ratios):5.2f}–{max(ratios):5.2f}]".rjust(21))
    goal = []
    if step in targets and wall.get((step, "wyng")) and wall.get((step, "new")):
        r = med([wall[step, "wyng"][k] / wall[step, "new"][k] for k in wall[step, "wyng"] if k in wall[step, "new"]])
        goal.append(f"wyng/new >= {targets[step]}: {'met' if r >= targets[step] else 'NOT met'}")
    if step != "start-up" and wall.get((step, "old")) and wall.get((step, "new")):
        r = med([wall[step, "old"][k] / wall[step, "new"][k] for k in wall[step, "old"] if k in wall[step, "new"]])
        goal.append(f"old/new >= 1: {'met' if r >= 1 else 'NOT met'}")
    print(f"{step.replace('_', ' '):18} " + " ".join(cells) + "   " + "; ".join(goal))
EOF
