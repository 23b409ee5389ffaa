#!/bin/bash
# setup.sh - build (or reuse) a Debian trixie chroot with GIMP 3.0 for the real-GIMP tests.
#
# Debian 12 has only GIMP 2.10, so GIMP 3.0.4 (Python 3.13, GObject introspection) runs in a
# trixie chroot. Idempotent: an existing chroot with gimp-console-3.0 is reused as is.
# Needs root (debootstrap, chroot, mount). Touches neither the host's apt sources nor /dev:
# only a proc, a new devpts instance and a tmpfs /dev/shm are mounted, and only while apt runs.
#
#   GIMP3_ROOT    chroot location (default: $GPT_IMAGE_HOSTCACHE/gimp3root, where
#                 GPT_IMAGE_HOSTCACHE defaults to ~/.cache/gpt-image-tests: kept across clones)
#   GIMP3_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   PYTHON        interpreter for tools/wheelhouse.py (default python3)
#
# Also builds (once) the cp313 wheelhouse install.py takes with --wheels.
# Prints the chroot path on its last line.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
source "$HERE/../chroot.sh"  # CACHE_ROOT, inroot, mount_root, bootstrap_trixie, inroot_install
ROOT=${GIMP3_ROOT:-$CACHE_ROOT/gimp3root}
MIRROR=${GIMP3_MIRROR:-http://deb.debian.org/debian}
LOGDIR=$(dirname "$ROOT")
T0=$(date +%s)
log() { echo "[gimp setup +$(( $(date +%s) - T0 ))s] $*" >&2; }


# The plug-in's dependencies as cp313 wheels (GIMP's Python 3.13), so test installs are offline.
"${PYTHON:-python3}" "$REPO/tools/wheelhouse.py" 3.13 \
  --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 >&2

if [ -x "$ROOT/usr/bin/gimp-console-3.0" ] && [ -f "$ROOT/.gpt-image-ready" ]; then
  log "reusing $ROOT"
  echo "$ROOT"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "setup.sh needs root (debootstrap, chroot, mount)" >&2; exit 1; }
trap umount_root EXIT
mkdir -p "$LOGDIR"

log "debootstrap trixie -> $ROOT (once)"
bootstrap_trixie "$MIRROR" "$LOGDIR/gimp3-debootstrap.log"
mount_root
log "chroot: apt-get install gimp"
APT_LOG="$LOGDIR/gimp3-apt.log" inroot_install \
  gimp python3-gi gir1.2-gimp-3.0 gir1.2-gegl-0.4 gir1.2-babl-0.1 xvfb xauth
inroot gimp-console-3.0 --version >&2
touch "$ROOT/.gpt-image-ready"
log "done"
echo "$ROOT"
