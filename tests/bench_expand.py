"""Benchmark: an expand from planning to the composited new canvas, without the network.

    python tests/bench_expand.py [--json]

For each case: plan (crop, API size, mask), read + upload files, map a result back (colour
match, inverse resize, opaque fill) and composite the full new canvas, each timed; plus the
API size and scale chosen. The "result" is the uploaded image itself, as a model would return
one at the API size.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from core.expand import Borders, expand_canvas, expanded_reader, plan_expand  # noqa: E402
from core.geometry import Extent  # noqa: E402
from core.pipeline import build_layer, build_upload, composite  # noqa: E402

CASES = (
    ("1024² → 16:9", Extent(1024, 1024), Borders(398, 0, 398, 0)),
    ("1920x1080 + 200 right", Extent(1920, 1080), Borders(0, 0, 200, 0)),
    ("4000x3000 + 1000 right", Extent(4000, 3000), Borders(0, 0, 1000, 0)),
    ("6000x4000 ×1.5 all sides", Extent(6000, 4000), Borders(1500, 1000, 1500, 1000)),
)


def picture(size: Extent) -> Image.Image:
    tile = Image.radial_gradient("L").resize((512, 512))
    rgb = Image.merge("RGB", (tile, tile.rotate(90), tile.rotate(180))).convert("RGBA")
    out = Image.new("RGBA", size)
    for y in range(0, size.height, 512):
        for x in range(0, size.width, 512):
            out.paste(rgb, (x, y))
    return out


def run_case(label: str, image: Extent, borders: Borders) -> dict[str, object]:
    original = picture(image)
    t0 = time.perf_counter()
    plan = plan_expand(image, borders)
    t1 = time.perf_counter()
    assert plan.expansion is not None
    read = expanded_reader(lambda box: original.crop(box.box), plan.expansion)
    upload = build_upload(plan, read(plan.source_bounds))
    t2 = time.perf_counter()
    sent = Image.open(io.BytesIO(upload.image_png))
    sent.load()
    patch = build_layer(plan, sent, sent)
    t3 = time.perf_counter()
    composite(expand_canvas(original, plan.expansion), patch)
    t4 = time.perf_counter()
    return {
        "case": label,
        "canvas": str(plan.canvas),
        "crop": str(plan.crop.extent),
        "api_size": str(plan.api_size),
        "scale": round(plan.scale, 3),
        "plan_s": round(t1 - t0, 3),
        "upload_s": round(t2 - t1, 3),
        "layer_s": round(t3 - t2, 3),
        "composite_s": round(t4 - t3, 3),
        "upload_mb": round((len(upload.image_png) + len(upload.mask_png or b"")) / 1e6, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = [run_case(*case) for case in CASES]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(
            f"{row['case']:<26} {row['canvas']:>11} crop {row['crop']:>10} → {row['api_size']:>9}"
            f" ×{row['scale']:<5} plan {row['plan_s']:.3f}s upload {row['upload_s']:.3f}s "
            f"layer {row['layer_s']:.3f}s composite {row['composite_s']:.3f}s "
            f"({row['upload_mb']} MB up)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
