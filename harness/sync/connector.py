"""The I/O a calendar service offers the sync core, and the failures it reports.

A connector (Graph, EWS, Google) only does I/O; every decision is the planner's. Each connector
maps its protocol's own signals onto these errors: 429/`ErrorServerBusy`/`rateLimitExceeded`
with their Retry-After or BackOffMilliseconds → `Throttled`; 5xx and dropped connections →
`Transient`; 410 `SyncStateNotFound` / `ErrorInvalidSyncStateData` / Google 410 → `CursorInvalid`;
a revoked or expired grant that only the user can fix → `ReauthRequired`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from harness.sync.model import Changes, MeetingFields, RemoteEvent


class SyncError(Exception):
    """Base of what a connector raises."""


class Throttled(SyncError):
    def __init__(self, retry_after: float | None, message: str = "throttled") -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Transient(SyncError):
    """A failure worth retrying (5xx, dropped connection). `ambiguous` is True when a write may
    have reached the service before the failure (the response was lost)."""

    def __init__(self, message: str, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


class CursorInvalid(SyncError):
    """The service forgot the cursor (delta token, SyncState, sync token): resync in full."""


class ReauthRequired(SyncError):
    """The grant is revoked or expired beyond refresh; sync pauses until the user signs in."""


class Conflict(SyncError):
    """The event changed since the etag the write carried (412): re-read and plan again."""


class NotFound(SyncError):
    """The event is gone on the service."""


class Connector(Protocol):
    def changes(self, cursor: str | None, window: tuple[datetime, datetime]) -> Changes:
        """Changes since `cursor`; with no cursor, every event of the window (`full=True`)."""
        ...

    def create(self, fields: MeetingFields, join_url: str, key: str) -> RemoteEvent:
        """A new event carrying the join link; `key` makes a retried create return the event
        the first attempt made instead of a second one."""
        ...

    def get(self, event_id: str) -> RemoteEvent | None:
        """The event as it is now, or None when the service no longer has it (deleted or
        cancelled). A full resync asks this for linked events its window did not list: moved
        out of the window is not deleted."""
        ...

    def find_created(self, key: str) -> RemoteEvent | None:
        """The event an earlier create with this key made, if the service has it (the key is
        `create_key(meeting id)`, and that event carries the meeting's join link)."""
        ...

    def update(self, event_id: str, fields: MeetingFields, join_url: str,
               etag: str | None) -> RemoteEvent: ...

    def delete(self, event_id: str) -> None:
        """Remove the event (a cancellation for a meeting with attendees); NotFound is fine."""
        ...
