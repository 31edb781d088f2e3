"""Who and what a recording names, so a drift replay can map a real tenant's identities onto the
mock world (pure: no I/O).

- `slots(host, path)`: the path segments that name a user or an item (a Graph `users/{upn}`, an
  event id after `events/`, a Google calendar id or person id), with the collection each item
  id belongs to.
- `scan(exchanges)`: the recording's principals in order of first appearance, each with every
  name it was seen under (UPN, mail, object id, Google e-mail). Names are joined into one
  principal where the recording itself says they are one person: an unredacted bearer token's
  claims, a `GET /me` (or `/users/{x}`) answer's `id`/`userPrincipalName`/`mail`, Google's
  `calendars/primary` answer. E-mail addresses of a recorded user's domain met in request bodies
  (attendees, EWS mailboxes) are principals too.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from harness.traffic.cassettes import Exchange, json_or_none

GRAPH_HOST = "graph.microsoft.com"
EWS_HOST = "outlook.office365.com"
GOOGLE_HOSTS = ("www.googleapis.com", "people.googleapis.com")

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                  r"[0-9a-fA-F]{12}$")

# Graph collections whose next segment is an item id, and segments that are never an id there.
# Path segments of Calendar v3 that name an action, not an item (`events/quickAdd`,
# `events/watch`, `calendarList/watch`).
_GOOGLE_ACTIONS = frozenset({"quickAdd", "import", "watch", "instances"})
GRAPH_COLLECTIONS = frozenset({"events", "calendars", "contacts", "contactfolders", "mailfolders",
                               "messages", "childfolders", "instances", "attachments",
                               "calendargroups"})
GRAPH_NOT_IDS = GRAPH_COLLECTIONS | frozenset({
    "delta", "delta()", "$count", "$value", "calendarview", "accept", "decline",
    "tentativelyaccept", "cancel", "forward", "calendar",
    # well-known mail folder names
    "inbox", "deleteditems", "drafts", "sentitems", "outbox", "junkemail", "archive",
    "msgfolderroot", "recoverableitemsdeletions", "conversationhistory"})


@dataclass(frozen=True)
class Slot:
    index: int  # position in the path's "/"-split segments
    kind: str  # "user" | "item"
    collection: str  # for items: "events", "calendars", "contacts", "people", ...
    value: str  # the recorded value, percent-decoded, without a ":verb" suffix
    suffix: str = ""  # Google's ":updateContact" and the like


def _split(segment: str) -> tuple[str, str]:
    value = unquote(segment)
    name, colon, verb = value.partition(":")
    return (name, colon + verb) if colon and verb.isalpha() else (value, "")


def slots(host: str, path: str) -> list[Slot]:
    """The user and item segments of a provider request path (real host names)."""
    segments = path.split("/")
    host = host.lower()
    out: list[Slot] = []
    if host == GRAPH_HOST and len(segments) > 2 and segments[1] == "v1.0":
        if segments[2].lower() == "users" and len(segments) > 3 and segments[3]:
            out.append(Slot(3, "user", "users", unquote(segments[3])))
        for i in range(2, len(segments) - 1):
            name, following = segments[i].lower(), segments[i + 1]
            if name in GRAPH_COLLECTIONS and following and following.lower() not in GRAPH_NOT_IDS:
                out.append(Slot(i + 1, "item", name, unquote(following)))
    elif host == "www.googleapis.com" and path.startswith("/calendar/v3/"):
        for i in range(3, len(segments) - 1):
            name, value = segments[i], unquote(segments[i + 1])
            if name in ("calendars", "calendarList") and value and value != "primary" \
                    and value not in _GOOGLE_ACTIONS:
                kind = "user" if EMAIL.fullmatch(value) and not value.endswith(
                    ".calendar.google.com") else "item"
                out.append(Slot(i + 1, kind, "calendars", value))
            elif name == "events" and value and value not in _GOOGLE_ACTIONS:
                out.append(Slot(i + 1, "item", "events", value))
    elif host == "people.googleapis.com" and len(segments) > 3 and segments[2] == "people":
        value, suffix = _split(segments[3])
        if value and value != "me" and not value.startswith("people:"):
            out.append(Slot(3, "item", "people", value, suffix))
    return out


def jwt_claims(authorization: str | None) -> dict[str, Any]:
    """The claims of an unredacted bearer JWT (not verified: only read to learn who signed in),
    else {}."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return {}
    parts = authorization.split(" ", 1)[1].strip().split(".")
    if len(parts) != 3:
        return {}
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


