"""core.retry: which failures are transient, how long to wait, how Retry-After is read."""

from __future__ import annotations

from email.utils import formatdate
from time import time

import pytest

from core.retry import RetryPolicy, is_transient_status, parse_retry_after


@pytest.mark.parametrize(
    ("status", "code", "transient"),
    [
        (429, "rate_limit_exceeded", True),
        (429, None, True),
        (429, "insufficient_quota", False),
        (500, None, True),
        (502, None, True),
        (503, None, True),
        (504, None, True),
        (400, "moderation_blocked", False),
        (400, "invalid_value", False),
        (401, "invalid_api_key", False),
        (403, None, False),
        (404, None, False),
        (408, None, False),
        (501, None, False),
    ],
)
def test_only_rate_limits_and_overloads_are_transient(status, code, transient):
    assert is_transient_status(status, code) is transient


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_parse_retry_after(headers, seconds):
    assert parse_retry_after(headers) == seconds


def test_parse_retry_after_http_date():
    value = parse_retry_after({"retry-after": formatdate(time() + 30, usegmt=True)})
    assert value is not None and 27 <= value <= 31


def test_retry_after_is_honoured_and_capped():
    policy = RetryPolicy(max_retry_after_s=10, jitter=0.25)
    for _ in range(50):
        assert 3.0 <= policy.delay(1, 3.0) <= 3.25
        assert 10.0 <= policy.delay(1, 600.0) <= 10.25


def test_backoff_grows_with_jitter_and_is_bounded():
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=4.0, jitter=0.25)
    for _ in range(50):
        assert 0.75 <= policy.delay(1) <= 1.0
        assert 1.5 <= policy.delay(2) <= 2.0
        assert 3.0 <= policy.delay(5) <= 4.0
    delays = {round(policy.delay(1), 6) for _ in range(20)}
    assert len(delays) > 1  # jitter: retries from many clients don't line up
