"""Result layers in the real Krita: variants kept with one layer, flipped in place (one undo step
each), the result strip following the active layer, keep all / keep one, refine as a new round,
a result layer read as seen, and a docker that fits a 1080 px screen."""

from __future__ import annotations

import numpy as np
from conftest import (
    activate,
    image_requests,
    node_names,
    projection,
    rect_selection,
    settle,
    spin,
    wait_until,
)
from krita import Krita

try:
    from PyQt5.QtWidgets import QApplication, QListWidget, QWidget
except ImportError:  # Krita 6
    from PyQt6.QtWidgets import QApplication, QListWidget, QWidget

from PIL import Image


def undo_entries() -> list[str]:
    """What Krita's own Undo History docker lists (to prove a flip adds no hidden steps)."""
    from krita import Krita as _K

    try:
        from PyQt5.QtWidgets import QListView
    except ImportError:  # Krita 6
        from PyQt6.QtWidgets import QListView
    for dock in _K.instance().dockers():
        if dock.objectName() == "History":
            for view in dock.findChildren(QListView):
                model = view.model()
                return [str(model.data(model.index(i, 0))) for i in range(model.rowCount())]
    return []


def result_layers(doc, before):
    return [c for c in doc.rootNode().childNodes() if c.name() not in before]


def layer_rgba(doc, layer, bounds) -> np.ndarray:
    """The layer's own pixels over ``bounds`` as RGBA (the documents here are RGBA/U8: BGRA)."""
    x, y, w, h = bounds
    data = np.frombuffer(bytes(layer.pixelData(x, y, w, h)), np.uint8).reshape(h, w, 4)
    return data[..., [2, 1, 0, 3]]


def patch_rgba(patch) -> np.ndarray:
    return np.asarray(patch.image.convert("RGBA"))


def shows(doc, layer, patch) -> bool:
    return np.array_equal(layer_rgba(doc, layer, patch.bounds), patch_rgba(patch))


def strip(driver):
    return driver.widget(QListWidget, "gptImageResults")


def stack_of(doc, layer):
    from gpt_image import variants

    return variants.stack_of(doc, layer)


def only_result(doc, before):
    found = result_layers(doc, before)
    assert len(found) == 1, [(n.name(), n.type()) for n in found]
    return found[0]


def trigger(name):
    Krita.instance().action(name).trigger()
    spin(0.3)


def make_result(driver, docs, n=3, prompt="three pears", size=(220, 170)):
    doc = docs.new(*size)
    rect_selection(doc, 30, 25, 100, 80)
    before = node_names(doc)
    driver.configure(prompt, mode="edit_selection", n=n)
    driver.generate()
    assert "Done" in driver.status(), driver.status()
    layer = only_result(doc, before)
    activate(doc, layer)
    wait_until(lambda: strip(driver).count() == n, 5, "the strip to list the variants")
    return doc, before, layer


# --- variants in place ---------------------------------------------------------------------------


def test_variants_flip_in_place_with_one_undo_step_each(driver, docs):
    doc, before, layer = make_result(driver, docs)
    patches = driver.docker.last_result.patches
    assert shows(doc, layer, patches[0])
    assert stack_of(doc, layer).count == 3
    texts = [strip(driver).item(i).text() for i in range(3)]
    assert texts[0].startswith("1.1 gpt-image-2 low") and " s" in texts[0] and "$" in texts[0]
    assert not strip(driver).item(0).icon().isNull()

    entries = undo_entries()
    trigger("gpt_image_next_variant")
    if entries:  # the two commands a flip is made of, and nothing else Krita could stop at
        assert undo_entries()[len(entries) :] == ["Add Layer", "Remove Layer"], undo_entries()
    layer = only_result(doc, before)  # still one layer, now showing variant 2
    assert shows(doc, layer, patches[1])
    assert stack_of(doc, layer).current.index == 1
    assert strip(driver).currentRow() == 1
    outside = projection(doc)

    trigger("gpt_image_next_variant")
    layer = only_result(doc, before)
    assert shows(doc, layer, patches[2])

    trigger("edit_undo")  # one undo step: back to variant 2, still one layer
    layer = only_result(doc, before)
    assert shows(doc, layer, patches[1]), "one undo did not bring variant 2 back"
    assert projection(doc) == outside
    trigger("edit_undo")
    layer = only_result(doc, before)
    assert shows(doc, layer, patches[0]), (
        [shows(doc, layer, p) for p in patches],
        stack_of(doc, layer),
        [(c.name(), c.uniqueId().toString()) for c in doc.rootNode().childNodes()],
    )
    trigger("edit_redo")
    layer = only_result(doc, before)
    assert shows(doc, layer, patches[1]), "one redo did not show variant 2 again"

    activate(doc, layer)
    trigger("gpt_image_previous_variant")
    layer = only_result(doc, before)
    assert shows(doc, layer, patches[0])
    trigger("gpt_image_previous_variant")  # wraps around to the last
    layer = only_result(doc, before)
    assert shows(doc, layer, patches[2])

    strip(driver).setCurrentRow(1)  # a click on the second thumbnail
    spin(0.3)
    layer = only_result(doc, before)
    assert shows(doc, layer, patches[1])


