"""Benchmark: canvas bytes → upload files → result → host layer bytes, against the naive way;
then what a user waits for around it: the CLI's own overhead and memory, the Krita start-up.

    python tests/bench_pipeline.py [--json] [--sizes 2048,4096,8192] [--cli-sizes 4096,8192]

Each case runs in its own process so its peak memory is its own. ``peak_mem_mb`` is the peak
resident memory above what the process held once the canvas bytes existed (Linux VmHWM, reset
through /proc/self/clear_refs before the measured work). The naive way PNG-encodes the whole
canvas at Pillow's default level, decodes it and blends it whole, as plug-ins without a
crop pipeline do.

Per case also ``run_job_ms``: ``prepare_job`` + ``run_job`` (history included, colour match
included) + the host bytes of the layer and mask, with a client that hands over a ready result
(the API's time is not ours); and ``floor_ms``, what no pipeline can skip, measured in the same
process: one level-1 PNG encode of the API-size image, one decode of the result, one blend.

Rows ``cli_edit_<N>``: ``python -m core edit`` on an N² PNG with a 1500×1000 rect against the
stand-in (in this process), after one uncounted warm-up run (byte code written, as an installed
CLI has it); ``wall_ms`` is the whole command, ``api_ms`` the stand-in's own time
(request received → answer written), ``overhead_ms`` the difference, ``peak_rss_mb`` the
command's peak resident memory (``wait4``), ``canvas_mb`` the canvas's RGBA bytes, ``naive_ms``
the naive way on the same canvas; ``imports_ms`` (``sdk_import_ms``, ``cli_import_ms``) what
starting Python and importing the SDK and the CLI take in a fresh interpreter: GIL-bound work
that precedes every request. ``cli_edit_<N>_full``: the same without a rect (whole image).
Row ``plugin_import``: the Krita package's start-up import (``tests/plugin_import.py``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw, ImageOps  # noqa: E402

from core.client import ImageResult  # noqa: E402
from core.geometry import Bounds, Extent  # noqa: E402
from core.history import History  # noqa: E402
from core.jobs import JobSpec, prepare_job, run_job  # noqa: E402
from core.pipeline import Mode, build_layer, build_upload, plan_job  # noqa: E402
from core.pixels import PixelFormat, from_host, mask_to_host, to_host  # noqa: E402
from core.selection import SelectionMask  # noqa: E402
from core.settings import Settings  # noqa: E402

SELECTION = Extent(1500, 1000)


def make_canvas(size: int) -> bytes:
    """A photo-like BGRA canvas (smooth shapes plus grain), as Krita's pixelData gives it."""
    tile = Image.radial_gradient("L").resize((512, 512))
    base = Image.merge("RGB", (tile, ImageOps.mirror(tile), ImageOps.flip(tile)))
    grain = Image.effect_noise((512, 512), 12).convert("RGB")
    tile_rgba = Image.blend(base, grain, 0.15).convert("RGBA")
    canvas = Image.new("RGBA", (size, size))
    for y in range(0, size, 512):
        for x in range(0, size, 512):
            canvas.paste(tile_rgba, (x, y))
    data = canvas.tobytes("raw", "BGRA")
    del canvas
    return data


