"""Real-host runs as background jobs, so that runs which can overlap do.

A Krita or GIMP start takes a minute or more, and most of it is waiting (timers, the stand-in,
Xvfb), so the suite starts every host run it will need as soon as collection is done
(``tests/hosts/conftest.py``) and the host-free tests run meanwhile; a host test's fixture then
only waits for its run's result. At most ``GPT_IMAGE_HOST_JOBS`` runs (default 3) go at once on
this 2-core machine. Jobs are keyed, so a fixture and the prefetch never start one run twice;
a fixture whose job was not prefetched starts it itself.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

Key = tuple[str, ...]

_lock = threading.Lock()
_jobs: dict[Key, Future] = {}
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        workers = max(1, int(os.environ.get("GPT_IMAGE_HOST_JOBS", "3")))
        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="host-run")
    return _pool


def start(key: Key, job: Callable[[], Any]) -> Future:
    """Queue ``job`` under ``key`` unless a job with that key is already queued; its future."""
    with _lock:
        if key not in _jobs:
            _jobs[key] = _executor().submit(job)
        return _jobs[key]


def then(key: Key, after: Key, job: Callable[[Any], Any]) -> None:
    """Queue ``job(result of after)`` under ``key`` once ``after`` has finished well."""

    def chain(done: Future) -> None:
        if done.exception() is None:
            start(key, lambda: job(done.result()))

    with _lock:
        first = _jobs.get(after)
    if first is not None:
        first.add_done_callback(chain)


def result(key: Key, job: Callable[[], Any]) -> Any:
    """The result of the job under ``key`` (started now if nobody started it), once done."""
    return start(key, job).result()


def shutdown() -> None:
    """Wait for running jobs (a host process must not outlive the session); drop queued ones."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
        _jobs.clear()
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def wait(key: Key) -> None:
    """Wait for the job under ``key`` if one was started (its outcome is someone else's)."""
    with _lock:
        job = _jobs.get(key)
    if job is not None:
        with contextlib.suppress(Exception):
            job.result()
