"""Item fields Exchange stores that the provider-neutral world does not model (Importance,
reminders, Culture, IsResponseRequested, AllowNewTimeProposal, meeting URLs, a contact's middle
name, birthday, addresses, most phone numbers, extended properties ...), kept in the item's
`extra["ews"]` as plain data and written back as they were sent.

An element is kept as a `Node` (local name in the types namespace, attributes, text, children),
never as lxml objects or XML text, so the world holds plain data and nothing here parses XML.
Indexed containers (PhoneNumbers, PhysicalAddresses, ImAddresses, EmailAddresses) are kept per
entry Key, and a PhysicalAddresses entry per part (Street, City ...), as UpdateItem sets them.
Extended properties are kept per property identity (`extended_key`) and, as Exchange does, only
returned when an ItemShape names them.

Graph and Google renderers never read `extra["ews"]`.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from mock_providers.microsoft.ews.xml import T_NS, local, t

EXTRA = "ews"
Node = tuple[str, tuple[tuple[str, str], ...], str | None, tuple[Any, ...]]

INDEXED = {"EmailAddresses": "contacts:EmailAddress", "PhoneNumbers": "contacts:PhoneNumber",
           "PhysicalAddresses": "contacts:PhysicalAddress", "ImAddresses": "contacts:ImAddress"}
INDEXED_BY_URI = {v: k for k, v in INDEXED.items()}

def _names(words: str) -> list[str]:
    return words.split()


# Schema order (types.xsd ItemType, then CalendarItemType / ContactItemType): the order a
# rendered item's children are put in once stored fields are added.
_ITEM_ORDER = _names(
    "MimeContent ItemId ParentFolderId ItemClass Subject Sensitivity Body Attachments "
    "DateTimeReceived Size Categories Importance InReplyTo IsSubmitted IsDraft IsFromMe IsResend "
    "IsUnmodified InternetMessageHeaders DateTimeSent DateTimeCreated ResponseObjects "
    "ReminderDueBy ReminderIsSet ReminderNextTime ReminderMinutesBeforeStart DisplayCc DisplayTo "
    "HasAttachments ExtendedProperty Culture EffectiveRights LastModifiedName LastModifiedTime "
    "IsAssociated WebClientReadFormQueryString WebClientEditFormQueryString ConversationId "
    "UniqueBody Flag StoreEntryId InstanceKey NormalizedBody EntityExtractionResult PolicyTag "
    "ArchiveTag RetentionDate Preview")
_CALENDAR_ORDER = _names(
    "UID RecurrenceId DateTimeStamp Start End OriginalStart IsAllDayEvent LegacyFreeBusyStatus "
    "Location When IsMeeting IsCancelled IsRecurring MeetingRequestWasSent IsResponseRequested "
    "CalendarItemType MyResponseType Organizer RequiredAttendees OptionalAttendees Resources "
    "ConflictingMeetingCount AdjacentMeetingCount ConflictingMeetings AdjacentMeetings Duration "
    "TimeZone AppointmentReplyTime AppointmentSequenceNumber AppointmentState Recurrence "
    "FirstOccurrence LastOccurrence ModifiedOccurrences DeletedOccurrences MeetingTimeZone "
    "StartTimeZone EndTimeZone ConferenceType AllowNewTimeProposal IsOnlineMeeting "
    "MeetingWorkspaceUrl NetShowUrl EnhancedLocation StartWallClock EndWallClock "
    "StartTimeZoneId EndTimeZoneId IntendedFreeBusyStatus JoinOnlineMeetingUrl "
    "OnlineMeetingSettings IsOrganizer")
_CONTACT_ORDER = _names(
    "FileAs FileAsMapping DisplayName GivenName Initials MiddleName Nickname CompleteName "
    "CompanyName EmailAddresses AbchEmailAddresses PhysicalAddresses PhoneNumbers AssistantName "
    "Birthday BusinessHomePage Children Companies ContactSource Department Generation "
    "ImAddresses JobTitle Manager Mileage OfficeLocation PostalAddressIndex Profession "
    "SpouseName Surname WeddingAnniversary HasPicture PhoneticFullName PhoneticFirstName "
    "PhoneticLastName Alias Notes Photo UserSMIMECertificate MSExchangeCertificate "
    "DirectoryId ManagerMailbox DirectReports")
ORDER = {"CalendarItem": {n: i for i, n in enumerate(_ITEM_ORDER + _CALENDAR_ORDER)},
         "Contact": {n: i for i, n in enumerate(_ITEM_ORDER + _CONTACT_ORDER)}}
_CONTACT_NAMES = frozenset(_CONTACT_ORDER)
_CALENDAR_NAMES = frozenset(_CALENDAR_ORDER)
_URI_NAMES = {"OfficeLocation": "contacts:OfficeLocation"}


def field_uri(name: str) -> str:
    """The FieldURI an ItemShape names an element by (`item:Importance`, `calendar:When`)."""
    if name in INDEXED:
        return INDEXED[name]
    if name in _URI_NAMES:
        return _URI_NAMES[name]
    prefix = "calendar" if name in _CALENDAR_NAMES else "contacts" if name in _CONTACT_NAMES \
        else "item"
    return f"{prefix}:{name}"


def element_name(uri: str) -> str:
    """The element a FieldURI names (`item:Importance` → `Importance`)."""
    return uri.partition(":")[2]


def to_node(elem: etree._Element) -> Node:
    kids = tuple(to_node(c) for c in elem if isinstance(c.tag, str))
    attrs = tuple(sorted((k, v) for k, v in elem.attrib.items() if isinstance(k, str)
                         and not k.startswith("{")))
    return (local(elem), attrs, None if kids else (elem.text or ""), kids)


def to_element(parent: etree._Element, node: Node) -> etree._Element:
    name, attrs, value, kids = node
    elem = etree.SubElement(parent, t(name), dict(attrs))
    if value is not None:
        elem.text = value  # came in as XML text, so XML-legal
    for kid in kids:
        to_element(elem, kid)
    return elem


def extended_key(uri_elem: etree._Element) -> str:
    """One extended property's identity, from a t:ExtendedFieldURI (case as Exchange compares:
    names and set ids are case-insensitive)."""
    parts = [f"{k}={(uri_elem.get(k) or '').lower()}" for k in (
        "DistinguishedPropertySetId", "PropertySetId", "PropertyTag", "PropertyName",
        "PropertyId")]
    return "|".join(parts)


def extended_key_of_node(node: Node) -> str | None:
    uri = next((k for k in node[3] if k[0] == "ExtendedFieldURI"), None)
    if uri is None:
        return None
    attrs = dict(uri[1])
    return "|".join(f"{k}={attrs.get(k, '').lower()}" for k in (
        "DistinguishedPropertySetId", "PropertySetId", "PropertyTag", "PropertyName",
        "PropertyId"))


def store(extra: dict[str, Any]) -> dict[str, Any]:
    return extra.setdefault(EXTRA, {"fields": {}, "indexed": {}, "extended": {}})


def stored(extra: dict[str, Any]) -> dict[str, Any] | None:
    return extra.get(EXTRA)


def stored_value(extra: dict[str, Any], name: str) -> str | None:
    """The text of a stored simple field, or None."""
    data = extra.get(EXTRA)
    node = data["fields"].get(name) if data else None
    return node[2] if node else None


def extended_value(extra: dict[str, Any], key: str) -> str | list[str] | None:
    """A stored extended property's value (t:Value, or the t:Values of an array), or None."""
    data = extra.get(EXTRA)
    node = data["extended"].get(key) if data else None
    if node is None:
        return None
    for kid in node[3]:
        if kid[0] == "Value":
            return kid[2] or ""
        if kid[0] == "Values":
            return [v[2] or "" for v in kid[3]]
    return None


def render_stored(item: etree._Element, extra: dict[str, Any], wants: Any,
                  extended: frozenset[str], kind: str) -> None:
    """Add the stored fields `wants` asks for (replacing a default the renderer wrote), the
    stored indexed entries, and the extended properties named in `extended`; then put the
    item's children in schema order."""
    data = extra.get(EXTRA)
    if data:
        for name, node in data["fields"].items():
            if not wants(field_uri(name)):
                continue
            old = item.find(t(name))
            if old is not None:
                item.remove(old)
            to_element(item, node)
        for container, entries in data["indexed"].items():
            if not entries or not wants(INDEXED[container]):
                continue
            box = item.find(t(container))
            if box is None:
                box = etree.SubElement(item, t(container))
            present = {e.get("Key") for e in box}
            for key, entry in entries.items():
                if key not in present:
                    to_element(box, entry)
        for key, node in data["extended"].items():
            if key in extended:
                to_element(item, node)
    order = ORDER[kind]
    children = sorted(item, key=lambda c: order.get(etree.QName(c).localname, len(order)))
    item[:] = children


def is_types(elem: etree._Element) -> bool:
    return etree.QName(elem).namespace == T_NS
