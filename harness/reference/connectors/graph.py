"""The sync core's connector for Office 365 through Microsoft Graph: calendarView delta for
changes, events for writes, with the reference provider's MSAL token handling and httpx client.

The connector does no retrying of its own beyond one token refresh on 401 (the engine owns
waits and retries, the same for every connector): 429 → Throttled (Retry-After), 5xx and dropped
connections → Transient (ambiguous for writes whose request went out), 410 `SyncStateNotFound`
and 400 `ErrorInvalidSyncStateData` on a delta link → CursorInvalid, 412 → Conflict, 404 →
NotFound, a refresh the user must redo → ReauthRequired.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from harness.reference.connectors.common import (
    EndlessListing,
    auth_mapped,
    compose_body,
    drain,
    find_link,
    may_link,
    plain_text,
    read_ahead,
    split_body,
    utc,
    zone_name,
)
from harness.reference.providers.base import Credentials
from harness.reference.providers.graph_api import DELTA_PAGE_SIZE, RoundToken, delta_url
from harness.reference.providers.microsoft_graph import GraphProvider
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
from harness.sync.rrule import from_pattern, to_pattern, zone

MAX_PAGES = 100_000  # a delta round that never ends is the service's error, not a loop of ours
# A calendarView delta expands a series into its occurrences and exceptions and never lists
# the master, which carries the series: the connector reads each master they name once.
_INSTANCE_TYPES = frozenset(("occurrence", "exception"))
PRIVATE_SENSITIVITY = frozenset(("private", "confidential"))  # what hides it from delegates
_WINDOWS_ZONES = {"UTC": "UTC", "W. Europe Standard Time": "Europe/Berlin",
                  "GMT Standard Time": "Europe/London",
                  "Eastern Standard Time": "America/New_York",
                  "Pacific Standard Time": "America/Los_Angeles"}


_UNREPORTED: dict[str, set[str]] = {}  # mailbox URL -> ids created, not yet seen in a delta


def _graph_time(value: dict[str, Any]) -> datetime:
    """Graph dateTimeTimeZone; the connector asks for UTC (Prefer: outlook.timezone)."""
    text = value["dateTime"][:26]
    if value.get("timeZone") == "UTC":  # what the connector asks for: the common case
        with suppress(ValueError):  # one parse: .replace(tzinfo=UTC) after it costs 5x more
            return datetime.fromisoformat(text + "+00:00")
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(value.get("timeZone") or "UTC"))
    return utc(parsed)


def event_from_graph(event: dict[str, Any]) -> RemoteEvent:
    get = event.get
    body = get("body") or {}
    description, body_link = split_body(plain_text(body.get("content"),
                                                   body.get("contentType") or "text"))
    location = (get("location") or {}).get("displayName")
    online = get("onlineMeeting") or {}
    tz = get("originalStartTimeZone") or "UTC"
    tz = zone_name(_WINDOWS_ZONES.get(tz, tz))
    recurrence = None
    if get("recurrence"):
        try:
            recurrence = from_pattern(event["recurrence"], tz)
        except (ValueError, KeyError):
            recurrence = None
    fields = MeetingFields(get("subject") or "", description, _graph_time(event["start"]),
                           _graph_time(event["end"]), tz, recurrence,
                           get("sensitivity") in PRIVATE_SENSITIVITY)
    return RemoteEvent(event["id"], get("@odata.etag") or get("changeKey"), fields,
                       find_link(online.get("joinUrl"), location, body_link),
                       get("transactionId"))


def graph_body(fields: MeetingFields, join_url: str) -> dict[str, Any]:
    tz = fields.time_zone or "UTC"
    local = zone(tz)
    body: dict[str, Any] = {
        "subject": fields.topic,
        "body": {"contentType": "text", "content": compose_body(fields.description, join_url)},
        "start": {"dateTime": fields.start.astimezone(local).strftime("%Y-%m-%dT%H:%M:%S"),
                  "timeZone": tz},
        "end": {"dateTime": fields.end.astimezone(local).strftime("%Y-%m-%dT%H:%M:%S"),
                "timeZone": tz},
        "location": {"displayName": join_url},
        "recurrence": None,
        "sensitivity": "private" if fields.private else "normal",
    }
    if fields.recurrence:
        try:
            body["recurrence"] = to_pattern(fields.recurrence, fields.start, tz)
        except ValueError:
            body["recurrence"] = None  # not expressible as a pattern: a single event
    return body


class GraphSyncConnector:
    """One mailbox (`/me` delegated, `/users/{upn}` with application permissions)."""

    def __init__(self, provider: GraphProvider, creds: Credentials, *,
                 page_size: int = DELTA_PAGE_SIZE) -> None:
        env = provider.env
        self.http: httpx.Client = env.http
        path = "/me" if creds.mode == "delegated" else f"/users/{quote(provider.user)}"
        self.base = f"{env.config.graph_url}{path}"
        scopes = [s for s in creds.scopes if s.startswith("Calendars.")] or ["Calendars.Read"]
        self._token = RoundToken(provider._token(creds, scopes))
        self.page_size = page_size
        # Events created in this mailbox that no delta round has reported yet. A calendarView
        # delta reports removals only of events the client was given in an earlier round, so an
        # event created and deleted between two rounds would never be reported removed: such
        # ids are looked up once after the next round (404 → removed). Kept per mailbox, not
        # per connector: a re-authorization makes a new connector between those two rounds.
        self._unreported: set[str] = _UNREPORTED.setdefault(self.base, set())

    # -- HTTP --------------------------------------------------------------------------------------
    def _bearer(self, force: bool) -> str:
        with auth_mapped():
            return self._token(force)

    def _send(self, method: str, url: str, *, json: Any = None,
              headers: dict[str, str] | None = None, write: bool = False,
              cursor: bool = False) -> httpx.Response:
        bearer = self._bearer(False)
        for refreshed in (False, True):
            send = {"Authorization": f"Bearer {bearer}", "Prefer": 'outlook.timezone="UTC"',
                    **(headers or {})}
            try:
                response = self.http.request(method, url, json=json, headers=send)
            except httpx.TransportError as exc:
                sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                raise Transient(f"Graph {method}: {type(exc).__name__}: {exc}",
                                ambiguous=write and sent) from exc
            if response.status_code == 401 and not refreshed:
                bearer = self._bearer(True)
                continue
            if response.status_code < 400:
                return response
            raise self._error(response, write, cursor)
        raise AssertionError("unreachable")

    @staticmethod
    def _error(response: httpx.Response, write: bool, cursor: bool) -> SyncError:
        status = response.status_code
        try:
            code = response.json().get("error", {}).get("code", "")
        except ValueError:
            code = ""
        text = f"Graph {status} {code}".strip()
        if status == 429:
            header = response.headers.get("Retry-After", "")
            return Throttled(float(header) if header.isascii() and header.isdigit() else None, text)
        if cursor and (status == 410 or code in ("SyncStateNotFound",
                                                 "ErrorInvalidSyncStateData")):
            return CursorInvalid(text)
        if status >= 500:
            header = response.headers.get("Retry-After", "")
            if status == 503 and header.isascii() and header.isdigit():
                return Throttled(float(header), text)
            return Transient(text, ambiguous=write)
        if status == 412 or code == "ErrorIrresolvableConflict":
            return Conflict(text)
        if status == 404:
            return NotFound(text)
        if status in (401, 403):
            return ReauthRequired(text)
        return SyncError(text)

    # -- the Connector -----------------------------------------------------------------------------
    def changes(self, cursor: str | None, window: tuple[datetime, datetime]) -> Changes:
        url = cursor or delta_url(self.base, window)
        prefer = {"Prefer": f'outlook.timezone="UTC", odata.maxpagesize={self.page_size}'}
        events: list[RemoteEvent] = []
        removed: list[str] = []
        unlinked: list[str] = []
        masters: dict[str, None] = {}  # series masters named by instances, in order
        unlinked_masters: dict[str, None] = {}
        last: dict[str, Any] = {}

        def fetch(page_url: str) -> dict[str, Any]:
            return self._send("GET", page_url, headers=prefer, cursor=True).json()

        try:
            for page in read_ahead(fetch, url, lambda p: p.get("@odata.nextLink"), MAX_PAGES):
                for item in drain(page.get("value")):
                    if "@removed" in item:
                        removed.append(item["id"])
                        continue
                    linkable = may_link((item.get("onlineMeeting") or {}).get("joinUrl"),
                                        (item.get("location") or {}).get("displayName"),
                                        (item.get("body") or {}).get("content"))
                    if item.get("type") in _INSTANCE_TYPES:
                        # An instance carries its master's link: only a linkable series is
                        # read; the others are unlinked (read only if a record ties them).
                        master = item.get("seriesMasterId")
                        if master:
                            (masters if linkable else unlinked_masters)[master] = None
                    elif linkable:
                        events.append(event_from_graph(item))
                    else:
                        unlinked.append(item["id"])
                last = page
        except EndlessListing as exc:
            raise Transient(f"the Graph delta round did not end: {exc}") from exc
        delta_link = last.get("@odata.deltaLink")
        if not delta_link:
            raise Transient("a Graph delta round ended without a delta link")
        full = cursor is None
        unlinked.extend(m for m in unlinked_masters if m not in masters)
        self._read_masters(masters, events, removed, unlinked)
        if not full:
            removed.extend(self._gone_unreported(events, removed + unlinked))
        self._unreported.clear()
        return Changes(events, removed, delta_link, full=full,
                       window=window if full else None, unlinked=unlinked)

    def _read_masters(self, masters: dict[str, None], events: list[RemoteEvent],
                      removed: list[str], unlinked: list[str]) -> None:
        """The series whose instances the round reported, as their masters (the platform's
        meeting is the series): a master gone since is a removal."""
        seen = {e.id for e in events} | set(removed) | set(unlinked)
        for master_id in masters:
            if master_id in seen:
                continue
            try:
                data = self._send("GET", f"{self.base}/events/{quote(master_id, safe='')}").json()
            except NotFound:
                removed.append(master_id)
                continue
            if data.get("isCancelled"):
                removed.append(master_id)
            elif may_link((data.get("onlineMeeting") or {}).get("joinUrl"),
                          (data.get("location") or {}).get("displayName"),
                          (data.get("body") or {}).get("content")):
                events.append(event_from_graph(data))
            else:
                unlinked.append(master_id)

    def _gone_unreported(self, events: list[RemoteEvent], removed: list[str]) -> list[str]:
        reported = {e.id for e in events} | set(removed)
        gone = []
        for event_id in sorted(self._unreported - reported):
            try:
                self._send("GET", f"{self.base}/events/{quote(event_id, safe='')}?$select=id")
            except NotFound:
                gone.append(event_id)
        return gone

    def create(self, fields: MeetingFields, join_url: str, key: str) -> RemoteEvent:
        # transactionId: Graph answers a repeated create with the event the first one made.
        body = {**graph_body(fields, join_url), "transactionId": key}
        if body["recurrence"] is None:
            del body["recurrence"]
        response = self._send("POST", f"{self.base}/events", json=body, write=True)
        event = event_from_graph(response.json())
        self._unreported.add(event.id)
        return event

    def get(self, event_id: str) -> RemoteEvent | None:
        try:
            reply = self._send("GET", f"{self.base}/events/{quote(event_id, safe='')}")
        except NotFound:
            return None
        data = reply.json()
        return None if data.get("isCancelled") else event_from_graph(data)

    def find_created(self, key: str) -> RemoteEvent | None:
        query = quote(f"transactionId eq '{key.replace(chr(39), chr(39) * 2)}'", safe="")
        page = self._send("GET", f"{self.base}/events?$filter={query}&$top=2").json()
        found = page.get("value") or []
        return event_from_graph(found[0]) if found else None

    def update(self, event_id: str, fields: MeetingFields, join_url: str,
               etag: str | None) -> RemoteEvent:
        headers = {"If-Match": etag} if etag else None
        response = self._send("PATCH", f"{self.base}/events/{quote(event_id, safe='')}",
                              json=graph_body(fields, join_url), headers=headers, write=True)
        return event_from_graph(response.json())

    def delete(self, event_id: str) -> None:
        self._send("DELETE", f"{self.base}/events/{quote(event_id, safe='')}", write=True)
