"""The sync core's connector for Google Calendar: events.list with sync tokens (a full listing
over the window with timeMin/timeMax first, page tokens within a round), client-chosen event ids
for idempotent inserts, If-Match on writes; google-api-python-client and google-auth exactly as
the reference provider builds them.

The client's own retries are off (`num_retries=0`): the engine waits and retries the same way
for every connector. A 401 is refreshed by google-auth's AuthorizedHttp by itself; a refresh
Google refuses (`invalid_grant`: revoked, password changed) is ReauthRequired.
"""

from __future__ import annotations

import http.client
import json
import ssl
from datetime import datetime
from typing import Any

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.errors import HttpError

from harness.reference.connectors.common import (
    EndlessListing,
    auth_mapped,
    compose_body,
    drain,
    find_link,
    key_id,
    may_link,
    plain_text,
    read_ahead,
    split_body,
    utc,
    zone_name,
)
from harness.reference.providers.base import Credentials
from harness.reference.providers.google import GoogleProvider
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
from harness.sync.rrule import zone

MAX_PAGES = 10_000
PAGE_SIZE = 250
KEY_PROPERTY = "calharnessKey"  # extendedProperties.private: the create key, for find_created
MAX_GENERATIONS = 8  # ids per key: Google never reuses a deleted event's id
_THROTTLE_REASONS = frozenset(("rateLimitExceeded", "userRateLimitExceeded",
                               "quotaExceeded", "dailyLimitExceeded"))


def _when(value: dict[str, Any]) -> datetime:
    if "dateTime" in value:
        parsed = datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))
    else:
        parsed = datetime.fromisoformat(value["date"])
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(value.get("timeZone")))
    return utc(parsed)


def _video_uri(event: dict[str, Any]) -> str | None:
    entry_points = (event.get("conferenceData") or {}).get("entryPoints") or []
    return next((e.get("uri") for e in entry_points if e.get("entryPointType") == "video"),
                None)


def event_from_google(event: dict[str, Any]) -> RemoteEvent:
    description, body_link = split_body(plain_text(event.get("description")))
    video = _video_uri(event)
    start = event["start"]
    rrule = next((line for line in event.get("recurrence") or ()
                  if line.upper().startswith("RRULE:")), None)
    fields = MeetingFields(event.get("summary") or "", description, _when(start),
                           _when(event["end"]), zone_name(start.get("timeZone")), rrule,
                           event.get("visibility") in ("private", "confidential"))
    private = (event.get("extendedProperties") or {}).get("private") or {}
    return RemoteEvent(event["id"], event.get("etag"), fields,
                       find_link(event.get("location"), body_link, video,
                                 event.get("hangoutLink")),
                       private.get(KEY_PROPERTY))


def google_body(fields: MeetingFields, join_url: str) -> dict[str, Any]:
    tz = fields.time_zone or "UTC"
    local = zone(tz)
    return {
        "summary": fields.topic,
        "description": compose_body(fields.description, join_url),
        "location": join_url,
        "start": {"dateTime": fields.start.astimezone(local).isoformat(), "timeZone": tz},
        "end": {"dateTime": fields.end.astimezone(local).isoformat(), "timeZone": tz},
        "recurrence": [fields.recurrence] if fields.recurrence else [],
        "visibility": "private" if fields.private else "default",
    }


class Duplicate(SyncError):
    """409: the client-chosen id is taken (an earlier attempt made it, or it was deleted)."""


def _reason(exc: HttpError) -> str:
    try:
        error = json.loads(exc.content).get("error", {})
    except (ValueError, AttributeError):
        return ""
    reasons = [e.get("reason", "") for e in error.get("errors", []) if isinstance(e, dict)]
    return reasons[0] if reasons else str(error.get("status", ""))


