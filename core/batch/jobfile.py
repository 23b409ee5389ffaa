"""Jobs in: a JSONL or CSV file (or the ``--images`` shorthand) → validated ``BatchJob``s.

Every line is checked before anything is sent, through the same functions a single job uses
(``check_spec``, ``plan_for``, ``estimate_for``), so a line that validates here is the job that
runs. Problems are collected per line (``LineError``) instead of stopping at the first one.

Relative paths in a job file are taken from the job file's folder (falling back to the current
folder when the file is not there); outputs always land inside the output folder.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from PIL import Image, UnidentifiedImageError

from ..client import InputImage
from ..errors import GptImageError, InputError
from ..geometry import Bounds, Extent
from ..jobs import JobSpec, check_spec, estimate_for, plan_for, reference_from_bytes
from ..options import OPTIONS, Option, option
from ..pipeline import Mode
from ..selection import SelectionMask
from ..settings import Settings
from ..sizing import parse_resolution

BLEND_NAMES = ("padding_px", "grow_px", "feather_px", "match_colour")


def _field_name(opt: Option) -> str:
    """A job file's name for an option: its CLI flag without dashes (``--format`` → ``format``;
    the list option plural: ``references``); options without a flag by their own name."""
    if opt.flag is None:
        return opt.name
    name = opt.flag.lstrip("-")
    return name + "s" if opt.kind is list and not name.endswith("s") else name


#: Field name (and each option's own name, as an alias) → option name, from ``core.options``.
OPTION_FIELDS: dict[str, str] = {
    **{opt.name: opt.name for opt in OPTIONS},
    **{_field_name(opt): opt.name for opt in OPTIONS},
}
INPUT_FIELDS = ("image", "selection", "rect", "prompt", "output")
KNOWN_FIELDS = (*INPUT_FIELDS, *dict.fromkeys(_field_name(opt) for opt in OPTIONS))
OUTPUT_SUFFIXES = {".png": ".png", ".jpg": ".jpg", ".jpeg": ".jpeg", ".webp": ".webp"}
FORMAT_SUFFIX = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}
#: Separator of several references in one CSV cell.
REFERENCE_SEPARATOR = ";"


@dataclass(frozen=True)
class JobLine:
    """One job as written: its line number in the file and its fields (strings or JSON values)."""

    line: int
    fields: dict[str, Any]


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class BatchJob:
    """A validated job: what to send, where its result goes, what it should cost."""

    line: int
    key: str  # identity across runs: same inputs and options → same key
    spec: JobSpec
    image: Path | None
    selection: Path | None
    rect: Bounds | None
    outputs: tuple[Path, ...]
    estimate_usd: float
    api_size: str
    recipe: dict[str, Any] = field(default_factory=dict)  # the resolved fields, for fetch

    @property
    def mode(self) -> Mode:
        return Mode(self.spec.mode)


# --- reading -----------------------------------------------------------------------------------


def read_job_file(path: Path) -> list[JobLine | LineError]:
    """The jobs of a ``.jsonl`` or ``.csv`` file (by suffix; other names are sniffed)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"No such job file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read the job file {path}: {exc}") from None
    suffix = Path(path).suffix.lower()
    is_csv = suffix == ".csv" or (suffix not in (".jsonl", ".json", ".ndjson") and _looks_csv(text))
    return _read_csv(text) if is_csv else _read_jsonl(text)


def _looks_csv(text: str) -> bool:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    return not first.lstrip().startswith("{")


