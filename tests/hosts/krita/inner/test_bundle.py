"""Inside Krita: the load-time bundle check (core/bundle_check.py) as the plug-in ran it.

Normal runs (install.py, or the release zip for this Krita's Python): nothing is refused.
A run with GPT_IMAGE_TEST_EXPECT_REFUSAL=<zip> installed a zip built for another Python: the
plug-in must not have started, and its docker must name that zip.
"""

from __future__ import annotations

import os
import sys

from gpt_image.qt import QLabel
from krita import Krita


def _docker_text() -> str:
    for docker in Krita.instance().dockers():
        if "gpt_image_docker" in docker.objectName():
            label = docker.findChild(QLabel, "gptImageStatus")
            return label.text() if label is not None else ""
    return ""


def test_bundle_fits_or_is_refused_naming_the_right_zip():
    import gpt_image
    from gpt_image.core import bundle_check

    expected = os.environ.get("GPT_IMAGE_TEST_EXPECT_REFUSAL")
    here = os.path.dirname(gpt_image.__file__)
    if not expected:
        assert bundle_check.refusal(here) is None
        return
    assert gpt_image.IMPORT_ERROR is not None
    assert f"Install {expected} instead" in gpt_image.IMPORT_ERROR
    assert "Import Python Plugin from File" in gpt_image.IMPORT_ERROR
    assert f"Install {expected} instead" in _docker_text()
    assert "gpt_image.docker" not in sys.modules  # the working docker never loaded
    assert gpt_image.VENDOR_DIR not in sys.path  # nor may its packages shadow other plug-ins'
