"""Prompt help: a structured brief composed into a prompt, and an optional rewrite by a text model.

OpenAI's image guide recommends prompts that name the output type, subject, scene, composition,
lighting and style in that order, quote any text to be rendered exactly, and for edits say what
to change *and* what to keep ("change only ...; keep ... unchanged"). ``PromptBrief`` holds
those parts so the hosts can offer a form; ``compose_prompt`` turns it into one prompt.

``improve_prompt`` asks a text model (Responses API, ``settings.improve_prompt_model``) for a
rewrite; the caller shows it and the person decides whether to accept it. It never replaces a
prompt on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .settings import Settings

PROMPT_MAX_CHARS = 32000
EDIT_MODES = ("edit_selection", "edit_image")


@dataclass(frozen=True)
class PromptBrief:
    """The parts of a good image prompt. Every part is optional; empty parts are left out."""

    output_type: str = ""  # "photo", "watercolour illustration", "product shot", "logo"
    subject: str = ""
    scene: str = ""
    composition: str = ""
    lighting: str = ""
    style: str = ""
    text: Sequence[str] = field(default_factory=tuple)  # rendered verbatim, each in quotes
    keep: str = ""  # what must stay unchanged (edits)
    change: str = ""  # what to change (edits); defaults to the subject
    notes: str = ""  # anything else, appended as written


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?\"'”" else text + "."


def _quote(text: str) -> str:
    # a straight quote inside the text would end a straight quotation early: use curly ones
    return f"\u201c{text}\u201d" if '"' in text else f'"{text}"'


def _text_clause(texts: Sequence[str]) -> str:
    items = [t for t in texts if t and t.strip()]
    if not items:
        return ""
    if len(items) == 1:
        return f"The text reads exactly {_quote(items[0])}, spelled exactly as written."
    quoted = ", ".join(_quote(t) for t in items)
    return f"Render these texts exactly as written: {quoted}."


def _describe(brief: PromptBrief, subject: str) -> list[str]:
    parts = []
    if brief.output_type and subject:
        parts.append(_sentence(f"{brief.output_type} of {subject}"))
    else:
        parts.append(_sentence(brief.output_type or subject))
    for label, value in (
        ("Scene", brief.scene),
        ("Composition", brief.composition),
        ("Lighting", brief.lighting),
        ("Style", brief.style),
    ):
        if value.strip():
            parts.append(_sentence(f"{label}: {value.strip()}"))
    parts.append(_text_clause(brief.text))
    return parts


def _edit_details(brief: PromptBrief, subject: str) -> list[str]:
    parts = [
        _sentence(f"{label}: {value.strip()}")
        for label, value in (
            ("Subject", subject),
            ("Output", brief.output_type),
            ("Scene", brief.scene),
            ("Composition", brief.composition),
            ("Lighting", brief.lighting),
            ("Style", brief.style),
        )
        if value.strip()
    ]
    parts.append(_text_clause(brief.text))
    return parts


def edit_instruction(change: str, keep: str = "") -> str:
    """OpenAI's edit pattern: "Change only <change>; keep <keep> unchanged."."""
    change = " ".join(change.split()).rstrip(".")
    keep = " ".join(keep.split()).rstrip(".") or "everything else"
    if not change:
        raise InputError("Say what to change.", hint="e.g. --prompt 'the sky to a sunset'")
    return f"Change only {change}; keep {keep} unchanged."


def compose_prompt(brief: PromptBrief, mode: str = "generate") -> str:
    """One prompt from ``brief``. Edits put the change first and end with what stays unchanged."""
    if mode in EDIT_MODES:
        change = brief.change or brief.subject
        details = _edit_details(brief, subject=brief.subject if brief.change else "")
        text = " ".join(
            p for p in [edit_instruction(change, brief.keep), *details, _sentence(brief.notes)] if p
        )
    else:
        text = " ".join(p for p in [*_describe(brief, brief.subject), _sentence(brief.notes)] if p)
        if brief.keep.strip():
            text += " " + _sentence(f"Keep {brief.keep.strip()} unchanged")
    text = text.strip()
    if not text:
        raise InputError("The prompt is empty.", hint="Describe at least the subject.")
    return check_prompt(text)


def check_prompt(prompt: str) -> str:
    """``prompt`` stripped, or ``InputError`` when it is empty or over the API's 32,000 chars."""
    prompt = (prompt or "").strip()
    if not prompt:
        raise InputError("The prompt is empty.", hint="Describe what you want to see.")
    if len(prompt) > PROMPT_MAX_CHARS:
        raise InputError(
            f"The prompt is {len(prompt)} characters; the API takes at most {PROMPT_MAX_CHARS}.",
            code="prompt_too_long",
        )
    return prompt


def improvement_request(prompt: str, mode: str = "generate") -> str:
    """The text handed to the prompt helper (its instructions live in ``core.client``).

    Edits say so, because a rewrite for an edit must keep "change only ...; keep ..." intact.
    """
    prompt = check_prompt(prompt)
    if mode in EDIT_MODES:
        return f"(For an edit of an existing image; say what to change and what stays unchanged.)\n{prompt}"
    return prompt


def improve_prompt(
    prompt: str, settings: Settings, *, mode: str = "generate", client: Any = None
) -> str:
    """A rewritten prompt from ``settings.improve_prompt_model`` for the person to accept or not.

    ``client`` is a ``core.client.ImageClient`` (made from the settings when None). Errors are
    the client's ``GptImageError``s; an empty answer is an ``InputError``.
    """
    if client is None:
        from .client import ImageClient

        client = ImageClient(settings.connection(), custom_models=settings.custom_models)
    rewritten = client.improve_prompt(
        improvement_request(prompt, mode), settings.improve_prompt_model
    )
    rewritten = (rewritten or "").strip()
    if not rewritten:
        raise InputError(
            "The prompt helper returned nothing.", hint="Keep your prompt or try again."
        )
    return check_prompt(rewritten)