def _read_jsonl(text: str) -> list[JobLine | LineError]:
    jobs: list[JobLine | LineError] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            value = json.loads(stripped)
        except ValueError as exc:
            jobs.append(LineError(number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(value, dict):
            jobs.append(LineError(number, "a job must be a JSON object"))
            continue
        jobs.append(JobLine(number, value))
    return jobs


def _read_csv(text: str) -> list[JobLine | LineError]:
    reader = csv.reader(io.StringIO(text))
    jobs: list[JobLine | LineError] = []
    header: list[str] | None = None
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in row]
                continue
            if len(row) > len(header):
                jobs.append(LineError(number, f"{len(row)} cells; the header names {len(header)}"))
                continue
            fields = {
                name: cell.strip() for name, cell in zip(header, row, strict=False) if cell.strip()
            }
            jobs.append(JobLine(number, fields))
    except csv.Error as exc:
        jobs.append(LineError(reader.line_num, f"not valid CSV ({exc})"))
    if header is None:
        raise InputError("The job file is empty: it needs a header row and one row per job.")
    return jobs


def lines_from_images(
    pattern: str, prompt: str | None, selections: Path | None
) -> list[JobLine | LineError]:
    """The ``--images GLOB --prompt P [--selections MASKDIR]`` shorthand as job lines.

    A mask in MASKDIR with the image's stem (any image suffix) is that image's selection; an
    image without one is edited whole.
    """
    if not prompt:
        raise InputError("--images needs --prompt (the same edit for every image).")
    paths = sorted(Path(p) for p in glob.glob(str(Path(pattern).expanduser())) if Path(p).is_file())
    if not paths:
        raise InputError(f"No image matches {pattern}.")
    masks: dict[str, Path] = {}
    if selections is not None:
        if not Path(selections).is_dir():
            raise InputError(f"--selections {selections} is not a folder.")
        for mask in sorted(Path(selections).iterdir()):
            if mask.is_file():
                masks.setdefault(mask.stem, mask)
    jobs: list[JobLine | LineError] = []
    for number, path in enumerate(paths, start=1):
        fields: dict[str, Any] = {"image": str(path.resolve()), "prompt": prompt}
        if path.stem in masks:
            fields["selection"] = str(masks[path.stem].resolve())
        jobs.append(JobLine(number, fields))
    return jobs


# --- validating --------------------------------------------------------------------------------


class _Refs:
    """Reference files read once however many lines name them."""

    def __init__(self) -> None:
        self._cache: dict[Path, InputImage] = {}

    def get(self, path: Path) -> InputImage:
        if path not in self._cache:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise InputError(f"cannot read reference {path}: {exc.strerror or exc}") from None
            self._cache[path] = reference_from_bytes(path.name, data)
        return self._cache[path]


@dataclass
class Validated:
    jobs: list[BatchJob]
    errors: list[LineError]

    @property
    def estimate_usd(self) -> float:
        return round(sum(job.estimate_usd for job in self.jobs), 4)


def validate_lines(
    lines: Sequence[JobLine | LineError],
    *,
    defaults: Mapping[str, Any],
    settings: Settings,
    out_dir: Path,
    base_dir: Path,
) -> Validated:
    """Every line checked and planned; outputs resolved inside ``out_dir`` and never shared."""
    refs = _Refs()
    jobs: list[BatchJob] = []
    errors: list[LineError] = []
    claimed: dict[Path, int] = {}
    for entry in lines:
        if isinstance(entry, LineError):
            errors.append(entry)
            continue
        try:
            job = build_job(entry, defaults, settings, out_dir, base_dir, refs)
        except GptImageError as error:
            errors.append(LineError(entry.line, _message(error)))
            continue
        clash = next((claimed[p] for p in job.outputs if p in claimed), None)
        if clash is not None:
            errors.append(
                LineError(entry.line, f"output {job.outputs[0].name} is also line {clash}'s")
            )
            continue
        claimed.update({path: entry.line for path in job.outputs})
        jobs.append(job)
    return Validated(jobs, errors)


def _message(error: GptImageError) -> str:
    text = str(error.message if hasattr(error, "message") else error)
    hint = getattr(error, "hint", None)
    return f"{text} ({hint})" if hint else text


def build_job(
    entry: JobLine,
    defaults: Mapping[str, Any],
    settings: Settings,
    out_dir: Path,
    base_dir: Path,
    refs: _Refs | None = None,
) -> BatchJob:
    """One line → ``BatchJob``; ``InputError`` says what is wrong with it."""
    refs = refs or _Refs()
    unknown = sorted(set(entry.fields) - set(INPUT_FIELDS) - set(OPTION_FIELDS))
    if unknown:
        raise InputError(
            f"unknown field {', '.join(repr(u) for u in unknown)}; known: {', '.join(KNOWN_FIELDS)}"
        )
    given = {OPTION_FIELDS.get(k, k): v for k, v in entry.fields.items()}
    fields = {**{k: v for k, v in defaults.items() if v not in (None, "", [], ())}, **given}
    prompt = _text(fields.get("prompt"))
    if not prompt:
        raise InputError("no prompt")
    image = _path(fields.get("image"), base_dir, "image") if fields.get("image") else None
    selection = (
        _path(fields.get("selection"), base_dir, "selection") if fields.get("selection") else None
    )
    rect = _rect(fields["rect"]) if fields.get("rect") not in (None, "") else None
    if image is None and (selection is not None or rect is not None):
        raise InputError("a selection or rect needs an image")
    if selection is not None and rect is not None:
        raise InputError("give a selection or a rect, not both")
    if image is not None and fields.get("aspect"):
        raise InputError("aspect is for text-to-image; an edit keeps the image's shape")
    references = tuple(
        refs.get(_path(p, base_dir, "reference")) for p in _list(fields.get("references"))
    )
    canvas, mask = (None, None)
    if image is not None:
        canvas = _image_size(image)
        mask = _selection(selection, rect, canvas)
    mode = (
        Mode.GENERATE
        if image is None
        else Mode.EDIT_SELECTION
        if mask is not None
        else Mode.EDIT_IMAGE
    )
    spec = check_spec(_spec(fields, settings, mode, prompt, references, image), settings)
    plan = plan_for(spec, canvas, mask, settings)
    estimate = estimate_for(spec, plan)
    outputs = _outputs(fields.get("output"), image, entry.line, spec, out_dir)
    recipe = {
        "line": entry.line,
        "prompt": prompt,
        "image": str(image) if image else None,
        "selection": str(selection) if selection else None,
        "rect": list(rect) if rect is not None else None,
        "references": [
            str(_path(p, base_dir, "reference")) for p in _list(fields.get("references"))
        ],
        "output": _text(fields.get("output")) or None,
        **resolved_options(spec),
    }
    return BatchJob(
        line=entry.line,
        key=_job_key(recipe, image, selection, outputs),
        spec=spec,
        image=image,
        selection=selection,
        rect=rect,
        outputs=outputs,
        estimate_usd=estimate.usd,
        api_size=str(plan.api_size),
        recipe=recipe,
    )


def resolved_options(spec: JobSpec) -> dict[str, Any]:
    """The options a spec runs with, by option name (settings' defaults filled in)."""
    values: dict[str, Any] = {}
    for opt in OPTIONS:
        if opt.kind is list:
            continue
        holder = spec.blend if opt.name in BLEND_NAMES else spec
        value = getattr(holder, opt.name, None)
        if value is not None:
            values[opt.name] = value
    return values


def recipe_line(recipe: Mapping[str, Any]) -> JobLine:
    """A job line again from a stored recipe (``batch fetch`` rebuilds jobs from it)."""
    fields = {k: v for k, v in recipe.items() if k != "line" and v not in (None, [], "")}
    return JobLine(int(recipe.get("line") or 0), fields)


def _spec(
    fields: Mapping[str, Any],
    settings: Settings,
    mode: Mode,
    prompt: str,
    references: tuple[InputImage, ...],
    image: Path | None,
) -> JobSpec:
    """The spec from the line's fields (by option name), typed and range-checked by
    ``core.options``; what a line leaves out comes from settings, as for one job."""
    values: dict[str, Any] = {}
    for opt in OPTIONS:
        value = fields.get(opt.name)
        if opt.kind is list or value in (None, ""):
            continue
        values[opt.name] = option(opt.name).check(_typed(opt, value))
    if values.get("resolution"):
        parse_resolution(values["resolution"])
    blend = replace(settings.blend(), **{k: values.pop(k) for k in BLEND_NAMES if k in values})
    values.setdefault("partial_images", option("partial_images").headless_default)
    return JobSpec.from_settings(
        settings,
        mode,
        prompt,
        references=references,
        blend=blend,
        source_document=image.name if image else "",
        **values,
    )


def _typed(opt: Option, value: Any) -> Any:
    if opt.kind is int:
        return _integer(opt.name, value)
    if opt.kind is bool:
        if isinstance(value, bool):
            return value
        text = _text(value).lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        raise InputError(f"{opt.name} must be true or false, not {value!r}")
    return _text(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise InputError(f"expected text, not {json.dumps(value)}")
    return str(value).strip()


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise InputError(f"{name} must be a whole number, not {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise InputError(f"{name} must be a whole number, not {value!r}") from None


def _list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return [_text(v) for v in value if _text(v)]
    return [part.strip() for part in _text(value).split(REFERENCE_SEPARATOR) if part.strip()]


def _path(value: Any, base_dir: Path, what: str) -> Path:
    text = _text(value)
    path = Path(text).expanduser()
    if not path.is_absolute():
        beside = base_dir / path
        path = beside if beside.exists() or not path.exists() else path
    if not path.is_file():
        raise InputError(f"no such {what} file: {text}")
    return path.resolve()


def _rect(value: Any) -> Bounds:
    from ..cli.options import parse_rect

    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    return parse_rect(_text(value))


def _image_size(path: Path) -> Extent:
    """The size the image shows at (EXIF orientation applied), from its header alone."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            if image.getexif().get(_ORIENTATION) in (5, 6, 7, 8):  # turned a quarter
                width, height = height, width
            return Extent(width, height)
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(f"cannot read {path.name} as an image: {exc}") from None


_ORIENTATION = 0x0112


def _selection(selection: Path | None, rect: Bounds | None, canvas: Extent) -> SelectionMask | None:
    """The selection exactly as ``edit`` reads it (same checks against the canvas)."""
    from ..cli.options import read_selection

    text = ",".join(str(v) for v in rect) if rect is not None else None
    return read_selection(SimpleNamespace(rect=text, selection=selection), canvas)


def _outputs(
    value: Any, image: Path | None, line: int, spec: JobSpec, out_dir: Path
) -> tuple[Path, ...]:
    """The output file(s) inside ``out_dir``: named, else the image's name, else line-N."""
    from ..cli.jobs import output_paths

    name = _text(value)
    if not name:
        if image is not None:
            suffix = OUTPUT_SUFFIXES.get(image.suffix.lower(), ".png")
            name = image.stem + suffix
        else:
            name = f"line-{line}{FORMAT_SUFFIX.get(spec.output_format, '.png')}"
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise InputError(f"output {name!r} must be a file name inside the output folder")
    return tuple(output_paths(out_dir.resolve() / relative, spec.n, spec.output_format))


def _job_key(
    recipe: Mapping[str, Any], image: Path | None, selection: Path | None, outputs: Iterable[Path]
) -> str:
    """Same fields, same input files (by size and time) and same outputs → the same key."""
    stamp = {
        "recipe": {k: v for k, v in recipe.items() if k != "line"},
        "files": [_stat(p) for p in (image, selection) if p is not None],
        "references": [_stat(Path(p)) for p in recipe.get("references") or []],
        "outputs": [str(p) for p in outputs],
    }
    text = json.dumps(stamp, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _stat(path: Path) -> list[Any]:
    try:
        info = path.stat()
    except OSError:
        return [str(path)]
    return [str(path), info.st_size, info.st_mtime_ns]
