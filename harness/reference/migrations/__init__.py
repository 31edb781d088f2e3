"""The store's schema history (Alembic). `upgrade(connection)` brings any store to head at
start-up: a store of the release before migrations (tables, no `alembic_version`) is stamped at
the baseline first, so it upgrades in place."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

HERE = Path(__file__).resolve().parent
BASELINE = "0001_baseline"


def config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(connection: Connection) -> None:
    cfg = config(connection)
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables and "integrations" in tables:
        command.stamp(cfg, BASELINE)  # the previous release's schema, made by create_all
    command.upgrade(cfg, "head")


def current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()
