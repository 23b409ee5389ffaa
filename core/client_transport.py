"""The HTTP side of one API attempt: a fresh SDK client and its sockets.

Why socket tracking: an attempt runs on the job's one worker thread (``core.job_handle``), and a
blocking read there can't be interrupted from another thread by closing a socket on Linux, but
``shutdown()`` wakes it. Each attempt gets its own
``httpx`` client whose requests carry a ``trace`` extension (public in httpcore/httpcore2): it
reports every socket opened and whether the request body was fully sent. ``abort()`` shuts those
sockets down, so cancel really closes the connection, and "was the request sent?" decides
whether a failed attempt may be retried without risking a double charge.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import socket
import threading
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError
from .sdk_import import load_openai

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 10.0
#: Failures before the request reached the API: a refused connect, or a proxy that refused the
#: tunnel. Nothing was sent, nothing can be billed, a retry is safe.
_CONNECT_FAILURES = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout", "ProxyError"})
#: The proxy variables httpx reads (lower case wins where both are set, as in urllib).
PROXY_VARS = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def _proxy_shown(value: str) -> str:
    """A proxy URL without any user:password part, for messages."""
    try:
        parts = urlsplit(value if "://" in value else "http://" + value)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparseable)"
    return f"{parts.scheme}://{host}{port}"


def check_proxies(environ: Mapping[str, str] | None = None) -> None:
    """``ConfigError`` naming the variable when a proxy setting can't work: not a URL, a scheme
    httpx has no transport for, or SOCKS without the SOCKS extra. Checked before anything is sent
    (the HTTP client would fail while being built, which looks like a network failure)."""
    env = os.environ if environ is None else environ
    for var in PROXY_VARS:
        value = (env.get(var) or "").strip()
        if not value:
            continue
        try:
            parts = urlsplit(value if "://" in value else "http://" + value)
            _ = parts.port  # raises for a port that is not a number in range
        except ValueError as exc:
            raise ConfigError(
                f"The proxy setting {var} is not a valid URL ({exc}).",
                hint=f"Fix {var} (e.g. http://proxy.example:3128) or unset it.",
                code="invalid_proxy",
            ) from None
        scheme = parts.scheme.lower()
        if scheme not in _PROXY_SCHEMES or not parts.hostname:
            raise ConfigError(
                f"The proxy setting {var} ({_proxy_shown(value)}) is not a proxy URL that can be "
                "used: it needs http://, https:// or socks5:// and a host.",
                hint=f"Fix {var} or unset it.",
                code="invalid_proxy",
            )
        if scheme.startswith("socks") and importlib.util.find_spec("socksio") is None:
            raise ConfigError(
                f"The proxy setting {var} names a SOCKS proxy ({_proxy_shown(value)}), but SOCKS "
                "support is not installed.",
                hint=f"Install it (pip install 'httpx[socks]'), use an HTTP proxy, or unset {var}.",
                code="socks_unavailable",
            )


def proxy_for(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """ "http://host:port (HTTPS_PROXY)" when a proxy stands between us and ``url``."""
    env = os.environ if environ is None else environ
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = (parts.scheme or "https").lower()
    no_proxy = env.get("no_proxy") or env.get("NO_PROXY")
    bypass = urllib.request.proxy_bypass_environment
    if no_proxy and parts.hostname and bypass(parts.hostname, {"no": no_proxy}):
        return None
    for var in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY", "all_proxy", "ALL_PROXY"):
        value = (env.get(var) or "").strip()
        if value:
            return f"{_proxy_shown(value)} ({var})"
    return None


class Tracker:
    """Watches one attempt's traffic through httpcore's ``trace`` extension."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._aborted = False
        self.traced = False
        self.request_sent = False
        self.request_id: str | None = None
        #: Called (on the attempt's thread) once its request body is fully sent.
        self.on_sent: Callable[[], None] | None = None

    def on_request(self, request: Any) -> None:
        """httpx ``request`` event hook: attach the trace callback to the outgoing request."""
        request.extensions = {**request.extensions, "trace": self._trace}

    def _trace(self, name: str, info: dict[str, Any]) -> None:
        self.traced = True
        if name.endswith(("connect_tcp.complete", "start_tls.complete")):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                with self._lock:
                    self._sockets.append(sock)
                    aborted = self._aborted
                if aborted:
                    _shutdown(sock)
        elif name.endswith("send_request_body.complete"):
            self.request_sent = True
            if self.on_sent is not None:
                try:
                    self.on_sent()
                except Exception:  # a caller's hook must not fail a request that is out
                    log.exception("on_sent hook failed")

    @property
    def aborted(self) -> bool:
        return self._aborted

    def abort(self) -> None:
        """Shut down every socket of this attempt; blocked reads and writes fail at once."""
        with self._lock:
            self._aborted = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    def failed_before_sending(self, exc: BaseException) -> bool:
        """True when ``exc`` is a connect failure: the API cannot have received (or billed) it."""
        cause = exc.__cause__ or exc
        return type(cause).__name__ in _CONNECT_FAILURES and not self.request_sent


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


