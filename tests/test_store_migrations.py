"""The store's schema is versioned with Alembic: a new store is built by the migrations and
equals the models; the baseline migration equals the previous release's schema (frozen in
`store_schema_v0`); a store of the previous release upgrades in place, keeping its data.
Each test runs on SQLite and on a real PostgreSQL (`CALHARNESS_PG_URL`; required in CI)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import store_schema_v0 as v0
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import MetaData, create_engine, inspect, text
from sqlalchemy.engine import Engine

from harness.reference.migrations import config, current
from harness.reference.store import Base, IntegrationRow, Store

HEAD = "0004_member_office365_admin"


def _shape(engine: Engine) -> dict[str, Any]:
    """Tables, columns (generic type, nullable), primary keys, indexed columns, foreign keys."""
    insp = inspect(engine)
    shape: dict[str, Any] = {}
    for table in sorted(set(insp.get_table_names()) - {"alembic_version"}):
        columns = {c["name"]: (type(c["type"]).__name__.upper().replace("VARCHAR", "STRING"),
                               c["nullable"]) for c in insp.get_columns(table)}
        shape[table] = {
            "columns": columns,
            "pk": sorted(insp.get_pk_constraint(table)["constrained_columns"]),
            "indexed": sorted(tuple(i["column_names"]) for i in insp.get_indexes(table)),
            "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"])
                          for f in insp.get_foreign_keys(table)),
        }
    return shape


def _metadata_shape(metadata: MetaData, url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        metadata.create_all(engine)
        return _shape(engine)
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def test_a_new_store_is_built_by_the_migrations_and_equals_the_models(db_url: str) -> None:
    store = Store(db_url)
    try:
        built = _shape(store.engine)
        with store.engine.connect() as c:
            assert current(c) == HEAD
        assert "meetings" not in built, "the full-field meetings cache is gone"
        assert {"platform_meetings", "sync_records"} <= set(built)
    finally:
        store.engine.dispose()
    # The same database built by create_all from the models has the same shape.
    assert built == _metadata_shape(Base.metadata, db_url)


def test_the_baseline_migration_equals_the_previous_release_schema(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as c:
        command.upgrade(config(c), "0001_baseline")
    baseline = _shape(engine)
    with engine.begin() as c:
        command.downgrade(config(c), "base")
    engine.dispose()
    assert baseline == _metadata_shape(v0.Base.metadata, db_url)


def test_a_previous_release_store_upgrades_in_place(db_url: str) -> None:
    key = Fernet.generate_key()
    old = v0.Store(db_url, key=key)  # create_all with the previous release's models
    now = datetime(2027, 3, 1, 9, tzinfo=UTC)
    with old.session() as s:
        s.add(v0.AccountRow(id=1, owner="owner@contoso.test", settings={"mapi": True},
                            locks=["mapi"]))
        s.add(v0.IntegrationRow(user="u@contoso.test", service="office365",
                                authorize_with="graph", calendar="write", contacts="none",
                                state="connected", granted_scopes=["Calendars.ReadWrite"],
                                credentials={"mode": "delegated", "blob": "secret"},
                                sync_cursor="old-cache-cursor", setup_by="user_oauth",
                                calendar_state="ok", contacts_state="off", updated_at=now,
                                desktop_mapi=False))
        s.flush()
        s.add(v0.MeetingRow(user="u@contoso.test", provider_id="AAMk1", subject="Dentist",
                            start=now, end=now, attendees=["a@b.test"], private=True))
    old.engine.dispose()

    store = Store(db_url, key=key)  # start-up runs the migrations
    try:
        with store.engine.connect() as c:
            assert current(c) == HEAD
            tables = set(inspect(c).get_table_names())
            assert "meetings" not in tables and {"platform_meetings", "sync_records"} <= tables
            assert "Dentist" not in str(c.execute(text("SELECT * FROM integrations")).all())
        with store.session() as s:
            account = store.account(s)
            assert account is not None and account.settings == {"mapi": True}
            row = s.get(IntegrationRow, "u@contoso.test")
            assert row is not None and row.credentials == {"mode": "delegated", "blob": "secret"}
            assert row.sync_cursor is None, "the old cache's cursor means nothing to the new sync"
    finally:
        store.engine.dispose()
    # A second start-up finds the store at head and changes nothing.
    again = Store(db_url, key=key)
    with again.engine.connect() as c:
        assert current(c) == HEAD
    again.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_reset_rebuilds_through_the_migrations(backend: str, tmp_path: Any) -> None:
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.reset()
    with store.engine.connect() as c:
        assert current(c) == HEAD
    store.engine.dispose()


def test_in_ci_a_missing_postgresql_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    from db_support import PG_ENV, pg_url

    monkeypatch.delenv(PG_ENV, raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        pg_url()
    monkeypatch.setenv("CI", "false")
    assert pg_url() is None  # locally: the PostgreSQL half is skipped, SQLite still runs
