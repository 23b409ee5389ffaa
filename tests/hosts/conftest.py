"""Host tests last, their host runs started in the background first (see hostjobs.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for _folder in (HERE, HERE / "krita", HERE / "gimp"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))
import hostjobs  # noqa: E402


def _host_of(item: pytest.Item) -> tuple[str, str] | None:
    """("krita"|"gimp", host id) of a real-host test, from its parametrisation."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "krita_run" in params:
        return "krita", params["krita_run"]
    if "gimp_host" in params:
        return "gimp", params["gimp_host"]
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    hosts = {h for h in map(_host_of, items) if h}
    if not hosts:
        return
    # Host tests after all others, so their runs overlap the host-free tests (stable order).
    items.sort(key=lambda item: _host_of(item) is not None)
    if os.environ.get("GPT_IMAGE_HOST_PREFETCH", "1") == "0" or config.option.collectonly:
        return
    for app, host_id in sorted(hosts, key=lambda h: h[1]):
        if app == "krita":
            import kritarun

            hostjobs.start(*kritarun.full_run_job(host_id))
        else:
            import gimp_harness

            gimp_harness.prefetch(host_id)


def pytest_sessionfinish(session: pytest.Session) -> None:
    hostjobs.shutdown()
