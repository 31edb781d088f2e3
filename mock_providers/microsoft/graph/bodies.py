"""Request bodies: the event and contact properties Graph knows (what a body and $select may
name) and the validation of create/PATCH bodies into model changes, with Graph's 400 answers.

A body is validated whole before anything is stored (the handlers apply the changes only after
this module returned them): strings are Unicode scalar values (the intake refuses lone
surrogates), numbers fit their Edm type, dates and times lie in the range every time zone can
render, structured values (addresses, locations, recurrence) have only their schema's members.
Nothing a write stores can make a later read fail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mock_providers.intake import IntakeError, parse_json
from mock_providers.microsoft.graph.errors import MAX_DEPTH, GraphError, bad_request, body_error
from mock_providers.microsoft.graph.recurrence import iana_zone, parse_recurrence
from mock_providers.microsoft.graph.timezones import MAX_INSTANT, MIN_INSTANT, resolve_tz
from mock_providers.world import Attendee, Contact, Event
from mock_providers.world.limits import exchange_text

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
    "locationType": ("microsoft.graph.locationType", (
        "default", "conferenceRoom", "homeAddress", "businessAddress", "geoCoordinates",
        "streetAddress", "hotel", "restaurant", "localBusiness", "postalAddress")),
    "uniqueIdType": ("microsoft.graph.locationUniqueIdType", (
        "unknown", "locationStore", "directory", "private", "bing")),
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
    if isinstance(value, bool) or not isinstance(value, int) or not -2**31 <= value < 2**31:
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
        data = parse_json(raw, MAX_DEPTH)
    except IntakeError as exc:
        raise body_error(exc) from None
    if not isinstance(data, dict):
        raise _obj(data)  # type: ignore[misc]  # always raises for a non-object
    return data


def _check_names(body: dict[str, Any], known: frozenset[str], type_name: str) -> None:
    for name in body:
        if name.startswith("@") or "@" in name:  # instance annotations (@odata.type…)
            continue
        if name not in known:
            raise _unknown(name, type_name)


_MAX_DATE_TEXT = 40  # "2031-01-06T10:00:00.0000000+14:00" is 33


def _not_a_date(name: str, text: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRequest",
                      f"The value '{text[:_MAX_DATE_TEXT]}' of property '{name}' is not a valid "
                      "date and time.")


def _instant(name: str, text: str, zone: Any) -> datetime:
    """The UTC instant `text` names (read in `zone` when it carries no offset), inside the
    range every zone can render; 400 otherwise."""
    if len(text) > _MAX_DATE_TEXT or not text.isascii():
        raise _not_a_date(name, text)
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        instant = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _not_a_date(name, text) from None
    if not MIN_INSTANT <= instant <= MAX_INSTANT:
        raise _not_a_date(name, text)
    return instant


def _date_time_zone(name: str, value: Any) -> tuple[datetime, str]:
    obj = _obj(value)
    _check_names(obj, frozenset({"dateTime", "timeZone"}), "microsoft.graph.dateTimeTimeZone")
    text = _str(obj.get("dateTime"), nullable=False) or ""
    zone_name = _str(obj.get("timeZone")) or "UTC"
    zone = resolve_tz(zone_name)
    if zone is None:
        raise GraphError(400, "TimeZoneNotSupportedException",
                         "A valid TimeZone value must be specified. The following TimeZone value "
                         f"is not supported: '{zone_name[:100]}'.")
    return _instant(f"{name}.dateTime", text, zone), zone_name


_PATTERN_MEMBERS = frozenset({"type", "interval", "month", "dayOfMonth", "daysOfWeek",
                              "firstDayOfWeek", "index"})
_RANGE_MEMBERS = frozenset({"type", "startDate", "endDate", "recurrenceTimeZone",
                            "numberOfOccurrences"})
_LOCATION_MEMBERS = frozenset({"displayName", "locationEmailAddress", "locationUri",
                               "locationType", "uniqueId", "uniqueIdType", "address",
                               "coordinates"})
_ADDRESS_MEMBERS = frozenset({"street", "city", "state", "countryOrRegion", "postalCode"})
_COORDINATE_MEMBERS = frozenset({"accuracy", "altitude", "altitudeAccuracy", "latitude",
                                 "longitude"})


def _strings(obj: dict[str, Any], known: frozenset[str], type_name: str) -> dict[str, Any]:
    """An object whose members are all known and all strings (or null)."""
    _check_names(obj, known, type_name)
    for name, member in obj.items():
        if name in known:
            _str(member)
    return obj


def _location(value: Any) -> dict[str, Any]:
    """A microsoft.graph.location: only its schema's members, each of its type (the mock keeps
    only the display name, but an unknown or malformed member is refused as Graph does)."""
    obj = _obj(value)
    _check_names(obj, _LOCATION_MEMBERS, "microsoft.graph.location")
    for name in ("displayName", "locationEmailAddress", "locationUri", "uniqueId"):
        _str(obj.get(name))
    for name, enum in (("locationType", "locationType"), ("uniqueIdType", "uniqueIdType")):
        if obj.get(name) is not None:
            _enum(enum, obj[name])
    if obj.get("address") is not None:
        _strings(_obj(obj["address"]), _ADDRESS_MEMBERS, "microsoft.graph.physicalAddress")
    if obj.get("coordinates") is not None:
        coordinates = _obj(obj["coordinates"])
        _check_names(coordinates, _COORDINATE_MEMBERS, "microsoft.graph.outlookGeoCoordinates")
        for member in coordinates.values():
            if member is not None and (isinstance(member, bool)
                                       or not isinstance(member, int | float)):
                raise _not_primitive(member, "Edm.Double")
    return obj


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
        if name == "subject":  # the store keeps 255 characters (world/limits.py), as EWS
            changes["subject"] = exchange_text(_str(value) or "")
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
            obj = _location(value) if value is not None else {}
            changes["location"] = _str(obj.get("displayName")) or ""
        elif name == "locations":
            items = [_location(v) for v in _list(value)]
            if items and "location" not in body:
                changes["location"] = _str(items[0].get("displayName")) or ""
            # every display name, rendered while the first is still the location (render.py)
            extras["locations"] = [_str(i.get("displayName")) or "" for i in items]
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
                _check_names(_obj(rec.get("pattern")), _PATTERN_MEMBERS,
                             "microsoft.graph.recurrencePattern")
                _check_names(_obj(rec.get("range")), _RANGE_MEMBERS,
                             "microsoft.graph.recurrenceRange")
                start = body.get("start") if isinstance(body.get("start"), dict) else {}
                zone = start.get("timeZone") if isinstance(start.get("timeZone"), str) else "UTC"
                value = parse_recurrence(rec, iana_zone(zone) or "UTC")
            changes["recurrence"] = value
        elif name == "transactionId":
            changes["transaction_id"] = _str(value)
        elif name == "categories":
            changes["categories"] = [exchange_text(_str(c, nullable=False) or "")
                                     for c in _list(value)]
        elif name == "importance":
            extras["importance"] = _enum("importance", value)
        elif name == "reminderMinutesBeforeStart":
            extras[name] = _int(value)
        else:  # the remaining booleans
            extras[name] = _bool(value)
    if extras:
        changes["graph"] = extras
    return changes


def check_event_times(start: datetime, end: datetime, is_all_day: bool,
                      zone_name: str = "UTC") -> None:
    if end < start:
        raise GraphError(400, "ErrorCalendarEndDateIsEarlierThanStartDate",
                         "The end date occurs before the start date.")
    # Whole days in the event's own zone: across a daylight-saving change the UTC times of two
    # local midnights differ by the shift.
    zone = resolve_tz(zone_name) or UTC
    start, end = start.astimezone(zone), end.astimezone(zone)
    if is_all_day and (end.date() - start.date() < timedelta(days=1)
                       or start.time() != end.time()):
        raise GraphError(400, "ErrorPropertyValidationFailure",
                         "All-day events must start and end at midnight and last at least one "
                         "day.")


def _birthday(value: Any) -> str | None:
    """Edm.DateTimeOffset: an ISO 8601 date and time with its offset, kept as Graph writes it
    (UTC, `Z`)."""
    text = _str(value)
    if text is None:
        return None
    if "T" not in text or not (text.endswith(("Z", "z")) or text[-6:-5] in ("+", "-")):
        raise _read_error(f"Cannot convert the literal '{text[:_MAX_DATE_TEXT]}' to the "
                          "expected type 'Edm.DateTimeOffset'.")
    try:
        instant = _instant("birthday", text, UTC)
    except GraphError:
        raise _read_error(f"Cannot convert the literal '{text[:_MAX_DATE_TEXT]}' to the "
                          "expected type 'Edm.DateTimeOffset'.") from None
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


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
            changes["given_name"] = exchange_text(_str(value) or "")
        elif name == "surname":
            changes["surname"] = exchange_text(_str(value) or "")
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
        elif name == "birthday":
            extras[name] = _birthday(value)
        elif name in CONTACT_EXTRA_STRINGS:
            extras[name] = _str(value)
        elif name in CONTACT_EXTRA_LISTS:
            extras[name] = [_str(v, nullable=False) for v in _list(value)]
        elif name in CONTACT_EXTRA_OBJECTS:
            extras[name] = (_strings(_obj(value), _ADDRESS_MEMBERS,
                                     "microsoft.graph.physicalAddress")
                            if value is not None else {})
    if extras:
        changes["graph"] = extras
    return changes


def apply_changes(entity: Event | Contact, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        if name == "graph":
            entity.extra.setdefault("graph", {}).update(value)
        else:
            setattr(entity, name, value)
