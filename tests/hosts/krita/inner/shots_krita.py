"""The README's Krita screenshots, made INSIDE the real Krita by ``tools/screenshots.py``.

Not part of the test suite (pytest.ini collects ``test_*.py`` only): the tool runs this module
alone (``-o python_files=shots_krita.py``) against the stand-in, with ``GPT_IMAGE_SCREENSHOTS``
naming the folder the PNGs go to (the tool puts the picture they open there, ``meadow.png``). Each function drives the docker as a user does (prompt,
selection, Generate, a click on a thumbnail, Refine) and grabs the widgets as drawn; the
asserts only make sure each picture shows what its name says.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import activate, ellipse_selection, settle, spin, standin, wait_until
from gpt_image.qt import QLineEdit, QListWidget, QWidget
from krita import Krita

try:
    from PyQt5.QtWidgets import QApplication, QDockWidget
except ImportError:  # Krita 6
    from PyQt6.QtWidgets import QApplication, QDockWidget

SHOTS = Path(os.environ.get("GPT_IMAGE_SCREENSHOTS") or "/tmp/gpt-image-shots")
SELECTION = (700, 90, 330, 230)
DOCKER_PX = 700  # the docker dragged this tall for its own pictures (of ~950 px on a 1080 screen)  # the sky right of the sun, where the kite goes


def picture_document():
    """The scene the tool made, opened as a user opens a file (File → Open)."""
    app = Krita.instance()
    doc = app.openDocument(str(SHOTS / "meadow.png"))
    assert doc is not None, SHOTS / "meadow.png"
    app.activeWindow().addView(doc)
    wait_until(lambda: app.activeDocument() == doc, 10, "the picture to be active")
    settle(doc)
    activate(doc, doc.rootNode().childNodes()[0])
    return doc


def fit_view() -> None:
    """Zoom the canvas to fit the window, as a person does after opening a picture."""
    action = Krita.instance().action("zoom_to_fit")
    if action is not None:
        action.trigger()
    spin(0.3)


def save(widget: QWidget, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    spin(0.2)  # let pending paints land
    path = SHOTS / name
    assert widget.grab().save(str(path)), path
    return path


def qt_enum(group: str, name: str):
    """A Qt enum member under PyQt5 and PyQt6 alike (``Qt.DockWidgetArea.RightDockWidgetArea``)."""
    try:
        from PyQt5.QtCore import Qt
    except ImportError:  # Krita 6
        from PyQt6.QtCore import Qt
    return getattr(getattr(Qt, group, Qt), name)


def main_window():
    return Krita.instance().activeWindow().qwindow()


def fill_screen() -> None:
    """The main window over the whole 1920x1080 screen (Xvfb has no window manager to maximize
    it), as Krita opens on a 1080 px monitor."""
    window = main_window()
    window.setGeometry(QApplication.primaryScreen().availableGeometry())
    spin(0.5)


def dock_docker(driver, height: int = 0) -> None:
    """The docker in the right dock area beside Krita's default dockers, where Settings →
    Dockers → GPT Image puts it; ``height``: dragged that tall, as a person gives it room."""
    fill_screen()
    window = main_window()
    docker = driver.docker
    docker.setFloating(False)
    right = qt_enum("DockWidgetArea", "RightDockWidgetArea")
    if window.dockWidgetArea(docker) != right:
        window.addDockWidget(right, docker)
    docker.show()
    docker.raise_()
    spin(0.3)
    if height:
        window.resizeDocks([docker], [height], qt_enum("Orientation", "Vertical"))
        spin(0.3)


def scroll_to(driver, name: str) -> None:
    """Scroll the docker to the widget ``name``, as a person scrolls to it."""
    from gpt_image.qt import QScrollArea

    scroll = driver.widget(QScrollArea, "gptImageScroll")
    scroll.ensureWidgetVisible(driver.widget(QWidget, name), 0, 8)
    spin(0.2)


def new_layer(doc, before: set[str]):
    """The one top-level layer that is not in ``before`` (uuids)."""
    [layer] = [c for c in doc.rootNode().childNodes() if c.uniqueId().toString() not in before]
    return layer


def fill_form(driver, prompt: str, n: int = 3, partials: int = 0) -> None:
    driver.set_prompt(prompt)
    driver.choose("gptImageMode", "edit_selection")
    driver.choose("gptImageQuality", "medium")
    driver.set_spin("gptImageVariants", n)
    driver.set_spin("gptImagePartials", partials)


def geometry_report(driver) -> dict:
    """Where the docker and Krita's own dockers sit in the window (printed with the shots)."""
    window = main_window()
    report = {
        "screen": list(QApplication.primaryScreen().availableGeometry().getRect()),
        "window": [window.width(), window.height()],
        "window_min": [window.minimumSizeHint().width(), window.minimumSizeHint().height()],
        "docks": {},
    }
    for dock in window.findChildren(QDockWidget):
        if dock.isVisible() and not dock.isFloating() and dock.objectName():
            geo = dock.geometry()
            report["docks"][dock.objectName()] = [geo.x(), geo.y(), geo.width(), geo.height()]
    return report


