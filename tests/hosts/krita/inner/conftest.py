"""Fixtures for tests that run INSIDE Krita (started by the harness plugin, see kritarun.py).

They drive the GPT Image docker through its own widgets (found by objectName) against the
Images API stand-in, whose address the outer test passes in ``GPT_IMAGE_TEST_STANDIN_ROOT``.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from gpt_image.qt import QByteArray, QComboBox, QPlainTextEdit, QPushButton, QSpinBox
from gpt_image_test_harness import pause
from krita import Krita, Selection
from PIL import Image, ImageDraw

STANDIN = os.environ.get("GPT_IMAGE_TEST_STANDIN_ROOT", "")


# --- the event loop ------------------------------------------------------------------------------


def spin(seconds: float = 0.05) -> None:
    """Let Krita run for ``seconds``, its top-level event loop included (see the harness)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pause()


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Let Krita run until ``predicate()`` holds; fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        pause()


# --- the stand-in --------------------------------------------------------------------------------


def standin(path: str, payload: Any = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        STANDIN + path, data=data, method="POST" if data is not None else "GET"
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


def image_requests() -> list[dict]:
    reqs = standin("/_standin/requests")
    reqs = reqs.get("requests", reqs) if isinstance(reqs, dict) else reqs
    return [r for r in reqs if r.get("endpoint") in ("edits", "generations")]


@pytest.fixture(autouse=True)
def reset_standin() -> None:
    standin("/_standin/reset", {})


# --- the docker ----------------------------------------------------------------------------------


class DockerDriver:
    """Drives the docker the way a person does: widgets by objectName, clicks, typed text."""

    def __init__(self, docker: Any) -> None:
        self.docker = docker

    def widget(self, cls: Any, name: str) -> Any:
        found = self.docker.findChild(cls, name)
        assert found is not None, f"no {cls.__name__} named {name}"
        return found

    def set_prompt(self, text: str) -> None:
        self.widget(QPlainTextEdit, "gptImagePrompt").setPlainText(text)

    def choose(self, name: str, value: str) -> None:
        box = self.widget(QComboBox, name)
        index = box.findData(value)
        if index < 0:
            index = box.findText(value)
        assert index >= 0, f"{value!r} not in {name}"
        box.setCurrentIndex(index)

    def set_spin(self, name: str, value: int) -> None:
        self.widget(QSpinBox, name).setValue(value)

    def click(self, name: str) -> None:
        button = self.widget(QPushButton, name)
        assert button.isEnabled(), f"{name} is disabled"
        button.click()

    def status(self) -> str:
        return self.docker.status.text()

    def configure(
        self,
        prompt: str,
        mode: str = "edit_selection",
        *,
        source: str = "layer",
        n: int = 1,
        partials: int = 0,
        quality: str = "low",
        feather: int = 8,
        grow: int = 6,
        padding: int = 48,
    ) -> None:
        self.set_prompt(prompt)
        self.choose("gptImageMode", mode)
        self.choose("gptImageSource", source)
        self.choose("gptImageQuality", quality)
        self.choose("gptImageResolution", "auto")
        self.set_spin("gptImageVariants", n)
        self.set_spin("gptImagePartials", partials)
        self.set_spin("gptImageFeather", feather)
        self.set_spin("gptImageGrow", grow)
        self.set_spin("gptImagePadding", padding)

    def generate(self, timeout: float = 60.0) -> None:
        """Click Generate and wait until the job is over (done, failed or refused)."""
        self.click("gptImageGenerate")
        wait_until(lambda: not self.docker.busy, timeout, "the job to finish")
        spin(0.05)


@pytest.fixture
def driver() -> Iterator[DockerDriver]:
    from gpt_image.docker import INSTANCES

    assert INSTANCES, "the GPT Image docker was not created"
    docker = INSTANCES[0]
    if not docker.isVisible():  # a fresh profile may start with the docker hidden
        docker.show()
        spin(0.1)
    docker.cancel()
    docker.form.clear_references()
    docker.status.setText("")
    docker.last_result = None
    docker.last_inserted = None
    yield DockerDriver(docker)
    docker.cancel()
    wait_until(lambda: not docker.busy, 10)


# --- documents -----------------------------------------------------------------------------------


def pattern(width: int, height: int, seed: int = 1) -> Image.Image:
    """A busy, deterministic RGBA picture (so any change shows)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([(x * 3) % 256, (y * 5) % 256, ((x + y) * 7) % 256], axis=-1).astype(np.int32)
    rgb = (rgb + rng.integers(0, 16, size=rgb.shape)) % 256
    alpha = np.full((height, width, 1), 255)
    return Image.fromarray(np.concatenate([rgb, alpha], axis=-1).astype(np.uint8), "RGBA")


def host_bytes(doc: Any, image: Image.Image) -> bytes:
    from gpt_image.core.pixels import is_linear_profile, krita_pixel_format, to_host

    fmt = krita_pixel_format(doc.colorModel(), doc.colorDepth())
    return to_host(image, fmt, linear=is_linear_profile(doc.colorProfile()))


class Docs:
    """Creates documents shown in the main window and closes them after the test."""

    def __init__(self) -> None:
        self.created: list[Any] = []

    def new(
        self,
        width: int = 301,
        height: int = 203,
        model: str = "RGBA",
        depth: str = "U8",
        seed: int = 1,
    ) -> Any:
        app = Krita.instance()
        doc = app.createDocument(width, height, f"test-{len(self.created)}", model, depth, "", 72.0)
        self.created.append(doc)
        app.activeWindow().addView(doc)
        wait_until(lambda: app.activeDocument() == doc, 10, "the new document to be active")
        layer = doc.rootNode().childNodes()[0]
        if model in ("RGBA", "GRAYA"):
            layer.setPixelData(
                QByteArray(host_bytes(doc, pattern(width, height, seed))), 0, 0, width, height
            )
        settle(doc)
        activate(doc, layer)
        return doc

    def close_all(self) -> None:
        # Krita 5.1 crashes when a document closes within ~0.1 s of a new selection (its
        # selection outline is still being worked on): a test that fails right after selecting
        # would otherwise take the whole run down with it.
        spin(0.25)
        open_docs = Krita.instance().documents()
        for doc in self.created:
            # close() on a document that is already closed crashes Krita 5.1
            if doc.rootNode() is None or not any(d == doc for d in open_docs):
                continue
            doc.setModified(False)
            doc.close()
        spin(0.1)


@pytest.fixture
def docs() -> Iterator[Docs]:
    made = Docs()
    yield made
    made.close_all()


def settle(doc: Any) -> None:
    doc.refreshProjection()
    doc.waitForDone()
    spin(0.05)


def projection(doc: Any) -> bytes:
    settle(doc)
    return bytes(doc.pixelData(0, 0, doc.width(), doc.height()))


def ellipse_selection(doc: Any, box: tuple[int, int, int, int], feather: float = 0) -> np.ndarray:
    """Select an anti-aliased ellipse inside ``box`` (x, y, w, h); returns its canvas coverage."""
    from PIL import ImageFilter

    x, y, w, h = box
    canvas = Image.new("L", (doc.width(), doc.height()), 0)
    big = Image.new("L", (w * 4, h * 4), 0)
    ImageDraw.Draw(big).ellipse((0, 0, w * 4 - 1, h * 4 - 1), fill=255)
    canvas.paste(big.resize((w, h), Image.Resampling.LANCZOS), (x, y))
    if feather:
        canvas = canvas.filter(ImageFilter.GaussianBlur(feather))
    selection = Selection()
    selection.setPixelData(QByteArray(canvas.tobytes()), 0, 0, doc.width(), doc.height())
    doc.setSelection(selection)
    settle(doc)
    return np.asarray(canvas)


def rect_selection(doc: Any, x: int, y: int, w: int, h: int) -> None:
    selection = Selection()
    selection.select(x, y, w, h, 255)
    doc.setSelection(selection)
    settle(doc)


def activate(doc: Any, node: Any) -> None:
    """Make ``node`` the active layer (Krita applies queued activations first: wait for it)."""

    seen: list[str] = []

    def active() -> bool:
        doc.setActiveNode(node)
        pause()
        current = doc.activeNode()
        seen.append(current.name() if current is not None else "None")
        return current is not None and current.uniqueId() == node.uniqueId()

    try:
        wait_until(active, 5, f"{node.name()} to become active")
    except AssertionError as error:
        raise AssertionError(f"{error}; active was {sorted(set(seen))}") from None


def children(node: Any) -> list[Any]:
    return list(node.childNodes())


def node_names(doc: Any) -> list[str]:
    return [c.name() for c in doc.rootNode().childNodes()]
