"""The sync core's connector for Exchange Web Services (Office 365 through the EWS URL, or
Exchange on-premises): exchangelib, with the reference provider's account and credentials.

- `changes`: SyncFolderItems on the calendar (the cursor is the SyncState); a full listing is a
  sync from no state, kept to the window (EWS syncs the whole folder);
- idempotent creates: the create key becomes the item's iCalendar UID (`calendar:UID`, which
  EWS lets a client set on CreateItem). The key is looked up before a create and by
  `find_created`: FindItem with a Contains restriction on the location (where the join link
  is, and the link names the meeting) narrows the candidates, the UID decides. Real Exchange
  cannot restrict on UID, hence the location; a production connector would put the key in a
  MAPI named property (ExtendedFieldURI) — the EWS mock has no ExtendedProperty support yet;
- writes carry the ChangeKey (ErrorIrresolvableConflict → Conflict);
- ErrorServerBusy → Throttled (BackOffMilliseconds), ErrorInvalidSyncStateData → CursorInvalid,
  internal/transient server errors and dropped connections → Transient, a 401 after one token
  refresh (or a refresh the user must redo) → ReauthRequired.
"""

from __future__ import annotations

import hashlib
import http.client
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import requests
from exchangelib import Account, CalendarItem, EWSDateTime, EWSTimeZone
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorInternalServerError,
    ErrorInternalServerTransientError,
    ErrorInvalidSyncStateData,
    ErrorIrresolvableConflict,
    ErrorItemNotFound,
    ErrorServerBusy,
    ErrorTimeoutExpired,
    TransportError,
    UnauthorizedError,
)
from exchangelib.items import SEND_TO_NONE
from exchangelib.properties import Body
from exchangelib.queryset import DoesNotExist
from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    EndDatePattern,
    NoEndPattern,
    NumberedPattern,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)
from oauthlib.oauth2 import TokenExpiredError

from harness.reference.connectors.common import (
    auth_mapped,
    compose_body,
    find_link,
    may_link,
    plain_text,
    read_ahead_items,
    split_body,
    zone_name,
)
from harness.reference.providers.base import Credentials
from harness.reference.providers.exchange_ews import EwsProvider
from harness.sync.connector import (
    Conflict,
    CursorInvalid,
    NotFound,
    ReauthRequired,
    SyncError,
    Throttled,
    Transient,
)
from harness.sync.model import Changes, MeetingFields, RemoteEvent
from harness.sync.planner import create_key, meeting_id_from_link
from harness.sync.rrule import WEEKDAYS, from_pattern, to_pattern

T = TypeVar("T")
FIELDS = ("subject", "body", "start", "end", "location", "uid", "recurrence", "changekey",
          "_start_timezone", "sensitivity")
SYNC_PAGE = 512  # SyncFolderItems MaxChangesReturned
# The provider hands exchangelib its token as valid for 300 s (what MSAL guarantees of a cached
# token). Past that exchangelib takes every request's token for expired and opens a new session
# (a TLS handshake) per request, with nothing refreshed: a connector kept across rounds builds
# its account again, with a token from MSAL's cache, before then.
ACCOUNT_REUSE_S = 240.0
_INDEXES = ("first", "second", "third", "fourth", "last")
_TRANSIENT = (ErrorInternalServerError, ErrorInternalServerTransientError, ErrorTimeoutExpired,
              TransportError, requests.exceptions.RequestException, http.client.HTTPException,
              ConnectionError)


def key_uid(key: str) -> str:
    """The iCalendar UID of the event a create key makes."""
    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@calharness-sync"


def _day(value: Any) -> str:
    return WEEKDAYS[int(value) - 1] if isinstance(value, int) else str(value).lower()


def pattern_of(rec: Recurrence) -> dict[str, Any]:
    """exchangelib's Recurrence → Graph's patternedRecurrence shape (the same vocabulary)."""
    p, b = rec.pattern, rec.boundary
    out: dict[str, Any] = {"interval": getattr(p, "interval", 1) or 1}
    if isinstance(p, DailyPattern):
        out["type"] = "daily"
    elif isinstance(p, WeeklyPattern):
        out.update(type="weekly", daysOfWeek=[_day(d) for d in p.weekdays or []],
                   firstDayOfWeek=_day(p.first_day_of_week or 7))
    elif isinstance(p, AbsoluteMonthlyPattern):
        out.update(type="absoluteMonthly", dayOfMonth=p.day_of_month)
    elif isinstance(p, RelativeMonthlyPattern):
        out.update(type="relativeMonthly", daysOfWeek=[_day(p.weekday)],
                   index=_INDEXES[int(p.week_number) - 1])
    elif isinstance(p, AbsoluteYearlyPattern):
        out.update(type="absoluteYearly", dayOfMonth=p.day_of_month, month=int(p.month))
    elif isinstance(p, RelativeYearlyPattern):
        out.update(type="relativeYearly", daysOfWeek=[_day(p.weekday)], month=int(p.month),
                   index=_INDEXES[int(p.week_number) - 1])
    else:
        raise ValueError(f"unknown EWS pattern {type(p).__name__}")
    rng: dict[str, Any] = {"type": "noEnd", "startDate": str(b.start)}
    if isinstance(b, NumberedPattern):
        rng.update(type="numbered", numberOfOccurrences=b.number)
    elif isinstance(b, EndDatePattern):
        rng.update(type="endDate", endDate=str(b.end))
    return {"pattern": out, "range": rng}


