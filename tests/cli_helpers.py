"""The CLI as the tests drive it: one place for the environment of a CLI run (config and data
folders, key, the stand-in) and for calling ``python -m core`` in process or as a child.

In process: ``cli_dirs`` (from a fixture, with ``monkeypatch``), then ``run`` / ``run_json``.
As a child process: ``child_env`` (a fresh environment dict), ``core_command`` and ``run_core``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from core.cli import main
from tests.standin.helpers import KEY

ROOT = Path(__file__).resolve().parents[1]
#: Variables that route traffic elsewhere: a test that checks proxies sets them itself.
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
#: Account variables of a developer's shell that would change what the stand-in is sent.
ACCOUNT_VARS = ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID")


def cli_dirs(
    tmp_path: Path,
    monkeypatch: Any,
    standin: Any,
    key: str | None = KEY,
    *,
    make_config: bool = False,
    clear_proxies: bool = False,
) -> Path:
    """Config (``tmp_path/cfg``), data (``tmp_path/data``), ``key`` and the stand-in for CLI
    runs in this process; ``clear_proxies`` also drops proxy variables (and NO_PROXY)."""
    cfg, data = tmp_path / "cfg", tmp_path / "data"
    if make_config:
        cfg.mkdir(exist_ok=True)
    monkeypatch.setenv("GPT_IMAGE_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("GPT_IMAGE_DATA_DIR", str(data))
    if key is not None:
        monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("OPENAI_BASE_URL", standin.base_url)
    dropped = ACCOUNT_VARS + (("NO_PROXY", "no_proxy", *PROXY_VARS) if clear_proxies else ())
    for var in dropped:
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def run(capsys: Any, *argv: Any) -> tuple[int, str, str]:
    """``python -m core ARGV`` in process: (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: Any, *argv: Any) -> tuple[int, Any, str]:
    """``run`` with ``--json`` appended: (exit code, the parsed report or None, stderr)."""
    code, out, err = run(capsys, *argv, "--json")
    return code, (json.loads(out) if out.strip() else None), err


def child_env(
    env: Path,
    standin: Any,
    key: str | None = None,
    *,
    inherit: bool = False,
    clear_proxies: bool = False,
    **extra: str,
) -> dict[str, str]:
    """The environment of a ``python -m core`` child using ``env``'s config and data folders
    and the stand-in. ``inherit`` keeps this process's OPENAI_/GPT_IMAGE_ variables (else they
    are dropped); ``key`` sets OPENAI_API_KEY."""
    if inherit:
        base = dict(os.environ)
    else:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GPT_IMAGE_"))}
    if clear_proxies:
        for var in PROXY_VARS:
            base.pop(var, None)
    base.update(
        GPT_IMAGE_CONFIG_DIR=str(env / "cfg"),
        GPT_IMAGE_DATA_DIR=str(env / "data"),
        OPENAI_BASE_URL=standin.base_url,
        PYTHONPATH=str(ROOT),
    )
    if key is not None:
        base["OPENAI_API_KEY"] = key
    base.update(extra)
    return base


def core_command(*argv: Any) -> list[str]:
    """The argv of a ``python -m core`` child (run it with ``cwd=ROOT``)."""
    return [sys.executable, "-m", "core", *[str(a) for a in argv]]


def run_core(argv: Any, environ: dict[str, str], **kw: Any) -> subprocess.CompletedProcess:
    """``python -m core ARGV`` as a child in ``environ`` (text output captured, 120 s at most)."""
    return subprocess.run(
        core_command(*argv),
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


def ctrl_c_default() -> None:
    """``preexec_fn`` for a child a test sends Ctrl-C (SIGINT) to: a run started in the
    background by a shell without job control inherits SIGINT *ignored*, and Python then never
    raises KeyboardInterrupt, so the test would see a run that simply ignored the Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
