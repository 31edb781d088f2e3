"""What the EWS mock writes on the wire: SOAP envelopes with the ServerVersionInfo header,
ResponseMessages, SOAP faults, opaque ids, and world items as t:CalendarItem / t:Contact /
folder elements.

Server versions (a documented choice where Microsoft publishes no table): the build comes from
`tenant.exchange_build`; the `Version` attribute is `V2018_01_08` for Exchange Online (15.20),
`Exchange2016` for 15.1/15.2, `Exchange2013_SP1` (15.0 from build 847) or `Exchange2013`, and the
Exchange 2010/2007 names below that. A request may name any schema version up to the server's
(older is accepted, as Exchange does); newer or unknown ones are an ErrorInvalidServerVersion
fault.
"""

from __future__ import annotations

import base64
import binascii
import copy
import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from lxml import etree

from mock_providers.microsoft.ews.recurrence import render_recurrence, windows_zone
from mock_providers.microsoft.ews.stored import render_stored
from mock_providers.microsoft.ews.xml import E_NS, M_NS, SOAP_NS, T_NS, m, t
from mock_providers.world import Attendee, Calendar, Contact, ContactFolder, Event, MsTenant, MsUser
from mock_providers.world.folders import MailFolder, MailMessage
from mock_providers.world.model import parse_build
from mock_providers.world.recurrence import Instance, find_instance, series_starts

NSMAP = {"s": SOAP_NS, "m": M_NS, "t": T_NS}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# -- server versions ---------------------------------------------------------------------------
REQUEST_VERSIONS = (
    "Exchange2007", "Exchange2007_SP1", "Exchange2010", "Exchange2010_SP1", "Exchange2010_SP2",
    "Exchange2013", "Exchange2013_SP1", "Exchange2015", "Exchange2016", "V2015_10_05",
    "V2016_01_06", "V2016_04_13", "V2016_07_13", "V2016_10_10", "V2017_01_07", "V2017_04_14",
    "V2017_07_11", "V2017_10_09", "V2018_01_08",
)
_RANK = {name: index for index, name in enumerate(REQUEST_VERSIONS)}


@dataclass(frozen=True, slots=True)
class ServerVersion:
    major: int
    minor: int
    major_build: int
    minor_build: int
    version: str  # the Version attribute
    newest_request: str  # the newest RequestServerVersion this build accepts

    def accepts(self, requested: str) -> bool:
        rank = _RANK.get(requested)
        return rank is not None and rank <= _RANK[self.newest_request]

    @property
    def build(self) -> str:
        return f"{self.major}.{self.minor}.{self.major_build}.{self.minor_build}"


def _newest_request(major: int, minor: int, major_build: int) -> tuple[str, str]:
    """(Version attribute, newest accepted request version) for a build."""
    if (major, minor) >= (15, 20):
        return "V2018_01_08", "V2018_01_08"
    if (major, minor) >= (15, 1):
        return "Exchange2016", "Exchange2016"
    if major == 15:
        name = "Exchange2013_SP1" if major_build >= 847 else "Exchange2013"
        return name, name
    if major == 14:
        name = {0: "Exchange2010", 1: "Exchange2010_SP1"}.get(minor, "Exchange2010_SP2")
        return name, name
    name = "Exchange2007" if minor == 0 else "Exchange2007_SP1"
    return name, name


def server_version(tenant: MsTenant) -> ServerVersion:
    major, minor, major_build, minor_build = parse_build(tenant.exchange_build)
    version, newest = _newest_request(major, minor, major_build)
    return ServerVersion(major, minor, major_build, minor_build, version, newest)


# -- opaque ids -------------------------------------------------------------------------------
IdKind = Literal["event", "contact", "folder", "occurrence", "message"]
_KIND_TAGS: dict[IdKind, str] = {"event": "E", "contact": "C", "folder": "F", "occurrence": "O",
                                 "message": "M"}
_TAG_KINDS = {v: k for k, v in _KIND_TAGS.items()}
# Real EWS ids are base64 of a binary structure that starts with these bytes (AAMk…, AQMk…).
_ID_PREFIX = b"\x00\x03\x24calharness\x00"


@dataclass(frozen=True, slots=True)
class DecodedId:
    kind: IdKind
    owner_id: str  # the mailbox owner's object id
    key: str  # world event/contact id, the folder key ("root", "calendar:<id>", …), or
    # "<master id>|<original start, UTC>" for an occurrence of a series


