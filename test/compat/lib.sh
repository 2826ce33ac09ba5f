# Shared set-up of the by-hand interop scripts in test/compat/ (sourced, POSIX sh; bash scripts
# source it too). Each script did the same things in its own words: check $WYNG, go to the
# repository root and build, make a work directory, mount a loop Btrfs or start the LVM thin-pool
# model, point a copy of Wyng at the model's tools, run Wyng and Skiff with a passphrase and their
# own metadata directories, wait for Wyng's machine-wide lock, and clean up on exit. They are here
# once, so that a fix (a leaked mount, a lock that collides) is made once.
#
#   . "$(dirname "$0")/lib.sh"
#   compat_start NAME [SHELL "$0" "$@"]   # $WYNG checked, repository root, dist/ built, $work made
#   compat_btrfs SIZE                     # a loop Btrfs at $mnt, unmounted at exit
#   compat_lvm_model                      # the LVM model on PATH, $WYNG_RUN = Wyng pointed at it
#   compat_vg NAME                        # the model's VG NAME removed at exit
#   skiff ARGS… / wyng ARGS…              # with --meta-dir=$SMETA/$WMETA, --passcmd, --authmin=0
#   compat_on_exit 'COMMAND'              # one more clean-up step (run last registered first)
#
# Variables a script may set (before compat_start, or per call: PASS=x wyng …): PASS (the
# passphrase, default interop-passphrase), SMETA and WMETA (the metadata directories, default
# $work/skiff-meta and $work/wyng-meta), KEEP=1 (keep $work), SKIFF_COMPAT_SHARED_LOCK=1 (use the
# machine's /var/lock instead of a private one).

compat_cleanup_steps=""

# compat_on_exit COMMAND: runs COMMAND (with eval) at exit, before the steps registered earlier.
compat_on_exit() {
  compat_cleanup_steps="$1
$compat_cleanup_steps"
}

compat_cleanup() {
  trap - EXIT INT TERM
  printf '%s\n' "$compat_cleanup_steps" | while IFS= read -r step; do
    if [ -n "$step" ]; then eval "$step" >/dev/null 2>&1 || true; fi
  done
  if [ -n "${work:-}" ]; then
    if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
  fi
}

