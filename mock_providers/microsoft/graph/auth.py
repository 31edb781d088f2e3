"""Who may call which Graph route: bearer-token checks (401), the permission table (403) and
delegate access to another user's calendar.

Permission table (least privileged first, per Microsoft's Graph v1.0 reference pages);
"own" is the signed-in user's mailbox, "shared" another user's (delegated), "app" app-only:

  events.list/get, calendarView, calendars.list/get
      own: Calendars.ReadBasic, Calendars.Read, Calendars.ReadWrite (or a .Shared one)
      shared: Calendars.Read.Shared, Calendars.ReadWrite.Shared
      app: Calendars.ReadBasic, Calendars.Read, Calendars.ReadWrite
  calendarView.delta
      own: Calendars.Read, Calendars.ReadWrite (or .Shared); shared: *.Shared; app: Calendars.Read,
      Calendars.ReadWrite
  events.create/update/delete, events.accept/tentativelyAccept/decline/cancel
      own: Calendars.ReadWrite (or ReadWrite.Shared); shared: Calendars.ReadWrite.Shared;
      app: Calendars.ReadWrite
  events.instances: as events.get
  mailFolders.list/get, messages.list/get (meeting messages only)
      own: Mail.ReadBasic, Mail.Read, Mail.ReadWrite (or a .Shared one); app: Mail.ReadBasic(.All),
      Mail.Read, Mail.ReadWrite; another user's mail with a delegated token: 403 (no sharing)
  contacts.list/get/delta, contactFolders.list/get
      own: Contacts.Read, Contacts.ReadWrite (or .Shared); app: Contacts.Read, Contacts.ReadWrite
  contacts.create/update/delete
      own: Contacts.ReadWrite (or ReadWrite.Shared); app: Contacts.ReadWrite
  users.get (/me or your own id)
      own: User.Read, User.ReadWrite, User.ReadBasic.All, User.Read.All, User.ReadWrite.All,
      Directory.Read.All, Directory.ReadWrite.All
  users.get (another user), users.list
      delegated: User.ReadBasic.All and the *.All above; app: User.Read.All, User.ReadWrite.All,
      Directory.Read.All, Directory.ReadWrite.All

A token whose only calendar permission is Calendars.ReadBasic gets the *basic* view: `body` and
`bodyPreview` are left out, as Microsoft documents for ReadBasic.

Another user's mailbox with a delegated token needs a `.Shared` permission (Calendars.Read.Shared
or Calendars.ReadWrite.Shared to read; Calendars.ReadWrite.Shared to write) AND a role for the
caller in that calendar's `permissions`: read, write, limitedRead (basic view) or a delegate role
to read; write or a delegate role to write; freeBusyRead gives no item access. Otherwise 403
ErrorAccessDenied. Contact folders have no sharing model in the world, so another user's
contacts are always 403 for delegated tokens. Application tokens see every mailbox of their own
tenant; a user of another tenant is not found there (404 ErrorInvalidUser, as for a user that does
not exist: Graph resolves `/users/{id}` inside the token's tenant only).

Private events (sensitivity "private") as seen by a delegated caller who is not the owner and
does not hold delegateWithPrivateEventAccess — the documented choice of this mock, following the
Zoom seed document ("the assistant sees the private event in its time slot, but no topic,
invitation link or attendee list"): subject "Private", body emptied (`content` ""), bodyPreview "",
location emptied and locations [], attendees [], categories [], onlineMeeting null,
onlineMeetingUrl null, isOnlineMeeting false, onlineMeetingProvider "unknown"; start, end,
showAs, sensitivity, isAllDay, organizer and ids are kept. Such a caller may not update or delete
a private event (403). Owners, delegateWithPrivateEventAccess and application tokens see
everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mock_providers.microsoft.claims import GRAPH_RESOURCE, AccessContext, access_context
from mock_providers.microsoft.graph.errors import access_denied, invalid_user, unauthenticated
from mock_providers.signing import TokenInvalid

if TYPE_CHECKING:
    from mock_providers.hub import Hub
    from mock_providers.world import Calendar, MsUser, World

_NOT_WELL_FORMED = (
    "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or "
    "JWE Compact Serialization Format. (JWS): 'EncodedHeader.EndcodedPayload.EncodedSignature'. "
    "(JWE): 'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector."
    "EncodedCiphertext.EncodedAuthenticationTag'.")

_CAL_READ_SHARED = frozenset({"Calendars.Read.Shared", "Calendars.ReadWrite.Shared"})
_CAL_WRITE_SHARED = frozenset({"Calendars.ReadWrite.Shared"})
_CON_READ_SHARED = frozenset({"Contacts.Read.Shared", "Contacts.ReadWrite.Shared"})
_CON_WRITE_SHARED = frozenset({"Contacts.ReadWrite.Shared"})
_USER_ALL = frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All",
                       "Directory.ReadWrite.All"})
# Permissions that only ever give the basic (body-less) event view.
BASIC_ONLY = frozenset({"Calendars.ReadBasic", "Calendars.ReadBasic.All"})

_READ_ROLES = frozenset({"limitedRead", "read", "write", "delegateWithoutPrivateEventAccess",
                         "delegateWithPrivateEventAccess"})
_WRITE_ROLES = frozenset({"write", "delegateWithoutPrivateEventAccess",
                          "delegateWithPrivateEventAccess"})


@dataclass(frozen=True, slots=True)
class Permission:
    delegated: frozenset[str]  # for the signed-in user's own mailbox
    shared: frozenset[str]  # delegated, for another user's mailbox
    application: frozenset[str]
    write: bool = False


def _p(delegated: set[str], shared: frozenset[str], application: set[str],
       write: bool = False) -> Permission:
    return Permission(frozenset(delegated) | shared, shared, frozenset(application), write)


_CAL_READ = _p({"Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite"}, _CAL_READ_SHARED,
               {"Calendars.ReadBasic", "Calendars.ReadBasic.All", "Calendars.Read",
                "Calendars.ReadWrite"})
_CAL_DELTA = _p({"Calendars.Read", "Calendars.ReadWrite"}, _CAL_READ_SHARED,
                {"Calendars.Read", "Calendars.ReadWrite"})
_CAL_WRITE = _p({"Calendars.ReadWrite"}, _CAL_WRITE_SHARED, {"Calendars.ReadWrite"}, write=True)
_CON_READ = _p({"Contacts.Read", "Contacts.ReadWrite"}, _CON_READ_SHARED,
               {"Contacts.Read", "Contacts.ReadWrite"})
_MAIL_READ = _p({"Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"},
                frozenset({"Mail.Read.Shared", "Mail.ReadWrite.Shared"}),
                {"Mail.ReadBasic", "Mail.ReadBasic.All", "Mail.Read", "Mail.ReadWrite"})
_CON_WRITE = _p({"Contacts.ReadWrite"}, _CON_WRITE_SHARED, {"Contacts.ReadWrite"}, write=True)

PERMISSIONS: dict[str, Permission] = {
    "users.get": Permission(frozenset({"User.Read", "User.ReadWrite", "User.ReadBasic.All"})
                            | _USER_ALL, frozenset({"User.ReadBasic.All"}) | _USER_ALL,
                            _USER_ALL),
    "users.list": Permission(frozenset({"User.ReadBasic.All"}) | _USER_ALL,
                             frozenset({"User.ReadBasic.All"}) | _USER_ALL, _USER_ALL),
    "events.list": _CAL_READ, "events.get": _CAL_READ, "calendarView": _CAL_READ,
    "calendars.list": _CAL_READ, "calendars.get": _CAL_READ,
    "calendarView.delta": _CAL_DELTA,
    "events.create": _CAL_WRITE, "events.update": _CAL_WRITE, "events.delete": _CAL_WRITE,
    "events.instances": _CAL_READ, "events.accept": _CAL_WRITE,
    "events.tentativelyAccept": _CAL_WRITE, "events.decline": _CAL_WRITE,
    "events.cancel": _CAL_WRITE,
    "mailFolders.list": _MAIL_READ, "mailFolders.get": _MAIL_READ, "messages.list": _MAIL_READ,
    "messages.get": _MAIL_READ,
    "contacts.list": _CON_READ, "contacts.get": _CON_READ, "contacts.delta": _CON_READ,
    "contactFolders.list": _CON_READ, "contactFolders.get": _CON_READ,
    "contacts.create": _CON_WRITE, "contacts.update": _CON_WRITE, "contacts.delete": _CON_WRITE,
}


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified token, cached per Authorization header (the expiry is checked every time)."""

    ctx: AccessContext
    # Shared by every audit entry of this token (AuditLog.add stores it as is).
    scopes_sorted: tuple[str, ...]
    key: str  # identifies the principal in delta tokens: the user oid or "app"
    exp: float
    nbf: float | None
    # (operation, own mailbox) -> basic view?  None when the permission table says no.
    decisions: dict[tuple[str, bool], bool | None] = field(default_factory=dict)


