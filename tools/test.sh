#!/bin/bash
# The one command for all tests: set up what they need (tools/setup.sh: idempotent, cached in
# ~/.cache/gpt-image-tests), then run the whole suite. Arguments go to pytest, so subsets are
#   bash tools/test.sh -m "not krita and not gimp"      # no hosts
#   GPT_IMAGE_HOSTS=krita6.0,gimp3.2 bash tools/test.sh -m "krita or gimp"
# A subset that excludes the hosts still sets them up unless GPT_IMAGE_HOSTS=none.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash tools/setup.sh | tail -1)
exec "$PY" -m pytest "$@"
