"""The variants and rounds one result layer holds, and which of them it shows.

A job with N variants becomes **one** result layer that shows one variant and keeps all N with
it. Each job that adds to the layer is a **round**: the first job, every refine of it (same crop
and mask, recorded in history with its parent) and every run of a model comparison. The host
flips the layer between variants in place; "keep this one" drops the others from the layer (they
stay in history), "keep all" turns them into separate layers.

The stack is plain data, serialised as JSON, so a host can keep it with the layer (a Krita
document annotation, a GIMP parasite) and a saved document still knows its variants. The pixels
are not in it: each variant is a ``(history id, image index)`` and its layer patch comes from the
history entry, through the same crop and feathered selection as when it first arrived.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from PIL import Image, ImageChops

from .errors import InputError
from .pipeline import LayerPatch

#: The key under which hosts store a stack (Krita annotation type, GIMP parasite name).
STACK_KEY = "gpt-image-variants"
STACK_VERSION = 1


@dataclass(frozen=True)
class Round:
    """One job's images on a result layer: which history entry, which of its images are kept."""

    history_id: str
    images: tuple[int, ...]  # 0-based indices into the job's results, in display order
    model: str = ""
    quality: str = ""
    seconds: float | None = None
    cost_usd: float | None = None
    prompt: str = ""
    parent_id: str | None = None
    kind: str = "job"  # "job" | "refine" | "compare"

    @property
    def cost_per_image(self) -> float | None:
        """The job's cost shared by the images it returned (what one variant cost)."""
        if self.cost_usd is None or not self.images:
            return None
        return self.cost_usd / max(len(self.images), 1)

    def label(self, *, per_image: bool = False) -> str:
        """'gpt-image-2 medium · 12.3 s · $0.053': the job's cost, or (``per_image``, under a
        thumbnail) what one of its variants cost, as Krita's strip and GIMP's Variants… show."""
        parts = [" ".join(p for p in (self.model, self.quality) if p)]
        if self.seconds is not None:
            parts.append(f"{self.seconds:.1f} s")
        cost = self.cost_per_image if per_image else self.cost_usd
        if cost is not None:
            parts.append(f"${cost:.3f}")
        return " · ".join(p for p in parts if p)


@dataclass(frozen=True)
class Variant:
    """One image the layer can show: round ``round`` (0-based), image ``index`` of its job."""

    round: int
    position: int  # 0-based position inside the round
    history_id: str
    index: int
    info: Round = field(repr=False)

    def label(self) -> str:
        """'1.2  gpt-image-2 medium · 12.3 s · $0.018': this variant, with its share of the cost."""
        return f"{self.round + 1}.{self.position + 1}  {self.info.label(per_image=True)}"


