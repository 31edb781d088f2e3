"""Alembic environment: migrations always run on the connection the store hands in
(`harness.reference.migrations.upgrade`). Importing this module outside Alembic does nothing."""

from __future__ import annotations

from alembic import context


def run() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if getattr(context, "config", None) is not None:  # executed by Alembic
    run()
