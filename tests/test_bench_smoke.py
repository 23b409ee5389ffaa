"""The benchmark runs and reports every field the issue names (its figures are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_pipeline.py")
FIELDS = {"prepare_ms", "apply_ms", "upload_bytes", "peak_mem_mb", "naive_ms", "naive_upload_bytes"}


def test_bench_reports_all_fields_per_case() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--json", "--sizes", "1024", "--full", "1024"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(proc.stdout)
    assert len(report["rows"]) == 2
    for row in report["rows"]:
        assert row.keys() >= FIELDS
        assert row["upload_bytes"] > 0 and row["naive_upload_bytes"] > 0
