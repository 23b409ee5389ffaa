"""Every fault through the CLI: right exit code and message, paid results kept, nothing charged
twice, Ctrl-C stops cleanly, and the key never shows up anywhere."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time

import pytest
from PIL import Image

from core.cli import main
from core.settings import set_api_key
from tests.cli_helpers import ROOT, child_env, cli_dirs, ctrl_c_default, run_core

SECRET = "sk-proj-LEAKCHECK-7f3a9c1e5b2d8064aa"  # distinctive: any hit is a leak


@pytest.fixture
def env(tmp_path, monkeypatch, standin):
    return cli_dirs(tmp_path, monkeypatch, standin, SECRET, make_config=True)


def settings_file(env, **values):
    (env / "cfg" / "settings.json").write_text(json.dumps(values))


def generate(capsys, env, prompt="a quiet harbour", *extra):
    code = main(
        [
            "generate",
            "--prompt",
            prompt,
            "--quality",
            "low",
            "-o",
            str(env / "out.png"),
            "--json",
            *extra,
        ]
    )
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def jobs(env):
    root = env / "data" / "history"
    found = []
    for folder in sorted(root.iterdir()) if root.exists() else []:
        if not folder.name.startswith("."):
            data = json.loads((folder / "job.json").read_text())
            data["files"] = sorted(p.name for p in folder.iterdir() if p.name.startswith("result-"))
            found.append(data)
    return found


@pytest.mark.parametrize(
    ("fault", "extra", "code", "words", "api_code"),
    [
        ({"kind": "moderation"}, [], 3, "safety system", "moderation_blocked"),
        ({"kind": "moderation", "stage": "output"}, [], 3, "output", "moderation_blocked"),
        ({"kind": "insufficient_quota"}, [], 3, "quota", "insufficient_quota"),
        ({"kind": "auth"}, [], 3, "API key", "invalid_api_key"),
        ({"kind": "forbidden"}, [], 3, "verified", None),
        ({"kind": "malformed"}, [], 4, "could not be read", None),
        (
            {"kind": "stream_error", "code": "moderation_blocked"},
            ["--partials", "1"],
            3,
            "safety",
            "moderation_blocked",
        ),
        ({"kind": "stream_cut", "after": 1}, ["--partials", "2"], 4, "", None),
    ],
)
def test_fault_exit_code_message_history(env, capsys, standin, fault, extra, code, words, api_code):
    standin.queue_faults([fault] * 3)
    rc, report, err = generate(capsys, env, "a quiet harbour", *extra)
    assert rc == code, err
    assert err.startswith("error: ") and words.lower() in err.lower()
    assert report["error"]["exit_code"] == code
    if api_code:
        assert report["error"]["code"] == api_code
    (job,) = jobs(env)
    assert job["status"] == "failed" and job["error"]["exit_code"] == code
    assert not (env / "out.png").exists()
    stats = standin.stats()
    assert stats["image_requests"] == 1, "refusals and possibly-billed failures are never retried"
    assert stats["images_delivered"] == 0


def test_transient_errors_retry_once_and_charge_once(env, capsys, standin):
    standin.queue_faults(
        [{"kind": "server_error", "status": 503}, {"kind": "rate_limit", "retry_after": 0}]
    )
    rc, report, err = generate(capsys, env)
    assert rc == 0, err
    stats = standin.stats()
    assert stats["image_requests"] == 3 and stats["generated"] == 1 and stats["completed"] == 1
    (job,) = jobs(env)
    assert job["status"] == "done" and job["files"] == ["result-1.png"]
    assert job["request_id"] == report["request_id"]


def test_server_errors_exhaust_retries_exit_4(env, capsys, standin):
    settings_file(env, max_retries=1)
    standin.queue_faults([{"kind": "server_error", "status": 500}] * 3)
    rc, _report, err = generate(capsys, env)
    assert rc == 4 and "server" in err.lower()
    assert standin.stats()["image_requests"] == 2 and standin.stats()["generated"] == 0
    assert jobs(env)[0]["status"] == "failed"


def test_timeout_exits_4_and_is_not_retried(env, capsys, standin):
    settings_file(env, timeout_s=1)
    standin.queue_faults([{"kind": "slow", "seconds": 4}])
    rc, _report, err = generate(capsys, env)
    assert rc == 4 and "no answer from the api within 1 s" in err.lower(), err
    assert "billed" in err.lower()  # a timed-out request may have been paid: say so
    assert standin.stats()["image_requests"] == 1
    assert jobs(env)[0]["status"] == "failed"


def test_unreachable_server_exits_4(env, capsys, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    settings_file(env, max_retries=0)
    rc, _report, err = generate(capsys, env)
    assert rc == 4 and err.startswith("error: ")
    assert str(port) in err or "connect" in err.lower()


def test_missing_key_exits_2(env, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    rc, _report, err = generate(capsys, env)
    assert rc == 2 and "No API key" in err
    assert jobs(env) == []


# --- subprocess: the real `python -m core` -----------------------------------------------------


def test_python_m_core_generate_and_fault(env, standin):
    environ = child_env(env, standin, OPENAI_API_KEY=SECRET)
    done = run_core(
        ["generate", "--prompt", "a fox", "--quality", "low", "-o", env / "f.png", "--json"],
        environ,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["outputs"] == [str(env / "f.png")] and report["history_id"]
    refused = run_core(
        ["generate", "--prompt", "[[fault:moderation]] x", "-o", env / "m.png"], environ
    )
    assert refused.returncode == 3 and refused.stderr.startswith("error: ")
    assert refused.stdout == ""
    usage = run_core(["generate", "--prompt"], environ)
    assert usage.returncode == 2 and "usage:" in usage.stderr


def test_python_m_core_survives_an_ascii_console(env, standin):
    environ = child_env(env, standin, OPENAI_API_KEY=SECRET, PYTHONIOENCODING="ascii")
    done = run_core(["generate", "--prompt", "Fuchs 🦊 狐狸", "-o", env / "ü.png"], environ)
    assert done.returncode == 0, done.stderr
    listing = run_core(["history", "list"], environ)
    assert listing.returncode == 0 and "Fuchs ?" in listing.stdout


@pytest.mark.skipif(sys.platform.startswith("win"), reason="SIGINT to a child is POSIX")
@pytest.mark.parametrize("partials", [0, 2])
def test_ctrl_c_cancels_cleanly_with_exit_130(env, standin, partials):
    if partials:
        standin.event_delay = 5.0  # the stream stalls after the first partial
        prompt = "a slow stream"
    else:
        prompt = "a slow answer [[fault:slow:20]]"
    environ = child_env(env, standin, OPENAI_API_KEY=SECRET)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core",
            "generate",
            "--prompt",
            prompt,
            "--partials",
            str(partials),
            "-o",
            str(env / "c.png"),
        ],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_default,
    )
    deadline = time.monotonic() + 30
    while not standin.image_requests() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5 if partials else 0.2)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert time.monotonic() - started < 5, "cancel must not wait for the request to finish"
    assert "Traceback" not in err and "cancel" in err.lower()
    (job,) = jobs(env)
    assert job["status"] == "cancelled" and job["error"]["exit_code"] == 130
    assert not (env / "c.png").exists()
    assert standin.stats()["completed"] == 0


@pytest.mark.slow
def test_the_key_never_appears_anywhere(env, standin, capsys):
    """Whole CLI flow with a stored key and with an env key; scan every output and file."""
    set_api_key(SECRET, env / "cfg" / "api_key")
    src = env / "in.png"
    Image.new("RGB", (700, 500), (40, 90, 160)).save(src)
    stored_key_env = child_env(env, standin)
    env_key_env = child_env(env, standin, OPENAI_API_KEY=SECRET)
    runs = [
        (
            stored_key_env,
            [
                "-v",
                "generate",
                "--prompt",
                "a fox",
                "--quality",
                "low",
                "-o",
                env / "a.png",
                "--json",
            ],
        ),
        (
            stored_key_env,
            [
                "-vv",
                "edit",
                "--image",
                src,
                "--rect",
                "50,50,100,100",
                "--prompt",
                "a cat",
                "--partials",
                "1",
                "-o",
                env / "b.png",
            ],
        ),
        (
            env_key_env,
            [
                "-vv",
                "generate",
                "--prompt",
                "[[fault:moderation]] x",
                "-o",
                env / "c.png",
                "--json",
            ],
        ),
        (env_key_env, ["-vv", "generate", "--prompt", "[[fault:auth]] x", "-o", env / "d.png"]),
        (
            env_key_env,
            ["-vv", "generate", "--prompt", "[[fault:malformed]] x", "-o", env / "e.png"],
        ),
        (
            env_key_env,
            [
                "-vv",
                "generate",
                "--prompt",
                "[[fault:stream_cut]] x",
                "--partials",
                "1",
                "-o",
                env / "f.png",
            ],
        ),
        (env_key_env, ["estimate", "--prompt", "x", "--json"]),
        (env_key_env, ["-vv", "check", "--json"]),
        (env_key_env, ["improve", "--prompt", "rough idea", "--json"]),
        (env_key_env, ["history", "list", "--json"]),
    ]
    outputs = []
    for environ, args in runs:
        # -v/-vv belong to the subcommand
        args = [args[1], args[0], *args[2:]] if args[0].startswith("-v") else args
        done = run_core(args, environ)
        outputs += [done.stdout, done.stderr]
        assert "Traceback" not in done.stderr, done.stderr
    listing = json.loads(outputs[-2])
    assert len(listing["jobs"]) >= 6
    for job in listing["jobs"]:  # in process: much faster than one interpreter per job
        for args in (["history", "show", job["id"]], ["history", "show", job["id"], "--json"]):
            main(args)
            outputs += list(capsys.readouterr())
    for text in outputs:
        assert SECRET not in text
    files = [p for p in (env / "data").rglob("*") if p.is_file()]
    files += [p for p in (env / "cfg").rglob("*") if p.is_file() and p.name != "api_key"]
    assert any(p.name == "cli.log" for p in files) and any(p.name == "job.json" for p in files)
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET in (env / "cfg" / "api_key").read_text()  # the one place it belongs


def test_unwritable_history_refuses_before_sending(env, capsys, standin, monkeypatch):
    blocker = env / "data-file"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv("GPT_IMAGE_DATA_DIR", str(blocker))
    rc, _report, err = generate(capsys, env)
    assert rc == 2 and "history" in err.lower()
    assert standin.image_requests() == []


def test_an_internal_bug_is_one_line_exit_5_and_logged(env, capsys, standin, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("pricing bug " + SECRET)

    monkeypatch.setattr("core.jobs.actual_cost", broken)
    rc, report, err = generate(capsys, env)
    assert rc == 5 and err.count("\n") == 1
    assert "Internal error (a bug in the plug-in): ZeroDivisionError" in err
    assert "1 result(s) kept in history" in err and "cli.log" in err
    assert SECRET not in err and SECRET not in json.dumps(report)
    log_text = (env / "data" / "logs" / "cli.log").read_text()
    assert "Traceback" in log_text and SECRET not in log_text
    (job,) = jobs(env)
    assert job["files"] == ["result-1.png"]  # the paid image is kept even so
    assert job["status"] == "failed" and job["request_id"]


def test_rate_limit_that_never_clears_exits_3_after_bounded_retries(env, capsys, standin):
    standin.queue_faults([{"kind": "rate_limit", "retry_after": 0}] * 5)
    rc, report, err = generate(capsys, env)
    assert rc == 3 and "rate limit" in err.lower()
    assert report["error"]["code"] == "rate_limit_exceeded"
    stats = standin.stats()
    assert stats["image_requests"] == 3 and stats["generated"] == 0  # 1 + max_retries (2)
    assert jobs(env)[0]["status"] == "failed"
