"""What every EWS operation is given and shares: the OpContext (hub, world, caller, acting
mailbox, server version, audit detail), ItemError for a per-folder/per-item error, and the readers
of request values more than one operation needs (an id's owner, the response shape, xs:dateTime,
xs:boolean, xs:int attributes, indexed paging)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lxml import etree

from mock_providers.microsoft.ews.auth import Principal
from mock_providers.microsoft.ews.recurrence import ItemError as ItemError  # re-exported
from mock_providers.microsoft.ews.render import DecodedId, ServerVersion, Shape
from mock_providers.microsoft.ews.stored import extended_key
from mock_providers.microsoft.ews.xml import local, schema_error, t, text
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


def read_datetime(value: str | None, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat((value or "").strip().replace("Z", "+00:00"))
    except ValueError:
        raise schema_error(f"The '{name}' element is invalid - The value '{value}' is invalid "
                           "according to its datatype 'xs:dateTime'.") from None
    # Exchange reads a time without offset in the request's time zone; exchangelib always
    # sends an offset, so UTC is this mock's reading.
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


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
