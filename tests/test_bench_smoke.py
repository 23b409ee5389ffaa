"""The benchmark runs and reports every field the issues name (its figures are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).with_name("bench_pipeline.py")
FIELDS = {"prepare_ms", "apply_ms", "upload_bytes", "peak_mem_mb", "naive_ms", "naive_upload_bytes"}
JOB_FIELDS = {"run_job_ms", "floor_ms"}
CLI_FIELDS = {"wall_ms", "api_ms", "overhead_ms", "peak_rss_mb", "canvas_mb"}


def test_bench_reports_all_fields_per_case() -> None:
    args = ["--json", "--sizes", "1024", "--full", "1024", "--cli-sizes", "1024"]
    args += ["--cli-runs", "1", "--plugin-runs", "1"]
    proc = subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    rows = {row["case"]: row for row in report["rows"]}
    cases = [row for row in report["rows"] if "prepare_ms" in row]
    assert len(cases) == 2
    for row in cases:
        assert row.keys() >= FIELDS | JOB_FIELDS
        assert row["upload_bytes"] > 0 and row["naive_upload_bytes"] > 0
        assert row["run_job_ms"] > 0 and row["floor_ms"] > 0
    for name in ("cli_edit_1024", "cli_edit_1024_full"):
        assert rows[name].keys() >= CLI_FIELDS
        assert rows[name]["api_ms"] > 0 and rows[name]["peak_rss_mb"] > 0
        assert rows[name]["wall_ms"] > rows[name]["api_ms"]
    assert rows["cli_edit_1024"]["naive_ms"] > 0  # the overhead row has its yardstick
    assert "import_ms" in rows["plugin_import"]
    assert any(name.startswith("run_job_ratio") for name in report["targets"])
