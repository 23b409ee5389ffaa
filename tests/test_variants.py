"""core/variants.py: the rounds and variants one result layer keeps, and which it shows."""

from __future__ import annotations

import pytest

from core.errors import InputError
from core.history import History
from core.variants import ResultStack, Round, round_from_record, stack_for_records


def stack():
    return ResultStack(
        (
            Round("20260101-000000-aaaa", (0, 1, 2), "gpt-image-2", "medium", 10.0, 0.15),
            Round("20260101-000100-bbbb", (0, 1), "gpt-image-2", "medium", 8.0, 0.1, kind="refine"),
        )
    )


def test_flipping_walks_rounds_then_variants_and_wraps():
    s = stack()
    assert s.count == 5 and s.current.history_id.endswith("aaaa") and s.current.index == 0
    seen = []
    for _ in range(5):
        s = s.next()
        seen.append((s.shown, s.current.index))
    assert seen == [((0, 1), 1), ((0, 2), 2), ((1, 0), 0), ((1, 1), 1), ((0, 0), 0)]
    assert s.previous().shown == (1, 1)
    assert s.show(1, 0).position == 3


def test_keep_one_and_add_round():
    s = stack().show(0, 2).keep_one()
    assert s.count == 1 and s.rounds[0].images == (2,) and s.current.index == 2
    added = s.add_round(Round("20260101-000200-cccc", (0,), "gpt-image-1.5", "high"))
    assert added.shown == (1, 0) and added.history_ids[-1].endswith("cccc")
    with pytest.raises(InputError):
        s.show(3, 0)
    with pytest.raises(InputError):
        s.add_round(Round("x", ()))


def test_labels_carry_model_quality_seconds_cost():
    label = stack().current.label()  # a variant: its share of the job's $0.15
    assert label.startswith("1.1  gpt-image-2 medium") and "10.0 s" in label
    assert label.endswith("$0.050"), label
    assert stack().rounds[0].label().endswith("$0.150")  # the job as a whole
    assert stack().rounds[0].cost_per_image == pytest.approx(0.05)


def test_json_round_trip_and_garbage():
    s = stack().show(1, 1)
    assert ResultStack.from_json(s.to_json()) == s
    for bad in ("", "[]", '{"rounds": []}', '{"rounds": [{"images": [0]}]}',
                '{"rounds": [{"history_id": "x", "images": [-1]}]}', "{nope"):  # fmt: skip
        with pytest.raises(InputError):
            ResultStack.from_json(bad)
    # a shown index out of range falls back to the first variant instead of failing
    data = s.to_dict()
    data["shown"] = [7, 9]
    assert ResultStack.from_dict(data).shown == (0, 0)
    data["rounds"][0]["cost_usd"] = float("nan")
    assert ResultStack.from_dict(data).rounds[0].cost_usd is None


def test_rounds_from_history_records(tmp_path):
    h = History(tmp_path)
    rec = h.create(
        prompt="p", mode="edit_selection", model="gpt-image-2", settings={"quality": "low"}
    )
    for i in range(3):
        h.add_image(rec.id, i, b"\x89PNG\r\n\x1a\nxx")
    h.finish(rec.id, "done", cost_usd=0.03)
    child = h.create(prompt="p2", mode="edit_selection", model="gpt-image-2", parent_id=rec.id)
    h.add_image(child.id, 0, b"\x89PNG\r\n\x1a\nxx")
    h.finish(child.id, "done")
    s = stack_for_records([h.get(rec.id)])
    assert s.rounds[0].images == (0, 1, 2) and s.rounds[0].quality == "low"
    assert s.rounds[0].seconds is not None and s.rounds[0].cost_usd == 0.03
    r = round_from_record(h.get(child.id))
    assert r.parent_id == rec.id and r.kind == "refine"
    empty = h.create(prompt="e", mode="generate", model="gpt-image-2")
    with pytest.raises(InputError):
        round_from_record(h.get(empty.id))
