"""Graph JSON for events, contacts, calendars, contact folders and users, and the validation of
create/update bodies.

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
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mock_providers.microsoft.graph.errors import GraphError, bad_request
from mock_providers.world import Attendee, Calendar, Contact, ContactFolder, Event, MsUser

# -- time zones ------------------------------------------------------------------------------------
# The Windows names clients send most often (Prefer: outlook.timezone and dateTimeTimeZone).
WINDOWS_ZONES = {
    "utc": "UTC", "coordinated universal time": "UTC", "gmt standard time": "Europe/London",
    "w. europe standard time": "Europe/Berlin", "romance standard time": "Europe/Paris",
    "central europe standard time": "Europe/Budapest", "e. europe standard time": "Europe/Chisinau",
    "pacific standard time": "America/Los_Angeles", "mountain standard time": "America/Denver",
    "central standard time": "America/Chicago", "eastern standard time": "America/New_York",
    "india standard time": "Asia/Kolkata", "china standard time": "Asia/Shanghai",
    "tokyo standard time": "Asia/Tokyo", "aus eastern standard time": "Australia/Sydney",
}
_tz_cache: dict[str, tzinfo | None] = {}


def resolve_tz(name: str) -> tzinfo | None:
    """A tzinfo for a Graph time zone name (UTC, Windows or IANA), or None if unknown."""
    key = name.strip()
    if key in _tz_cache:
        return _tz_cache[key]
    iana = WINDOWS_ZONES.get(key.lower(), key)
    zone: tzinfo | None
    if iana.upper() in ("UTC", "ETC/UTC", "Z"):
        zone = UTC
    else:
        try:
            zone = ZoneInfo(iana) if iana and ".." not in iana else None
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
    _tz_cache[key] = zone
    return zone


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
    redact_private: bool = False  # delegate without private access: see graph_auth
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


def event_json(event: Event, owner: str, view: EventView = FULL_VIEW) -> dict[str, Any]:
    """The Graph `event` resource (without @odata.context) as `view` allows."""
    g: dict[str, Any] = event.extra.get("graph", {})
    private = is_private_for(event, view)
    is_organizer = event.organizer_email.lower() == owner.lower()
    if is_organizer:
        response = {"response": "organizer", "time": _NO_TIME}
    else:
        mine = next((a for a in event.attendees if a.email.lower() == owner.lower()), None)
        response = {"response": mine.response if mine else "none", "time": _NO_TIME}
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
        "isCancelled": bool(g.get("isCancelled", False)),
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
        "locations": [_location(location)] if location else [],
        "recurrence": event.recurrence,
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


# -- recurrence ------------------------------------------------------------------------------------
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MAX_OCCURRENCES = 5000


class Occurrence:
    """One instance of a recurring event inside a calendarView window; every field but start,
    end and id reads through to the series master (so $filter and $orderby work on it)."""

    __slots__ = ("master", "start", "end", "id")

    def __init__(self, master: Event, start: datetime, end: datetime) -> None:
        self.master = master
        self.start = start
        self.end = end
        self.id = f"{master.id}_{start:%Y%m%d}"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.master, name)


def _add_months(day: date, months: int, day_of_month: int) -> date | None:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    try:
        return date(year, month, day_of_month)
    except ValueError:  # no 31st this month: Outlook skips it
        return None


def occurrences(event: Event, start: datetime, end: datetime) -> list[Occurrence]:
    """Instances of a patterned recurrence overlapping [start, end). Supported: daily, weekly,
    absoluteMonthly and absoluteYearly patterns with endDate, numbered and noEnd ranges, times
    taken from the master's start in UTC. Other patterns yield no instances (the master is
    listed as a single instance instead)."""
    rec = event.recurrence or {}
    pattern, rng = rec.get("pattern") or {}, rec.get("range") or {}
    kind = pattern.get("type")
    interval = max(1, int(pattern.get("interval") or 1))
    try:
        first = date.fromisoformat(rng.get("startDate") or event.start.date().isoformat())
        last = date.fromisoformat(rng["endDate"]) if rng.get("type") == "endDate" else None
    except (TypeError, ValueError):
        return []
    count = int(rng.get("numberOfOccurrences") or 0) if rng.get("type") == "numbered" else 0
    duration = event.end - event.start
    at = event.start.timetz()
    days: list[date] = []
    if kind == "daily":
        days = [first + timedelta(days=i * interval) for i in range(_MAX_OCCURRENCES)]
    elif kind == "weekly":
        wanted = sorted(_WEEKDAYS.index(d.lower()) for d in pattern.get("daysOfWeek") or []
                        if d.lower() in _WEEKDAYS) or [first.weekday()]
        week = first - timedelta(days=first.weekday())
        while len(days) < _MAX_OCCURRENCES:
            days += [week + timedelta(days=d) for d in wanted if week + timedelta(days=d) >= first]
            week += timedelta(weeks=interval)
    elif kind in ("absoluteMonthly", "absoluteYearly"):
        step = interval * (12 if kind == "absoluteYearly" else 1)
        dom = int(pattern.get("dayOfMonth") or first.day)
        anchor = first.replace(day=1)
        if kind == "absoluteYearly" and pattern.get("month"):
            anchor = anchor.replace(month=int(pattern["month"]))
        for i in range(_MAX_OCCURRENCES):
            day = _add_months(anchor, i * step, dom)
            if day is not None and day >= first:
                days.append(day)
    out: list[Occurrence] = []
    for n, day in enumerate(days):
        if (last is not None and day > last) or (count and n >= count):
            break
        begin = datetime.combine(day, at)
        if begin >= end:
            break
        if begin + duration > start or (duration == timedelta(0) and begin >= start):
            out.append(Occurrence(event, begin, begin + duration))
    return out


def occurrence_json(item: Occurrence, owner: str, view: EventView) -> dict[str, Any]:
    data = event_json(item.master, owner, view)
    data.update(id=item.id, type="occurrence", seriesMasterId=item.master.id, recurrence=None,
                start={"dateTime": graph_datetime(item.start, view.tz), "timeZone": view.tz_name},
                end={"dateTime": graph_datetime(item.end, view.tz), "timeZone": view.tz_name})
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


# -- request bodies --------------------------------------------------------------------------------
EVENT_TYPE = "microsoft.graph.event"
CONTACT_TYPE = "microsoft.graph.contact"

EVENT_WRITABLE = frozenset({
    "allowNewTimeProposals", "attendees", "body", "categories", "end", "hideAttendees",
    "importance", "isAllDay", "isOnlineMeeting", "isReminderOn", "location", "locations",
    "onlineMeetingProvider", "recurrence", "reminderMinutesBeforeStart", "responseRequested",
    "sensitivity", "showAs", "start", "subject", "transactionId",
})
# Known to the schema but not written by a create/update: accepted and ignored, like Graph.
EVENT_IGNORED = frozenset({
    "bodyPreview", "changeKey", "createdDateTime", "hasAttachments", "iCalUId", "id",
    "isCancelled", "isDraft", "isOrganizer", "lastModifiedDateTime", "onlineMeeting",
    "onlineMeetingUrl", "organizer", "originalEndTimeZone", "originalStart",
    "originalStartTimeZone", "responseStatus", "seriesMasterId", "type", "webLink",
    "attachments", "calendar", "extensions", "instances", "multiValueExtendedProperties",
    "singleValueExtendedProperties", "cancelledOccurrences", "exceptionOccurrences",
})
EVENT_PROPERTIES = EVENT_WRITABLE | EVENT_IGNORED

CONTACT_MODELED = frozenset({"displayName", "givenName", "surname", "emailAddresses",
                             "businessPhones", "mobilePhone", "companyName", "jobTitle"})
CONTACT_EXTRA_STRINGS = frozenset({
    "assistantName", "birthday", "businessHomePage", "department", "fileAs", "generation",
    "initials", "manager", "middleName", "nickName", "officeLocation", "personalNotes",
    "profession", "spouseName", "title", "yomiCompanyName", "yomiGivenName", "yomiSurname",
})
CONTACT_EXTRA_LISTS = frozenset({"categories", "children", "homePhones", "imAddresses"})
CONTACT_EXTRA_OBJECTS = frozenset({"businessAddress", "homeAddress", "otherAddress"})
CONTACT_IGNORED = frozenset({"changeKey", "createdDateTime", "id", "lastModifiedDateTime",
                             "parentFolderId", "extensions", "multiValueExtendedProperties",
                             "photo", "singleValueExtendedProperties"})
CONTACT_PROPERTIES = (CONTACT_MODELED | CONTACT_EXTRA_STRINGS | CONTACT_EXTRA_LISTS
                      | CONTACT_EXTRA_OBJECTS | CONTACT_IGNORED)

_ENUMS = {
    "sensitivity": ("microsoft.graph.sensitivity", ("normal", "personal", "private",
                                                     "confidential")),
    "showAs": ("microsoft.graph.freeBusyStatus", ("free", "tentative", "busy", "oof",
                                                  "workingElsewhere", "unknown")),
    "importance": ("microsoft.graph.importance", ("low", "normal", "high")),
    "onlineMeetingProvider": ("microsoft.graph.onlineMeetingProviderType",
                              ("unknown", "teamsForBusiness", "skypeForBusiness",
                               "skypeForConsumer")),
    "contentType": ("microsoft.graph.bodyType", ("text", "html")),
    "attendeeType": ("microsoft.graph.attendeeType", ("required", "optional", "resource")),
}


def _read_error(message: str) -> GraphError:
    return GraphError(400, "RequestBodyRead", message)


def _not_primitive(value: Any, edm: str) -> GraphError:
    if isinstance(value, dict):
        return _read_error("An unexpected 'StartObject' node was found when reading from the "
                           "JSON reader. A 'PrimitiveValue' node was expected.")
    if isinstance(value, list):
        return _read_error("An unexpected 'StartArray' node was found when reading from the "
                           "JSON reader. A 'PrimitiveValue' node was expected.")
    return _read_error(f"Cannot convert a primitive value to the expected type '{edm}'. See the "
                       "inner exception for more details.")


def _str(value: Any, nullable: bool = True) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise _not_primitive(value, "Edm.String")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _not_primitive(value, "Edm.Boolean")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _not_primitive(value, "Edm.Int32")
    return value


def _obj(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        node = "StartArray" if isinstance(value, list) else "PrimitiveValue"
        raise _read_error(f"An unexpected '{node}' node was found when reading from the JSON "
                          "reader. A 'StartObject' node was expected.")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        node = "StartObject" if isinstance(value, dict) else "PrimitiveValue"
        raise _read_error(f"An unexpected '{node}' node was found when reading from the JSON "
                          "reader. A 'StartArray' node was expected.")
    return value


def _enum(kind: str, value: Any) -> str:
    type_name, allowed = _ENUMS[kind]
    text = _str(value, nullable=False) or ""
    for option in allowed:
        if option.lower() == text.lower():
            return option
    raise _read_error(f"Cannot convert the literal '{text}' to the expected type "
                      f"'{type_name}'.")


def _unknown(name: str, type_name: str) -> GraphError:
    return _read_error(f"The property '{name}' does not exist on type '{type_name}'. Make sure to "
                       "only use property names that are defined by the type or mark the type "
                       "as open type.")


def parse_json_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise bad_request("Empty Payload. JSON content expected.")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"Invalid JSON. {exc}") from None
    if not isinstance(data, dict):
        raise _obj(data)  # type: ignore[misc]  # always raises for a non-object
    return data


def _check_names(body: dict[str, Any], known: frozenset[str], type_name: str) -> None:
    for name in body:
        if name.startswith("@") or "@" in name:  # instance annotations (@odata.type…)
            continue
        if name not in known:
            raise _unknown(name, type_name)


def _date_time_zone(name: str, value: Any) -> tuple[datetime, str]:
    obj = _obj(value)
    _check_names(obj, frozenset({"dateTime", "timeZone"}), "microsoft.graph.dateTimeTimeZone")
    text = _str(obj.get("dateTime"), nullable=False) or ""
    zone_name = _str(obj.get("timeZone")) or "UTC"
    zone = resolve_tz(zone_name)
    if zone is None:
        raise GraphError(400, "TimeZoneNotSupportedException",
                         "A valid TimeZone value must be specified. The following TimeZone value "
                         f"is not supported: '{zone_name}'.")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise GraphError(400, "ErrorInvalidRequest",
                         f"The value '{text}' of property '{name}.dateTime' is not a valid "
                         "date and time.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC), zone_name


def _attendees(value: Any) -> list[Attendee]:
    out: list[Attendee] = []
    for raw in _list(value):
        item = _obj(raw)
        _check_names(item, frozenset({"emailAddress", "type", "status", "proposedNewTime"}),
                     "microsoft.graph.attendee")
        email = _obj(item.get("emailAddress") or {})
        _check_names(email, frozenset({"address", "name"}), "microsoft.graph.emailAddress")
        address = _str(email.get("address"))
        if not address:
            raise GraphError(400, "ErrorInvalidRecipients",
                             "At least one recipient isn't valid., A message can't be sent "
                             "because it contains no recipients.")
        kind = _enum("attendeeType", item["type"]) if item.get("type") else "required"
        out.append(Attendee(email=address, name=_str(email.get("name")) or "",
                            type=kind))  # type: ignore[arg-type]
    return out


def parse_event_body(body: dict[str, Any]) -> dict[str, Any]:
    """Validated changes from a create/PATCH body: model field names, and graph-only extras under
    "graph". Raises GraphError 400 like Graph (unknown property → RequestBodyRead)."""
    _check_names(body, EVENT_PROPERTIES, EVENT_TYPE)
    changes: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    for name, value in body.items():
        if name not in EVENT_WRITABLE:
            continue
        if name == "subject":
            changes["subject"] = _str(value) or ""
        elif name == "body":
            obj = _obj(value)
            _check_names(obj, frozenset({"contentType", "content"}), "microsoft.graph.itemBody")
            if "contentType" in obj:
                changes["body_type"] = _enum("contentType", obj["contentType"])
            changes["body"] = _str(obj.get("content")) or ""
        elif name in ("start", "end"):
            changes[name], zone_name = _date_time_zone(name, value)
            if name == "start":
                changes["time_zone"] = zone_name
        elif name == "location":
            obj = _obj(value) if value is not None else {}
            changes["location"] = _str(obj.get("displayName")) or ""
        elif name == "locations":
            items = [_obj(v) for v in _list(value)]
            if items and "location" not in body:
                changes["location"] = _str(items[0].get("displayName")) or ""
        elif name == "attendees":
            changes["attendees"] = _attendees(value)
        elif name == "sensitivity":
            changes["sensitivity"] = _enum("sensitivity", value)
        elif name == "showAs":
            changes["show_as"] = _enum("showAs", value)
        elif name == "isAllDay":
            changes["is_all_day"] = _bool(value)
        elif name == "isOnlineMeeting":
            changes["is_online_meeting"] = _bool(value)
        elif name == "onlineMeetingProvider":
            changes["online_meeting_provider"] = _enum("onlineMeetingProvider", value)
        elif name == "recurrence":
            if value is not None:
                rec = _obj(value)
                _check_names(rec, frozenset({"pattern", "range"}),
                             "microsoft.graph.patternedRecurrence")
                _obj(rec.get("pattern")), _obj(rec.get("range"))
            changes["recurrence"] = value
        elif name == "transactionId":
            changes["transaction_id"] = _str(value)
        elif name == "categories":
            changes["categories"] = [_str(c, nullable=False) for c in _list(value)]
        elif name == "importance":
            extras["importance"] = _enum("importance", value)
        elif name == "reminderMinutesBeforeStart":
            extras[name] = _int(value)
        else:  # the remaining booleans
            extras[name] = _bool(value)
    if extras:
        changes["graph"] = extras
    return changes


def check_event_times(start: datetime, end: datetime, is_all_day: bool) -> None:
    if end < start:
        raise GraphError(400, "ErrorCalendarEndDateIsEarlierThanStartDate",
                         "The end date occurs before the start date.")
    if is_all_day and (end - start < timedelta(days=1) or start.time() != end.time()):
        raise GraphError(400, "ErrorPropertyValidationFailure",
                         "All-day events must start and end at midnight and last at least one "
                         "day.")


def parse_contact_body(body: dict[str, Any]) -> dict[str, Any]:
    """Validated changes from a contact create/PATCH body (model fields + "graph" extras)."""
    _check_names(body, CONTACT_PROPERTIES, CONTACT_TYPE)
    changes: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    for name, value in body.items():
        if name in CONTACT_IGNORED or name.startswith("@"):
            continue
        if name == "displayName":
            changes["display_name"] = _str(value) or ""
        elif name == "givenName":
            changes["given_name"] = _str(value) or ""
        elif name == "surname":
            changes["surname"] = _str(value) or ""
        elif name == "emailAddresses":
            emails: list[str] = []
            names: dict[str, str] = {}
            for raw in _list(value):
                item = _obj(raw)
                _check_names(item, frozenset({"address", "name"}), "microsoft.graph.emailAddress")
                address = _str(item.get("address")) or ""
                emails.append(address)
                if item.get("name"):
                    names[address] = _str(item["name"]) or address
            changes["emails"] = emails
            extras["emailNames"] = names
        elif name == "businessPhones":
            changes["business_phones"] = [_str(p, nullable=False) for p in _list(value)]
        elif name == "mobilePhone":
            changes["mobile_phone"] = _str(value)
        elif name == "companyName":
            changes["company_name"] = _str(value)
        elif name == "jobTitle":
            changes["job_title"] = _str(value)
        elif name in CONTACT_EXTRA_STRINGS:
            extras[name] = _str(value)
        elif name in CONTACT_EXTRA_LISTS:
            extras[name] = [_str(v, nullable=False) for v in _list(value)]
        elif name in CONTACT_EXTRA_OBJECTS:
            extras[name] = _obj(value) if value is not None else {}
    if extras:
        changes["graph"] = extras
    return changes


def apply_changes(entity: Event | Contact, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        if name == "graph":
            entity.extra.setdefault("graph", {}).update(value)
        else:
            setattr(entity, name, value)
