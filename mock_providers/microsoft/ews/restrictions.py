"""FindItem's and FindFolder's query language over world items and folders: an m:Restriction
compiled to a predicate (IsEqualTo, IsNotEqualTo, IsGreaterThan[OrEqualTo],
IsLessThan[OrEqualTo], Exists, Contains, And, Or, Not) and an m:SortOrder, on the field URIs the
tables below map to Event / Contact / MailMessage / folder values. Any other field is
ErrorUnsupportedPathForQuery, Exchange's answer for a path it cannot search: among them the
ones exchangelib marks `is_searchable=False` because Exchange refuses them (calendar:UID,
calendar:RequiredAttendees / OptionalAttendees / Resources, calendar:Recurrence and the time
zones, calendar:IsResponseRequested, calendar:AllowNewTimeProposal, item:Culture,
item:ReminderDueBy), and on folders everything but the folder's own stored fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from lxml import etree

from mock_providers.microsoft.ews.context import ItemError, read_bool, read_datetime
from mock_providers.microsoft.ews.render import (
    EMAIL_KEYS,
    FREE_BUSY_OUT,
    SENSITIVITY_OUT,
    FolderView,
    folder_class,
)
from mock_providers.microsoft.ews.stored import (
    element_name,
    extended_key,
    extended_value,
    stored_value,
)
from mock_providers.microsoft.ews.xml import RequestRejected, local, schema_error
from mock_providers.world import Contact, Event
from mock_providers.world.folders import MailMessage


def _event_values() -> dict[str, Callable[[Event], Any]]:
    return {
        "item:Subject": lambda e: e.subject, "item:Body": lambda e: e.body,
        "item:Sensitivity": lambda e: SENSITIVITY_OUT.get(e.sensitivity, "Normal"),
        "item:Categories": lambda e: list(e.categories),
        "item:DateTimeCreated": lambda e: e.created, "item:DateTimeReceived": lambda e: e.created,
        "item:LastModifiedTime": lambda e: e.last_modified,
        "item:ItemClass": lambda e: "IPM.Appointment",
        "calendar:Start": lambda e: e.start, "calendar:End": lambda e: e.end,
        "calendar:IsAllDayEvent": lambda e: e.is_all_day,
        "calendar:Location": lambda e: e.location,
        "calendar:LegacyFreeBusyStatus": lambda e: FREE_BUSY_OUT.get(e.show_as, "Busy"),
        "calendar:IsRecurring": lambda e: e.recurrence is not None,
        "calendar:IsMeeting": lambda e: bool(e.attendees),
        "calendar:CalendarItemType": lambda e: "RecurringMaster" if e.recurrence else "Single",
        "calendar:Organizer": lambda e: e.organizer_email,
        "calendar:IsOnlineMeeting": lambda e: e.is_online_meeting,
    }


def _contact_values() -> dict[str, Callable[[Contact], Any]]:
    return {
        "item:Subject": lambda c: c.display_name, "item:ItemClass": lambda c: "IPM.Contact",
        "item:DateTimeCreated": lambda c: c.created,
        "item:LastModifiedTime": lambda c: c.last_modified,
        "contacts:DisplayName": lambda c: c.display_name,
        "contacts:FileAs": lambda c: c.display_name,
        "contacts:GivenName": lambda c: c.given_name, "contacts:Surname": lambda c: c.surname,
        "contacts:CompanyName": lambda c: c.company_name,
        "contacts:JobTitle": lambda c: c.job_title,
        "contacts:EmailAddress": lambda c: list(c.emails),
    }


def _message_values() -> dict[str, Callable[[MailMessage], Any]]:
    return {
        "item:Subject": lambda m: m.subject, "item:Body": lambda m: m.body,
        "item:ItemClass": lambda m: m.item_class,
        "item:DateTimeCreated": lambda m: m.created, "item:DateTimeReceived": lambda m: m.created,
        "item:DateTimeSent": lambda m: m.created, "message:IsRead": lambda m: m.is_read,
        "message:Sender": lambda m: m.sender_email, "message:From": lambda m: m.sender_email,
        "calendar:Start": lambda m: m.meeting_start,
        "calendar:End": lambda m: m.meeting_end,
    }


def _folder_values() -> dict[str, Callable[[FolderView], Any]]:
    return {
        "folder:DisplayName": lambda f: f.name, "folder:FolderClass": folder_class,
        "folder:TotalCount": lambda f: f.total, "folder:ChildFolderCount": lambda f: f.children,
        "folder:UnreadCount": lambda f: f.unread,
    }


# MAPI properties a client filters folders on: PidTagAttributeHidden (0x10F4), which Outlook and
# folder pickers test to leave hidden folders out; none of the world's folders is hidden.
_FOLDER_TAGS: dict[int, Any] = {0x10F4: False}


def _folder_extended(uri_elem: etree._Element) -> Callable[[Any], Any]:
    tag = uri_elem.get("PropertyTag") or ""
    try:
        number = int(tag, 16) if tag.lower().startswith("0x") else int(tag)
    except ValueError:
        number = -1
    value = _FOLDER_TAGS.get(number)
    return lambda f: value


ItemKind = Literal["event", "contact", "message", "folder"]
_VALUES: dict[str, dict[str, Callable[[Any], Any]]] = {
    "event": _event_values(), "contact": _contact_values(), "message": _message_values(),
    "folder": _folder_values()}
Predicate = Callable[[Any], bool]


def _getter(uri_elem: etree._Element, kind: ItemKind) -> Callable[[Any], Any]:
    if local(uri_elem) == "ExtendedFieldURI" and kind == "folder":
        return _folder_extended(uri_elem)
    if local(uri_elem) == "ExtendedFieldURI" and kind != "message":
        key = extended_key(uri_elem)
        return lambda i: extended_value(i.extra, key)
    uri = uri_elem.get("FieldURI") or ""
    values: dict[str, Callable[[Any], Any]] = _VALUES[kind]
    getter = values.get(uri)
    if getter is None and kind in ("event", "contact"):
        getter = _stored_getter(uri, kind)
    if getter is None or local(uri_elem) not in ("FieldURI", "IndexedFieldURI"):
        raise ItemError("ErrorUnsupportedPathForQuery",
                        f"The property '{uri or local(uri_elem)}' can't be used in a query here.")
    index = uri_elem.get("FieldIndex")
    if uri == "contacts:EmailAddress" and index in EMAIL_KEYS:
        position = EMAIL_KEYS.index(index)
        return lambda c: c.emails[position] if len(c.emails) > position else None
    return getter


# Fields kept in extra["ews"] (see `stored`) that a restriction may name, with the value Exchange
# has when nobody set one, and how to read the stored text.
_STORED_QUERYABLE: dict[str, tuple[Any, Callable[[str], Any]]] = {
    "item:Importance": ("Normal", str),
    "item:ReminderIsSet": (True, lambda v: v == "true"),
    "item:ReminderMinutesBeforeStart": (15, int),
    "item:InReplyTo": (None, str),
    "calendar:When": (None, str), "calendar:MeetingWorkspaceUrl": (None, str),
    "calendar:NetShowUrl": (None, str), "calendar:ConferenceType": (None, int),
    "contacts:MiddleName": (None, str), "contacts:Nickname": (None, str),
    "contacts:Initials": (None, str), "contacts:Department": (None, str),
    "contacts:Manager": (None, str), "contacts:AssistantName": (None, str),
    "contacts:OfficeLocation": (None, str), "contacts:Profession": (None, str),
    "contacts:SpouseName": (None, str), "contacts:Generation": (None, str),
    "contacts:Mileage": (None, str), "contacts:BusinessHomePage": (None, str),
    "contacts:Birthday": (None, lambda v: read_datetime(v, "Birthday")),
    "contacts:WeddingAnniversary": (None, lambda v: read_datetime(v, "WeddingAnniversary")),
}
_CONTACT_ONLY = "contacts:"


def _stored_getter(uri: str, kind: ItemKind) -> Callable[[Any], Any] | None:
    entry = _STORED_QUERYABLE.get(uri)
    if entry is None or (uri.startswith(_CONTACT_ONLY) != (kind == "contact")) \
            or (uri.startswith("calendar:") and kind != "event"):
        return None
    default, convert = entry
    name = element_name(uri)
    if kind == "contact" and uri.startswith("item:Reminder"):  # a contact has no reminder
        default = False if uri == "item:ReminderIsSet" else None

    def get(item: Any) -> Any:
        value = stored_value(item.extra, name)
        if value is None:
            return default
        try:
            return convert(value)
        except (ValueError, ArithmeticError, RequestRejected):
            # What another protocol or an older request stored may not read as this type
            # (a date at year 1 +14:00 leaves datetime's range in UTC): such an item does not
            # match, and the query still answers.
            return None

    return get


def _coerce(constant: str, sample: Any) -> Any:
    if isinstance(sample, datetime):
        return read_datetime(constant, "Constant")
    if isinstance(sample, bool):
        return read_bool(constant, "Constant")
    if isinstance(sample, int):
        return int(constant)
    return constant.casefold()


def _norm(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _compare(op_name: str, left: Any, right: Any) -> bool:
    if isinstance(left, list):
        return any(_compare(op_name, v, right) for v in left) if op_name == "IsEqualTo" \
            else not any(_compare("IsEqualTo", v, right) for v in left)
    if left is None:
        return op_name == "IsNotEqualTo"
    left = _norm(left)
    try:
        match op_name:
            case "IsEqualTo":
                return bool(left == right)
            case "IsNotEqualTo":
                return bool(left != right)
            case "IsGreaterThan":
                return bool(left > right)
            case "IsGreaterThanOrEqualTo":
                return bool(left >= right)
            case "IsLessThan":
                return bool(left < right)
            case _:
                return bool(left <= right)
    except TypeError:
        return False


_COMPARISONS = ("IsEqualTo", "IsNotEqualTo", "IsGreaterThan", "IsGreaterThanOrEqualTo",
                "IsLessThan", "IsLessThanOrEqualTo")


def compile_restriction(elem: etree._Element, kind: ItemKind) -> Predicate:
    """A predicate over world items for one restriction element (depth bounded by the parser)."""
    name = local(elem)
    kids = [c for c in elem if isinstance(c.tag, str)]
    if name in ("And", "Or"):
        parts = [compile_restriction(c, kind) for c in kids]
        return (lambda i: all(p(i) for p in parts)) if name == "And" \
            else (lambda i: any(p(i) for p in parts))
    if name == "Not" and len(kids) == 1:
        inner = compile_restriction(kids[0], kind)
        return lambda i: not inner(i)
    if name == "Exists" and kids:
        getter = _getter(kids[0], kind)
        return lambda i: getter(i) not in (None, "", [])
    if name in _COMPARISONS and len(kids) == 2:
        getter = _getter(kids[0], kind)
        right_elem = next((c for c in kids[1] if isinstance(c.tag, str)), None)
        if right_elem is None:
            raise schema_error(f"{name} needs a t:FieldURIOrConstant.")
        if local(right_elem) == "Constant":
            constant = right_elem.get("Value") or ""
            return lambda i: _compare_constant(name, getter(i), constant)
        other = _getter(right_elem, kind)
        return lambda i: _compare(name, getter(i), _norm(other(i)))
    if name == "Contains" and len(kids) == 2:
        return _contains(elem, _getter(kids[0], kind), kids[1].get("Value") or "")
    raise ItemError("ErrorInvalidRestriction", f"The restriction element '{name}' is not "
                    "supported here.")


def _compare_constant(op_name: str, value: Any, constant: str) -> bool:
    sample = value[0] if isinstance(value, list) and value else value
    if sample is None:
        return op_name == "IsNotEqualTo"
    try:
        right = _coerce(constant, sample)
    except (RequestRejected, ValueError, ArithmeticError):
        return False
    return _compare(op_name, value, right)


def _contains(elem: etree._Element, getter: Callable[[Any], Any], constant: str) -> Predicate:
    mode = elem.get("ContainmentMode") or "FullString"
    exact = (elem.get("ContainmentComparison") or "Exact") == "Exact"
    needle = constant if exact else constant.casefold()

    def matches(value: Any) -> bool:
        if isinstance(value, list):
            return any(matches(v) for v in value)
        if not isinstance(value, str):
            return False
        hay = value if exact else value.casefold()
        if mode == "FullString":
            return hay == needle
        if mode == "Prefixed":
            return hay.startswith(needle)
        if mode == "PrefixOnWords":
            return any(word.startswith(needle) for word in hay.split())
        return needle in hay

    return lambda i: matches(getter(i))


def sort_items(items: list[Any], order: etree._Element | None, kind: ItemKind) -> list[Any]:
    if order is None:
        return items
    for field_order in reversed([c for c in order if isinstance(c.tag, str)]):
        uri_elem = next((c for c in field_order if isinstance(c.tag, str)), None)
        if uri_elem is None:
            raise schema_error("t:FieldOrder needs a field.")
        getter = _getter(uri_elem, kind)
        items = sorted(items, key=lambda i, g=getter: _sort_key(g(i)),
                       reverse=field_order.get("Order") == "Descending")
    return items


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or value == []:
        return (0, "")
    if isinstance(value, list):
        value = value[0]
    return (1, _norm(value) if not isinstance(value, datetime) else value.timestamp())
