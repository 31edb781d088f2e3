"""Shared fixtures: one TLS mock hub per test session (reset it for a clean world)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mock_providers.server import HubServer


@pytest.fixture(scope="session")
def hub_server(tmp_path_factory: pytest.TempPathFactory,
               pytestconfig: pytest.Config) -> Iterator[HubServer]:
    """On the default server; `pytest --hub-server uvicorn` runs the tests on the other one."""
    name = pytestconfig.getoption("hub_server")
    with HubServer(seed=42, tls=True, state_dir=tmp_path_factory.mktemp("hub-state"),
                   **({"server": name} if name else {})) as server:
        yield server
