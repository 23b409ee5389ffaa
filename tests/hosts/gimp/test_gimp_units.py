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

from core.cli import main  # noqa: E402
from core.errors import ApiRefused, Cancelled  # noqa: E402

# --- arguments ---------------------------------------------------------------------------------


def test_each_procedure_has_its_arguments():
    edit = [a.name for a in arguments.args_for(arguments.EDIT_PROC)]
    gen = [a.name for a in arguments.args_for(arguments.GENERATE_PROC)]
    assert len(set(edit)) == len(edit)
    assert {"prompt", "model", "quality", "resolution", "variants", "source", "padding"} <= set(
        edit
    )
    assert {"references", "reference-layer", "feather", "timeout"} <= set(edit) & set(gen)
    assert "reference-files" not in edit
    assert "source" not in gen and "padding" not in gen


def test_contract_argument_names():
    """The names the issue fixes as the scripting contract, with their kinds."""
    kinds = {a.name: a.kind for a in arguments.args_for(arguments.EDIT_PROC)}
    for name in ("prompt", "model", "resolution", "references"):
        assert kinds[name] == "string", name
    for name in ("variants", "padding", "feather"):
        assert kinds[name] == "int", name
    assert kinds["quality"] == kinds["source"] == "choice"


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
        values(
            **{"references": "a.png; layer:12\n#7 ;\r\nImg/Layer", "variants": 3, "timeout": 2.5}
        )
    )
    assert opts.references == (
        arguments.RefEntry("a.png"),
        arguments.RefEntry("layer:12", 12),
        arguments.RefEntry("#7", 7),
        arguments.RefEntry("Img/Layer"),
    )
    assert (opts.variants, opts.timeout_s, opts.quality) == (3, 2.5, "high")
    assert arguments.options_from_values(values()).references == ()


@pytest.mark.parametrize(
    ("text", "layer_id"),
    [("layer:5", 5), ("LAYER: 42", 42), ("#0", 0), ("#abc", None), ("notes#3", None)],
)
def test_layer_id_forms(text, layer_id):
    [entry] = arguments.parse_references(text)
    assert entry == arguments.RefEntry(text, layer_id)


def test_malformed_layer_id_is_refused():
    with pytest.raises(ValueError, match="layer:<item id>"):
        arguments.parse_references("a.png;layer:twelve")


def test_at_most_fifteen_references():
    assert len(arguments.parse_references(";".join(f"#{i}" for i in range(15)))) == 15
    with pytest.raises(ValueError, match="16 reference images given; at most 15"):
        arguments.parse_references("\n".join(f"#{i}" for i in range(16)))
    with pytest.raises(ValueError, match="at most 15"):
        arguments.options_from_values(values(references=";".join(["x.png"] * 16)))


class FakeGimp:
    """Open images as {image name: {layer name: layer}} and item ids as {id: layer}."""

    def __init__(self, images, ids, files=()):
        self.images, self.ids, self.files = images, ids, set(files)
        self.name_calls = []

    def by_id(self, item_id):
        return self.ids.get(item_id)

    def by_name(self, image_name, layer_name):
        self.name_calls.append((image_name, layer_name))
        return self.images.get(image_name, {}).get(layer_name)

    def resolve(self, text):
        entries = arguments.parse_references(text)
        refs = arguments.resolve_references(
            entries, self.by_id, self.by_name, self.files.__contains__
        )
        return [(ref.kind, ref.value) for ref in refs]


def test_resolve_files_ids_and_names():
    fake = FakeGimp(
        {"[Untitled]": {"bg": "L-bg", "sky/clouds": "L-sky"}, "photo.png": {"photo.png": "L-p"}},
        {3: "L-three"},
        files={"/refs/a.png", "refs/b.png"},
    )
    got = fake.resolve(
        "/refs/a.png; layer:3\n#3;[Untitled]/bg;[Untitled]/sky/clouds;photo.png/photo.png;refs/b.png"
    )
    assert got == [
        ("file", "/refs/a.png"),
        ("layer", "L-three"),
        ("layer", "L-three"),
        ("layer", "L-bg"),
        ("layer", "L-sky"),
        ("layer", "L-p"),
        ("file", "refs/b.png"),
    ]
    assert ("refs", "b.png") in fake.name_calls  # a relative path is tried as a name first
    assert ("", "refs/a.png") not in fake.name_calls  # never an empty image name


def test_an_open_layer_wins_over_a_file_of_the_same_name():
    fake = FakeGimp({"refs": {"b.png": "L-b"}}, {}, files={"refs/b.png"})
    assert fake.resolve("refs/b.png") == [("layer", "L-b")]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("layer:99", "no open image has a layer .*item id 99"),
        ("#4", "item id 4"),
        ("/no/such/file.png", "'/no/such/file.png' is neither an existing image file"),
        ("[Untitled]/missing layer", "neither an existing image file nor a layer"),
    ],
)
def test_unresolvable_references_name_the_entry(text, words):
    fake = FakeGimp({"[Untitled]": {"bg": "L-bg"}}, {1: "L-one"})
    with pytest.raises(ValueError, match=words):
        fake.resolve(f"layer:1;{text}")


