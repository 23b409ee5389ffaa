"""What GIMP calls each procedure (plain Python).

GIMP names a run by its menu label in "Repeat …", "Undo …", "Execution error for '…'" and the
procedure dialog's title, so every label starts with ``LABEL_PREFIX``: "GPT Image: Edit".
"""

from __future__ import annotations

LABEL_PREFIX = "GPT Image: "


def run_title(menu_label: str) -> str:
    """'GPT Image: Edit' from the menu label 'GPT Image: _Edit…'."""
    return menu_label.replace("_", "").rstrip("…. ")
