"""What every EWS operation is given and shares: the OpContext (hub, world, caller, acting
mailbox, server version, audit detail), ItemError for a per-folder/per-item error, and the readers
of request values more than one operation needs (an id's owner, the response shape, xs:dateTime,
xs:boolean, xs:int attributes, indexed paging)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from lxml import etree

from mock_providers.microsoft.ews.auth import Principal
from mock_providers.microsoft.ews.recurrence import ItemError as ItemError  # re-exported
from mock_providers.microsoft.ews.render import DecodedId, ServerVersion, Shape
from mock_providers.microsoft.ews.stored import extended_key
from mock_providers.microsoft.ews.xml import local, schema_error, t, text
from mock_providers.microsoft.graph.timezones import MAX_INSTANT, MIN_INSTANT, resolve_tz
from mock_providers.world import MsUser

if TYPE_CHECKING:
    from mock_providers.hub import Hub
    from mock_providers.world import World

ACCESS_DENIED = "Access is denied. Check credentials and try again."
MALFORMED = "Id is malformed."


@dataclass
class OpContext:
    hub: Hub
    world: World
    principal: Principal
    acting: MsUser  # the user whose rights apply (signed-in or impersonated)
    version: ServerVersion
    detail: dict[str, Any] = field(default_factory=dict)

    def touched(self, owner: MsUser) -> None:
        mailboxes = self.detail.setdefault("mailboxes", [])
        if owner.upn not in mailboxes:
            mailboxes.append(owner.upn)


def first_child(elem: etree._Element | None) -> etree._Element | None:
    if elem is None:
        return None
    return next((c for c in elem if isinstance(c.tag, str)), None)


def owner_of(ctx: OpContext, decoded: DecodedId) -> MsUser | None:
    owner = ctx.world.ms_user(decoded.owner_id)
    if owner is None or owner.tenant_id != ctx.acting.tenant_id:
        return None
    return owner


def read_shape(elem: etree._Element | None) -> Shape:
    if elem is None:
        raise schema_error("The element has an incomplete content: a shape is required.")
    base = text(elem, t("BaseShape"))
    if base not in ("IdOnly", "Default", "AllProperties"):
        raise schema_error(f"The value '{base}' is invalid for BaseShape.")
    props = elem.find(t("AdditionalProperties"))
    kids = [p for p in props if isinstance(p.tag, str)] if props is not None else []
    extended = frozenset(extended_key(p) for p in kids if local(p) == "ExtendedFieldURI")
    if base != "IdOnly":
        return Shape(everything=True, extended=extended)
    # contacts:PhysicalAddress:Street (one part of an address) asks for the addresses
    uris = frozenset(":".join(p.get("FieldURI", "").split(":")[:2]) for p in kids)
    return Shape(everything=False, uris=uris, extended=extended)


@dataclass(frozen=True, slots=True)
class SessionZone:
    """The request's t:TimeZoneContext: the zone Exchange reads a time without offset in and
    gives a new calendar item that names none (UTC without the header)."""

    name: str  # as the client named it (a Windows id from exchangelib), kept on new items
    zone: tzinfo


UTC_SESSION = SessionZone("UTC", UTC)
# Set by the endpoint around one request's operation (the operation runs without an await, so
# no other request's value can be seen).
SESSION_ZONE: ContextVar[SessionZone] = ContextVar("ews_session_zone", default=UTC_SESSION)


def read_time_zone_context(header: etree._Element | None) -> SessionZone:
    """The SOAP header's t:TimeZoneContext. Its t:TimeZoneDefinition is required (the schema's
    "Can be Empty: False"); an Id this mock cannot resolve (it knows UTC, IANA names and the
    common Windows ids) leaves the session in UTC, as before the header was read, rather than
    failing a client whose zone is only missing from the mock's table."""
    context = header.find(t("TimeZoneContext")) if header is not None else None
    if context is None:
        return UTC_SESSION
    definition = context.find(t("TimeZoneDefinition"))
    if definition is None:
        raise schema_error("The element 'TimeZoneContext' has incomplete content. List of "
                           "possible elements expected: 'TimeZoneDefinition'.")
    name = (definition.get("Id") or "").strip()
    zone = resolve_tz(name) if name else None
    return SessionZone(name, zone) if zone is not None else UTC_SESSION


def read_datetime(value: str | None, name: str) -> datetime:
    """An xs:dateTime as a UTC instant; one without offset is read in the session's zone
    (t:TimeZoneContext), as Exchange does. A value whose UTC time falls outside the years a
    .NET DateTime holds (0001-01-01T00:00:00+14:00, 9999-12-31T22:00:00-11:00) is not a
    DateTime Exchange can read: the same schema fault as any other invalid xs:dateTime."""
    raw = (value or "").strip()
    invalid = schema_error(f"The '{name}' element is invalid - The value '{value}' is invalid "
                           "according to its datatype 'xs:dateTime'.")
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=SESSION_ZONE.get().zone)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise invalid from None


def check_calendar_range(moment: datetime, name: str) -> datetime:
    """A calendar item's time (or a CalendarView bound) inside the range every zone can render
    (a day inside the years 1–9999, as Graph's): outside, Exchange's ErrorCalendarOutOfRange
    for that item, where rendering it in a zone west or east of UTC would leave the years a
    DateTime can write."""
    if not MIN_INSTANT <= moment <= MAX_INSTANT:
        raise ItemError("ErrorCalendarOutOfRange",
                        f"The value of '{name}' is out of the range a calendar item can have.")
    return moment


def read_bool(value: str | None, name: str) -> bool:
    normalized = (value or "").strip().lower()
    if normalized not in ("true", "false", "1", "0"):
        raise schema_error(f"The '{name}' element is invalid - The value '{value}' is invalid "
                           "according to its datatype 'xs:boolean'.")
    return normalized in ("true", "1")


def int_attr(elem: etree._Element, name: str, default: int, low: int = 0) -> int:
    raw = elem.get(name)
    if raw is None:
        return default
    try:
        if not raw.strip().isascii():  # int() would take '４' or '²'; xs:int does not
            raise ValueError(raw)
        value = int(raw)
    except ValueError:
        raise schema_error(f"The '{name}' attribute is invalid - The value '{raw}' is invalid "
                           "according to its datatype 'xs:int'.") from None
    if value < low:
        raise schema_error(f"The '{name}' attribute must be at least {low}.")
    return value


def paging(view: etree._Element | None) -> tuple[int, int]:
    if view is None:
        return 0, 0
    return int_attr(view, "Offset", 0), int_attr(view, "MaxEntriesReturned", 0, 1)
