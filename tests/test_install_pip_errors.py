"""install.py when pip cannot fetch the dependencies: the message gives pip's real reason.

Real pip, real sockets: an HTTPS index on 127.0.0.1 whose certificate no CA bundle trusts (what
a TLS-intercepting proxy looks like), a port nobody listens on (no network), a name that never
resolves. Before, all three were reported as "no wheel of openai for Python 3.14".
"""

from __future__ import annotations

import http.server
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "install.py"


def pip_env(tmp_path: Path, index_url: str) -> dict[str, str]:
    """This machine's pip settings (its wheel folders, extra indexes) left out: only ``index_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    empty = tmp_path / "no-wheels"
    empty.mkdir(exist_ok=True)
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "home/.config"),
        XDG_DATA_HOME=str(tmp_path / "home/.local/share"),
        PIP_CONFIG_FILE=os.devnull,
        PIP_INDEX_URL=index_url,
        PIP_FIND_LINKS=str(empty),
        PIP_RETRIES="1",  # pip names a connection error only when it retries (default: 5)
        PIP_DEFAULT_TIMEOUT="10",
    )
    return env


def install(tmp_path: Path, index_url: str) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    cmd = [
        sys.executable,
        str(INSTALL),
        "--host",
        "krita",
        "--krita-dir",
        str(home / ".local/share/krita"),
        "--kritarc",
        str(home / ".config/kritarc"),
        "--python-version",
        "3.14",
    ]
    return subprocess.run(
        cmd, capture_output=True, text=True, env=pip_env(tmp_path, index_url), timeout=300
    )


@pytest.fixture
def untrusted_https(tmp_path: Path) -> Iterator[str]:
    """An HTTPS package index on 127.0.0.1 with a self-signed certificate."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_nothing_installed(tmp_path: Path) -> None:
    pykrita = tmp_path / "home/.local/share/krita/pykrita"
    assert not (pykrita / "gpt_image").exists()
    assert not list(pykrita.glob(".gpt_image.*")) if pykrita.exists() else True


def test_untrusted_certificate_is_named(tmp_path, untrusted_https):
    proc = install(tmp_path, untrusted_https)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = proc.stderr
    assert "TLS certificate of 127.0.0.1 could not be verified" in err, err
    assert "CERTIFICATE_VERIFY_FAILED" in err or "certificate verify failed" in err, err
    assert "PIP_CERT" in err and "no wheel of" not in err, err
    assert "Traceback" not in err
    assert_nothing_installed(tmp_path)


def test_no_network_is_named(tmp_path):
    proc = install(tmp_path, f"http://127.0.0.1:{closed_port()}/simple")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = proc.stderr
    assert "no network: 127.0.0.1 could not be reached" in err, err
    assert "no wheel of" not in err and "Traceback" not in err, err
    assert_nothing_installed(tmp_path)


def test_unresolvable_index_is_no_network(tmp_path):
    proc = install(tmp_path, "https://pypi.invalid/simple")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = proc.stderr
    assert "no network:" in err and "pypi.invalid" in err, err
    assert "no wheel of" not in err, err
