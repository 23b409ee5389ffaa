"""The retry policy for image jobs, kept explicit because a retried image can be billed twice.

Only failures known to be transient are retried: 429 ``rate_limit_exceeded`` (after the server's
``Retry-After``, capped), 500/502/503/504, and connection failures that happened before the
request was sent. Everything else (400s, quota, moderation, auth, a read timeout or a dropped
stream after the request went out) fails at once. Pure functions only: no SDK, no I/O.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import time

RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
RATE_LIMIT_CODE = "rate_limit_exceeded"


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to wait; ``delay`` never exceeds ``max_delay_s``."""

    max_retries: int = 2
    base_delay_s: float = 1.0
    max_delay_s: float = 20.0
    max_retry_after_s: float = 60.0
    jitter: float = 0.25
    #: Retries after 429 ``rate_limit_exceeded`` (never billed); None = ``max_retries``.
    #: A batch that outgrows the rate limit sets it higher than one job would.
    rate_limit_retries: int | None = None

    @property
    def retries_for_rate_limit(self) -> int:
        return self.max_retries if self.rate_limit_retries is None else self.rate_limit_retries

    def delay(self, retry_number: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based).

        With a ``Retry-After`` the wait is that value (capped) plus a little jitter upwards, so
        the server's request is always honoured; otherwise exponential backoff with jitter.
        """
        if retry_after_s is not None and retry_after_s >= 0:
            wait = min(retry_after_s, self.max_retry_after_s)
            return wait + random.uniform(0, self.jitter * min(wait, 1.0))
        wait = min(self.base_delay_s * 2 ** (retry_number - 1), self.max_delay_s)
        return wait * (1 - self.jitter * random.random())


def is_transient_status(status: int, code: str | None) -> bool:
    """True for answers worth repeating unchanged: rate limits (not quota) and 5xx overloads."""
    if status == 429:
        return code in (RATE_LIMIT_CODE, None)
    return status in RETRYABLE_STATUSES


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date); None if absent."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError, IndexError):
        return None
