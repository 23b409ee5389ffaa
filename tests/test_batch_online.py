"""`python -m core batch` online: validation, estimate, budget, 429 back-off, resume after kill -9."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from core.backoff import SharedBackoff
from tests.batch_helpers import photos, prompts_sent, write_jsonl
from tests.cli_helpers import (
    ROOT,
    child_env,
    cli_dirs,
    core_command,
    ctrl_c_default,
    run,
    run_json,
)
from tests.standin.helpers import KEY


@pytest.fixture
def env(tmp_path, monkeypatch, standin):
    return cli_dirs(tmp_path, monkeypatch, standin)


# --- validation and estimate -----------------------------------------------------------------


def test_bad_lines_are_listed_by_line_number_and_nothing_is_sent(env, capsys, standin):
    (image,) = photos(env / "in", 1)
    jobs = env / "jobs.jsonl"
    jobs.write_text(
        "\n".join(
            [
                json.dumps({"image": str(image), "prompt": "ok"}),
                "# a comment line",
                "{not json",
                json.dumps({"image": str(image), "prompt": "x", "qualty": "low"}),
                json.dumps({"image": str(env / "missing.png"), "prompt": "x"}),
                json.dumps({"prompt": "x", "quality": "ultra"}),
                json.dumps({"image": str(image), "prompt": "x", "rect": "1,2,3"}),
                json.dumps({"image": str(image), "prompt": ""}),
                json.dumps({"image": str(image), "prompt": "x", "output": "../escape.png"}),
                json.dumps({"image": str(image), "prompt": "same output"}),
            ]
        )
        + "\n"
    )
    code, report, err = run_json(capsys, "batch", jobs, "--out", env / "out")
    assert code == 2
    bad = {row["line"] for row in report["rows"] if row["status"] == "invalid"}
    assert bad == {3, 4, 5, 6, 7, 8, 9, 10}
    for number in (3, 4, 5, 6, 7, 8, 9, 10):
        assert f"line {number}:" in err
    assert "qualty" in err and "missing.png" in err and "line 1's" in err
    assert standin.image_requests() == []
    assert not (env / "out" / "in").exists()


def test_skip_invalid_runs_the_rest_and_reports_the_bad_lines(env, capsys, standin):
    (image,) = photos(env / "in", 1)
    jobs = write_jsonl(
        env / "jobs.jsonl",
        [
            {"image": str(image), "prompt": "fine", "quality": "low"},
            {"image": str(image), "prompt": "bad", "n": "many"},
        ],
    )
    code, report, err = run_json(capsys, "batch", jobs, "--out", env / "out", "--skip-invalid")
    assert code == 2, err  # not everything was done
    rows = {row["line"]: row for row in report["rows"]}
    assert rows[1]["status"] == "done" and rows[2]["status"] == "invalid"
    assert "n must be a whole number" in rows[2]["error"]["message"]
    assert len(standin.image_requests()) == 1


def test_csv_jobs_with_rect_references_generate_and_named_outputs(env, capsys, standin):
    a, b = photos(env / "in", 2, size=(300, 200))
    ref = photos(env / "refs", 1)[0]
    (env / "jobs.csv").write_text(
        "image,rect,prompt,quality,output,references,n\n"
        f'{a.relative_to(env)},"10,10,50,40",a hat,low,hat.png,,\n'
        f"{b},,sky,low,,{ref};{ref},2\n"
        ",,a lighthouse,low,lh.png,,\n"
    )
    code, report, err = run_json(capsys, "batch", env / "jobs.csv", "--out", env / "out")
    assert code == 0, err
    rows = {row["line"]: row for row in report["rows"]}
    assert rows[2]["outputs"] == [str(env / "out" / "hat.png")]
    assert rows[3]["outputs"] == [str(env / "out" / "p001-1.png"), str(env / "out" / "p001-2.png")]
    assert rows[4]["outputs"] == [str(env / "out" / "lh.png")]
    with Image.open(env / "out" / "hat.png") as out, Image.open(a) as src:
        assert out.size == src.size
        # outside the rect (and its feather) the composite is the input, bit for bit
        assert (
            out.convert("RGB").crop((200, 100, 300, 200)).tobytes()
            == src.crop((200, 100, 300, 200)).tobytes()
        )
    edits = [r for r in standin.image_requests() if r["params"]["prompt"] == "sky"]
    assert len(edits) == 1 and len(edits[0]["images"]) == 3  # the image + 2 references
    assert report["totals"]["done"] == 3 and report["totals"]["cost_usd"] > 0
    for row in report["rows"]:
        assert set(row) >= {"line", "status", "outputs", "cost_usd", "history_id", "error"}


def test_images_shorthand_pairs_masks_by_stem(env, capsys, standin):
    images = photos(env / "in", 3, size=(200, 160), suffix=".jpg")
    masks = env / "masks"
    masks.mkdir()
    mask = Image.new("L", (200, 160), 0)
    mask.paste(255, (20, 20, 80, 80))
    mask.save(masks / f"{images[1].stem}.png")
    code, report, err = run_json(
        capsys, "batch", "--images", env / "in" / "*.jpg", "--prompt", "white background",
        "--selections", masks, "--out", env / "out", "--quality", "low",
    )  # fmt: skip
    assert code == 0, err
    assert [Path(r["outputs"][0]).name for r in report["rows"]] == [p.name for p in images]
    sent = sorted(standin.image_requests(), key=lambda r: r["images"][0]["size"])
    assert sum(1 for r in sent if r["mask"] is not None) == 1


def test_estimate_over_max_cost_refuses_before_sending(env, capsys, standin):
    photos(env / "in", 5)
    code, _out, err = run(
        capsys, "batch", "--images", env / "in" / "*.png", "--prompt", "x", "--quality", "high",
        "--out", env / "out", "--max-cost", "0.01",
    )  # fmt: skip
    assert code == 2
    assert "exceeds --max-cost $0.0100" in err and "nothing was sent" in err
    assert standin.image_requests() == []


def test_max_cost_stops_an_online_run_before_the_spend_would_pass_it(env, capsys, standin):
    photos(env / "in", 6)
    # at 2K the stand-in bills more than the estimate says (its own token table)
    argv = ["batch", "--images", env / "in" / "*.png", "--prompt", "x", "--quality", "low"]
    argv += ["--resolution", "2K"]
    _, dry, _ = run_json(capsys, *argv, "--out", env / "dry", "--dry-run")
    budget = dry["estimate_usd"]  # the estimate fits exactly...
    # ...but the stand-in bills more than estimated: the run must stop on what was really spent
    code, report, err = run_json(
        capsys, *argv, "--out", env / "out", "--max-cost", budget, "--concurrency", "1"
    )
    assert code == 2, err
    statuses = Counter(r["status"] for r in report["rows"])
    assert statuses["done"] >= 1 and statuses["skipped"] >= 1
    assert report["totals"]["cost_usd"] <= budget
    assert len(standin.image_requests()) == statuses["done"]
    skipped = [r for r in report["rows"] if r["status"] == "skipped"]
    assert skipped[0]["error"]["code"] == "max_cost"


def test_dry_run_writes_the_upload_files_and_sends_nothing(env, capsys, standin):
    a, _ = photos(env / "in", 2, size=(400, 300))
    jobs = write_jsonl(
        env / "jobs.jsonl",
        [{"image": str(a), "rect": [50, 50, 100, 100], "prompt": "x"}, {"prompt": "gen"}],
    )
    code, report, err = run_json(capsys, "batch", jobs, "--out", env / "out", "--dry-run")
    assert code == 0, err
    first, second = report["jobs"]
    files = first["files"]
    with Image.open(files["image"]) as image, Image.open(files["mask"]) as mask:
        assert image.size == mask.size == tuple(int(v) for v in first["api_size"].split("x"))
        assert mask.mode == "RGBA"
    assert second["files"] == {} and second["mode"] == "generate"
    assert standin.requests == []


# --- hundreds of jobs, 429s, one shared back-off ---------------------------------------------


def test_hundreds_of_jobs_with_429s_share_one_backoff(env, capsys, standin, monkeypatch):
    releases = []  # when the shared gate let each attempt go
    wait = SharedBackoff.wait

    def recorded(self, sleep):
        cancelled = wait(self, sleep)
        releases.append(time.time())
        return cancelled

    monkeypatch.setattr(SharedBackoff, "wait", recorded)
    count = 200
    images = photos(env / "in", count, size=(48, 32))
    jobs = []
    for i, path in enumerate(images):
        job = {"image": str(path), "prompt": f"job {i}", "quality": "low"}
        if i % 3 == 0:
            job["rect"] = "4,4,20,12"
        if i % 10 == 0:
            job = {"prompt": f"job {i}", "quality": "low", "output": f"gen-{i}.png"}
        jobs.append(job)
    path = write_jsonl(env / "jobs.jsonl", jobs)
    retry_after = 2.0
    faults = [{"kind": "rate_limit", "retry_after": retry_after}] * 3
    faults += [{"kind": "delay", "seconds": 0.01}] * 40 + [
        {"kind": "rate_limit", "retry_after": retry_after}
    ] * 2
    standin.queue_faults(faults)
    started = time.monotonic()
    code, report, err = run_json(
        capsys, "batch", path, "--out", env / "out", "--concurrency", "6", "--yes"
    )
    elapsed = time.monotonic() - started
    assert code == 0, err
    assert report["totals"]["done"] == count
    assert report["totals"]["waits"] >= 2
    sent = prompts_sent(standin)
    assert len(sent) == count and set(sent.values()) == {1}  # every job exactly once
    for row in report["rows"]:
        assert all(Path(p).is_file() for p in row["outputs"])
    # after each 429, no worker sent anything until Retry-After had passed (measured from the
    # moment the client closed the gate; a request already on its way may still land: grace)
    records = sorted(standin.image_requests(), key=lambda r: r["time"])
    assert sum(1 for r in records if r["status"] == 429) == 5
    holds = report["totals"]["rate_limit_holds"]
    assert len(holds) == 5 and all(h["seconds"] >= retry_after for h in holds)
    grace = 0.75
    for hold in holds:
        h0 = hold["at"]
        early = [r for r in records if h0 + grace < r["time"] < h0 + retry_after - 0.05]
        assert early == [], f"{len(early)} requests went out during a back-off"
        assert [r for r in releases if h0 < r < h0 + retry_after - 0.01] == []
    # the herd is staggered: after a hold the workers go one at a time, not all at once
    first = holds[0]["at"] + retry_after
    burst = sorted(r for r in releases if first - 0.01 <= r < first + 0.5)
    assert len(burst) < 6
    # and the job that met the 429 tried again only after Retry-After
    for refused in (r for r in records if r["status"] == 429):
        prompt = refused["params"]["prompt"]
        later = [
            r["time"]
            for r in records
            if r["params"]["prompt"] == prompt and r["time"] > refused["time"]
        ]
        assert later and min(later) >= refused["time"] + retry_after - 0.05
    print(f"{count} jobs in {elapsed:.1f} s")


# --- resumable: kill -9 mid-run, then the same command again ---------------------------------


def _journal_done(out: Path) -> int:
    journal = out / ".gpt-image-batch" / "journal.jsonl"
    if not journal.exists():
        return 0
    return journal.read_text().count('"event": "done"')


def _batch_midway(env, standin, prefix, count, concurrency, answer_s, done):
    """A ``batch --json`` of ``count`` jobs started as a child, each answer held ``answer_s``
    (a stream delay does not slow these non-streaming jobs), returned once ``done`` are
    journalled and the run is still going; the child gets SIGINT back to default for Ctrl-C.
    Returns (child, argv, out)."""
    images = photos(env / "in", count, size=(48, 32))
    jobs = [
        {"image": str(p), "prompt": f"{prefix} {i}", "quality": "low"} for i, p in enumerate(images)
    ]
    path = write_jsonl(env / "jobs.jsonl", jobs)
    out = env / "out"
    standin.queue_faults([{"kind": "slow", "seconds": answer_s}] * count)
    argv = core_command("batch", path, "--out", out, "--concurrency", str(concurrency), "--json")
    child = subprocess.Popen(
        argv, cwd=ROOT, env=child_env(env, standin, KEY, inherit=True), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_default,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while _journal_done(out) < done and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert child.poll() is None, child.communicate()
    return child, argv, out


def test_kill_9_mid_run_then_resume_sends_nothing_twice(env, standin):
    count = 120  # requests are in flight when the kill comes
    child, argv, out = _batch_midway(env, standin, "photo", count, 4, 0.15, done=40)
    os.kill(child.pid, signal.SIGKILL)
    child.communicate()
    first = prompts_sent(standin)
    reached = Counter(r["params"].get("prompt") for r in standin.image_requests())
    assert 40 <= sum(first.values()) < count
    standin.event_delay = 0.0

    # held back on request: the resume sends nothing twice and finishes everything else
    resumed = subprocess.run(
        [*argv, "--skip-interrupted"], cwd=ROOT, env=child_env(env, standin, KEY, inherit=True),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report = json.loads(resumed.stdout)
    after = Counter(r["params"].get("prompt") for r in standin.image_requests())
    twice = {p: n for p, n in after.items() if n > 1}
    assert twice == {}, f"sent twice: {twice}"
    rows = report["rows"]
    statuses = Counter(r["status"] for r in rows)
    # only what was in flight at the kill is held back (it may be billed); all else is done
    assert statuses["done"] + statuses["interrupted"] == count, statuses
    assert statuses["interrupted"] <= 4
    interrupted = {r["line"] for r in rows if r["status"] == "interrupted"}
    for row in rows:
        if row["status"] == "done":
            assert all(Path(p).is_file() for p in row["outputs"])
    held = {f"photo {line - 1}" for line in interrupted}
    # held back = its request was about to leave or had left (journalled just before sending);
    # a job whose history record existed but whose request never left is simply sent
    journal = (out / ".gpt-image-batch" / "journal.jsonl").read_text().splitlines()
    events = []
    for text in journal:
        with contextlib.suppress(ValueError):  # a line torn by the kill
            events.append(json.loads(text))
    sending = {e["line"] for e in events if e["event"] == "sending"}
    assert interrupted <= sending
    # every job that reached the API in the killed run without its result being kept is held
    for row in rows:
        if f"photo {row['line'] - 1}" in reached and not row["previous_run"]:
            assert row["status"] == "interrupted", row
    assert resumed.returncode == (4 if interrupted else 0)
    previous = sum(1 for r in rows if r["previous_run"])
    assert previous >= 40

    # the same command as first typed finishes them: only those are sent a second time,
    # with a warning, and nothing whose result reached history is sent again
    again = subprocess.run(
        argv,
        cwd=ROOT,
        env=child_env(env, standin, KEY, inherit=True),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    final = Counter(r["params"].get("prompt") for r in standin.image_requests())
    assert {p for p, n in final.items() if n > 1} == held
    report = json.loads(again.stdout)
    assert report["totals"]["done"] == count
    assert {r["line"] for r in report["rows"] if r["resent"]} == interrupted
    for line in interrupted:
        assert f"line {line}: was on its way to the API" in again.stderr


def test_ctrl_c_lets_jobs_in_flight_finish_and_the_rerun_sends_nothing_twice(env, standin):
    count = 40
    child, argv, _out = _batch_midway(env, standin, "shot", count, 3, 0.5, done=6)
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=120)
    assert child.returncode == 130, stderr
    assert "finishing" in stderr and "in flight" in stderr
    report = json.loads(stdout)
    statuses = Counter(r["status"] for r in report["rows"])
    # every job has its row: none was still in flight when the run ended (its paid result lost)
    assert len(report["rows"]) == count, statuses
    assert set(statuses) <= {"done", "pending"} and statuses["pending"] > 0, statuses
    assert all(r["error"]["code"] == "not_sent" for r in report["rows"] if r["status"] == "pending")
    again = subprocess.run(
        argv,
        cwd=ROOT,
        env=child_env(env, standin, KEY, inherit=True),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    sent = Counter(r["params"].get("prompt") for r in standin.image_requests())
    assert len(sent) == count and set(sent.values()) == {1}
    assert "was on its way" not in again.stderr


def test_a_second_run_in_the_same_folder_is_refused_while_one_runs(env, standin):
    photos(env / "in", 3)
    # Every answer held back: the first run is still running when the second starts, however
    # slowly the machine starts the second (a stream delay did not hold a non-streaming job).
    standin.queue_faults([{"kind": "slow", "seconds": 60}] * 3)
    argv = core_command("batch", "--images", env / "in" / "*.png", "--prompt", "x", "--out",
        env / "out",
    )  # fmt: skip
    first = subprocess.Popen(
        argv, cwd=ROOT, env=child_env(env, standin, KEY, inherit=True), stdout=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while not standin.image_requests() and time.monotonic() < deadline:
            time.sleep(0.05)
        second = subprocess.run(
            argv,
            cwd=ROOT,
            env=child_env(env, standin, KEY, inherit=True),
            capture_output=True,
            text=True,
        )
        assert second.returncode == 2 and "Another batch run" in second.stderr
    finally:
        first.kill()
        first.communicate()


# --- on a terminal: confirmation and progress bar ---------------------------------------------


def _on_terminal(argv, env, standin, answer: bytes, timeout: float = 120.0) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin/stdout/stderr, typing ``answer`` when asked."""
    import pty
    import select

    master, slave = pty.openpty()
    child = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=child_env(env, standin, KEY, inherit=True),
        stdin=slave,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    seen, answered = b"", False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(master, answer)
            answered = True
        if child.poll() is not None and not ready:
            break
    child.wait(timeout=30)
    os.close(master)
    return child.returncode, seen.decode("utf-8", "replace")


def test_on_a_terminal_the_cost_is_confirmed_first(env, standin):
    photos(env / "in", 2)
    argv = core_command("batch", "--images", env / "in" / "*.png", "--prompt", "x", "--quality",
        "low", "--out", env / "out",
    )  # fmt: skip
    code, seen = _on_terminal(argv, env, standin, b"n\n")
    assert "Send 2 job(s) for about $" in seen and code == 2
    assert standin.image_requests() == []
    code, seen = _on_terminal(argv, env, standin, b"y\n")
    assert code == 0, seen
    assert "\r[" in seen and "2 done, 0 failed, 0 remaining" in seen  # the progress bar
    assert len(standin.image_requests()) == 2


def test_yes_skips_the_question_on_a_terminal(env, standin):
    photos(env / "in", 1)
    argv = core_command("batch", "--images", env / "in" / "*.png", "--prompt", "x", "--out",
        env / "out", "--yes",
    )  # fmt: skip
    code, seen = _on_terminal(argv, env, standin, b"n\n")
    assert code == 0 and "[y/N]" not in seen
