"""Failures: the right error class, exit code and message, and retries only when safe."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

import pytest

from core.client import Connection, ImageClient, ImageRequest, PartialImage
from core.errors import ApiRefused, ApiUnavailable
from core.retry import RetryPolicy
from tests.standin import StandIn
from tests.standin.helpers import FAST_RETRIES, KEY, input_image, make_client, mask_png

SMALL = "1024x640"


def gen(prompt: str = "a harbour at dusk", **kw) -> ImageRequest:
    return ImageRequest(prompt, "gpt-image-2", size=SMALL, **kw)


def fail(standin, request=None, **client_kw):
    with pytest.raises((ApiRefused, ApiUnavailable)) as info:
        make_client(standin, **client_kw).run(request or gen())
    return info.value


# refusals: never retried -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fault", "status", "code", "words", "hint"),
    [
        (
            {"kind": "moderation"},
            400,
            "moderation_blocked",
            ["input stage", "violence"],
            "Rephrase",
        ),
        ({"kind": "insufficient_quota"}, 429, "insufficient_quota", ["quota"], "billing"),
        (
            {"kind": "auth"},
            401,
            "invalid_api_key",
            ["API key was not accepted"],
            "API key in settings",
        ),
        ({"kind": "forbidden"}, 403, None, ["Access denied", "verified"], "Verify"),
    ],
    ids=lambda v: v["kind"] if isinstance(v, dict) else None,
)
def test_refusals_map_to_api_refused_without_retry(standin, fault, status, code, words, hint):
    standin.queue_faults([fault] * 3)
    error = fail(standin)

    assert isinstance(error, ApiRefused) and error.exit_code == 3
    assert error.status == status and error.code == code
    (record,) = standin.requests  # exactly one request: no retry
    assert error.request_id == record["id"]
    text = str(error)
    assert record["id"] in text
    for word in words:
        assert word in text
    assert hint in error.hint
    assert error.details["api_message"] in text  # the API's own words


def test_moderation_details_carry_stage_and_categories(standin):
    standin.queue_faults(
        [{"kind": "moderation", "stage": "output", "categories": ["violence", "gore"]}]
    )
    error = fail(standin)
    assert error.details["moderation_stage"] == "output"
    assert error.details["categories"] == ["violence", "gore"]
    assert "output stage" in str(error) and "violence, gore" in str(error)


def test_a_fault_token_in_the_prompt_works_too(standin):
    error = fail(standin, gen("[[fault:moderation:output]] a tree"))
    assert error.code == "moderation_blocked" and error.details["moderation_stage"] == "output"


@pytest.mark.parametrize(
    ("request_kwargs", "param", "hint_word"),
    [
        ({"size": "1000x1000"}, "size", "multiples of 16"),
        ({"size": "768x768"}, "size", "655,360"),
    ],
)
def test_invalid_size_is_refused_with_the_rule(standin, request_kwargs, param, hint_word):
    error = fail(standin, ImageRequest("x", "gpt-image-2", **request_kwargs))
    assert isinstance(error, ApiRefused) and error.status == 400
    assert error.code == "invalid_value" and error.details["param"] == param
    assert hint_word in error.hint
    assert len(standin.requests) == 1


def test_bad_mask_is_refused_with_the_mask_rule(standin):
    request = ImageRequest(
        "x", "gpt-image-2", image=input_image((64, 48)), mask=mask_png((32, 32), (0, 0, 8, 8))
    )
    error = fail(standin, request)
    assert "mask size does not match image size" in str(error)
    assert "exactly the size of the first image" in error.hint
    assert len(standin.requests) == 1


# transient failures: retried ---------------------------------------------------------------
def test_rate_limit_then_success_waits_for_retry_after(standin):
    standin.queue_faults([{"kind": "rate_limit", "retry_after": 1}])
    started = time.monotonic()
    result = make_client(standin).run(gen())
    waited = time.monotonic() - started

    assert result.images and waited >= 1.0
    first, second = standin.requests
    assert first["status"] == 429 and second["status"] == 200
    assert second["time"] - first["time"] >= 1.0
    assert result.request_id == second["id"]


def test_retry_after_is_capped(standin):
    standin.queue_faults([{"kind": "rate_limit", "retry_after": 30}])
    policy = RetryPolicy(max_retries=1, max_retry_after_s=0.2)
    started = time.monotonic()
    make_client(standin, policy=policy).run(gen())
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_error_then_success(standin, status):
    standin.queue_faults([{"kind": "server_error", "status": status}])
    result = make_client(standin).run(gen())
    assert result.images
    assert [r["status"] for r in standin.requests] == [status, 200]
    assert standin.stats()["completed"] == 1, standin.requests


def test_retries_are_bounded_by_max_retries(standin):
    standin.queue_faults([{"kind": "server_error", "status": 503}] * 5)
    error = fail(standin)
    assert isinstance(error, ApiUnavailable) and error.exit_code == 4
    assert error.status == 503 and len(standin.requests) == 3  # 1 + max_retries(2)
    assert "3 attempt(s)" in str(error) and "overloaded" in error.details["api_message"]


def test_on_sent_runs_once_per_attempt_whose_request_went_out(standin):
    standin.queue_faults([{"kind": "server_error", "status": 503}])
    seen: list[str] = []
    result = make_client(standin).run(
        gen(),
        on_send=lambda: seen.append("send"),
        on_sent=lambda: seen.append("sent"),
        on_image=lambda index, data: seen.append("image"),
    )
    assert result.images and len(standin.requests) == 2
    assert seen == ["send", "sent", "send", "sent", "image"]


def test_on_sent_never_runs_when_nothing_could_be_sent():
    port = _free_port()
    connection = Connection(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", timeout_s=5)
    seen: list[str] = []
    with pytest.raises(ApiUnavailable):
        ImageClient(connection, retry_policy=FAST_RETRIES).run(
            gen(), on_sent=lambda: seen.append("sent")
        )
    assert seen == []


def test_max_retries_from_the_connection(standin):
    standin.queue_faults([{"kind": "server_error", "status": 500}] * 5)
    connection = Connection(api_key=KEY, base_url=standin.base_url, max_retries=0)
    with pytest.raises(ApiUnavailable):
        ImageClient(connection).run(gen())
    assert len(standin.requests) == 1


def test_rate_limit_exhausted_is_refused(standin):
    standin.queue_faults([{"kind": "rate_limit", "retry_after": 0}] * 3)
    error = fail(standin)
    assert isinstance(error, ApiRefused) and error.code == "rate_limit_exceeded"
    assert len(standin.requests) == 3 and "minute" in error.hint


def test_connect_error_is_retried_and_then_reported():
    port = _free_port()
    connection = Connection(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", timeout_s=5)
    with pytest.raises(ApiUnavailable) as info:
        ImageClient(connection, retry_policy=FAST_RETRIES).run(gen())
    error = info.value
    assert error.code == "connection_error" and error.details["attempts"] == 3
    assert "could not connect" in str(error) and "may have been billed" not in str(error)
    assert "base URL" in error.hint


def test_connect_error_then_success_once_the_server_is_up():
    port = _free_port()
    server = StandIn(port=port)
    starter = threading.Timer(0.15, server.start)
    starter.start()
    try:
        policy = RetryPolicy(max_retries=3, base_delay_s=0.3, max_delay_s=0.3, jitter=0)
        connection = Connection(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", timeout_s=5)
        result = ImageClient(connection, retry_policy=policy).run(gen())
        assert result.images and len(server.image_requests()) == 1
    finally:
        starter.join()
        server.stop()


# may already be billed: never retried ------------------------------------------------------
def test_timeout_is_not_retried_and_says_it_may_be_billed(standin):
    standin.queue_faults([{"kind": "slow", "seconds": 5}])
    started = time.monotonic()
    error = fail(standin, timeout_s=0.5)
    assert time.monotonic() - started < 4  # well before the slow answer: it timed out
    assert isinstance(error, ApiUnavailable) and error.exit_code == 4 and error.code == "timeout"
    assert "may have been billed" in str(error) and "nothing was retried" in str(error)
    assert standin.stats()["image_requests"] == 1


def test_stream_cut_is_an_error_and_not_charged_twice(standin):
    standin.queue_faults([{"kind": "stream_cut", "after": 1}])
    partials: list[PartialImage] = []
    images: list[int] = []
    with pytest.raises(ApiUnavailable) as info:
        make_client(standin).run(
            gen(partial_images=2),
            on_partial=partials.append,
            on_image=lambda i, d: images.append(i),
        )
    error = info.value
    assert [p.index for p in partials] == [0] and images == []
    assert error.code == "connection_dropped" and "may have been billed" in str(error)
    assert error.request_id == standin.requests[0]["id"]
    assert standin.stats()["image_requests"] == 1


def test_cut_non_streaming_body_is_not_retried(standin):
    standin.queue_faults([{"kind": "stream_cut"}])
    error = fail(standin)
    assert isinstance(error, ApiUnavailable) and "may have been billed" in str(error)
    assert standin.stats()["image_requests"] == 1


def test_error_inside_a_stream_is_readable(standin):
    standin.queue_faults(
        [{"kind": "stream_error", "code": "moderation_blocked", "stage": "output"}]
    )
    error = fail(standin, gen(partial_images=2))
    assert isinstance(error, ApiRefused) and error.code == "moderation_blocked"
    assert error.details["moderation_stage"] == "output" and error.request_id
    assert standin.stats()["image_requests"] == 1


def test_server_error_inside_a_stream_is_not_retried(standin):
    standin.queue_faults([{"kind": "stream_error", "code": "server_error"}])
    error = fail(standin, gen(partial_images=1))
    assert isinstance(error, ApiUnavailable) and "while streaming" in str(error)
    assert standin.stats()["image_requests"] == 1


@pytest.mark.parametrize("partials", [0, 1])
def test_malformed_answer_is_unavailable_and_not_retried(standin, partials):
    standin.queue_faults([{"kind": "malformed"}])
    error = fail(standin, gen(partial_images=partials))
    assert isinstance(error, ApiUnavailable) and error.code == "malformed_response"
    assert "could not be read" in str(error) and error.request_id
    assert standin.stats()["image_requests"] == 1


# the key never leaks -----------------------------------------------------------------------
def test_the_api_key_never_appears_in_any_output(standin, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    faults = [
        {"kind": "moderation"},
        {"kind": "insufficient_quota"},
        {"kind": "auth"},
        {"kind": "server_error", "status": 500},
        {"kind": "server_error", "status": 500},
        {"kind": "server_error", "status": 500},
        {"kind": "stream_cut"},
        {"kind": "malformed"},
        {"kind": "stream_error"},
    ]
    standin.queue_faults(faults)
    client = make_client(standin, timeout_s=0.5)
    for _ in range(7):
        try:
            client.run(gen(partial_images=1))
        except (ApiRefused, ApiUnavailable) as error:
            texts += [str(error), repr(error), json.dumps(error.to_dict()), error.hint or ""]
    standin.queue_faults([{"kind": "slow", "seconds": 2}])
    for call in (lambda: client.run(gen()), lambda: make_client(standin, key=KEY).check()):
        try:
            call()
        except ApiUnavailable as error:
            texts.append(str(error))
    for bad_key in ("sk-invalid",):
        with pytest.raises(ApiRefused) as info:
            make_client(standin, key=bad_key).run(gen())
        texts.append(str(info.value))
    captured = capsys.readouterr()
    texts += [captured.out, captured.err, caplog.text, json.dumps(standin.requests)]
    assert len(texts) > 20
    for text in texts:
        assert KEY not in text
        assert KEY[8:] not in text  # not even the distinctive tail


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
