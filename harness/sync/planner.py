"""The sync algorithm as small decisions: from the platform's meetings, the provider's changes
and the sanitized records of the last round, the actions that make both sides agree.

Rules (docs/architecture.md, "Sync core", says why):
- **Linked** means: the event was created by the platform (its id is in a record, or it carries
  the meeting's create key) or it carries the join link of a meeting the platform knows. Any
  other event is ignored and never stored. The platform's own event beats a user's copy of the
  link (`VerifyCopy` looks it up by key before a copy is linked).
- **Every meeting that has not ended is synced**; the store keeps the sanitized *content* of a
  link (topic, description, times, recurrence, organizer) only while the event starts within
  `window_days` (30): beyond that a record is bookkeeping only (ids, etag, a digest of the
  agreed values). A record is discarded — deleted, not flagged — as soon as its event has ended.
- **Both sides changed**: a three-way merge per field against the agreed values: a field changed
  on one side takes that side's value; changed on both, the platform wins (the host is the
  authority on the meeting). Outside the window there is no base: the platform wins whole.
- **A deletion on either side wins** over an edit on the other: a meeting cancelled in Outlook
  or Google cancels the platform meeting; a meeting deleted in the platform deletes the event
  (found by its create key when the store no longer holds the record: `DeleteCreated`).
- **Idempotent creates**: a create carries a key derived from the meeting id; a create whose
  outcome is unknown is looked up by that key before it is tried again.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta

from harness.sync.model import Changes, Meeting, MeetingFields, Record, RemoteEvent, digest
from harness.sync.series import series_end

WINDOW_DAYS = 30
_MEETING_ID = re.compile(r"/j/([A-Za-z0-9_-]{1,64})")


def meeting_id_from_link(join_url: str | None) -> str | None:
    """The platform meeting id a join link names (`https://…/j/<id>`), or None."""
    if not join_url:
        return None
    match = _MEETING_ID.search(join_url)
    return match.group(1) if match else None


def create_key(meeting_id: str) -> str:
    """The idempotency key of the event for this meeting: the same on every retry."""
    return f"calharness-{meeting_id}"


# How far ahead a full resync lists events: links of meetings beyond it are not judged deleted.
LISTING_DAYS = 400


def window(now: datetime, days: int = WINDOW_DAYS) -> tuple[datetime, datetime]:
    return now, now + timedelta(days=days)


def live(f: MeetingFields, now: datetime) -> bool:
    """Not ended yet (for a series: its last occurrence)."""
    end = series_end(f)
    return end is None or end > now


def in_window(f: MeetingFields, now: datetime, days: int = WINDOW_DAYS) -> bool:
    """Live and starting within the stored window: the store may keep its content."""
    return f.start < now + timedelta(days=days) and live(f, now)


def retained(record: Record, now: datetime, window_days: int = WINDOW_DAYS) -> Record:
    """What retention lets a record keep now: its content only while the agreed event is within
    the window; past its end the content goes even if the link is still being resolved (a write
    failed this round), and only bookkeeping remains until the planner settles the link."""
    if record.fields is None or in_window(record.fields, now, window_days):
        return record
    return replace(record, fields=None, organizer=None, organizer_id=None)


def settle(meeting: Meeting, fields: MeetingFields, event_id: str | None, etag: str | None,
           now: datetime, window_days: int = WINDOW_DAYS) -> Record | None:
    """The record of a link whose two sides agree on `fields`: content only inside the window,
    none at all once the event has ended (None: drop the record)."""
    # Through `live` and `in_window`, not inlined: they are the retention boundaries, and
    # the mutants of SYNC-04 and SYNC-07 (harness/reference/mutants/sync.py) replace them.
    if not live(fields, now):
        return None
    keep = in_window(fields, now, window_days)
    return Record(meeting.id, digest(fields), fields if keep else None,
                  meeting.organizer if keep else None, meeting.organizer_id if keep else None,
                  event_id=event_id, etag=etag, due=series_end(fields) if keep else None)


def merge(base: MeetingFields, platform: MeetingFields, provider: MeetingFields) -> MeetingFields:
    """Per field: one side changed → that side; both changed → the platform."""
    out = {}
    for f in fields(MeetingFields):
        b, p, r = (getattr(x, f.name) for x in (base, platform, provider))
        out[f.name] = r if p == b else p
    return MeetingFields(**out)


# -- actions ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CreateEvent:
    meeting: Meeting
    key: str
    verify_first: bool  # an earlier create may have landed: look it up before creating


@dataclass(frozen=True, slots=True)
class UpdateEvent:
    record: Record
    meeting: Meeting
    fields: MeetingFields


@dataclass(frozen=True, slots=True)
class DeleteEvent:
    """Delete the event (looked up by its create key if the create was never confirmed), then
    drop the record: one action, so a failed delete keeps the record for the next round."""

    record: Record


@dataclass(frozen=True, slots=True)
class DeleteCreated:
    """The platform deleted a meeting the store holds no record of (its record was discarded
    when the event ended, or its create was never confirmed): delete the event a create under
    this key made, if the service has one."""

    meeting_id: str
    key: str


@dataclass(frozen=True, slots=True)
class VerifyCopy:
    """An event carries the meeting's join link but not its create key: a user's copy of the
    link, or an event made elsewhere. Link it only if the platform's own event (found by the
    create key) does not exist; if it does, that one is the meeting's (`adopt` either)."""

    meeting: Meeting
    event: RemoteEvent


