"""gpt_image: OpenAI gpt-image-2 in Krita (masked edits, image edits, text-to-image).

Krita imports this package at start-up. Dependencies (Pillow, pydantic, openai, numpy) are
vendored by install.py into ``vendor/`` beside this file, for Krita's own Python; it goes first
on ``sys.path`` before anything imports ``core``. Without it, the plug-in says so in a docker and
in Krita's log instead of failing silently.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
VENDOR_DIR = os.path.join(_HERE, "vendor")
if os.path.isdir(VENDOR_DIR) and VENDOR_DIR not in sys.path:
    sys.path.insert(0, VENDOR_DIR)

IMPORT_ERROR: str | None = None
try:
    import numpy  # noqa: F401
    import openai  # noqa: F401
    import PIL  # noqa: F401
    import pydantic  # noqa: F401
except ImportError as _exc:
    IMPORT_ERROR = (
        f"gpt_image: a dependency is missing ({_exc.name or _exc}); looked in {VENDOR_DIR}. "
        "Reinstall with: python install.py --host krita"
    )
    print(IMPORT_ERROR, file=sys.stderr)

if IMPORT_ERROR is None:
    from .extension import register

    register()
else:
    from .extension import register_broken

    register_broken(IMPORT_ERROR)
