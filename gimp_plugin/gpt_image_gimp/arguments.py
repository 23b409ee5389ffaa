"""The procedures' arguments, declared once for the dialog, scripts and the README.

Plain Python (no libgimp) so that the argument table can be checked without GIMP. ``plugin``
turns each ``Arg`` into an ``add_*_argument`` call; ``options_from_values`` turns the values a run
received into ``JobOptions``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.models import KNOWN_MODELS
from core.naming import result_layer_name
from core.options import ANCHOR_NAMES as ANCHOR_CHOICES
from core.options import MAX_CANVAS_EDGE, RESOLUTION_PATTERN, RESOLUTIONS, option
from core.prompting import check_prompt

EDIT_PROC = "plug-in-gpt-image-edit"
GENERATE_PROC = "plug-in-gpt-image-generate"

#: Every quality some model takes (which model takes which is checked by core before sending).
QUALITIES = option("quality").choices
SOURCES = ("layer", "visible")
RESOLUTION_RE = re.compile(RESOLUTION_PATTERN)
#: The edits endpoint takes 16 input images: the one being edited plus this many references.
MAX_REFERENCES = option("references").maximum
LAYER_ID_RE = re.compile(r"^(?:(?i:layer):\s*|#)(\d+)$")


@dataclass(frozen=True)
class Arg:
    """One procedure argument. ``kind``: string, int, double, choice, drawable."""

    name: str
    kind: str
    label: str
    blurb: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    in_dialog: bool = True
    procs: tuple[str, ...] = (EDIT_PROC, GENERATE_PROC)


def _from_option(name: str, kind: str, label: str, blurb: str = "", **extra: Any) -> Arg:
    """A procedure argument for the job option ``name``: GIMP name, default, range, choices
    and help from ``core.options`` (only the label, with its mnemonic, is GIMP's own)."""
    opt = option(name)
    assert opt.gimp is not None, name
    return Arg(
        opt.gimp,
        kind,
        label,
        blurb or opt.describe(),
        opt.default,
        opt.minimum,
        opt.maximum,
        choices=opt.choices if kind == "choice" else (),
        **extra,
    )


ARGS: tuple[Arg, ...] = (
    Arg(
        "prompt", "string", "_Prompt", "What to paint (edit) or the picture to make (generate).", ""
    ),
    _from_option(
        "model",
        "string",
        "_Model",
        "Image model: "
        + "; ".join(f"{name} ({caps.description})" for name, caps in KNOWN_MODELS.items())
        + "; or a name declared in settings (custom_models).",
    ),
    _from_option("quality", "choice", "_Quality"),
    _from_option("resolution", "string", "Resol_ution"),
    _from_option("n", "int", "_Variants"),
    Arg(
        "source",
        "choice",
        "Sourc_e",
        "layer: the active layer's pixels; visible: the whole visible image.",
        "layer",
        choices=SOURCES,
        procs=(EDIT_PROC,),
    ),
    Arg(
        "references",
        "string",
        "Re_ferences",
        "Reference images, separated by ';' or new lines: image files, layers of open images as "
        f"layer:<item id> or #<item id>, or <image name>/<layer name>. At most {MAX_REFERENCES} "
        "in all.",
        "",
    ),
    Arg(
        "reference-layer",
        "drawable",
        "Reference la_yer",
        "A layer of any open image sent as a reference (optional).",
        None,
    ),
    Arg(
        "reference-layer-2",
        "drawable",
        "Reference layer _2",
        "A second reference layer (optional).",
        None,
    ),
    Arg(
        "reference-layer-3",
        "drawable",
        "Reference layer _3",
        "A third reference layer (optional).",
        None,
    ),
    Arg(
        "reference-file",
        "file",
        "Reference _file",
        "An image file sent as a reference (optional; PNG, JPEG, WebP…).",
        None,
    ),
    Arg(
        "reference-file-2",
        "file",
        "Reference file 2",
        "A second reference image file (optional).",
        None,
    ),
    Arg(
        "reference-file-3",
        "file",
        "Reference file 3",
        "A third reference image file (optional).",
        None,
    ),
    _from_option("padding_px", "int", "Context pa_dding", procs=(EDIT_PROC,)),
    _from_option("grow_px", "int", "_Grow"),
    _from_option("feather_px", "int", "Feat_her"),
    _from_option("partial_images", "int", "Partial p_reviews"),
    Arg(
        "timeout",
        "double",
        "_Time limit",
        "Seconds after which the job is cancelled (0 = the settings' request timeout only).",
        0.0,
        0.0,
        86400.0,
        in_dialog=False,
    ),
)

RETURN_VALUES = (
    ("layer", "The new layer (or layer group for several variants)."),
    ("history-id", "The job's id in the shared history (python -m core history show ID)."),
)


# --- Expand… (plug-in-gpt-image-expand; its run options: expand_args.py) -----------------------

EXPAND_PROC = "plug-in-gpt-image-expand"
#: The anchor names, the overlap's default and range, the canvas limit: ``core.options`` (pure
#: Python, so registering the procedure still needs no third-party package).
ANCHOR_NAMES = ANCHOR_CHOICES
MAX_BORDER = MAX_CANVAS_EDGE
_OVERLAP = option("overlap_px")
DEFAULT_OVERLAP: int = _OVERLAP.default


def _common(name: str, **changes: Any) -> Arg:
    arg = next(a for a in ARGS if a.name == name)
    return replace(arg, procs=(EXPAND_PROC,), **changes)


def _side(name: str, label: str) -> Arg:
    return Arg(
        name,
        "int",
        label,
        f"Pixels to add on the {name} (0-{MAX_BORDER}); ignored when aspect is set.",
        0,
        0,
        MAX_BORDER,
        procs=(EXPAND_PROC,),
    )


EXPAND_ARGS: tuple[Arg, ...] = (
    _common(
        "prompt",
        blurb="What the new area shows (optional: without one the scene is continued).",
    ),
    _common("model"),
    _common("quality"),
    _common("resolution"),
    _common("variants"),
    _common("references"),
    _common("reference-layer"),
    _common("reference-layer-2"),
    _common("reference-layer-3"),
    _common("reference-file"),
    _common("reference-file-2"),
    _common("reference-file-3"),
    _side("left", "_Left"),
    _side("top", "_Top"),
    _side("right", "_Right"),
    _side("bottom", "_Bottom"),
    Arg(
        "aspect",
        "string",
        "_Aspect",
        "Target shape W:H (e.g. 16:9): the smallest canvas of that shape holding the image. "
        "Empty: use left/top/right/bottom.",
        "",
        procs=(EXPAND_PROC,),
    ),
    _from_option(
        "anchor",
        "choice",
        "Anc_hor",
        "Where the original sits when aspect is set.",
        procs=(EXPAND_PROC,),
    ),
    _from_option(
        "overlap_px",
        "int",
        "_Overlap",
        _OVERLAP.help.removeprefix("Expand: ").capitalize(),
        procs=(EXPAND_PROC,),
    ),
    _common("timeout"),
)


def args_for(proc_name: str) -> tuple[Arg, ...]:
    """The arguments of one procedure, in declaration order."""
    if proc_name == EXPAND_PROC:
        return EXPAND_ARGS
    return tuple(arg for arg in ARGS if proc_name in arg.procs)


def split_entries(text: str) -> tuple[str, ...]:
    """The entries of ``a.png; b.jpg`` or one entry per line, blanks dropped."""
    parts = re.split(r"[;\r\n]", text or "")
    return tuple(part.strip() for part in parts if part.strip())


@dataclass(frozen=True)
class RefEntry:
    """One entry of ``references`` as written; ``layer_id`` when it names an item id."""

    text: str
    layer_id: int | None = None


def parse_references(text: str) -> tuple[RefEntry, ...]:
    """Entries of the ``references`` argument; ``ValueError`` for a malformed ``layer:`` entry
    or more than ``MAX_REFERENCES`` entries. Names and paths are resolved later, in GIMP."""
    entries = []
    for part in split_entries(text):
        match = LAYER_ID_RE.match(part)
        if match:
            entries.append(RefEntry(part, int(match.group(1))))
        elif part.lower().startswith("layer:"):
            raise ValueError(
                f"Reference {part!r}: a layer is given as layer:<item id>, e.g. layer:12."
            )
        else:
            entries.append(RefEntry(part))
    check_reference_count(len(entries))
    return tuple(entries)


def references_from_values(values: dict[str, Any]) -> tuple[RefEntry, ...]:
    """The ``references`` text's entries, then the files picked in ``reference-file*`` (their
    paths, as ``values_from_config`` reads them); ``ValueError`` beyond ``MAX_REFERENCES``."""
    entries = parse_references(values.get("references") or "")
    picked = tuple(RefEntry(path) for path in values.get(PICKED_FILES) or ())
    check_reference_count(len(entries) + len(picked))
    return entries + picked


#: The key ``values_from_config`` puts the picked reference files' paths under.
PICKED_FILES = "reference-files"


def check_reference_count(count: int) -> None:
    if count > MAX_REFERENCES:
        raise ValueError(
            f"{count} reference images given; at most {MAX_REFERENCES} can be sent "
            "(the API takes 16 images in all)."
        )


@dataclass(frozen=True)
class Reference:
    """A resolved entry: ``kind`` is ``layer`` (``value`` a drawable) or ``file`` (a path)."""

    kind: str
    value: Any
    text: str


def _is_file(path: str) -> bool:
    return Path(path).expanduser().is_file()


def _named_layer(text: str, by_name: Callable[[str, str], Any]) -> Any:
    """The layer ``<image name>/<layer name>`` names, trying each '/' as the separator (layer
    names may hold a '/'), or None."""
    for index, char in enumerate(text):
        if char == "/" and 0 < index < len(text) - 1:
            found = by_name(text[:index], text[index + 1 :])
            if found is not None:
                return found
    return None


def resolve_references(
    entries: tuple[RefEntry, ...],
    by_id: Callable[[int], Any],
    by_name: Callable[[str, str], Any],
    is_file: Callable[[str], bool] = _is_file,
) -> tuple[Reference, ...]:
    """Each entry as a layer or a file. ``by_id(id)`` and ``by_name(image, layer)`` return a
    drawable or None (GIMP supplies them; tests pass plain functions). An existing layer wins
    over a file of the same name. ``ValueError`` names the first entry that is neither."""
    resolved = []
    for entry in entries:
        if entry.layer_id is not None:
            drawable = by_id(entry.layer_id)
            if drawable is None:
                raise ValueError(
                    f"Reference {entry.text!r}: no open image has a layer (drawable) with item "
                    f"id {entry.layer_id}."
                )
            resolved.append(Reference("layer", drawable, entry.text))
            continue
        drawable = _named_layer(entry.text, by_name)
        if drawable is not None:
            resolved.append(Reference("layer", drawable, entry.text))
        elif is_file(entry.text):
            resolved.append(Reference("file", entry.text, entry.text))
        else:
            raise ValueError(
                f"Reference {entry.text!r} is neither an existing image file nor a layer of an "
                "open image (<image name>/<layer name>, layer:<item id> or #<item id>)."
            )
    return tuple(resolved)


@dataclass(frozen=True)
class JobOptions:
    """Everything a run needs from its arguments, checked, without libgimp objects."""

    prompt: str
    model: str
    quality: str
    resolution: str
    variants: int
    source: str = "layer"
    references: tuple[RefEntry, ...] = ()
    padding: int = option("padding_px").default
    feather: int = option("feather_px").default
    grow: int = option("grow_px").default
    partials: int = option("partial_images").default
    timeout_s: float = 0.0


def model_values(values: dict[str, Any]) -> dict[str, Any]:
    """model, quality, resolution and variants, checked against ``core.options`` (Edit…,
    Generate… and Expand… alike); ``ValueError`` names a bad one. Which model takes which
    quality is checked by core before anything is sent."""
    resolution = (values.get("resolution") or option("resolution").default).strip()
    if not RESOLUTION_RE.match(resolution):
        raise ValueError(
            f"Resolution {resolution!r} is not {', '.join(RESOLUTIONS)} or WIDTHxHEIGHT "
            "(e.g. 1536x1024)."
        )
    quality = values.get("quality") or option("quality").default
    if quality not in QUALITIES:
        raise ValueError(f"Quality {quality!r} is not one of {', '.join(QUALITIES)}.")
    variants = int(values.get("variants") or option("n").default)
    option("n").check(variants)  # InputError is a ValueError
    return {
        "model": (values.get("model") or option("model").default).strip(),
        "quality": quality,
        "resolution": resolution,
        "variants": variants,
    }


def options_from_values(values: dict[str, Any]) -> JobOptions:
    """``JobOptions`` from argument values by name; ``ValueError`` names a bad argument."""
    prompt = check_prompt(values.get("prompt") or "")  # InputError is a ValueError
    model = model_values(values)
    source = values.get("source") or "layer"
    if source not in SOURCES:
        raise ValueError(f"Source {source!r} is not one of {', '.join(SOURCES)}.")
    return JobOptions(
        prompt=prompt,
        **model,
        source=source,
        references=references_from_values(values),
        padding=option("padding_px").check(
            int(values.get("padding", option("padding_px").default))
        ),
        feather=option("feather_px").check(
            int(values.get("feather", option("feather_px").default))
        ),
        grow=option("grow_px").check(int(values.get("grow", option("grow_px").default))),
        partials=option("partial_images").check(
            int(values.get("partials", option("partial_images").default))
        ),
        timeout_s=max(0.0, float(values.get("timeout") or 0.0)),
    )


def job_spec(
    mode: str,
    options: JobOptions,
    references: tuple[Any, ...],
    settings: Any,
    source_document: str,
) -> Any:
    """The core job from the arguments over the shared settings, as Krita and the CLI build it
    (output format, moderation and the like come from the settings). ``mode`` is core's
    ``jobs.EDIT`` for Edit… (core chooses) or ``generate``."""
    from core import jobs  # not at import: registering the procedures needs no Pillow

    blend = replace(
        settings.blend(),
        padding_px=options.padding,
        grow_px=options.grow,
        feather_px=options.feather,
    )
    return jobs.JobSpec.from_settings(
        settings,
        mode,
        options.prompt,
        model=options.model,
        quality=options.quality,
        resolution=options.resolution,
        n=options.variants,
        partial_images=options.partials,
        references=references,
        blend=blend,
        source_document=source_document,
    )


def layer_name(prompt: str, index: int | None = None) -> str:
    """A result layer's name: core's rule (``core.naming``), the same as Krita's."""
    return result_layer_name(prompt, index)


def values_from_config(config: Any, proc_name: str) -> dict[str, Any]:
    """Plain values of the scalar arguments by name (choices come back as their nick)."""
    values: dict[str, Any] = {}
    files = []
    for arg in args_for(proc_name):
        if arg.kind == "drawable":
            continue
        value = config.get_property(arg.name)
        if arg.kind == "file":  # a Gio.File (or None): its path joins the references
            path = value.get_path() if value is not None else None
            if path:
                files.append(path)
            continue
        values[arg.name] = value
    values[PICKED_FILES] = tuple(files)
    return values


def reference_drawables(config: Any, proc_name: str) -> list:
    found = []
    for arg in args_for(proc_name):
        if arg.kind == "drawable":
            value = config.get_property(arg.name)
            if value is not None:
                found.append(value)
    return found
