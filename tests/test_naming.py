"""Result-layer names (core.naming): the one rule Krita and GIMP name a job's layer by."""

from __future__ import annotations

import pytest

from core.expand import EXPAND_PROMPT, expand_prompt, expand_words
from core.naming import RESULT_NAME_CHARS, job_layer_name, result_layer_name
from core.pipeline import Mode


@pytest.mark.parametrize("typed", ["a sandy beach", "  a   sandy\nbeach ", ""])
def test_an_expand_is_named_after_the_words_typed_or_sent(typed):
    """Live jobs name it from what was typed, History re-inserts from what was sent (the
    continuation instruction first): both give the same name, without the instruction."""
    words = " ".join(typed.split())
    expected = f"GPT: expand {words}".strip()
    assert job_layer_name(Mode.EXPAND, typed) == expected
    assert job_layer_name(Mode.EXPAND, expand_prompt(typed)) == expected
    assert job_layer_name("expand", expand_prompt(typed)) == expected  # History's stored mode
    assert EXPAND_PROMPT[:20] not in job_layer_name(Mode.EXPAND, expand_prompt(typed))


def test_an_expand_name_is_bounded_and_numbered_like_any_result():
    long = "wide " * 40
    name = job_layer_name(Mode.EXPAND, expand_prompt(long))
    assert name.startswith("GPT: expand wide") and name.endswith("…")
    assert len(name) <= len("GPT: ") + RESULT_NAME_CHARS
    assert job_layer_name(Mode.EXPAND, "dunes", 1) == "GPT: expand dunes #2"


@pytest.mark.parametrize("mode", [Mode.EDIT_SELECTION, "edit_image", Mode.GENERATE, None])
def test_other_jobs_keep_the_result_layer_name(mode):
    assert (
        job_layer_name(mode, "a red kite") == result_layer_name("a red kite") == "GPT: a red kite"
    )
    assert job_layer_name(mode, "a red kite", 2) == "GPT: a red kite #3"
    assert job_layer_name(mode, "") == "GPT: result"
    # only an expand's prompt is an instruction plus words: another prompt is named as it is
    assert job_layer_name(mode, expand_prompt("x")).startswith("GPT: Extend this picture")


def test_expand_words_undoes_expand_prompt():
    for typed in ("a meadow", "", "  two  words "):
        assert expand_words(expand_prompt(typed)) == " ".join(typed.split())
    assert expand_words("no instruction here") == "no instruction here"
    assert expand_words(None) == ""


def test_naming_imports_nothing_but_the_standard_library() -> None:
    """The GIMP plug-in imports it while registering, before it can say Pillow is missing."""
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, core.naming; print(sorted(m for m in ('PIL', 'numpy', 'pydantic', 'openai') if m in sys.modules))"
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True
    )
    assert done.stdout.strip() == "[]"
