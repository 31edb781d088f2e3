"""OData query options ($select, $top, $skip, $filter, $orderby, $count, $expand), the `Prefer`
header, and the links a page points on with.

$filter: the OData grammar Graph accepts on events and contacts (odata_filter.py, a lark
grammar), over the properties EVENT_FILTER_FIELDS / CONTACT_FILTER_FIELDS expose; a property
it does not is a 400 `ErrorInvalidUrlQueryFilter`, a syntax error a 400 `BadRequest` "Invalid
filter clause". $select/$expand/$filter/$orderby/$search on a delta route → 400
`ErrorInvalidUrlQuery` (`refuse_on_delta`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

from mock_providers.microsoft.graph import odata_filter
from mock_providers.microsoft.graph.errors import bad_request
from mock_providers.world import Contact, Event

MAX_PAGE = 1000
DEFAULT_PAGE = 10

# What list routes and single-item routes accept (a route may narrow these further).
LIST_OPTIONS = ("$select", "$top", "$skip", "$filter", "$orderby", "$count", "$expand")
ITEM_OPTIONS = ("$select", "$expand")
_OPTIONS = ("$select", "$top", "$skip", "$filter", "$orderby", "$count", "$expand", "$search",
            "$skiptoken", "$deltatoken", "$format", "$levels")


@dataclass(slots=True)
class Query:
    """The request's query string, options keyed by lower-cased name."""

    options: dict[str, str]  # "$select" -> value
    params: dict[str, str]  # other parameters, lower-cased names (startdatetime…)
    raw: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        return self.options.get(name)


def parse_query(query_string: bytes) -> Query:
    options: dict[str, str] = {}
    params: dict[str, str] = {}
    raw = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True) if query_string else []
    for name, value in raw:
        key = name.lower()
        if key.startswith("$"):
            if key not in _OPTIONS:
                raise bad_request(f"Unrecognized query argument specified: '{name}'.")
            options[key] = value
        else:
            params[key] = value
    return Query(options, params, raw)


def refuse_options(query: Query, allowed: tuple[str, ...], resource: str) -> None:
    """400 for a system query option this route does not support."""
    for name in query.options:
        if name not in allowed:
            raise bad_request(f"The query parameter '{name}' is not supported with the "
                              f"'{resource}' resource.", code="ErrorInvalidUrlQuery")


def refuse_on_delta(query: Query, resource: str, not_supported: tuple[str, ...]) -> None:
    bad = [name for name in not_supported if name in query.options]
    if bad:
        raise bad_request("The following parameters are not supported with change tracking over "
                          f"the '{resource}' resource: '{', '.join(bad)}'.",
                          code="ErrorInvalidUrlQuery")


# Int32, as OData reads $top and $skip. Only ASCII digits: str.isdigit() also takes "²" (which
# int() then refuses) and "５" (which int() reads as 5), and int() refuses 4,300+ digits.
_MAX_INT32 = 2**31 - 1


def _digits(value: str) -> int | None:
    """The value of an unsigned Int32 written in ASCII digits, else None."""
    if not value or len(value) > 10 or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if number <= _MAX_INT32 else None


