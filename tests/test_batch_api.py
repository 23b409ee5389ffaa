"""`python -m core batch --batch-api` / `batch status` / `batch fetch` against the stand-in's
Files and Batch APIs: partial failure, expiry, a failed batch, cancel, resubmission."""

from __future__ import annotations

import base64
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from openai import OpenAI
from PIL import Image

from core.history import History
from core.pricing import actual_cost
from tests.batch_helpers import photos, write_jsonl
from tests.cli_helpers import cli_dirs, run_json
from tests.standin.helpers import KEY

POLL = ("--poll", "0.01")


@pytest.fixture
def env(tmp_path, monkeypatch, standin):
    return cli_dirs(tmp_path, monkeypatch, standin)


def edit_jobs(env, count, *, special=None, size=(120, 90)):
    images = photos(env / "in", count, size=size)
    jobs = []
    for i, path in enumerate(images):
        prompt = f"product {i}" + ((special or {}).get(i, ""))
        jobs.append({"image": str(path), "prompt": prompt, "rect": "10,10,40,30", "quality": "low"})
    return write_jsonl(env / "jobs.jsonl", jobs), images


def submit(capsys, env, jobs, *extra):
    return run_json(capsys, "batch", jobs, "--out", env / "out", "--batch-api", "--yes", *extra)


def fetch(capsys, env, *extra):
    return run_json(capsys, "batch", "fetch", env / "out", *extra)