def encode_id(kind: IdKind, owner: MsUser, key: str) -> str:
    raw = _ID_PREFIX + f"{_KIND_TAGS[kind]}\x00{owner.id}\x00{key}".encode()
    return base64.b64encode(raw).decode()


def decode_id(value: str) -> DecodedId | None:
    """The id's parts, or None for anything this mock did not issue (ErrorInvalidIdMalformed)."""
    if not value or len(value) > 1024:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(_ID_PREFIX):
        return None
    try:
        tag, owner_id, key = raw[len(_ID_PREFIX):].decode().split("\x00")
    except (UnicodeDecodeError, ValueError):
        return None
    kind = _TAG_KINDS.get(tag)
    if kind is None or not owner_id or not key:
        return None
    return DecodedId(kind, owner_id, key)


def occurrence_key(event_id: str, original_start: datetime) -> str:
    return f"{event_id}|{original_start.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def split_occurrence_key(key: str) -> tuple[str, datetime] | None:
    event_id, _, when = key.rpartition("|")
    try:
        return event_id, datetime.strptime(when, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def folder_key_for(kind: Literal["calendar", "contacts"], folder_id: str) -> str:
    return f"{kind}:{folder_id}"


# -- envelopes, response messages, faults ----------------------------------------------------------
def _envelope(version: ServerVersion | None) -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap=NSMAP)
    if version is not None:
        header = etree.SubElement(envelope, f"{{{SOAP_NS}}}Header")
        etree.SubElement(header, t("ServerVersionInfo"), {
            "MajorVersion": str(version.major), "MinorVersion": str(version.minor),
            "MajorBuildNumber": str(version.major_build),
            "MinorBuildNumber": str(version.minor_build), "Version": version.version})
    return envelope, etree.SubElement(envelope, f"{{{SOAP_NS}}}Body")


def to_bytes(envelope: etree._Element) -> bytes:
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def response_document(operation: str, messages: Iterable[etree._Element],
                      version: ServerVersion | None) -> bytes:
    envelope, body = _envelope(version)
    response = etree.SubElement(body, m(f"{operation}Response"))
    container = etree.SubElement(response, m("ResponseMessages"))
    container.extend(messages)
    return to_bytes(envelope)


def success(operation: str) -> etree._Element:
    message = etree.Element(m(f"{operation}ResponseMessage"), ResponseClass="Success")
    etree.SubElement(message, m("ResponseCode")).text = "NoError"
    return message


def error(operation: str, code: str, text: str) -> etree._Element:
    message = etree.Element(m(f"{operation}ResponseMessage"), ResponseClass="Error")
    etree.SubElement(message, m("MessageText")).text = xml_text(text)
    etree.SubElement(message, m("ResponseCode")).text = code
    etree.SubElement(message, m("DescriptiveLinkKey")).text = "0"
    return message


def fault_document(code: str, message: str, version: ServerVersion | None = None, *,
                   back_off_ms: int | None = None, violation: str | None = None,
                   line: int | None = None, position: int | None = None) -> bytes:
    """A SOAP 1.1 fault as Exchange sends it: `faultcode` in the types namespace, `detail` with
    e:ResponseCode / e:Message and, where Exchange adds one, t:MessageXml."""
    envelope, body = _envelope(version)
    fault = etree.SubElement(body, f"{{{SOAP_NS}}}Fault")
    faultcode = etree.SubElement(fault, "faultcode", nsmap={"a": T_NS})
    faultcode.text = f"a:{code}"
    faultstring = etree.SubElement(fault, "faultstring")
    faultstring.set(_XML_LANG, "en-US")
    message = xml_text(message)
    violation = None if violation is None else xml_text(violation)
    faultstring.text = message if violation is None else f"{message} {violation}"
    detail = etree.SubElement(fault, "detail")
    etree.SubElement(detail, f"{{{E_NS}}}ResponseCode", nsmap={"e": E_NS}).text = code
    etree.SubElement(detail, f"{{{E_NS}}}Message", nsmap={"e": E_NS}).text = message
    if back_off_ms is not None or violation is not None:
        xml = etree.SubElement(detail, t("MessageXml"))
        if back_off_ms is not None:
            etree.SubElement(xml, t("Value"), Name="BackOffMilliseconds").text = str(back_off_ms)
        if violation is not None:
            if line is not None:
                etree.SubElement(xml, t("LineNumber")).text = str(line)
                etree.SubElement(xml, t("LinePosition")).text = str(position or 0)
            etree.SubElement(xml, t("Violation")).text = violation
    return to_bytes(envelope)


