"""History… without the window: insert a past result again, delete an entry, and the texts the
window shows. Main thread only (libgimp).

Insert is Krita's "Insert again": one result layer keeping all the entry's variants (the first
shown), through the feathered selection it was made for (``core.variants.variant_patch``); a past
expand grows a canvas of the original size again (``core.expand.regrow_needed`` decides).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp  # noqa: E402

from core.errors import InputError  # noqa: E402
from core.expand import expansion_of_record, regrow_needed  # noqa: E402
from core.history import History, JobRecord  # noqa: E402
from core.naming import job_layer_name  # noqa: E402
from core.pipeline import Mode  # noqa: E402
from core.pricing import record_cost  # noqa: E402
from core.variants import stack_for_records, variant_patch  # noqa: E402

from . import canvas, logs  # noqa: E402

log = logs.get("history")
#: Entries the window lists at once (newest first); the search narrows the rest.
SHOWN = 60


def entries(settings: Any, search: str = "") -> tuple[list[JobRecord], int]:
    """The newest ``SHOWN`` entries matching ``search`` (all when empty), and how many match."""
    history = History.from_settings(settings)
    records = history.search(search.strip()) if search.strip() else history.list()
    return records[:SHOWN], len(records)


def title_of(record: JobRecord) -> str:
    if not record.readable:
        return f"(unreadable: {record.unreadable_reason})"
    prompt = " ".join(record.prompt.split())
    return prompt if prompt else "(no prompt)"


def details_of(record: JobRecord) -> str:
    """'<model> <quality> · $0.053 · 2026-12-01 18:40 · edit · 2 images' (the cost paid, else
    the estimate marked as such, else the status)."""
    data = record.data
    settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    model = " ".join(str(p) for p in (data.get("model"), settings.get("quality")) if p)
    money = record_cost(data)
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created_ts))
    count = len(record.images)
    images = f"{count} image{'s' if count != 1 else ''}" if count else record.status
    parts = (model, money, when, str(data.get("mode") or ""), images)
    return " · ".join(p for p in parts if p)


def insert_record(
    image: Gimp.Image, drawables: Sequence[Gimp.Drawable], record: JobRecord
) -> Gimp.Layer:
    """The entry as one result layer again, above the active layer (an expand: on top, the
    canvas grown first when it has the original's size). One undo step; the new layer becomes
    the active drawable. ``InputError`` (image untouched) when it cannot."""
    if not record.images:
        raise InputError(
            f"History entry {record.id} has no images ({record.status}).",
            hint="Only jobs that produced a result can be inserted.",
        )
    expanding = record.data.get("mode") == Mode.EXPAND.value
    expansion = expansion_of_record(record) if expanding else None
    regrow = regrow_needed(expansion, canvas.canvas_extent(image)) if expansion else False
    patch = variant_patch(record, 0)  # decoded (and checked) before the image is touched
    stack = stack_for_records([record])
    anchor = None if expanding else canvas.anchor_layer(drawables)
    name = job_layer_name(record.data.get("mode"), record.prompt)  # as the job named it
    info = {
        "history_id": record.id,
        "request_id": record.data.get("request_id"),
        "prompt": record.prompt,
        "model": record.data.get("model"),
        "mode": record.data.get("mode"),
        "reinserted": True,
    }
    from . import variants

    image.undo_group_start()
    try:
        if regrow and not image.resize(*expansion.canvas, *expansion.offset):
            raise InputError(f"GIMP refused to resize the image to {expansion.canvas}.")
        try:
            layer = canvas.insert_results(image, anchor, [patch], [name], name)
            try:
                canvas.tag_layer(layer, info)
                variants.write_stack(layer, stack)
            except Exception:
                image.remove_layer(layer)
                raise
        except Exception:
            if regrow:
                image.resize(*expansion.image, -expansion.offset.x, -expansion.offset.y)
            raise
    finally:
        image.undo_group_end()
    Gimp.displays_flush()
    log.info("history %s inserted as %s", record.id, layer.get_name())
    return layer


def delete_record(settings: Any, history_id: str) -> JobRecord:
    """Remove one entry (``InputError`` naming it when there is none)."""
    history = History.from_settings(settings)
    record = history.get(history_id)
    history.delete(history_id)
    log.info("history %s deleted", history_id)
    return record
