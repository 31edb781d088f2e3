"""The EWS operations, over the shared world.

Supported (anything else is an ErrorInvalidOperation fault naming the operation):

- ConvertId: EwsId/EwsLegacyId/OwaId/EntryId/HexEntryId/StoreId between each other for ids this
  mock issued; anything else (exchangelib's "DUMMY" version probe) is a per-id
  ErrorInvalidIdMalformed — the header still carries ServerVersionInfo.
- GetFolder / FindFolder: distinguished ids root, msgfolderroot, calendar, contacts (with
  t:Mailbox for another mailbox) and the FolderIds this mock issued.
- FindItem: Shallow traversal; m:IndexedPageItemView (Offset, MaxEntriesReturned, BasePoint),
  m:CalendarView (overlap of [StartDate, EndDate), MaxEntriesReturned truncates and clears
  IncludesLastItemInRange), no view; m:Restriction (IsEqualTo, IsNotEqualTo,
  IsGreaterThan[OrEqualTo], IsLessThan[OrEqualTo], Exists, Contains, And, Or, Not) and
  m:SortOrder on the fields below.
- GetItem, CreateItem (t:CalendarItem into calendars, t:Contact into contact folders), UpdateItem
  (SetItemField / AppendToItemField / DeleteItemField; a stale ChangeKey under NeverOverwrite or
  AutoResolve is ErrorIrresolvableConflict), DeleteItem (all DeleteTypes remove the item from the
  world's folder), SyncFolderItems, ResolveNames.

Fields the world models (others are accepted and ignored on write, absent on read): subject,
body (+BodyType), sensitivity, categories, start, end, start time zone, all-day, free/busy,
location, UID, required/optional attendees and resources; contact display/given/surname,
company, job title, EmailAddress1-3, BusinessPhone(2), MobilePhone.

SyncFolderItems sync states are opaque, signed, and tied to the world they were issued in (a
reset world answers ErrorInvalidSyncStateData). They hold the change cursor of the folder's
Collection, the change sequence at the first sync (deletions older than that are never reported)
and the world time at which the client last had everything (IncludesLastItemInRange): a change to
an item created after that time is a t:Create, otherwise a t:Update. An item changed again while
a first sync is still paging can therefore be reported as t:Create twice — documented choice.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from lxml import etree

from mock_providers.microsoft.ews.auth import (
    AccessDenied,
    Principal,
    calendar_rights,
    contacts_rights,
    mailbox_owner,
    root_visible,
)
from mock_providers.microsoft.ews.render import (
    BUSINESS_PHONE_KEYS,
    EMAIL_KEYS,
    FREE_BUSY_OUT,
    SENSITIVITY_OUT,
    DecodedId,
    FolderKind,
    FolderView,
    IdKind,
    Rights,
    ServerVersion,
    Shape,
    calendar_change_key,
    calendar_item,
    contact_item,
    contacts_change_key,
    decode_id,
    encode_id,
    error,
    folder_element,
    folder_key_for,
    success,
)
from mock_providers.microsoft.ews.xml import (
    T_NS,
    RequestRejected,
    local,
    m,
    schema_error,
    t,
    text,
)
from mock_providers.world import (
    Attendee,
    Calendar,
    Collection,
    Contact,
    ContactFolder,
    Event,
    MsUser,
)
from mock_providers.world.extensions import per_world
from mock_providers.world.seed import change_key

if TYPE_CHECKING:
    from mock_providers.hub import Hub
    from mock_providers.world import World

_ACCESS_DENIED = "Access is denied. Check credentials and try again."
_NOT_FOUND = "The specified object was not found in the store."
_MALFORMED = "Id is malformed."
_MAX_SYNC_CHANGES = 512


class ItemError(Exception):
    """A per-folder/per-item error, rendered as a ResponseMessage with ResponseClass Error."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


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


Handler = Callable[[OpContext, etree._Element], list[etree._Element]]
AttendeeKind = Literal["required", "optional", "resource"]
AttendeeResponse = Literal["none", "accepted", "declined", "tentativelyAccepted", "organizer"]
# model attribute -> value; ("attendees", kind) / ("email"|"phone", entry key) for list entries
Patch = dict[str | tuple[str, str], Any]


# -- folders --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FolderRef:
    kind: FolderKind
    owner: MsUser
    calendar: Calendar | None = None
    contacts: ContactFolder | None = None

    def view(self) -> FolderView:
        box = self.owner.mailbox
        if self.calendar is not None:
            return FolderView("calendar", folder_key_for("calendar", self.calendar.id),
                              "msgfolderroot", self.calendar.name,
                              calendar_change_key(self.calendar), len(self.calendar.events), 0)
        if self.contacts is not None:
            return FolderView("contacts", folder_key_for("contacts", self.contacts.id),
                              "msgfolderroot", self.contacts.name,
                              contacts_change_key(self.contacts), len(self.contacts.contacts), 0)
        if self.kind == "root":
            return FolderView("root", "root", None, "", "AQAAAA==", 0, 1)
        return FolderView("msgfolderroot", "msgfolderroot", "root", "Top of Information Store",
                          "AQAAAA==", 0, len(box.calendars) + len(box.contact_folders))

    def children(self) -> list[FolderRef]:
        if self.kind == "root":
            return [FolderRef("msgfolderroot", self.owner)]
        if self.kind == "msgfolderroot":
            box = self.owner.mailbox
            return ([FolderRef("calendar", self.owner, calendar=c) for c in box.calendars.values()]
                    + [FolderRef("contacts", self.owner, contacts=f)
                       for f in box.contact_folders.values()])
        return []


