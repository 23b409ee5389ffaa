"""One back-off shared by every request of a batch, so a 429 pauses all workers at once.

Without it each worker sleeps its own ``Retry-After`` and then all of them retry together (a
thundering herd that earns the next 429). With it, a 429 closes the gate for everyone until the
server's ``Retry-After`` has passed; then workers are let through one at a time, spaced over the
retry window, so the first answers tell whether the limit has really cleared.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Longest pause between two workers let through after a back-off.
MAX_SPACING_S = 5.0


class SharedBackoff:
    """A gate the client waits at before every attempt; ``hold`` closes it for everyone."""

    def __init__(self, workers: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self._workers = max(1, int(workers))
        self._clock = clock
        self._lock = threading.Lock()
        self._open_at = 0.0
        self._spacing = 0.0
        self._staggered = 0  # releases still to space out after the last hold
        self._next_release = 0.0
        self.holds = 0  # how many 429s closed the gate (for reports and tests)
        self.waited_s = 0.0
        self.log: list[tuple[float, float]] = []  # (wall-clock time, seconds) of each hold

    def hold(self, seconds: float) -> None:
        """Close the gate for ``seconds`` from now (a longer hold already in force wins)."""
        seconds = max(0.0, float(seconds))
        with self._lock:
            now = self._clock()
            self.holds += 1
            self.log.append((time.time(), seconds))
            self._open_at = max(self._open_at, now + seconds)
            self._spacing = min(MAX_SPACING_S, seconds / self._workers)
            self._staggered = self._workers
            self._next_release = self._open_at

    def delay(self) -> float:
        """Seconds the caller must wait before its attempt (and books its place in the queue)."""
        with self._lock:
            now = self._clock()
            start = max(now, self._open_at)
            if self._staggered > 0:
                start = max(start, self._next_release)
                self._next_release = start + self._spacing
                self._staggered -= 1
            wait = start - now
            self.waited_s += wait
            return wait

    def wait(self, sleep: Callable[[float], bool]) -> bool:
        """Wait for this caller's turn with ``sleep(seconds) -> cancelled``; True if cancelled.

        A hold that comes while the caller sleeps counts too: it then waits for that one.
        """
        while True:
            with self._lock:
                holds = self.holds
            wait = self.delay()
            if wait <= 0:
                return False
            if sleep(wait):
                return True
            with self._lock:
                if self.holds == holds:
                    return False
