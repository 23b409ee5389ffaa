"""Krita start-up: the plug-in's package import finds its dependencies but imports none of them,
and still tells the user, in a docker, when one is missing or fails to load."""

from __future__ import annotations

import pytest

from tests import plugin_import

pytestmark = pytest.mark.skipif(
    plugin_import.qt_python() is None, reason="needs PyQt5/PyQt6 (tools/setup.sh installs it)"
)


def test_start_up_import_loads_no_heavy_dependency() -> None:
    report = plugin_import.probe()
    assert report["import_error"] is None, report["stderr"]
    assert report["loaded"] == [], f"imported at Krita start: {report['loaded']}"
    assert report["extensions"] == ["GptImageExtension"]
    assert report["factories"] == ["gpt_image_docker"]


def test_the_docker_loads_core_but_not_openai_or_numpy() -> None:
    report = plugin_import.probe(create_docker=True)
    assert report["docker"] == "GptImageDocker", report["stderr"]


@pytest.mark.parametrize("name", plugin_import.HEAVY)
def test_a_missing_dependency_is_named_in_the_docker(name: str) -> None:
    report = plugin_import.probe(missing=(name,), create_docker=True)
    assert name in (report["import_error"] or "")
    assert report["extensions"] == []  # no actions that could only fail
    assert report["docker"] == "_BrokenDocker"
    assert name in report["docker_status"] and "install.py" in report["docker_status"]
    assert name in report["stderr"]  # and in Krita's log


@pytest.mark.parametrize("name", ["PIL", "pydantic"])
def test_a_dependency_that_fails_to_import_is_named_in_the_docker(name: str) -> None:
    report = plugin_import.probe(broken=(name,), create_docker=True)
    assert report["import_error"] is None  # found at start: the failure shows when it loads
    assert report["docker"] == "_BrokenDocker"
    assert f"failed to load ({name}" in report["docker_status"]
    assert "install.py" in report["docker_status"]