class Authenticator:
    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[bytes, Caller] = {}

    def authenticate(self, hub: Hub, authorization: bytes | None) -> Caller:
        """The caller behind an `Authorization: Bearer …` header, or a 401 GraphError.

        A header seen before costs a dict lookup and the lifetime check against the world clock;
        a new one is verified by the hub's signer."""
        if authorization is not None:
            cached = self._cache.get(authorization)
            if cached is not None:
                now = hub.world.clock.timestamp()
                if now < cached.exp and (cached.nbf is None or now + 300 >= cached.nbf):
                    return cached
        if not authorization:
            raise unauthenticated("Access token is empty.")
        raw = authorization.decode("latin-1")
        scheme, _, token = raw.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthenticated("Access token is empty.")
        if token.count(".") != 2:
            raise unauthenticated(_NOT_WELL_FORMED)
        try:
            claims = hub.signer.verify(token, now=hub.world.clock.timestamp())
        except TokenInvalid as exc:
            if exc.reason == "expired":
                raise unauthenticated("Lifetime validation failed, the token is expired.") from None
            raise unauthenticated("Access token validation failure.") from None
        caller = self._caller(claims)
        if len(self._cache) >= 50_000:
            self._cache.clear()
        self._cache[authorization] = caller
        return caller

    @staticmethod
    def _caller(claims: dict[str, Any]) -> Caller:
        try:
            ctx = access_context(claims)
        except (KeyError, TypeError):
            raise unauthenticated("Access token validation failure.") from None
        if ctx.resource != GRAPH_RESOURCE:
            raise unauthenticated("Access token validation failure. Invalid audience.")
        key = (ctx.user_id or "") if ctx.kind == "delegated" else "app"
        nbf = claims.get("nbf")
        return Caller(ctx, tuple(sorted(ctx.permissions)), key, float(claims["exp"]),
                      float(nbf) if isinstance(nbf, int | float) else None)