def test_keep_one_and_keep_all(driver, docs):
    doc, before, layer = make_result(driver, docs)
    patches = driver.docker.last_result.patches
    driver.click("gptImageNextVariant")
    spin(0.3)
    layer = only_result(doc, before)
    activate(doc, layer)
    entries = undo_entries()
    driver.click("gptImageKeepAll")
    spin(0.3)
    if entries:
        assert undo_entries()[len(entries) :] == ["Add Layer", "Remove Layer"], undo_entries()
    group = only_result(doc, before)
    assert group.type() == "grouplayer"
    kids = list(reversed([c for c in group.childNodes() if c.type() == "paintlayer"]))
    assert len(kids) == 3
    assert [k.visible() for k in kids] == [False, True, False]
    for kid, patch in zip(kids, patches, strict=True):
        assert shows(doc, kid, patch)
    trigger("edit_undo")  # one step back to the single layer showing variant 2
    wait_until(lambda: only_result(doc, before).type() == "paintlayer", 5, "the undo")
    layer = only_result(doc, before)
    assert layer.type() == "paintlayer" and shows(doc, layer, patches[1])

    activate(doc, layer)
    wait_until(lambda: strip(driver).count() == 3, 5, "the strip")
    driver.click("gptImageKeepOne")
    spin(0.3)
    assert stack_of(doc, layer).count == 1 and stack_of(doc, layer).current.index == 1
    assert strip(driver).count() == 1
    assert shows(doc, layer, patches[1])
    from gpt_image.core.history import History
    from gpt_image.core.settings import load_settings

    record = History.from_settings(load_settings()).get(driver.docker.last_result.history_id)
    assert len(record.images) == 3, "keep one must not delete anything from history"


def test_strip_follows_the_active_layer(driver, docs):
    doc, before, first = make_result(driver, docs, n=2, prompt="first job")
    rect_selection(doc, 120, 90, 60, 50)
    driver.configure("second job", mode="edit_selection", n=3)
    driver.generate()
    second = only_result(doc, [*before, first.name()])
    activate(doc, second)
    wait_until(lambda: strip(driver).count() == 3, 5, "the strip to show the second job")
    activate(doc, first)
    wait_until(lambda: strip(driver).count() == 2, 5, "the strip to follow the older layer")
    background = doc.rootNode().childNodes()[0]
    activate(doc, background)  # a plain layer: the strip shows the newest result again
    wait_until(lambda: strip(driver).count() == 3, 5, "the strip to show the newest result")
    other = docs.new(100, 80)
    activate(other, other.rootNode().childNodes()[0])
    wait_until(lambda: strip(driver).count() == 0, 5, "the strip to empty in a fresh document")
    assert not driver.widget(QWidget, "gptImageKeepAll").isEnabled()