def test_partial_failure_each_line_reported_images_in_history_and_half_price(env, capsys, standin):
    jobs, images = edit_jobs(env, 6, special={3: " [[fault:moderation]]"})
    _, dry, _ = run_json(capsys, "batch", jobs, "--out", env / "dry", "--dry-run")
    code, submitted, err = submit(capsys, env, jobs)
    assert code == 0, err
    assert {r["status"] for r in submitted["rows"]} == {"submitted"}
    assert "50% discount" in err
    # each line rounded up to 1/100 cent: at most 6 such steps apart
    assert submitted["totals"]["estimate_usd"] == pytest.approx(dry["estimate_usd"] / 2, abs=6e-4)
    (batch_id,) = submitted["totals"]["batches"]
    # the input went up as Batch JSONL through the Files API, edits in their JSON form
    (upload,) = [r for r in standin.requests if r["endpoint"] == "files" and r["method"] == "POST"]
    assert upload["content_type"].startswith("multipart/form-data")
    lines = (env / "out" / ".gpt-image-batch" / "requests-1.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert first["method"] == "POST" and first["url"] == "/v1/images/edits"
    body = first["body"]
    assert body["images"][0]["image_url"].startswith("data:image/png;base64,")
    assert body["mask"]["image_url"].startswith("data:image/png;base64,")
    assert body["model"] == "gpt-image-2" and "stream" not in body
    assert standin.batches.executed == []  # nothing runs before the batch is polled

    code, status, _ = run_json(capsys, "batch", "status", env / "out")
    assert code == 0 and status["batches"][0]["id"] == batch_id
    assert status["batches"][0]["status"] in ("in_progress", "validating")

    code, result, err = fetch(capsys, env, "--wait", *POLL)
    assert code == 3, err  # one line was refused
    rows = {r["line"]: r for r in result["rows"]}
    assert rows[4]["status"] == "failed" and rows[4]["error"]["code"] == "moderation_blocked"
    assert "safety system" in rows[4]["error"]["message"]
    done = [r for r in result["rows"] if r["status"] == "done"]
    assert len(done) == 5
    history = History(env / "data" / "history")
    output = [
        json.loads(x)
        for x in (env / "out" / ".gpt-image-batch" / "output-1.jsonl").read_text().splitlines()
    ]
    usage = {o["custom_id"]: o["response"]["body"]["usage"] for o in output}
    for row in done:
        record = history.get(row["history_id"])
        assert record.status == "done" and len(record.images) == 1
        assert record.data["batch"]["id"] == batch_id
        cid = record.data["batch"]["custom_id"]
        assert row["cost_usd"] == pytest.approx(
            actual_cost(usage[cid], "gpt-image-2") / 2, abs=1e-6
        )
        assert record.data["cost_usd"] == row["cost_usd"]
        (path,) = row["outputs"]
        source = images[row["line"] - 1]
        with Image.open(path) as out, Image.open(source) as src:
            assert out.size == src.size
            far = (80, 60, 120, 90)  # outside the rect and its feather: untouched
            assert out.convert("RGB").crop(far).tobytes() == src.convert("RGB").crop(far).tobytes()
            assert (
                out.convert("RGB").crop((15, 15, 45, 35)).tobytes()
                != src.crop((15, 15, 45, 35)).tobytes()
            )
    assert result["totals"]["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in done))

    # fetching again applies nothing twice
    before = len(list(history.list()))
    code, again, _ = fetch(capsys, env)
    assert code == 3 and len(list(history.list())) == before
    assert all(r["previous_run"] for r in again["rows"])


def test_expiry_then_a_resubmit_sends_only_what_never_ran(env, capsys, standin):
    jobs, _ = edit_jobs(env, 5, special={0: " [[batch:expire:2]]"})
    code, result, err = submit(capsys, env, jobs, "--wait", *POLL)
    assert code == 4, err
    rows = {r["line"]: r for r in result["rows"]}
    assert [rows[n]["status"] for n in (1, 2)] == ["done", "done"]
    for n in (3, 4, 5):
        assert rows[n]["status"] == "failed" and rows[n]["error"]["code"] == "batch_expired"
    code, status, _ = run_json(capsys, "batch", "status", env / "out")
    assert status["batches"][0]["status"] == "expired"
    assert status["batches"][0]["request_counts"] == {"completed": 2, "failed": 3, "total": 5}

    # the same command again submits the three that never ran, in a new batch
    code, resubmitted, err = submit(capsys, env, jobs, "--wait", *POLL)
    assert code == 0, err
    statuses = Counter(r["status"] for r in resubmitted["rows"])
    assert statuses == {"done": 5}
    executed = Counter(e["prompt"].split(" [[")[0] for e in standin.batches.executed)
    assert set(executed.values()) == {1} and len(executed) == 5
    assert len(resubmitted["totals"]["batches"]) == 2


def test_a_failed_batch_names_the_line_and_nothing_is_charged(env, capsys, standin):
    jobs, _ = edit_jobs(env, 3, special={1: " [[batch:fail]]"})
    code, result, err = submit(capsys, env, jobs, "--wait", *POLL)
    assert code == 4, err
    assert {r["status"] for r in result["rows"]} == {"failed"}
    assert all(r["error"]["code"] == "batch_failed" for r in result["rows"])
    assert (
        "line 2" in result["rows"][0]["error"]["message"]
        or "injected" in result["rows"][0]["error"]["message"]
    )
    assert result["totals"]["cost_usd"] == 0
    assert standin.batches.executed == []
    code, status, _ = run_json(capsys, "batch", "status", env / "out")
    (view,) = status["batches"]
    assert view["status"] == "failed" and view["errors"][0]["line"] == 2


def test_generate_and_edit_lines_go_in_one_batch_per_endpoint(env, capsys, standin):
    (image,) = photos(env / "in", 1, size=(100, 80))
    jobs = write_jsonl(
        env / "jobs.jsonl",
        [
            {"prompt": "a red mug on white", "quality": "low", "output": "mug.png"},
            {"image": str(image), "prompt": "on marble", "quality": "low"},
            {"prompt": "a blue mug on white", "quality": "low", "n": 2, "output": "blue.png"},
        ],
    )
    code, result, err = submit(capsys, env, jobs, "--wait", *POLL)
    assert code == 0, err
    assert len(result["totals"]["batches"]) == 2
    rows = {r["line"]: r for r in result["rows"]}
    assert rows[3]["outputs"] == [str(env / "out" / "blue-1.png"), str(env / "out" / "blue-2.png")]
    for path in (*rows[1]["outputs"], *rows[3]["outputs"]):
        with Image.open(path) as image:
            assert image.size == (1024, 1024)
    with Image.open(rows[2]["outputs"][0]) as out:
        assert out.size == (100, 80)


def test_cancel_then_fetch_reports_every_line(env, capsys, standin):
    jobs, _ = edit_jobs(env, 2)
    code, _, err = submit(capsys, env, jobs)
    assert code == 0, err
    code, cancelled, _ = run_json(capsys, "batch", "cancel", env / "out")
    assert code == 0 and cancelled["batches"][0]["status"] == "cancelling"
    code, result, _ = fetch(capsys, env, "--wait", *POLL)
    assert code == 4
    assert {r["error"]["code"] for r in result["rows"]} == {"batch_cancelled"}


def test_dry_run_writes_the_batch_file_and_uploads_nothing(env, capsys, standin):
    jobs, _ = edit_jobs(env, 3)
    code, report, err = run_json(
        capsys, "batch", jobs, "--out", env / "out", "--batch-api", "--dry-run"
    )
    assert code == 0, err
    (path,) = report["batch_files"]
    lines = [json.loads(x) for x in Path(path).read_text().splitlines()]
    assert len(lines) == 3 and len({x["custom_id"] for x in lines}) == 3
    data = lines[0]["body"]["images"][0]["image_url"].split(",", 1)[1]
    with Image.open(io.BytesIO(base64.b64decode(data))) as crop:
        assert crop.size[0] % 16 == 0 and crop.size[1] % 16 == 0
    assert standin.requests == []


def test_the_stand_in_batch_api_speaks_to_the_real_sdk(standin):
    client = OpenAI(api_key=KEY, base_url=standin.base_url, max_retries=0)
    line = {
        "custom_id": "a",
        "method": "POST",
        "url": "/v1/images/generations",
        "body": {"model": "gpt-image-2", "prompt": "x", "size": "1024x1024", "quality": "low"},
    }
    bad_url = {**line, "custom_id": "b", "url": "/v1/images/edits"}
    upload = client.files.create(
        file=("in.jsonl", (json.dumps(line) + "\n" + json.dumps(bad_url) + "\n").encode()),
        purpose="batch",
    )
    assert upload.purpose == "batch" and upload.bytes > 0
    batch = client.batches.create(
        input_file_id=upload.id, endpoint="/v1/images/generations", completion_window="24h"
    )
    assert batch.status == "validating"
    batch = client.batches.retrieve(batch.id)
    assert batch.status == "failed" and batch.errors.data[0].line == 2
    assert batch.errors.data[0].code == "mismatched_endpoint"
    with pytest.raises(Exception) as info:
        client.batches.create(
            input_file_id="file-nope", endpoint="/v1/images/generations", completion_window="24h"
        )
    assert getattr(info.value, "status_code", None) == 404
    with pytest.raises(Exception) as info:
        client.files.create(file=("in.txt", b"{}"), purpose="batch")
    assert getattr(info.value, "status_code", None) == 400
