"""Shared pytest fixtures. The stand-in fixtures come first; others may append below."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.standin import StandIn


@pytest.fixture(scope="session")
def _standin_server() -> Iterator[StandIn]:
    server = StandIn()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def standin(_standin_server: StandIn) -> Iterator[StandIn]:
    """The local Images API stand-in (one server per session, cleared for every test).

    ``standin.base_url`` (``http://127.0.0.1:PORT/v1``), ``standin.root_url`` (Azure endpoint),
    ``standin.requests``, ``standin.stats()``, ``standin.queue_faults([...])``.
    """
    _standin_server.reset()
    _standin_server.event_delay = 0.0
    yield _standin_server
    _standin_server.reset()
    _standin_server.event_delay = 0.0
