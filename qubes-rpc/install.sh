#!/bin/sh
# Installs the qrexec service in a destination qube (run inside that qube, or in its template,
# as root). Needs the helper file built by `npm run build` (dist/dest-helper/skiff-dest-helper.cjs),
# copied into the qube, e.g. from dom0:
#   qvm-run --pass-io backup-vm 'cat > /tmp/skiff-dest-helper.cjs' < dist/dest-helper/skiff-dest-helper.cjs
#   qvm-run --pass-io backup-vm 'cat > /tmp/skiff.DestHelper' < qubes-rpc/skiff.DestHelper
#   qvm-run --pass-io -u root backup-vm 'sh -s' < qubes-rpc/install.sh
set -eu
helper=${1:-/tmp/skiff-dest-helper.cjs}
service=${2:-/tmp/skiff.DestHelper}
command -v node >/dev/null || { echo "node (18 or later) is needed in this qube" >&2; exit 1; }
install -D -m 0644 "$helper" /usr/local/lib/skiff/skiff-dest-helper.cjs
install -D -m 0755 "$service" /etc/qubes-rpc/skiff.DestHelper
echo "installed /etc/qubes-rpc/skiff.DestHelper and /usr/local/lib/skiff/skiff-dest-helper.cjs"
