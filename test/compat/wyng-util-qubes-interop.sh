#!/bin/sh
# By hand (not in `npm test`): the unmodified wyng-util-qubes (GPL; it stays out of this
# repository) drives Skiff as its `--wyng` backend against the Qubes model (test/qubes-model:
# Qubes is modelled), then skiff-qubes and wyng-util-qubes restore each other's sessions.
#
#   WUQ=/path/to/wyng-util-qubes sh test/compat/wyng-util-qubes-interop.sh
#
# Needs root, python3, npm run build, mkfs.btrfs, unshare, and the LVM model's tools. What
# wyng-util-qubes needs from a dom0 is stood in for, in this script's private mount namespace
# and work directory only:
#   - qubesadmin: our stand-in package test/qubes-model/python (PYTHONPATH), which speaks the
#     Admin API to the model's qubesd socket ($SKIFF_QUBESD_SOCKET);
#   - /var/lib/qubes (hard-coded in wyng-util-qubes): a Btrfs on a loop file, bind-mounted there;
#     the model writes qubes.xml into it and its file-reflink pool `varlibqubes` lives in it;
#   - /etc/os-release: VERSION_ID=4.3 (wyng-util-qubes reads the Qubes version from it);
#   - sudo: a stub that logs and succeeds (wyng-util-qubes runs `sudo -u '#1000' qvm-appmenus`
#     after a restore; menus do not exist here).
# The VMs' volumes are thin LVs of the LVM model (pool vm-pool) and, after `restore --pool
# varlibqubes`, files in the reflink pool. Everything started is removed on exit.
set -eu
: "${WUQ:?set WUQ to the path of wyng-util-qubes (src/wyng-util-qubes of tasket/wyng-util-qubes)}"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
WUQ=$(readlink -f "$WUQ")
if [ -z "${SKIFF_WUQ_NAMESPACE:-}" ]; then
  # Mounts made below stay in a private mount namespace: the host's /var/lib and /etc are untouched.
  SKIFF_WUQ_NAMESPACE=1 exec unshare --mount --propagation private sh "$0" "$@"
