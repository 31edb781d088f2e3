"""Graph JSON out: events (and calendarView occurrences), contacts, calendars, contact folders,
users, `@removed` entries; the per-caller event views and the render cache.

Rendering is the hot path of a load test, so an entity's JSON is built once per
(id, changeKey, view) and kept as bytes; a response is assembled by concatenation. Every writer in
the world (Graph, EWS, Google, the control API) gives an event a new change key when it changes it,
which is what keeps the cache honest. Graph-only properties the world model has no field for
(importance, reminders, contact addresses…) live in `entity.extra["graph"]`.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import quote

from mock_providers.microsoft.graph.recurrence import Occurrence, recurrence_json
from mock_providers.world import Calendar, Contact, ContactFolder, Event, MsUser


# -- formats ---------------------------------------------------------------------------------------
def graph_datetime(value: datetime, zone: tzinfo = UTC) -> str:
    """`2026-11-21T09:00:00.0000000` (Graph's seven fractional digits, no offset)."""
    local = value.astimezone(zone)
    return f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond:06d}0"


def graph_timestamp(value: datetime) -> str:
    """`2026-11-21T09:00:00.1234567Z` for createdDateTime and friends."""
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond:06d}0Z"


def etag(change_key: str) -> str:
    return f'W/"{change_key}"'


def dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON, as Graph sends it."""
    return _encoder.encode(data).encode()


_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

# -- views -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, eq=False)
class EventView:
    """How an event is shown to this caller. Interned by `event_view`, so identity is equality
    and a render-cache key hashes at C speed."""

    basic: bool = False  # Calendars.ReadBasic / limitedRead: no body, no bodyPreview
    redact_private: bool = False  # delegate without private access: see auth.py
    tz_name: str = "UTC"
    tz: tzinfo = UTC


FULL_VIEW = EventView()
_views: dict[tuple[bool, bool, str], EventView] = {(False, False, "UTC"): FULL_VIEW}


def event_view(basic: bool, redact_private: bool, tz_name: str = "UTC",
               tz: tzinfo = UTC) -> EventView:
    key = (basic, redact_private, tz_name)
    view = _views.get(key)
    if view is None:
        view = _views[key] = EventView(basic, redact_private, tz_name, tz)
    return view
_RENDER_CACHE_MAX = 200_000


class RenderCache:
    """Entity JSON bytes keyed by (id, changeKey, view); cleared when the world is swapped."""

    __slots__ = ("events", "contacts")

    def __init__(self) -> None:
        self.events: dict[tuple[str, str, EventView, str], bytes] = {}
        self.contacts: dict[tuple[str, str, str], bytes] = {}

    def clear(self) -> None:
        self.events.clear()
        self.contacts.clear()

    def event(self, event: Event, owner: str, view: EventView) -> bytes:
        key = (event.id, event.change_key, view, owner)
        data = self.events.get(key)
        if data is None:
            data = dumps(event_json(event, owner, view))
            if len(self.events) >= _RENDER_CACHE_MAX:
                self.events.clear()
            self.events[key] = data
        return data

    def occurrence(self, item: Occurrence, owner: str, view: EventView) -> bytes:
        """An occurrence's JSON, keyed by its id and its master's change key: every change to
        the series or one of its exceptions gives the master a new change key."""
        key = (item.id, item.master.change_key, view, owner)
        data = self.events.get(key)
        if data is None:
            data = dumps(occurrence_json(item, owner, view))
            if len(self.events) >= _RENDER_CACHE_MAX:
                self.events.clear()
            self.events[key] = data
        return data

    def contact(self, contact: Contact, folder_id: str) -> bytes:
        key = (contact.id, contact.change_key, folder_id)
        data = self.contacts.get(key)
        if data is None:
            data = dumps(contact_json(contact, folder_id))
            if len(self.contacts) >= _RENDER_CACHE_MAX:
                self.contacts.clear()
            self.contacts[key] = data
        return data


_TAG = re.compile(r"<[^>]+>")
_NO_TIME = "0001-01-01T00:00:00Z"


def body_preview(event: Event) -> str:
    text = event.body
    if event.body_type == "html":
        text = html.unescape(_TAG.sub(" ", text))
    return " ".join(text.split())[:255]


def is_private_for(event: Event, view: EventView) -> bool:
    return view.redact_private and event.sensitivity == "private"


def _location(name: str) -> dict[str, Any]:
    if not name:
        return {"displayName": "", "locationType": "default", "uniqueIdType": "unknown",
                "address": {}, "coordinates": {}}
    return {"displayName": name, "locationType": "default", "uniqueId": name,
            "uniqueIdType": "private"}


def _locations(location: str, graph: dict[str, Any]) -> list[str]:
    """Every location a client wrote (`locations`), while the first is still the event's
    location: another protocol that changes the location (one string in the world) replaces
    them all."""
    stored = graph.get("locations")
    if isinstance(stored, list) and stored and stored[0] == location:
        return [str(name) for name in stored]
    return [location] if location else []


def event_json(event: Event, owner: str, view: EventView = FULL_VIEW) -> dict[str, Any]:
    """The Graph `event` resource (without @odata.context) as `view` allows."""
    g: dict[str, Any] = event.extra.get("graph", {})
    private = is_private_for(event, view)
    is_organizer = event.organizer_email.lower() == owner.lower()
    if is_organizer:
        response = {"response": "organizer", "time": _NO_TIME}
    else:
        mine = next((a for a in event.attendees if a.email.lower() == owner.lower()), None)
        # An attendee who has not answered yet sees "notResponded" on their own copy.
        answer = "none" if mine is None else (
            "notResponded" if mine.response == "none" else mine.response)
        response = {"response": answer, "time": _NO_TIME}
    online = event.is_online_meeting and not private
    join_url = event.join_url if online else None
    provider = event.online_meeting_provider if online else "unknown"
    location = "" if private else event.location
    tz_name = view.tz_name
    out: dict[str, Any] = {
        "@odata.etag": etag(event.change_key),
        "id": event.id,
        "createdDateTime": graph_timestamp(event.created),
        "lastModifiedDateTime": graph_timestamp(event.last_modified),
        "changeKey": event.change_key,
        "categories": [] if private else list(event.categories),
        "transactionId": event.transaction_id,
        "originalStartTimeZone": event.time_zone,
        "originalEndTimeZone": event.time_zone,
        "iCalUId": event.ical_uid,
        "reminderMinutesBeforeStart": g.get("reminderMinutesBeforeStart", 15),
        "isReminderOn": g.get("isReminderOn", True),
        "hasAttachments": False,
        "subject": "Private" if private else event.subject,
        "bodyPreview": "" if private else body_preview(event),
        "importance": g.get("importance", "normal"),
        "sensitivity": event.sensitivity,
        "isAllDay": event.is_all_day,
        "isCancelled": event.is_cancelled or bool(g.get("isCancelled", False)),
        "isOrganizer": is_organizer,
        "responseRequested": g.get("responseRequested", True),
        "seriesMasterId": None,
        "showAs": event.show_as,
        "type": "seriesMaster" if event.recurrence else "singleInstance",
        "webLink": "https://outlook.office365.com/owa/?itemid="
                   f"{quote(event.id, safe='')}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": join_url if provider in ("skypeForBusiness",
                                                     "skypeForConsumer") else None,
        "isOnlineMeeting": online,
        "onlineMeetingProvider": provider,
        "allowNewTimeProposals": g.get("allowNewTimeProposals", True),
        "isDraft": False,
        "hideAttendees": g.get("hideAttendees", False),
        "responseStatus": response,
        "body": {"contentType": event.body_type, "content": "" if private else event.body},
        "start": {"dateTime": graph_datetime(event.start, view.tz), "timeZone": tz_name},
        "end": {"dateTime": graph_datetime(event.end, view.tz), "timeZone": tz_name},
        "location": _location(location),
        "locations": [_location(name) for name in _locations(location, g)],
        "recurrence": recurrence_json(event.recurrence),
        "attendees": [] if private else [
            {"type": a.type,
             "status": {"response": a.response, "time": _NO_TIME},
             "emailAddress": {"name": a.name or a.email, "address": a.email}}
            for a in event.attendees],
        "organizer": {"emailAddress": {"name": event.organizer_name or event.organizer_email,
                                       "address": event.organizer_email}},
        "onlineMeeting": {"joinUrl": join_url} if join_url else None,
    }
    if view.basic:
        del out["body"], out["bodyPreview"]
    return out


def occurrence_json(item: Occurrence, owner: str, view: EventView) -> dict[str, Any]:
    """An occurrence (`type` occurrence) or exception (`type` exception) of a series: the master's
    JSON with the instance's id, times, `seriesMasterId`, `originalStart` (UTC, as Graph's
    DateTimeOffset) and `originalStartTimeZone`, and what the exception changed."""
    master = item.master
    data = event_json(master, owner, view)
    change = item.change
    data.update(id=item.id, type="occurrence" if change is None else "exception",
                seriesMasterId=master.id, recurrence=None,
                originalStart=f"{item.original_start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}",
                start={"dateTime": graph_datetime(item.start, view.tz), "timeZone": view.tz_name},
                end={"dateTime": graph_datetime(item.end, view.tz), "timeZone": view.tz_name},
                webLink="https://outlook.office365.com/owa/?itemid="
                        f"{quote(item.id, safe='')}&exvsurl=1&path=/calendar/item")
    if change is not None:
        if change.change_key:
            data["changeKey"] = change.change_key
            data["@odata.etag"] = etag(change.change_key)
        if change.last_modified:
            data["lastModifiedDateTime"] = graph_timestamp(change.last_modified)
        if change.sensitivity is not None:
            data["sensitivity"] = change.sensitivity
        if change.show_as is not None:
            data["showAs"] = change.show_as
        if not is_private_for(item, view):  # type: ignore[arg-type]  # reads through
            if change.subject is not None:
                data["subject"] = change.subject
            if change.body is not None:
                preview = " ".join(change.body.split())[:255]
                if "body" in data:
                    data["body"] = {"contentType": master.body_type, "content": change.body}
                    data["bodyPreview"] = (body_preview(item) if master.body_type == "html"  # type: ignore[arg-type]
                                           else preview)
            if change.location is not None:
                data["location"] = _location(change.location)
                data["locations"] = [_location(change.location)] if change.location else []
        elif change.sensitivity == "private" and master.sensitivity != "private":
            data.update(subject="Private", location=_location(""), locations=[], attendees=[])
            if "body" in data:
                data.update(body={"contentType": master.body_type, "content": ""},
                            bodyPreview="")
    return data


def removed_json(item_id: str, odata_type: str) -> bytes:
    return dumps({"@odata.type": odata_type, "id": item_id, "@removed": {"reason": "deleted"}})


def contact_json(contact: Contact, folder_id: str) -> dict[str, Any]:
    g: dict[str, Any] = contact.extra.get("graph", {})
    names: dict[str, str] = g.get("emailNames", {})
    return {
        "@odata.etag": etag(contact.change_key),
        "id": contact.id,
        "createdDateTime": graph_timestamp(contact.created),
        "lastModifiedDateTime": graph_timestamp(contact.last_modified),
        "changeKey": contact.change_key,
        "categories": g.get("categories", []),
        "parentFolderId": folder_id,
        "birthday": g.get("birthday"),
        "fileAs": g.get("fileAs", ""),
        "displayName": contact.display_name,
        "givenName": contact.given_name,
        "initials": g.get("initials"),
        "middleName": g.get("middleName"),
        "nickName": g.get("nickName"),
        "surname": contact.surname,
        "title": g.get("title"),
        "yomiGivenName": g.get("yomiGivenName"),
        "yomiSurname": g.get("yomiSurname"),
        "yomiCompanyName": g.get("yomiCompanyName"),
        "generation": g.get("generation"),
        "imAddresses": g.get("imAddresses", []),
        "jobTitle": contact.job_title,
        "companyName": contact.company_name,
        "department": g.get("department"),
        "officeLocation": g.get("officeLocation"),
        "profession": g.get("profession"),
        "businessHomePage": g.get("businessHomePage"),
        "assistantName": g.get("assistantName"),
        "manager": g.get("manager"),
        "homePhones": g.get("homePhones", []),
        "mobilePhone": contact.mobile_phone,
        "businessPhones": list(contact.business_phones),
        "spouseName": g.get("spouseName"),
        "personalNotes": g.get("personalNotes", ""),
        "children": g.get("children", []),
        "emailAddresses": [{"name": names.get(e, e), "address": e} for e in contact.emails],
        "homeAddress": g.get("homeAddress", {}),
        "businessAddress": g.get("businessAddress", {}),
        "otherAddress": g.get("otherAddress", {}),
    }


def user_json(user: MsUser) -> dict[str, Any]:
    return {"businessPhones": [], "displayName": user.display_name, "givenName": user.given_name,
            "jobTitle": None, "mail": user.upn, "mobilePhone": None, "officeLocation": None,
            "preferredLanguage": "en-US", "surname": user.surname,
            "userPrincipalName": user.upn, "id": user.id}


def calendar_json(calendar: Calendar, owner: MsUser, can_edit: bool,
                  can_view_private: bool) -> dict[str, Any]:
    return {"id": calendar.id, "name": calendar.name, "color": calendar.color, "hexColor": "",
            "isDefaultCalendar": calendar.is_default,
            "changeKey": calendar.id[:8] + "-calendar", "canShare": can_view_private and can_edit,
            "canViewPrivateItems": can_view_private, "canEdit": can_edit,
            "allowedOnlineMeetingProviders": ["teamsForBusiness"],
            "defaultOnlineMeetingProvider": "teamsForBusiness", "isTallyingResponses": True,
            "isRemovable": not calendar.is_default,
            "owner": {"name": owner.display_name, "address": owner.upn}}


def folder_json(folder: ContactFolder, root_id: str) -> dict[str, Any]:
    return {"id": folder.id, "displayName": folder.name, "parentFolderId": root_id}


def select(entity: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """$select keeps the listed properties plus @odata.etag and id, as Graph does."""
    out = {k: entity[k] for k in ("@odata.etag", "id") if k in entity}
    for name in fields:
        if name in entity:
            out[name] = entity[name]
    return out


# -- response envelopes ----------------------------------------------------------------------------
def wrap_entity(context: str, fragment: bytes) -> bytes:
    return b'{"@odata.context":"' + context.encode() + b'",' + fragment[1:]


def wrap_collection(context: str, fragments: list[bytes], *, next_link: str | None = None,
                    delta_link: str | None = None, count: int | None = None) -> bytes:
    parts = [b'{"@odata.context":"', context.encode(), b'"']
    if count is not None:
        parts.append(b',"@odata.count":%d' % count)
    if next_link is not None:
        parts += [b',"@odata.nextLink":"', next_link.encode(), b'"']
    if delta_link is not None:
        parts += [b',"@odata.deltaLink":"', delta_link.encode(), b'"']
    # One join over the whole page (a 1000-event page is ~1.5 MB: a second copy shows).
    head = b"".join(parts) + b',"value":['
    if not fragments:
        return head + b"]}"
    if len(fragments) == 1:
        return b"".join((head, fragments[0], b"]}"))
    return b",".join([head + fragments[0], *fragments[1:-1], fragments[-1] + b"]}"])
