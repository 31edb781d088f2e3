"""A keyed collection with a change log, the basis of every delta/sync-token mock.

Changes are kept in a dict ordered by change sequence (an entry is popped and re-inserted when it
changes again), so "what changed since sequence N" walks back from the newest change and stops at
N: an incremental sync costs the number of changes, never the size of the calendar.

A paged first sync reads forward from an old sequence one page at a time: `changes_after` finds
its start by bisecting an append-only log of (sequence, id) and yields lazily, so a page costs
its own changes, not every change after it (which made a first sync of N items cost O(N^2)).
"""

from __future__ import annotations

from bisect import bisect_right
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
    __slots__ = ("items", "_changes", "_deleted", "created_seq", "_log_seqs", "_log_ids")

    def __init__(self, created_seq: int = 0) -> None:
        self.items: dict[str, T] = {}
        self._changes: dict[str, int] = {}
        self._deleted: set[str] = set()
        self.created_seq = created_seq
        # Every change in the order made; an entry is stale once its item changed again (its
        # seq in `_changes` differs). None when a sequence did not increase: then the log is
        # rebuilt from `_changes` (one entry per item, in the order changes_since reads) when read.
        self._log_seqs: list[int] | None = []
        self._log_ids: list[str] = []

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
        self._logged(item_id, seq)

    def delete(self, item_id: str, seq: int) -> T | None:
        item = self.items.pop(item_id, None)
        if item is None:
            return None
        self._deleted.add(item_id)
        self._changes.pop(item_id, None)
        self._changes[item_id] = seq
        self._logged(item_id, seq)
        return item

    def _logged(self, item_id: str, seq: int) -> None:
        seqs = self._log_seqs
        if seqs is None:
            return
        if seqs and seq <= seqs[-1]:
            # Not strictly increasing: bisecting could not tell an old entry from the current
            # one. Rebuilt from `_changes` (one entry per item) when next read.
            self._log_seqs = None
            return
        seqs.append(seq)
        self._log_ids.append(item_id)
        if len(seqs) > 2 * len(self._changes) + 64:  # mostly stale entries: compact
            self._log_seqs = None

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

    def changes_after(self, seq: int) -> Iterator[Change]:
        """Changes after `seq`, oldest first, produced as they are read: the caller stops after
        a page. Finding the start is O(log n); nothing after the page is looked at. (Consume it
        before changing the collection.)"""
        if self._log_seqs is None:
            seqs = list(self._changes.values())
            if any(a > b for a, b in zip(seqs, seqs[1:], strict=False)):
                yield from self.changes_since(seq)  # out of order: only the walk back is right
                return
            self._log_ids, self._log_seqs = list(self._changes), seqs
        seqs, ids, current = self._log_seqs, self._log_ids, self._changes
        for at in range(bisect_right(seqs, seq), len(seqs)):
            item_id, item_seq = ids[at], seqs[at]
            if current.get(item_id) == item_seq:  # else changed again later: reported there
                yield Change(item_id, item_seq, item_id in self._deleted)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items.values())