def test_the_strip_parses_the_variants_only_when_they_change(driver, docs, monkeypatch):
    """The strip looks at the active layer several times a second: looks that find the same
    annotation parse nothing (what the plug-in wrote it knows already), an annotation written
    from outside is parsed once, and the strip still follows flips and a new result layer."""
    import json

    from gpt_image import variants
    from gpt_image.qt import QByteArray

    looks, parses = [], []
    stack_of, parse = variants.stack_of, variants._parse
    monkeypatch.setattr(variants, "stack_of", lambda *a: looks.append(1) or stack_of(*a))
    monkeypatch.setattr(variants, "_parse", lambda raw: parses.append(1) or parse(raw))

    def a_few_more_looks() -> None:
        seen = len(looks)
        wait_until(lambda: len(looks) >= seen + 6, 10, "the strip to look a few times")

    doc, before, layer = make_result(driver, docs, n=2, prompt="parsed once")
    a_few_more_looks()
    driver.click("gptImageNextVariant")  # a flip: the plug-in writes the annotation
    wait_until(lambda: strip(driver).currentRow() == 1, 5, "the strip to follow the flip")
    title = driver.widget(QWidget, "gptImageResultsTitle")
    assert "showing 1.2" in title.text(), title.text()
    a_few_more_looks()
    assert parses == [], f"{len(parses)} parse(s) of what the plug-in itself wrote"

    # written from outside (a script, an older plug-in): read once, then known
    layer = only_result(doc, before)
    data = json.loads(bytes(doc.annotation(variants.STACK_KEY)).decode())
    data[variants.node_key(layer)]["shown"] = [0, 0]
    doc.setAnnotation(
        variants.STACK_KEY, variants.DESCRIPTION, QByteArray(json.dumps(data).encode())
    )
    wait_until(lambda: "showing 1.1" in title.text(), 5, "the strip to follow the annotation")
    a_few_more_looks()
    assert len(parses) == 1, f"{len(parses)} parses of one new annotation"

    rect_selection(doc, 120, 90, 60, 50)
    driver.configure("a new result", mode="edit_selection", n=3)
    driver.generate()
    assert "Done" in driver.status(), driver.status()
    activate(doc, only_result(doc, [*before, layer.name()]))
    wait_until(lambda: strip(driver).count() == 3, 5, "the strip to show the new layer")
    a_few_more_looks()
    assert len(parses) == 1, f"{len(parses) - 1} parse(s) of what the plug-in itself wrote"


# --- refine --------------------------------------------------------------------------------------


def test_refine_adds_a_round_to_the_same_layer(driver, docs):
    doc, before, layer = make_result(driver, docs, n=2, prompt="a green apple")
    first_id = driver.docker.last_result.history_id
    driver.click("gptImageNextVariant")
    spin(0.3)
    layer = only_result(doc, before)
    activate(doc, layer)
    seen = projection(doc)
    driver.set_prompt("add a leaf")
    driver.click("gptImageRefine")
    wait_until(lambda: not driver.docker.busy, 60, "the refine")
    spin(0.3)
    assert "round 2" in driver.status(), driver.status()
    layer = only_result(doc, before)
    stack = stack_of(doc, layer)
    assert len(stack.rounds) == 2 and stack.count == 4 and stack.shown == (1, 0)
    assert stack.rounds[1].parent_id == first_id
    prompt = image_requests()[-1]["params"]["prompt"]
    assert "a green apple" in prompt and "add a leaf" in prompt
    from gpt_image.core.history import History
    from gpt_image.core.settings import load_settings

    history = History.from_settings(load_settings())
    child = history.get(stack.rounds[1].history_id)
    parent = history.get(first_id)
    assert child.data["parent_id"] == first_id and child.data["parent_variant"] == 1
    assert child.data["crop"] == parent.data["crop"]
    assert child.inputs["mask"].read_bytes() == parent.inputs["mask"].read_bytes()
    # the source was what the user saw (variant 2 composited over the document)
    x, y, w, h = parent.data["crop"]
    seen_rgba = np.frombuffer(seen, np.uint8).reshape(doc.height(), doc.width(), 4)[
        ..., [2, 1, 0, 3]
    ]
    want = Image.fromarray(np.ascontiguousarray(seen_rgba[y : y + h, x : x + w]), "RGBA")
    with Image.open(child.inputs["image"]) as sent:
        want = want.resize(sent.size, Image.Resampling.LANCZOS)
        diff = np.abs(np.asarray(want, np.int16) - np.asarray(sent.convert("RGBA"), np.int16))
        assert diff.max() <= 2
    assert shows(doc, layer, driver.docker.last_result.patches[0])
    texts = [strip(driver).item(i).text()[:3] for i in range(strip(driver).count())]
    assert texts == ["1.1", "1.2", "2.1", "2.2"]
    trigger("edit_undo")  # the refine's round shown -> back to what was shown before
    layer = only_result(doc, before)
    assert stack_of(doc, layer).shown == (0, 1)