def selection_bytes(size: int) -> tuple[bytes, Bounds]:
    bounds = Bounds(size // 2 - 751, size // 2 - 487, SELECTION.width, SELECTION.height)
    mask = Image.new("L", SELECTION, 0)
    ImageDraw.Draw(mask).ellipse((0, 0, SELECTION.width - 1, SELECTION.height - 1), fill=255)
    return mask.tobytes(), bounds


def read_rect(canvas: bytes, size: int, rect: Bounds) -> bytes:
    """What a host's pixelData(x, y, w, h) hands over: the rect's bytes only."""
    view = Image.frombuffer("RGBA", (size, size), canvas, "raw", "RGBA", 0, 1)
    return view.crop(rect.box).tobytes()


def fake_result(upload_png: bytes) -> bytes:
    """A result as the API returns it: a changed picture of the upload's size, PNG-encoded."""
    with Image.open(io.BytesIO(upload_png)) as sent:
        changed = ImageOps.invert(sent.convert("RGB"))
    buffer = io.BytesIO()
    changed.save(buffer, "PNG")
    return buffer.getvalue()


def reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def memory_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def run_case(size: int, whole: bool) -> dict[str, object]:
    canvas = make_canvas(size)
    extent = Extent(size, size)
    sel_data, sel_bounds = selection_bytes(size)
    fmt = PixelFormat.BGRA8

    baseline = memory_kb("VmRSS")
    reset_peak()
    started = time.perf_counter()
    selection = None if whole else SelectionMask.from_bytes(sel_data, sel_bounds)
    plan = plan_job(Mode.EDIT_IMAGE if whole else Mode.EDIT_SELECTION, extent, selection)
    source = from_host(read_rect(canvas, size, plan.source_bounds), plan.source_bounds.extent, fmt)
    upload = build_upload(plan, source)
    prepared = time.perf_counter()
    upload_bytes = len(upload.image_png) + len(upload.mask_png or b"")

    result_png = fake_result(upload.image_png)  # the API's part: not ours to time
    applying = time.perf_counter()
    with Image.open(io.BytesIO(result_png)) as result:
        patch = build_layer(plan, result)
    layer_bytes = to_host(patch.image, fmt)
    mask_bytes = mask_to_host(patch.mask)
    applied = time.perf_counter()
    peak = memory_kb("VmHWM")
    assert len(layer_bytes) == patch.bounds.width * patch.bounds.height * 4 and mask_bytes

    run_job_ms, floor_ms = job_path(canvas, size, whole, fmt)
    naive_ms, naive_upload = naive(canvas, size)
    return {
        "case": f"{size}x{size} {'full canvas' if whole else 'ellipse 1500x1000'}",
        "canvas": f"{size}x{size}",
        "selection": None if whole else list(sel_bounds),
        "crop": list(plan.crop),
        "api_size": str(plan.api_size),
        "prepare_ms": round((prepared - started) * 1000, 1),
        "apply_ms": round((applied - applying) * 1000, 1),
        "upload_bytes": upload_bytes,
        "peak_mem_mb": round(max(0, peak - baseline) / 1024, 1),
        "canvas_mb": round(len(canvas) / 2**20, 1),
        "naive_ms": round(naive_ms, 1),
        "naive_upload_bytes": naive_upload,
        "run_job_ms": round(run_job_ms, 1),
        "floor_ms": round(floor_ms, 1),
    }


class ReadyClient:
    """Stands in for ``ImageClient`` in the timing: the result is already there, handed over
    the way the real client hands it (``on_image`` first, then the ``ImageResult``)."""

    def __init__(self, result_png: bytes, size: Extent) -> None:
        self.result_png, self.size = result_png, size

    def run(
        self, request, *, on_partial=None, on_image=None, cancel=None, on_sent=None
    ) -> ImageResult:
        if on_sent is not None:
            on_sent()
        if on_image is not None:
            on_image(0, self.result_png)
        usage = {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}
        return ImageResult([self.result_png], "req_bench", usage, str(self.size), "png", 0.0)


def job_path(canvas: bytes, size: int, whole: bool, fmt: PixelFormat) -> tuple[float, float]:
    """(run_job_ms, floor_ms), each the median of three runs."""
    extent = Extent(size, size)
    sel_data, sel_bounds = selection_bytes(size)
    mode = Mode.EDIT_IMAGE if whole else Mode.EDIT_SELECTION
    settings = Settings()
    spec = JobSpec.from_settings(settings, mode, "bench")

    def read(bounds: Bounds):
        return from_host(read_rect(canvas, size, bounds), bounds.extent, fmt)

    selection = None if whole else SelectionMask.from_bytes(sel_data, sel_bounds)
    plan = plan_job(mode, extent, selection)
    upload = build_upload(plan, read(plan.source_bounds))
    client = ReadyClient(fake_result(upload.image_png), plan.api_size)
    with Image.open(io.BytesIO(upload.image_png)) as sent:
        sent.load()
    jobs, floors = [], []
    with tempfile.TemporaryDirectory(prefix="bench-history-") as folder:
        history = History(Path(folder))
        for _ in range(3):
            started = time.perf_counter()
            selection = None if whole else SelectionMask.from_bytes(sel_data, sel_bounds)
            prepared = prepare_job(spec, extent, selection, read, settings)
            result = run_job(prepared, settings, history=history, client=client)
            for patch in result.patches:
                assert to_host(patch.image, fmt) and mask_to_host(patch.mask)
            jobs.append(time.perf_counter() - started)
            del prepared, result
            floors.append(floor(sent, client.result_png, plan))
    return statistics.median(jobs) * 1000, statistics.median(floors) * 1000


def floor(sent: Image.Image, result_png: bytes, plan) -> float:
    """One level-1 PNG encode of the API-size image, one decode of the result, one blend."""
    started = time.perf_counter()
    buffer = io.BytesIO()
    sent.save(buffer, "PNG", compress_level=1)
    with Image.open(io.BytesIO(result_png)) as result:
        decoded = result.convert("RGBA")
    area = tuple(plan.source_bounds.extent)
    over = decoded if decoded.size == area else Image.new("RGBA", area)  # the resize isn't floor
    Image.composite(over, Image.new("RGBA", area), Image.new("L", area, 128))
    return time.perf_counter() - started


def naive(canvas: bytes, size: int) -> tuple[float, int]:
    """The whole canvas through PNG and back, blended whole."""
    started = time.perf_counter()
    image = Image.frombytes("RGBA", (size, size), canvas, "raw", "BGRA")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    upload = buffer.getvalue()
    with Image.open(io.BytesIO(upload)) as decoded:
        result = decoded.convert("RGBA")
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).ellipse((size // 4, size // 4, size // 2, size // 2), fill=255)
    Image.composite(result, image, mask).tobytes("raw", "BGRA")
    return (time.perf_counter() - started) * 1000, len(upload)


def cli_case(size: int, whole: bool, runs: int, with_naive: bool) -> dict[str, object]:
    """``python -m core edit`` on a size² PNG (1500×1000 rect, or the whole image)."""
    from tests.standin import StandIn
    from tests.standin.helpers import KEY

    name = f"cli_edit_{size}" + ("_full" if whole else "")
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp, StandIn() as standin:
        folder = Path(tmp)
        canvas = make_canvas(size)
        image = Image.frombuffer("RGBA", (size, size), canvas, "raw", "BGRA", 0, 1)
        image.convert("RGB").save(folder / "in.png", compress_level=1)  # a photo: no alpha
        del image
        # a median, as the overhead it is set against is (one run varied by 15% here)
        naive_ms = (
            statistics.median(naive(canvas, size)[0] for _ in range(3)) if with_naive else None
        )
        del canvas
        skip = ("OPENAI_", "GPT_IMAGE_", "PYTHONDONTWRITEBYTECODE")
        env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
        env.update(
            GPT_IMAGE_CONFIG_DIR=str(folder / "config"),
            GPT_IMAGE_DATA_DIR=str(folder / "data"),
            OPENAI_API_KEY=KEY,
            OPENAI_BASE_URL=standin.base_url,
            # as an installed CLI runs: from byte code (kept here, not in the checkout)
            PYTHONPYCACHEPREFIX=str(folder / "pycache"),
        )
        rect = selection_bytes(size)[1].intersect(Bounds(0, 0, size, size))  # small canvases
        command = [sys.executable, "-m", "core", "edit", "--image", str(folder / "in.png")]
        command += [] if whole else [f"--rect={','.join(map(str, rect))}"]
        command += ["--prompt", "bench", "--quality", "low", "-o", str(folder / "out.png")]
        walls, apis, peaks = [], [], []
        timed_command(command, env, folder)  # warm-up, not counted: writes the byte code
        imports = import_floor(env, runs) if naive_ms is not None else None
        for _ in range(runs):
            standin.reset()
            wall, peak = timed_command(command, env, folder)
            answered = [r for r in standin.requests if r["endpoint"] == "edits"]
            walls.append(wall)
            apis.append(sum(r["answered"] - r["time"] for r in answered) * 1000)
            peaks.append(peak)
    overheads = [w - a for w, a in zip(walls, apis, strict=True)]
    row: dict[str, object] = {
        "case": name,
        "canvas": f"{size}x{size}",
        "rect": None if whole else list(rect),
        "runs": runs,
        "wall_ms": round(statistics.median(walls), 1),
        "api_ms": round(statistics.median(apis), 1),
        "overhead_ms": round(statistics.median(overheads), 1),
        "peak_rss_mb": round(statistics.median(peaks), 1),
        "canvas_mb": round(size * size * 4 / 2**20, 1),
    }
    if naive_ms is not None:
        row["naive_ms"] = round(naive_ms, 1)
    if imports is not None:
        row.update(imports)
    return row


#: What any ``edit`` must import before its request can go, timed in one fresh interpreter.
IMPORTS = """
import json, time
started = time.perf_counter()
from core.sdk_import import load_openai
load_openai()
sdk = time.perf_counter()
import core.cli, core.cli.jobs, core.jobs
print(json.dumps([(sdk - started) * 1000, (time.perf_counter() - sdk) * 1000]))
"""


def import_floor(env: dict[str, str], runs: int) -> dict[str, float]:
    """The part of ``overhead_ms`` no pipeline can remove: starting Python and importing the SDK
    and the CLI, which hold the GIL throughout (so a second core cannot hide them); medians of
    fresh interpreters. ``imports_ms`` is the whole command, ``sdk_import_ms`` the SDK alone."""
    walls, sdks, clis = [], [], []
    for _ in range(max(runs, 3)):
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", IMPORTS],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
        )
        walls.append((time.perf_counter() - started) * 1000)
        sdk, cli = json.loads(proc.stdout)
        sdks.append(sdk)
        clis.append(cli)
    return {
        "imports_ms": round(statistics.median(walls), 1),
        "sdk_import_ms": round(statistics.median(sdks), 1),
        "cli_import_ms": round(statistics.median(clis), 1),
    }


#: Runs the command from a small fresh interpreter: Linux carries a parent's peak RSS into a
#: forked child, so the bench process (which made the canvas) must not be the one that forks.
LAUNCHER = """
import json, os, subprocess, sys, time
command, out, err = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(out, "wb") as so, open(err, "wb") as se:
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=so, stderr=se)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - started) * 1000
print(json.dumps([os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss / 1024]))
"""


def timed_command(command: list[str], env: dict[str, str], folder: Path) -> tuple[float, float]:
    """(wall ms, peak RSS MB) of one command, measured by ``wait4``; fails loudly if it does."""
    out, err = folder / "stdout", folder / "stderr"
    launcher = [sys.executable, "-c", LAUNCHER, json.dumps(command), str(out), str(err)]
    proc = subprocess.run(launcher, capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    code, wall, peak = json.loads(proc.stdout)
    if code != 0:
        raise RuntimeError(f"{command} failed: {err.read_text()}")
    return wall, peak  # ru_maxrss is in KiB on Linux


def plugin_row(runs: int) -> dict[str, object]:
    from tests.plugin_import import median_import_ms

    try:
        return {"case": "plugin_import", "runs": runs, **median_import_ms(runs)}
    except RuntimeError as exc:  # no Python with Qt on this machine
        return {"case": "plugin_import", "import_ms": None, "note": str(exc)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sizes", default="2048,4096,8192", help="canvas edges to run")
    parser.add_argument("--full", default="4096", help="edges for the full-canvas edit case")
    parser.add_argument(
        "--cli-sizes", default="4096,8192", help="image edges for the cli_edit rows ('' = none)"
    )
    parser.add_argument("--cli-runs", type=int, default=3, help="runs per cli_edit row (median)")
    parser.add_argument(
        "--plugin-runs", type=int, default=7, help="fresh interpreters for plugin_import (0 = none)"
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)  # "SIZE:whole|ellipse", in a child
    args = parser.parse_args(argv)
    if args.case:
        size, kind = args.case.split(":")
        print(json.dumps(run_case(int(size), kind == "whole")))
        return 0
    cases = [(int(s), "ellipse") for s in args.sizes.split(",") if s]
    cases += [(int(s), "whole") for s in args.full.split(",") if s]
    rows = []
    for size, kind in cases:
        child = subprocess.run(
            [sys.executable, __file__, "--case", f"{size}:{kind}"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        rows.append(json.loads(child.stdout))
    cli_sizes = [int(s) for s in args.cli_sizes.split(",") if s]
    for size in cli_sizes:
        # the first size is the overhead row (several runs, naive way alongside); larger ones
        # are about memory: one run each, with a rect and of the whole image
        first = size == cli_sizes[0]
        rows.append(cli_case(size, False, args.cli_runs if first else 1, with_naive=first))
        if not first or len(cli_sizes) == 1:
            rows.append(cli_case(size, True, 1, with_naive=False))
    if args.plugin_runs:
        rows.append(plugin_row(args.plugin_runs))
    summary = targets(rows)
    if args.json:
        print(json.dumps({"rows": rows, "targets": summary}, indent=1))
    else:
        for row in rows:
            if "prepare_ms" not in row:
                fields = {k: v for k, v in row.items() if k != "case"}
                print(f"{row['case']:<32} {fields}")
                continue
            print(
                f"{row['case']:<32} prepare {row['prepare_ms']:>7} ms  apply {row['apply_ms']:>7} ms  "
                f"upload {row['upload_bytes'] / 1e6:6.2f} MB  peak +{row['peak_mem_mb']:>6} MB  |  "
                f"naive {row['naive_ms']:>8} ms, {row['naive_upload_bytes'] / 1e6:6.2f} MB  |  "
                f"run_job {row['run_job_ms']:>7} ms, floor {row['floor_ms']:>7} ms"
            )
        for name, result in summary.items():
            print(f"target {name}: {result}")
    return 0


def limit(value: float, most: float) -> dict[str, object]:
    return {"value": round(value, 3), "limit": most, "met": value <= most}


def targets(rows: list[dict[str, object]]) -> dict[str, object]:
    """The issues' targets, checked on the rows that exist."""
    out: dict[str, object] = {}
    for row in rows:
        case = str(row["case"])
        if "run_job_ms" in row and row["floor_ms"]:
            out[f"run_job_ratio {case}"] = limit(row["run_job_ms"] / row["floor_ms"], 1.5)
        if case.startswith("cli_edit_") and row.get("naive_ms"):
            out[f"{case}_overhead_ratio"] = limit(row["overhead_ms"] / row["naive_ms"], 0.35)
        if case in ("cli_edit_8192", "cli_edit_8192_full"):
            most = 3.0 if case.endswith("_full") else 2.0
            out[f"{case}_rss_ratio"] = limit(row["peak_rss_mb"] / row["canvas_mb"], most)
        if case == "plugin_import" and row.get("import_ms") is not None:
            out["plugin_import_ms"] = limit(row["import_ms"], 60)
        if row["case"] == "4096x4096 ellipse 1500x1000":
            ratio = (row["prepare_ms"] + row["apply_ms"]) / row["naive_ms"]
            out["4096_time_ratio"] = {"value": round(ratio, 3), "limit": 0.25, "met": ratio <= 0.25}
        if row["case"] == "8192x8192 ellipse 1500x1000":
            ratio = row["peak_mem_mb"] / row["canvas_mb"]
            out["8192_memory_ratio"] = {"value": round(ratio, 3), "limit": 3.0, "met": ratio < 3.0}
    return out


if __name__ == "__main__":
    raise SystemExit(main())
