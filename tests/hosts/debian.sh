#!/bin/bash
# debian.sh SUITE - a Debian chroot with the hosts the suite tests from that suite.
#
#   forky         Krita 5.3 (PyQt5) and GIMP 3.2, Python 3.14
#   experimental  Krita 6.0 (Qt6, PyQt6), Python 3.14 (sid plus experimental's krita)
#
# The chroot is $GPT_IMAGE_HOSTCACHE/debian-SUITE (default ~/.cache/gpt-image-tests/debian-SUITE).
# Idempotent: once its packages are in, a re-run only checks a stamp. Needs root (debootstrap,
# chroot, mount). Touches neither the host's apt sources nor /dev: apt runs in a mount namespace
# of its own (chroot.sh: inroot_private). The mirror's Release files for these suites can be past
# their Valid-Until date, so apt inside is told Acquire::Check-Valid-Until=false.
# Also fills $GPT_IMAGE_HOSTCACHE/krita/testvendor-cpXY (pytest + greenlet for Krita's Python).
#
#   DEBIAN_MIRROR  default http://deb.debian.org/debian
#
# Prints the chroot path on its last line.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/chroot.sh"  # CACHE_ROOT, inroot_private, install_test_packages
SUITE=${1:?usage: debian.sh forky|experimental}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ROOT=$CACHE_ROOT/debian-$SUITE
T0=$(date +%s)
log() { echo "[debian $SUITE +$(( $(date +%s) - T0 ))s] $*" >&2; }

GIMP_PACKAGES=(gimp python3-gi gir1.2-gimp-3.0 gir1.2-gegl-0.4 gir1.2-babl-0.1)
case "$SUITE" in
  forky)
    BASE=forky
    SCRIPT=sid  # bookworm's debootstrap has no forky script; sid's fits
    SOURCES="deb $MIRROR forky main"
    PACKAGES=(krita python3-pyqt5 "${GIMP_PACKAGES[@]}" xvfb xauth)
    APT_TARGET=() ;;
  experimental)
    BASE=sid  # experimental is no full suite: bootstrap sid, then take krita from experimental
    SCRIPT=sid
    SOURCES="deb $MIRROR sid main
deb $MIRROR experimental main"
    # PyQt6 is only recommended by krita; Qt 6.5+ needs libxcb-cursor0 for its xcb platform plugin
    PACKAGES=(krita python3 python3-pyqt6 libxcb-cursor0 xvfb xauth)
    APT_TARGET=(-t experimental) ;;
  *) echo "debian.sh: unknown suite $SUITE (forky or experimental)" >&2; exit 2 ;;
esac
WANT=$(printf '%s ' "$SUITE" "$MIRROR" "${APT_TARGET[@]}" "${PACKAGES[@]}")

mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.debian-$SUITE.lock"
flock 9  # one set-up of this chroot at a time, machine-wide

if [ "$(cat "$ROOT/.gpt-image-ready" 2>/dev/null)" != "$WANT" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "debian.sh needs root (debootstrap, chroot, mount)" >&2; exit 1; }
  if [ ! -x "$ROOT/usr/bin/apt-get" ] || [ ! -f "$ROOT/.debootstrap-done" ]; then
    command -v debootstrap >/dev/null || { host_apt update -q; host_apt install -y -q debootstrap; }
    log "debootstrap $SUITE -> $ROOT (once)"
    rm -rf --one-file-system "$ROOT"
    debootstrap --variant=minbase "$BASE" "$ROOT" "$MIRROR" \
      "/usr/share/debootstrap/scripts/$SCRIPT" >"$CACHE_ROOT/debian-$SUITE-debootstrap.log" 2>&1 \
      || { tail -30 "$CACHE_ROOT/debian-$SUITE-debootstrap.log" >&2; exit 1; }
    touch "$ROOT/.debootstrap-done"
  fi
  printf '%s\n' "$SOURCES" > "$ROOT/etc/apt/sources.list"
  echo 'Acquire::Check-Valid-Until "false";' > "$ROOT/etc/apt/apt.conf.d/99gpt-image-valid-until"
  printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
  chmod +x "$ROOT/usr/sbin/policy-rc.d"
  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
  APT_LOG=$CACHE_ROOT/debian-$SUITE-apt.log
  log "chroot: apt-get install ${PACKAGES[*]}"
  { inroot_private apt-get update -q &&
    inroot_private apt-get install -y -q --no-install-recommends "${APT_TARGET[@]}" "${PACKAGES[@]}" &&
    inroot_private apt-get clean; } >"$APT_LOG" 2>&1 || { tail -30 "$APT_LOG" >&2; exit 1; }
  echo "$WANT" > "$ROOT/.gpt-image-ready"
fi

PYVER=$(chroot "$ROOT" /usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ -x "$ROOT/usr/bin/krita" ]; then
  install_test_packages "$CACHE_ROOT/krita/testvendor-cp${PYVER/./}" "$PYVER"
fi
log "ready (Python $PYVER)"
echo "$ROOT"
