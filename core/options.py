"""The one typed definition of every job option: name, type, default, range, unit, help.

Settings defaults, the CLI's flags and help, the Krita form's widgets, GIMP's procedure
arguments and dialog, history records, rerun and the estimates all read this table; no host or
CLI module writes an option's name, default or range again. Where a model decides what is
allowed (qualities, transparency, partial previews, references) ``Option.allowed(caps)`` asks
the capability table in ``core.models``.

Names: ``name`` is the field of ``JobSpec`` (and of ``Settings`` where ``settings`` says so),
``flag`` the CLI's long option, ``gimp`` the GIMP procedure argument.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InputError
from .models import ALL_QUALITIES, DEFAULT_MODEL, KNOWN_MODELS, ModelCaps

#: The edited image counts as one input image; this many references fit beside it.
MAX_REFERENCES = 15
RESOLUTIONS: tuple[str, ...] = ("auto", "1K", "2K", "4K")
RESOLUTION_PATTERN = r"^(?i:auto|[124]k|\d+x\d+)$"
#: Expand refuses a new canvas with a longer side (a typo like 1000000 must not allocate GBs).
MAX_CANVAS_EDGE = 32768
#: Where an expanded original sits (``core.expand`` derives the placement from the name).
ANCHOR_NAMES: tuple[str, ...] = (
    "center",
    "left",
    "right",
    "top",
    "bottom",
    "top-left",
    "top-right",
    "bottom-left",
    "bottom-right",
)


@dataclass(frozen=True)
class Option:
    """One job option. ``kind`` is ``str``, ``int``, ``bool`` or ``list`` (references)."""

    name: str
    kind: type
    default: Any
    label: str
    help: str
    unit: str = ""
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    #: The Settings field that holds the person's default (None: per job only).
    settings: str | None = None
    #: The CLI long flag (None: not on the command line) and GIMP's argument name.
    flag: str | None = None
    gimp: str | None = None
    #: Callers that show no previews (the CLI) use this instead of ``default``.
    headless_default: Any = None
    optional: bool = False  # None is a valid value ("not set")

    def allowed(self, caps: ModelCaps | None = None) -> tuple[Any, ...] | range:
        """The values ``caps`` takes: choices, or a ``range`` for integers."""
        if caps is not None:
            if self.name == "quality":
                return caps.qualities
            if self.name == "background" and not caps.transparent:
                return tuple(c for c in self.choices if c != "transparent")
            if self.name == "partial_images":
                return range(self.minimum or 0, caps.max_partials + 1)
            if self.name == "references":
                return range(0, min(caps.max_references, MAX_REFERENCES) + 1)
        if self.choices:
            return self.choices
        if self.minimum is not None and self.maximum is not None:
            return range(self.minimum, self.maximum + 1)
        return ()

    def maximum_for(self, caps: ModelCaps | None = None) -> int | None:
        allowed = self.allowed(caps)
        return allowed[-1] if isinstance(allowed, range) else self.maximum

    def check(self, value: Any, caps: ModelCaps | None = None) -> Any:
        """``value`` if allowed (for ``caps`` when given); else ``InputError`` naming the range."""
        if value is None and self.optional:
            return None
        allowed = self.allowed(caps)
        who = f"{caps.name} " if caps is not None and self.name in _PER_MODEL else ""
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"{self.label} must be a whole number, not {value!r}.")
            low = self.minimum if self.minimum is not None else None
            high = self.maximum_for(caps)
            if (low is not None and value < low) or (high is not None and value > high):
                span = f"{low} to {high}" if high is not None else f"{low} or more"
                raise InputError(
                    f"{self.label} must be {span}{' for ' + caps.name if who else ''}, "
                    f"not {value}.",
                    code=f"invalid_{self.name}",
                )
            return value
        if self.choices and value not in allowed:
            takes = ", ".join(str(a) for a in allowed)
            if who:
                raise InputError(
                    f"{self.label} {value!r} is not available for {caps.name}; it takes {takes}.",
                    hint=_models_taking(self.name, value) or f"Use one of: {takes}.",
                    code=f"invalid_{self.name}",
                )
            raise InputError(
                f"{self.label} must be one of {takes}, not {value!r}.", code=f"invalid_{self.name}"
            )
        return value

    def describe(self, caps: ModelCaps | None = None, *, headless: bool = False) -> str:
        """One line of help with the default and the allowed values (CLI, tooltips);
        ``headless``: for callers that show no previews (their default may differ)."""
        allowed = self.allowed(caps)
        if isinstance(allowed, range) and len(allowed):
            span = f"{allowed.start}-{allowed[-1]}"
        elif self.minimum is not None:
            span = f"{self.minimum}+"
        else:
            span = "|".join(str(a) for a in allowed)
        parts = [self.help]
        if span:
            parts.append(f"({span}{' ' + self.unit if self.unit else ''})")
        shown = self.headless_default if headless and self.headless_default is not None else None
        shown = self.default if shown is None else shown
        if shown is not None and self.kind is not list:
            parts.append(f"default {shown}")
        return " ".join(parts)


_PER_MODEL = {"quality", "background", "partial_images", "references"}


def _models_taking(name: str, value: Any) -> str:
    """A hint naming the models that do take ``value`` (for quality), or ""."""
    if name != "quality":
        return ""
    takers = [m.name for m in KNOWN_MODELS.values() if value in m.qualities and not m.snapshot_of]
    return f"Quality {value!r} needs {' or '.join(takers)}." if takers else ""


OPTIONS: tuple[Option, ...] = (
    Option(
        "model",
        str,
        DEFAULT_MODEL,
        "Model",
        "Image model: gpt-image-2, gpt-image-2.5-flare (fast), gpt-image-2.5-sunburst "
        "(precise edits), gpt-image-1.5, ...",
        settings="model",
        flag="--model",
        gimp="model",
    ),
    Option(
        "quality",
        str,
        "medium",
        "Quality",
        "low is fast and cheap; high costs about 4x medium; xhigh and max are 2.5 models only.",
        choices=ALL_QUALITIES,
        settings="quality",
        flag="--quality",
        gimp="quality",
    ),
    Option(
        "resolution",
        str,
        "auto",
        "Resolution",
        "auto (native scale, fit the selection), 1K (~1 MP), 2K (~4 MP), 4K (largest valid) "
        "or an exact WIDTHxHEIGHT.",
        settings="resolution",
        flag="--resolution",
        gimp="resolution",
    ),
    Option(
        "n",
        int,
        1,
        "Variants",
        "Images per request; each one is billed, several go into one layer group.",
        unit="images",
        minimum=1,
        maximum=10,
        settings="n",
        flag="-n",
        gimp="variants",
    ),
    Option(
        "partial_images",
        int,
        1,
        "Partial previews",
        "Previews streamed while the image is made; each costs 100 output tokens.",
        minimum=0,
        maximum=3,
        settings="partial_images",
        flag="--partials",
        gimp="partials",
        headless_default=0,
    ),
    Option(
        "output_format",
        str,
        "png",
        "Output format",
        "png (lossless), jpeg (fastest) or webp.",
        choices=("png", "jpeg", "webp"),
        settings="output_format",
        flag="--format",
    ),
    Option(
        "output_compression",
        int,
        None,
        "Compression",
        "jpeg and webp only.",
        unit="%",
        minimum=0,
        maximum=100,
        settings="output_compression",
        flag="--compression",
        optional=True,
    ),
    Option(
        "background",
        str,
        None,
        "Background",
        "auto, opaque or transparent (png/webp only; gpt-image-2's is a preview). "
        "Edits send opaque unless told otherwise.",
        choices=("auto", "opaque", "transparent"),
        flag="--background",
        optional=True,
    ),
    Option(
        "moderation",
        str,
        "auto",
        "Moderation",
        "auto (default filtering) or low (less restrictive).",
        choices=("auto", "low"),
        settings="moderation",
        flag="--moderation",
        optional=True,
    ),
    Option(
        "padding_px",
        int,
        48,
        "Context padding",
        "Canvas pixels of context sent around the selection.",
        unit="px",
        minimum=0,
        maximum=1024,
        settings="padding_px",
        flag="--padding",
        gimp="padding",
    ),
    Option(
        "grow_px",
        int,
        6,
        "Grow",
        "Pixels the selection is grown before blending.",
        unit="px",
        minimum=0,
        maximum=256,
        settings="grow_px",
        flag="--grow",
        gimp="grow",
    ),
    Option(
        "feather_px",
        int,
        8,
        "Feather",
        "Soft edge of the blended result.",
        unit="px",
        minimum=0,
        maximum=256,
        settings="feather_px",
        flag="--feather",
        gimp="feather",
    ),
    Option(
        "match_colour",
        bool,
        True,
        "Match colour",
        "Correct the result's overall colour drift so a masked edit shows no seam.",
        settings="match_colour",
    ),
    Option(
        "references",
        list,
        (),
        "References",
        "Reference images (PNG/JPEG/WebP; other formats are converted); the edited crop "
        "counts as one of the model's input images.",
        unit="images",
        minimum=0,
        maximum=MAX_REFERENCES,
        flag="--reference",
        gimp="references",
    ),
    Option(
        "aspect",
        str,
        None,
        "Aspect",
        "Shape for text-to-image without a canvas, W:H such as 16:9.",
        flag="--aspect",
        optional=True,
    ),
    Option(
        "overlap_px",
        int,
        8,
        "Overlap",
        "Expand: feathered band of the original the fill may cover, so the seam blends.",
        unit="px",
        minimum=0,
        maximum=256,
        flag="--overlap",
        gimp="overlap",
    ),
    Option(
        "anchor",
        str,
        "center",
        "Anchor",
        "Expand to an aspect or size: where the original sits in the new canvas.",
        choices=ANCHOR_NAMES,
        flag="--anchor",
        gimp="anchor",
    ),
    Option(
        "user",
        str,
        None,
        "End-user id",
        "Optional id sent as `user` for OpenAI's abuse monitoring.",
        settings="user",
        optional=True,
    ),
)

BY_NAME: Mapping[str, Option] = {option.name: option for option in OPTIONS}


def option(name: str) -> Option:
    """The option called ``name`` (a JobSpec field)."""
    return BY_NAME[name]


def default(name: str) -> Any:
    return BY_NAME[name].default


def settings_options() -> Iterator[Option]:
    """The options Settings holds a default for."""
    return (o for o in OPTIONS if o.settings)


def by_flag(flag: str) -> Option:
    return next(o for o in OPTIONS if o.flag == flag)


def by_gimp(name: str) -> Option:
    return next(o for o in OPTIONS if o.gimp == name)


def defaults() -> dict[str, Any]:
    """Every option's default, by name (what a record without a field means)."""
    return {o.name: o.default for o in OPTIONS}