def resolve_folder(ctx: OpContext, elem: etree._Element) -> FolderRef:
    name = local(elem)
    if name == "DistinguishedFolderId":
        address = text(elem.find(t("Mailbox")), t("EmailAddress"))
        owner = mailbox_owner(ctx.world, ctx.acting, address)
        if owner is None:
            raise ItemError("ErrorNonExistentMailbox",
                            "The SMTP address has no mailbox associated with it.")
        box = owner.mailbox
        match elem.get("Id"):
            case "calendar":
                return FolderRef("calendar", owner, calendar=box.default_calendar)
            case "contacts":
                return FolderRef("contacts", owner, contacts=box.default_contacts)
            case "root":
                return FolderRef("root", owner)
            case "msgfolderroot":
                return FolderRef("msgfolderroot", owner)
        raise ItemError("ErrorFolderNotFound", "The specified folder could not be found in the "
                        "store.")
    if name != "FolderId":
        raise ItemError("ErrorInvalidIdMalformed", _MALFORMED)
    decoded = decode_id(elem.get("Id") or "")
    if decoded is None or decoded.kind != "folder":
        raise ItemError("ErrorInvalidIdMalformed", _MALFORMED)
    owner = _owner_of(ctx, decoded)
    kind, _, folder_id = decoded.key.partition(":")
    if owner is not None:
        if kind == "root" and not folder_id:
            return FolderRef("root", owner)
        if kind == "msgfolderroot" and not folder_id:
            return FolderRef("msgfolderroot", owner)
        if kind == "calendar" and folder_id in owner.mailbox.calendars:
            return FolderRef("calendar", owner, calendar=owner.mailbox.calendars[folder_id])
        if kind == "contacts" and folder_id in owner.mailbox.contact_folders:
            return FolderRef("contacts", owner, contacts=owner.mailbox.contact_folders[folder_id])
    raise ItemError("ErrorFolderNotFound", "The specified folder could not be found in the store.")


def _first_child(elem: etree._Element | None) -> etree._Element | None:
    if elem is None:
        return None
    return next((c for c in elem if isinstance(c.tag, str)), None)


def _owner_of(ctx: OpContext, decoded: DecodedId) -> MsUser | None:
    owner = ctx.world.ms_user(decoded.owner_id)
    if owner is None or owner.tenant_id != ctx.acting.tenant_id:
        return None
    return owner


def folder_rights(ctx: OpContext, ref: FolderRef, write: bool = False) -> Rights:
    ctx.touched(ref.owner)
    try:
        if ref.calendar is not None:
            return calendar_rights(ctx.acting, ref.owner, ref.calendar, write)
        if ref.contacts is not None:
            return contacts_rights(ctx.acting, ref.owner)
        rights = root_visible(ctx.acting, ref.owner)
        if write and not rights.write:
            raise AccessDenied()
        return rights
    except AccessDenied:
        raise ItemError("ErrorAccessDenied", _ACCESS_DENIED) from None


def _folder_ids(container: etree._Element | None) -> list[etree._Element]:
    if container is None:
        raise schema_error("The element has an incomplete content: a folder id list is required.")
    ids = [e for e in container if isinstance(e.tag, str)]
    if not ids:
        raise schema_error("The folder id list is empty.")
    return ids


# -- items ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EventRef:
    owner: MsUser
    event: Event
    calendar: Calendar

    @property
    def folder(self) -> FolderRef:
        return FolderRef("calendar", self.owner, calendar=self.calendar)


@dataclass(frozen=True, slots=True)
class ContactRef:
    owner: MsUser
    contact: Contact
    contacts: ContactFolder

    @property
    def folder(self) -> FolderRef:
        return FolderRef("contacts", self.owner, contacts=self.contacts)


ItemRef = EventRef | ContactRef


def resolve_item(ctx: OpContext, elem: etree._Element) -> ItemRef:
    if local(elem) != "ItemId":
        raise ItemError("ErrorInvalidIdMalformed", _MALFORMED)
    decoded = decode_id(elem.get("Id") or "")
    if decoded is None or decoded.kind == "folder":
        raise ItemError("ErrorInvalidIdMalformed", _MALFORMED)
    owner = _owner_of(ctx, decoded)
    if owner is not None:
        box = owner.mailbox
        if decoded.kind == "event":
            for calendar in box.calendars.values():
                event = calendar.events.get(decoded.key)
                if event is not None:
                    return EventRef(owner, event, calendar)
        else:
            for folder in box.contact_folders.values():
                contact = folder.contacts.get(decoded.key)
                if contact is not None:
                    return ContactRef(owner, contact, folder)
    raise ItemError("ErrorItemNotFound", _NOT_FOUND)


def world_id(ref: ItemRef) -> str:
    return ref.event.id if isinstance(ref, EventRef) else ref.contact.id


def render_item(parent: etree._Element, ref: ItemRef, shape: Shape, rights: Rights) -> None:
    if isinstance(ref, EventRef):
        calendar_item(parent, ref.event, ref.owner, ref.calendar, shape, rights)
    else:
        contact_item(parent, ref.contact, ref.owner, ref.contacts, shape, rights)


def read_shape(elem: etree._Element | None) -> Shape:
    if elem is None:
        raise schema_error("The element has an incomplete content: a shape is required.")
    base = text(elem, t("BaseShape"))
    if base not in ("IdOnly", "Default", "AllProperties"):
        raise schema_error(f"The value '{base}' is invalid for BaseShape.")
    if base != "IdOnly":
        return Shape(everything=True)
    props = elem.find(t("AdditionalProperties"))
    uris = frozenset(p.get("FieldURI", "") for p in props if isinstance(p.tag, str)) \
        if props is not None else frozenset()
    return Shape(everything=False, uris=uris)


# -- reading item fields from a request -----------------------------------------------------------
_SENSITIVITY_IN = {v: k for k, v in SENSITIVITY_OUT.items()}
_FREE_BUSY_IN = {v: k for k, v in FREE_BUSY_OUT.items()}
_RESPONSE_IN: dict[str, AttendeeResponse] = {
    "Unknown": "none", "Organizer": "organizer", "Tentative": "tentativelyAccepted",
    "Accept": "accepted", "Decline": "declined", "NoResponseReceived": "none"}
_ATTENDEE_KINDS: dict[str, AttendeeKind] = {"RequiredAttendees": "required",
                                            "OptionalAttendees": "optional",
                                            "Resources": "resource"}
_PHONE_KEYS = (*BUSINESS_PHONE_KEYS, "MobilePhone")