fi
[ -f "$REPO/dist/source-agent/main.js" ] || (cd "$REPO" && npm run build >/dev/null)
SKIFF=$REPO/dist/source-agent/main.js
SKIFF_QUBES=$REPO/dist/source-agent/qubes/main.js
W=$(mktemp -d /var/tmp/skiff-wuq.XXXXXX)
DEST="file:$W/archive"
MODEL_PID=
MADE_VARLIB=
cleanup() {
  set +e
  # The key agent this run's skiff started for the archive.
  [ ! -d "$W/archive" ] || node "$SKIFF" --dest="$DEST" --meta-dir="$W/meta" --passcmd="cat $W/pass" --authmin=-1 -u list >/dev/null 2>&1
  [ -z "$MODEL_PID" ] || { kill "$MODEL_PID"; wait "$MODEL_PID"; }
  umount /var/lib/qubes 2>/dev/null
  [ -z "$MADE_VARLIB" ] || rmdir /var/lib/qubes
  umount /etc/os-release 2>/dev/null
  umount "$W/var-lib-qubes" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n### %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
# Runs a command that must exit with code $1; its output is kept in $W/out.
expect_rc() {
  want=$1
  shift
  printf '$ %s\n' "$*"
  rc=0
  "$@" >"$W/out" 2>&1 || rc=$?
  cat "$W/out"
  [ "$rc" = "$want" ] || fail "exit code $rc, expected $want: $*"
  printf 'ok: exit code %s\n' "$rc"
}

# /var/lib/qubes: a Btrfs (reflink pool) that the model's qubesd writes qubes.xml into.
mkdir -p "$W/var-lib-qubes" "$W/bin" "$W/meta" "$W/keep"
truncate -s 512M "$W/btrfs.img"
mkfs.btrfs -q -f "$W/btrfs.img" >/dev/null
mount -o loop "$W/btrfs.img" "$W/var-lib-qubes"
if [ ! -d /var/lib/qubes ]; then mkdir /var/lib/qubes; MADE_VARLIB=1; fi
mount --bind "$W/var-lib-qubes" /var/lib/qubes
printf 'NAME="Qubes OS"\nVERSION_ID=4.3\n' >"$W/os-release"
mount --bind "$W/os-release" /etc/os-release
printf '#!/bin/sh\n# stand-in: wyng-util-qubes runs sudo -u #1000 qvm-(sync-)appmenus\necho "$*" >>%s/sudo.log\n' "$W" >"$W/bin/sudo"
chmod +x "$W/bin/sudo"

node "$REPO/test/compat/qubes-model-serve.mjs" "$W" 4194304 >"$W/model.out" 2>&1 &
MODEL_PID=$!
for _ in $(seq 100); do grep -q ready "$W/model.out" 2>/dev/null && break; sleep 0.2; done
grep -q ready "$W/model.out" || { cat "$W/model.out"; fail "the model did not start"; }
set -a
. "$W/model.env"
set +a
export PATH="$W/bin:$PATH" PYTHONPATH="$REPO/test/qubes-model/python" PYTHONDONTWRITEBYTECODE=1 TZ=UTC
printf 'secret passphrase\n' >"$W/pass"

wuq() {
  python3 "$WUQ" --wyng="$SKIFF" --dest="$DEST" --meta-dir="$W/meta" --wyngopt="passcmd=cat $W/pass" "$@"
}
skiff_qubes() { node "$SKIFF_QUBES" --dest="$DEST" --meta-dir="$W/meta" -w "passcmd=cat $W/pass" -u "$@"; }
# A VM's settings as the model's qubesd reports them (what a restore must bring back).
settings() {
  python3 - "$1" <<'PY'
import sys, qubesadmin
vm = qubesadmin.Qubes().domains[sys.argv[1]]
skip = {"qid", "uuid", "backup_timestamp"}
for prop in vm.property_list():
    # The effective value: wyng-util-qubes leaves a property at its default when the default
    # gives the backed-up value (so default-or-not may differ, the value may not).
    if prop not in skip:
        print("pref", prop, getattr(vm, prop))
print("class", vm.klass)
for tag in sorted(vm.tags):
    print("tag", tag)
for name in sorted(vm.features):
    print("feature", name, vm.features[name])
PY
}
remove_vm() { python3 -c "import sys, qubesadmin; del qubesadmin.Qubes().domains[sys.argv[1]]" "$1"; }
lv_sum() { sha256sum <"/dev/$VG/vm-$1-private" | cut -d' ' -f1; }
same() { [ "$1" = "$2" ] || fail "$3: $1 != $2"; printf 'ok: %s\n' "$3"; }

step "seed: random data in the private volumes of work and personal"
for vm in work personal; do
  head -c 300000 /dev/urandom >"$W/a"
  lvm-model write "$VG/vm-$vm-private" 0 "$W/a"
  head -c 70000 /dev/urandom >"$W/a"
  lvm-model write "$VG/vm-$vm-private" 3000000 "$W/a"
done
WORK_SUM=$(lv_sum work)
PERSONAL_SUM=$(lv_sum personal)
settings work >"$W/keep/work.before"
settings personal >"$W/keep/personal.before"
cat "$W/keep/work.before"

step "wyng-util-qubes create / backup / list / verify"
show wuq create
show wuq backup work personal
SESSION1=$(wuq -u list work | grep -E '^[0-9]{8}-[0-9]{6}$' | tail -1)
[ -n "$SESSION1" ] || fail "no session listed for work"
show wuq list
show wuq --session="$SESSION1" list
show wuq verify work personal
python3 -c "import qubesadmin; print('backup_timestamp of work:', qubesadmin.Qubes().domains['work'].backup_timestamp)"

step "work removed from Qubes; wyng-util-qubes restores it (recreated)"
show remove_vm work
show wuq restore work
same "$(lv_sum work)" "$WORK_SUM" "work's private volume is byte-identical"
settings work >"$W/keep/work.after"
diff "$W/keep/work.before" "$W/keep/work.after" || fail "work's settings differ after restore"
printf 'ok: work settings (prefs, tags, features) as before\n'

step "personal overwritten, then restored in place (--use-snapshot)"
head -c 100000 /dev/urandom >"$W/a"
lvm-model write "$VG/vm-personal-private" 0 "$W/a"
show wuq restore personal
same "$(lv_sum personal)" "$PERSONAL_SUM" "personal's private volume is byte-identical"

step "personal removed; restored into the reflink pool (--pool varlibqubes)"
show remove_vm personal
show wuq --pool=varlibqubes restore personal
FILE=/var/lib/qubes/appvms/personal/private.img
[ -f "$FILE" ] || fail "no $FILE"
same "$(sha256sum <"$FILE" | cut -d' ' -f1)" "$PERSONAL_SUM" "personal's private.img in the reflink pool"
settings personal >"$W/keep/personal.after"
diff "$W/keep/personal.before" "$W/keep/personal.after" || fail "personal's settings differ after restore"
printf 'ok: personal settings as before\n'

step "second backup: personal now from the reflink pool (archive volume renamed to the local name, as Wyng does)"
head -c 50000 /dev/urandom | dd of="$FILE" bs=4096 seek=10 conv=notrunc status=none
PERSONAL_SUM2=$(sha256sum <"$FILE" | cut -d' ' -f1)
show wuq backup work personal
show wuq list personal
show wuq verify work personal

step "reverse: skiff-qubes lists and restores what wyng-util-qubes + skiff wrote"
show skiff_qubes list
show remove_vm work
show skiff_qubes restore work
same "$(lv_sum work)" "$WORK_SUM" "work restored by skiff-qubes"
settings work >"$W/keep/work.after2"
diff "$W/keep/work.before" "$W/keep/work.after2" || fail "work's settings differ after skiff-qubes restore"
printf 'ok: work settings as before (skiff-qubes)\n'

step "reverse: wyng-util-qubes restores what skiff-qubes wrote"
head -c 80000 /dev/urandom >"$W/a"
lvm-model write "$VG/vm-work-private" 1000000 "$W/a"
WORK_SUM3=$(lv_sum work)
show skiff_qubes backup work
show remove_vm work
show wuq restore work
same "$(lv_sum work)" "$WORK_SUM3" "work restored by wyng-util-qubes from skiff-qubes' session"
show remove_vm personal
show wuq restore personal
same "$(lv_sum personal)" "$PERSONAL_SUM2" "personal (sent from the reflink pool) restored into vm-pool"

step "backup options wyng-util-qubes passes on: -d, --autoprune, --remap, --check-after-send"
show wuq --dedup --autoprune=on --remap --check-after-send backup work personal
show wuq --all list
SESSION_LAST=$(wuq -u list work | grep -E '^[0-9]{8}-[0-9]{6}$' | tail -1)
show wuq --verbose --session="$SESSION_LAST" list

step "a corrupt chunk: skiff verify fails the volume (exit 2, .error file) and wyng-util-qubes names the VM"
VID=$(node "$SKIFF" --dest="$DEST" --meta-dir="$W/meta" --passcmd="cat $W/pass" -u --json list |
  python3 -c 'import sys, json; t = sys.stdin.read(); print(json.loads(t[t.find("{"):])["volumes"]["vm-work-private"]["vid"])')
cp -a "$W/archive/$VID" "$W/keep/vol"
find "$W/archive/$VID" -type f -name 'x*' | while read -r f; do
  cp "$f" "$f.tmp" && printf 'corrupt' | dd of="$f.tmp" conv=notrunc status=none && mv "$f.tmp" "$f"
done
expect_rc 2 wuq verify work personal
grep -q 'Error for VMs: work' "$W/out" || fail "wyng-util-qubes did not name work"
rm -rf "${W:?}/archive/$VID"
mv "$W/keep/vol" "$W/archive/$VID"
show wuq verify work

step "a wrong passphrase once the key agent is stopped (--authmin=-1): exit code 3, as from Wyng"
show wuq --authmin=-1 list >/dev/null
expect_rc 3 python3 "$WUQ" --wyng="$SKIFF" --dest="$DEST" --meta-dir="$W/meta" --wyngopt="passcmd=echo wrong-passphrase" list

step "no archive at --dest: exit code 6 (StorageError in wyng-util-qubes), as from Wyng"
expect_rc 6 python3 "$WUQ" --wyng="$SKIFF" --dest="file:$W/nowhere" --meta-dir="$W/meta" list

step "passphrase on stdin, no --passcmd: skiff's first call reads it, its key agent serves the later calls"
show wuq --authmin=-1 list >/dev/null
printf '$ printf "secret passphrase\\n" | wyng-util-qubes --wyng=... verify work\n'
printf 'secret passphrase\n' | python3 "$WUQ" --wyng="$SKIFF" --dest="$DEST" --meta-dir="$W/meta" verify work

step "a template: root and private volumes, restored in place (the VMs based on it stay)"
head -c 500000 /dev/urandom >"$W/a"
lvm-model write "$VG/vm-fedora-41-xfce-root" 1000000 "$W/a"
ROOT_SUM=$(sha256sum <"/dev/$VG/vm-fedora-41-xfce-root" | cut -d' ' -f1)
show wuq backup fedora-41-xfce
lvm-model write "$VG/vm-fedora-41-xfce-root" 0 "$W/a"
show wuq restore fedora-41-xfce
same "$(sha256sum <"/dev/$VG/vm-fedora-41-xfce-root" | cut -d' ' -f1)" "$ROOT_SUM" "fedora-41-xfce's root volume is byte-identical"
printf 'sudo stand-in was called with: %s\n' "$(tr '\n' ';' <"$W/sudo.log")"

step "--includes: volumes the model did not make fail (skiff: .error file, exit 2); the others are sent"
# wyng-util-qubes maps the .error file's volumes to VMs through the archive's volumes; these were
# never sent, so it says "(unknown)", as with Wyng.
expect_rc 2 wuq --includes backup
grep -q '^Error on volumes: .*vm-sys-firewall-private' "$W/out" || fail "skiff did not name vm-sys-firewall-private"
grep -q '^Error for VMs: (unknown)' "$W/out" || fail "wyng-util-qubes did not read the .error file"
grep -q "^Volume 'vm-work-private'" "$W/out" || fail "work was not sent"
printf 'ok: failed volumes named, the others sent\n'

step "prune the first session of work's and personal's volumes; delete personal from the archive"
show wuq --session="$SESSION1" prune work personal
wuq -u list work | grep -q "^$SESSION1\$" && fail "$SESSION1 still listed for work"
printf 'ok: %s no longer listed for work\n' "$SESSION1"
show wuq delete personal
show wuq list
wuq list | grep -q ' personal$' && fail "personal still in the archive"
printf 'ok: personal deleted from the archive\n'
printf '\nALL OK\n'
