"""Changes to one occurrence of a recurring series, provider-neutral: every protocol (Graph PATCH
or DELETE on an occurrence id, EWS UpdateItem/DeleteItem on an OccurrenceItemId, Google PATCH on
an instance) makes them through these functions, so the three render the same exception.

An exception lives on the series master (`Event.exceptions`, keyed by the occurrence's original
start). Each change gives the master a new change key and a new sequence number in its
collection: render caches keyed by change key drop the master's old JSON, and every "changes
since N" (Graph delta, EWS SyncFolderItems, Google sync tokens) reports the master as changed.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from mock_providers.world.model import Calendar, Event
from mock_providers.world.recurrence import Instance, OccurrenceChange, find_instance
from mock_providers.world.seed import change_key
from mock_providers.world.world import World

CHANGEABLE = frozenset(f.name for f in fields(OccurrenceChange)) - {"last_modified",
                                                                     "change_key"}


class SeriesError(ValueError):
    """Not a series master, or no such (or a cancelled) occurrence."""


def bump(world: World, calendar: Calendar, event: Event) -> int:
    """Record that `event` changed: new last-modified time, change key and sequence number."""
    seq = world.next_seq()
    event.last_modified = world.now()
    event.change_key = change_key(event.id, "rev", seq)
    calendar.events.put(event.id, event, seq)
    return seq


def occurrence(master: Event, original_start: datetime) -> Instance:
    if master.recurrence is None:
        raise SeriesError("the event is not a series master")
    found = find_instance(master.recurrence, master.start, master.end, master.exceptions,
                          original_start)
    if found is None:
        raise SeriesError("the series has no such occurrence")
    return found


def modify_occurrence(world: World, calendar: Calendar, master: Event,
                      original_start: datetime, **changes: Any) -> Instance:
    """Make (or change) the exception of the occurrence that originally starts at
    `original_start`; `changes` are OccurrenceChange fields (start, end, subject, body,
    location, sensitivity, show_as). Returns the occurrence as it now is."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise SeriesError(f"an occurrence cannot change {sorted(unknown)[0]}")
    occurrence(master, original_start)
    change = master.exceptions.modified.get(original_start) or OccurrenceChange()
    for name, value in changes.items():
        setattr(change, name, value)
    master.exceptions.modified[original_start] = change
    seq = bump(world, calendar, master)
    change.last_modified = master.last_modified
    change.change_key = change_key(master.id, original_start.isoformat(), seq)
    return occurrence(master, original_start)


def cancel_occurrence(world: World, calendar: Calendar, master: Event,
                      original_start: datetime) -> None:
    """Cancel (delete) one occurrence: it leaves every calendar view of the series."""
    occurrence(master, original_start)
    master.exceptions.modified.pop(original_start, None)
    master.exceptions.cancelled.add(original_start)
    bump(world, calendar, master)