# -- values ---------------------------------------------------------------------------------------
def ews_datetime(value: datetime) -> str:
    """UTC with Z, as Exchange writes every xs:dateTime whatever the t:TimeZoneContext (the EWS
    Managed API converts to its session zone on the client); the year always four digits
    (strftime's %Y is not, below 1000)."""
    v = value.astimezone(UTC)
    return (f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:"
            f"{v.second:02d}Z")


def ews_bool(value: bool) -> str:
    return "true" if value else "false"


SENSITIVITY_OUT = {"normal": "Normal", "personal": "Personal", "private": "Private",
                   "confidential": "Confidential"}
FREE_BUSY_OUT = {"free": "Free", "tentative": "Tentative", "busy": "Busy", "oof": "OOF",
                 "workingElsewhere": "WorkingElsewhere", "unknown": "NoData"}
RESPONSE_OUT = {"none": "Unknown", "organizer": "Organizer", "tentativelyAccepted": "Tentative",
                "accepted": "Accept", "declined": "Decline"}
ATTENDEE_TAGS = {"required": "RequiredAttendees", "optional": "OptionalAttendees",
                 "resource": "Resources"}
# contact indexed entries <-> world fields
EMAIL_KEYS = ("EmailAddress1", "EmailAddress2", "EmailAddress3")
BUSINESS_PHONE_KEYS = ("BusinessPhone", "BusinessPhone2")


def slot_keys(contact: Contact, kind: str, defaults: tuple[str, ...],
              values: list[str]) -> list[str]:
    """The EWS dictionary keys of a contact's e-mail addresses or business phones: the world
    keeps them as lists (Graph's shape), so the keys EWS last wrote are remembered beside them
    (a lone BusinessPhone2 stays BusinessPhone2); values changed through another protocol to a
    different count take the keys in order."""
    remembered = contact.extra.get("ews_slots", {}).get(kind)
    if isinstance(remembered, list) and len(remembered) == len(values):
        return list(remembered)
    return list(defaults[:len(values)])


@dataclass(frozen=True, slots=True)
class Shape:
    """What an ItemShape/FolderShape asked for: everything, or ItemId plus these FieldURIs
    (indexed fields by their base URI, e.g. `contacts:EmailAddress`)."""

    everything: bool
    uris: frozenset[str] = frozenset()
    extended: frozenset[str] = frozenset()  # extended properties asked for (`extended_key`)

    def wants(self, uri: str) -> bool:
        return self.everything or uri in self.uris


@dataclass(frozen=True, slots=True)
class Rights:
    """The caller's rights on an item or folder (rendered as t:EffectiveRights)."""

    write: bool
    view_private: bool
    redact_private: bool = False
    limited: bool = False  # limitedRead delegates: no body


# XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """`value` without the characters XML 1.0 cannot carry (NUL, other C0 controls, lone
    surrogates, U+FFFE/U+FFFF), which Exchange leaves out of its responses as well: a subject
    written through another protocol with such a character must not break a FindItem."""
    return _NOT_XML.sub("", value) if _NOT_XML.search(value) else value


def _sub(parent: etree._Element, name: str, value: str | None = None,
         **attrs: str) -> etree._Element:
    elem = etree.SubElement(parent, t(name), attrs)
    if value is not None:
        elem.text = xml_text(value)
    return elem


def _mailbox(parent: etree._Element, email: str, name: str) -> None:
    box = _sub(parent, "Mailbox")
    _sub(box, "Name", name or email)
    _sub(box, "EmailAddress", email)
    _sub(box, "RoutingType", "SMTP")
    _sub(box, "MailboxType", "Mailbox")


def _effective_rights(parent: etree._Element, rights: Rights, folder: bool = False) -> None:
    box = _sub(parent, "EffectiveRights")
    _sub(box, "CreateAssociated", ews_bool(folder and rights.write))
    _sub(box, "CreateContents", ews_bool(folder and rights.write))
    _sub(box, "CreateHierarchy", ews_bool(folder and rights.write))
    _sub(box, "Delete", ews_bool(rights.write))
    _sub(box, "Modify", ews_bool(rights.write))
    _sub(box, "Read", "true")
    _sub(box, "ViewPrivateItems", ews_bool(rights.view_private))


def _body_with_join_link(event: Event) -> tuple[str, str]:
    """Exchange carries a Teams join link in the body only (EWS has no join-URL property), so it is
    appended to the rendered body when the stored body does not already contain it."""
    body, kind = event.body, ("HTML" if event.body_type == "html" else "Text")
    if event.is_online_meeting and event.join_url and event.join_url not in body:
        if kind == "HTML":
            link = html.escape(event.join_url, quote=True)
            body += (f'<div><p>Microsoft Teams meeting</p><a href="{link}">'
                     "Join the meeting now</a></div>")
        else:
            body += f"\n\nMicrosoft Teams meeting\nJoin the meeting now: {event.join_url}"
    return body, kind


def occurrence_view(event: Event, instance: Instance) -> Event:
    """A shallow copy of the master as this occurrence shows it (times, the exception's
    values); recurrence and exceptions are left on the master."""
    view = copy.copy(event)
    view.start, view.end = instance.start, instance.end
    change = instance.change
    if change is not None:
        for name in ("subject", "body", "location", "sensitivity", "show_as"):
            value = getattr(change, name)
            if value is not None:
                setattr(view, name, value)
        view.last_modified = change.last_modified or event.last_modified
        view.change_key = change.change_key or event.change_key
    return view


def occurrence_id(owner: MsUser, event: Event, original_start: datetime) -> str:
    return encode_id("occurrence", owner, occurrence_key(event.id, original_start))


def calendar_item(parent: etree._Element, event: Event, owner: MsUser, calendar: Calendar,
                  shape: Shape, rights: Rights, instance: Instance | None = None
                  ) -> etree._Element:
    """`t:CalendarItem` in schema order with the fields `shape` asks for. Private events seen by
    a delegate without private access are redacted like the Graph mock does (see graph/auth.py).
    With `instance`, the item is that occurrence of the series `event` is the master of."""
    master = event
    if instance is not None:
        event = occurrence_view(master, instance)
    private = rights.redact_private and event.sensitivity == "private"
    item = _sub(parent, "CalendarItem")
    item_id = occurrence_id(owner, master, instance.original_start) if instance is not None \
        else encode_id("event", owner, event.id)
    _sub(item, "ItemId", Id=item_id, ChangeKey=event.change_key)
    w = shape.wants
    if w("item:ParentFolderId"):
        _sub(item, "ParentFolderId", Id=encode_id("folder", owner, folder_key_for(
            "calendar", calendar.id)), ChangeKey=calendar_change_key(calendar))
    if w("item:ItemClass"):
        _sub(item, "ItemClass", "IPM.Appointment")
    if w("item:Subject"):
        _sub(item, "Subject", "Private Appointment" if private else event.subject)
    if w("item:Sensitivity"):
        _sub(item, "Sensitivity", SENSITIVITY_OUT.get(event.sensitivity, "Normal"))
    if w("item:Body") and not rights.limited:
        body, kind = ("", "Text") if private else _body_with_join_link(event)
        _sub(item, "Body", body, BodyType=kind)
    if w("item:DateTimeReceived"):
        _sub(item, "DateTimeReceived", ews_datetime(event.created))
    if w("item:Size"):
        _sub(item, "Size", str(512 + len(event.body.encode())))
    if w("item:Categories") and event.categories and not private:
        categories = _sub(item, "Categories")
        for category in event.categories:
            _sub(categories, "String", category)
    if w("item:Importance"):
        _sub(item, "Importance", "Normal")
    if w("item:IsSubmitted"):
        _sub(item, "IsSubmitted", "false")
    if w("item:IsDraft"):
        _sub(item, "IsDraft", "false")
    if w("item:IsFromMe"):
        _sub(item, "IsFromMe", "false")
    if w("item:IsResend"):
        _sub(item, "IsResend", "false")
    if w("item:IsUnmodified"):
        _sub(item, "IsUnmodified", ews_bool(event.sequence == 0))
    if w("item:DateTimeSent"):
        _sub(item, "DateTimeSent", ews_datetime(event.created))
    if w("item:DateTimeCreated"):
        _sub(item, "DateTimeCreated", ews_datetime(event.created))
    if w("item:ReminderDueBy"):
        _sub(item, "ReminderDueBy", ews_datetime(event.start))
    if w("item:ReminderIsSet"):
        _sub(item, "ReminderIsSet", "true")
    if w("item:ReminderMinutesBeforeStart"):
        _sub(item, "ReminderMinutesBeforeStart", "15")
    if w("item:DisplayTo"):
        _sub(item, "DisplayTo", "" if private else "; ".join(
            a.name or a.email for a in event.attendees if a.type == "required"))
    if w("item:HasAttachments"):
        _sub(item, "HasAttachments", "false")
    if w("item:Culture"):
        _sub(item, "Culture", "en-US")
    if w("item:EffectiveRights"):
        _effective_rights(item, rights)
    if w("item:LastModifiedName"):
        _sub(item, "LastModifiedName", event.organizer_name or owner.display_name)
    if w("item:LastModifiedTime"):
        _sub(item, "LastModifiedTime", ews_datetime(event.last_modified))
    if w("item:IsAssociated"):
        _sub(item, "IsAssociated", "false")
    if w("calendar:UID"):
        _sub(item, "UID", event.ical_uid)
    if w("calendar:DateTimeStamp"):
        _sub(item, "DateTimeStamp", ews_datetime(event.last_modified))
    if w("calendar:Start"):
        _sub(item, "Start", ews_datetime(event.start))
    if w("calendar:End"):
        _sub(item, "End", ews_datetime(event.end))
    if w("calendar:OriginalStart") and instance is not None:
        _sub(item, "OriginalStart", ews_datetime(instance.original_start))
    if w("calendar:IsAllDayEvent"):
        _sub(item, "IsAllDayEvent", ews_bool(event.is_all_day))
    if w("calendar:LegacyFreeBusyStatus"):
        _sub(item, "LegacyFreeBusyStatus", FREE_BUSY_OUT.get(event.show_as, "Busy"))
    if w("calendar:Location") and not private:
        _sub(item, "Location", event.location)
    if w("calendar:IsMeeting"):
        _sub(item, "IsMeeting", ews_bool(bool(event.attendees)))
    if w("calendar:IsCancelled"):
        _sub(item, "IsCancelled", ews_bool(event.is_cancelled or bool(
            event.extra.get("graph", {}).get("isCancelled"))))
    if w("calendar:IsRecurring"):
        _sub(item, "IsRecurring", ews_bool(master.recurrence is not None))
    if w("calendar:MeetingRequestWasSent"):
        _sub(item, "MeetingRequestWasSent", ews_bool(bool(event.attendees)))
    if w("calendar:IsResponseRequested"):
        _sub(item, "IsResponseRequested", "true")
    if w("calendar:CalendarItemType"):
        _sub(item, "CalendarItemType", item_type(master, instance))
    if w("calendar:MyResponseType"):
        _sub(item, "MyResponseType", _my_response(event, owner))
    if w("calendar:Organizer") and event.organizer_email:
        _mailbox(_sub(item, "Organizer"), event.organizer_email, event.organizer_name)
    if not private:
        for kind, tag in ATTENDEE_TAGS.items():
            if w(f"calendar:{tag}"):
                _attendees(item, tag, [a for a in event.attendees if a.type == kind])
    if w("calendar:Duration"):
        _sub(item, "Duration", _duration(event))
    if w("calendar:AppointmentSequenceNumber"):
        _sub(item, "AppointmentSequenceNumber", str(event.sequence))
    if w("calendar:AppointmentState"):
        _sub(item, "AppointmentState", "1" if event.attendees else "0")
    if instance is None and master.recurrence is not None:
        _series(item, master, owner, w)
    if w("calendar:StartTimeZone"):
        _sub(item, "StartTimeZone", Id=windows_zone(event.time_zone))
    if w("calendar:EndTimeZone"):
        _sub(item, "EndTimeZone", Id=windows_zone(event.time_zone))
    if w("calendar:IsOnlineMeeting"):
        _sub(item, "IsOnlineMeeting", ews_bool(event.is_online_meeting and not private))
    if not private:
        render_stored(item, event.extra, w, shape.extended, "CalendarItem")
    return item


def item_type(master: Event, instance: Instance | None) -> str:
    if instance is not None:
        return "Exception" if instance.is_exception else "Occurrence"
    return "RecurringMaster" if master.recurrence is not None else "Single"


def _occurrence_info(parent: etree._Element, tag: str, owner: MsUser, master: Event,
                     instance: Instance) -> None:
    info = _sub(parent, tag)
    _sub(info, "ItemId", Id=occurrence_id(owner, master, instance.original_start),
         ChangeKey=(instance.change.change_key if instance.change and instance.change.change_key
                    else master.change_key))
    _sub(info, "Start", ews_datetime(instance.start))
    _sub(info, "End", ews_datetime(instance.end))
    _sub(info, "OriginalStart", ews_datetime(instance.original_start))


def _series(item: etree._Element, master: Event, owner: MsUser, w: Callable[[str], bool]
            ) -> None:
    """A master's t:Recurrence, First/LastOccurrence, Modified/DeletedOccurrences."""
    rec = master.recurrence
    assert rec is not None
    if w("calendar:Recurrence"):
        render_recurrence(item, rec)
    wants_first, wants_last = w("calendar:FirstOccurrence"), w("calendar:LastOccurrence")
    if wants_first or wants_last:
        first = next(iter(expand_first(master)), None)
        if first is not None and wants_first:
            _occurrence_info(item, "FirstOccurrence", owner, master, first)
        last = last_instance(master) if wants_last else None
        if last is not None:
            _occurrence_info(item, "LastOccurrence", owner, master, last)
    if w("calendar:ModifiedOccurrences") and master.exceptions.modified:
        box = _sub(item, "ModifiedOccurrences")
        for original in sorted(master.exceptions.modified):
            found = find_instance(rec, master.start, master.end, master.exceptions, original)
            if found is not None:
                _occurrence_info(box, "Occurrence", owner, master, found)
    if w("calendar:DeletedOccurrences") and master.exceptions.cancelled:
        box = _sub(item, "DeletedOccurrences")
        for original in sorted(master.exceptions.cancelled):
            _sub(_sub(box, "DeletedOccurrence"), "Start", ews_datetime(original))