def test_real_files_are_found(tmp_path):
    ref = tmp_path / "ref.png"
    ref.write_bytes(b"not checked here")
    entries = arguments.parse_references(f"{ref};{tmp_path / 'missing.png'}")
    with pytest.raises(ValueError, match=r"missing\.png"):
        arguments.resolve_references(entries, lambda _id: None, lambda _i, _l: None)
    [found] = arguments.resolve_references(entries[:1], lambda _id: None, lambda _i, _l: None)
    assert (found.kind, found.value) == ("file", str(ref))


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"prompt": "  "}, "prompt is empty"),
        ({"resolution": "huge"}, "WIDTHxHEIGHT"),
        ({"variants": 11}, "1 to 10"),
        ({"quality": "ultra"}, "low, medium, high, xhigh, max, auto"),
        ({"source": "canvas"}, "layer, visible"),
    ],
)
def test_bad_values_name_the_problem(over, words):
    with pytest.raises(ValueError, match=words):
        arguments.options_from_values(values(**over))


@pytest.mark.parametrize("prompt", ["", "   ", "x" * 32_001])
def test_a_prompt_is_refused_in_core_s_words(capsys, prompt):
    """The dialog, a script and ``python -m core`` refuse the same prompt with the same text."""
    with pytest.raises(ValueError) as gimp_says:
        arguments.options_from_values(values(prompt=prompt))
    assert main(["generate", "--prompt", prompt, "-o", "never-written.png"]) == 2
    assert capsys.readouterr().err == f"error: {gimp_says.value}\n"


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


def test_a_cancel_before_sending_says_nothing_was_billed(monkeypatch):
    """The worker's own Cancelled (the client's: nothing had gone out) decides the message."""
    fake_job(monkeypatch, cooperative)
    with pytest.raises(Cancelled) as info:
        runner.run_in_background(None, None, progress(FakeUi(cancel_after=0.2))[0])
    assert info.value.for_people() == (
        "Cancelled by the user. No request was in flight at the API, so nothing was billed. "
        "— Nothing was changed in the image."
    )


def test_the_elapsed_time_shows_tenths(monkeypatch):
    """A preview often streams in within the first second: never "0 s" beside it."""

    def body(on_event, cancel):
        on_event(SimpleNamespace(kind="partial", index=0, image="preview", message=""))
        time.sleep(0.45)
        return "RESULT"

    fake_job(monkeypatch, body)
    prog, texts = progress(FakeUi())
    runner.run_in_background(None, None, prog)
    shown = [t for t in texts if "Preview 1 received" in t]
    assert shown and shown[-1].endswith(" s") and not shown[-1].endswith("… 0 s"), shown
    assert float(shown[-1].rsplit("… ", 1)[1][:-2]) >= 0.3, shown


def test_a_stuck_worker_is_left_behind(monkeypatch):
    release = threading.Event()
    fake_job(monkeypatch, lambda on_event, cancel: release.wait(10))
    monkeypatch.setattr(runner, "CANCEL_GRACE_S", 0.3)
    started = time.monotonic()
    with pytest.raises(Cancelled):
        runner.run_in_background(None, None, progress()[0], timeout_s=0.2)
    assert time.monotonic() - started < 3
    release.set()


# --- History… and Settings… (plain-Python parts) -------------------------------------------


def test_history_reuse_values_follow_core_options():
    from gpt_image_gimp import history_args

    from core.options import option

    data = {
        "prompt": "a red kite",
        "mode": "edit_selection",
        "model": "gpt-image-1.5",
        "settings": {"quality": "high", "n": 3, "blend": {"padding_px": 20, "feather_px": 4}},
    }
    proc = history_args.procedure_for_mode(data["mode"])
    assert proc == arguments.EDIT_PROC
    values = history_args.reuse_values(data, proc)
    assert values["prompt"] == "a red kite" and values["model"] == "gpt-image-1.5"
    assert values[option("quality").gimp] == "high" and values[option("n").gimp] == 3
    assert values[option("padding_px").gimp] == 20 and values[option("feather_px").gimp] == 4
    names = {a.name for a in arguments.args_for(proc)}
    assert set(values) <= names  # only arguments the procedure takes
    generate = history_args.reuse_values({**data, "mode": "generate"}, arguments.GENERATE_PROC)
    assert option("padding_px").gimp not in generate  # Generate… has no padding
    assert history_args.procedure_for_mode("generate") == arguments.GENERATE_PROC
    assert history_args.procedure_for_mode("expand") == arguments.EXPAND_PROC