def _datetime(value: str | None, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat((value or "").strip().replace("Z", "+00:00"))
    except ValueError:
        raise schema_error(f"The '{name}' element is invalid - The value '{value}' is invalid "
                      "according to its datatype 'xs:dateTime'.") from None
    # Exchange reads a time without offset in the request's time zone; exchangelib always
    # sends an offset, so UTC is this mock's reading.
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _bool(value: str | None, name: str) -> bool:
    normalized = (value or "").strip().lower()
    if normalized not in ("true", "false", "1", "0"):
        raise schema_error(f"The '{name}' element is invalid - The value '{value}' is invalid "
                      "according to its datatype 'xs:boolean'.")
    return normalized in ("true", "1")


def _enum(value: str | None, table: dict[str, str], name: str) -> str:
    try:
        return table[(value or "").strip()]
    except KeyError:
        raise schema_error(f"The '{name}' element is invalid - The value '{value}' is invalid "
                      "according to its datatype.") from None


def _attendees(elem: etree._Element, kind: AttendeeKind) -> list[Attendee]:
    out: list[Attendee] = []
    for attendee in elem.findall(t("Attendee")):
        box = attendee.find(t("Mailbox"))
        email = (text(box, t("EmailAddress")) or "").strip()
        if not email:
            continue
        response = _RESPONSE_IN.get(text(attendee, t("ResponseType")) or "", "none")
        out.append(Attendee(email=email, name=text(box, t("Name"), "") or "", type=kind,
                            response=response))
    return out


def read_event_fields(elem: etree._Element) -> Patch:
    """Model-attribute patch from a request's t:CalendarItem (attendees keyed by (attendees,
    kind))."""
    patch: Patch = {}
    for child in elem:
        if not isinstance(child.tag, str) or etree.QName(child).namespace != T_NS:
            continue
        name, value = local(child), child.text
        if name == "Subject":
            patch["subject"] = value or ""
        elif name == "Body":
            patch["body"] = value or ""
            patch["body_type"] = "html" if (child.get("BodyType") or "").lower() == "html" \
                else "text"
        elif name == "Sensitivity":
            patch["sensitivity"] = _enum(value, _SENSITIVITY_IN, name)
        elif name == "Categories":
            patch["categories"] = [s.text or "" for s in child.findall(t("String"))]
        elif name in ("Start", "End"):
            patch[name.lower()] = _datetime(value, name)
        elif name == "IsAllDayEvent":
            patch["is_all_day"] = _bool(value, name)
        elif name == "LegacyFreeBusyStatus":
            patch["show_as"] = _enum(value, _FREE_BUSY_IN, name)
        elif name == "Location":
            patch["location"] = value or ""
        elif name == "UID":
            patch["ical_uid"] = (value or "").strip()
        elif name == "StartTimeZone":
            patch["time_zone"] = child.get("Id") or "UTC"
        elif name in _ATTENDEE_KINDS:
            kind = _ATTENDEE_KINDS[name]
            patch[("attendees", kind)] = _attendees(child, kind)
    return patch


def read_contact_fields(elem: etree._Element) -> Patch:
    patch: Patch = {}
    for child in elem:
        if not isinstance(child.tag, str) or etree.QName(child).namespace != T_NS:
            continue
        name, value = local(child), (child.text or "").strip()
        if name == "DisplayName":
            patch["display_name"] = value
        elif name == "GivenName":
            patch["given_name"] = value
        elif name == "Surname":
            patch["surname"] = value
        elif name == "CompanyName":
            patch["company_name"] = value or None
        elif name == "JobTitle":
            patch["job_title"] = value or None
        elif name in ("EmailAddresses", "PhoneNumbers"):
            slot = "email" if name == "EmailAddresses" else "phone"
            for entry in child.findall(t("Entry")):
                patch[(slot, entry.get("Key") or "")] = (entry.text or "").strip() or None
    return patch


def apply_event(event: Event, patch: Patch) -> None:
    for key, value in patch.items():
        if isinstance(key, tuple):
            event.attendees = [a for a in event.attendees if a.type != key[1]] + value
        else:
            setattr(event, key, value)


def apply_contact(contact: Contact, patch: Patch) -> None:
    emails = dict(zip(EMAIL_KEYS, contact.emails, strict=False))
    phones: dict[str, str | None] = dict(zip(BUSINESS_PHONE_KEYS, contact.business_phones,
                                             strict=False))
    phones["MobilePhone"] = contact.mobile_phone
    for key, value in patch.items():
        if not isinstance(key, tuple):
            setattr(contact, key, value)
        elif key[0] == "email" and key[1] in EMAIL_KEYS:
            emails[key[1]] = value
        elif key[0] == "phone" and key[1] in _PHONE_KEYS:
            phones[key[1]] = value
    contact.emails = [e for k in EMAIL_KEYS if (e := emails.get(k))]
    contact.business_phones = [p for k in BUSINESS_PHONE_KEYS if (p := phones.get(k))]
    contact.mobile_phone = phones.get("MobilePhone")


def _delete_patch(uri_elem: etree._Element, is_event: bool) -> Patch:
    uri = uri_elem.get("FieldURI") or ""
    index = uri_elem.get("FieldIndex")
    if is_event:
        table: dict[str, tuple[Any, Any]] = {
            "item:Subject": ("subject", ""), "item:Body": ("body", ""),
            "item:Categories": ("categories", []), "calendar:Location": ("location", ""),
            "calendar:RequiredAttendees": (("attendees", "required"), []),
            "calendar:OptionalAttendees": (("attendees", "optional"), []),
            "calendar:Resources": (("attendees", "resource"), []),
        }
    else:
        table = {"contacts:GivenName": ("given_name", ""), "contacts:Surname": ("surname", ""),
                 "contacts:CompanyName": ("company_name", None),
                 "contacts:JobTitle": ("job_title", None),
                 "contacts:EmailAddress": (("email", index or ""), None),
                 "contacts:PhoneNumber": (("phone", index or ""), None)}
    entry = table.get(uri)
    return {entry[0]: entry[1]} if entry else {}


# -- ConvertId ----------------------------------------------------------------------------------
_EWS_FORMATS = ("EwsId", "EwsLegacyId", "OwaId")


def _raw_id(fmt: str, value: str) -> bytes | None:
    try:
        if fmt in _EWS_FORMATS:
            return base64.b64decode(value, validate=True)
        if fmt in ("EntryId", "StoreId"):
            return base64.b64decode(value, validate=True)[4:]
        if fmt == "HexEntryId":
            return bytes.fromhex(value)[4:]
    except (binascii.Error, ValueError):
        return None
    return None


def _format_id(fmt: str, raw: bytes) -> str:
    if fmt in _EWS_FORMATS:
        return base64.b64encode(raw).decode()
    if fmt == "HexEntryId":
        return (b"\x00\x00\x00\x00" + raw).hex().upper()
    return base64.b64encode(b"\x00\x00\x00\x00" + raw).decode()


def convert_id(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    destination = op.get("DestinationFormat") or ""
    source_ids = op.find(m("SourceIds"))
    if source_ids is None or destination not in (*_EWS_FORMATS, "EntryId", "HexEntryId",
                                                  "StoreId"):
        raise schema_error("ConvertId needs a DestinationFormat and m:SourceIds.")
    messages: list[etree._Element] = []
    for source in source_ids:
        if not isinstance(source.tag, str):
            continue
        raw = _raw_id(source.get("Format") or "", source.get("Id") or "")
        decoded = decode_id(base64.b64encode(raw).decode()) if raw else None
        owner = _owner_of(ctx, decoded) if decoded is not None else None
        if decoded is None or owner is None:
            messages.append(error("ConvertId", "ErrorInvalidIdMalformed", _MALFORMED))
            continue
        message = success("ConvertId")
        etree.SubElement(message, m("AlternateId"), {
            "{http://www.w3.org/2001/XMLSchema-instance}type": "t:AlternateIdType",
            "Format": destination, "Id": _format_id(destination, raw or b""),
            "Mailbox": owner.upn})
        messages.append(message)
    return messages


# -- GetFolder / FindFolder ---------------------------------------------------------------------
def get_folder(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    shape = read_shape(op.find(m("FolderShape")))
    messages: list[etree._Element] = []
    for elem in _folder_ids(op.find(m("FolderIds"))):
        try:
            ref = resolve_folder(ctx, elem)
            rights = folder_rights(ctx, ref)
        except ItemError as err:
            messages.append(error("GetFolder", err.code, err.text))
            continue
        message = success("GetFolder")
        folder_element(etree.SubElement(message, m("Folders")), ref.owner, ref.view(), shape,
                       rights)
        messages.append(message)
    return messages


def find_folder(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    shape = read_shape(op.find(m("FolderShape")))
    deep = op.get("Traversal") == "Deep"
    view = op.find(m("IndexedPageFolderView"))
    offset, limit = _paging(view)
    messages: list[etree._Element] = []
    for elem in _folder_ids(op.find(m("ParentFolderIds"))):
        try:
            parent = resolve_folder(ctx, elem)
            folder_rights(ctx, parent)
        except ItemError as err:
            messages.append(error("FindFolder", err.code, err.text))
            continue
        found: list[tuple[FolderRef, Rights]] = []
        pending = parent.children()
        while pending:
            ref = pending.pop(0)
            try:
                found.append((ref, folder_rights(ctx, ref)))
            except ItemError:
                continue  # folders the caller cannot see are not listed
            if deep:
                pending.extend(ref.children())
        page = found[offset:offset + limit] if limit else found[offset:]
        message = success("FindFolder")
        root = etree.SubElement(message, m("RootFolder"), {
            "IndexedPagingOffset": str(offset + len(page)), "TotalItemsInView": str(len(found)),
            "IncludesLastItemInRange": "true" if offset + len(page) >= len(found) else "false"})
        folders = etree.SubElement(root, t("Folders"))
        for ref, rights in page:
            folder_element(folders, ref.owner, ref.view(), shape, rights)
        messages.append(message)
    return messages


def _int_attr(elem: etree._Element, name: str, default: int, low: int = 0) -> int:
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


def _paging(view: etree._Element | None) -> tuple[int, int]:
    if view is None:
        return 0, 0
    return _int_attr(view, "Offset", 0), _int_attr(view, "MaxEntriesReturned", 0, 1)


# -- restrictions and sorting ------------------------------------------------------------------
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
        "calendar:Location": lambda e: e.location, "calendar:UID": lambda e: e.ical_uid,
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


_EVENT_VALUES = _event_values()
_CONTACT_VALUES = _contact_values()
Predicate = Callable[[Any], bool]


def _getter(uri_elem: etree._Element, is_event: bool) -> Callable[[Any], Any]:
    uri = uri_elem.get("FieldURI") or ""
    values: dict[str, Callable[[Any], Any]] = _EVENT_VALUES if is_event else _CONTACT_VALUES
    getter = values.get(uri)
    if getter is None or local(uri_elem) not in ("FieldURI", "IndexedFieldURI"):
        raise ItemError("ErrorUnsupportedPathForQuery",
                        f"The property '{uri or local(uri_elem)}' can't be used in a query here.")
    index = uri_elem.get("FieldIndex")
    if uri == "contacts:EmailAddress" and index in EMAIL_KEYS:
        position = EMAIL_KEYS.index(index)
        return lambda c: c.emails[position] if len(c.emails) > position else None
    return getter


def _coerce(constant: str, sample: Any) -> Any:
    if isinstance(sample, datetime):
        return _datetime(constant, "Constant")
    if isinstance(sample, bool):
        return _bool(constant, "Constant")
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


def compile_restriction(elem: etree._Element, is_event: bool) -> Predicate:
    """A predicate over world items for one restriction element (depth bounded by the parser)."""
    name = local(elem)
    kids = [c for c in elem if isinstance(c.tag, str)]
    if name in ("And", "Or"):
        parts = [compile_restriction(c, is_event) for c in kids]
        return (lambda i: all(p(i) for p in parts)) if name == "And" \
            else (lambda i: any(p(i) for p in parts))
    if name == "Not" and len(kids) == 1:
        inner = compile_restriction(kids[0], is_event)
        return lambda i: not inner(i)
    if name == "Exists" and kids:
        getter = _getter(kids[0], is_event)
        return lambda i: getter(i) not in (None, "", [])
    if name in _COMPARISONS and len(kids) == 2:
        getter = _getter(kids[0], is_event)
        right_elem = next((c for c in kids[1] if isinstance(c.tag, str)), None)
        if right_elem is None:
            raise schema_error(f"{name} needs a t:FieldURIOrConstant.")
        if local(right_elem) == "Constant":
            constant = right_elem.get("Value") or ""
            return lambda i: _compare_constant(name, getter(i), constant)
        other = _getter(right_elem, is_event)
        return lambda i: _compare(name, getter(i), _norm(other(i)))
    if name == "Contains" and len(kids) == 2:
        return _contains(elem, _getter(kids[0], is_event), kids[1].get("Value") or "")
    raise ItemError("ErrorInvalidRestriction", f"The restriction element '{name}' is not "
                    "supported here.")


def _compare_constant(op_name: str, value: Any, constant: str) -> bool:
    sample = value[0] if isinstance(value, list) and value else value
    if sample is None:
        return op_name == "IsNotEqualTo"
    try:
        right = _coerce(constant, sample)
    except (RequestRejected, ValueError):
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


def _sort(items: list[Any], order: etree._Element | None, is_event: bool) -> list[Any]:
    if order is None:
        return items
    for field_order in reversed([c for c in order if isinstance(c.tag, str)]):
        uri_elem = next((c for c in field_order if isinstance(c.tag, str)), None)
        if uri_elem is None:
            raise schema_error("t:FieldOrder needs a field.")
        getter = _getter(uri_elem, is_event)
        items = sorted(items, key=lambda i, g=getter: _sort_key(g(i)),
                       reverse=field_order.get("Order") == "Descending")
    return items


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or value == []:
        return (0, "")
    if isinstance(value, list):
        value = value[0]
    return (1, _norm(value) if not isinstance(value, datetime) else value.timestamp())


# -- FindItem -----------------------------------------------------------------------------------
def find_item(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    shape = read_shape(op.find(m("ItemShape")))
    traversal = op.get("Traversal") or "Shallow"
    if traversal not in ("Shallow", "Deep", "SoftDeleted", "Associated"):
        raise schema_error(f"The value '{traversal}' is invalid for Traversal.")
    messages: list[etree._Element] = []
    for elem in _folder_ids(op.find(m("ParentFolderIds"))):
        try:
            messages.append(_find_in_folder(ctx, op, elem, shape, traversal))
        except ItemError as err:
            messages.append(error("FindItem", err.code, err.text))
    return messages


def _find_in_folder(ctx: OpContext, op: etree._Element, elem: etree._Element, shape: Shape,
                    traversal: str) -> etree._Element:
    ref = resolve_folder(ctx, elem)
    rights = folder_rights(ctx, ref)
    is_event = ref.calendar is not None
    items: list[Any]
    if traversal in ("SoftDeleted", "Associated"):
        items = []
    elif ref.calendar is not None:
        items = sorted(ref.calendar.events, key=lambda e: (e.start, e.id))
    elif ref.contacts is not None:
        items = sorted(ref.contacts.contacts, key=lambda c: (c.display_name.casefold(), c.id))
    else:
        items = []
    for unsupported in ("QueryString", "FractionalPageItemView", "GroupBy",
                        "DistinguishedGroupBy", "ContactsView"):
        if op.find(m(unsupported)) is not None:
            raise ItemError("ErrorUnsupportedQueryFilter",
                            f"m:{unsupported} is not supported by this server.")
    restriction = op.find(m("Restriction"))
    if restriction is not None:
        kids = [c for c in restriction if isinstance(c.tag, str)]
        if kids:
            predicate = compile_restriction(kids[0], is_event)
            items = [i for i in items if predicate(i)]
    calendar_view = op.find(m("CalendarView"))
    if calendar_view is not None and not is_event:
        raise ItemError("ErrorInvalidOperation",
                        "A CalendarView can only be used on a calendar folder.")
    message = success("FindItem")
    if calendar_view is not None:
        page, attrs = _calendar_view(items, calendar_view)
    else:
        items = _sort(items, op.find(m("SortOrder")), is_event)
        page, attrs = _indexed_view(items, op.find(m("IndexedPageItemView")))
    root = etree.SubElement(message, m("RootFolder"), attrs)
    container = etree.SubElement(root, t("Items"))
    for item in page:
        render_item(container, _item_ref(ref, item), shape, rights)
    ctx.detail["items"] = ctx.detail.get("items", 0) + len(page)
    return message


def _calendar_view(events: list[Event], view: etree._Element
                   ) -> tuple[list[Event], dict[str, str]]:
    start = _datetime(view.get("StartDate"), "StartDate")
    end = _datetime(view.get("EndDate"), "EndDate")
    if end < start:
        raise ItemError("ErrorCalendarEndDateIsEarlierThanStartDate",
                        "EndDate is earlier than StartDate.")
    if end - start > timedelta(days=2 * 366):
        raise ItemError("ErrorCalendarViewRangeTooBig",
                        "The time range for the calendar view is too big (at most two years).")
    limit = _int_attr(view, "MaxEntriesReturned", 0, 1)
    inside = [e for e in events if e.start < end and e.end > start]
    page = inside[:limit] if limit else inside
    return page, {"TotalItemsInView": str(len(page)),
                  "IncludesLastItemInRange": "true" if len(page) == len(inside) else "false"}


def _indexed_view(items: list[Any], view: etree._Element | None
                  ) -> tuple[list[Any], dict[str, str]]:
    offset, limit = _paging(view)
    total = len(items)
    if view is not None and view.get("BasePoint") == "End":
        stop = max(0, total - offset)
        begin = max(0, stop - limit) if limit else 0
        page = items[begin:stop]
        next_offset = offset + len(page)
        last = begin == 0
    else:
        page = items[offset:offset + limit] if limit else items[offset:]
        next_offset = offset + len(page)
        last = next_offset >= total
    return page, {"IndexedPagingOffset": str(next_offset), "TotalItemsInView": str(total),
                  "IncludesLastItemInRange": "true" if last else "false"}


# -- GetItem ------------------------------------------------------------------------------------
def get_item(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    shape = read_shape(op.find(m("ItemShape")))
    ids = op.find(m("ItemIds"))
    if ids is None:
        raise schema_error("GetItem needs m:ItemIds.")
    messages: list[etree._Element] = []
    for elem in ids:
        if not isinstance(elem.tag, str):
            continue
        try:
            ref = resolve_item(ctx, elem)
            rights = folder_rights(ctx, ref.folder)
        except ItemError as err:
            messages.append(error("GetItem", err.code, err.text))
            continue
        message = success("GetItem")
        render_item(etree.SubElement(message, m("Items")), ref, shape, rights)
        messages.append(message)
    return messages


# -- CreateItem ---------------------------------------------------------------------------------
_SEND_INVITATIONS = ("SendToNone", "SendOnlyToAll", "SendToAllAndSaveCopy")


def create_item(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    invitations = op.get("SendMeetingInvitations") or "SendToNone"
    disposition = op.get("MessageDisposition") or "SaveOnly"
    if invitations not in _SEND_INVITATIONS or disposition not in (
            "SaveOnly", "SendOnly", "SendAndSaveCopy"):
        raise schema_error("SendMeetingInvitations or MessageDisposition has an invalid value.")
    items = op.find(m("Items"))
    if items is None:
        raise schema_error("CreateItem needs m:Items.")
    ctx.detail.update(invitations=invitations, disposition=disposition, created=[])
    target_elem = _first_child(op.find(m("SavedItemFolderId")))
    messages: list[etree._Element] = []
    for item in items:
        if not isinstance(item.tag, str):
            continue
        try:
            messages.append(_create_one(ctx, item, target_elem))
        except ItemError as err:
            messages.append(error("CreateItem", err.code, err.text))
    return messages


def _create_one(ctx: OpContext, item: etree._Element,
                target_elem: etree._Element | None) -> etree._Element:
    kind = local(item)
    if kind not in ("CalendarItem", "Contact"):
        raise ItemError("ErrorInvalidOperation", f"This server only stores calendar items and "
                        f"contacts; '{kind}' cannot be created.")
    if target_elem is not None:
        ref = resolve_folder(ctx, target_elem)
    elif kind == "CalendarItem":
        ref = FolderRef("calendar", ctx.acting, calendar=ctx.acting.mailbox.default_calendar)
    else:
        ref = FolderRef("contacts", ctx.acting, contacts=ctx.acting.mailbox.default_contacts)
    if kind == "CalendarItem" and ref.calendar is None:
        raise ItemError("ErrorCannotCreateCalendarItemInNonCalendarFolder",
                        "Calendar items can only be created in a calendar folder.")
    if kind == "Contact" and ref.contacts is None:
        raise ItemError("ErrorCannotCreateContactInNonContactFolder",
                        "Contacts can only be created in a contacts folder.")
    rights = folder_rights(ctx, ref, write=True)
    message = success("CreateItem")
    container = etree.SubElement(message, m("Items"))
    world = ctx.world
    created: ItemRef
    if ref.calendar is not None:
        event = _new_event(world, ref.owner, read_event_fields(item))
        ref.calendar.events.put(event.id, event, world.next_seq())
        created = EventRef(ref.owner, event, ref.calendar)
    elif ref.contacts is not None:
        contact = _new_contact(world, read_contact_fields(item))
        ref.contacts.contacts.put(contact.id, contact, world.next_seq())
        created = ContactRef(ref.owner, contact, ref.contacts)
    ctx.detail["created"].append(world_id(created))
    render_item(container, created, Shape(everything=False), rights)
    return message


def _new_event(world: World, owner: MsUser, patch: Patch) -> Event:
    now = world.now()
    event_id = world.new_id()
    start = patch.get("start") or (now + timedelta(minutes=30 - now.minute % 30)).replace(
        second=0, microsecond=0)
    end = patch.get("end") or start + timedelta(minutes=30)
    if end < start:
        raise ItemError("ErrorCalendarEndDateIsEarlierThanStartDate",
                        "EndDate is earlier than StartDate.")
    event = Event(id=event_id, subject="", start=start, end=end, created=now, last_modified=now,
                  ical_uid=f"{event_id}@calharness", change_key=change_key(event_id, 0),
                  organizer_email=owner.upn, organizer_name=owner.display_name)
    apply_event(event, {k: v for k, v in patch.items() if k not in ("start", "end")})
    if not event.ical_uid:
        event.ical_uid = f"{event_id}@calharness"
    return event


def _new_contact(world: World, patch: Patch) -> Contact:
    now = world.now()
    contact_id = world.new_id()
    contact = Contact(id=contact_id, display_name="", created=now, last_modified=now,
                      change_key=change_key(contact_id, "ews-contact", world.seq))
    apply_contact(contact, patch)
    if not contact.display_name:
        contact.display_name = " ".join(p for p in (contact.given_name, contact.surname) if p) \
            or (contact.emails[0] if contact.emails else "")
    return contact


# -- UpdateItem ---------------------------------------------------------------------------------
_CONFLICT_MODES = ("NeverOverwrite", "AutoResolve", "AlwaysOverwrite")


def update_item(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    conflict = op.get("ConflictResolution") or "AutoResolve"
    if conflict not in _CONFLICT_MODES:
        raise schema_error(f"The value '{conflict}' is invalid for ConflictResolution.")
    changes = op.find(m("ItemChanges"))
    if changes is None:
        raise schema_error("UpdateItem needs m:ItemChanges.")
    ctx.detail.update(conflict_resolution=conflict, updated=[],
                      invitations=op.get("SendMeetingInvitationsOrCancellations"))
    messages: list[etree._Element] = []
    for change in changes:
        if not isinstance(change.tag, str):
            continue
        try:
            messages.append(_update_one(ctx, change, conflict))
        except ItemError as err:
            messages.append(error("UpdateItem", err.code, err.text))
    return messages


def _update_one(ctx: OpContext, change: etree._Element, conflict: str) -> etree._Element:
    id_elem = next((c for c in change if isinstance(c.tag, str)), None)
    updates = change.find(t("Updates"))
    if id_elem is None or updates is None:
        raise schema_error("t:ItemChange needs an item id and t:Updates.")
    ref = resolve_item(ctx, id_elem)
    rights = folder_rights(ctx, ref.folder, write=True)
    is_event = isinstance(ref, EventRef)
    current = ref.event.change_key if isinstance(ref, EventRef) else ref.contact.change_key
    sent_key = id_elem.get("ChangeKey")
    if sent_key and sent_key != current and conflict != "AlwaysOverwrite":
        raise ItemError("ErrorIrresolvableConflict",
                        "The send or update operation could not be performed because the change "
                        "key passed in the request does not match the current change key for the "
                        "item.")
    if isinstance(ref, EventRef) and rights.redact_private and ref.event.sensitivity == "private":
        raise ItemError("ErrorAccessDenied", _ACCESS_DENIED)
    patch: Patch = {}
    for update in updates:
        if not isinstance(update.tag, str):
            continue
        kids = [c for c in update if isinstance(c.tag, str)]
        if not kids:
            raise schema_error(f"t:{local(update)} needs a field.")
        if local(update) == "DeleteItemField":
            patch.update(_delete_patch(kids[0], is_event))
        elif len(kids) == 2 and local(update) in ("SetItemField", "AppendToItemField"):
            read = read_event_fields if is_event else read_contact_fields
            patch.update(read(kids[1]))
        else:
            raise ItemError("ErrorInvalidPropertySet",
                            f"t:{local(update)} must name a field and carry the item.")
    world = ctx.world
    if isinstance(ref, EventRef):
        event = ref.event
        _apply_event_update(event, patch)
        event.last_modified = world.now()
        event.sequence += 1
        event.change_key = change_key(event.id, event.sequence)
        ref.calendar.events.put(event.id, event, world.next_seq())
    else:
        contact = ref.contact
        apply_contact(contact, patch)
        seq = world.next_seq()
        contact.last_modified = world.now()
        contact.change_key = change_key(contact.id, "ews-contact", seq)
        ref.contacts.contacts.put(contact.id, contact, seq)
    ctx.detail["updated"].append(world_id(ref))
    message = success("UpdateItem")
    render_item(etree.SubElement(message, m("Items")), ref, Shape(everything=False), rights)
    conflicts = etree.SubElement(message, m("ConflictResults"))
    etree.SubElement(conflicts, t("Count")).text = "0"
    return message


def _apply_event_update(event: Event, patch: Patch) -> None:
    start, end = patch.get("start", event.start), patch.get("end", event.end)
    if end < start:
        raise ItemError("ErrorCalendarEndDateIsEarlierThanStartDate",
                        "EndDate is earlier than StartDate.")
    apply_event(event, patch)


# -- DeleteItem ---------------------------------------------------------------------------------
def delete_item(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    delete_type = op.get("DeleteType") or ""
    if delete_type not in ("HardDelete", "SoftDelete", "MoveToDeletedItems"):
        raise schema_error(f"The value '{delete_type}' is invalid for DeleteType.")
    cancellations = op.get("SendMeetingCancellations")
    ids = op.find(m("ItemIds"))
    if ids is None:
        raise schema_error("DeleteItem needs m:ItemIds.")
    ctx.detail.update(delete_type=delete_type, cancellations=cancellations, deleted=[])
    messages: list[etree._Element] = []
    for elem in ids:
        if not isinstance(elem.tag, str):
            continue
        try:
            ref = resolve_item(ctx, elem)
            rights = folder_rights(ctx, ref.folder, write=True)
            if isinstance(ref, EventRef):
                if rights.redact_private and ref.event.sensitivity == "private":
                    raise ItemError("ErrorAccessDenied", _ACCESS_DENIED)
                if cancellations not in _SEND_INVITATIONS:
                    raise ItemError("ErrorSendMeetingCancellationsRequired",
                                    "SendMeetingCancellations attribute is required for Calendar "
                                    "items.")
                ref.calendar.events.delete(ref.event.id, ctx.world.next_seq())
            else:
                ref.contacts.contacts.delete(ref.contact.id, ctx.world.next_seq())
        except ItemError as err:
            messages.append(error("DeleteItem", err.code, err.text))
            continue
        ctx.detail["deleted"].append(world_id(ref))
        messages.append(success("DeleteItem"))
    return messages


# -- SyncFolderItems ----------------------------------------------------------------------------
_STATE_KEY = secrets.token_bytes(32)


@dataclass(frozen=True, slots=True)
class SyncState:
    folder: str  # folder key
    owner: str
    cursor: int
    first: int  # world change sequence when this sync chain started
    complete_at: float  # world time the client last had everything (0: never)


# A per-world nonce in every SyncState: a state from before a reset is refused.
_world_nonce = per_world(lambda: secrets.token_hex(8))


def encode_sync_state(world: World, state: SyncState) -> str:
    payload = json.dumps([_world_nonce(world), state.folder, state.owner, state.cursor,
                          state.first, state.complete_at], separators=(",", ":")).encode()
    mac = hmac.new(_STATE_KEY, payload, hashlib.sha256).digest()[:16]
    return base64.b64encode(mac + payload).decode()


def decode_sync_state(world: World, value: str) -> SyncState | None:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    mac, payload = raw[:16], raw[16:]
    if len(raw) < 17 or not hmac.compare_digest(
            mac, hmac.new(_STATE_KEY, payload, hashlib.sha256).digest()[:16]):
        return None
    try:
        nonce, folder, owner, cursor, first, complete_at = json.loads(payload)
    except (ValueError, TypeError):
        return None
    if nonce != _world_nonce(world) or cursor > world.seq:
        return None
    return SyncState(folder, owner, int(cursor), int(first), float(complete_at))


def _sync_error(code: str, text_: str) -> etree._Element:
    message = error("SyncFolderItems", code, text_)
    etree.SubElement(message, m("SyncState"))
    etree.SubElement(message, m("IncludesLastItemInRange")).text = "true"
    return message


def sync_folder_items(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    shape = read_shape(op.find(m("ItemShape")))
    folder_elem = _first_child(op.find(m("SyncFolderId")))
    if folder_elem is None:
        raise schema_error("SyncFolderItems needs m:SyncFolderId.")
    raw_max = text(op, m("MaxChangesReturned"))
    try:
        max_changes = int(raw_max or "")
    except ValueError:
        raise schema_error(f"MaxChangesReturned '{raw_max}' is not an integer.") from None
    if not 1 <= max_changes <= _MAX_SYNC_CHANGES:
        raise schema_error(f"MaxChangesReturned must be between 1 and {_MAX_SYNC_CHANGES}.")
    ignore_elem = op.find(m("Ignore"))
    ignore = {e.get("Id") for e in ignore_elem if isinstance(e.tag, str)} \
        if ignore_elem is not None else set()
    try:
        ref = resolve_folder(ctx, folder_elem)
        rights = folder_rights(ctx, ref)
    except ItemError as err:
        return [_sync_error(err.code, err.text)]
    if ref.calendar is None and ref.contacts is None:
        return [_sync_error("ErrorInvalidOperation", "Only calendar and contacts folders can be "
                            "synchronised by this server.")]
    folder_key = ref.view().key
    raw_state = text(op, m("SyncState"))
    world = ctx.world
    if raw_state:
        state = decode_sync_state(world, raw_state)
        if state is None or state.folder != folder_key or state.owner != ref.owner.id:
            return [_sync_error("ErrorInvalidSyncStateData",
                                "Synchronization state data is corrupt or otherwise invalid.")]
    else:
        state = SyncState(folder_key, ref.owner.id, 0, world.seq, 0.0)
    return [_sync_page(ctx, ref, rights, shape, state, max_changes, ignore)]


def _sync_page(ctx: OpContext, ref: FolderRef, rights: Rights, shape: Shape, state: SyncState,
               max_changes: int, ignore: set[str | None]) -> etree._Element:
    world = ctx.world
    owner = ref.owner
    collection: Collection[Event] | Collection[Contact]
    kind: IdKind
    if ref.calendar is not None:
        collection, kind = ref.calendar.events, "event"
    elif ref.contacts is not None:
        collection, kind = ref.contacts.contacts, "contact"
    else:
        raise ValueError("only calendars and contact folders have items")
    changes = collection.changes_since(state.cursor)
    message = success("SyncFolderItems")
    sync_state = etree.SubElement(message, m("SyncState"))
    last_in_range = etree.SubElement(message, m("IncludesLastItemInRange"))
    container = etree.SubElement(message, m("Changes"))
    cursor, emitted, counts = state.cursor, 0, {"create": 0, "update": 0, "delete": 0}
    complete = True
    for change in changes:
        if emitted >= max_changes:
            complete = False
            break
        cursor = change.seq
        item_id = encode_id(kind, owner, change.item_id)
        if item_id in ignore:
            continue
        if change.deleted:
            if change.seq <= state.first:
                continue  # deleted before this client ever synced
            entry = etree.SubElement(container, t("Delete"))
            etree.SubElement(entry, t("ItemId"), Id=item_id)
            counts["delete"] += 1
        else:
            item = collection.get(change.item_id)
            if item is None:
                continue
            created = item.created.timestamp() > state.complete_at
            entry = etree.SubElement(container, t("Create" if created else "Update"))
            render_item(entry, _item_ref(ref, item), shape, rights)
            counts["create" if created else "update"] += 1
        emitted += 1
    complete_at = world.clock.timestamp() if complete else state.complete_at
    new_state = SyncState(state.folder, state.owner, cursor, state.first, complete_at)
    sync_state.text = encode_sync_state(world, new_state)
    last_in_range.text = "true" if complete else "false"
    ctx.detail.update(changes=counts, incremental=state.cursor > 0)
    return message


def _item_ref(ref: FolderRef, item: Event | Contact) -> ItemRef:
    if isinstance(item, Event) and ref.calendar is not None:
        return EventRef(ref.owner, item, ref.calendar)
    if isinstance(item, Contact) and ref.contacts is not None:
        return ContactRef(ref.owner, item, ref.contacts)
    raise ValueError("the item does not belong to this folder")


# -- ResolveNames -------------------------------------------------------------------------------
def resolve_names(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    full = (op.get("ReturnFullContactData") or "false").lower() in ("true", "1")
    messages: list[etree._Element] = []
    for entry in op.findall(m("UnresolvedEntry")):
        query = (entry.text or "").strip()
        if query.lower().startswith("smtp:"):
            query = query[5:]
        needle = query.casefold()
        tenant = ctx.world.tenant(ctx.acting.tenant_id)
        users = [u for u in (tenant.users.values() if tenant else [])
                 if needle and (u.upn.casefold().startswith(needle)
                                or any(p.casefold().startswith(needle)
                                       for p in u.display_name.split())
                                or u.display_name.casefold().startswith(needle))]
        users.sort(key=lambda u: u.upn)
        if not users:
            messages.append(error("ResolveNames", "ErrorNameResolutionNoResults",
                                  "No results were found."))
            continue
        if len(users) > 1:
            message = etree.Element(m("ResolveNamesResponseMessage"), ResponseClass="Warning")
            etree.SubElement(message, m("MessageText")).text = "Multiple results were found."
            etree.SubElement(message, m("ResponseCode")).text = \
                "ErrorNameResolutionMultipleResults"
            etree.SubElement(message, m("DescriptiveLinkKey")).text = "0"
        else:
            message = success("ResolveNames")
        found = users[:100]
        resolution_set = etree.SubElement(message, m("ResolutionSet"), {
            "TotalItemsInView": str(len(found)),
            "IncludesLastItemInRange": "true" if len(found) == len(users) else "false"})
        for user in found:
            resolution = etree.SubElement(resolution_set, t("Resolution"))
            box = etree.SubElement(resolution, t("Mailbox"))
            etree.SubElement(box, t("Name")).text = user.display_name
            etree.SubElement(box, t("EmailAddress")).text = user.upn
            etree.SubElement(box, t("RoutingType")).text = "SMTP"
            etree.SubElement(box, t("MailboxType")).text = "Mailbox"
            if full:
                contact = etree.SubElement(resolution, t("Contact"))
                etree.SubElement(contact, t("DisplayName")).text = user.display_name
                etree.SubElement(contact, t("GivenName")).text = user.given_name
                emails = etree.SubElement(contact, t("EmailAddresses"))
                etree.SubElement(emails, t("Entry"), Key="EmailAddress1").text = \
                    f"SMTP:{user.upn}"
                etree.SubElement(contact, t("ContactSource")).text = "ActiveDirectory"
                etree.SubElement(contact, t("Surname")).text = user.surname
        messages.append(message)
    return messages


# -- the SOAP header ----------------------------------------------------------------------------
_DEFAULT_REQUEST_VERSION = "Exchange2007_SP1"  # what Exchange assumes without the element


def read_header(header: etree._Element | None) -> tuple[str, str | None]:
    """(RequestServerVersion, the mailbox ExchangeImpersonation names or None)."""
    if header is None:
        return _DEFAULT_REQUEST_VERSION, None
    version_elem = header.find(t("RequestServerVersion"))
    version = _DEFAULT_REQUEST_VERSION
    if version_elem is not None:
        version = (version_elem.get("Version") or "").strip()
    impersonation = header.find(t("ExchangeImpersonation"))
    if impersonation is None:
        return version, None
    sid = impersonation.find(t("ConnectingSID"))
    for name in ("PrimarySmtpAddress", "SmtpAddress", "PrincipalName", "SID"):
        value = text(sid, t(name))
        if value and value.strip():
            return version, value.strip()
    raise schema_error("ExchangeImpersonation needs t:ConnectingSID with PrimarySmtpAddress, "
                  "SmtpAddress, PrincipalName or SID.")


OPERATIONS: dict[str, Handler] = {
    "ConvertId": convert_id,
    "GetFolder": get_folder,
    "FindFolder": find_folder,
    "FindItem": find_item,
    "GetItem": get_item,
    "CreateItem": create_item,
    "UpdateItem": update_item,
    "DeleteItem": delete_item,
    "SyncFolderItems": sync_folder_items,
    "ResolveNames": resolve_names,
}
