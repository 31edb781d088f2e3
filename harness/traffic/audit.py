"""Audit of recorded provider traffic (pure functions over redacted `Exchange`s):

- least privilege: the resource scopes an integration asked for against the calls it made
  (a write scope with only reads; a scope outside the documented list) — SCOPE-05, OAUTH-03;
- writes under read-only grants: a create/update/delete sent while every scope asked for was a
  read scope — PERM-01, PERM-03, SCOPE-01, SCOPE-03;
- auth schemes: any calendar-service call that is not `Bearer` when OAuth 2.0 is enforced —
  OAUTH-01.

Each finding names the requirement ids it is evidence for.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from harness.traffic.cassettes import Exchange

GRAPH_HOST = "graph.microsoft.com"
EWS_HOST = "outlook.office365.com"
GOOGLE_API_HOSTS = ("www.googleapis.com", "people.googleapis.com")
TOKEN_PATHS = re.compile(r"/oauth2/(v2\.0/)?(token|authorize)$|^/token$|^/o/oauth2/(v2/)?auth$")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The documented Office 365 resource scopes (features/requirements.yaml, SCOPE-05).
DOCUMENTED = frozenset({"Calendars.Read", "Calendars.ReadWrite", "Contacts.Read",
                        "Contacts.ReadWrite"})
PROTOCOL = frozenset({"openid", "profile", "offline_access", "email", "User.Read",
                      ".default", "EWS.AccessAsUser.All"})


@dataclass(frozen=True)
class Finding:
    kind: str  # unused_scope | undocumented_scope | write_under_read_only | auth_scheme
    requirement_ids: tuple[str, ...]
    message: str
    url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _short(scope: str) -> str:
    """`https://graph.microsoft.com/Calendars.Read` -> `Calendars.Read`; Google scopes keep
    their last path segment (`calendar.readonly`)."""
    return scope.rstrip("/").rsplit("/", 1)[-1]


def scopes_requested(exchanges: list[Exchange]) -> set[str]:
    found: set[str] = set()
    for exchange in exchanges:
        parts = urlsplit(exchange.url)
        if not TOKEN_PATHS.search(parts.path):
            continue
        params = dict(parse_qsl(parts.query))
        if exchange.request_body and "=" in exchange.request_body:
            params.update(parse_qsl(exchange.request_body))
        found |= {_short(s) for s in params.get("scope", "").split() if s}
    return found


def needed(exchange: Exchange) -> str | None:
    """The least scope a call needs, in the provider's own vocabulary."""
    parts = urlsplit(exchange.url)
    host, path, write = parts.hostname or "", parts.path.lower(), \
        exchange.method not in READ_METHODS
    if host == GRAPH_HOST:
        if "/contacts" in path or "/contactfolders" in path:
            return "Contacts.ReadWrite" if write else "Contacts.Read"
        if "/events" in path or "/calendar" in path:
            return "Calendars.ReadWrite" if write else "Calendars.Read"
        return None
    if host == "www.googleapis.com" and path.startswith("/calendar/"):
        return "calendar" if write else "calendar.readonly"
    if host == "people.googleapis.com":
        return "contacts" if write else "contacts.readonly"
    return None


_WRITE_OF = {"Calendars.Read": "Calendars.ReadWrite", "Contacts.Read": "Contacts.ReadWrite",
             "calendar.readonly": "calendar", "contacts.readonly": "contacts"}
_READ_OF = {v: k for k, v in _WRITE_OF.items()}


def audit(exchanges: list[Exchange], *, oauth_enforced: bool = False) -> list[Finding]:
    findings: list[Finding] = []
    requested = scopes_requested(exchanges)
    calls = [(e, needed(e)) for e in exchanges]
    used = {n for _, n in calls if n}
    for scope in sorted(requested):
        if scope.startswith("https:") or scope in PROTOCOL:
            continue
        if scope in _READ_OF and scope not in used and _READ_OF[scope] in used:
            findings.append(Finding(
                "unused_scope", ("SCOPE-05", "OAUTH-03"),
                f"{scope} was requested but only reads were made ({_READ_OF[scope]} would "
                f"do)"))
        elif "." in scope and scope[0].isupper() and scope not in DOCUMENTED:
            findings.append(Finding("undocumented_scope", ("SCOPE-05",),
                                    f"{scope} is not in the documented permission list"))
    read_only = bool(requested) and not any(s in _READ_OF for s in requested)
    for exchange, scope in calls:
        if scope in _READ_OF and read_only:
            findings.append(Finding(
                "write_under_read_only", ("PERM-01", "PERM-03", "SCOPE-01", "SCOPE-03"),
                f"{exchange.method} sent with read-only scopes "
                f"({', '.join(sorted(requested & set(_WRITE_OF)))}): answered "
                f"{exchange.status}", exchange.url))
    if oauth_enforced:
        for exchange in exchanges:
            host = urlsplit(exchange.url).hostname or ""
            if host not in (GRAPH_HOST, EWS_HOST, *GOOGLE_API_HOSTS):
                continue
            auth = exchange.header("authorization", response=False)
            scheme = auth.split(" ", 1)[0] if auth else "none"
            if scheme.lower() != "bearer":
                findings.append(Finding(
                    "auth_scheme", ("OAUTH-01",),
                    f"{exchange.method} authenticated with {scheme} while OAuth 2.0 is "
                    f"enforced", exchange.url))
    return findings
