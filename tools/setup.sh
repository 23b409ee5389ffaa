#!/bin/bash
# Everything the test suite needs, from nothing on a Debian 12 root machine. Idempotent and
# cached: a warm re-run only checks that each piece is there.
#   1. the Python packages (requirements-dev.txt) for the interpreter that runs pytest
#   2. Krita 5.1.5 + Xvfb, host wheels and a warmed Krita profile  (tests/hosts/krita/setup.sh)
#   3. a Debian trixie chroot with Krita 5.2                        (tests/hosts/krita/setup_trixie.sh)
#   4. a Debian trixie chroot with GIMP 3.0.4                       (tests/hosts/gimp/setup.sh)
# PYTHON selects the interpreter (default: python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
T0=$(date +%s)
step() { echo "[setup +$(( $(date +%s) - T0 ))s] $*"; }

step "python packages"
"$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore -r requirements-dev.txt
step "krita"
PYTHON="$PY" bash tests/hosts/krita/setup.sh >/dev/null
step "krita 5.2 chroot"
PYTHON="$PY" bash tests/hosts/krita/setup_trixie.sh >/dev/null
step "gimp 3 chroot"
bash tests/hosts/gimp/setup.sh >/dev/null
step "ready"