def expand_first(master: Event) -> list[Instance]:
    """The series' first occurrence that is not cancelled (empty when none is left)."""
    assert master.recurrence is not None
    for index, original in enumerate(series_starts(master.recurrence, master.start), start=1):
        if original in master.exceptions.cancelled:
            continue
        found = find_instance(master.recurrence, master.start, master.end, master.exceptions,
                              original)
        return [found] if found is not None else [Instance(original, original, original + (
            master.end - master.start), index, None)]
    return []


def last_instance(master: Event) -> Instance | None:
    """The last occurrence that is not cancelled of a series with an end, else None."""
    rec = master.recurrence
    if rec is None or rec.range.type == "noEnd":
        return None
    starts = [s for s in series_starts(rec, master.start) if s not in master.exceptions.cancelled]
    if not starts:
        return None
    return find_instance(rec, master.start, master.end, master.exceptions, starts[-1])


def _attendees(item: etree._Element, tag: str, attendees: list[Attendee]) -> None:
    if not attendees:
        return
    box = _sub(item, tag)
    for attendee in attendees:
        entry = _sub(box, "Attendee")
        _mailbox(entry, attendee.email, attendee.name)
        _sub(entry, "ResponseType", RESPONSE_OUT.get(attendee.response, "Unknown"))


def _my_response(event: Event, owner: MsUser) -> str:
    if event.organizer_email.lower() == owner.upn.lower():
        return "Organizer"
    mine = next((a for a in event.attendees if a.email.lower() == owner.upn.lower()), None)
    return RESPONSE_OUT.get(mine.response, "Unknown") if mine else "Unknown"


