"""Benchmark: canvas bytes → upload files → result → host layer bytes, against the naive way.

    python tests/bench_pipeline.py [--json] [--sizes 2048,4096,8192]

Each case runs in its own process so its peak memory is its own. ``peak_mem_mb`` is the peak
resident memory above what the process held once the canvas bytes existed (Linux VmHWM, reset
through /proc/self/clear_refs before the measured work). The naive way PNG-encodes the whole
canvas at Pillow's default level, decodes it and blends it whole, as plug-ins without a
crop pipeline do.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw, ImageOps  # noqa: E402

from core.geometry import Bounds, Extent  # noqa: E402
from core.pipeline import Mode, build_layer, build_upload, plan_job  # noqa: E402
from core.pixels import PixelFormat, from_host, mask_to_host, to_host  # noqa: E402
from core.selection import SelectionMask  # noqa: E402

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
    }


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--sizes", default="2048,4096,8192", help="canvas edges to run")
    parser.add_argument("--full", default="4096", help="edges for the full-canvas edit case")
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
    summary = targets(rows)
    if args.json:
        print(json.dumps({"rows": rows, "targets": summary}, indent=1))
    else:
        for row in rows:
            print(
                f"{row['case']:<32} prepare {row['prepare_ms']:>7} ms  apply {row['apply_ms']:>7} ms  "
                f"upload {row['upload_bytes'] / 1e6:6.2f} MB  peak +{row['peak_mem_mb']:>6} MB  |  "
                f"naive {row['naive_ms']:>8} ms, {row['naive_upload_bytes'] / 1e6:6.2f} MB"
            )
        for name, result in summary.items():
            print(f"target {name}: {result}")
    return 0


def targets(rows: list[dict[str, object]]) -> dict[str, object]:
    """The issue's targets, checked on the rows that exist."""
    out: dict[str, object] = {}
    for row in rows:
        if row["case"] == "4096x4096 ellipse 1500x1000":
            ratio = (row["prepare_ms"] + row["apply_ms"]) / row["naive_ms"]
            out["4096_time_ratio"] = {"value": round(ratio, 3), "limit": 0.25, "met": ratio <= 0.25}
        if row["case"] == "8192x8192 ellipse 1500x1000":
            ratio = row["peak_mem_mb"] / row["canvas_mb"]
            out["8192_memory_ratio"] = {"value": round(ratio, 3), "limit": 3.0, "met": ratio < 3.0}
    return out


if __name__ == "__main__":
    raise SystemExit(main())
