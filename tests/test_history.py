"""History: job folders appear whole, survive kills, list/search/show/delete, prune by size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from core.errors import InputError
from core.history import History, image_extension

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 100


@pytest.fixture
def history(tmp_path):
    return History(tmp_path / "history", max_bytes=None)


def make_job(history, prompt="a red fox", **fields):
    return history.create(
        prompt=prompt,
        mode="edit_selection",
        model="gpt-image-2",
        settings={"quality": "low"},
        source_document="fox.kra",
        inputs={"image.png": PNG, "mask.png": PNG, "selection.png": None},
        references=[("style.jpg", JPEG)],
        api_size="1024x1024",
        crop=[0, 0, 1024, 1024],
        **fields,
    )


def test_create_writes_inputs_and_a_running_record(history):
    job = make_job(history, estimate_usd=0.05)
    data = json.loads((job.path / "job.json").read_text())
    assert data["status"] == "running" and data["prompt"] == "a red fox"
    assert data["source_document"] == "fox.kra" and data["estimate_usd"] == 0.05
    assert data["inputs"]["image"] == "image.png" and "selection" not in data["inputs"]
    assert data["inputs"]["references"] == ["reference-1.jpeg"]
    assert data["inputs"]["reference_names"] == ["style.jpg"]
    assert (job.path / "reference-1.jpeg").read_bytes() == JPEG
    assert job.inputs["mask"].read_bytes() == PNG
    assert set(job.inputs) == {"image", "mask", "references"}
    assert not [p for p in history.root.iterdir() if p.name.startswith(".")]


def test_ids_sort_by_time(history):
    first = make_job(history)
    time.sleep(1.05)
    second = make_job(history)
    assert first.id < second.id
    assert [r.id for r in history.list()] == [second.id, first.id]


def test_images_are_stored_as_they_arrive_then_finished(history):
    job = make_job(history)
    path = history.add_image(job.id, 1, JPEG, "png")
    assert path.name == "result-2.jpeg"  # the bytes decide the extension
    history.add_image(job.id, 0, PNG)
    assert [p.name for p in history.get(job.id).images] == ["result-1.png", "result-2.jpeg"]
    done = history.finish(
        job.id,
        "done",
        request_id="req_1",
        usage={"output_tokens": 10},
        cost_usd=0.0003,
        timings={"first_image_s": 1.5},
    )
    assert done.status == "done" and done.data["request_id"] == "req_1"
    assert done.data["images"] == ["result-1.png", "result-2.jpeg"]
    assert done.data["timings"]["first_image_s"] == 1.5
    assert "elapsed_s" in done.data["timings"] and "started" in done.data["timings"]


def test_failed_jobs_keep_their_error_and_images(history):
    job = make_job(history)
    history.add_image(job.id, 0, PNG)
    failed = history.finish(job.id, "failed", error={"type": "ApiUnavailable", "message": "x"})
    assert failed.status == "failed" and failed.data["error"]["message"] == "x"
    assert failed.images and failed.images[0].read_bytes() == PNG
    with pytest.raises(ValueError):
        history.finish(job.id, "running")


def test_search_is_case_insensitive_substring(history):
    make_job(history, "A Red FOX in snow")
    make_job(history, "a blue whale")
    make_job(history, "Ünïcode fox ✓")
    assert {r.prompt for r in history.search("fox")} == {"A Red FOX in snow", "Ünïcode fox ✓"}
    assert [r.prompt for r in history.search("WHALE")] == ["a blue whale"]
    assert [r.prompt for r in history.search("ünïcode")] == ["Ünïcode fox ✓"]
    assert history.search("zebra") == []


def test_get_and_delete_check_ids(history):
    job = make_job(history)
    assert history.get(job.id).prompt == "a red fox"
    history.delete(job.id)
    assert history.list() == []
    with pytest.raises(InputError):
        history.get(job.id)
    with pytest.raises(InputError):
        history.get("../../etc")
    with pytest.raises(InputError):
        history.delete("20260101-000000-zzzz")


def test_broken_folders_never_break_list(history):
    good = make_job(history)
    history.add_image(good.id, 0, PNG)
    # a job whose job.json got corrupted (not by us: we write atomically) still lists its images
    bad = make_job(history, "other")
    (bad.path / "job.json").write_text('{"prompt": "oth')
    # leftovers of killed processes: a staging folder, a stray temp file, an empty id folder
    (history.root / ".new-20260101-000000-abcd").mkdir()
    (good.path / ".job.json.123.deadbeef.tmp").write_text("{half")
    (history.root / "20260101-000000-abcd").mkdir()
    (history.root / "notes.txt").write_text("hi")
    records = {r.id: r for r in history.list()}
    assert records[good.id].status == "running" and records[good.id].images
    assert records[bad.id].status == "unreadable"
    assert records["20260101-000000-abcd"].status == "unreadable"
    assert history.search("red") and history.get(good.id).images


def test_prune_removes_oldest_finished_jobs_first(tmp_path):
    history = History(tmp_path / "h", max_bytes=None)
    jobs = []
    for i in range(4):
        job = make_job(history, f"job {i}")
        history.add_image(job.id, 0, PNG + os.urandom(10_000))
        jobs.append(job)
        time.sleep(0.01)
    history.finish(jobs[0].id, "done", prune=False)
    history.finish(jobs[2].id, "done", prune=False)
    history.finish(jobs[3].id, "failed", prune=False)
    # jobs[1] is still running: never pruned while fresh
    one = jobs[0].path.parent.joinpath(jobs[0].id)
    size = sum(p.stat().st_size for p in one.iterdir())
    history.max_bytes = int(size * 2.5)
    removed = history.prune()
    assert removed == [jobs[0].id, jobs[2].id]
    assert {r.id for r in history.list()} == {jobs[1].id, jobs[3].id}
    assert history.prune() == []


def test_finish_prunes_but_never_the_job_just_finished(tmp_path):
    history = History(tmp_path / "h", max_bytes=1)  # everything is over the cap
    old = make_job(history, "old")
    history.finish(old.id, "done", prune=False)
    new = make_job(history, "new")
    history.add_image(new.id, 0, PNG)
    history.finish(new.id, "done")
    assert [r.id for r in history.list()] == [new.id]


def test_stale_running_jobs_can_be_pruned(tmp_path):
    history = History(tmp_path / "h", max_bytes=1)
    job = make_job(history)
    assert history.prune() == []
    assert history.prune(now=time.time() + 2 * 86400) == [job.id]


def test_image_extension_by_magic():
    assert image_extension(PNG) == "png"
    assert image_extension(JPEG) == "jpeg"
    assert image_extension(b"RIFF\0\0\0\0WEBPVP8 ") == "webp"
    assert image_extension(b"????", "jpg") == "jpeg"


def test_a_kill_mid_job_leaves_a_readable_history(tmp_path):
    """A process killed (SIGKILL) while writing results leaves every finished file intact."""
    root = tmp_path / "h"
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {os.getcwd()!r})
        from core.history import History
        h = History({str(root)!r}, max_bytes=None)
        job = h.create(prompt="killed", mode="generate", model="gpt-image-2")
        h.add_image(job.id, 0, b"\\x89PNG\\r\\n\\x1a\\n" + os.urandom(2_000_000))
        print(job.id, flush=True)
        i = 1
        while True:  # keep rewriting results and job.json until killed
            h.add_image(job.id, i % 3, b"\\x89PNG\\r\\n\\x1a\\n" + os.urandom(2_000_000))
            i += 1
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    job_id = proc.stdout.readline().strip()
    time.sleep(0.5)
    proc.kill()
    proc.wait()
    history = History(root, max_bytes=None)
    (record,) = history.list()
    assert record.id == job_id and record.data["status"] == "running"
    assert record.status == "interrupted"  # its process is gone
    assert json.loads((record.path / "job.json").read_text())["prompt"] == "killed"
    for image in record.images:
        assert image.stat().st_size == 2_000_008
    # an interrupted job is finished business: the size cap may prune it
    assert history.prune() == [] and History(root, max_bytes=1).prune() == [job_id]


def test_pruning_after_a_job_walks_only_what_changed(tmp_path, monkeypatch):
    """Each finish prunes; with the sizes remembered, it neither reads the other jobs' job.json
    nor walks their folders again, and a folder that changes is measured anew."""
    import core.history as module

    history = History(tmp_path / "h", max_bytes=10**9)
    old = [make_job(history, f"old {i}") for i in range(5)]
    for job in old:
        history.add_image(job.id, 0, PNG + os.urandom(5000))
        history.finish(job.id, "done", prune=False)
    monkeypatch.setattr(module, "SIZE_SETTLE_NS", 0)  # no waiting out the coarse file times
    before = history.total_bytes()  # measures all, remembers them
    walked, loaded = [], []
    real_size, real_load = module._folder_size, History._load
    monkeypatch.setattr(module, "_folder_size", lambda f: walked.append(f.name) or real_size(f))
    monkeypatch.setattr(
        History, "_load", lambda self, f: loaded.append(f.name) or real_load(self, f)
    )
    new = make_job(history, "new")
    history.add_image(new.id, 0, PNG + os.urandom(7000))
    walked.clear()
    loaded.clear()
    history.finish(new.id, "done")
    assert walked == [new.id] and set(loaded) == {new.id}  # its own record only
    assert history.total_bytes() == before + module._folder_size(new.path)
    history.add_image(old[0].id, 1, PNG + os.urandom(3000))  # a folder that changes
    walked.clear()
    assert history.total_bytes() > before and walked == [old[0].id]
    (history.root / module.SIZES_FILE).write_text("{broken")  # only a cache: rebuilt
    assert history.total_bytes() == sum(module._folder_size(j.path) for j in [*old, new])
    history.max_bytes = 1  # over the cap: the oldest finished jobs go, as before
    assert history.prune(keep=(new.id,)) == [job.id for job in old]
