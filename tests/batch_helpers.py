"""Helpers shared by the batch tests: a CLI environment, photo folders, job files, runs."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from PIL import Image

from core.cli import main
from tests.standin.helpers import KEY


def cli_env(tmp_path: Path, monkeypatch, standin) -> Path:
    """Config, data and the stand-in for CLI runs in ``tmp_path``."""
    cfg, data = tmp_path / "cfg", tmp_path / "data"
    monkeypatch.setenv("GPT_IMAGE_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("GPT_IMAGE_DATA_DIR", str(data))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", standin.base_url)
    for var in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


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


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    return code, json.loads(out), err


def prompts_sent(standin) -> Counter:
    """How often each prompt reached the model (billable), not counting refused attempts."""
    return Counter(
        r["params"].get("prompt") for r in standin.image_requests() if r["outcome"] == "ok"
    )
