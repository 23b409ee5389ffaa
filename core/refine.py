"""Refine a result: a new edit of the variant the person picked, with a follow-up instruction.

The refine goes through the **same crop and mask** as the job that made the result (nothing is
re-planned, so the new round lands exactly where the old one is), its source is what the person
sees now (the result composited over the document, its mask applied, never its raw hidden
pixels), and its prompt carries the original instruction plus every follow-up so far, so a
constraint stated once ("keep the face unchanged") holds in every later round. The new history
entry records ``parent_id`` (the refined job), ``instruction`` and ``follow_ups``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from PIL import Image

from .errors import InputError
from .geometry import Bounds
from .jobs import PreparedJob, check_spec, estimate_for, patch_from_history, stored_job
from .pipeline import Mode, Plan, build_upload, composite
from .prompting import check_prompt
from .settings import Settings

FOLLOW_UP_PREFIX = "Follow-up: "


def refine_prompt(instruction: str, follow_ups: Sequence[str]) -> str:
    """The original instruction, then each follow-up on its own line, oldest first."""
    lines = [instruction.strip(), ""]
    lines += [FOLLOW_UP_PREFIX + " ".join(text.split()) for text in follow_ups]
    return "\n".join(lines).strip()


def refine_plan(plan: Plan) -> Plan:
    """The parent's plan as an edit: same canvas, crop, API size, selection and blending.

    A text-to-image result is refined as an edit of that result: through its selection when it
    was generated into one, else as a whole-image edit of its area.
    """
    if plan.mode is not Mode.GENERATE:
        return plan
    mode = Mode.EDIT_SELECTION if plan.selection is not None else Mode.EDIT_IMAGE
    return replace(plan, mode=mode)


def lineage(record: Any) -> tuple[str, list[str]]:
    """(original instruction, follow-ups so far) of a history entry."""
    data = record.data
    instruction = data.get("instruction")
    follow_ups = data.get("follow_ups")
    if not isinstance(instruction, str) or not instruction.strip():
        return record.prompt, []
    if not isinstance(follow_ups, list):
        follow_ups = []
    return instruction, [str(f) for f in follow_ups if isinstance(f, str)]


def prepare_refine(
    record: Any,
    read_seen: Callable[[Bounds], Image.Image],
    follow_up: str,
    settings: Settings,
    *,
    variant: int = 0,
    n: int | None = None,
    quality: str | None = None,
    partial_images: int | None = None,
    source_document: str | None = None,
) -> PreparedJob:
    """A refine of ``record``'s result ``variant`` ready to run with ``jobs.run_job``.

    ``read_seen(bounds)`` returns what the person sees over ``bounds`` (canvas px) now, with the
    chosen variant shown: the host's projection, or ``seen_canvas`` for files. Main thread.
    """
    follow_up = check_prompt(follow_up)
    if not record.images:
        raise InputError(f"History entry {record.id} has no result to refine.")
    if not 0 <= variant < len(record.images):
        raise InputError(f"History entry {record.id} has no image {variant + 1}.")
    spec, parent_plan, _ = stored_job(record)
    plan = refine_plan(parent_plan)
    instruction, follow_ups = lineage(record)
    follow_ups = [*follow_ups, follow_up]
    overrides: dict[str, Any] = {
        "mode": plan.mode,
        "prompt": refine_prompt(instruction, follow_ups),
        "aspect": None,
    }
    for name, value in (("n", n), ("quality", quality), ("partial_images", partial_images)):
        if value is not None:
            overrides[name] = value
    if source_document is not None:
        overrides["source_document"] = source_document
    spec = check_spec(replace(spec, **overrides), settings)
    upload = build_upload(plan, read_seen(plan.source_bounds))
    est = estimate_for(spec, plan)
    fields: dict[str, Any] = {
        "parent_id": record.id,
        "parent_variant": variant,
        "instruction": instruction,
        "follow_up": follow_up,
        "follow_ups": follow_ups,
    }
    for inherited in ("source_path", "blank_canvas"):
        if record.data.get(inherited):
            fields[inherited] = record.data[inherited]
    if parent_plan.mode is Mode.GENERATE and "source_path" not in fields:
        fields["blank_canvas"] = True  # made from text alone: nothing lies under the result
    return PreparedJob(spec, plan, upload, est.usd, est, record_fields=fields)


def seen_canvas(record: Any, canvas: Image.Image, variant: int = 0) -> Image.Image:
    """``canvas`` with result ``variant`` of ``record`` blended in through its mask: what the
    person saw when they picked it."""
    return composite(canvas, patch_from_history(record, variant))


__all__ = [
    "lineage",
    "prepare_refine",
    "refine_plan",
    "refine_prompt",
    "seen_canvas",
]