@dataclass(frozen=True, slots=True)
class UpdateMeeting:
    meeting_id: str
    fields: MeetingFields


@dataclass(frozen=True, slots=True)
class CancelMeeting:
    meeting_id: str


@dataclass(frozen=True, slots=True)
class PutRecord:
    record: Record


@dataclass(frozen=True, slots=True)
class DropRecord:
    meeting_id: str
    reason: str  # "ended", "deleted", "out-of-window"


Action = CreateEvent | UpdateEvent | DeleteEvent | DeleteCreated | VerifyCopy | UpdateMeeting | \
    CancelMeeting | PutRecord | DropRecord


@dataclass(frozen=True, slots=True)
class Plan:
    actions: list[Action]
    linked: list[str]  # meeting ids whose events were recognised by their join link


def plan(meetings: Mapping[str, Meeting], records: Mapping[str, Record], changes: Changes,
         now: datetime, window_days: int = WINDOW_DAYS, *,
         deleted: Collection[str] = (), verify_copies: bool = False) -> Plan:
    """The actions of one round. Pure: the same inputs always give the same plan.

    `meetings` and `records` may be the whole of both sides or only the part a round touches
    (what changed on either side, records that are due, meetings entering the window, and the
    meetings the changed events' join links name): every decision reads only the meeting, the
    record and the provider's events of one meeting id. `deleted` names meetings the
    platform's change feed reports deleted since the last round. With `verify_copies`, an
    event that carries a meeting's link but not its create key is checked against the
    meeting's own event before it is linked (an incremental round: such events are few; a full
    listing of a calendar whose events were linked by hand may hold thousands)."""
    by_event = {r.event_id: r for r in records.values() if r.event_id}
    changed: dict[str, RemoteEvent] = {}  # meeting id -> the provider's new state
    removed: set[str] = set()  # meeting ids whose event the provider deleted
    linked: list[str] = []
    adopted: dict[str, RemoteEvent] = {}  # meeting id -> event found for a pending create

    for event in changes.events:
        record = by_event.get(event.id)
        if record is not None:
            changed[record.meeting_id] = event
            continue
        meeting_id = meeting_id_from_link(event.join_url)
        if meeting_id is None or meeting_id not in meetings:
            continue  # not linked: never stored
        known = records.get(meeting_id)
        if known is not None and known.event_id and known.event_id != event.id:
            continue  # the meeting has its own event; this is someone's copy of the link
        chosen = adopted.get(meeting_id)
        if chosen is not None and _created_for(chosen, meeting_id) \
                and not _created_for(event, meeting_id):
            continue  # the platform's own event (a create that landed) beats a user's copy
        if chosen is None:
            linked.append(meeting_id)
        adopted[meeting_id] = event

    for event_id in changes.removed:
        record = by_event.get(event_id)
        if record is not None:
            removed.add(record.meeting_id)

    if changes.full and changes.window is not None:
        listed = {e.id for e in changes.events}
        lo, hi = changes.window
        for record in records.values():
            meeting = meetings.get(record.meeting_id)
            known = record.fields or (meeting.fields if meeting is not None else None)
            inside = known is not None and known.start < hi and (series_end(known) or hi) > lo
            if record.event_id and record.event_id not in listed and inside:
                removed.add(record.meeting_id)

    actions: list[Action] = []
    for meeting_id in sorted(set(deleted) - set(meetings) - set(records)):
        # Deleted while the store held no record of it: the event an earlier create made may
        # still be there (e.g. the meeting ended, its record was discarded, then it was moved
        # ahead and deleted between two rounds). A deletion on the platform deletes the event.
        actions.append(DeleteCreated(meeting_id, create_key(meeting_id)))
    for meeting_id in sorted(set(meetings) | set(records)):
        meeting, record = meetings.get(meeting_id), records.get(meeting_id)
        actions.extend(_decide(meeting, record, changed.get(meeting_id),
                               adopted.get(meeting_id), meeting_id in removed, now,
                               window_days, verify_copies))
    return Plan(actions, linked)


