"""gpt_image: OpenAI's GPT Image models in Krita (masked edits, image edits, text-to-image).

Krita imports this package at start-up, so it stays light: dependencies (Pillow, pydantic,
openai, numpy) are only *found* here (``importlib.util.find_spec``), never imported; the docker
and ``core`` load when Krita builds the docker, openai with the first job. They are vendored by
install.py into ``vendor/`` beside this file, for Krita's own Python; it goes first on
``sys.path`` before anything imports ``core``. A missing dependency, or one that is found but
fails to import later, is reported in a docker and in Krita's log instead of failing silently.
"""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec

_HERE = os.path.dirname(os.path.abspath(__file__))
VENDOR_DIR = os.path.join(_HERE, "vendor")
if os.path.isdir(VENDOR_DIR) and VENDOR_DIR not in sys.path:
    sys.path.insert(0, VENDOR_DIR)

#: Import names of what the plug-in needs at run time (install.py vendors them).
DEPENDENCIES = ("numpy", "openai", "PIL", "pydantic")


def missing_dependencies(names: tuple[str, ...] = DEPENDENCIES) -> list[str]:
    """The dependencies Python cannot find, without importing any of them (imports cost ~300 ms)."""
    missing = []
    for name in names:
        try:
            found = find_spec(name) is not None
        except (ImportError, ValueError):  # a broken package or a bogus sys.modules entry
            found = False
        if not found:
            missing.append(name)
    return missing


def dependency_message(what: str) -> str:
    """What the docker and Krita's log say when a dependency is missing or fails to load."""
    return (
        f"gpt_image: {what}; looked in {VENDOR_DIR}. Reinstall with: python install.py --host krita"
    )


_missing = missing_dependencies()
IMPORT_ERROR: str | None = (
    dependency_message(f"a dependency is missing ({', '.join(_missing)})") if _missing else None
)
if IMPORT_ERROR is not None:
    print(IMPORT_ERROR, file=sys.stderr)

from .core import bundle_check  # noqa: E402 - stdlib only: a release zip for another Python?

if (_REFUSAL := bundle_check.refusal(_HERE)) is not None:
    IMPORT_ERROR = _REFUSAL
    if VENDOR_DIR in sys.path:  # packages built for another Python must not shadow others'
        sys.path.remove(VENDOR_DIR)
    print(IMPORT_ERROR, file=sys.stderr)

if IMPORT_ERROR is None:
    from .extension import register

    register()
else:
    from .extension import register_broken

    register_broken(IMPORT_ERROR)
