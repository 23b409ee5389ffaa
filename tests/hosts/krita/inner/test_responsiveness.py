"""The main thread stays free on a big document: from the Generate click until the request is
sent, and while the result is applied (only the crop is read on the main thread; the upload
and the layer's host bytes are made on the worker; the result goes in in one step), until a
second after the layer is in and the results strip shows it (Krita's own redraw included).

Measured as a user feels it: a 5 ms timer on Krita's event loop records when it gets to run;
the longest gap between two ticks in a phase is how long Krita was frozen then. On a shared
machine the loop stalls on its own too, so each phase has a comparison measured in the same run:

- ``idle_gap_ms``: the longest gap in a window as long as the submit phase, just before the
  click (after Krita's own work on the new document has settled): the noise floor;
- ``krita_insert_gap_ms``: the longest gap while Krita takes in a detached copy of the result
  layer (same pixels, mask and parent) through one ``addChildNode``, watched for as long as the
  apply phase lasted, then removed again: what applying a result costs Krita itself, whoever
  asks (measured after the job, so whatever a document's first insert costs more falls on the
  job's side; ``job_add_child_ms`` vs ``krita_add_child_ms`` shows it); ``ours_apply_ms`` is
  the plug-in's main-thread time in the apply (``_on_done`` minus Krita's ``addChildNode``).

Each phase's longest gap is also split by what the main thread was doing in it, from the
kernel's counters for that thread (``/proc/thread-self/schedstat``, read at every tick):
running on a core, runnable but waiting for one (the machine's cores busy), or blocked (asleep
on a lock: the GIL held by another Python thread, or Krita waiting for its canvas to be drawn,
which on a machine without a GPU is Mesa's llvmpipe threads). A gap that is mostly "running" is
work on the main thread; one that is mostly "blocked" is not, and a tick profile alone cannot
tell them apart.

The figures are printed and written to ``$KRITA_TEST_OUT/main_thread_gaps.json`` (the outer
suite prints them); nothing here asserts a timing, the targets are read from the figures.
"""

from __future__ import annotations

import bisect
import configparser
import itertools
import json
import os
import time
from collections.abc import Callable

from conftest import (
    host_bytes,
    image_requests,
    pattern,
    rect_selection,
    spin,
    standin,
    wait_until,
)
from gpt_image.qt import QByteArray, QTimer
from krita import Krita, Node