def test_refine_needs_a_result_layer_and_a_follow_up(driver, docs):
    docs.new(120, 90)
    driver.set_prompt("x")
    spin(0.4)
    assert not driver.widget(QWidget, "gptImageRefine").isEnabled()
    trigger("gpt_image_refine")  # the action on a plain layer explains itself
    assert "result layer" in driver.status()
    assert image_requests() == []
    make_result(driver, docs, n=1)
    driver.set_prompt("   ")
    driver.click("gptImageRefine")
    assert "follow-up" in driver.status() and not driver.docker.busy


def test_a_result_layer_is_read_as_seen(driver, docs):
    """A new Edit on a result layer sends it with its mask applied (no grey halo)."""
    doc, _before, layer = make_result(driver, docs, n=1, prompt="a ring")
    patch = driver.docker.last_result.patches[0]
    activate(doc, layer)
    doc.setSelection(None)
    settle(doc)
    driver.configure("a ring, sharper", mode="edit_image", source="layer", n=1)
    driver.generate()
    assert "Done" in driver.status(), driver.status()
    from gpt_image.core.history import History
    from gpt_image.core.settings import load_settings

    record = History.from_settings(load_settings()).get(driver.docker.last_result.history_id)
    with Image.open(record.inputs["image"]) as sent:
        alpha = np.asarray(sent.convert("RGBA").getchannel("A"))
    crop = record.data["crop"]
    assert tuple(crop[2:]) == (doc.width(), doc.height())
    scale = alpha.shape[1] / crop[2]
    mask = np.asarray(patch.mask)
    x, y, w, h = patch.bounds
    far = (int((x + 2) * scale), int((y + 2) * scale))  # mask 0 there: hidden pixels
    assert mask[2, 2] == 0 and alpha[far[1], far[0]] == 0, "raw hidden pixels were sent"
    centre = (int((x + w // 2) * scale), int((y + h // 2) * scale))
    assert alpha[centre[1], centre[0]] == 255


# --- the docker on a real screen -----------------------------------------------------------------


def widest_rows(root, limit):
    """The visible layouts (rows) of ``root`` whose minimum width passes ``limit``: what to fix."""
    try:
        from PyQt5.QtWidgets import QLayout
    except ImportError:  # Krita 6
        from PyQt6.QtWidgets import QLayout
    found = []
    for layout in root.findChildren(QLayout):
        owner = layout.parentWidget()
        if owner is None or not owner.isVisible() or layout.minimumSize().width() <= limit:
            continue
        items = [layout.itemAt(i).widget() for i in range(layout.count())]
        names = [w.objectName() or type(w).__name__ for w in items if w is not None]
        found.append((layout.minimumSize().width(), owner.objectName(), names[:6]))
    return found


def test_docker_fits_a_1080_screen_with_everything_open(driver, docs):
    """Krita's window over a whole 1920x1080 screen, the docker docked on the right beside
    Krita's default dockers, with a 3-variant result in the strip and Advanced, Results,
    Compare models and History all open: the window stays on the screen, Layers keeps its
    rows, and the docker needs no sideways scrolling at the dock's default width."""
    try:
        from PyQt5.QtWidgets import QDockWidget, QScrollArea
    except ImportError:  # Krita 6
        from PyQt6.QtWidgets import QDockWidget, QScrollArea

    window = Krita.instance().activeWindow().qwindow()
    screen = QApplication.primaryScreen().availableGeometry()
    old = dock_right_on_a_1080_screen(driver)
    docker = driver.docker
    make_result(driver, docs, n=3)
    driver.widget(QWidget, "gptImageAdvancedToggle").setChecked(True)
    for name in ("Results", "Compare", "History"):
        driver.docker.findChild(QWidget, f"gptImage{name}Section").set_open(True)
    spin(0.5)
    try:
        assert docker.minimumSizeHint().height() < 400, docker.minimumSizeHint()
        assert docker.widget().minimumSizeHint().height() < 400
        assert window.minimumSizeHint().height() <= screen.height(), window.minimumSizeHint()
        assert window.height() <= screen.height(), (window.geometry(), screen)
        layers = window.findChild(QDockWidget, "KisLayerBox")
        if layers is not None and layers.isVisible():
            assert layers.height() >= 150, f"Layers squeezed to {layers.height()} px"
        scroll = driver.widget(QScrollArea, "gptImageScroll")
        content = scroll.widget().minimumSizeHint().width()
        assert content <= scroll.viewport().width(), (
            f"the docker's content needs {content} px, the dock gives {scroll.viewport().width()}"
            " px: it scrolls sideways",
            widest_rows(scroll.widget(), scroll.viewport().width() - 30),
        )
        assert not scroll.horizontalScrollBar().isVisible()
    finally:
        driver.widget(QWidget, "gptImageAdvancedToggle").setChecked(False)
        driver.docker.findChild(QWidget, "gptImageCompareSection").set_open(False)
        window.setGeometry(old)
        spin(0.2)


def dock_right_on_a_1080_screen(driver):
    """Krita's window over the whole screen, the docker docked on the right at the dock's
    default width; returns the window's old geometry (to put back)."""
    try:
        from PyQt5.QtCore import Qt
    except ImportError:  # Krita 6
        from PyQt6.QtCore import Qt

    window = Krita.instance().activeWindow().qwindow()
    old = window.geometry()
    # maximized (Xvfb has no window manager to do it)
    window.setGeometry(QApplication.primaryScreen().availableGeometry())
    docker = driver.docker
    right = Qt.DockWidgetArea.RightDockWidgetArea
    if docker.isFloating() or window.dockWidgetArea(docker) != right:
        docker.setFloating(False)
        window.addDockWidget(right, docker)
    docker.show()
    return old


def out_of_sight(docker, widget):
    """Why ``widget`` is not wholly in sight inside ``docker`` (None when it is): hidden, or its
    rectangle not inside the docker, the window, or any widget between them (a scroll area's
    viewport clips what it scrolls)."""
    try:
        from PyQt5.QtCore import QPoint, QRect
    except ImportError:  # Krita 6
        from PyQt6.QtCore import QPoint, QRect

    name = widget.objectName()
    if not widget.isVisible() or widget.height() <= 0 or widget.width() <= 0:
        return f"{name} is hidden ({widget.size()})"
    window = docker.window()
    parent = widget.parentWidget()
    while parent is not None:
        shown = QRect(widget.mapTo(parent, QPoint(0, 0)), widget.size())
        if not parent.rect().contains(shown):
            return f"{name} at {shown} is cut by {parent.objectName() or type(parent).__name__} {parent.rect()}"
        if parent is docker:
            break
        parent = parent.parentWidget()
    shown = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
    if not window.rect().contains(shown):
        return f"{name} at {shown} is outside the window {window.rect()}"
    return None


def test_generate_cancel_prompt_and_status_stay_in_sight_at_1080(driver, docs):
    """At the height Krita's default layout gives the docker on a 1920x1080 screen (~186 px in
    Krita 6.0, ~270 px in 5.1), and as short as the dock lets it get, the prompt, Generate,
    Cancel, the estimate, the progress, the cost line and the status are in sight without
    scrolling: with the options as they start, with Advanced and every section open, and with
    the options scrolled to their end. The test sets up its own state (docked on the right,
    sections as a new user finds them, a job's widgets shown) and puts the old one back."""
    try:
        from PyQt5.QtCore import Qt
        from PyQt5.QtWidgets import QScrollArea
    except ImportError:  # Krita 6
        from PyQt6.QtCore import Qt
        from PyQt6.QtWidgets import QScrollArea
    import time

    window = Krita.instance().activeWindow().qwindow()
    docker = driver.docker
    advanced = driver.widget(QWidget, "gptImageAdvancedToggle")
    sections = [docker.results_section, docker.compare_section, docker.history_section]
    was = (advanced.isChecked(), [s.is_open for s in sections], docker.status.text())
    scroll = driver.widget(QScrollArea, "gptImageScroll")
    pinned = [
        "gptImagePrompt",
        "gptImageGenerate",
        "gptImageCancel",
        "gptImageEstimate",
        "gptImageProgress",
        "gptImageCost",
        "gptImageStatus",
    ]
    old = dock_right_on_a_1080_screen(driver)
    spin(0.3)
    old_height = docker.height()
    docs.new(200, 150)
    heights = []

    def all_in_sight(how: str) -> None:
        spin(0.2)
        missing = []
        end = time.monotonic() + 3
        while True:
            body = docker.widget().layout()
            if body is not None:
                body.activate()
            missing = [out_of_sight(docker, driver.widget(QWidget, n)) for n in pinned]
            missing = [m for m in missing if m]
            if not missing or time.monotonic() > end:
                break
            spin(0.1)
        heights.append(docker.height())
        assert not missing, (how, docker.height(), missing)

    try:
        advanced.setChecked(False)  # as the docker starts
        for section, open_ in zip(sections, (True, False, True), strict=True):
            section.set_open(open_)
        # a job running: Cancel enabled, the progress shown, the estimate and the cost set
        docker.panel.set_running(time.monotonic())
        docker.cost_label.setText("estimate $0.02")
        docker.panel.set_estimate("≈ $0.02", "")
        docker.show_message("Sending to gpt-image-2 (1024x1024)…")
        for height in ("default", "shortest"):
            if height == "shortest":  # dragged as short as it goes (Qt keeps its minimum)
                window.resizeDocks([docker], [1], Qt.Orientation.Vertical)
            all_in_sight(f"as it starts, docker height {height}")
            advanced.setChecked(True)
            for section in sections:
                section.set_open(True)
            all_in_sight(f"everything open, docker height {height}")
            bar = scroll.verticalScrollBar()
            bar.setValue(bar.maximum())
            all_in_sight(f"options scrolled to the end, docker height {height}")
            assert bar.maximum() > 0, "the options should scroll at this height"
            bar.setValue(0)
            advanced.setChecked(False)
            for section, open_ in zip(sections, (True, False, True), strict=True):
                section.set_open(open_)
        assert heights[-1] < heights[0] or heights[0] <= docker.minimumSizeHint().height(), (
            "the dock did not get shorter",
            heights,
        )
    finally:
        docker.panel.set_running(None)
        docker.cost_label.setText("")
        advanced.setChecked(was[0])
        for section, open_ in zip(sections, was[1], strict=True):
            section.set_open(open_)
        docker.show_message(was[2])
        window.resizeDocks([docker], [old_height], Qt.Orientation.Vertical)
        window.setGeometry(old)
        spin(0.2)


def test_empty_job_lines_take_no_room_above_the_options(driver, docs):
    """With no job and nothing to say, the elapsed time, the cost and the status take no
    height in the pinned part (in Krita 6.0's ~186 px at 1080 every such line is a line of
    options less); once set, each shows."""
    docker = driver.docker
    frame = driver.widget(QWidget, "gptImageDockerFrame")
    line = docker.status.fontMetrics().lineSpacing()
    was = docker.status.text()
    try:
        docker.show_message("")
        docker.cost_label.setText("")
        docker.elapsed_label.setText("")
        spin(0.1)
        quiet = frame.sizeHint().height()
        assert not docker.status.isVisible() and not docker.cost_label.isVisible()
        docker.show_message("Sending to gpt-image-2 (1024x1024)…")
        docker.cost_label.setText("estimate $0.02")
        spin(0.1)
        told = frame.sizeHint().height()
        assert docker.status.isVisible() and docker.cost_label.isVisible()
        assert told - quiet >= 2 * line, (quiet, told, line)
    finally:
        docker.cost_label.setText("")
        docker.show_message(was)


def test_a_long_prompt_is_elided_in_history_without_sideways_scrolling(driver, docs):
    """A 400-character prompt: its History entry is cut (…) to the list's width at the dock's
    default width, the full prompt is the tooltip, the list never scrolls sideways, and a
    wider dock shows more of it."""
    prompt = " ".join(f"word{i:03d}" for i in range(60))[:399] + "."
    assert len(prompt) == 400
    window = Krita.instance().activeWindow().qwindow()
    old = dock_right_on_a_1080_screen(driver)
    history = driver.docker.history
    history_list = history.list
    try:
        driver.docker.history_section.set_open(True)
        docs.new(120, 90)
        driver.configure(prompt, mode="generate")
        driver.generate()
        assert "Done" in driver.status(), driver.status()
        wait_until(lambda: history_list.count() > 0, 5, "history to list the job")
        spin(0.3)
        item = history_list.item(0)
        first, facts = item.text().split("\n")
        assert first.endswith("…") and prompt.startswith(first[:-1]), first
        assert item.toolTip().startswith(prompt + "\n"), item.toolTip()
        metrics = history_list.fontMetrics()
        room = history_list.viewport().width() - history_list.iconSize().width()
        assert metrics.horizontalAdvance(first) <= room, (first, room)
        assert metrics.horizontalAdvance(facts) <= room, (facts, room)
        assert history_list.width() <= driver.docker.width()
        shown = history_list.visualItemRect(item)
        assert shown.right() < history_list.viewport().width(), (shown, history_list.viewport())
        bar = history_list.horizontalScrollBar()
        assert bar.maximum() == 0 and not bar.isVisible(), (bar.maximum(), bar.isVisible())
        # a wider dock: the entry is elided again, showing more of the prompt
        driver.docker.setFloating(True)
        driver.docker.resize(history_list.width() + 300, 700)
        wait_until(lambda: len(item.text()) > len(first) + 20, 5, "the entry to show more")
        wider = item.text().split("\n")[0]
        assert prompt.startswith(wider.rstrip("…")) and len(wider) > len(first) + 20, wider
    finally:
        driver.docker.setFloating(False)
        dock_right_on_a_1080_screen(driver)
        window.setGeometry(old)
        spin(0.2)


def test_cancel_resets_cost_and_elapsed(driver, docs):
    doc = docs.new(160, 120)
    rect_selection(doc, 20, 20, 60, 50)
    driver.configure("slow sky [[delay:1.0]]", mode="edit_selection", partials=2)
    driver.click("gptImageGenerate")
    wait_until(lambda: driver.docker.elapsed_label.text() != "", 10, "the elapsed time")
    assert driver.docker.cost_label.text().startswith("estimate")
    driver.click("gptImageCancel")
    assert driver.docker.cost_label.text() == "" and driver.docker.elapsed_label.text() == ""
    spin(0.5)
    assert driver.docker.elapsed_label.text() == ""
    assert driver.docker.estimate_label.text().startswith("≈ $")


def test_estimate_follows_every_option(driver, docs):
    docs.new(400, 300)
    driver.configure("a kite", mode="generate", quality="low")
    label = driver.docker.estimate_label
    wait_until(lambda: label.text().startswith("≈ $"), 5, "an estimate")
    for change in (
        lambda: driver.set_spin("gptImageVariants", 2),
        lambda: driver.choose("gptImageQuality", "medium"),
        lambda: driver.choose("gptImageModel", "gpt-image-1.5"),
        lambda: driver.set_spin("gptImagePartials", 3),
    ):
        before = label.text()
        change()
        wait_until(lambda b=before: label.text() != b, 5, "the estimate to change")


def test_compare_models_in_one_click(driver, docs):
    try:
        from PyQt5.QtWidgets import QLabel, QLineEdit
    except ImportError:  # Krita 6
        from PyQt6.QtWidgets import QLabel, QLineEdit

    doc = docs.new(220, 170)
    rect_selection(doc, 30, 25, 100, 80)
    before = node_names(doc)
    driver.configure("a lantern", mode="edit_selection", n=1, quality="low")
    driver.widget(QWidget, "gptImageCompareSectionToggle").click()
    driver.widget(QLineEdit, "gptImageCompare").setText("gpt-image-2:low, gpt-image-1.5:high")
    label = driver.widget(QLabel, "gptImageCompareEstimate")
    wait_until(lambda: label.text().endswith("for 2 runs"), 5, "the summed estimate")
    assert image_requests() == [], "an estimate must send nothing"
    driver.click("gptImageCompareRun")
    wait_until(lambda: not driver.docker.busy, 60, "the comparison")
    spin(0.3)
    assert "comparing 2 model run(s)" in driver.status(), driver.status()
    layer = only_result(doc, before)
    stack = stack_of(doc, layer)
    assert [(r.model, r.quality) for r in stack.rounds] == [
        ("gpt-image-2", "low"),
        ("gpt-image-1.5", "high"),
    ]
    sent = sorted((r["params"]["model"], r["params"]["quality"]) for r in image_requests())
    assert sent == [("gpt-image-1.5", "high"), ("gpt-image-2", "low")]
    activate(doc, layer)
    wait_until(lambda: strip(driver).count() == 2, 5, "the strip")
    assert strip(driver).item(1).text().startswith("2.1 gpt-image-1.5 high")
    driver.widget(QWidget, "gptImageCompareSectionToggle").click()
