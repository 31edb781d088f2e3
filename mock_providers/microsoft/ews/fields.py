"""The item fields a request writes: the children of a t:CalendarItem / t:Contact read into a
Patch, a DeleteItemField's field URI as the Patch that clears it, and a Patch applied to the
world's Event / Contact.

Fields the world models (others are accepted and ignored on write, absent on read): subject,
body (+BodyType), sensitivity, categories, start, end, start time zone, all-day, free/busy,
location, UID, required/optional attendees and resources; contact display/given/surname,
company, job title, EmailAddress1-3, BusinessPhone(2), MobilePhone.
"""

from __future__ import annotations

from typing import Any, Literal

from lxml import etree

from mock_providers.microsoft.ews.context import check_calendar_range, read_bool, read_datetime
from mock_providers.microsoft.ews.recurrence import build, read_recurrence
from mock_providers.microsoft.ews.render import (
    BUSINESS_PHONE_KEYS,
    EMAIL_KEYS,
    FREE_BUSY_OUT,
    SENSITIVITY_OUT,
    slot_keys,
)
from mock_providers.microsoft.ews.stored import (
    INDEXED,
    INDEXED_BY_URI,
    element_name,
    extended_key,
    store,
    to_node,
)
from mock_providers.microsoft.ews.xml import T_NS, local, schema_error, t, text
from mock_providers.world import Attendee, Contact, Event
from mock_providers.world.limits import exchange_text

AttendeeKind = Literal["required", "optional", "resource"]
AttendeeResponse = Literal["none", "accepted", "declined", "tentativelyAccepted", "organizer"]
# model attribute -> value; ("attendees", kind) / ("email"|"phone", entry key) for list entries
Patch = dict[str | tuple[str, str], Any]

_SENSITIVITY_IN = {v: k for k, v in SENSITIVITY_OUT.items()}
_FREE_BUSY_IN = {v: k for k, v in FREE_BUSY_OUT.items()}
_RESPONSE_IN: dict[str, AttendeeResponse] = {
    "Unknown": "none", "Organizer": "organizer", "Tentative": "tentativelyAccepted",
    "Accept": "accepted", "Decline": "declined", "NoResponseReceived": "none"}
_ATTENDEE_KINDS: dict[str, AttendeeKind] = {"RequiredAttendees": "required",
                                            "OptionalAttendees": "optional",
                                            "Resources": "resource"}
_PHONE_KEYS = (*BUSINESS_PHONE_KEYS, "MobilePhone")


# Fields whose schema type is simple content (a string, boolean, number, date or enumeration):
# an element inside one is a schema error in Exchange, not something to ignore.
_SIMPLE = frozenset({"Subject", "Body", "Sensitivity", "Start", "End", "IsAllDayEvent",
                     "LegacyFreeBusyStatus", "Location", "UID", "Importance", "ReminderIsSet",
                     "ReminderMinutesBeforeStart", "ReminderDueBy", "IsResponseRequested",
                     "AllowNewTimeProposal", "Culture", "DisplayName", "GivenName", "Surname",
                     "MiddleName", "Nickname", "Initials", "Generation", "CompanyName",
                     "JobTitle", "Department", "Manager", "AssistantName", "OfficeLocation",
                     "Profession", "SpouseName", "Birthday", "WeddingAnniversary", "FileAs",
                     "FileAsMapping", "BusinessHomePage", "PostalAddressIndex"})
_STRING_LISTS = frozenset({"Categories", "Children", "Companies"})  # ArrayOfStringsType
_DATES = frozenset({"Birthday", "WeddingAnniversary", "ReminderDueBy"})


