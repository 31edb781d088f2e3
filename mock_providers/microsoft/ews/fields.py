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

from mock_providers.microsoft.ews.context import read_bool, read_datetime
from mock_providers.microsoft.ews.recurrence import build, read_recurrence
from mock_providers.microsoft.ews.render import (
    BUSINESS_PHONE_KEYS,
    EMAIL_KEYS,
    FREE_BUSY_OUT,
    SENSITIVITY_OUT,
)
from mock_providers.microsoft.ews.xml import T_NS, local, schema_error, t, text
from mock_providers.world import Attendee, Contact, Event

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
            patch[name.lower()] = read_datetime(value, name)
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
        elif key != "recurrence":
            setattr(event, key, value)
    if "recurrence" in patch:  # after the start and its time zone: the series lives in them
        spec = patch["recurrence"]
        event.recurrence = None if spec is None else build(spec, event.time_zone)


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


def delete_patch(uri_elem: etree._Element, is_event: bool) -> Patch:
    uri = uri_elem.get("FieldURI") or ""
    index = uri_elem.get("FieldIndex")
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
    return {entry[0]: entry[1]} if entry else {}