_TLS_LOCK = threading.Lock()
_TLS: list[Any] = []


def tls_context() -> Any | None:
    """The one TLS context of every SDK client of this process, made exactly as the SDK's HTTP
    library makes its default one (verifying, its CA bundle, ``SSL_CERT_FILE`` honoured):
    loading the CA bundle takes tens of milliseconds per client otherwise, hundreds on a busy
    machine. None when that library has no such function (each client then makes its own)."""
    with _TLS_LOCK:
        if not _TLS:
            openai = load_openai()
            library = openai.DefaultHttpxClient.__mro__[1].__module__.split(".")[0]
            make = getattr(importlib.import_module(library), "create_ssl_context", None)
            _TLS.append(make() if make is not None else None)
        return _TLS[0]


_WARMING = threading.Lock()
_WARMED: list[bool] = []


def warm_sdk() -> None:
    """Import the SDK and make what its first client needs (the TLS context, the transports its
    HTTP library imports on first use), ahead of the first request, once per process (a second
    caller waits for the first); any failure is left for the request to report."""
    with _WARMING, contextlib.suppress(Exception):
        if _WARMED:
            return
        _WARMED.append(True)
        openai = load_openai()
        tls = tls_context()
        openai.DefaultHttpxClient(**({"verify": tls} if tls is not None else {})).close()


def make_sdk_client(connection: Any, tracker: Tracker) -> Any:
    """An ``openai.OpenAI`` / ``openai.AzureOpenAI`` for one attempt, isolated from env vars.

    Everything the SDK would otherwise read from the environment (base URL, organisation,
    project, Azure endpoint and version, extra headers) is passed explicitly, and the SDK's own
    retries are off: the retry policy lives in ``core.retry``.
    """
    openai = load_openai()  # imported on first use: hosts start faster, settings never need it

    timeout = openai.Timeout(
        connection.timeout_s, connect=min(CONNECT_TIMEOUT_S, connection.timeout_s)
    )
    tls = tls_context()
    http_client = openai.DefaultHttpxClient(
        timeout=timeout,
        event_hooks={"request": [tracker.on_request], "response": []},
        **({"verify": tls} if tls is not None else {}),
    )
    common: dict[str, Any] = {
        "api_key": connection.api_key,
        "organization": connection.organization,
        "project": connection.project,
        "timeout": timeout,
        "max_retries": 0,
        "http_client": http_client,
        "default_headers": _neutralised_env_headers(connection),
    }
    if connection.provider == "azure":
        client = openai.AzureOpenAI(
            azure_endpoint=connection.azure_endpoint,
            azure_deployment=connection.azure_deployment or None,
            api_version=connection.api_version,
            **common,
        )
    else:
        client = openai.OpenAI(base_url=connection.resolved_base_url, **common)
    # The constructor falls back to OPENAI_ORG_ID / OPENAI_PROJECT_ID when given None.
    client.organization = connection.organization
    client.project = connection.project
    return client


def _neutralised_env_headers(connection: Any) -> dict[str, Any]:
    """Explicitly override headers the SDK would take from OPENAI_CUSTOM_HEADERS.

    Ordinary headers are omitted; a credential header is set to this connection's own
    credential (omitting it would leave the request with no authentication at all).
    """
    raw = os.environ.get("OPENAI_CUSTOM_HEADERS")
    if not raw:
        return {}
    import openai

    names = {line.split(":", 1)[0].strip() for line in raw.splitlines() if ":" in line}
    own = (
        {"api-key": connection.api_key}
        if connection.provider == "azure"
        else {"authorization": f"Bearer {connection.api_key}"}
    )
    headers: dict[str, Any] = {}
    for name in filter(None, names):
        lowered = name.lower()
        if lowered in own:
            headers[name] = own[lowered]
        else:
            headers[name] = openai.Omit()
    return headers
