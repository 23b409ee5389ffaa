"""core.job_handle: one worker thread per job, typed events, immediate cancel, true endings;
through the real client and the stand-in."""

from __future__ import annotations

import threading
import time

import pytest

from core.errors import Cancelled, InternalError, QuotaExceeded
from core.history import History
from core.job_handle import (
    Done,
    Failed,
    ImageSaved,
    JobCancelled,
    JobHandle,
    PartialPreview,
    Progress,
    RequestSent,
    cancelled_after,
    start_job,
)
from core.settings import Settings
from tests.standin.helpers import make_client
from tests.test_jobs import prepared_edit, prepared_generate


@pytest.fixture
def history(tmp_path):
    return History(tmp_path / "history", max_bytes=None)


@pytest.fixture
def settings():
    return Settings(quality="low", partial_images=0)


def _pump_until_end(handle, limit_s=30.0):
    updates, deadline = [], time.monotonic() + limit_s
    while not handle.finished:
        assert time.monotonic() < deadline, updates
        updates += handle.wait(0.05)
    return updates


def _job_threads():
    names = [t.name for t in threading.enumerate() if t.is_alive()]
    return [n for n in names if n.startswith("gpt-image") and n != "gpt-image-sdk-import"]


def test_a_job_reports_typed_events_in_order_on_one_worker_thread(standin, history):
    settings = Settings(quality="low", partial_images=2)
    seen_threads: list[list[str]] = []
    prepared, _reads = prepared_edit(settings, n=2)
    handle = start_job(
        prepared,
        settings,
        history=history,
        client=make_client(standin),
        after=lambda result: seen_threads.append(_job_threads()),
    )
    updates = _pump_until_end(handle)
    kinds = [u.kind for u in updates]
    assert kinds[0] == "progress" and kinds[-1] == "done"
    assert isinstance(updates[-1], Done) and kinds.count("done") == 1
    saved = [u for u in updates if isinstance(u, ImageSaved)]
    assert [u.index for u in saved] == [0, 1] and all(u.image is not None for u in saved)
    assert all(
        isinstance(u, (Progress, RequestSent, PartialPreview, ImageSaved, Done)) for u in updates
    )
    # "sent" once the request is out: after the "Sending" status, before any image
    assert kinds.count("sent") == 1 and 0 < kinds.index("sent") < kinds.index("image")
    # the job ran on exactly one thread of its own: no second thread for the API call
    assert seen_threads == [["gpt-image-job"]]
    result = handle.result()
    assert history.get(result.history_id).status == "done"
    assert handle.pump() == []  # nothing after the end


def test_cancel_is_immediate_and_nothing_follows_it(standin, settings, history):
    standin.event_delay = 0.8
    prepared = prepared_generate(settings, partial_images=3)
    handle = start_job(prepared, settings, history=history, client=make_client(standin))
    updates = []
    while not any(isinstance(u, PartialPreview) for u in updates):
        updates += handle.wait(0.05)
    asked = time.monotonic()
    handle.cancel("Cancelled by the user.")
    after = handle.pump()
    assert time.monotonic() - asked < 1.5
    assert after == [JobCancelled("Cancelled by the user.")] and handle.finished
    assert handle.join(5)  # the worker closed its record and ended
    time.sleep(1.0)
    assert handle.pump() == []
    (job,) = history.list()
    assert job.status == "cancelled" and job.images == []
    with pytest.raises(Cancelled, match="may still be billed"):  # true: the request was sent
        handle.result()


def test_a_cancel_before_anything_was_sent_says_so(standin, settings, history):
    standin.queue_faults([{"kind": "rate_limit", "retry_after": 5}])
    prepared = prepared_generate(settings)
    handle = start_job(prepared, settings, history=history, client=make_client(standin))
    time.sleep(0.5)  # the first attempt was refused (429): nothing billable is in flight
    handle.cancel()
    assert handle.pump()[-1].kind == "cancelled"
    assert handle.join(5)
    with pytest.raises(Cancelled) as info:
        handle.result()
    assert "may_be_billed" not in info.value.details
    assert standin.stats()["generated"] == 0


def test_a_refusal_is_failed_with_its_class(standin, settings, history):
    standin.queue_faults([{"kind": "insufficient_quota"}])
    handle = start_job(
        prepared_generate(settings), settings, history=history, client=make_client(standin)
    )
    updates = _pump_until_end(handle)
    assert isinstance(updates[-1], Failed) and isinstance(updates[-1].error, QuotaExceeded)
    with pytest.raises(QuotaExceeded):
        handle.result()
    assert history.list()[0].status == "failed"


def test_a_bug_is_an_internal_error_naming_the_log():
    def work(cancel, emit):
        raise KeyError("oops")

    handle = JobHandle(work, log_path=lambda: "/tmp/the.log").start()
    updates = _pump_until_end(handle)
    error = updates[-1].error
    assert isinstance(error, InternalError) and error.exit_code == 5
    assert "/tmp/the.log" in str(error) + str(error.hint)
    assert "could not be reached" not in str(error) and "billed" not in str(error)


