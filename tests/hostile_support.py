"""What every hostile sweep (identity, Graph, Google, EWS) counts, and the one line of figures
each prints at its end: requests tried, 5xx, wrong error shapes, wrong acceptances, the slowest
request, and memory before and after.

Memory, named for what it is: the hub runs inside the pytest process, so the process's resident
set (VmRSS) is the pytest process with the hub in it, not the hub alone. It is measured before
the first request (trimmed, see below), at the end, and at the end again after a garbage
collection and glibc's malloc_trim: large transient allocations (a 1 MiB envelope, a
300,000-character subject) leave the allocator holding pages it would hand back, so only the
trimmed figure says what the process retained. Next to it, the world's own size: how many
events and contacts it holds and how many characters of text they store, which is what a hostile
write could bloat and a reset gives back.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import gc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mock_providers.hub import Hub
from mock_providers.world import Contact, Event, World


@dataclass(frozen=True)
class WorldSize:
    events: int
    contacts: int
    text_chars: int  # in the events' and contacts' string fields

    def __str__(self) -> str:
        return f"{self.events} events, {self.contacts} contacts, {self.text_chars:,} chars of text"


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    five_xx: list[str] = field(default_factory=list)
    bad_shape: list[str] = field(default_factory=list)
    wrong_acceptance: list[str] = field(default_factory=list)
    slowest: float = 0.0
    rss_before: int = 0
    world_before: WorldSize | None = None

    def start(self, hub: Hub) -> None:
        """Call once the sweep's hub is up, before its first request."""
        self.rss_before, self.world_before = trimmed_rss_kib(), world_size(hub.world)

    def figures(self, name: str, hub: Hub, *, five_xx_label: str = "5xx",
                extra: dict[str, int] | None = None) -> str:
        """The closing line. `five_xx_label` names what the sweep counts as a server error."""
        assert self.world_before is not None, "Tally.start was not called"
        counts = "".join(f"{n} {label}, " for label, n in (extra or {}).items())
        return (f"\n{name} hostile sweep: {self.requests} requests, "
                f"{len(self.five_xx)} {five_xx_label}, {len(self.bad_shape)} wrong error shapes, "
                f"{len(self.wrong_acceptance)} wrong acceptances, {counts}"
                f"slowest {self.slowest * 1000:.0f} ms, "
                f"statuses {dict(sorted(self.statuses.items()))}; "
                f"process RSS (pytest with the hub in it) {self.rss_before // 1024} MiB before, "
                f"{rss_kib() // 1024} MiB after, {trimmed_rss_kib() // 1024} MiB retained after "
                "gc and malloc_trim; "
                f"world before: {self.world_before}; after: {world_size(hub.world)}")


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def trimmed_rss_kib() -> int:
    """VmRSS after a full collection and, on glibc, malloc_trim(0) (elsewhere: without it)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_kib()


def _items(world: World) -> Iterator[Event | Contact]:
    for tenant in world.ms_tenants.values():
        for user in tenant.users.values():
            for calendar in user.mailbox.calendars.values():
                yield from calendar.events
            for folder in user.mailbox.contact_folders.values():
                yield from folder.contacts
    for domain in world.google_domains.values():
        for google in domain.users.values():
            for calendar in google.calendars.values():
                yield from calendar.events
            yield from google.contacts


def world_size(world: World) -> WorldSize:
    events = contacts = chars = 0
    for item in _items(world):
        if isinstance(item, Event):
            events += 1
        else:
            contacts += 1
        for f in dataclasses.fields(item):
            value = getattr(item, f.name)
            if isinstance(value, str):
                chars += len(value)
    return WorldSize(events, contacts, chars)
