"""Databases for the store and sync tests: SQLite always, and a real PostgreSQL when
`CALHARNESS_PG_URL` names one (`.ci/run` starts one). In CI (`CI=true`) a missing URL fails
loudly: the PostgreSQL half of these tests is never skipped there."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ENV = "CALHARNESS_PG_URL"
BACKENDS = ["sqlite", "postgresql"]


def pg_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {PG_ENV} is not set: the store and sync tests must run "
                    "against a real PostgreSQL in CI (.ci/run starts one)", pytrace=False)
    return url or None


@contextmanager
def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of `backend`, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    server = pg_url()
    if server is None:
        pytest.skip(f"no PostgreSQL: set {PG_ENV} (CI sets it)")
    name = f"calharness_t_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