def check_options(values: Mapping[str, Any], caps: ModelCaps) -> None:
    """Check every value in ``values`` that names an option, for ``caps``, and the pairs of
    them the API refuses together; ``InputError``."""
    for name, value in values.items():
        opt = BY_NAME.get(name)
        if opt is None or opt.kind is list:
            continue
        opt.check(value, caps)
    check_transparency_format(values.get("background"), values.get("output_format"))


def check_transparency_format(background: Any, output_format: Any) -> None:
    """The API refuses a transparent background in JPEG: said before a job starts (so no
    history entry records a "failed" job that could never have run), and again by the client
    for a request built some other way."""
    if background == "transparent" and output_format == "jpeg":
        raise InputError(
            "A transparent background needs PNG or WebP output, not JPEG.",
            hint="Switch the output format to png or webp.",
        )


def schema(caps: ModelCaps | None = None) -> list[dict[str, Any]]:
    """The definition as JSON-ready data (docs, tests, scripts)."""
    rows = []
    for opt in OPTIONS:
        allowed = opt.allowed(caps)
        rows.append(
            {
                "name": opt.name,
                "type": opt.kind.__name__,
                "default": list(opt.default) if isinstance(opt.default, tuple) else opt.default,
                "label": opt.label,
                "help": opt.help,
                "unit": opt.unit,
                "choices": list(allowed) if not isinstance(allowed, range) else [],
                "minimum": opt.minimum,
                "maximum": opt.maximum_for(caps),
                "settings": opt.settings,
                "flag": opt.flag,
                "gimp": opt.gimp,
            }
        )
    return rows
