"""In real Krita: the docker's Generate and ``python -m core`` (core's CLI, run in this process)
send the same request for the same picture, selection and options (issue #10; the host-free
table is tests/test_request_equality.py). The stand-in records both; every field, each file's
name, type, size and pixel digest, and the mask's must be equal."""

from __future__ import annotations

import pytest
from conftest import image_requests, pattern, rect_selection

CASES = (
    # name, canvas, selection (x, y, w, h) or None, model, quality, n, padding, grow, partials
    ("masked", (301, 203), (57, 41, 121, 83), "gpt-image-2", "low", 1, 48, 6, 0),
    ("flare_whole", (256, 192), None, "gpt-image-2.5-flare", "xhigh", 2, 48, 6, 1),
    (
        "sunburst_padding",
        (400, 300),
        (250, 180, 90, 70),
        "gpt-image-2.5-sunburst",
        "max",
        1,
        150,
        2,
        2,
    ),
)


@pytest.fixture(autouse=True)
def default_model(driver):
    """Later tests expect the default model: put it back (the quality follows it)."""
    yield
    from gpt_image.core.options import default

    driver.choose("gptImageModel", default("model"))
    driver.choose("gptImageQuality", default("quality"))


def _compared(record: dict) -> dict:
    """The request in a stand-in record (as tests/request_paths.compared)."""
    return {
        "endpoint": record["endpoint"],
        "params": dict(sorted(record["params"].items())),
        "parts": record.get("parts", []),
        "images": [{k: v for k, v in i.items() if k != "bytes"} for i in record.get("images", [])],
        "mask": (
            {k: v for k, v in record["mask"].items() if k != "bytes"}
            if record.get("mask")
            else None
        ),
    }


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_docker_and_cli_send_the_same_request(driver, docs, tmp_path, case):
    from gpt_image.core.cli import main

    name, (width, height), rect, model, quality, n, padding, grow, partials = case
    prompt = f"request equality {name}: a blue heron by a pond"
    doc = docs.new(width, height, seed=3)
    picture = tmp_path / "canvas.png"
    pattern(width, height, seed=3).save(picture)  # the pixels docs.new put in the layer
    if rect is not None:
        rect_selection(doc, *rect)
    driver.configure(
        prompt,
        mode="edit_selection" if rect is not None else "edit_image",
        n=n,
        partials=partials,
        quality="low",
        grow=grow,
        padding=padding,
        feather=8,
    )
    driver.choose("gptImageModel", model)  # its qualities follow; then the case's
    driver.choose("gptImageQuality", quality)
    before = len(image_requests())
    driver.generate()
    assert "Done" in driver.status(), driver.status()
    sent = image_requests()[before:]
    assert len(sent) == 1 and sent[0]["outcome"] == "ok", sent

    argv = ["edit", "--image", str(picture), "--prompt", prompt, "--model", model]
    argv += ["--quality", quality, "--resolution", "auto", "-n", str(n)]
    argv += ["--partials", str(partials), "--padding", str(padding), "--grow", str(grow)]
    argv += ["--feather", "8", "-o", str(tmp_path / "cli.png")]
    if rect is not None:
        argv += ["--rect", ",".join(map(str, rect))]
    assert main(argv) == 0
    by_cli = image_requests()[before + 1 :]
    assert len(by_cli) == 1 and by_cli[0]["outcome"] == "ok", by_cli

    krita, cli = _compared(sent[0]), _compared(by_cli[0])
    assert krita == cli
    assert krita["params"]["model"] == model and krita["params"]["quality"] == quality
    assert (krita["mask"] is not None) == (rect is not None)


def test_model_picker_lists_core_models_with_descriptions_and_their_qualities(driver):
    """The picker shows every model of core's table with its short description (the list
    GIMP's picker shows too); the quality list follows the chosen model."""
    from gpt_image.core.models import KNOWN_MODELS
    from gpt_image.qt import QComboBox

    box = driver.widget(QComboBox, "gptImageModel")
    items = [(box.itemData(i), box.itemText(i)) for i in range(box.count())]
    assert [value for value, _ in items] == list(KNOWN_MODELS)
    labels = dict(items)
    assert labels["gpt-image-2.5-flare"] == "gpt-image-2.5-flare — fast"
    assert labels["gpt-image-2.5-sunburst"] == "gpt-image-2.5-sunburst — precise"
    assert labels["gpt-image-1.5"].endswith("— legacy")
    quality = driver.widget(QComboBox, "gptImageQuality")

    def qualities() -> list[str]:
        return [quality.itemData(i) for i in range(quality.count())]

    driver.choose("gptImageModel", "gpt-image-2")
    assert qualities() == list(KNOWN_MODELS["gpt-image-2"].qualities) and "xhigh" not in qualities()
    driver.choose("gptImageModel", "gpt-image-2.5-sunburst")
    assert {"xhigh", "max"} <= set(qualities())
    driver.choose("gptImageQuality", "max")
    driver.choose("gptImageModel", "gpt-image-2")  # max is not gpt-image-2's: back to default
    assert quality.currentData() in KNOWN_MODELS["gpt-image-2"].qualities