def recurrence_of(pattern: dict[str, Any]) -> Recurrence:
    """Graph's patternedRecurrence shape → exchangelib's Recurrence."""
    p, r = pattern["pattern"], pattern["range"]
    days = [WEEKDAYS.index(d) + 1 for d in p.get("daysOfWeek") or []]
    interval = int(p.get("interval") or 1)
    kind = p["type"]
    week = _INDEXES.index(p.get("index") or "first") + 1
    if kind == "daily":
        made: Any = DailyPattern(interval=interval)
    elif kind == "weekly":
        made = WeeklyPattern(interval=interval, weekdays=days,
                             first_day_of_week=WEEKDAYS.index(p.get("firstDayOfWeek")
                                                              or "monday") + 1)
    elif kind == "absoluteMonthly":
        made = AbsoluteMonthlyPattern(interval=interval, day_of_month=p["dayOfMonth"])
    elif kind == "relativeMonthly":
        made = RelativeMonthlyPattern(interval=interval, weekday=days[0], week_number=week)
    elif kind == "absoluteYearly":
        made = AbsoluteYearlyPattern(day_of_month=p["dayOfMonth"], month=p["month"])
    else:
        made = RelativeYearlyPattern(weekday=days[0], week_number=week, month=p["month"])
    start = date.fromisoformat(r["startDate"])
    if r["type"] == "numbered":
        boundary: Any = NumberedPattern(start=start, number=r["numberOfOccurrences"])
    elif r["type"] == "endDate":
        boundary = EndDatePattern(start=start, end=date.fromisoformat(r["endDate"]))
    else:
        boundary = NoEndPattern(start=start)
    return Recurrence(pattern=made, boundary=boundary)


def _utc(value: Any) -> datetime:
    return datetime.fromtimestamp(value.timestamp(), UTC)


def event_from_ews(item: Any) -> RemoteEvent:
    body = item.body
    kind = "html" if type(body).__name__ == "HTMLBody" else "text"
    description, body_link = split_body(plain_text(str(body or ""), kind))
    tz = zone_name(getattr(getattr(item, "_start_timezone", None), "key", None))
    recurrence = None
    if item.recurrence is not None:
        try:
            recurrence = from_pattern(pattern_of(item.recurrence), tz)
        except (ValueError, KeyError, IndexError, TypeError):
            recurrence = None
    fields = MeetingFields(item.subject or "", description, _utc(item.start), _utc(item.end),
                           tz, recurrence,
                           str(item.sensitivity or "") in ("Private", "Confidential"))
    link = find_link(item.location, body_link)
    return RemoteEvent(item.id, item.changekey, fields, link, _key_of(item.uid, link))


def _key_of(uid: str | None, link: str | None) -> str | None:
    """The create key an item was made with: its UID is `key_uid(key)` for the key of the
    meeting its link names (the planner tells the platform's own event from a user's copy of
    the link by it); any other UID is passed on as it is."""
    meeting_id = meeting_id_from_link(link)
    if uid and meeting_id is not None:
        key = create_key(meeting_id)
        if uid == key_uid(key):
            return key
    return uid or None