def _duration(event: Event) -> str:
    seconds = int((event.end - event.start).total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    if hours or minutes or secs or not days:
        out += "T" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
        out += f"{secs}S" if secs or not (hours or minutes) else ""
    return out


def contact_item(parent: etree._Element, contact: Contact, owner: MsUser, folder: ContactFolder,
                 shape: Shape, rights: Rights) -> etree._Element:
    item = _sub(parent, "Contact")
    _sub(item, "ItemId", Id=encode_id("contact", owner, contact.id),
         ChangeKey=contact.change_key)
    w = shape.wants
    if w("item:ParentFolderId"):
        _sub(item, "ParentFolderId", Id=encode_id("folder", owner, folder_key_for(
            "contacts", folder.id)), ChangeKey=contacts_change_key(folder))
    if w("item:ItemClass"):
        _sub(item, "ItemClass", "IPM.Contact")
    if w("item:Subject"):
        _sub(item, "Subject", contact.display_name)
    if w("item:Sensitivity"):
        _sub(item, "Sensitivity", "Normal")
    if w("item:DateTimeReceived"):
        _sub(item, "DateTimeReceived", ews_datetime(contact.created))
    if w("item:Size"):
        _sub(item, "Size", "1024")
    if w("item:Importance"):
        _sub(item, "Importance", "Normal")
    if w("item:IsDraft"):
        _sub(item, "IsDraft", "false")
    if w("item:DateTimeCreated"):
        _sub(item, "DateTimeCreated", ews_datetime(contact.created))
    if w("item:ReminderIsSet"):
        _sub(item, "ReminderIsSet", "false")
    if w("item:HasAttachments"):
        _sub(item, "HasAttachments", "false")
    if w("item:Culture"):
        _sub(item, "Culture", "en-US")
    if w("item:EffectiveRights"):
        _effective_rights(item, rights)
    if w("item:LastModifiedTime"):
        _sub(item, "LastModifiedTime", ews_datetime(contact.last_modified))
    if w("contacts:FileAs"):
        _sub(item, "FileAs", contact.display_name)
    if w("contacts:DisplayName"):
        _sub(item, "DisplayName", contact.display_name)
    if w("contacts:GivenName") and contact.given_name:
        _sub(item, "GivenName", contact.given_name)
    if w("contacts:CompanyName") and contact.company_name:
        _sub(item, "CompanyName", contact.company_name)
    if w("contacts:EmailAddress") and contact.emails:
        box = _sub(item, "EmailAddresses")
        for key, email in zip(slot_keys(contact, "emails", EMAIL_KEYS, contact.emails),
                              contact.emails, strict=False):
            _sub(box, "Entry", email, Key=key)
    phones = list(zip(slot_keys(contact, "phones", BUSINESS_PHONE_KEYS,
                                contact.business_phones), contact.business_phones, strict=False))
    if contact.mobile_phone:
        phones.append(("MobilePhone", contact.mobile_phone))
    if w("contacts:PhoneNumber") and phones:
        box = _sub(item, "PhoneNumbers")
        for key, number in phones:
            _sub(box, "Entry", number, Key=key)
    if w("contacts:JobTitle") and contact.job_title:
        _sub(item, "JobTitle", contact.job_title)
    if w("contacts:PostalAddressIndex"):
        _sub(item, "PostalAddressIndex", "None")
    if w("contacts:Surname") and contact.surname:
        _sub(item, "Surname", contact.surname)
    render_stored(item, contact.extra, w, shape.extended, "Contact")
    return item


# -- meeting messages -----------------------------------------------------------------------------
_MESSAGE_TAGS = {"meetingRequest": "MeetingRequest", "meetingCancelled": "MeetingCancellation",
                 "meetingAccepted": "MeetingResponse",
                 "meetingTentativelyAccepted": "MeetingResponse",
                 "meetingDeclined": "MeetingResponse"}
_MESSAGE_RESPONSE = {"meetingAccepted": "Accept", "meetingTentativelyAccepted": "Tentative",
                     "meetingDeclined": "Decline"}


def message_item(parent: etree._Element, message: MailMessage, owner: MsUser,
                 folder: MailFolder, shape: Shape, rights: Rights) -> etree._Element:
    """A meeting request, response or cancellation (`world.folders.MailMessage`) in a mail
    folder: t:MeetingRequest / t:MeetingResponse / t:MeetingCancellation."""
    item = _sub(parent, _MESSAGE_TAGS.get(message.kind, "Message"))
    _sub(item, "ItemId", Id=encode_id("message", owner, f"{folder.well_known}|{message.id}"),
         ChangeKey=message.change_key)
    w = shape.wants
    if w("item:ParentFolderId"):
        _sub(item, "ParentFolderId", Id=encode_id("folder", owner, f"mail:{folder.well_known}"))
    if w("item:ItemClass"):
        _sub(item, "ItemClass", message.item_class)
    if w("item:Subject"):
        _sub(item, "Subject", message.subject)
    if w("item:Sensitivity"):
        _sub(item, "Sensitivity", "Normal")
    if w("item:Body") and not rights.limited:
        _sub(item, "Body", message.body, BodyType="Text")
    if w("item:DateTimeReceived"):
        _sub(item, "DateTimeReceived", ews_datetime(message.created))
    if w("item:DateTimeSent"):
        _sub(item, "DateTimeSent", ews_datetime(message.created))
    if w("item:DateTimeCreated"):
        _sub(item, "DateTimeCreated", ews_datetime(message.created))
    if w("message:Sender"):
        _mailbox(_sub(item, "Sender"), message.sender_email, message.sender_name)
    if w("message:ToRecipients") and message.to:
        box = _sub(item, "ToRecipients")
        for address, name in message.to:
            mailbox = _sub(box, "Mailbox")
            _sub(mailbox, "Name", name or address)
            _sub(mailbox, "EmailAddress", address)
            _sub(mailbox, "RoutingType", "SMTP")
    if w("message:From"):
        _mailbox(_sub(item, "From"), message.sender_email, message.sender_name)
    if w("message:IsRead"):
        _sub(item, "IsRead", ews_bool(message.is_read))
    if w("meeting:AssociatedCalendarItemId") and message.event_id:
        _sub(item, "AssociatedCalendarItemId", Id=encode_id("event", owner, message.event_id))
    if w("meeting:ResponseType") and message.kind in _MESSAGE_RESPONSE:
        _sub(item, "ResponseType", _MESSAGE_RESPONSE[message.kind])
    if w("calendar:UID"):
        _sub(item, "UID", message.ical_uid)
    if message.kind in ("meetingRequest", "meetingCancelled"):
        if w("meetingRequest:MeetingRequestType") and message.kind == "meetingRequest":
            _sub(item, "MeetingRequestType", "NewMeetingRequest")
        if w("calendar:Start"):
            _sub(item, "Start", ews_datetime(message.meeting_start))
        if w("calendar:End"):
            _sub(item, "End", ews_datetime(message.meeting_end))
        if w("calendar:IsAllDayEvent"):
            _sub(item, "IsAllDayEvent", ews_bool(message.is_all_day))
        if w("calendar:Location"):
            _sub(item, "Location", message.location)
    return item


# -- folders --------------------------------------------------------------------------------------
FolderKind = Literal["root", "msgfolderroot", "calendar", "contacts", "mail"]
_FOLDER_TAGS: dict[FolderKind, tuple[str, str | None]] = {
    "root": ("Folder", None),
    "msgfolderroot": ("Folder", "IPF.Note"),
    "calendar": ("CalendarFolder", "IPF.Appointment"),
    "contacts": ("ContactsFolder", "IPF.Contact"),
    "mail": ("Folder", "IPF.Note"),
}
_CLASS_TAGS = {"IPF.Task": "TasksFolder", "IPF.Appointment": "CalendarFolder",
               "IPF.Contact": "ContactsFolder"}


def calendar_change_key(calendar: Calendar) -> str:
    return base64.b64encode(f"cal:{calendar.events.last_seq}".encode()).decode()


def contacts_change_key(folder: ContactFolder) -> str:
    return base64.b64encode(f"con:{folder.contacts.last_seq}".encode()).decode()


@dataclass(frozen=True, slots=True)
class FolderView:
    kind: FolderKind
    key: str  # the folder id key encoded in FolderId
    parent_key: str | None
    name: str
    change_key: str
    total: int
    children: int
    folder_class: str | None = None  # a distinguished mail folder's (IPF.Note, IPF.Task…)
    unread: int = 0


def folder_class(view: FolderView) -> str | None:
    """The folder's t:FolderClass (root has none); FindFolder restrictions read it too."""
    return view.folder_class if view.folder_class is not None else _FOLDER_TAGS[view.kind][1]


def folder_element(parent: etree._Element, owner: MsUser, view: FolderView, shape: Shape,
                   rights: Rights) -> etree._Element:
    tag = _FOLDER_TAGS[view.kind][0]
    if view.folder_class is not None:
        tag = _CLASS_TAGS.get(view.folder_class, "Folder")
    klass = folder_class(view)
    folder = _sub(parent, tag)
    _sub(folder, "FolderId", Id=encode_id("folder", owner, view.key), ChangeKey=view.change_key)
    w = shape.wants
    if w("folder:ParentFolderId") and view.parent_key is not None:
        _sub(folder, "ParentFolderId", Id=encode_id("folder", owner, view.parent_key),
             ChangeKey=view.change_key)
    if w("folder:FolderClass") and klass is not None:
        _sub(folder, "FolderClass", klass)
    if w("folder:DisplayName"):
        _sub(folder, "DisplayName", view.name)
    if w("folder:TotalCount"):
        _sub(folder, "TotalCount", str(view.total))
    if w("folder:ChildFolderCount"):
        _sub(folder, "ChildFolderCount", str(view.children))
    if w("folder:EffectiveRights"):
        _effective_rights(folder, rights, folder=True)
    if view.kind in ("msgfolderroot", "mail") and w("folder:UnreadCount"):
        _sub(folder, "UnreadCount", str(view.unread))
    return folder
