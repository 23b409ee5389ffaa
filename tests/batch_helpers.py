"""Helpers shared by the batch tests: photo folders, job files, what was sent (the CLI
environment and runs: ``tests/cli_helpers.py``)."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from PIL import Image


def photos(folder: Path, count: int, size=(64, 48), suffix=".png") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"p{i:03d}{suffix}"
        Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(path)
        paths.append(path)
    return paths


def write_jsonl(path: Path, jobs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(j) + "\n" for j in jobs))
    return path


def prompts_sent(standin) -> Counter:
    """How often each prompt reached the model (billable), not counting refused attempts."""
    return Counter(
        r["params"].get("prompt") for r in standin.image_requests() if r["outcome"] == "ok"
    )