EDGE = 8192
SELECTION = (EDGE // 2 - 751, EDGE // 2 - 487, 1500, 1000)
#: The stand-in holds its answer this long, so "sending" and "applying" are apart in time.
ANSWER_DELAY_S = 1.0
#: How long after the layer and the strip are there the apply phase still counts.
SETTLE_S = 1.0
#: Krita's own work on the new document gets at most this long to calm down before the click.
SETTLE_LIMIT_S = 10.0
#: The stretch recorded before the click, of which the idle window is the last part.
IDLE_S = 3.0
#: The worker holds the request back this long (longer than any fixed delay after the click).
SLOW_SEND_S = 1.5
#: What a warm-up leaves for later (closing the template document) is watched this long.
WARM_AFTER_S = 0.5


def longest_gap(ticks: list[float], start: float, end: float, *, past_end: bool = True) -> float:
    """The longest stretch within [start, end] in which the event loop did not run; with
    ``past_end`` a freeze that runs past ``end`` counts whole."""
    marks = sorted([start, *(t for t in ticks if start < t < end), end])
    inside = [b - a for a, b in itertools.pairwise(marks)]
    after = [t for t in ticks if t >= end]
    if past_end and after:
        inside[-1] = max(inside[-1], after[0] - marks[-2])
    return max(inside) if inside else 0.0


#: The calling thread's scheduler counters on Linux: ns on a core, ns runnable waiting for one.
SCHEDSTAT = "/proc/thread-self/schedstat"


def thread_counters() -> Callable[[], tuple[int, int] | None]:
    """A reader of the calling thread's (ns running, ns waiting for a core) since it started;
    it returns None where the kernel does not keep them (not Linux, no schedstats)."""
    try:
        handle = open(SCHEDSTAT, encoding="ascii")  # noqa: SIM115 - read at every tick
    except OSError:
        return lambda: None

    def read() -> tuple[int, int] | None:
        handle.seek(0)
        fields = handle.read().split()
        return (int(fields[0]), int(fields[1])) if len(fields) >= 2 else None

    return read


def gap_split(
    ticks: list[float],
    counters: list[tuple[int, int] | None],
    start: float,
    end: float,
    *,
    past_end: bool = True,
) -> dict[str, float] | None:
    """What the main thread did in ``longest_gap``'s stretch (from the ticks around it, each with
    ``thread_counters()`` then): ms running, ms waiting for a core, ms blocked (the rest)."""
    gap = longest_gap(ticks, start, end, past_end=past_end)
    at = start + longest_gap_at(ticks, start, end, past_end=past_end)
    first = bisect.bisect_right(ticks, at + 1e-9) - 1  # the tick the stretch begins at (or before)
    last = bisect.bisect_left(ticks, at + gap - 1e-9)  # the tick it ends at (or after)
    if first < 0 or last >= len(ticks) or counters[first] is None or counters[last] is None:
        return None
    (run0, wait0), (run1, wait1) = counters[first], counters[last]
    wall_ms = (ticks[last] - ticks[first]) * 1000
    running, waiting = (run1 - run0) / 1e6, (wait1 - wait0) / 1e6
    return {
        "wall_ms": round(wall_ms, 1),
        "running_ms": round(running, 1),
        "waiting_for_a_core_ms": round(waiting, 1),
        "blocked_ms": round(max(0.0, wall_ms - running - waiting), 1),
    }


def longest_gap_at(ticks: list[float], start: float, end: float, *, past_end: bool = True) -> float:
    """Where (seconds after ``start``) the longest stretch of ``longest_gap`` begins."""
    marks = sorted([start, *(t for t in ticks if start < t < end), end])
    after = [t for t in ticks if t >= end]
    if past_end and after:
        marks[-1] = after[0]
    stretches = [(b - a, a) for a, b in itertools.pairwise(marks)]
    return max(stretches)[1] - start if stretches else 0.0


def settle(ticks: list[float], quiet_s: float = 1.0, limit_s: float = SETTLE_LIMIT_S) -> float:
    """Let Krita finish its own work on a new big document (projection, thumbnails, selection
    outline): until ``quiet_s`` passes without a gap over 40 ms, or ``limit_s`` (a busy machine
    is never that quiet; the idle window then shows how noisy it is). Returns the time taken."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        spin(0.1)
        now = time.time()
        if any(t < now - quiet_s for t in ticks) and longest_gap(ticks, now - quiet_s, now) < 0.04:
            break
    return time.monotonic() - started


def krita_insert(ticks: list[float], layer, window_s: float) -> tuple[float, float]:
    """(ms in ``addChildNode``, longest gap in ms over ``window_s`` from it) for a detached copy
    of ``layer`` (its pixels and mask) added above it in the same parent, then removed."""
    twin = layer.duplicate()
    parent = layer.parentNode()
    spin(0.1)  # the copy is made before the watch starts
    started = time.time()
    begun = time.perf_counter()
    assert parent.addChildNode(twin, layer), "Krita refused the copy"
    add_ms = (time.perf_counter() - begun) * 1000
    spin(window_s)
    gap = longest_gap(ticks, started, time.time())
    twin.remove()
    spin(0.2)
    return add_ms, gap * 1000


def canvas_renderer() -> str:
    """The profile's canvas renderer ("none": no OpenGL; "auto": Krita's choice), as set."""
    path = os.path.join(os.environ.get("XDG_CONFIG_HOME", ""), "kritadisplayrc")
    config = configparser.ConfigParser(interpolation=None)
    config.read(path, encoding="utf-8")
    return config.get("General", "OpenGLRenderer", fallback="auto")


def big_document(docs):
    app = Krita.instance()
    doc = app.createDocument(EDGE, EDGE, "big", "RGBA", "U8", "", 72.0)
    docs.created.append(doc)
    app.activeWindow().addView(doc)
    wait_until(lambda: app.activeDocument() == doc, 20, "the big document to be active")
    layer = doc.rootNode().childNodes()[0]
    x, y, w, h = SELECTION
    area = (x - 200, y - 200, w + 400, h + 400)  # busy pixels wherever the crop can reach
    layer.setPixelData(QByteArray(host_bytes(doc, pattern(area[2], area[3]))), *area)
    doc.refreshProjection()
    doc.waitForDone()
    return doc


def timed(monkeypatch, owner, name: str, spent: dict[str, float], label: str = "") -> None:
    """Record how long ``owner.name`` runs (for the figures: where the main thread's time goes)."""
    real = getattr(owner, name)
    label = label or name

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + (time.perf_counter() - started) * 1000

    monkeypatch.setattr(owner, name, wrapper)


def test_main_thread_gaps_on_an_8192_document(driver, docs, monkeypatch):
    from gpt_image import docker, document, history_panel, layers, results_strip, variants

    spent: dict[str, float] = {}
    timed(monkeypatch, docker.GptImageDocker, "_submit", spent)
    # where the submit's main-thread time goes: the selection, the crop (Krita's read, then
    # into pipeline RGBA), and read_job around them
    timed(monkeypatch, document, "selection_mask", spent)
    timed(monkeypatch, docker.jobs, "read_job", spent)
    timed(monkeypatch, Node, "projectionPixelData", spent, "krita_projectionPixelData")
    timed(monkeypatch, document, "from_host", spent)
    timed(monkeypatch, docker.GptImageDocker, "_on_done", spent)
    timed(monkeypatch, layers, "insert_results", spent)
    timed(monkeypatch, layers, "empty_transparency_mask", spent)
    # where the apply phase's main-thread time goes
    timed(monkeypatch, variants, "insert_result_layer", spent)
    timed(monkeypatch, variants, "build_layer_node", spent)
    timed(monkeypatch, variants, "set_stack", spent, "layer_set_stack")
    timed(monkeypatch, history_panel.HistoryPanel, "show_view", spent)
    timed(monkeypatch, results_strip.ResultsStrip, "set_stack", spent, "strip_set_stack")
    timed(monkeypatch, Node, "addChildNode", spent, "krita_addChildNode")
    doc = big_document(docs)
    rect_selection(doc, *SELECTION)
    driver.configure(f"a red kite [[delay:{ANSWER_DELAY_S}]]", mode="edit_selection")
    before = len(doc.rootNode().childNodes())

    ticks: list[float] = []
    counters: list[tuple[int, int] | None] = []  # the main thread's, at each tick
    read_counters = thread_counters()  # the main thread's own: read on it

    def tick() -> None:
        ticks.append(time.time())
        counters.append(read_counters())

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    settle_s = settle(ticks)
    spin(IDLE_S)
    clicked = time.time()
    driver.click("gptImageGenerate")
    wait_until(
        lambda: not driver.docker.busy and driver.docker.last_inserted is not None,
        120,
        "the result layer",
    )
    inserted = time.time()
    strip = driver.docker.results
    wait_until(lambda: strip.stack is not None and strip.list.count() == 1, 20, "the strip")
    # what Krita does on its own after the insert (the redraw, the strip following the new
    # layer) belongs to applying the result: measured until a second after it is all there
    spin(SETTLE_S)
    settled = time.time()
    job_ms = dict(spent)  # the comparison below adds a node of its own
    (request,) = image_requests()
    sent, answered = request["time"], request["answered"]
    krita_add_ms, krita_gap_ms = krita_insert(
        ticks, driver.docker.last_inserted, settled - answered
    )
    timer.stop()

    assert "Done" in driver.status(), driver.status()
    assert len(doc.rootNode().childNodes()) == before + 1
    assert clicked < sent < answered < inserted
    idle_window = min(sent - clicked, IDLE_S)
    idle_gap = longest_gap(ticks, clicked - idle_window, clicked, past_end=False)
    job_add_ms = job_ms.get("krita_addChildNode", 0.0)
    figures = {
        "host": Krita.instance().version(),
        "canvas": canvas_renderer(),
        "document": f"{EDGE}x{EDGE}",
        "selection": list(SELECTION),
        "crop": list(driver.docker.last_result.plan.crop),
        "submit_gap_ms": round(longest_gap(ticks, clicked, sent) * 1000, 1),
        "submit_gap_at_ms": round(longest_gap_at(ticks, clicked, sent) * 1000, 1),
        "idle_gap_ms": round(idle_gap * 1000, 1),
        "idle_window_ms": round(idle_window * 1000, 1),
        "apply_gap_ms": round(longest_gap(ticks, answered, settled) * 1000, 1),
        "apply_gap_at_ms": round(longest_gap_at(ticks, answered, settled) * 1000, 1),
        "insert_gap_ms": round(longest_gap(ticks, answered, inserted) * 1000, 1),
        "krita_insert_gap_ms": round(krita_gap_ms, 1),
        "krita_add_child_ms": round(krita_add_ms, 1),
        "job_add_child_ms": round(job_add_ms, 1),
        "ours_apply_ms": round(job_ms.get("_on_done", 0.0) - job_add_ms, 1),
        "click_to_sent_ms": round((sent - clicked) * 1000, 1),
        "answer_to_layer_ms": round((inserted - answered) * 1000, 1),
        "apply_window_ms": round((settled - answered) * 1000, 1),
        "settle_s": round(settle_s, 1),
        # what the main thread did in each longest gap (None where the kernel does not say)
        "submit_gap_split": gap_split(ticks, counters, clicked, sent),
        "idle_gap_split": gap_split(
            ticks, counters, clicked - idle_window, clicked, past_end=False
        ),
        "apply_gap_split": gap_split(ticks, counters, answered, settled),
        "main_thread_ms": {name: round(ms, 1) for name, ms in job_ms.items()},
    }
    print("main-thread gaps:", json.dumps(figures))
    out = os.environ.get("KRITA_TEST_OUT")
    if out:
        with open(os.path.join(out, "main_thread_gaps.json"), "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=1)


def test_the_mask_template_loads_once_the_request_is_out(driver, docs, monkeypatch):
    """Krita 5.1 loads its mask template (a document opened on the main thread, ~170 ms) while
    the API works: after the request is out, even when it takes long to go out (the first job
    imports openai on the worker, a slow upload), never in the Generate click; once per job,
    even when the request is sent twice (a retried 503); and not for a job without a mask.
    Prints the longest main-thread gap the warm-up itself caused (a figure, not asserted)."""
    from gpt_image import layers, mask_template
    from gpt_image.core import jobs

    sent: list[float] = []  # when the worker's request bodies were out (the client's trace)
    warmed: list[tuple[float, bool]] = []  # (when, whether Krita then had its template)
    began: list[float] = []
    real_sent, real_warm, real_finish = (
        jobs._Run.sent,
        layers.warm_mask_template,
        jobs.finish_prepare,
    )

    def record_sent(run):
        sent.append(time.time())
        real_sent(run)

    def record_warm(doc):
        began.append(time.time())
        real_warm(doc)
        ready = layers.has_mask_api(doc) or mask_template._prototype is not None
        warmed.append((time.time(), ready))

    def slow_finish(read):  # on the worker: the request goes out well after the click
        time.sleep(SLOW_SEND_S)
        return real_finish(read)

    monkeypatch.setattr(jobs._Run, "sent", record_sent)
    monkeypatch.setattr(layers, "warm_mask_template", record_warm)
    monkeypatch.setattr(jobs, "finish_prepare", slow_finish)
    monkeypatch.setattr(mask_template, "_prototype", None)  # loaded afresh: its cost shows
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(time.time()))
    timer.start()
    doc = docs.new(320, 240)
    rect_selection(doc, 41, 33, 180, 120)
    standin("/_standin/faults", [{"kind": "server_error", "status": 503}])
    driver.configure(f"a red kite [[delay:{ANSWER_DELAY_S}]]", mode="edit_selection")
    driver.generate(timeout=90)
    assert "Done" in driver.status(), driver.status()
    refused, answered = image_requests()
    assert (refused["status"], answered["status"]) == (503, 200)
    assert len(sent) == 2 and len(warmed) == 1, (sent, warmed)
    ((when, ready),) = warmed
    assert sent[0] <= when < answered["answered"], (sent, when, answered["answered"])
    assert ready, "the mask template was not loaded by the warm-up"
    timer.stop()
    warm_up = {
        "host": Krita.instance().version(),
        "canvas": canvas_renderer(),
        "warm_up_ms": round((when - began[0]) * 1000, 1),
        "warm_up_gap_ms": round(longest_gap(ticks, began[0], when + WARM_AFTER_S) * 1000, 1),
    }
    print("mask template warm-up:", json.dumps(warm_up))
    out = os.environ.get("KRITA_TEST_OUT")
    if out:
        with open(os.path.join(out, "mask_warm_up.json"), "w", encoding="utf-8") as f:
            json.dump(warm_up, f, indent=1)

    warmed.clear()
    docs.new(160, 120)  # no selection: a whole-image edit has no mask
    driver.configure("make it look like winter", mode="edit_image", source="composite")
    driver.generate(timeout=90)
    assert "Done" in driver.status(), driver.status()
    assert warmed == []