def non_negative(query: Query, name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    number = _digits(value)
    if number is None:
        raise bad_request(f"Invalid value '{value[:100]}' for {name} query option found. The "
                          f"{name} query option requires a non-negative integer value.")
    return number


def count_requested(query: Query) -> bool:
    value = query.get("$count")
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise bad_request(f"Invalid value '{value}' for $count query option found. Valid values "
                          "are 'true' and 'false'.")
    return value.lower() == "true"


def parse_select(query: Query, known: frozenset[str], type_name: str) -> tuple[str, ...] | None:
    value = query.get("$select")
    if value is None:
        return None
    fields = tuple(f.strip() for f in value.split(",") if f.strip())
    for name in fields:
        if name not in known:
            raise bad_request(f"Could not find a property named '{name}' on type "
                              f"'{type_name}'.")
    return fields


def check_expand(query: Query, allowed: frozenset[str], type_name: str) -> None:
    value = query.get("$expand")
    if value is None:
        return
    for item in value.split(","):
        name = item.strip().split("(", 1)[0]
        if name not in allowed:
            raise bad_request(f"Could not find a property named '{name}' on type "
                              f"'{type_name}'.")


# -- Prefer ----------------------------------------------------------------------------------------
@dataclass(slots=True)
class Prefer:
    max_page_size: int | None = None
    timezone: str | None = None


_PREFER_ITEM = re.compile(r'\s*([A-Za-z.\-]+)\s*=\s*("([^"]*)"|[^,;\s]*)')


def parse_prefer(values: list[bytes]) -> Prefer:
    out = Prefer()
    for raw in values:
        for m in _PREFER_ITEM.finditer(raw.decode("latin-1")):
            name = m.group(1).lower()
            value = m.group(3) if m.group(3) is not None else m.group(2)
            if name == "odata.maxpagesize":
                size = _digits(value)
                if size:  # a preference Graph cannot read is ignored, as any preference
                    out.max_page_size = size
            elif name == "outlook.timezone":
                out.timezone = value
    return out


def page_size(query: Query, prefer: Prefer) -> tuple[int, bool]:
    """(page size, whether odata.maxpagesize was applied)."""
    top = non_negative(query, "$top")
    if top is not None:
        return min(top, MAX_PAGE), False
    if prefer.max_page_size is not None:
        return min(prefer.max_page_size, MAX_PAGE), True
    return DEFAULT_PAGE, False


# -- $filter ---------------------------------------------------------------------------------------
# The grammar, type checks and errors are odata_filter.py's; here, what events and contacts
# expose to it. `view(entity, attribute)` reads an attribute as the caller may see it (a private
# event's subject reads "Private" for a delegate without access).
View = Callable[[Any, str], Any]
Predicate = Callable[[Any], bool]
_SENSITIVITY = ("normal", "personal", "private", "confidential")
_SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")
_IMPORTANCE = ("low", "normal", "high")
_ATTENDEE_TYPE = ("required", "optional", "resource")
_RESPONSE = ("none", "organizer", "tentativelyAccepted", "accepted", "declined",
             "notResponded")


def _graph_extra(entity: Any, view: View, name: str, default: Any) -> Any:
    return ((view(entity, "extra") or {}).get("graph") or {}).get(name, default)


def EVENT_FILTER_FIELDS(view: View) -> odata_filter.Schema:
    """The event properties $filter reads, as Graph types them."""
    P, enum = odata_filter.Prop, odata_filter.enum
    text, flag, instant = odata_filter.STRING, odata_filter.BOOLEAN, odata_filter.INSTANT

    def attr(name: str) -> Callable[[Any], Any]:
        return lambda e: view(e, name)

    attendee_props: dict[str, odata_filter.Prop] = {
        "emailaddress/address": P(text, lambda a: a.email),
        "emailaddress/name": P(text, lambda a: a.name),
        "type": enum("attendeeType", _ATTENDEE_TYPE, lambda a: a.type),
        "status/response": enum("responseType", _RESPONSE, lambda a: a.response),
    }
    return {
        # start/end dateTime are strings on Graph's wire; compared as instants, as Outlook does
        "start/datetime": P(instant, attr("start")), "end/datetime": P(instant, attr("end")),
        "subject": P(text, attr("subject")),
        "sensitivity": enum("sensitivity", _SENSITIVITY, attr("sensitivity")),
        "showas": enum("freeBusyStatus", _SHOW_AS, attr("show_as")),
        "importance": enum("importance", _IMPORTANCE,
                           lambda e: _graph_extra(e, view, "importance", "normal")),
        "isallday": P(flag, attr("is_all_day")),
        "isonlinemeeting": P(flag, attr("is_online_meeting")),
        "iscancelled": P(flag, attr("is_cancelled")),
        "icaluid": P(text, attr("ical_uid")), "transactionid": P(text, attr("transaction_id")),
        "createddatetime": P(instant, attr("created")),
        "lastmodifieddatetime": P(instant, attr("last_modified")),
        "location/displayname": P(text, attr("location")),
        "organizer/emailaddress/address": P(text, attr("organizer_email")),
        "organizer/emailaddress/name": P(text, attr("organizer_name")),
        "attendees": odata_filter.Collection(attr("attendees"), props=attendee_props),
        "categories": odata_filter.Collection(attr("categories"), item=P(text, lambda c: c)),
    }


def CONTACT_FILTER_FIELDS(view: View) -> odata_filter.Schema:
    """The contact properties $filter reads, as Graph types them."""
    P, text, instant = odata_filter.Prop, odata_filter.STRING, odata_filter.INSTANT

    def attr(name: str) -> Callable[[Any], Any]:
        return lambda c: view(c, name)

    def categories(contact: Any) -> list[str]:
        return list(_graph_extra(contact, view, "categories", []) or [])

    return {
        "displayname": P(text, attr("display_name")), "givenname": P(text, attr("given_name")),
        "surname": P(text, attr("surname")), "companyname": P(text, attr("company_name")),
        "jobtitle": P(text, attr("job_title")), "mobilephone": P(text, attr("mobile_phone")),
        "createddatetime": P(instant, attr("created")),
        "lastmodifieddatetime": P(instant, attr("last_modified")),
        "emailaddresses": odata_filter.Collection(
            attr("emails"), props={"address": P(text, lambda e: e),
                                   # the world keeps addresses only; a name never matches
                                   "name": P(text, lambda e: None)}),
        "businessphones": odata_filter.Collection(attr("business_phones"),
                                                  item=P(text, lambda p: p)),
        "categories": odata_filter.Collection(categories, item=P(text, lambda c: c)),
    }


def parse_filter(text: str, fields: Callable[[View], odata_filter.Schema],
                 view: View) -> Predicate:
    """A predicate over entities; `view(entity, field)` reads a field as the caller sees it."""
    return odata_filter.parse(text, fields(view))


# -- $orderby --------------------------------------------------------------------------------------
EVENT_ORDER_FIELDS = {"start/datetime": "start", "end/datetime": "end", "subject": "subject",
                      "createddatetime": "created", "lastmodifieddatetime": "last_modified"}
CONTACT_ORDER_FIELDS = {"displayname": "display_name", "givenname": "given_name",
                        "surname": "surname", "createddatetime": "created",
                        "lastmodifieddatetime": "last_modified"}


def parse_orderby(text: str, fields: dict[str, str]) -> list[tuple[str, bool]]:
    """[(model field, descending)]."""
    out: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and
                                           words[1].lower() not in ("asc", "desc")):
            raise bad_request(f"Syntax error in $orderby clause '{text}'.")
        field = fields.get(words[0].lower())
        if field is None:
            raise bad_request(f"Could not find a property named '{words[0]}' on type "
                              "'microsoft.graph.entity'.")
        out.append((field, len(words) == 2 and words[1].lower() == "desc"))
    return out


def sort_entities(items: list[Any], order: list[tuple[str, bool]],
                  view: Callable[[Any, str], Any]) -> list[Any]:
    for field, desc in reversed(order):  # stable sorts, least significant key first
        items.sort(key=lambda e, f=field: _sort_key(view(e, f)), reverse=desc)
    return items


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.lower())
    return (1, value)


def model_field(entity: Event | Contact, field: str) -> Any:
    return getattr(entity, field)


# -- links -----------------------------------------------------------------------------------------
def link(base: str, path: str, params: list[tuple[str, str]]) -> str:
    if not params:
        return base + path
    query = "&".join(f"{name}={quote(value, safe=':,/')}" for name, value in params)
    return f"{base}{path}?{query}"


def with_skip(query: Query, skip: int) -> list[tuple[str, str]]:
    kept = [(n, v) for n, v in query.raw if n.lower() != "$skip"]
    kept.append(("$skip", str(skip)))
    return kept