class EwsSyncConnector:
    """The user's default calendar folder."""

    def __init__(self, provider: EwsProvider, creds: Credentials, *,
                 page_size: int = SYNC_PAGE) -> None:
        self.provider, self.creds, self.page_size = provider, creds, page_size
        self._account: Account | None = None
        self._built = 0.0

    def _acct(self, refresh: bool) -> Account:
        now = time.monotonic()
        if self._account is None or refresh or now - self._built > ACCOUNT_REUSE_S:
            with auth_mapped():
                self._account = self.provider._account(self.creds, force_refresh=refresh)
            self._built = now
        return self._account

    def _run(self, action: Callable[[Account], T], *, write: bool = False,
             cursor: bool = False) -> T:
        basic = "basic" in (self.creds.blob or "")
        for refreshed in (False, True):
            try:
                return action(self._acct(refreshed))
            except (UnauthorizedError, TokenExpiredError) as exc:
                if basic or refreshed:
                    raise ReauthRequired(f"Exchange refused the credentials: {exc}") from exc
            except ErrorServerBusy as exc:
                if not exc.back_off or str(exc).startswith(("Reraised from", "Caused by")):
                    # exchangelib's name for a 5xx / dropped connection, with its own guess
                    raise Transient(f"EWS: {exc}", ambiguous=write) from exc
                raise Throttled(float(exc.back_off), f"EWS ErrorServerBusy: {exc}") from exc
            except ErrorInvalidSyncStateData as exc:
                if cursor:
                    raise CursorInvalid(str(exc)) from exc
                raise SyncError(str(exc)) from exc
            except ErrorIrresolvableConflict as exc:
                raise Conflict(str(exc)) from exc
            except (ErrorItemNotFound, DoesNotExist) as exc:
                raise NotFound(str(exc)) from exc
            except ErrorAccessDenied as exc:
                raise ReauthRequired(f"EWS ErrorAccessDenied: {exc}") from exc
            except _TRANSIENT as exc:
                raise Transient(f"EWS: {type(exc).__name__}: {exc}", ambiguous=write) from exc
        raise AssertionError("unreachable")

    # -- the Connector -----------------------------------------------------------------------------
    def changes(self, cursor: str | None, window: tuple[datetime, datetime]) -> Changes:
        def sync(account: Account) -> Changes:
            folder = account.calendar
            folder.item_sync_state = cursor
            events: list[RemoteEvent] = []
            removed: list[str] = []
            unlinked: list[str] = []
            listing = folder.sync_items(sync_state=cursor, only_fields=FIELDS,
                                        max_changes_returned=self.page_size)
            # A page ahead: exchangelib asks for the next page while this one is converted.
            for change, item in read_ahead_items(listing, self.page_size):
                if change in ("create", "update"):
                    if may_link(item.location, str(item.body or "")):
                        events.append(event_from_ews(item))
                    else:
                        unlinked.append(item.id)
                elif change == "delete":
                    removed.append(item.id)
            if cursor is None:  # EWS syncs the whole folder: keep a full listing to the window
                lo, hi = window
                events = [e for e in events if e.fields.start < hi and
                          (e.fields.recurrence is not None or e.fields.end > lo)]
            return Changes(events, removed, folder.item_sync_state, full=cursor is None,
                           window=window if cursor is None else None, unlinked=unlinked)
        return self._run(sync, cursor=True)

    def _item(self, account: Account, fields: MeetingFields, join_url: str,
              **ids: Any) -> CalendarItem:
        tz = EWSTimeZone(fields.time_zone or "UTC")
        item = CalendarItem(
            account=account, folder=account.calendar, subject=fields.topic,
            body=Body(compose_body(fields.description, join_url)),
            start=EWSDateTime.from_datetime(fields.start.astimezone(UTC)).astimezone(tz),
            end=EWSDateTime.from_datetime(fields.end.astimezone(UTC)).astimezone(tz),
            location=join_url, sensitivity="Private" if fields.private else "Normal", **ids)
        if fields.recurrence:
            try:
                item.recurrence = recurrence_of(to_pattern(fields.recurrence, fields.start,
                                                           fields.time_zone))
            except ValueError:
                item.recurrence = None
        return item

    def _lookup(self, account: Account, key: str) -> Any | None:
        uid = key_uid(key)
        meeting_id = meeting_id_from_link(f"/j/{key.removeprefix('calharness-')}")
        query = account.calendar.filter(location__contains=f"/j/{meeting_id}") \
            if meeting_id else account.calendar.all()
        for item in query.only(*FIELDS)[:200]:
            if item.uid == uid:
                return item
        return None

    def create(self, fields: MeetingFields, join_url: str, key: str) -> RemoteEvent:
        def create(account: Account) -> RemoteEvent:
            existing = self._lookup(account, key)
            if existing is not None:  # an earlier attempt made it: the same event
                return event_from_ews(existing)
            item = self._item(account, fields, join_url, uid=key_uid(key))
            item.save(send_meeting_invitations=SEND_TO_NONE)
            return RemoteEvent(item.id, item.changekey, fields, join_url, key)
        return self._run(create, write=True)

    def get(self, event_id: str) -> RemoteEvent | None:
        def fetch(account: Account) -> Any | None:
            [item] = account.fetch(ids=[(event_id, None)], only_fields=FIELDS)
            if isinstance(item, ErrorItemNotFound):
                return None
            if isinstance(item, Exception):
                raise item  # mapped by _run: only "not found" may read as deleted
            return item
        try:
            found = self._run(fetch)
        except NotFound:
            return None
        return event_from_ews(found) if found is not None else None

    def find_created(self, key: str) -> RemoteEvent | None:
        found = self._run(lambda account: self._lookup(account, key))
        return event_from_ews(found) if found is not None else None

    def update(self, event_id: str, fields: MeetingFields, join_url: str,
               etag: str | None) -> RemoteEvent:
        def update(account: Account) -> RemoteEvent:
            item = self._item(account, fields, join_url, id=event_id, changekey=etag)
            # Recurrence always: left out, a series the platform made a single meeting stayed
            # a series (exchangelib deletes the field when the item has none).
            names = ["subject", "body", "start", "end", "location", "recurrence", "sensitivity"]
            item.save(update_fields=names, send_meeting_invitations=SEND_TO_NONE)
            return RemoteEvent(item.id, item.changekey, fields, join_url, None)
        return self._run(update, write=True)

    def delete(self, event_id: str) -> None:
        def delete(account: Account) -> None:
            [outcome] = account.bulk_delete([(event_id, None)],
                                            send_meeting_cancellations=SEND_TO_NONE)
            if isinstance(outcome, Exception):
                raise outcome
        self._run(delete, write=True)
