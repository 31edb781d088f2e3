"""Stored-data inspection: what the store really holds, read row by row and column by column,
so a scenario can check what is (and is not) kept without trusting the code that writes it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy import text as sql

from harness.api.models import StoredDataHit, StoredSyncRecord
from harness.reference.store import Base, Store, SyncRecordRow


def sync_records(store: Store, user: str) -> list[StoredSyncRecord]:
    table = SyncRecordRow.__table__
    with store.engine.connect() as connection:
        rows = connection.execute(select(table).where(table.c.user == user.lower())
                                  .order_by(table.c.meeting_id)).mappings().all()
    return [StoredSyncRecord(meeting_id=row["meeting_id"],
                             columns={k: None if v is None else str(v) for k, v in row.items()})
            for row in rows]


def search(store: Store, text: str) -> list[StoredDataHit]:
    """Every (table, column) whose stored value contains `text` (case-insensitive), reading the
    raw column values (encrypted columns are searched as the ciphertext they are stored as)."""
    needle = text.lower()
    hits: list[StoredDataHit] = []
    with store.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            quoted = connection.dialect.identifier_preparer.quote(table.name)
            # Raw values, no column types: encrypted columns stay the ciphertext they are.
            for row in connection.execute(sql(f"SELECT * FROM {quoted}")).mappings():
                for column, value in row.items():
                    if value is not None and needle in str(value).lower():
                        hit = StoredDataHit(table=table.name, column=column)
                        if hit not in hits:
                            hits.append(hit)
    return hits


__all__ = ["search", "sync_records"]
