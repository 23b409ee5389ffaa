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
    for app, fixture in (("krita", "krita_run"), ("gimp", "gimp_host")):
        # a str: an empty host list (GPT_IMAGE_HOSTS) parametrises with pytest's NOTSET
        if isinstance(params.get(fixture), str):
            return app, params[fixture]
    return None


@pytest.hookimpl(trylast=True)  # after -m / -k have deselected what will not run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Host tests after all others, so their runs overlap the host-free tests (stable order)."""
    items.sort(key=_is_host_test)


def _is_host_test(item: pytest.Item) -> bool:
    """Any test that needs a real host (its marker), prefetched or not."""
    return any(item.get_closest_marker(name) for name in ("krita", "gimp"))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the runs of exactly the hosts whose tests will run (``session.items`` is final)."""
    hosts = {h for h in map(_host_of, session.items) if h}
    if not hosts or session.config.option.collectonly:
        return
    if os.environ.get("GPT_IMAGE_HOST_PREFETCH", "1") == "0":
        return
    # Krita runs take longest: queue them first, then the GIMP runs.
    for app, host_id in sorted(hosts, key=lambda h: (h[0] != "krita", h[1])):
        if app == "krita":
            import kritarun

            hostjobs.start(*kritarun.full_run_job(host_id))
        else:
            import gimp_harness

            gimp_harness.prefetch(host_id)


def pytest_sessionfinish(session: pytest.Session) -> None:
    hostjobs.shutdown()