class GoogleSyncConnector:
    """The user's primary calendar."""

    def __init__(self, provider: GoogleProvider, creds: Credentials) -> None:
        self.provider, self.creds = provider, creds
        with auth_mapped():
            self._events = provider._service("calendar", creds).events()

    def _execute(self, request: Any, *, write: bool = False, cursor: bool = False) -> Any:
        try:
            return request.execute(num_retries=0)
        except HttpError as exc:
            raise self._error(exc, write, cursor) from exc
        except RefreshError as exc:
            raise ReauthRequired(f"Google refused the refresh: {exc.args[0] if exc.args else exc}"
                                 ) from exc
        except TransportError as exc:  # the token endpoint could not be reached
            raise Transient(f"Google token refresh: {exc}") from exc
        except (TimeoutError, http.client.HTTPException, ConnectionError, ssl.SSLError,
                httplib2.HttpLib2Error) as exc:
            # ssl.SSLError: httplib2 reuses a connection the service dropped and the TLS layer
            # reports it (SSLEOFError), not the socket: a dropped connection all the same.
            raise Transient(f"Google: {type(exc).__name__}: {exc}", ambiguous=write) from exc

    @staticmethod
    def _error(exc: HttpError, write: bool, cursor: bool) -> SyncError:
        status, reason = exc.status_code, _reason(exc)
        text = f"Google {status} {reason}".strip()
        retry_after = str(exc.resp.get("retry-after", "") if exc.resp is not None else "")
        wait = float(retry_after) if retry_after.isascii() and retry_after.isdigit() else None
        if status == 429 or (status == 403 and reason in _THROTTLE_REASONS):
            return Throttled(wait, text)
        if cursor and status == 410:
            return CursorInvalid(text)
        if status >= 500:
            return Transient(text, ambiguous=write)
        if status == 409:
            return Duplicate(text)
        if status == 412:
            return Conflict(text)
        if status in (404, 410):
            return NotFound(text)
        if status in (401, 403):
            return ReauthRequired(text)
        return SyncError(text)

    # -- the Connector -----------------------------------------------------------------------------
    def changes(self, cursor: str | None, window: tuple[datetime, datetime]) -> Changes:
        events: list[RemoteEvent] = []
        removed: list[str] = []
        unlinked: list[str] = []
        last: dict[str, Any] = {}

        def fetch(page_token: str | None) -> dict[str, Any]:
            kwargs: dict[str, Any] = {"calendarId": "primary", "maxResults": PAGE_SIZE}
            if cursor:
                kwargs["syncToken"] = cursor
            else:
                kwargs["timeMin"] = utc(window[0]).isoformat()
                kwargs["timeMax"] = utc(window[1]).isoformat()
            if page_token:
                kwargs["pageToken"] = page_token
            return self._execute(self._events.list(**kwargs), cursor=True)

        try:
            for page in read_ahead(fetch, None, lambda p: p.get("nextPageToken"), MAX_PAGES):
                for item in drain(page.get("items")):
                    if item.get("status") == "cancelled":
                        removed.append(item["id"])
                    elif may_link(item.get("description"), item.get("location"),
                                  item.get("hangoutLink")) or may_link(_video_uri(item)):
                        events.append(event_from_google(item))
                    else:
                        unlinked.append(item["id"])
                last = page
        except EndlessListing as exc:
            raise Transient(f"the Google sync round did not end: {exc}") from exc
        full = cursor is None
        return Changes(events, removed, last.get("nextSyncToken"), full=full,
                       window=window if full else None, unlinked=unlinked)

    def _get(self, event_id: str) -> dict[str, Any] | None:
        """The event (None when cancelled or unknown)."""
        try:
            found = self._execute(self._events.get(calendarId="primary", eventId=event_id))
        except NotFound:
            return None
        return None if found.get("status") == "cancelled" else found

    def create(self, fields: MeetingFields, join_url: str, key: str) -> RemoteEvent:
        body = {**google_body(fields, join_url),
                "extendedProperties": {"private": {KEY_PROPERTY: key}}}
        for generation in range(MAX_GENERATIONS):
            event_id = key_id(key, generation)
            try:
                made = self._execute(self._events.insert(
                    calendarId="primary", body={**body, "id": event_id}), write=True)
                return event_from_google(made)
            except Duplicate:
                pass
            existing = self._get(event_id)  # 409: an earlier attempt made it, or it was deleted
            if existing is not None:
                return event_from_google(existing)
        raise SyncError(f"every id for create key {key!r} is taken")

    def get(self, event_id: str) -> RemoteEvent | None:
        try:
            found = self._execute(self._events.get(calendarId="primary", eventId=event_id))
        except NotFound:
            return None
        return None if found.get("status") == "cancelled" else event_from_google(found)

    def find_created(self, key: str) -> RemoteEvent | None:
        for generation in range(MAX_GENERATIONS):
            event_id = key_id(key, generation)
            try:
                found = self._execute(self._events.get(calendarId="primary",
                                                       eventId=event_id))
            except NotFound:
                return None  # never made: later generations cannot exist either
            if found.get("status") != "cancelled":
                return event_from_google(found)
        return None

    def update(self, event_id: str, fields: MeetingFields, join_url: str,
               etag: str | None) -> RemoteEvent:
        request = self._events.patch(calendarId="primary", eventId=event_id,
                                     body=google_body(fields, join_url))
        if etag:
            request.headers["If-Match"] = etag
        return event_from_google(self._execute(request, write=True))

    def delete(self, event_id: str) -> None:
        self._execute(self._events.delete(calendarId="primary", eventId=event_id), write=True)
