"""The GIMP plug-in's plain-Python parts, without GIMP: arguments, log redaction, bootstrap,
and the worker/cancel loop of ``runner`` (with ``core.jobs.run_job`` replaced by a stand-in
function, since no request is made here)."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "gimp_plugin"))

from gpt_image_gimp import arguments, bootstrap, logs, runner  # noqa: E402

from core.errors import ApiRefused, Cancelled  # noqa: E402

# --- arguments ---------------------------------------------------------------------------------


def test_each_procedure_has_its_arguments():
    edit = [a.name for a in arguments.args_for(arguments.EDIT_PROC)]
    gen = [a.name for a in arguments.args_for(arguments.GENERATE_PROC)]
    assert len(set(edit)) == len(edit)
    assert {"prompt", "model", "quality", "resolution", "variants", "source", "padding"} <= set(
        edit
    )
    assert {"reference-files", "reference-layer", "feather", "timeout"} <= set(edit) & set(gen)
    assert "source" not in gen and "padding" not in gen


def test_readme_lists_every_argument():
    readme = (REPO / "gimp_plugin" / "README.md").read_text()
    for arg in arguments.ARGS:
        assert f"`{arg.name}`" in readme, arg.name
    for proc in (arguments.EDIT_PROC, arguments.GENERATE_PROC):
        assert f"`{proc}`" in readme


def test_choice_defaults_are_choices():
    for arg in arguments.ARGS:
        if arg.kind == "choice":
            assert arg.default in arg.choices
        if arg.kind in ("int", "double"):
            assert arg.minimum <= arg.default <= arg.maximum


def values(**over):
    base = {"prompt": "a cat", "model": "gpt-image-2", "quality": "high", "resolution": "2K"}
    base.update(over)
    return base


def test_options_from_values():
    opts = arguments.options_from_values(
        values(**{"reference-files": "a.png; b.jpg\nc.webp ;", "variants": 3, "timeout": 2.5})
    )
    assert opts.reference_files == ("a.png", "b.jpg", "c.webp")
    assert (opts.variants, opts.timeout_s, opts.quality) == (3, 2.5, "high")


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"prompt": "  "}, "prompt is empty"),
        ({"resolution": "huge"}, "WIDTHxHEIGHT"),
        ({"variants": 11}, "1 to 10"),
        ({"quality": "ultra"}, "auto, low"),
        ({"source": "canvas"}, "layer, visible"),
    ],
)
def test_bad_values_name_the_problem(over, words):
    with pytest.raises(ValueError, match=words):
        arguments.options_from_values(values(**over))


def test_layer_names():
    assert arguments.layer_name("a  red\napple") == "GPT: a red apple"
    assert arguments.layer_name("x", 1) == "GPT: x #2"
    long = arguments.layer_name("word " * 40)
    assert long.endswith("…") and len(long) <= 5 + 48


# --- logs --------------------------------------------------------------------------------------


def test_log_file_never_holds_the_key(tmp_path):
    key = "sk-proj-ABCDEFGH12345678secret"
    path = logs.setup(tmp_path)
    logs.protect(key)
    log = logs.get("test")
    log.info("request with key %s", key)
    try:
        raise RuntimeError(f"boom {key} and another sk-live-ZZZZZZZZZZZZ")
    except RuntimeError:
        log.exception("failed")
    for handler in logging.getLogger(logs.LOGGER_NAME).handlers:
        handler.flush()
    text = path.read_text()
    assert path == tmp_path / "logs" / "gimp-plugin.log"
    assert "[REDACTED]" in text and "request with key" in text and "boom" in text
    assert key not in text and "sk-live-ZZZZZZZZZZZZ" not in text
    logs.protect(None)


# --- bootstrap ---------------------------------------------------------------------------------


def test_dependencies_present_here():
    assert bootstrap.dependency_error() is None


def test_missing_vendor_is_explained(monkeypatch):
    monkeypatch.setattr(bootstrap, "REQUIRED", ("core", "no_such_package_xyz"))
    message = bootstrap.dependency_error()
    assert "no_such_package_xyz" in message and "install.py" in message
    assert bootstrap.VENDOR_DIR in message


# --- runner ------------------------------------------------------------------------------------


class FakeUi:
    def __init__(self, cancel_after: float | None = None):
        self.cancelled = False
        self.images = []
        self.ticks = 0
        self.cancel_after = cancel_after
        self.started = time.monotonic()

    def tick(self, elapsed, status):
        self.ticks += 1
        if self.cancel_after is not None and elapsed > self.cancel_after:
            self.cancelled = True

    def show_image(self, image):
        self.images.append(image)


def progress(ui=None):
    texts = []
    return runner.Progress(set_text=texts.append, pulse=lambda: None, ui=ui), texts


def fake_job(monkeypatch, body):
    calls = {}

    def run_job(prepared, settings, *, on_event=None, cancel=None, **_):
        calls["thread"] = threading.current_thread()
        return body(on_event, cancel)

    monkeypatch.setattr(runner.jobs, "run_job", run_job)
    return calls


def test_result_and_events_come_back_on_the_main_thread(monkeypatch):
    def body(on_event, cancel):
        on_event(SimpleNamespace(kind="status", message="Sending", index=0, image=None))
        on_event(SimpleNamespace(kind="partial", index=0, image="preview", message=""))
        time.sleep(0.3)
        return "RESULT"

    calls = fake_job(monkeypatch, body)
    ui = FakeUi()
    prog, texts = progress(ui)
    assert runner.run_in_background(None, None, prog) == "RESULT"
    assert calls["thread"] is not threading.main_thread()
    assert ui.images == ["preview"] and ui.ticks >= 2
    assert any("Preview 1 received" in t for t in texts)


def test_errors_are_raised_in_the_caller(monkeypatch):
    def body(on_event, cancel):
        raise ApiRefused("no", hint="rephrase")

    fake_job(monkeypatch, body)
    with pytest.raises(ApiRefused):
        runner.run_in_background(None, None, progress()[0])


def cooperative(on_event, cancel):
    while not cancel.cancelled:
        time.sleep(0.02)
    raise Cancelled()


def test_cancel_file_cancels_and_is_removed(monkeypatch, tmp_path):
    fake_job(monkeypatch, cooperative)
    flag = tmp_path / "gimp-cancel"
    flag.write_text("stale")  # from an earlier run: must not cancel this one at once
    threading.Timer(0.4, flag.touch).start()
    started = time.monotonic()
    with pytest.raises(Cancelled, match="Cancelled through"):
        runner.run_in_background(None, None, progress()[0], cancel_path=flag)
    assert 0.3 < time.monotonic() - started < 3
    assert not flag.exists()


def test_time_limit_and_ui_cancel(monkeypatch):
    fake_job(monkeypatch, cooperative)
    with pytest.raises(Cancelled, match="time limit"):
        runner.run_in_background(None, None, progress()[0], timeout_s=0.3)
    with pytest.raises(Cancelled, match="by the user"):
        runner.run_in_background(None, None, progress(FakeUi(cancel_after=0.2))[0])


def test_a_stuck_worker_is_left_behind(monkeypatch):
    release = threading.Event()
    fake_job(monkeypatch, lambda on_event, cancel: release.wait(10))
    monkeypatch.setattr(runner, "CANCEL_GRACE_S", 0.3)
    started = time.monotonic()
    with pytest.raises(Cancelled):
        runner.run_in_background(None, None, progress()[0], timeout_s=0.2)
    assert time.monotonic() - started < 3
    release.set()
