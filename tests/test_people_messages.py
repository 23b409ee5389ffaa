"""What hosts show people: errors without internal codes, the cost line after a job, and the
expand re-insert decision (core parts of GIMP's History… and its messages)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.errors import Cancelled, InternalError, ModerationBlocked
from core.expand import Borders, Expansion, expansion_of_record, regrow_needed
from core.geometry import Extent
from core.pricing import cost_line, money


def test_for_people_drops_code_and_request_id_but_keeps_hint():
    error = ModerationBlocked(
        "Blocked by the provider's safety system.",
        hint="Rephrase the prompt.",
        code="moderation_blocked",
        request_id="req_123",
    )
    assert "[moderation_blocked]" in str(error) and "req_123" in str(error)
    assert error.for_people() == "Blocked by the provider's safety system. — Rephrase the prompt."
    assert Cancelled("Cancelled by the user.").for_people() == "Cancelled by the user."


def test_internal_error_for_people_hides_the_exception_text():
    try:
        {}["secret-internal-key"]
    except KeyError as exc:
        bug = InternalError.from_exception(exc, request_sent=False, log_path="/tmp/x.log")
    assert "secret-internal-key" in str(bug)  # the log keeps it
    text = bug.for_people()
    assert "secret-internal-key" not in text and "KeyError" not in text
    assert "Nothing was sent to the API" in text and "/tmp/x.log" in text


def test_cost_line_shows_actual_next_to_estimate():
    assert cost_line(0.0421, 0.04) == "cost $0.042 (estimate $0.040)"
    assert cost_line(None, 0.04) == "cost ? (estimate $0.040)"
    assert money(2.5) == "$2.50"


def test_regrow_needed_for_a_past_expand():
    expansion = Expansion(Extent(100, 80), Borders(10, 0, 20, 5))
    assert regrow_needed(expansion, Extent(100, 80)) is True
    assert regrow_needed(expansion, Extent(130, 85)) is False
    with pytest.raises(ValueError, match="made for a 100x80 canvas"):
        regrow_needed(expansion, Extent(99, 80))
    record = SimpleNamespace(id="x", data={"plan": {"expansion": expansion.to_dict()}})
    assert expansion_of_record(record) == expansion
    with pytest.raises(ValueError, match="does not say how it expanded"):
        expansion_of_record(SimpleNamespace(id="y", data={"plan": {}}))
