#!/bin/bash
# Everything the test suite needs, from nothing on a Debian 12 root machine. Idempotent and
# cached outside the checkout (~/.cache/gpt-image-tests, GPT_IMAGE_HOSTCACHE overrides): a warm
# re-run only checks that each piece is there. Prints the Python to run pytest with, last.
#   1. a virtualenv with requirements-dev.txt (PEP 668 forbids pip into Debian's own Python)
#   2. the real test hosts of tests/hosts/testhosts.py (HOSTS), two set-ups at a time:
#      Krita 5.1.5 on this system; Debian chroots with Krita 5.2.9 + GIMP 3.0.4 (trixie),
#      Krita 5.3.4.1 + GIMP 3.2.6 (forky), Krita 6.0.4.1 (experimental)
# PYTHON picks the interpreter the virtualenv is made from (default: python3);
# GPT_IMAGE_HOSTS=krita5.3,gimp3.2 (or =none) sets up only those hosts.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
source tests/hosts/chroot.sh  # CACHE_ROOT, host_apt
T0=$(date +%s)
step() { echo "[setup +$(( $(date +%s) - T0 ))s] $*" >&2; }
mkdir -p "$CACHE_ROOT"

step "python packages"
if ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "setup.sh needs root to apt-get install python3-venv" >&2; exit 1; }
  host_apt update -qq && host_apt install -y -qq python3-venv >/dev/null
fi
PYVER=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
WANT="$PYVER $(cat requirements-dev.txt requirements.txt | sha256sum | cut -c1-16)"
VENV=$CACHE_ROOT/venv-py$PYVER
if [ "$(cat "$VENV/.ok" 2>/dev/null)" != "$WANT" ]; then
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$WANT" > "$VENV/.ok"
fi

if [ "${GPT_IMAGE_HOSTS:-}" != "none" ]; then
  step "test hosts"
  # A host that cannot be set up does not stop the run: its tests fail with the set-up's output.
  "$VENV/bin/python" tests/hosts/testhosts.py setup --jobs 2 >&2 \
    || echo "[setup] some test hosts could not be set up (above); their tests will fail" >&2
fi
step "ready"
echo "$VENV/bin/python"
