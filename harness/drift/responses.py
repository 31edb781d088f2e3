"""Which published schema a recorded provider response answers to, and its check: every Graph and
Google JSON response of a run (`--schema-check`, through the traffic proxy) against the Graph v1.0
CSDL and the Google discovery documents (`schemas.py`).

`schema_for(method, url, status)` names the type from the request alone (Graph: the last
collection segment of the path and whether an id follows it; Google: the REST method the path
is). Responses without a JSON body, sign-in traffic, Google error bodies (the discovery documents
do not describe them) and paths not listed here are "unchecked", counted and never guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from harness.drift.schemas import Violation, check_google, check_graph

# Graph collection segment -> the CSDL type of its items
GRAPH_TYPES = {"events": "event", "calendarview": "event", "instances": "event",
               "calendars": "calendar", "calendar": "calendar", "contacts": "contact",
               "contactfolders": "contactFolder", "mailfolders": "mailFolder",
               "childfolders": "mailFolder", "messages": "message", "users": "user"}
_GRAPH_ACTIONS = frozenset({"accept", "decline", "tentativelyaccept", "cancel", "forward",
                            "$count", "$value"})


@dataclass(frozen=True)
class Schema:
    provider: str  # "graph" | "google"
    api: str  # "graph" | "calendar.v3" | "people.v1"
    name: str  # CSDL type ("event") or discovery schema ("Events")
    collection: bool = False  # a Graph collection: {"value": [name...], "@odata.*": ...}


def _graph(method: str, path: str) -> Schema | None:
    segments = [unquote(s) for s in path.split("/")[2:] if s]  # after /v1.0
    if not segments:
        return None
    head = segments[0].lower()
    if head == "me":
        rest = segments[1:]
        if not rest:
            return Schema("graph", "graph", "user")
    elif head == "users":
        if len(segments) == 1:
            return Schema("graph", "graph", "user", collection=True)
        rest = segments[2:]
        if not rest:
            return Schema("graph", "graph", "user")
    else:
        return None
    last = rest[-1].lower()
    if last in _GRAPH_ACTIONS:
        return None
    if last in ("delta", "delta()"):
        kind = GRAPH_TYPES.get(rest[-2].lower()) if len(rest) > 1 else None
        return Schema("graph", "graph", kind, collection=True) if kind else None
    if last in GRAPH_TYPES:
        if last == "calendar":
            return Schema("graph", "graph", "calendar")
        # POST to a collection answers the created item
        return Schema("graph", "graph", GRAPH_TYPES[last], collection=method != "POST")
    parent = rest[-2].lower() if len(rest) > 1 else ""
    kind = GRAPH_TYPES.get(parent)
    return Schema("graph", "graph", kind) if kind else None


def _calendar(method: str, parts: list[str]) -> Schema | None:
    def schema(name: str) -> Schema:
        return Schema("google", "calendar.v3", name)

    if parts[:3] == ["users", "me", "calendarList"]:
        return schema("CalendarList" if len(parts) == 3 else "CalendarListEntry")
    if parts == ["freeBusy"]:
        return schema("FreeBusyResponse")
    if not parts or parts[0] != "calendars" or len(parts) < 2:
        return None
    if len(parts) == 2:
        return schema("Calendar")
    if parts[2:] == ["events"]:
        return schema("Events" if method == "GET" else "Event")
    if len(parts) == 4 and parts[2] == "events":
        if parts[3] == "watch":
            return schema("Channel")
        return schema("Event")  # get, insert via import/quickAdd, update, patch, move
    if len(parts) == 5 and parts[2] == "events" and parts[4] == "instances":
        return schema("Events")
    return None


def _people(method: str, parts: list[str]) -> Schema | None:
    def schema(name: str) -> Schema:
        return Schema("google", "people.v1", name)

    if parts == ["people", "me", "connections"]:
        return schema("ListConnectionsResponse")
    if parts == ["people:createContact"]:
        return schema("Person")
    if parts == ["people:batchGet"]:
        return schema("GetPeopleResponse")
    if parts[:1] == ["contactGroups"]:
        return schema("ListContactGroupsResponse" if len(parts) == 1 else "ContactGroup")
    if len(parts) == 2 and parts[0] == "people":
        verb = parts[1].partition(":")[2]
        if verb == "deleteContact":
            return schema("Empty")
        return schema("Person") if verb in ("", "updateContact") else None
    return None


def schema_for(method: str, url: str, status: int) -> Schema | None:
    """The schema a response to `method url` with `status` answers to (real host names)."""
    parts = urlsplit(url)
    host, path = (parts.hostname or "").lower(), parts.path
    if host == "graph.microsoft.com" and path.startswith("/v1.0/"):
        if status >= 400:
            return Schema("graph", "graph", "publicErrorResponse")
        return _graph(method, path)
    if status >= 400:
        return None
    if host == "www.googleapis.com" and path.startswith("/calendar/v3/"):
        return _calendar(method, [unquote(p) for p in path.split("/")[3:] if p])
    if host == "people.googleapis.com" and path.startswith("/v1/"):
        return _people(method, [unquote(p) for p in path.split("/")[2:] if p])
    return None


def check_response(method: str, url: str, status: int, body: str | None
                   ) -> list[Violation] | None:
    """Violations of one response, or None when it is not checked (no schema, no JSON)."""
    schema = schema_for(method, url, status)
    if schema is None or not body:
        return None
    try:
        value: Any = json.loads(body)
    except ValueError:
        return None
    if schema.provider == "google":
        return check_google(schema.api, schema.name, value)
    if not schema.collection:
        return check_graph(schema.name, value)
    if not isinstance(value, dict) or not isinstance(value.get("value"), list):
        return [Violation(schema.name, "a collection answer without a `value` array")]
    out = [Violation(f"{schema.name}[]", f"a collection answer has member {key!r}")
           for key in value if key != "value" and not key.startswith("@")]
    for index, item in enumerate(value["value"]):
        out += check_graph(schema.name, item, path=f"{schema.name}[{index}]")
    return out


@dataclass
class SchemaTally:
    """A run's schema check: responses checked, not checked, and every violation found."""

    checked: int = 0
    unchecked: int = 0
    violations: list[dict[str, str]] = field(default_factory=list)
    shapes: set[str] = field(default_factory=set)  # "graph event", "calendar.v3 Events", ...

    def add(self, method: str, url: str, status: int, body: str | None
            ) -> list[dict[str, str]]:
        found = check_response(method, url, status, body)
        if found is None:
            self.unchecked += 1
            return []
        self.checked += 1
        schema = schema_for(method, url, status)
        if schema is not None:
            self.shapes.add(f"{schema.api} {schema.name}")
        new = [{"request": f"{method} {url.split('?', 1)[0]}", "status": str(status),
                "path": v.path, "problem": v.problem} for v in found]
        self.violations += new
        return new

    def as_dict(self) -> dict[str, Any]:
        return {"schema": "calharness.schema-check/1", "checked": self.checked,
                "unchecked": self.unchecked, "shapes": sorted(self.shapes),
                "violations": self.violations}
