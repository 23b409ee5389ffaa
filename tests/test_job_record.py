"""job.json: one writer, one reader that migrates, and garbled records that never break
``history list|show|search|prune`` nor a new job."""

from __future__ import annotations

import json
import shutil

import pytest

from core.history import History
from core.job_record import FORMAT_VERSION, RecordError, migrate, read_record, record_options
from core.options import option
from tests.test_cli_jobs import env, run, run_json  # noqa: F401 (fixture)

GARBLED = {
    "bad_json": b'{"prompt": "x", ',
    "top_level_list": b"[1, 2, 3]",
    "inputs_as_list": None,  # filled from a real record below
    "absurd_nesting": b"[" * 100_000 + b"]" * 100_000,
    "not_utf8": b'{"prompt": "\xff\xfe"}',
    "infinite_number": b'{"prompt": "x", "cost_usd": 1e999}',
    "prompt_is_a_number": None,
    "status_unknown": None,
    "canvas_not_numbers": None,
    "newer_version": None,
    "settings_is_text": None,
    "empty_file": b"",
}
MUTATIONS = {
    "inputs_as_list": lambda d: d.update(inputs=["image.png"]),
    "prompt_is_a_number": lambda d: d.update(prompt=42),
    "status_unknown": lambda d: d.update(status="exploded"),
    "canvas_not_numbers": lambda d: d.update(canvas=[1, "a"]),
    "newer_version": lambda d: d.update(format_version=FORMAT_VERSION + 5),
    "settings_is_text": lambda d: d.update(settings="quality=high"),
}


def _first_job(env, capsys):  # noqa: F811
    code, report, err = run_json(
        capsys, "generate", "--prompt", "a lighthouse", "--quality", "low", "-o", env / "a.png"
    )
    assert code == 0, err
    return env / "data" / "history" / report["history_id"]


def _clone(folder, n, raw=None, mutate=None):
    target = folder.parent / f"20200101-0000{n:02d}-{n:04x}"
    shutil.copytree(folder, target)
    data = json.loads((target / "job.json").read_text())
    data["id"] = target.name
    if mutate is not None:
        mutate(data)
        raw = json.dumps(data).encode()
    if raw is not None:
        (target / "job.json").write_bytes(raw)
    return target


@pytest.fixture
def garbled(env, capsys):  # noqa: F811
    good = _first_job(env, capsys)
    made = {}
    for n, (name, raw) in enumerate(GARBLED.items(), start=1):
        made[name] = _clone(good, n, raw, MUTATIONS.get(name)).name
    missing_json = _clone(good, 40)
    (missing_json / "job.json").unlink()
    made["job_json_missing"] = missing_json.name
    missing_mask = _clone(good, 41)
    (missing_mask / "image.png").unlink(missing_ok=True)
    data = json.loads((missing_mask / "job.json").read_text())
    data["inputs"] = {"mask": "mask.png"}
    (missing_mask / "job.json").write_text(json.dumps(data))
    made["input_file_missing"] = missing_mask.name
    json_dir = _clone(good, 42)
    (json_dir / "job.json").unlink()
    (json_dir / "job.json").mkdir()
    made["job_json_is_a_folder"] = json_dir.name
    escape = _clone(good, 43, mutate=lambda d: d.update(images=["../../etc/passwd"]))
    made["file_name_escapes"] = escape.name
    return good.name, made


def test_history_list_shows_every_garbled_record_as_unreadable_with_a_reason(
    env,  # noqa: F811
    capsys,
    garbled,
):
    good, made = garbled
    code, report, err = run_json(capsys, "history", "list")
    assert code == 0, err
    jobs = {job["id"]: job for job in report["jobs"]}
    assert jobs[good]["status"] == "done"
    for name, job_id in made.items():
        assert jobs[job_id]["status"] == "unreadable", name
        assert jobs[job_id]["unreadable_reason"], name
    reasons = {name: jobs[job_id]["unreadable_reason"] for name, job_id in made.items()}
    assert "not valid JSON" in reasons["bad_json"]
    assert "a list, not an object" in reasons["top_level_list"]
    assert "'inputs' is a list" in reasons["inputs_as_list"]
    assert "nested more than" in reasons["absurd_nesting"]
    assert "UTF-8" in reasons["not_utf8"]
    assert "finite" in reasons["infinite_number"]
    assert "'prompt' is a number" in reasons["prompt_is_a_number"]
    assert "exploded" in reasons["status_unknown"]
    assert "canvas" in reasons["canvas_not_numbers"]
    assert "newer than this plug-in reads" in reasons["newer_version"]
    assert "'settings' is text" in reasons["settings_is_text"]
    assert "job.json is missing" in reasons["job_json_missing"]
    assert "mask.png is missing" in reasons["input_file_missing"]
    assert "cannot be read" in reasons["job_json_is_a_folder"]
    assert "outside the job folder" in reasons["file_name_escapes"]
    # text listing too, one line each, with the reason
    code, out, err = run(capsys, "history", "list")
    assert code == 0, err
    assert out.count("unreadable") == len(made) and "(job.json is missing)" in out


