"""What the sync core reasons about: platform meetings, provider events, and the sanitized
record of each link between them. Plain frozen values; no I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class MeetingFields:
    """The fields that flow both ways, and exactly what the sanitized store keeps of an event
    besides its organizer: topic, description, times and recurrence info (the documents' list),
    and whether the event is private — bookkeeping a delegate's view depends on: a meeting
    marked private on either side is private on both (Outlook's sensitivity, Google's
    visibility), so no view shows a delegate without private access its topic or link."""

    topic: str
    description: str
    start: datetime  # aware
    end: datetime
    time_zone: str = "UTC"
    recurrence: str | None = None  # one RFC 5545 RRULE line for a series; None for a single
    private: bool = False


@dataclass(frozen=True, slots=True)
class Meeting:
    """A meeting as the platform holds it (scheduled in the client, the web, or by a delegate)."""

    id: str
    organizer: str  # e-mail address
    organizer_id: str
    fields: MeetingFields
    join_url: str

    @property
    def private(self) -> bool:
        return self.fields.private


@dataclass(frozen=True, slots=True)
class RemoteEvent:
    """An event as a connector read it from the calendar service."""

    id: str
    etag: str | None
    fields: MeetingFields
    join_url: str | None = None  # the platform join link, wherever the event carries it
    transaction_key: str | None = None  # the idempotency key the platform created it with


def digest(fields: MeetingFields) -> str:
    """A change key of the agreed values: bookkeeping, not calendar data (it cannot be read
    back into a topic or a time)."""
    # The same text as joining str() of every field in declaration order (stored digests stay
    # valid), without the per-field getattr: a full round digests every linked event.
    f = fields
    text = "\x1f".join((f.topic, f.description, f.start.isoformat(" "), f.end.isoformat(" "),
                        f.time_zone, str(f.recurrence)))  # isoformat(" ") is what str() gives
    if f.private:  # only then: the digests stored before privacy was synced stay valid
        text += "\x1fprivate"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Record:
    """One row of the sanitized store: a platform meeting, the provider event it is linked to,
    and the last values both sides agreed on — their content (`fields`, the base of the
    three-way merge) only while the event is within the stored window, else only their digest."""

    meeting_id: str
    digest: str
    fields: MeetingFields | None = None  # None: outside the window, bookkeeping only
    organizer: str | None = None  # with the fields: the documents' organizer and organizerId
    organizer_id: str | None = None
    event_id: str | None = None  # None while a create's outcome is unknown
    etag: str | None = None
    pending_key: str | None = None  # idempotency key of a create not yet confirmed
    # Bookkeeping: when the record must be looked at again even if neither side changes (the
    # agreed event's end while the record holds content). Retention keeps it when it strips the
    # content, so the next round still settles the link: a store indexes it, and a round reads
    # only the records that are due instead of every record.
    due: datetime | None = None


@dataclass(frozen=True, slots=True)
class MeetingChanges:
    """The platform's change feed: ids of meetings created, changed or deleted since a feed
    cursor (their state is read afterwards: an id the platform no longer has was deleted), and
    the cursor to read from next time."""

    ids: list[str]
    cursor: str


@dataclass(frozen=True, slots=True)
class Changes:
    """What a connector reports for one round: events created or changed since the cursor (or
    every event of the window when `full`), the ids removed since the cursor, the next cursor."""

    events: list[RemoteEvent]
    removed: list[str]
    cursor: str | None
    full: bool
    window: tuple[datetime, datetime] | None = None  # what a full listing covered
    # Ids of events created or changed that carry no join link: not converted (most of a
    # calendar; nothing of them is ever stored). Only a record can tie one to a meeting (a user
    # removed the link from a linked event): the engine reads those few by id.
    unlinked: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RoundReport:
    """What one round did, for status displays, logs and tests."""

    full: bool = False
    created: list[str] = field(default_factory=list)  # meeting ids pushed as new events
    updated_remote: list[str] = field(default_factory=list)
    deleted_remote: list[str] = field(default_factory=list)
    updated_meetings: list[str] = field(default_factory=list)
    cancelled_meetings: list[str] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)  # events recognised by their join link
    discarded: list[str] = field(default_factory=list)  # records past their event
    retries: int = 0
    waited: float = 0.0
    cursor_reset: bool = False
