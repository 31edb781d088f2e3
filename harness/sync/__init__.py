"""The bi-directional sync core, apart from any protocol or store (vdirsyncer's shape).

- `model`: platform meetings, provider events, the sanitized record of a link, a round's report;
- `planner`: the algorithm as pure decisions (linking, window and retention, three-way merge,
  deletions, idempotent creates) — tested by a hypothesis state machine;
- `engine`: one round: changes → plan → apply, with retries, back-off and cursor fallback;
  incremental (only what changed) when the platform offers a change feed (`PlatformFeed`) and
  the store its indexes (`IndexedRecordStore`); a store with `put_many` (`BulkRecordStore`)
  takes a round's settled records in one write;
- `connector`: the I/O a calendar service offers and the failures it maps to;
- `memory`: in-memory platform, store and provider, for property tests and load tests of the
  core alone.
"""

from harness.sync.connector import (
    Conflict,
    Connector,
    CursorInvalid,
    NotFound,
    ReauthRequired,
    SyncError,
    Throttled,
    Transient,
)
from harness.sync.engine import (
    BulkRecordStore,
    IndexedRecordStore,
    Platform,
    PlatformFeed,
    RecordStore,
    RetryPolicy,
    RoundIncomplete,
    SyncEngine,
)
from harness.sync.model import (
    Changes,
    Meeting,
    MeetingChanges,
    MeetingFields,
    Record,
    RemoteEvent,
    RoundReport,
)
from harness.sync.planner import WINDOW_DAYS, create_key, meeting_id_from_link, merge, plan

__all__ = [
    "WINDOW_DAYS", "BulkRecordStore", "Changes", "Conflict", "Connector", "CursorInvalid",
    "IndexedRecordStore",
    "Meeting", "MeetingChanges", "MeetingFields", "NotFound", "Platform", "PlatformFeed",
    "ReauthRequired", "Record", "RecordStore",
    "RemoteEvent", "RetryPolicy", "RoundIncomplete", "RoundReport", "SyncEngine", "SyncError",
    "Throttled", "Transient", "create_key", "meeting_id_from_link", "merge", "plan",
]