@dataclass(frozen=True)
class ResultStack:
    """The rounds of one result layer and the variant it shows (immutable: every change is a new
    stack, so a host can keep the old one for undo)."""

    rounds: tuple[Round, ...]
    shown: tuple[int, int] = (0, 0)  # (round, position)

    def __post_init__(self) -> None:
        if not self.rounds or any(not r.images for r in self.rounds):
            raise InputError("A result layer needs at least one image in every round.")
        r, p = self.shown
        if not (0 <= r < len(self.rounds) and 0 <= p < len(self.rounds[r].images)):
            object.__setattr__(self, "shown", (0, 0))

    # -- reading --------------------------------------------------------------------------------

    def variants(self) -> list[Variant]:
        """Every variant in browsing order: round by round, then image by image."""
        return [
            Variant(r, p, rnd.history_id, index, rnd)
            for r, rnd in enumerate(self.rounds)
            for p, index in enumerate(rnd.images)
        ]

    @property
    def count(self) -> int:
        return sum(len(r.images) for r in self.rounds)

    @property
    def current(self) -> Variant:
        r, p = self.shown
        rnd = self.rounds[r]
        return Variant(r, p, rnd.history_id, rnd.images[p], rnd)

    @property
    def position(self) -> int:
        """The shown variant's 0-based place in ``variants()``."""
        r, p = self.shown
        return sum(len(x.images) for x in self.rounds[:r]) + p

    @property
    def history_ids(self) -> list[str]:
        return [r.history_id for r in self.rounds]

    # -- changing -------------------------------------------------------------------------------

    def show(self, round_: int, position: int) -> ResultStack:
        if not (0 <= round_ < len(self.rounds) and 0 <= position < len(self.rounds[round_].images)):
            raise InputError(f"No variant {round_ + 1}.{position + 1} on this layer.")
        return replace(self, shown=(round_, position))

    def show_at(self, flat: int) -> ResultStack:
        """Show the ``flat``-th variant (0-based, wrapping around)."""
        items = self.variants()
        chosen = items[flat % len(items)]
        return replace(self, shown=(chosen.round, chosen.position))

    def next(self) -> ResultStack:
        return self.show_at(self.position + 1)

    def previous(self) -> ResultStack:
        return self.show_at(self.position - 1)

    def add_round(self, rnd: Round) -> ResultStack:
        """A new round (a refine, a compared model) joins the layer and is shown."""
        if not rnd.images:
            raise InputError("That job returned no image.")
        return ResultStack((*self.rounds, rnd), (len(self.rounds), 0))

    def keep_one(self) -> ResultStack:
        """Only the shown variant stays on the layer (the others stay in history)."""
        current = self.current
        rnd = replace(current.info, images=(current.index,))
        return ResultStack((rnd,), (0, 0))

    def round_of(self, history_id: str) -> int | None:
        for r, rnd in enumerate(self.rounds):
            if rnd.history_id == history_id:
                return r
        return None

    # -- storing --------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STACK_VERSION,
            "shown": list(self.shown),
            "rounds": [
                {
                    "history_id": r.history_id,
                    "images": list(r.images),
                    "model": r.model,
                    "quality": r.quality,
                    "seconds": r.seconds,
                    "cost_usd": r.cost_usd,
                    "prompt": r.prompt,
                    "parent_id": r.parent_id,
                    "kind": r.kind,
                }
                for r in self.rounds
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Any) -> ResultStack:
        """A stack from stored data; ``InputError`` for anything that is not one."""
        try:
            rounds = tuple(_round_from(item) for item in data["rounds"])
            shown = tuple(int(v) for v in data.get("shown", (0, 0)))[:2]
            return cls(rounds, (shown[0], shown[1]) if len(shown) == 2 else (0, 0))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise InputError(f"Stored result variants are unreadable: {exc!r}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> ResultStack:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InputError(f"Stored result variants are unreadable: {exc}") from None
        return cls.from_dict(data)


def _round_from(item: Mapping[str, Any]) -> Round:
    def number(value: Any) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value) if math.isfinite(value) else None

    images = tuple(int(i) for i in item["images"])
    if any(i < 0 for i in images):
        raise ValueError("negative image index")
    return Round(
        history_id=str(item["history_id"]),
        images=images,
        model=str(item.get("model") or ""),
        quality=str(item.get("quality") or ""),
        seconds=number(item.get("seconds")),
        cost_usd=number(item.get("cost_usd")),
        prompt=str(item.get("prompt") or ""),
        parent_id=str(item["parent_id"]) if item.get("parent_id") else None,
        kind=str(item.get("kind") or "job"),
    )


def round_from_record(record: Any, kind: str | None = None) -> Round:
    """A round for a finished history entry: its images, model, quality, seconds and cost."""
    data = record.data
    count = len(record.images)
    if count == 0:
        raise InputError(f"History entry {record.id} has no images.")
    timings = data.get("timings") or {}
    settings = data.get("settings") or {}
    parent = data.get("parent_id")
    cost = data.get("cost_usd")
    seconds = timings.get("elapsed_s") if isinstance(timings, Mapping) else None
    if kind is None:
        kind = "refine" if parent else "compare" if data.get("compare_group") else "job"
    return _round_from(
        {
            "history_id": record.id,
            "images": list(range(count)),
            "model": data.get("model"),
            "quality": settings.get("quality") if isinstance(settings, Mapping) else None,
            "seconds": seconds,
            "cost_usd": cost,
            "prompt": data.get("prompt"),
            "parent_id": parent,
            "kind": kind,
        }
    )


def stack_for_records(records: Sequence[Any]) -> ResultStack:
    """A new result layer's stack: one round per job (one job, or a model comparison)."""
    return ResultStack(tuple(round_from_record(r) for r in records))


def seen_through(image: Image.Image, masks: Sequence[Image.Image]) -> Image.Image:
    """``image`` (RGBA) as it shows through its layer's masks (L, same size): the alpha is
    multiplied by each. A result layer used as a source is read like this, never raw: its hidden
    pixels outside the feathered selection would otherwise come back as a grey halo."""
    if not masks:
        return image
    out = image.convert("RGBA")
    alpha = out.getchannel("A")
    for mask in masks:
        alpha = ImageChops.multiply(alpha, mask.convert("L"))
    out.putalpha(alpha)
    return out


def variant_patch(record: Any, index: int) -> LayerPatch:
    """Image ``index`` of a history entry as a layer patch (same crop and feathered selection as
    when it first arrived)."""
    from .jobs import patch_from_history

    return patch_from_history(record, index)


__all__ = [
    "STACK_KEY",
    "ResultStack",
    "Round",
    "Variant",
    "round_from_record",
    "seen_through",
    "stack_for_records",
    "variant_patch",
]
