#!/bin/bash
# setup.sh - everything the real-Krita tests need, from nothing on a Debian 12 root machine.
#
# Idempotent and cached (each step is skipped when its result is already there):
#   1. apt: krita xvfb xauth python3-pyqt5 unzip (only the missing ones; unzip installs the
#      GIMP release zip as a Linux user does)
#   2. $CACHE/wheels-cp311   cp311 manylinux wheels of requirements.txt (for install.py --wheels)
#      $CACHE/vendor-cp311   the same, unpacked (pip --target), for installs without install.py
#      $CACHE/testvendor-cp311  pytest + greenlet for Krita's embedded Python (the inner suite)
#   3. $CACHE/home-template  a Krita HOME whose resource database is already built (a first start
#      takes ~20 s; a copy of this template starts in 5-8 s)
#
#   KRITA_HOSTCACHE  cache dir (default $GPT_IMAGE_HOSTCACHE/krita, where GPT_IMAGE_HOSTCACHE
#                    defaults to ~/.cache/gpt-image-tests: kept across clones)
#
# Prints the cache dir on its last line.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
source "$HERE/../chroot.sh"  # CACHE_ROOT, install_test_packages
CACHE=${KRITA_HOSTCACHE:-$CACHE_ROOT/krita}
PY=${PYTHON:-python3}
T0=$(date +%s)
log() { echo "[krita setup +$(( $(date +%s) - T0 ))s] $*" >&2; }
mkdir -p "$CACHE"

# 1) system packages ---------------------------------------------------------------------------
missing=()
for pkg in krita xvfb xauth python3-pyqt5 unzip; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "setup.sh needs root to apt-get install ${missing[*]}" >&2; exit 1; }
  log "apt-get install ${missing[*]}"
  host_apt update -qq
  host_apt install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
KPY=/usr/bin/python3.11
[ -x "$KPY" ] || KPY=$(ls /usr/bin/python3.1[0-9] 2>/dev/null | head -1)
KPYVER=$("$KPY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
TAG=cp${KPYVER/./}

# 2) wheels and vendor dirs for Krita's Python ------------------------------------------------
PIPX=(--disable-pip-version-check --only-binary=:all: --python-version "$KPYVER"
      --implementation cp --platform manylinux2014_x86_64)
REQ_HASH=$(cat "$REPO/requirements.txt" | sha256sum | cut -c1-16)
WHEELS=$CACHE/wheels-$TAG
if [ "$(cat "$WHEELS/.ok" 2>/dev/null)" != "$REQ_HASH" ]; then
  log "downloading $TAG wheels of requirements.txt"
  rm -rf "$WHEELS"; mkdir -p "$WHEELS"
  "$PY" -m pip download -q "${PIPX[@]}" -d "$WHEELS" -r "$REPO/requirements.txt"
  echo "$REQ_HASH" > "$WHEELS/.ok"
fi
VENDOR=$CACHE/vendor-$TAG
if [ "$(cat "$VENDOR/.ok" 2>/dev/null)" != "$REQ_HASH" ]; then
  log "unpacking $TAG vendor dir"
  rm -rf "$VENDOR"; mkdir -p "$VENDOR"
  "$PY" -m pip install -q --no-compile --no-warn-conflicts "${PIPX[@]}" --no-index --find-links "$WHEELS" \
      --target "$VENDOR" -r "$REPO/requirements.txt"
  echo "$REQ_HASH" > "$VENDOR/.ok"
fi
install_test_packages "$CACHE/testvendor-$TAG" "$KPYVER"

# 3) warmed HOME template -----------------------------------------------------------------------
KVER=$(dpkg-query -W -f='${Version}' krita 2>/dev/null || echo unknown)
TEMPLATE=$CACHE/home-template
if [ "$(cat "$TEMPLATE/.ok" 2>/dev/null)" != "$KVER" ]; then
  log "warming a Krita profile (first start builds the resource database, ~20 s)"
  WARM=$(mktemp -d "${TMPDIR:-/tmp}/krita-warm.XXXXXX")
  mkdir -p "$WARM"/{home,tmp,xdg-runtime,out}; chmod 700 "$WARM/xdg-runtime"
  H=$WARM/home
  mkdir -p "$H/.config" "$H/.local/share/krita/pykrita"
  cp -r "$HERE/harness"/. "$H/.local/share/krita/pykrita/"
  cp "$REPO/krita_plugin/qt.py" "$H/.local/share/krita/pykrita/gpt_image_test_harness/qt.py"
  printf '[python]\nenable_gpt_image_test_harness=true\n' > "$H/.config/kritarc"
  set +e
  # A clean PATH: Krita's embedded Python locates its prefix through PATH, and a pyenv/venv
  # python3.x found first would hide Debian's PyQt5.
  env PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$H" XDG_CONFIG_HOME="$H/.config" XDG_DATA_HOME="$H/.local/share" \
      XDG_CACHE_HOME="$H/.cache" XDG_RUNTIME_DIR="$WARM/xdg-runtime" TMPDIR="$WARM/tmp" \
      KRITA_NO_ASSERT_MSG=1 KRITA_TEST_OUT="$WARM/out" KRITA_TEST_WATCHDOG=120 \
      timeout -k 10 180 xvfb-run -a -s "-screen 0 1920x1080x24 -noreset" krita --nosplash \
      >"$WARM/out/krita.log" 2>&1
  rc=$?
  set -e
  if [ ! -f "$WARM/out/result.json" ]; then
    echo "Krita warm-up failed (rc=$rc); log:" >&2; tail -30 "$WARM/out/krita.log" >&2; exit 1
  fi
  rm -rf "$H/.local/share/krita/pykrita"/gpt_image_test_harness* "$H/.cache"
  rm -rf "$TEMPLATE"; mv "$H" "$TEMPLATE"; rm -rf "$WARM"
  echo "$KVER" > "$TEMPLATE/.ok"
fi
log "ready"
echo "$CACHE"