def check_content(child: etree._Element) -> None:
    """Exchange's schema for the element's content: no child elements in simple content, only
    t:String in a list of strings."""
    name = local(child)
    if name in _SIMPLE and any(isinstance(c.tag, str) for c in child):  # comments are fine
        raise schema_error(f"The element '{name}' cannot contain child elements because "
                           "the parent element's content model is text only.")
    if name in _STRING_LISTS:
        for item in child:
            if not isinstance(item.tag, str):
                continue  # a comment or processing instruction: not content
            if item.tag != t("String") or any(isinstance(c.tag, str) for c in item):
                raise schema_error(f"The element '{name}' has invalid content; List of "
                                   "possible elements expected: 'String' (text only).")


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
        check_content(child)
        name, value = local(child), child.text
        if name == "Subject":
            patch["subject"] = _capped(value or "", name)
        elif name == "Body":
            patch["body"] = value or ""
            patch["body_type"] = "html" if (child.get("BodyType") or "").lower() == "html" \
                else "text"
        elif name == "Sensitivity":
            patch["sensitivity"] = _enum(value, _SENSITIVITY_IN, name)
        elif name == "Categories":
            patch["categories"] = [_capped(s.text or "", name)
                                   for s in child.findall(t("String"))]
        elif name in ("Start", "End"):
            patch[name.lower()] = check_calendar_range(read_datetime(value, name), name)
        elif name == "IsAllDayEvent":
            patch["is_all_day"] = read_bool(value, name)
        elif name == "LegacyFreeBusyStatus":
            patch["show_as"] = _enum(value, _FREE_BUSY_IN, name)
        elif name == "Location":
            patch["location"] = value or ""
        elif name == "UID":
            patch["ical_uid"] = (value or "").strip()
        elif name == "StartTimeZone":
            patch["time_zone"] = child.get("Id") or "UTC"
        elif name == "Recurrence":
            patch["recurrence"] = read_recurrence(child)
        elif name in _ATTENDEE_KINDS:
            kind = _ATTENDEE_KINDS[name]
            patch[("attendees", kind)] = _attendees(child, kind)
        else:
            _keep(patch, child)
    if "time_zone" not in patch and ("ews", "MeetingTimeZone") in patch:
        # Exchange 2007's way of naming the zone (exchangelib sends it to 2007 servers)
        node = patch[("ews", "MeetingTimeZone")]
        patch["time_zone"] = dict(node[1]).get("TimeZoneName") or "UTC"
    return patch


# Not stored: what the server computes or this mock cannot keep (MIME, attachments).
_NOT_STORED = frozenset({"MimeContent", "Attachments", "ItemId", "ParentFolderId", "ItemClass",
                         "TimeZone", "DateTimeReceived", "Size", "DateTimeCreated",
                         "LastModifiedTime", "EffectiveRights", "HasAttachments"})
_BOOLEANS = frozenset({"ReminderIsSet", "IsResponseRequested", "AllowNewTimeProposal",
                       "IsReadReceiptRequested", "IsDeliveryReceiptRequested", "HasPicture"})
_CHOICES = {"Importance": ("Low", "Normal", "High"),
            "ConferenceType": ("0", "1", "2"),
            "PostalAddressIndex": ("Business", "Home", "Other", "None"),
            "FileAsMapping": ("None", "LastCommaFirst", "FirstSpaceLast", "Company",
                              "LastCommaFirstCompany", "CompanyLastFirst", "LastFirst",
                              "LastFirstCompany", "CompanyLastCommaFirst", "LastFirstSuffix",
                              "LastSpaceFirstCompany", "CompanyLastSpaceFirst", "LastSpaceFirst",
                              "DisplayName", "FirstName", "LastFirstMiddleSuffix", "LastName",
                              "Empty")}
_INTEGERS = frozenset({"ReminderMinutesBeforeStart"})
_CAPPED = frozenset({"Subject", "GivenName", "MiddleName", "Surname", "Categories", "Initials",
                     "Nickname", "Generation"})


def _capped(value: str, name: str) -> str:
    """Subject and the name fields as the Exchange store keeps them: at most 255 characters,
    a longer value cut there (world/limits.py), not refused."""
    return exchange_text(value) if name in _CAPPED else value