@dataclass
class Principal:
    provider: str  # "microsoft" | "google"
    names: list[str] = field(default_factory=list)  # as recorded, first seen first
    me: bool = False  # the signed-in user (Graph `/me`, Google `primary`, a token's subject)

    def has(self, name: str) -> bool:
        return name.lower() in (n.lower() for n in self.names)


class Principals:
    """Recorded principals in order of first appearance; `join` merges two names' principals."""

    def __init__(self) -> None:
        self.items: list[Principal] = []

    def find(self, provider: str, name: str) -> Principal | None:
        return next((p for p in self.items if p.provider == provider and p.has(name)), None)

    def me(self, provider: str) -> Principal | None:
        return next((p for p in self.items if p.provider == provider and p.me), None)

    def add(self, provider: str, name: str | None = None, *, me: bool = False) -> Principal:
        found = self.me(provider) if me else None
        named = self.find(provider, name) if name else None
        if found is not None and named is not None and found is not named:
            found.names += [n for n in named.names if not found.has(n)]
            self.items.remove(named)
        principal = found or named
        if principal is None:
            principal = Principal(provider, me=me)
            self.items.append(principal)
        if name and not principal.has(name):
            principal.names.append(name)
        principal.me = principal.me or me
        return principal

    def join(self, principal: Principal, names: Iterable[Any]) -> None:
        for name in names:
            if not isinstance(name, str) or not name:
                continue
            other = self.find(principal.provider, name)
            if other is not None and other is not principal:
                principal.names += [n for n in other.names if not principal.has(n)]
                principal.me = principal.me or other.me
                self.items.remove(other)
            elif other is None:
                principal.names.append(name)

    def domains(self, provider: str) -> set[str]:
        return {n.rsplit("@", 1)[1].lower() for p in self.items if p.provider == provider
                for n in p.names if EMAIL.fullmatch(n)}


def provider_of(host: str) -> str | None:
    host = host.lower()
    if host in (GRAPH_HOST, EWS_HOST):
        return "microsoft"
    if host in GOOGLE_HOSTS:
        return "google"
    return None


def scan(exchanges: list[Exchange]) -> Principals:
    found = Principals()
    for exchange in exchanges:
        parts = urlsplit(exchange.url)
        host, path = (parts.hostname or "").lower(), parts.path
        provider = provider_of(host)
        if provider is None:
            continue
        claims = jwt_claims(exchange.header("authorization", response=False))
        signed_in = [claims.get(k) for k in ("upn", "unique_name", "preferred_username",
                                              "oid", "email")]
        if any(isinstance(n, str) and n for n in signed_in):
            found.join(found.add(provider, me=True), signed_in)
        segments = path.split("/")
        if host == GRAPH_HOST and len(segments) > 2 and segments[2].lower() == "me":
            found.add(provider, me=True)
        for slot in slots(host, path):
            if slot.kind == "user":
                found.add(provider, slot.value)
        if host == "www.googleapis.com" and "/calendars/primary" in path:
            found.add(provider, me=True)
        body = json_or_none(exchange.response_body)
        if isinstance(body, dict) and 200 <= exchange.status < 300 and exchange.method == "GET":
            if host == GRAPH_HOST and re.fullmatch(r"/v1\.0/(me|users/[^/]+)", path):
                who = found.add(provider, me=True) if segments[2].lower() == "me" else \
                    found.add(provider, unquote(segments[3]))
                found.join(who, [body.get("id"), body.get("userPrincipalName"),
                                 body.get("mail")])
            elif host == "www.googleapis.com" and path.endswith("/calendars/primary"):
                found.join(found.add(provider, me=True), [body.get("id")])
    # e-mail addresses of a recorded user's domain met in request bodies: users too
    for exchange in exchanges:
        provider = provider_of(urlsplit(exchange.url).hostname or "")
        if provider is None or not exchange.request_body:
            continue
        domains = found.domains(provider)
        for address in EMAIL.findall(exchange.request_body):
            if address.rsplit("@", 1)[1].lower() in domains:
                found.add(provider, address)
    return found
