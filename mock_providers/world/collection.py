"""A keyed collection with a change log, the basis of every delta/sync-token mock.

Changes are kept in a dict ordered by change sequence (an entry is popped and re-inserted when it
changes again), so "what changed since sequence N" walks back from the newest change and stops at
N: an incremental sync costs the number of changes, never the size of the calendar.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True, frozen=True)
class Change:
    item_id: str
    seq: int
    deleted: bool


class Collection(Generic[T]):
    __slots__ = ("items", "_changes", "_deleted", "created_seq")

    def __init__(self, created_seq: int = 0) -> None:
        self.items: dict[str, T] = {}
        self._changes: dict[str, int] = {}
        self._deleted: set[str] = set()
        self.created_seq = created_seq

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.items

    def get(self, item_id: str) -> T | None:
        return self.items.get(item_id)

    def put(self, item_id: str, item: T, seq: int) -> None:
        self.items[item_id] = item
        self._deleted.discard(item_id)
        self._changes.pop(item_id, None)
        self._changes[item_id] = seq

    def delete(self, item_id: str, seq: int) -> T | None:
        item = self.items.pop(item_id, None)
        if item is None:
            return None
        self._deleted.add(item_id)
        self._changes.pop(item_id, None)
        self._changes[item_id] = seq
        return item

    @property
    def last_seq(self) -> int:
        if not self._changes:
            return self.created_seq
        return self._changes[next(reversed(self._changes))]

    def changes_since(self, seq: int) -> list[Change]:
        """Changes after `seq`, oldest first; O(number of changes), not O(size)."""
        out: list[Change] = []
        for item_id in reversed(self._changes):
            item_seq = self._changes[item_id]
            if item_seq <= seq:
                break
            out.append(Change(item_id, item_seq, item_id in self._deleted))
        out.reverse()
        return out

    def __iter__(self) -> Iterator[T]:
        return iter(self.items.values())
