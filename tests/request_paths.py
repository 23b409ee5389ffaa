"""The request each caller sends for one table of inputs: the CLI, Krita's form path and GIMP's
procedure path, each through its own code (``tests/test_request_equality.py``; the real-host
suites drive the same table's cases in Krita and GIMP).

A case is plain data: a canvas picture, a rectangular selection (or none), the mode ("edit" or
"generate"), the options as each caller spells them, and reference files. ``compared(record)``
is what of a stand-in record must be equal between callers: every form field and JSON key, each
uploaded file's field, name, type, size, pixel mode and pixel digest, and the mask's.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Case:
    name: str
    canvas: tuple[int, int]
    rect: tuple[int, int, int, int] | None
    mode: str  # "edit" | "generate"
    model: str = "gpt-image-2"
    quality: str = "low"
    resolution: str = "auto"
    n: int = 1
    padding: int = 48
    feather: int = 8
    grow: int = 6
    partials: int = 0
    references: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        return f"request equality {self.name}: a blue heron by a pond"


CASES: tuple[Case, ...] = (
    Case("masked", (640, 480), (100, 80, 200, 150), "edit"),
    Case(
        "masked_flare_padding",
        (800, 600),
        (300, 200, 120, 90),
        "edit",
        model="gpt-image-2.5-flare",
        quality="xhigh",
        n=2,
        padding=200,
        feather=3,
        grow=2,
        partials=2,
    ),
    Case("whole_sunburst", (512, 384), None, "edit", model="gpt-image-2.5-sunburst", quality="max"),
    Case("edge_selection_1k", (900, 700), (0, 600, 300, 100), "edit", resolution="1K", padding=0),
    Case("reference", (640, 480), (20, 30, 160, 120), "edit", quality="medium", references=2),
    Case(
        "generate_exact",
        (1024, 768),
        None,
        "generate",
        model="gpt-image-2.5-flare",
        resolution="1024x768",
        n=3,
        partials=1,
    ),
)


def picture(size: tuple[int, int], seed: int = 7) -> Image.Image:
    """A busy, deterministic opaque RGBA picture (any change of crop or scale shows)."""
    width, height = size
    rng = hashlib.sha256(f"{seed}:{width}x{height}".encode()).digest()
    base = Image.radial_gradient("L").resize(size)
    noise = Image.frombytes("L", size, (rng * (width * height // len(rng) + 1))[: width * height])
    return Image.merge(
        "RGBA", (base, noise, base.rotate(90).resize(size), Image.new("L", size, 255))
    )


def reference_files(folder: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = folder / f"reference-{i + 1}.png"
        picture((96 + 32 * i, 64), seed=100 + i).convert("RGB").save(path)
        paths.append(path)
    return paths


def settings_json(case: Case) -> dict[str, Any]:
    """The saved settings every caller starts from (each caller is also given grow and partial
    previews explicitly: a widget, an argument, a flag)."""
    return {"partial_images": case.partials, "grow_px": case.grow}


# --- what must be equal -------------------------------------------------------------------------


def compared(record: dict[str, Any]) -> dict[str, Any]:
    """The parts of a stand-in record that are the request: endpoint, fields, files."""
    return {
        "endpoint": record["endpoint"],
        "params": dict(sorted(record["params"].items())),
        "parts": record.get("parts", []),
        "images": [
            {k: v for k, v in image.items() if k != "bytes"} for image in record.get("images", [])
        ],
        "mask": (
            {k: v for k, v in record["mask"].items() if k != "bytes"}
            if record.get("mask")
            else None
        ),
    }


# --- the CLI ------------------------------------------------------------------------------------


def cli_argv(case: Case, image: Path, refs: list[Path], out: Path) -> list[str]:
    common = [
        "--prompt", case.prompt, "--model", case.model, "--quality", case.quality,
        "--resolution", case.resolution, "-n", str(case.n), "--partials", str(case.partials),
    ]  # fmt: skip
    if case.mode == "generate":
        width, height = case.canvas
        return ["generate", *common, "--aspect", f"{width}:{height}", "-o", str(out)]
    argv = ["edit", "--image", str(image), *common]
    argv += [
        "--padding",
        str(case.padding),
        "--feather",
        str(case.feather),
        "--grow",
        str(case.grow),
    ]
    if case.rect is not None:
        argv += ["--rect", ",".join(map(str, case.rect))]
    for ref in refs:
        argv += ["--reference", str(ref)]
    return [*argv, "-o", str(out)]


# --- Krita's form path (form_values → form_job → jobs), loaded as install.py lays it out --------


def krita_package(folder: Path) -> str:
    """``krita_plugin/*`` + ``core/`` as one package (install.py's layout), importable without
    Krita: the package's ``__init__`` (which registers with Krita) is not run."""
    name = "gpt_image_request_paths"
    if name in sys.modules:
        return name
    package = folder / name
    package.mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "krita_plugin").glob("*.py"):
        if path.name != "__init__.py":
            (package / path.name).symlink_to(path)
    (package / "core").symlink_to(ROOT / "core")
    module = types.ModuleType(name)
    module.__path__ = [str(package)]  # a namespace-like package: its submodules import normally
    sys.modules[name] = module
    return name


def krita_request(case: Case, folder: Path, refs: list[Path]) -> None:
    """What the docker's Generate does with the form's values, minus the widgets and Krita's
    pixels: ``settings_for`` → ``job_spec`` → ``read_job`` → ``finish_prepare`` → ``run_job``."""
    name = krita_package(folder)
    form_values = importlib.import_module(f"{name}.form_values")
    form_job = importlib.import_module(f"{name}.form_job")
    jobs = importlib.import_module(f"{name}.core.jobs")
    geometry = importlib.import_module(f"{name}.core.geometry")
    selection_mod = importlib.import_module(f"{name}.core.selection")
    mode = (
        "generate" if case.mode == "generate" else ("edit_selection" if case.rect else "edit_image")
    )
    values = form_values.FormValues(
        prompt=case.prompt,
        mode=mode,
        model=case.model,
        quality=case.quality,
        resolution=case.resolution,
        n=case.n,
        padding_px=case.padding,
        grow_px=case.grow,
        feather_px=case.feather,
        partial_images=case.partials,
    )
    settings = form_job.settings_for(values)
    references = tuple(jobs.reference_from_bytes(p.name, p.read_bytes()) for p in refs)
    spec = form_job.job_spec(values, settings, references, "request-equality")
    pixels = picture(case.canvas)
    selection = None
    if case.rect is not None:
        selection = selection_mod.SelectionMask.from_rect(geometry.Bounds(*case.rect))
    read = jobs.read_job(
        spec,
        geometry.Extent(*case.canvas),
        selection,
        lambda box: pixels.crop(box.box),
        settings,
    )
    jobs.run_job(jobs.finish_prepare(read), settings)


# --- GIMP's procedure path (arguments → job_spec → jobs) -----------------------------------------


def gimp_request(case: Case, refs: list[Path]) -> None:
    """What Edit…/Generate… do with their argument values, minus libgimp: the values checked by
    ``options_from_values``, ``job_spec``, core's mode choice with the layer's box (a layer the
    size of the image, as a fresh GIMP image has), ``prepare_job``, ``run_job``."""
    if str(ROOT / "gimp_plugin") not in sys.path:
        sys.path.insert(0, str(ROOT / "gimp_plugin"))
    from gpt_image_gimp import arguments

    from core import jobs
    from core import settings as core_settings
    from core.geometry import Bounds, Extent
    from core.pipeline import Mode
    from core.selection import SelectionMask

    values = {
        "prompt": case.prompt,
        "model": case.model,
        "quality": case.quality,
        "resolution": case.resolution,
        "variants": case.n,
        "padding": case.padding,
        "feather": case.feather,
        "grow": case.grow,
        "partials": case.partials,
        "references": ";".join(str(p) for p in refs),
    }
    options = arguments.options_from_values(values)
    settings = core_settings.load_settings()
    references = tuple(jobs.reference_from_bytes(os.path.basename(p), p.read_bytes()) for p in refs)
    requested = jobs.EDIT if case.mode == "edit" else Mode.GENERATE.value
    spec = arguments.job_spec(requested, options, references, settings, "request-equality")
    pixels = picture(case.canvas)
    selection = SelectionMask.from_rect(Bounds(*case.rect)) if case.rect is not None else None
    canvas = Extent(*case.canvas)
    prepared = jobs.prepare_job(
        spec,
        canvas,
        selection,
        lambda box: pixels.crop(box.box),
        settings,
        layer_bounds=Bounds.of_extent(canvas) if case.mode == "edit" else None,
    )
    jobs.run_job(prepared, settings)