def test_history_and_settings_procedures_are_named_as_the_issue_says():
    from gpt_image_gimp import history_args

    assert history_args.HISTORY_PROC == "plug-in-gpt-image-history"
    assert history_args.SETTINGS_PROC == "plug-in-gpt-image-settings"
    assert history_args.HISTORY_DOCS[0] == "_History…"
    assert history_args.SETTINGS_DOCS[0] == "_Settings…"
    kinds = {a.name: a.kind for a in history_args.HISTORY_ARGS}
    assert kinds == {"action": "choice", "history-id": "string"}


# --- draft: dialog values kept until a run succeeds --------------------------------------------


class _Config:
    """A procedure config's property interface, enough for ``draft``."""

    def __init__(self, **values):
        self.values = {
            arg.name: arg.default
            for proc in (arguments.EDIT_PROC, arguments.GENERATE_PROC)
            for arg in arguments.args_for(proc)
            if arg.kind not in ("drawable", "file")
        }
        self.values.update(values)

    def get_property(self, name):
        return self.values[name]

    def set_property(self, name, value):
        self.values[name] = value


@pytest.fixture
def drafts(tmp_path, monkeypatch, caplog):
    from gpt_image_gimp import draft

    monkeypatch.setenv("GPT_IMAGE_DATA_DIR", str(tmp_path))
    caplog.set_level(logging.INFO)
    return draft


def _saved(draft, **values):
    config = _Config(**values)
    assert draft.save(arguments.EDIT_PROC, config)
    return config


def test_draft_round_trip_owner_only(drafts):
    _saved(drafts, prompt="a long typed prompt", variants=3)
    assert drafts.path().stat().st_mode & 0o777 == 0o600
    fresh = _Config(prompt="the older last values")
    assert "prompt" in drafts.apply(arguments.EDIT_PROC, fresh)
    assert fresh.values["prompt"] == "a long typed prompt" and fresh.values["variants"] == 3
    drafts.remove(arguments.EDIT_PROC)
    assert not drafts.path().exists()


@pytest.mark.parametrize("key", ["sk-secret-123", 'sk-"quoted\\key', "sk-schlüssel-ключ"])
def test_draft_never_holds_the_key(drafts, key):
    """Also a key with characters JSON escapes (a quote, a backslash, non-ASCII)."""
    config = _Config(prompt=f"oops {key} pasted")
    assert not drafts.save(arguments.EDIT_PROC, config, secret=key)
    assert not drafts.path().exists()


@pytest.mark.parametrize("raw", [b"", b"\x00\xff{", b"[1, 2]", b'{"values": 3}', b"null"])
def test_garbled_draft_is_ignored_with_a_log_line(drafts, caplog, raw):
    drafts.path().parent.mkdir(parents=True, exist_ok=True)
    drafts.path().write_bytes(raw)
    config = _Config(prompt="last values")
    assert drafts.apply(arguments.EDIT_PROC, config) == []
    assert config.values["prompt"] == "last values"
    assert "draft" in caplog.text and "ignored" in caplog.text


def test_draft_of_another_procedure_is_not_applied_nor_removed(drafts):
    drafts.save(arguments.GENERATE_PROC, _Config(prompt="a generate prompt"))
    config = _Config(prompt="last values")
    assert drafts.apply(arguments.EDIT_PROC, config) == []
    assert config.values["prompt"] == "last values"
    drafts.remove(arguments.EDIT_PROC)  # an Edit… success leaves Generate…'s draft alone
    assert drafts.path().exists()


def test_draft_value_this_version_refuses_is_skipped(drafts):
    import json

    drafts.path().parent.mkdir(parents=True, exist_ok=True)
    values = {
        "prompt": "kept",
        "variants": 999,  # beyond the range
        "quality": "ultra",  # a choice gone
        "padding": "wide",  # wrong type
        "gone-argument": 1,  # no longer an argument
    }
    drafts.path().write_text(
        json.dumps({"version": 1, "procedure": arguments.EDIT_PROC, "values": values})
    )
    config = _Config(prompt="last values", variants=2, quality="auto", padding=10)
    assert drafts.apply(arguments.EDIT_PROC, config) == ["prompt"]
    assert config.values == _Config(prompt="kept", variants=2, quality="auto", padding=10).values


def test_draft_set_property_refusal_is_skipped(drafts):
    class Refusing(_Config):
        def set_property(self, name, value):
            if name == "variants":
                raise TypeError("GIMP refuses it")
            super().set_property(name, value)

    _saved(drafts, prompt="typed", variants=3)
    config = Refusing(prompt="last")
    assert "variants" not in drafts.apply(arguments.EDIT_PROC, config)
    assert config.values["prompt"] == "typed" and config.values["variants"] == 1
