#!/usr/bin/env python3
"""GIMP 3 entry point of the GPT Image plug-in (Filters → GPT Image → Edit… / Generate…).

GIMP runs every plug-in in its own Python process, so the bundled ``core`` package (copied beside
this file by install.py) can be imported as a top-level package. The third-party packages core
needs (openai, pydantic, Pillow, numpy) are vendored into ``vendor/`` for GIMP's Python.
"""

import os
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))
for _path in (os.path.join(_HERE, "vendor"), _HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from gpt_image_gimp.plugin import main  # noqa: E402  (after the sys.path set-up above)

main()
