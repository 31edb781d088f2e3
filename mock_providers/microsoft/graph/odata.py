"""OData query options ($select, $top, $skip, $filter, $orderby, $count, $expand), the `Prefer`
header, and the links a page points on with.

$filter supports a small useful subset: comparisons `eq ne gt ge lt le` joined by `and`, on
`start/dateTime`, `end/dateTime`, `subject`, `sensitivity`, `showAs`, `isAllDay`,
`isOnlineMeeting`, `iCalUId`, `transactionId`; for contacts on `displayName`, `givenName`,
`surname`, `companyName`, `jobTitle`. String comparisons ignore case, as Outlook's do. Anything
else is a 400 `ErrorInvalidUrlQueryFilter`, a syntax error a 400 `BadRequest` "Invalid filter
clause". $select/$expand/$filter/$orderby/$search on a delta route → 400 `ErrorInvalidUrlQuery`
(`refuse_on_delta`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote

from mock_providers.microsoft.graph.errors import GraphError, bad_request
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
_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<word>[A-Za-z_][A-Za-z0-9_/]*)"
                    r"|(?P<lit>[0-9][0-9T:\-.Z+]*)|(?P<paren>[()]))")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b,
}
EVENT_FILTER_FIELDS = {
    "start/datetime": "start", "end/datetime": "end", "subject": "subject",
    "sensitivity": "sensitivity", "showas": "show_as", "isallday": "is_all_day",
    "isonlinemeeting": "is_online_meeting", "icaluid": "ical_uid",
    "transactionid": "transaction_id",
}
CONTACT_FILTER_FIELDS = {
    "displayname": "display_name", "givenname": "given_name", "surname": "surname",
    "companyname": "company_name", "jobtitle": "job_title",
}
Predicate = Callable[[Any], bool]


def _invalid_filter(text: str, detail: str) -> GraphError:
    return bad_request(f"Invalid filter clause: {detail} in '{text}'.")


def _literal(kind: str, token: str, text: str) -> Any:
    if kind == "str":
        return token[1:-1].replace("''", "'")
    if token.lower() in ("true", "false"):
        return token.lower() == "true"
    if token.lower() == "null":
        return None
    return token


def _coerce(field: str, value: Any, text: str) -> Any:
    if field in ("start", "end"):
        if not isinstance(value, str):
            raise _invalid_filter(text, "a date and time is expected")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _invalid_filter(text, f"'{value}' is not a date and time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


def parse_filter(text: str, fields: dict[str, str],
                 view: Callable[[Any, str], Any]) -> Predicate:
    """A predicate over entities; `view(entity, field)` reads a field as the caller sees it."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _invalid_filter(text, f"Syntax error at position {pos}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    clauses: list[tuple[str, Callable[[Any, Any], bool], Any]] = []
    i = 0
    while i < len(tokens):
        if i + 3 > len(tokens):
            raise _invalid_filter(text, "Syntax error at the end of the expression")
        (k1, prop), (k2, op), (k3, lit) = tokens[i:i + 3]
        if k1 != "word" or k2 != "word" or k3 not in ("str", "lit", "word"):
            raise _invalid_filter(text, f"Syntax error near '{prop}'")
        field = fields.get(prop.lower())
        func = _OPS.get(op.lower())
        if field is None or func is None:
            raise GraphError(400, "ErrorInvalidUrlQueryFilter",
                             "The query filter contains one or more invalid nodes.")
        clauses.append((field, func, _coerce(field, _literal(k3, lit, text), text)))
        i += 3
        if i < len(tokens):
            if tokens[i] != ("word", "and") and tokens[i][1].lower() != "and":
                raise GraphError(400, "ErrorInvalidUrlQueryFilter",
                                 "The query filter contains one or more invalid nodes.")
            i += 1
            if i == len(tokens):
                raise _invalid_filter(text, "Syntax error at the end of the expression")

    def predicate(entity: Any) -> bool:
        for field, func, value in clauses:
            current = view(entity, field)
            if isinstance(current, str) and isinstance(value, str):
                current, expected = current.lower(), value.lower()  # Outlook compares ignoring case
            else:
                expected = value
            try:
                if not func(current, expected):
                    return False
            except TypeError:  # ordering against null
                return False
        return True

    return predicate


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