def _created_for(event: RemoteEvent, meeting_id: str) -> bool:
    """Made by the platform's create for this meeting (it carries the create key)."""
    return event.transaction_key == create_key(meeting_id)


def _decide(meeting: Meeting | None, record: Record | None, event: RemoteEvent | None,
            adopted: RemoteEvent | None, provider_deleted: bool, now: datetime,
            window_days: int, verify_copies: bool = False) -> list[Action]:
    if meeting is None:
        if record is None:
            return []
        if (record.event_id or record.pending_key) and not provider_deleted:
            return [DeleteEvent(record)]  # drops the record once the event is gone
        return [DropRecord(record.meeting_id, "deleted")]

    if not live(meeting.fields, now):
        remote = event if event is not None else adopted
        moved_back = (remote is not None and live(remote.fields, now)
                      and (record is None or digest(remote.fields) != record.digest))
        if not moved_back:
            return [DropRecord(meeting.id, "ended")] if record is not None else []

    if record is None or record.event_id is None:
        if adopted is not None:
            if verify_copies and not _created_for(adopted, meeting.id):
                return [VerifyCopy(meeting, adopted)]
            return adopt(meeting, adopted, now, window_days)
        return [CreateEvent(meeting, create_key(meeting.id),
                            verify_first=record is not None and record.pending_key is not None)]

    if provider_deleted:
        return [CancelMeeting(meeting.id), DropRecord(meeting.id, "deleted")]

    platform_changed = digest(meeting.fields) != record.digest
    provider_changed = event is not None and digest(event.fields) != record.digest
    etag = event.etag if event is not None else record.etag
    if provider_changed and platform_changed:
        assert event is not None
        target = (merge(record.fields, meeting.fields, event.fields) if record.fields is not None
                  else meeting.fields)
    elif provider_changed:
        assert event is not None
        target = event.fields
    else:
        target = meeting.fields
    remote = event.fields if provider_changed and event is not None else None
    actions: list[Action] = []
    if platform_changed and target != remote:
        actions.append(UpdateEvent(replace(record, etag=etag), meeting, target))
    else:
        # Nothing to write remotely: the record follows the agreed values (and the window).
        settled = settle(meeting, target, record.event_id, etag, now, window_days)
        if settled is None:
            actions.append(DropRecord(meeting.id, "ended"))
        elif settled != record:
            actions.append(PutRecord(settled))
    if target != meeting.fields:
        actions.append(UpdateMeeting(meeting.id, target))
    return actions


def adopt(meeting: Meeting, event: RemoteEvent, now: datetime,
          window_days: int = WINDOW_DAYS) -> list[Action]:
    """A pending create that landed, or an event carrying this meeting's join link: link it and
    bring it to the meeting's values — unless the meeting is over and the event was moved to
    a time still ahead: then the provider side moved the meeting, and that flows back."""
    if not live(meeting.fields, now):
        record = settle(meeting, event.fields, event.id, event.etag, now, window_days)
        return [UpdateMeeting(meeting.id, event.fields),
                *([PutRecord(record)] if record is not None else [])]
    if event.fields == meeting.fields:
        record = settle(meeting, meeting.fields, event.id, event.etag, now, window_days)
        return [PutRecord(record)] if record is not None else []
    linked = Record(meeting.id, digest(event.fields), event_id=event.id, etag=event.etag)
    return [UpdateEvent(linked, meeting, meeting.fields)]
