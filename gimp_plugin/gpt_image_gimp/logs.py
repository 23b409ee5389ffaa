"""The plug-in's log file: GIMP on Windows runs plug-ins without a console.

The file is ``<data dir>/logs/gimp-plugin.log`` (the data dir is shared with Krita and the CLI,
``GPT_IMAGE_DATA_DIR`` overrides it). Every record passes a filter that blanks the API key and
anything shaped like an OpenAI key, so a traceback that echoes a request can't leak it.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

LOGGER_NAME = "gpt_image_gimp"
LOG_FILE = "gimp-plugin.log"
_KEY_SHAPE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,})")


class KeyFilter(logging.Filter):
    """Replace the configured key and any ``sk-…`` token with ``[REDACTED]``."""

    def __init__(self, secret: str | None = None) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        cleaned = self.clean(text)
        if cleaned != text:
            record.msg, record.args = cleaned, None
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        return True

    def clean(self, text: str) -> str:
        if self.secret and len(self.secret) >= 8:
            text = text.replace(self.secret, "[REDACTED]")
        return _KEY_SHAPE.sub("[REDACTED]", text)


_filter = KeyFilter()


def setup(data_dir: Path) -> Path:
    """Log ``gpt_image_gimp`` and ``core`` records to a rotating file; returns its path."""
    folder = Path(data_dir) / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1_000_000, backupCount=2, encoding="utf-8"
    )
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(_filter)
    for name in (LOGGER_NAME, "core"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        if not any(isinstance(h, logging.FileHandler) for h in logger.handlers):
            logger.addHandler(handler)
    return path


def protect(secret: str | None) -> None:
    """Tell the filter which key to blank (called once the settings are loaded)."""
    _filter.secret = secret


def get(name: str = "") -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)
