"""Append-only audit log of every request a mock served: the evidence a report rests on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class AuditEntry:
    seq: int
    time: float  # world-clock timestamp
    provider: str  # "identity", "graph", "ews", "google-oauth", "google-calendar", "google-people"
    method: str
    path: str
    status: int
    client_id: str | None = None
    user: str | None = None  # upn / email of the principal, when known
    scopes: list[str] = field(default_factory=list)  # scopes asked for (identity) or carried (APIs)
    operation: str | None = None  # e.g. "authorize", "token:authorization_code", "events.list"
    outcome: str = "ok"  # "ok" or an error code such as "AADSTS65001", "ErrorAccessDenied"
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# How the log is kept, and why: every request under load appends an entry, and CPython's full
# garbage collections walk every container the GC tracks, element by element. AuditEntry objects
# (slots: always tracked) in one flat list made each full collection touch the whole log (~50 ms
# on a 200,000-entry log, ~1 us a request amortised, and a 50 ms p99 stall). So one entry is
# stored as a tuple of atomic values (AuditEntry's fields in order, `scopes` a tuple, `detail` as
# a tuple of its keys and one of its values: flat tuples, because a tuple holding a dict is never
# untracked and one holding younger tuples is not untracked in the same pass), which the GC stops
# tracking at the first collection it survives; and entries are grouped in chunks of _CHUNK: a
# full chunk becomes a tuple of such tuples, untracked in turn, so a full collection sees a short
# list of chunks instead of every entry.
_Row = tuple[int, float, str, str, str, int, "str | None", "str | None", tuple[str, ...],
             "str | None", str, tuple[str, ...], tuple[Any, ...]]
_CHUNK = 1024


def _entry(row: _Row) -> AuditEntry:
    return AuditEntry(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                      list(row[8]), row[9], row[10], dict(zip(row[11], row[12], strict=True)))


class AuditLog:
    """Bounded in memory so a long load run cannot exhaust it; old entries fall off the front.

    Entries are stored as flat tuples and read back (iteration, `query`) as new AuditEntry
    objects: what a reader gets is a copy of what was recorded, `detail` and `scopes` included."""

    def __init__(self, capacity: int = 200_000) -> None:
        self._chunks: list[tuple[_Row, ...]] = []  # full chunks, oldest first
        self._tail: list[_Row] = []  # the chunk being filled
        self._size = 0
        self._capacity = capacity
        self._next_seq = 1

    def record(self, entry_time: float, provider: str, method: str, path: str, status: int,
               **fields: Any) -> AuditEntry:
        entry = AuditEntry(self._next_seq, entry_time, provider, method, path, status, **fields)
        self._append((entry.seq, entry_time, provider, method, path, status, entry.client_id,
                      entry.user, tuple(entry.scopes), entry.operation, entry.outcome,
                      tuple(entry.detail), tuple(entry.detail.values())))
        return entry

    def add(self, entry_time: float, provider: str, method: str, path: str, status: int,
            client_id: str | None, user: str | None, scopes: tuple[str, ...],
            operation: str | None, outcome: str, detail: dict[str, Any]) -> None:
        """`record` with every field given by position and no entry object made: the call for
        hot paths. `scopes` is a tuple, ideally one shared by all of a caller's entries."""
        self._append((self._next_seq, entry_time, provider, method, path, status, client_id,
                      user, scopes, operation, outcome, tuple(detail), tuple(detail.values())))

    def _append(self, row: _Row) -> None:
        self._next_seq += 1
        tail = self._tail
        tail.append(row)
        self._size += 1
        if len(tail) >= _CHUNK:
            self._chunks.append(tuple(tail))
            self._tail = []
        if self._size > self._capacity:
            # Drop the oldest tenth at once: amortised O(1) per record.
            self._drop(self._capacity // 10)

    def _drop(self, count: int) -> None:
        self._size -= count
        chunks = self._chunks
        while count and chunks and len(chunks[0]) <= count:
            count -= len(chunks.pop(0))
        if count and chunks:
            chunks[0] = chunks[0][count:]
        elif count:
            del self._tail[:count]

    def _rows(self) -> Iterator[_Row]:
        for chunk in list(self._chunks):
            yield from chunk
        yield from list(self._tail)

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[AuditEntry]:
        return map(_entry, self._rows())

    def query(self, *, since: int = 0, provider: str | None = None, user: str | None = None,
              client_id: str | None = None, operation: str | None = None,
              limit: int | None = None) -> list[AuditEntry]:
        out: list[AuditEntry] = []
        wanted_user = user.lower() if user is not None else None
        for row in self._rows():
            if row[0] <= since:
                continue
            if provider is not None and row[2] != provider:
                continue
            if wanted_user is not None and (row[7] or "").lower() != wanted_user:
                continue
            if client_id is not None and row[6] != client_id:
                continue
            if operation is not None and not (row[9] or "").startswith(operation):
                continue
            out.append(_entry(row))
            if limit is not None and len(out) >= limit:
                break
        return out

    def summary(self, since: int = 0) -> list[tuple[int, str, int, str, int]]:
        """(world-clock second, provider, status, outcome, count) of the entries after `since`:
        what a load report plots (throttling and errors seen at the provider, over time)
        without shipping every entry."""
        counts: dict[tuple[int, str, int, str], int] = {}
        for row in self._rows():
            if row[0] <= since:
                continue
            key = (int(row[1]), row[2], row[5], row[10])
            counts[key] = counts.get(key, 0) + 1
        return [(*key, n) for key, n in sorted(counts.items())]
