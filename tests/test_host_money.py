"""Hosts show money as core formats it: the same job reads the same in Krita, GIMP and the CLI.

Two checks: core's formatting functions say what the hosts show, and no host module formats a
sum itself (an f-string with a ``$`` before a float format, or a private ``money``), which is
how the Krita docker once drifted from core ("$0.0420" beside "$0.042").
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from core.pricing import (
    Estimate,
    cost_line,
    estimate_figure,
    estimate_line,
    money,
    precise_money,
    record_cost,
    runs_estimate,
)

ROOT = Path(__file__).resolve().parent.parent
#: The front ends: the two hosts (``money``) and the CLI (``precise_money``) format no sum themselves.
HOST_DIRS = (ROOT / "krita_plugin", ROOT / "gimp_plugin", ROOT / "core" / "cli")
#: "$" followed (in the same f-string) by a replacement field with a float format spec
DOLLAR_FORMAT = re.compile(r"\$\{[^}]*:[^}]*f\}")


def host_sources() -> list[Path]:
    return sorted(p for d in HOST_DIRS for p in d.rglob("*.py"))


def test_core_formats_every_sum_the_hosts_show() -> None:
    assert money(0.0421) == "$0.042" and money(12.5) == "$12.50" and money(None) == "?"
    assert money(float("nan")) == "?"  # a garbled history file shows no "$nan"
    assert cost_line(0.0421, 0.04) == "cost $0.042 (estimate $0.040)"
    assert estimate_line(Estimate(0.0421)) == "≈ $0.042"
    ranged = Estimate(0.2110, usd_low=0.005)
    assert estimate_figure(ranged) == "$0.0050–$0.2110" == ranged.text()
    assert estimate_line(ranged) == "≈ $0.0050–$0.2110"
    assert runs_estimate(0.126, 3) == "estimate $0.126 for 3 runs"
    assert record_cost({"cost_usd": 0.053, "estimate_usd": 0.05}) == "$0.053"
    assert record_cost({"cost_usd": None, "estimate_usd": 0.05}) == "estimated $0.050"
    assert record_cost({"cost_usd": "garbled", "estimate_usd": True}) == ""
    assert record_cost({}) == ""
    assert precise_money(0.04021) == "$0.0402"  # the CLI's sums


@pytest.mark.parametrize("path", host_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_host_formats_money_itself(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert "money" not in node.name.lower(), (
                f"{path.name}:{node.lineno} defines {node.name}(): use core.pricing"
            )
        if isinstance(node, ast.JoinedStr):
            source = ast.get_source_segment(path.read_text(encoding="utf-8"), node) or ""
            assert not DOLLAR_FORMAT.search(source), (
                f"{path.name}:{node.lineno} formats a sum itself ({source}): use core.pricing"
            )


def test_the_check_catches_a_host_formatting_money() -> None:
    """The scan above is not vacuous: it flags the forms a host used before."""
    assert DOLLAR_FORMAT.search('f"${cost:.3f}"')
    assert DOLLAR_FORMAT.search('f"≈ ${total:.3f} for {n} runs"')
    assert not DOLLAR_FORMAT.search('f"about {estimate_figure(est)} for"')
