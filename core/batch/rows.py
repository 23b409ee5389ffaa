"""Per-job report rows and batch totals: what ``--json`` prints and the summary table shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, EXIT_REFUSED

#: Row statuses, in the order the summary lists them.
STATUSES = (
    "done",
    "failed",
    "interrupted",
    "skipped",
    "cancelled",
    "invalid",
    "submitted",
    "pending",
)


@dataclass
class Row:
    """One job's outcome. ``error`` is ``GptImageError.to_dict()`` shaped (``message``, ``code``…)."""

    line: int
    status: str
    key: str = ""
    outputs: list[str] = field(default_factory=list)
    cost_usd: float | None = None
    history_id: str | None = None
    error: dict[str, Any] | None = None
    estimate_usd: float | None = None
    request_id: str | None = None
    previous: bool = False  # finished by an earlier run of this batch
    resent: bool = False  # sent again: an earlier run's attempt got no answer (maybe billed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "status": self.status,
            "outputs": list(self.outputs),
            "cost_usd": self.cost_usd,
            "history_id": self.history_id,
            "error": self.error,
            "estimate_usd": self.estimate_usd,
            "request_id": self.request_id,
            "previous_run": self.previous,
            "resent": self.resent,
            "key": self.key,
        }


def error_dict(message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"message": message, "code": code, **extra}


def totals(rows: Sequence[Row], *, elapsed_s: float = 0.0, **extra: Any) -> dict[str, Any]:
    """Counts by status, cost (all runs and this one) and the estimate of what was planned."""
    counts = {status: sum(1 for r in rows if r.status == status) for status in STATUSES}
    spent = sum(r.cost_usd or 0.0 for r in rows)
    spent_now = sum(r.cost_usd or 0.0 for r in rows if not r.previous)
    return {
        "jobs": len(rows),
        **counts,
        "cost_usd": round(spent, 6),
        "cost_this_run_usd": round(spent_now, 6),
        "estimate_usd": round(sum(r.estimate_usd or 0.0 for r in rows), 4),
        "elapsed_s": round(elapsed_s, 3),
        **extra,
    }


def exit_code(rows: Sequence[Row]) -> int:
    """0 when every job is done; otherwise the most telling failure's code."""
    statuses = {r.status for r in rows}
    if statuses <= {"done", "submitted"}:
        return EXIT_OK
    if "cancelled" in statuses or "pending" in statuses:
        return EXIT_CANCELLED
    if any(r.status == "failed" and _refused(r) for r in rows):
        return EXIT_REFUSED
    if statuses & {"failed", "interrupted"}:
        return EXIT_FAILED
    return EXIT_BAD_INPUT  # invalid lines skipped, or jobs held back by --max-cost


def _refused(row: Row) -> bool:
    return bool(row.error) and row.error.get("exit_code") == EXIT_REFUSED