# compat_start NAME [SHELL SCRIPT ARGS…]: with SHELL SCRIPT ARGS (the script's own interpreter,
# "$0" and "$@"), first runs the script again in a mount namespace of its own with a private
# tmpfs on /run/lock: Wyng takes a machine-wide lock (/var/lock/wyng) and fails at once while
# another Wyng holds it, and on a shared machine other interop runs do. The mounts the script
# makes then stay in that namespace too. Then: checks $WYNG (made absolute), goes to the
# repository root, builds dist/ when it is missing, makes $work (/var/tmp/skiff-NAME.XXXXXX) and
# installs the clean-up trap.
compat_start() {
  compat_name=$1
  shift
  if [ $# -gt 0 ] && [ "${SKIFF_COMPAT_SHARED_LOCK:-0}" != 1 ] && [ "${SKIFF_COMPAT_IN_NAMESPACE:-0}" != 1 ] &&
    command -v unshare >/dev/null 2>&1; then
    export SKIFF_COMPAT_IN_NAMESPACE=1
    exec unshare -m -- sh -c 'mount --make-rprivate / && mount -t tmpfs compat-lock /run/lock && exec "$@"' \
      compat "$@"
  fi
  : "${WYNG:?set WYNG to the path of src/wyng in a Wyng 0.8 checkout}"
  WYNG=$(realpath "$WYNG")
  WYNG_RUN=$WYNG
  cd "$(dirname "$0")/../.." || exit 1
  root=$(pwd)
  [ -f dist/source-agent/main.js ] && [ -f dist/test/lvm-model/cli.js ] || npm run build >/dev/null
  SKIFF_MAIN="$root/dist/source-agent/main.js"
  work=$(mktemp -d "/var/tmp/skiff-$compat_name.XXXXXX")
  PASS=${PASS:-interop-passphrase}
  SMETA=${SMETA:-$work/skiff-meta}
  WMETA=${WMETA:-$work/wyng-meta}
  trap compat_cleanup EXIT
  trap 'exit 130' INT TERM
}

# compat_private_build: runs Skiff from a copy of dist/ in $work, so that a rebuild during a long
# run does not change the program under test.
compat_private_build() {
  mkdir -p "$work/skiff"
  cp -a "$root/dist" "$work/skiff/dist"
  cp "$root/package.json" "$work/skiff/"
  ln -s "$root/node_modules" "$work/skiff/node_modules"
  SKIFF_MAIN="$work/skiff/dist/source-agent/main.js"
}

# compat_btrfs SIZE: a Btrfs on a loop file of SIZE (truncate's syntax) mounted at $mnt.
compat_btrfs() {
  mnt="$work/mnt"
  mkdir -p "$mnt"
  truncate -s "$1" "$work/btrfs.img"
  mkfs.btrfs -q -f "$work/btrfs.img" >/dev/null 2>&1
  mount -o loop "$work/btrfs.img" "$mnt"
  compat_on_exit "umount '$mnt'"
}

# compat_subvolume NAME: creates the Btrfs subvolume $mnt/NAME and prints its path.
compat_subvolume() {
  btrfs subvolume create "$mnt/$1" >/dev/null
  echo "$mnt/$1"
}

# compat_lvm_model: the LVM thin-pool model's stand-ins first on PATH, its state in $work/model,
# and $WYNG_RUN a copy of Wyng whose lvm/dmsetup/thin_delta paths (Wyng calls them by absolute
# path) are the stand-ins'; nothing else in it is changed. The model is torn down at exit.
compat_lvm_model() {
  BIN="$root/test/lvm-model/bin"
  export SKIFF_LVM_MODEL_DIR="$work/model" PATH="$BIN:$PATH"
  compat_on_exit 'lvm-model teardown'
  sed -e "s#\"/usr/sbin/thin_delta\"#\"$BIN/thin_delta\"#" -e "s#lvm = \"/usr/sbin/lvm\"#lvm = \"$BIN/lvm\"#" \
    -e "s#dmsetup  = \"/sbin/dmsetup\"#dmsetup  = \"$BIN/dmsetup\"#" "$WYNG" >"$work/wyng"
  grep -q "$BIN/dmsetup" "$work/wyng" || {
    echo "could not point Wyng's CP paths at the model" >&2
    exit 1
  }
  WYNG_RUN="$work/wyng"
}

# compat_vg NAME: the model's VG NAME is removed at exit (/dev/VG is machine-wide). Not in $(…):
# the step would be registered in a subshell.
compat_vg() {
  compat_on_exit "lvm vgremove -f '$1'"
}

skiff() { node "$SKIFF_MAIN" "$@" --meta-dir="$SMETA" --passcmd="echo $PASS" --authmin=0; }

# wyng ARGS…: Wyng, waiting (up to 5 minutes) while another Wyng holds /var/lock/wyng. Its
# stdout and stderr are passed on when it ends.
wyng() {
  mkdir -p "$WMETA"
  compat_tries=0
  while :; do
    compat_rc=0
    /usr/bin/python3 "$WYNG_RUN" "$@" --meta-dir="$WMETA" --passcmd="echo $PASS" --authmin=0 >"$work/wyng.out" 2>"$work/wyng.err" ||
      compat_rc=$?
    if [ "$compat_rc" -ne 0 ] && [ "$compat_tries" -lt 150 ] && grep -q 'obtaining lock' "$work/wyng.err"; then
      compat_tries=$((compat_tries + 1))
      sleep 2
      continue
    fi
    cat "$work/wyng.out"
    cat "$work/wyng.err" >&2
    return "$compat_rc"
  done
}
