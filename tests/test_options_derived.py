"""Hosts and the CLI derive every option from ``core.options``: none spells a quality name, a
model name or an option's default again (issue #10's "grep finds none")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.models import ALL_QUALITIES, KNOWN_MODELS
from core.options import OPTIONS

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("krita_plugin", "gimp_plugin", "core/cli")


def _sources() -> list[Path]:
    files = []
    for folder in FOLDERS:
        files += sorted((ROOT / folder).rglob("*.py"))
    assert len(files) > 20, files
    return files


def _hits(pattern: re.Pattern[str]) -> list[str]:
    found = []
    for path in _sources():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


@pytest.mark.parametrize("quality", ALL_QUALITIES)
def test_no_quality_name_in_host_or_cli_code(quality):
    # as a value (quoted), or as a word at all when it means nothing else
    assert _hits(re.compile(rf"[\"']{re.escape(quality)}[\"':]")) == []
    if quality in ("medium", "xhigh"):
        assert _hits(re.compile(rf"\b{quality}\b")) == []


@pytest.mark.parametrize("model", list(KNOWN_MODELS))
def test_no_model_name_in_host_or_cli_code(model):
    assert _hits(re.compile(re.escape(model) + r"(?![\w.-])")) == []


@pytest.mark.parametrize(
    "opt", [o for o in OPTIONS if isinstance(o.default, int) and not isinstance(o.default, bool)]
)
def test_no_option_default_beside_its_name(opt):
    """``padding = 48``, ``"feather", 8`` and the like: the default written next to the name."""
    names = {opt.name, opt.name.removesuffix("_px"), opt.flag or "", opt.gimp or ""} - {""}
    words = "|".join(re.escape(n.lstrip("-")) for n in names)
    pattern = re.compile(rf"\b({words})\b[\"']?\s*[:=,]\s*{opt.default}\b")
    assert _hits(pattern) == []