# --- what a host tells after a cancel (core.job_handle.cancelled_after) ----------------------


def test_after_a_cancel_mid_request_the_message_says_it_may_be_billed(standin, settings, history):
    standin.event_delay = 0.8
    prepared = prepared_generate(settings, partial_images=3)
    handle = start_job(prepared, settings, history=history, client=make_client(standin))
    while not any(isinstance(u, PartialPreview) for u in handle.wait(0.05)):
        pass
    handle.cancel("Cancelled by the user.")
    assert handle.join(5)
    told = cancelled_after(handle, "Cancelled by the user.", hint="Nothing was changed.")
    assert told.for_people() == (
        "Cancelled by the user. The request had already reached the API, so it may still be "
        "billed. — Nothing was changed."
    )
    assert told.details["may_be_billed"] is True and told.request_id


def test_after_a_cancel_before_sending_the_message_says_nothing_was_billed(
    standin, settings, history
):
    standin.queue_faults([{"kind": "rate_limit", "retry_after": 5}])
    handle = start_job(
        prepared_generate(settings), settings, history=history, client=make_client(standin)
    )
    time.sleep(0.5)  # the first attempt was refused (429): nothing billable is in flight
    handle.cancel("Cancelled by the user.")
    assert handle.join(5)
    told = cancelled_after(handle, "Cancelled by the user.")
    assert str(told).startswith(
        "Cancelled by the user. No request was in flight at the API, so nothing was billed."
    )
    assert "may" not in told.message and told.details["may_be_billed"] is False
    assert standin.stats()["generated"] == 0


def test_after_a_cancel_the_message_follows_how_the_worker_ended():
    release = threading.Event()
    handle = JobHandle(lambda cancel, emit: release.wait(10) and "RESULT").start()
    handle.cancel("Cancelled.")
    stuck = cancelled_after(handle, "Cancelled.")  # the worker has not returned yet
    assert "not known" in stuck.message and stuck.details["may_be_billed"] is None
    release.set()
    assert handle.join(5)  # it finished anyway: the answer was paid for and kept
    late = cancelled_after(handle, "Cancelled.")
    assert "it was billed; it is kept in History" in late.message
    assert late.details["may_be_billed"] is True


def _compare_handle(standin, settings, history, entries, max_concurrent):
    """A comparison on a handle, as the Krita docker starts one."""
    from core import compare
    from core.jobs import JobSpec, Mode

    spec = JobSpec.from_settings(settings, Mode.GENERATE, "a harbour at dusk")
    parsed = compare.parse_entries(entries, settings)
    prepared = compare.prepare_compare(spec, parsed, None, None, None, settings)

    def work(cancel, emit):
        runs = compare.run_compare(
            prepared,
            parsed,
            settings,
            client_factory=lambda: make_client(standin),
            cancel=cancel,
            history=history,
            max_concurrent=max_concurrent,
        )
        return compare.CompareOutcome(tuple(runs))

    return JobHandle(work).start()


def _wait_for(condition, limit_s=20.0):
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_cancelled_comparison_tells_each_kind_of_run_apart(standin, settings, history):
    """Cancelled with one run finished, one at the API and one not yet sent: the message says
    each, not "the answer had arrived, so it was billed" for all three."""
    standin.queue_faults([{"kind": "delay", "seconds": 0.01}, {"kind": "slow", "seconds": 20}])
    handle = _compare_handle(
        standin, settings, history, ["gpt-image-2", "gpt-image-1.5", "gpt-image-1"], 1
    )
    finished = lambda: [r for r in history.list() if r.data["status"] == "done"]  # noqa: E731
    _wait_for(lambda: len(finished()) == 1 and standin.stats()["generated"] == 2)
    handle.cancel("Cancelled.")
    assert handle.join(10)
    assert isinstance(handle.worker_outcome, Done)  # the comparison itself came back
    told = cancelled_after(handle, "Cancelled.")
    assert told.message == (
        "Cancelled. Of 3 runs, 1 had finished, so it was billed and is kept in History; 1 had "
        "reached the API and may still be billed; 1 had not reached the API or had failed, so "
        "nothing was billed for it."
    )
    assert told.details["may_be_billed"] is True
    assert len(standin.image_requests()) == 2  # the third was never sent


def test_a_comparison_cancelled_before_any_answer_says_what_may_be_billed(
    standin, settings, history
):
    standin.queue_faults([{"kind": "slow", "seconds": 20}, {"kind": "slow", "seconds": 20}])
    handle = _compare_handle(standin, settings, history, ["gpt-image-2", "gpt-image-1.5"], 3)
    _wait_for(lambda: standin.stats()["generated"] == 2)
    handle.cancel("Cancelled.")
    assert handle.join(10)
    told = cancelled_after(handle, "Cancelled.")
    assert told.message == "Cancelled. Of 2 runs, 2 had reached the API and may still be billed."
    assert told.details["may_be_billed"] is True
    assert {r.data["status"] for r in history.list()} == {"cancelled"}
