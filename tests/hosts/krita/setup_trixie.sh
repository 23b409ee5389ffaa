#!/bin/bash
# setup_trixie.sh - the second Krita host: Debian trixie's Krita 5.2 (Python 3.13) in a chroot.
#
# Called by tools/setup.sh (KRITA_TRIXIE=0 skips that host in the tests). Idempotent: an existing
# chroot with krita is reused. Needs root (debootstrap, chroot, mount). Touches neither the host's
# apt sources nor /dev: proc, a new devpts instance and a tmpfs /dev/shm are mounted only while
# apt runs (kritarun.py mounts them again while Krita runs).
#
#   KRITA_TRIXIE_ROOT  chroot location (default: $GPT_IMAGE_HOSTCACHE/krita/trixie-root)
#   DEBIAN_MIRROR      default http://deb.debian.org/debian
#
# Also fetches cp313 wheels, and pytest + greenlet for the chroot's Python. Prints the chroot path last.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
source "$HERE/../chroot.sh"  # CACHE_ROOT, inroot, mount_root, bootstrap_trixie, inroot_install,
                              # install_test_packages
CACHE=${KRITA_HOSTCACHE:-$CACHE_ROOT/krita}
ROOT=${KRITA_TRIXIE_ROOT:-$CACHE/trixie-root}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PY=${PYTHON:-python3}
T0=$(date +%s)
log() { echo "[krita trixie +$(( $(date +%s) - T0 ))s] $*" >&2; }


if [ ! -f "$ROOT/.gpt-image-ready" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "setup_trixie.sh needs root" >&2; exit 1; }
  trap umount_root EXIT
  log "debootstrap trixie -> $ROOT (once)"
  bootstrap_trixie "$MIRROR" "$CACHE/trixie-debootstrap.log"
  mount_root
  log "chroot: apt-get install krita"
  APT_LOG="$CACHE/trixie-apt.log" inroot_install krita xvfb xauth python3-pyqt5
  touch "$ROOT/.gpt-image-ready"
fi

KPYVER=$(chroot "$ROOT" /usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
TAG=cp${KPYVER/./}
PIPX=(--disable-pip-version-check --only-binary=:all: --python-version "$KPYVER"
      --implementation cp --platform manylinux2014_x86_64)
if [ ! -f "$CACHE/wheels-$TAG/.ok" ]; then
  log "downloading $TAG wheels"
  rm -rf "$CACHE/wheels-$TAG"; mkdir -p "$CACHE/wheels-$TAG"
  "$PY" -m pip download -q "${PIPX[@]}" -d "$CACHE/wheels-$TAG" -r "$REPO/requirements.txt"
  touch "$CACHE/wheels-$TAG/.ok"
fi
install_test_packages "$CACHE/testvendor-$TAG" "$KPYVER"
log "ready (Python $KPYVER)"
echo "$ROOT"
