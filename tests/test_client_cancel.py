"""Cancel from another thread: prompt, final (no callback afterwards), and the connection closed."""

from __future__ import annotations

import threading
import time

import pytest

from core.client import CancelToken, ImageRequest
from core.errors import Cancelled
from tests.standin.helpers import make_client

SMALL = "1024x640"


def _wait_for(predicate, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _api_threads():
    return [t for t in threading.enumerate() if t.name == "gpt-image-api" and t.is_alive()]


def _cancel_later(token, seconds):
    """Cancel from another thread after ``seconds``; returns a list that gets the cancel time."""
    when: list[float] = []

    def fire():
        when.append(time.monotonic())
        token.cancel()

    threading.Timer(seconds, fire).start()
    return when


def test_cancel_mid_stream_returns_fast_and_nothing_fires_after(standin):
    standin.event_delay = 0.6  # seconds between stream events
    token = CancelToken()
    events: list[tuple[str, float]] = []
    cancel_called: list[float] = []
    cancel_returned: list[float] = []
    cancellers: list[threading.Thread] = []

    def canceller():
        time.sleep(0.05)
        cancel_called.append(time.monotonic())
        token.cancel()
        cancel_returned.append(time.monotonic())

    def on_partial(partial):
        events.append(("partial", time.monotonic()))
        if partial.index == 0:
            cancellers.append(threading.Thread(target=canceller))
            cancellers[0].start()

    with pytest.raises(Cancelled) as info:
        make_client(standin).run(
            ImageRequest("slow comet", "gpt-image-2", size=SMALL, partial_images=3),
            on_partial=on_partial,
            on_image=lambda i, d: events.append(("image", time.monotonic())),
            cancel=token,
        )
    returned = time.monotonic()
    cancellers[0].join(timeout=5)
    assert info.value.exit_code == 130
    assert info.value.details["may_be_billed"] is True and "may still be billed" in str(info.value)
    assert returned - cancel_called[0] < 1.0
    assert cancel_returned[0] - cancel_called[0] < 1.0
    time.sleep(1.5)  # the stand-in would have sent two more events by now
    assert [kind for kind, _ in events] == ["partial"]
    assert all(at <= cancel_returned[0] for _, at in events)
    # The connection was closed, not abandoned: the stand-in's next write failed.
    assert _wait_for(lambda: standin.requests[0]["outcome"] == "client_gone")
    assert standin.stats()["completed"] == 0
    assert info.value.request_id == standin.requests[0]["id"]
    assert _wait_for(lambda: not _api_threads())


def test_cancel_while_waiting_for_a_non_streaming_answer(standin):
    standin.queue_faults([{"kind": "slow", "seconds": 6}])
    token = CancelToken()
    when = _cancel_later(token, 0.3)
    with pytest.raises(Cancelled):
        make_client(standin).run(ImageRequest("x", "gpt-image-2", size=SMALL), cancel=token)
    assert time.monotonic() - when[0] < 1.0
    # The worker thread was woken by the socket shutdown, not left blocked until the answer
    # (6 s); if the cancel came while openai was still being imported, nothing was sent.
    assert _wait_for(lambda: not _api_threads(), timeout=3.0)
    assert standin.stats()["completed"] == 0


def _cancel_when(token, predicate):
    """Cancel from another thread as soon as ``predicate()`` holds (not after a fixed delay: on
    a loaded machine the request may not have left yet); returns a list that gets the time."""
    when: list[float] = []

    def fire():
        _wait_for(predicate, timeout=30.0)
        when.append(time.monotonic())
        token.cancel()

    threading.Thread(target=fire, daemon=True).start()
    return when


def test_cancel_while_sleeping_before_a_retry(standin):
    standin.queue_faults([{"kind": "rate_limit", "retry_after": 5}])
    token = CancelToken()
    when = _cancel_when(token, lambda: standin.stats()["image_requests"] == 1)
    with pytest.raises(Cancelled):
        make_client(standin).run(ImageRequest("x", "gpt-image-2", size=SMALL), cancel=token)
    assert time.monotonic() - when[0] < 1.0
    assert standin.stats()["image_requests"] == 1


def test_cancelled_before_start_sends_nothing(standin):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled) as info:
        make_client(standin).run(ImageRequest("x", "gpt-image-2", size=SMALL), cancel=token)
    assert standin.requests == []
    assert "may_be_billed" not in info.value.details


def test_cancel_from_inside_a_callback_stops_delivery(standin):
    """A callback may cancel (e.g. the user pressed Cancel while a preview was drawn)."""
    token = CancelToken()
    seen: list[int] = []
    cancel_took: list[float] = []

    def on_partial(partial):
        seen.append(partial.index)
        started = time.monotonic()
        token.cancel()  # must not wait for the callback it is called from
        cancel_took.append(time.monotonic() - started)

    with pytest.raises(Cancelled):
        make_client(standin).run(
            ImageRequest("x", "gpt-image-2", size=SMALL, partial_images=3),
            on_partial=on_partial,
            on_image=lambda i, d: seen.append(100 + i),
            cancel=token,
        )
    assert seen == [0]
    assert cancel_took[0] < 0.5


def test_a_finished_run_ignores_a_later_cancel(standin):
    token = CancelToken()
    result = make_client(standin).run(ImageRequest("x", "gpt-image-2", size=SMALL), cancel=token)
    token.cancel()
    assert result.images and token.cancelled
