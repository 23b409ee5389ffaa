"""Errors that say what happened: refusal subclasses by cause, bugs as InternalError (exit 5)
with a true message, gpt-image-2's refused transparency explained."""

from __future__ import annotations

import json

import pytest

import core.jobs
from core.client import ImageRequest
from core.errors import (
    EXIT_INTERNAL,
    ApiRefused,
    AuthRefused,
    InternalError,
    InvalidRequest,
    ModerationBlocked,
    QuotaExceeded,
    RateLimited,
)
from tests.standin.helpers import make_client
from tests.test_cli_jobs import env, noisy_image, run  # noqa: F401 (fixture)


@pytest.mark.parametrize(
    ("fault", "cls"),
    [
        ({"kind": "auth"}, AuthRefused),
        ({"kind": "forbidden"}, AuthRefused),
        ({"kind": "moderation"}, ModerationBlocked),
        ({"kind": "insufficient_quota"}, QuotaExceeded),
        ({"kind": "rate_limit", "retry_after": 0}, RateLimited),
        ({"kind": "transparent_refused"}, InvalidRequest),
    ],
    ids=lambda v: v["kind"] if isinstance(v, dict) else None,
)
def test_refusals_have_a_subclass_per_cause(standin, fault, cls):
    standin.queue_faults([fault] * 5)
    with pytest.raises(ApiRefused) as info:
        make_client(standin, max_retries=0).run(ImageRequest("x", "gpt-image-2", size="1024x1024"))
    assert type(info.value) is cls and info.value.exit_code == 3


def test_invalid_size_is_an_invalid_request(standin):
    with pytest.raises(InvalidRequest):
        # a size the stand-in refuses but the client's own checks let through (fixed model)
        make_client(standin).run(ImageRequest("x", "gpt-image-1.5", size="1024x640"))


def test_gpt_image_2_transparency_refused_says_so_and_suggests_2_5(standin):
    standin.queue_faults([{"kind": "transparent_refused"}])
    with pytest.raises(InvalidRequest) as info:
        make_client(standin).run(
            ImageRequest("x", "gpt-image-2", size="1024x1024", background="transparent")
        )
    text = str(info.value)
    assert "gpt-image-2 refused a transparent background" in text
    assert "gpt-image-2.5-flare" in (info.value.hint or "")


def test_transparency_is_sent_to_gpt_image_2_when_asked(env, capsys, standin):  # noqa: F811
    code, _, err = run(
        capsys, "generate", "--prompt", "a sticker", "--background", "transparent",
        "-o", env / "t.png",
    )  # fmt: skip
    assert code == 0, err
    assert standin.image_requests()[-1]["params"]["background"] == "transparent"


def test_a_bug_before_sending_exits_5_and_says_nothing_was_sent(
    env,  # noqa: F811
    capsys,
    standin,
    monkeypatch,
):
    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(core.jobs, "build_upload", broken)
    noisy_image((320, 240)).save(env / "in.png")
    code, out, err = run(
        capsys, "edit", "--image", env / "in.png", "--prompt", "x", "-o", env / "o.png", "--json"
    )
    assert code == EXIT_INTERNAL == 5, err
    assert "Internal error (a bug in the plug-in): ZeroDivisionError" in err
    assert "Nothing was sent to the API and nothing was lost" in err
    assert "cli.log" in err
    assert "could not be reached" not in err and "billed" not in err
    assert json.loads(out)["error"]["type"] == "InternalError"
    assert standin.image_requests() == []
    log = (env / "data" / "logs" / "cli.log").read_text()
    assert "Traceback" in log and "ZeroDivisionError" in log


def test_a_bug_after_the_api_answered_keeps_the_result_and_says_where(
    env,  # noqa: F811
    capsys,
    standin,
    monkeypatch,
):
    def broken(*_args, **_kwargs):
        raise KeyError("usage")

    monkeypatch.setattr(core.jobs, "actual_cost", broken)
    code, _, err = run(capsys, "generate", "--prompt", "x", "-o", env / "o.png")
    assert code == 5, err
    assert "Internal error (a bug in the plug-in): KeyError" in err
    assert "1 result(s) kept in history" in err
    (_record,) = standin.image_requests()
    history = list((env / "data" / "history").iterdir())
    (job,) = [p for p in history if p.is_dir()]
    data = json.loads((job / "job.json").read_text())
    assert data["status"] == "failed" and data["error"]["type"] == "InternalError"
    assert (job / "result-1.png").exists()


def test_internal_error_messages_are_true_for_each_case():
    bug = ValueError("bad")
    assert "Nothing was sent" in str(InternalError.from_exception(bug))
    sent = InternalError.from_exception(bug, request_sent=True)
    assert "A request had been sent; no result had arrived yet" in str(sent)
    kept = InternalError.from_exception(bug, request_sent=None, kept="2 result(s) kept in X")
    assert "Nothing paid for was lost: 2 result(s) kept in X" in str(kept)
    assert kept.exit_code == 5 and kept.to_dict()["exit_code"] == 5
