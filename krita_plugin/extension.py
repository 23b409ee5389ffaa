"""Registers the docker and the actions (Generate, Cancel, Repeat last, Next / Previous variant,
Refine) with Krita.

Actions act on the docker of the active window. Default shortcuts come from ``gpt_image.action``
when Krita finds it, else from ``DEFAULT_SHORTCUTS``; users rebind them in Krita's settings.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import sys
from typing import Any

from krita import DockWidget, DockWidgetFactory, DockWidgetFactoryBase, Extension, Krita

from .qt import QKeySequence, QLabel

ACTIONS = (
    ("gpt_image_generate", "GPT Image: Generate", "generate"),
    ("gpt_image_cancel", "GPT Image: Cancel", "cancel"),
    ("gpt_image_repeat_last", "GPT Image: Repeat last", "repeat_last"),
    ("gpt_image_next_variant", "GPT Image: Next variant", "next_variant"),
    ("gpt_image_previous_variant", "GPT Image: Previous variant", "previous_variant"),
    ("gpt_image_refine", "GPT Image: Refine this result", "refine"),
)
DEFAULT_SHORTCUTS = {
    "gpt_image_generate": "Ctrl+Alt+Shift+G",
    "gpt_image_cancel": "Ctrl+Alt+Shift+C",
    "gpt_image_repeat_last": "Ctrl+Alt+Shift+R",
    "gpt_image_next_variant": "Ctrl+Alt+Shift+N",
    "gpt_image_previous_variant": "Ctrl+Alt+Shift+P",
    "gpt_image_refine": "Ctrl+Alt+Shift+E",
}


def active_docker() -> Any | None:
    """The docker of the active window (or any, when that can't be told)."""
    from .docker import INSTANCES

    window = Krita.instance().activeWindow()
    qwindow = window.qwindow() if window is not None else None
    for docker in INSTANCES:
        if qwindow is not None and docker.window() is qwindow:
            return docker
    return INSTANCES[0] if INSTANCES else None


class GptImageExtension(Extension):
    def __init__(self, parent: Any) -> None:
        super().__init__(parent)
        self.actions: dict[str, Any] = {}

    def setup(self) -> None:
        pass

    def createActions(self, window: Any) -> None:
        for action_id, text, method in ACTIONS:
            action = window.createAction(action_id, text, "tools/scripts")
            if action.shortcut().isEmpty():
                action.setShortcut(QKeySequence(DEFAULT_SHORTCUTS[action_id]))
            action.triggered.connect(lambda _checked=False, m=method: self._run(m))
            self.actions[action_id] = action

    @staticmethod
    def _run(method: str) -> None:
        docker = active_docker()
        if docker is not None:
            getattr(docker, method)()


LOG_FILE = "krita-plugin.log"


def setup_log() -> str | None:
    """A log file in the plug-in's data folder (the key is redacted); returns its path."""
    from .core.settings import RedactingFilter, data_dir, load_settings

    try:
        folder = data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_FILE
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=2, encoding="utf-8"
        )
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    with contextlib.suppress(Exception):  # broken settings are reported by the docker
        handler.addFilter(RedactingFilter(load_settings().api_key))
    logger = logging.getLogger(__package__)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return str(path)


DOCKER_ID = "gpt_image_docker"
_LOG_READY: list[str | None] = []


def create_docker() -> Any:
    """Krita's docker factory: the docker module, core and their dependencies load only now,
    when Krita builds the docker, not while it imports plug-ins at start-up. A dependency that
    was found but fails to import turns into a docker that says so."""
    try:
        from .docker import GptImageDocker

        if not _LOG_READY:
            _LOG_READY.append(setup_log())
    except ImportError as exc:
        from . import dependency_message

        message = dependency_message(f"a dependency failed to load ({exc.name or exc}: {exc})")
        logging.getLogger(__package__).error("%s", message)
        print(message, file=sys.stderr)
        _BrokenDocker.message = message
        return _BrokenDocker()
    return GptImageDocker()


def register() -> None:
    app = Krita.instance()
    app.addExtension(GptImageExtension(app))
    app.addDockWidgetFactory(
        DockWidgetFactory(DOCKER_ID, DockWidgetFactoryBase.DockPosition.DockRight, create_docker)
    )


class _BrokenDocker(DockWidget):
    message = ""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("GPT Image (not working)")
        label = QLabel(self.message)
        label.setObjectName("gptImageStatus")
        label.setWordWrap(True)
        self.setWidget(label)

    def canvasChanged(self, canvas: Any) -> None:
        pass


def register_broken(message: str) -> None:
    """A docker that only explains what is missing (so the failure is visible in the UI)."""
    _BrokenDocker.message = message
    Krita.instance().addDockWidgetFactory(
        DockWidgetFactory(DOCKER_ID, DockWidgetFactoryBase.DockPosition.DockRight, _BrokenDocker)
    )
