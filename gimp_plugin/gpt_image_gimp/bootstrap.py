"""Checks that the installed plug-in is complete before anything imports ``core``.

A plug-in folder copied by hand (without ``vendor/``) would otherwise die on an ImportError that
GIMP on Windows never shows; the procedures still register, and running one explains the fix.
"""

from __future__ import annotations

import importlib
import os

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
VENDOR_DIR = os.path.join(PLUGIN_DIR, "vendor")
REQUIRED = ("core", "openai", "pydantic", "PIL", "numpy")
INSTALL_HINT = (
    "Reinstall the plug-in with `python install.py --host gimp` from the GPT Image folder; "
    "it copies core/ and the vendored packages (vendor/) next to gpt-image.py."
)


def missing_dependencies() -> list[str]:
    """Names of the required packages that do not import, with the reason."""
    problems = []
    for name in REQUIRED:
        try:
            importlib.import_module(name)
        except Exception as exc:  # an ABI mismatch raises more than ImportError
            problems.append(f"{name} ({type(exc).__name__}: {exc})")
    return problems


def dependency_error() -> str | None:
    """A message for a person when the plug-in cannot work, else None."""
    try:
        from core import bundle_check  # stdlib only: a release zip built for another Python?
    except ImportError:  # no core/ at all: reported below with the other missing packages
        pass
    else:
        refusal = bundle_check.refusal(PLUGIN_DIR)
        if refusal is not None:
            return refusal
    problems = missing_dependencies()
    if not problems:
        return None
    where = VENDOR_DIR if os.path.isdir(VENDOR_DIR) else f"{VENDOR_DIR} (missing)"
    return (
        "GPT Image cannot start: missing or broken packages: "
        + "; ".join(problems)
        + f". Looked in {where} and {PLUGIN_DIR}. "
        + INSTALL_HINT
    )