def _keep(patch: Patch, child: etree._Element) -> None:
    """A field the world does not model, kept as Exchange stores it (see `stored`)."""
    name = local(child)
    if name in _NOT_STORED:
        return
    if name == "ExtendedProperty":
        uri = child.find(t("ExtendedFieldURI"))
        if uri is None:
            raise schema_error("t:ExtendedProperty needs t:ExtendedFieldURI.")
        patch[("ews-ext", extended_key(uri))] = to_node(child)
        return
    if name in INDEXED:
        for entry in child.findall(t("Entry")):
            patch[("ews-entry", name, entry.get("Key") or "")] = to_node(entry)
        return
    node = to_node(child)
    value = node[2]
    if value is not None:
        value = value.strip() if name in _BOOLEANS or name in _CHOICES or \
            name in _INTEGERS else value
        if name in _BOOLEANS:
            value = "true" if read_bool(value, name) else "false"
        elif name in _CHOICES and value not in _CHOICES[name]:
            raise schema_error(f"The '{name}' element is invalid - The value '{value[:40]}' is "
                               "invalid according to its datatype.")
        elif name in _INTEGERS and not (value.isascii() and value.lstrip("-").isdigit()
                                        and len(value) < 10):
            raise schema_error(f"The '{name}' element is invalid - The value '{value[:40]}' is "
                               "invalid according to its datatype 'xs:int'.")
        elif name in _DATES:
            # A date Exchange can keep: an xs:dateTime inside the calendar's range (a stored
            # value outside it would break every later restriction and sort on the field).
            check_calendar_range(read_datetime(value, name), name)
        value = _capped(value, name)
        node = (node[0], node[1], value, node[3])
    patch[("ews", name)] = node


def merge_patch(patch: Patch, more: Patch) -> None:
    """`more` into `patch`; one SetItemField per part of an indexed entry (an address's Street,
    City ...) adds up to one entry."""
    for key, value in more.items():
        old = patch.get(key)
        if isinstance(key, tuple) and key[0] == "ews-entry" and old and value and value[3]:
            parts = {p[0]: p for p in old[3]}
            parts.update({p[0]: p for p in value[3]})
            value = (old[0], old[1], None, tuple(parts.values()))
        patch[key] = value


def _apply_stored(extra: dict[str, Any], key: tuple[str, ...], value: Any) -> None:
    data = store(extra)
    if key[0] == "ews":
        if value is None:
            data["fields"].pop(key[1], None)
        else:
            data["fields"][key[1]] = value
    elif key[0] == "ews-ext":
        if value is None:
            data["extended"].pop(key[1], None)
        else:
            data["extended"][key[1]] = value
    elif key[0] == "ews-entry":
        entries = data["indexed"].setdefault(key[1], {})
        old = entries.get(key[2])
        if value is None:
            entries.pop(key[2], None)
        elif old is not None and value[3]:  # a PhysicalAddresses entry: merged part by part
            parts = {p[0]: p for p in old[3]}
            parts.update({p[0]: p for p in value[3]})
            entries[key[2]] = (old[0], old[1], None, tuple(parts.values()))
        else:
            entries[key[2]] = value
    elif key[0] == "ews-part":
        entries = data["indexed"].setdefault(key[1], {})
        old = entries.get(key[2])
        if old is not None:
            kept = tuple(p for p in old[3] if p[0] != key[3])
            if kept:
                entries[key[2]] = (old[0], old[1], None, kept)
            else:
                entries.pop(key[2])


def read_contact_fields(elem: etree._Element) -> Patch:
    patch: Patch = {}
    for child in elem:
        if not isinstance(child.tag, str) or etree.QName(child).namespace != T_NS:
            continue
        check_content(child)
        name, value = local(child), (child.text or "").strip()
        if name in ("GivenName", "Surname"):
            value = _capped(value, name)
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
            modeled = EMAIL_KEYS if slot == "email" else _PHONE_KEYS
            for entry in child.findall(t("Entry")):
                key = entry.get("Key") or ""
                if key in modeled:
                    patch[(slot, key)] = (entry.text or "").strip() or None
                else:
                    patch[("ews-entry", name, key)] = to_node(entry)
        else:
            _keep(patch, child)
    return patch