# --- the shots, in the order a new user meets them ---------------------------------------------


def test_shot_window_1080(driver, docs):
    """The whole Krita window on a 1920x1080 screen: docker docked, Advanced open, a selection."""
    doc = picture_document()
    docs.created.append(doc)
    dock_docker(driver)
    ellipse_selection(doc, SELECTION, feather=4)
    fill_form(driver, "a red kite in the sky, its tail streaming in the wind")
    driver.widget(QWidget, "gptImageAdvancedToggle").setChecked(True)
    fit_view()
    wait_until(lambda: driver.docker.estimate_label.text().startswith("≈ $"), 10, "an estimate")
    window = main_window()
    report = geometry_report(driver)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "krita-window-1080.json").write_text(json.dumps(report, indent=1))
    screen = QApplication.primaryScreen().availableGeometry()
    assert (window.width(), window.height()) == (screen.width(), screen.height()), report
    save(window, "krita-window-1080.png")
    driver.widget(QWidget, "gptImageAdvancedToggle").setChecked(False)


def test_shot_docker_progress_strip_history(driver, docs):
    """Generate with streamed previews (the progress), the strip after a flip, a refine round,
    and History: one job, four pictures of the docker."""
    doc = picture_document()
    docs.created.append(doc)
    dock_docker(driver, height=DOCKER_PX)
    fit_view()
    ellipse_selection(doc, SELECTION, feather=4)
    fill_form(driver, "a red kite in the sky, its tail streaming in the wind", partials=2)
    wait_until(lambda: driver.docker.estimate_label.text().startswith("≈ $"), 10, "an estimate")
    save(driver.docker, "krita-docker.png")

    # streamed previews come with one variant a request (the API's rule): a one-image job first
    shown = driver.docker.estimate_label.text()
    driver.set_spin("gptImageVariants", 1)
    wait_until(lambda: driver.docker.estimate_label.text() != shown, 10, "the estimate for 1")
    standin("/_standin/faults", [{"kind": "delay", "seconds": 1.2}])  # time to see the preview
    driver.click("gptImageGenerate")
    wait_until(lambda: not driver.docker.preview.isHidden(), 30, "a partial preview")
    assert driver.docker.busy, "the job ended before its preview could be shown"
    scroll_to(driver, "gptImagePreview")
    save(driver.docker, "krita-progress.png")
    wait_until(lambda: not driver.docker.busy, 60, "the job to finish")
    assert "Done" in driver.status(), driver.status()

    before = {c.uniqueId().toString() for c in doc.rootNode().childNodes()}
    activate(doc, doc.rootNode().childNodes()[0])
    fill_form(driver, "a red kite in the sky, its tail streaming in the wind", n=3)
    driver.generate()
    assert "Done" in driver.status(), driver.status()
    layer = new_layer(doc, before)
    activate(doc, layer)
    strip = driver.widget(QListWidget, "gptImageResults")
    wait_until(lambda: strip.count() == 3, 10, "the strip to list the variants")
    strip.setCurrentRow(1)  # a click on the second thumbnail
    spin(0.5)
    scroll_to(driver, "gptImageKeepAll")
    save(driver.docker, "krita-result-strip.png")
    save(main_window(), "krita-window-result.png")

    driver.set_prompt("make the kite blue, keep the clouds")
    driver.set_spin("gptImageVariants", 2)
    driver.set_spin("gptImagePartials", 0)
    driver.click("gptImageRefine")
    wait_until(lambda: not driver.docker.busy, 60, "the refine")
    spin(0.3)
    assert "round 2" in driver.status(), driver.status()
    layer = new_layer(doc, before)
    activate(doc, layer)
    wait_until(lambda: strip.count() == 5, 10, "the strip to show round 2")
    scroll_to(driver, "gptImageKeepAll")
    save(driver.docker, "krita-refined.png")

    driver.widget(QWidget, "gptImageResultsSectionToggle").click()  # fold Results: History shows
    driver.docker.history.refresh()
    history = driver.widget(QListWidget, "gptImageHistoryList")
    wait_until(lambda: history.count() >= 2, 10, "History to list the jobs")
    scroll_to(driver, "gptImageHistoryInsert")
    save(driver.docker, "krita-history.png")
    driver.widget(QWidget, "gptImageResultsSectionToggle").click()


def test_shot_compare(driver, docs):
    """Compare models: two entries, the summed estimate before anything is sent."""
    doc = picture_document()
    docs.created.append(doc)
    dock_docker(driver, height=DOCKER_PX)
    ellipse_selection(doc, SELECTION, feather=4)
    fill_form(driver, "a red kite in the sky", n=1)
    driver.widget(QWidget, "gptImageCompareSectionToggle").click()
    driver.widget(QLineEdit, "gptImageCompare").setText("gpt-image-2:medium gpt-image-1.5:high")
    label = driver.docker.findChild(QWidget, "gptImageCompareEstimate")
    wait_until(lambda: label.text().endswith("for 2 runs"), 10, "the summed estimate")
    scroll_to(driver, "gptImageCompareRun")
    save(driver.docker, "krita-compare.png")
    driver.widget(QWidget, "gptImageCompareSectionToggle").click()