def test_show_search_prune_survive_garbled_records(env, capsys, garbled):  # noqa: F811
    good, made = garbled
    for job_id in made.values():
        code, out, err = run(capsys, "history", "show", job_id)
        assert code == 0, err
        assert "status: unreadable" in out and "unreadable_reason:" in out
        code, data, err = run_json(capsys, "history", "show", job_id)
        assert code == 0 and data["status"] == "unreadable"
    for argv in (
        ("history", "search", "lighthouse"),
        ("history", "list", "--search", "lighthouse"),
    ):
        code, report, err = run_json(capsys, *argv)
        assert code == 0, err
        assert [job["id"] for job in report["jobs"]] == [good]
    code, report, err = run_json(capsys, "history", "prune")
    assert code == 0, err
    code, report, err = run_json(capsys, "history", "prune", "--max-mb", "100000")
    assert code == 0 and report["removed"] == []
    # nothing was rewritten: the garbled files are exactly as they were
    root = env / "data" / "history"
    assert (root / made["bad_json"] / "job.json").read_bytes() == GARBLED["bad_json"]


def test_a_new_job_runs_and_writes_its_output_beside_garbled_records(
    env,  # noqa: F811
    capsys,
    garbled,
):
    code, report, err = run_json(
        capsys, "generate", "--prompt", "a boat", "--quality", "low", "-o", env / "b.png"
    )
    assert code == 0, err
    assert (env / "b.png").is_file()
    code, listing, _ = run_json(capsys, "history", "list")
    new = next(job for job in listing["jobs"] if job["id"] == report["history_id"])
    assert new["status"] == "done" and new["format_version"] == FORMAT_VERSION


def test_rerun_of_an_unreadable_record_is_bad_input_with_the_reason(
    env,  # noqa: F811
    capsys,
    garbled,
    standin,
):
    _, made = garbled
    sent = len(standin.image_requests())
    code, _, err = run(capsys, "history", "rerun", made["inputs_as_list"], "-o", env / "r.png")
    assert code == 2 and "unreadable" in err and "'inputs' is a list" in err
    assert len(standin.image_requests()) == sent


@pytest.mark.parametrize("old", ["v1", "v0"])
def test_older_versions_are_migrated_and_rerun(env, capsys, standin, old):  # noqa: F811
    good = _first_job(env, capsys)
    data = json.loads((good / "job.json").read_text())
    data.pop("format_version")
    if old == "v1":
        data["version"] = 1
    (good / "job.json").write_text(json.dumps(data))
    code, shown, err = run_json(capsys, "history", "show", good.name)
    assert code == 0 and shown["status"] == "done" and shown["format_version"] == FORMAT_VERSION
    assert "version" not in shown
    code, _report, err = run_json(capsys, "history", "rerun", good.name, "-o", env / "r.png")
    assert code == 0, err
    assert standin.image_requests()[-1]["params"]["quality"] == "low"


def test_one_writer_every_record_has_the_current_version(tmp_path):
    history = History(tmp_path)
    record = history.create(prompt="x", mode="generate", model="gpt-image-2")
    assert record.data["format_version"] == FORMAT_VERSION
    finished = history.finish(record.id, "done")
    raw = (record.path / "job.json").read_bytes()
    assert read_record(raw, record.path)["status"] == "done" == finished.status


def test_the_reader_refuses_and_migrates_directly(tmp_path):
    with pytest.raises(RecordError, match="not a whole number"):
        migrate({"format_version": "2"})
    assert migrate({"version": 1})["format_version"] == FORMAT_VERSION
    with pytest.raises(RecordError, match="has no 'prompt'"):
        read_record(json.dumps({"format_version": 2}).encode(), tmp_path)


def test_record_options_fill_defaults_from_the_one_definition():
    options = record_options({"model": "gpt-image-2.5-flare", "settings": {"quality": "max"}})
    assert options["model"] == "gpt-image-2.5-flare" and options["quality"] == "max"
    assert options["partial_images"] == option("partial_images").default
    assert options["blend"]["padding_px"] == option("padding_px").default
    assert record_options({"settings": "junk"})["n"] == option("n").default


def test_an_unreadable_record_is_never_overwritten(tmp_path):
    history = History(tmp_path)
    record = history.create(prompt="x", mode="generate", model="gpt-image-2")
    (record.path / "job.json").write_bytes(b"{broken")
    with pytest.raises(ValueError, match="unreadable"):
        history.finish(record.id, "done")
    assert (record.path / "job.json").read_bytes() == b"{broken"
    # an image that arrives for it is still kept
    path = history.add_image(record.id, 0, b"\x89PNG\r\n\x1a\n" + b"0" * 20)
    assert path.is_file()
