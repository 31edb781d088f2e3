"""Shared fixtures: one TLS mock hub per test session (reset it for a clean world)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from db_support import BACKENDS, fresh_database

from mock_providers.server import HubServer


@pytest.fixture(scope="session")
def hub_server(tmp_path_factory: pytest.TempPathFactory,
               pytestconfig: pytest.Config) -> Iterator[HubServer]:
    """On the default server; `pytest --hub-server uvicorn` runs the tests on the other one."""
    name = pytestconfig.getoption("hub_server")
    with HubServer(seed=42, tls=True, state_dir=tmp_path_factory.mktemp("hub-state"),
                   **({"server": name} if name else {})) as server:
        yield server


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: SQLite, and PostgreSQL when CALHARNESS_PG_URL is set (CI: required)."""
    with fresh_database(request.param, tmp_path) as url:
        yield url
