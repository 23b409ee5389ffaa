"""Names the hosts give what a job makes and sends: result layers (an expand's fill too) and
reference files.

Decided once here so Krita, GIMP and the CLI name the same job the same way (a reference's
file name is part of the multipart request the API receives). Standard library only at
import: the GIMP plug-in imports this while it registers, before it can tell a person that
its dependencies (Pillow among them) are missing.
"""

from __future__ import annotations

from typing import Any

#: Result layers start with this, so people (and History) can tell them apart.
RESULT_PREFIX = "GPT: "
#: Characters of the prompt a result layer's name keeps.
RESULT_NAME_CHARS = 48
#: Characters of a layer's name a reference file name keeps.
REFERENCE_NAME_CHARS = 40


def result_layer_name(prompt: str, index: int | None = None) -> str:
    """A result layer's name from the prompt's first words: one line, bounded, numbered
    (``#2``) when it is one variant of several (``index`` 0-based)."""
    text = " ".join(prompt.split())
    if len(text) > RESULT_NAME_CHARS:
        text = text[: RESULT_NAME_CHARS - 1].rstrip() + "…"
    name = RESULT_PREFIX + (text or "result")
    return name if index is None else f"{name} #{index + 1}"


def job_layer_name(mode: Any, prompt: str, index: int | None = None) -> str:
    """The name of the layer a job of ``mode`` puts its result in, ``prompt`` as typed or as
    sent (History keeps the sent one). An expand's fill is named after the person's words
    alone, ``GPT: expand <words>`` (``GPT: expand`` without any), never after core's
    continuation instruction; every other job is ``result_layer_name(prompt, index)``."""
    from .pipeline import Mode  # imported here: see the module's docstring

    if mode == Mode.EXPAND:  # a Mode is a str: the stored value compares equal too
        from .expand import expand_words

        return result_layer_name(f"expand {expand_words(prompt)}".strip(), index)
    return result_layer_name(prompt, index)


def reference_file_name(layer_name: str) -> str:
    """The file name a layer is sent under as a reference: letters, digits, ``-`` and ``_``
    (anything else becomes ``_``), bounded, ``layer.png`` for a name with nothing left."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in layer_name)
    return f"{safe[:REFERENCE_NAME_CHARS] or 'layer'}.png"


def elapsed_text(seconds: float) -> str:
    """'3.4 s': a running job's elapsed time as every host shows it, to a tenth of a second so
    the first seconds (a streamed preview often comes within one) never read "0 s"."""
    return f"{max(0.0, seconds):.1f} s"


__all__ = [
    "RESULT_PREFIX",
    "elapsed_text",
    "job_layer_name",
    "reference_file_name",
    "result_layer_name",
]