def resolve_user(world: World, caller: Caller, segment: str,
                 found: MsUser | None = None) -> MsUser:
    """The mailbox owner named by `/users/{segment}` (already looked up as `found`, when the
    caller did), looked up in the token's tenant only."""
    user = found or world.ms_user(segment)
    if user is None or user.tenant_id != caller.ctx.tenant_id:
        raise invalid_user(segment)
    return user


def is_self(caller: Caller, user: MsUser) -> bool:
    return caller.ctx.kind == "delegated" and caller.ctx.user_id == user.id


def check_scopes(caller: Caller, operation: str, own: bool) -> bool:
    """Raise 403 unless the token's permissions allow `operation`; True for the basic view."""
    key = (operation, own)
    try:
        decision = caller.decisions[key]
    except KeyError:
        decision = caller.decisions[key] = _decide(caller, operation, own)
    if decision is None:
        raise access_denied()
    return decision


def _decide(caller: Caller, operation: str, own: bool) -> bool | None:
    rule = PERMISSIONS[operation]
    perms = caller.ctx.permissions
    if caller.ctx.kind == "application":
        allowed = rule.application
    else:
        allowed = rule.delegated if own else rule.shared
    granted = perms & allowed
    if not granted:
        return None
    return granted <= BASIC_ONLY


def calendar_access(caller: Caller, owner: MsUser, calendar: Calendar, write: bool) -> bool:
    """Raise 403 unless the caller may read (or write) `calendar`; True when private events must
    be redacted for this caller."""
    if caller.ctx.kind == "application" or caller.ctx.user_id == owner.id:
        return False
    role = calendar.permissions.get((caller.ctx.upn or "").lower())
    if role is None or role not in (_WRITE_ROLES if write else _READ_ROLES):
        raise access_denied()
    return role != "delegateWithPrivateEventAccess"


def limited_role(caller: Caller, owner: MsUser, calendar: Calendar) -> bool:
    """limitedRead delegates get the basic (body-less) view."""
    if caller.ctx.kind == "application" or caller.ctx.user_id == owner.id:
        return False
    return calendar.permissions.get((caller.ctx.upn or "").lower()) == "limitedRead"
