"""Prompt help: the brief, the edit pattern, limits."""

from __future__ import annotations

import pytest

from core.errors import InputError
from core.prompting import (
    PROMPT_MAX_CHARS,
    PromptBrief,
    check_prompt,
    compose_prompt,
    edit_instruction,
    improvement_request,
)


def test_generate_prompt_follows_the_guide_order():
    brief = PromptBrief(
        output_type="photo",
        subject="a red fox",
        scene="snowy forest at dawn",
        composition="low angle, fox on the left third",
        lighting="soft rim light",
        style="35mm film, muted colours",
        text=["OPEN"],
    )
    prompt = compose_prompt(brief)
    assert prompt == (
        "Photo of a red fox. Scene: snowy forest at dawn. Composition: low angle, fox on the left "
        "third. Lighting: soft rim light. Style: 35mm film, muted colours. "
        'The text reads exactly "OPEN", spelled exactly as written.'
    )


def test_empty_parts_are_left_out():
    assert compose_prompt(PromptBrief(subject="a lighthouse")) == "A lighthouse."
    assert compose_prompt(PromptBrief(output_type="logo", style="flat")) == "Logo. Style: flat."


def test_edit_pattern_change_only_keep_unchanged():
    brief = PromptBrief(change="the sky to a sunset", keep="the people and the buildings")
    assert compose_prompt(brief, "edit_selection") == (
        "Change only the sky to a sunset; keep the people and the buildings unchanged."
    )
    assert compose_prompt(PromptBrief(subject="add a hat to the dog"), "edit_image") == (
        "Change only add a hat to the dog; keep everything else unchanged."
    )
    assert edit_instruction("the cup's colour to blue.", "") == (
        "Change only the cup's colour to blue; keep everything else unchanged."
    )


def test_edit_details_follow_the_instruction():
    brief = PromptBrief(
        change="the sign", subject="a wooden sign", lighting="evening", text=["CAFÉ 24/7"]
    )
    prompt = compose_prompt(brief, "edit_selection")
    assert prompt.startswith("Change only the sign; keep everything else unchanged. ")
    assert "Subject: a wooden sign." in prompt and "Lighting: evening." in prompt
    assert '"CAFÉ 24/7"' in prompt


def test_quotes_inside_text_use_curly_quotes_and_several_texts_are_listed():
    assert '\u201cSay "hi"\u201d' in compose_prompt(
        PromptBrief(subject="a sign", text=['Say "hi"'])
    )
    prompt = compose_prompt(PromptBrief(subject="a poster", text=["TOP", "BOTTOM"]))
    assert 'Render these texts exactly as written: "TOP", "BOTTOM".' in prompt


def test_generate_with_keep():
    prompt = compose_prompt(PromptBrief(subject="a cat", keep="the cat's markings"))
    assert prompt.endswith("Keep the cat's markings unchanged.")


def test_limits():
    with pytest.raises(InputError):
        compose_prompt(PromptBrief())
    with pytest.raises(InputError):
        check_prompt("   ")
    with pytest.raises(InputError) as info:
        check_prompt("x" * (PROMPT_MAX_CHARS + 1))
    assert info.value.code == "prompt_too_long"
    assert check_prompt("  ok  ") == "ok"
    with pytest.raises(InputError):
        edit_instruction("", "the rest")


def test_improvement_request_names_edits():
    assert improvement_request("  a cat ") == "a cat"
    edit = improvement_request("make the sky red", "edit_selection")
    assert "edit of an existing image" in edit and edit.endswith("make the sky red")