def apply_event(event: Event, patch: Patch) -> None:
    for key, value in patch.items():
        if isinstance(key, tuple) and key[0].startswith("ews"):
            _apply_stored(event.extra, key, value)
        elif isinstance(key, tuple):
            event.attendees = [a for a in event.attendees if a.type != key[1]] + value
        elif key != "recurrence":
            setattr(event, key, value)
    if "recurrence" in patch:  # after the start and its time zone: the series lives in them
        spec = patch["recurrence"]
        event.recurrence = None if spec is None else build(spec, event.time_zone)


def apply_contact(contact: Contact, patch: Patch) -> None:
    emails = dict(zip(slot_keys(contact, "emails", EMAIL_KEYS, contact.emails), contact.emails,
                      strict=False))
    phones: dict[str, str | None] = dict(zip(
        slot_keys(contact, "phones", BUSINESS_PHONE_KEYS, contact.business_phones),
        contact.business_phones, strict=False))
    phones["MobilePhone"] = contact.mobile_phone
    for key, value in patch.items():
        if isinstance(key, tuple) and key[0].startswith("ews"):
            _apply_stored(contact.extra, key, value)
        elif not isinstance(key, tuple):
            setattr(contact, key, value)
        elif key[0] == "email" and key[1] in EMAIL_KEYS:
            emails[key[1]] = value
        elif key[0] == "phone" and key[1] in _PHONE_KEYS:
            phones[key[1]] = value
    email_keys = [k for k in EMAIL_KEYS if emails.get(k)]
    phone_keys = [k for k in BUSINESS_PHONE_KEYS if phones.get(k)]
    contact.emails = [emails[k] or "" for k in email_keys]
    contact.business_phones = [phones[k] or "" for k in phone_keys]
    contact.extra["ews_slots"] = {"emails": email_keys, "phones": phone_keys}
    contact.mobile_phone = phones.get("MobilePhone")


def delete_patch(uri_elem: etree._Element, is_event: bool) -> Patch:
    uri = uri_elem.get("FieldURI") or ""
    index = uri_elem.get("FieldIndex")
    if local(uri_elem) == "ExtendedFieldURI":
        return {("ews-ext", extended_key(uri_elem)): None}
    base, _, part = uri.partition(":")[2].partition(":")
    container = INDEXED_BY_URI.get(f"contacts:{base}")
    if container is not None and index and not (
            (container == "EmailAddresses" and index in EMAIL_KEYS)
            or (container == "PhoneNumbers" and index in _PHONE_KEYS)):
        return {("ews-part", container, index, part) if part else
                ("ews-entry", container, index): None}
    if is_event:
        table: dict[str, tuple[Any, Any]] = {
            "item:Subject": ("subject", ""), "item:Body": ("body", ""),
            "item:Categories": ("categories", []), "calendar:Location": ("location", ""),
            "calendar:RequiredAttendees": (("attendees", "required"), []),
            "calendar:OptionalAttendees": (("attendees", "optional"), []),
            "calendar:Resources": (("attendees", "resource"), []),
            "calendar:Recurrence": ("recurrence", None),
        }
    else:
        table = {"contacts:GivenName": ("given_name", ""), "contacts:Surname": ("surname", ""),
                 "contacts:CompanyName": ("company_name", None),
                 "contacts:JobTitle": ("job_title", None),
                 "contacts:EmailAddress": (("email", index or ""), None),
                 "contacts:PhoneNumber": (("phone", index or ""), None)}
    entry = table.get(uri)
    if entry:
        return {entry[0]: entry[1]}
    return {("ews", element_name(uri)): None} if uri else {}
