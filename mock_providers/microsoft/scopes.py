"""Scopes of the Microsoft identity platform v2.0: parsing, the resource each belongs to, and the
canonical form consent is recorded in.

Canonical form: Graph permissions by bare name (`Calendars.Read`), any other resource fully
qualified (`https://outlook.office365.com/EWS.AccessAsUser.All`). That is what
`MsTenant.user_consents` / `admin_consents` hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mock_providers.microsoft.claims import (
    EXCHANGE_APP_ID,
    EXCHANGE_RESOURCE,
    GRAPH_APP_ID,
    GRAPH_RESOURCE,
)

OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
DEFAULT = ".default"

# Delegated permissions a request may name: name -> (consent-page wording, admin consent required).
_GRAPH_DELEGATED: dict[str, tuple[str, bool]] = {
    "User.Read": ("Sign you in and read your profile", False),
    "User.ReadBasic.All": ("Read all users' basic profiles", False),
    "User.Read.All": ("Read all users' full profiles", True),
    "Calendars.Read": ("Read your calendars", False),
    "Calendars.ReadBasic": ("Read basic details of your calendars", False),
    "Calendars.ReadWrite": ("Have full access to your calendars", False),
    "Calendars.Read.Shared": ("Read calendars you can access", False),
    "Calendars.ReadWrite.Shared": ("Read and write calendars you can access", False),
    "Contacts.Read": ("Read your contacts", False),
    "Contacts.ReadWrite": ("Have full access to your contacts", False),
    "Contacts.Read.Shared": ("Read contacts you can access", False),
    "Contacts.ReadWrite.Shared": ("Read and write contacts you can access", False),
    "MailboxSettings.Read": ("Read your mailbox settings", False),
    "MailboxSettings.ReadWrite": ("Read and write your mailbox settings", False),
    "OnlineMeetings.Read": ("Read your online meetings", False),
    "OnlineMeetings.ReadWrite": ("Read and create your online meetings", False),
    "People.Read": ("Read your relevant people list", False),
    "Place.Read.All": ("Read all company places", True),
    "Mail.Read": ("Read your mail", False),
    "Mail.Send": ("Send mail as you", False),
    "Directory.Read.All": ("Read directory data", True),
}
_EXCHANGE_DELEGATED: dict[str, tuple[str, bool]] = {
    "EWS.AccessAsUser.All": ("Access your mailboxes via Exchange Web Services", False),
}
_CATALOGUE: dict[str, dict[str, tuple[str, bool]]] = {
    GRAPH_RESOURCE: _GRAPH_DELEGATED,
    EXCHANGE_RESOURCE: _EXCHANGE_DELEGATED,
}
_RESOURCE_ALIASES = {
    GRAPH_RESOURCE: GRAPH_RESOURCE, GRAPH_APP_ID: GRAPH_RESOURCE,
    EXCHANGE_RESOURCE: EXCHANGE_RESOURCE, EXCHANGE_APP_ID: EXCHANGE_RESOURCE,
}
# App roles that exist only on Exchange Online; any other unqualified role is a Graph role.
_EXCHANGE_ONLY_ROLES = frozenset({"full_access_as_app", "EWS.AccessAsApp"})
_OIDC_WORDING = {
    "openid": "Sign you in",
    "profile": "View your basic profile",
    "email": "View your email address",
    "offline_access": "Maintain access to data you have given it access to",
}


class ScopeError(Exception):
    """A scope value Entra would refuse: `code` is the AADSTS number, `fields` its message data."""

    def __init__(self, code: int, **fields: str) -> None:
        super().__init__(f"AADSTS{code}")
        self.code = code
        self.fields = fields


@dataclass(frozen=True, slots=True)
class Permission:
    resource: str  # GRAPH_RESOURCE, EXCHANGE_RESOURCE
    name: str  # "Calendars.Read" or ".default"

    @property
    def canonical(self) -> str:
        return self.name if self.resource == GRAPH_RESOURCE else f"{self.resource}/{self.name}"

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT

    @property
    def admin_only(self) -> bool:
        return _CATALOGUE.get(self.resource, {}).get(self.name, ("", False))[1]

    @property
    def description(self) -> str:
        return _CATALOGUE.get(self.resource, {}).get(self.name, (self.canonical, False))[0]


@dataclass(frozen=True, slots=True)
class ScopeRequest:
    raw: tuple[str, ...]  # exactly as sent (what the audit log records)
    oidc: tuple[str, ...]  # lower-cased OIDC scopes present
    permissions: tuple[Permission, ...]

    @property
    def resources(self) -> list[str]:
        return list(dict.fromkeys(p.resource for p in self.permissions))

    def for_resource(self, resource: str) -> list[Permission]:
        return [p for p in self.permissions if p.resource == resource]

    @property
    def offline(self) -> bool:
        return "offline_access" in self.oidc

    @property
    def openid(self) -> bool:
        return "openid" in self.oidc


def split_scope(value: str | None) -> list[str]:
    """The scope parameter as a list, order kept (space-delimited per RFC 6749 §3.3)."""
    return value.split() if value else []


def _permission(scope: str) -> Permission:
    resource, sep, name = scope.rpartition("/")
    if not sep:
        resource, name = GRAPH_RESOURCE, scope
    else:
        resource = _RESOURCE_ALIASES.get(resource.rstrip("/"), resource.rstrip("/"))
        if not resource or not name:
            raise ScopeError(70011, scope=scope)
        if resource not in _CATALOGUE:
            raise ScopeError(500011, resource=resource)
    if name == DEFAULT:
        return Permission(resource, DEFAULT)
    known = {n.lower(): n for n in _CATALOGUE[resource]}
    canonical_name = known.get(name.lower())
    if canonical_name is None:
        raise ScopeError(70011, scope=scope)
    return Permission(resource, canonical_name)


def parse_scopes(scopes: Iterable[str]) -> ScopeRequest:
    """Classify scopes; raises ScopeError for an unknown permission or resource."""
    raw = tuple(scopes)
    oidc: list[str] = []
    permissions: list[Permission] = []
    for scope in raw:
        if scope.lower() in OIDC_SCOPES:
            oidc.append(scope.lower())
        else:
            permissions.append(_permission(scope))
    return ScopeRequest(raw, tuple(dict.fromkeys(oidc)), tuple(dict.fromkeys(permissions)))


def single_resource(request: ScopeRequest) -> str:
    """The one resource a token is for (Graph when only OIDC scopes were asked); AADSTS28000
    when the request spans several, because one access token has one audience."""
    resources = request.resources
    if len(resources) > 1:
        raise ScopeError(28000, scope=" ".join(request.raw))
    return resources[0] if resources else GRAPH_RESOURCE


def canonical_scopes(scopes: Iterable[str]) -> set[str]:
    """Canonical consent entries for `scopes` (OIDC scopes and `.default` left out)."""
    request = parse_scopes(scopes)
    return {p.canonical for p in request.permissions if not p.is_default}


def consented_for(resource: str, granted: Iterable[str]) -> list[Permission]:
    """The permissions on `resource` among canonical consent entries, catalogue order."""
    granted_set = set(granted)
    return [Permission(resource, name) for name in _CATALOGUE.get(resource, {})
            if Permission(resource, name).canonical in granted_set]


def app_roles_for(resource: str, granted_roles: Iterable[str]) -> list[str]:
    """App roles granted on `resource`. Roles may be qualified (`https://outlook.office365.com/
    full_access_as_app`); unqualified ones are Graph roles unless they exist only on Exchange."""
    roles: set[str] = set()
    for role in granted_roles:
        owner, sep, name = role.rpartition("/")
        if sep:
            if _RESOURCE_ALIASES.get(owner.rstrip("/")) == resource:
                roles.add(name)
        elif (role in _EXCHANGE_ONLY_ROLES) == (resource == EXCHANGE_RESOURCE):
            roles.add(role)
    return sorted(roles)


def consent_lines(request: ScopeRequest) -> list[tuple[str, str]]:
    """(scope, wording) pairs for a consent page, permissions first."""
    lines = [(p.canonical, p.description) for p in request.permissions if not p.is_default]
    lines += [(s, _OIDC_WORDING[s]) for s in request.oidc]
    return lines


def response_scope(permissions: Iterable[Permission], oidc: Iterable[str]) -> str:
    """The `scope` of a token response: Graph permissions by bare name as Entra returns them."""
    return " ".join([p.canonical for p in permissions] + list(oidc))
