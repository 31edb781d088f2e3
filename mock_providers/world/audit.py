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


class AuditLog:
    """Bounded in memory so a long load run cannot exhaust it; old entries fall off the front."""

    def __init__(self, capacity: int = 200_000) -> None:
        self._entries: list[AuditEntry] = []
        self._capacity = capacity
        self._next_seq = 1

    def record(self, entry_time: float, provider: str, method: str, path: str, status: int,
               **fields: Any) -> AuditEntry:
        entry = AuditEntry(self._next_seq, entry_time, provider, method, path, status, **fields)
        self._next_seq += 1
        self._entries.append(entry)
        if len(self._entries) > self._capacity:
            # Drop the oldest tenth at once: amortised O(1) per record.
            del self._entries[: self._capacity // 10]
        return entry

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[AuditEntry]:
        return iter(self._entries)

    def query(self, *, since: int = 0, provider: str | None = None, user: str | None = None,
              client_id: str | None = None, operation: str | None = None,
              limit: int | None = None) -> list[AuditEntry]:
        out: list[AuditEntry] = []
        for e in self._entries:
            if e.seq <= since:
                continue
            if provider is not None and e.provider != provider:
                continue
            if user is not None and (e.user or "").lower() != user.lower():
                continue
            if client_id is not None and e.client_id != client_id:
                continue
            if operation is not None and not (e.operation or "").startswith(operation):
                continue
            out.append(e)
            if limit is not None and len(out) >= limit:
                break
        return out
