"""Expand…'s plain parts without GIMP: its arguments, and the one undo group around resize + fill.

GIMP 3 cannot perform an undo from a script, so the real-GIMP test (``test_gimp_expand.py``)
checks sizes and pixels while this one checks, on a recording stand-in for ``Gimp.Image``, that
the resize and the new layer happen inside exactly one undo group and that a failure puts the
canvas back. ``gi`` is replaced by mocks only to import the module.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from unittest import mock

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "gimp_plugin"))

from gpt_image_gimp import arguments, expand_args  # noqa: E402

from core.expand import ANCHORS, Borders, plan_expand  # noqa: E402
from core.geometry import Extent  # noqa: E402
from core.pipeline import build_layer  # noqa: E402


def test_expand_procedure_arguments_are_the_contract():
    names = [a.name for a in arguments.args_for(expand_args.EXPAND_PROC)]
    assert expand_args.EXPAND_PROC == "plug-in-gpt-image-expand"
    for name in ("left", "top", "right", "bottom", "aspect", "anchor"):
        assert name in names
    for name in ("prompt", "model", "quality", "resolution", "variants"):
        assert name in names
    assert len(set(names)) == len(names)
    kinds = {a.name: a.kind for a in expand_args.EXPAND_ARGS}
    assert {kinds[n] for n in ("left", "top", "right", "bottom", "overlap")} == {"int"}
    assert kinds["aspect"] == "string" and kinds["anchor"] == "choice"
    # the edit procedures did not gain the expand arguments
    assert "left" not in [a.name for a in arguments.args_for(arguments.EDIT_PROC)]


def test_anchor_names_are_cores():
    assert tuple(expand_args.ANCHOR_NAMES) == tuple(ANCHORS)
    anchor = next(a for a in expand_args.EXPAND_ARGS if a.name == "anchor")
    assert anchor.default in anchor.choices


def test_readme_documents_expand():
    readme = (REPO / "gimp_plugin" / "README.md").read_text()
    assert f"`{expand_args.EXPAND_PROC}`" in readme
    for arg in expand_args.EXPAND_ARGS:
        assert f"`{arg.name}`" in readme, arg.name


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"left": 5, "aspect": "16:9"}, "not both"),
        ({}, "Nothing to expand"),
        ({"left": -1}, "negative"),
        ({"aspect": "1:1", "anchor": "middle-ish"}, "Anchor"),
        ({"left": 5, "variants": 11}, "Variants"),
        ({"left": 5, "resolution": "huge"}, "Resolution"),
    ],
)
def test_bad_values_are_refused(values, reason):
    with pytest.raises(ValueError, match=reason):
        expand_args.expand_options(values)


def test_prompt_is_optional_and_values_pass_through():
    options = expand_args.expand_options({"right": 64, "bottom": 8, "overlap": 0})
    assert options.prompt == "" and options.sides == (0, 0, 64, 8) and options.overlap == 0
    options = expand_args.expand_options({"aspect": "9:16", "anchor": "top-left"})
    assert options.aspect == "9:16" and options.anchor == "top-left"


@pytest.fixture
def expand_module(monkeypatch):
    """``gpt_image_gimp.expand`` imported over mocked ``gi`` modules (then forgotten again)."""
    gi = ModuleType("gi")
    gi.require_version = lambda *a: None
    repository = mock.MagicMock()
    gi.repository = repository
    monkeypatch.setitem(sys.modules, "gi", gi)
    monkeypatch.setitem(sys.modules, "gi.repository", repository)
    before = set(sys.modules)
    for name in ("gpt_image_gimp.expand", "gpt_image_gimp.canvas", "gpt_image_gimp.job"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import gpt_image_gimp.expand as module

    yield module
    for name in set(sys.modules) - before:
        sys.modules.pop(name, None)


class RecordingImage:
    def __init__(self, size):
        self.size = size
        self.calls = []

    def get_width(self):
        return self.size[0]

    def get_height(self):
        return self.size[1]

    def undo_group_start(self):
        self.calls.append(("undo_group_start",))

    def undo_group_end(self):
        self.calls.append(("undo_group_end",))

    def resize(self, w, h, x, y):
        self.calls.append(("resize", w, h, x, y))
        self.size = (w, h)
        return True

    def remove_layer(self, layer):
        self.calls.append(("remove_layer",))


def _patches(plan):
    return [build_layer(plan, Image.new("RGBA", plan.api_size, (9, 9, 9, 255)))]


def test_resize_and_fill_are_one_undo_group(expand_module):
    plan = plan_expand(Extent(300, 200), Borders(40, 0, 60, 30))
    image = RecordingImage((300, 200))
    layer = mock.MagicMock()
    layer.is_valid.return_value = True

    named = []

    def insert(img, anchor, patches, names, group):
        img.calls.append(("insert", anchor, len(patches)))
        named.append((names, group))
        return layer

    with (
        mock.patch.object(expand_module.canvas, "insert_results", side_effect=insert),
        mock.patch.object(expand_module.canvas, "tag_layer") as tag,
    ):
        got = expand_module.write_results(image, plan, _patches(plan), "sea", {"x": 1})
    assert got is layer and tag.called
    assert named == [(["GPT: expand sea"], "GPT: expand sea")]  # core's name, as Krita's
    assert image.calls == [
        ("undo_group_start",),
        ("resize", 400, 230, 40, 0),
        ("insert", None, 1),
        ("undo_group_end",),
    ]


def test_a_failed_insert_puts_the_canvas_back_inside_the_group(expand_module):
    plan = plan_expand(Extent(300, 200), Borders(0, 50, 0, 0))
    image = RecordingImage((300, 200))
    with (
        mock.patch.object(expand_module.canvas, "insert_results", side_effect=RuntimeError("no")),
        pytest.raises(RuntimeError),
    ):
        expand_module.write_results(image, plan, _patches(plan), "sky", {})
    assert image.calls == [
        ("undo_group_start",),
        ("resize", 300, 250, 0, 50),
        ("resize", 300, 200, 0, -50),
        ("undo_group_end",),
    ]
    assert image.size == (300, 200)


def test_an_image_resized_meanwhile_is_not_touched(expand_module):
    plan = plan_expand(Extent(300, 200), Borders(0, 50, 0, 0))
    image = RecordingImage((310, 200))
    with pytest.raises(expand_module.InputError, match="changed size"):
        expand_module.write_results(image, plan, _patches(plan), "sky", {})
    assert image.calls == []
