"""The world's neutral Event/Contact → Google JSON (Calendar v3 events, People v1 persons); the
other direction, request bodies, is event_body.py and person_body.py.

Ids: an event's Google id is its world id without dashes (a uuid4 becomes 32 hex digits, which is
valid base32hex as Google requires); events created through the API get a fresh (seeded) world
id without dashes, or the id the client chose. A contact's resource name is `people/c<digits>`:
contacts created through the API keep `c<digits>` as their world id, seeded ones (uuid ids) map
to a stable 19-digit number.

Etags: events `"<digits>"` from the world change key (changes on every write); persons
`%EgoB…`-style base64 of the change key.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from mock_providers.google import validate
from mock_providers.google.instances import CANCELLED, INSTANCE, event_gid, recurrence_lines
from mock_providers.world import Attendee, Contact, Event

GID = re.compile(r"[a-v0-9]{5,1024}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
_PERSON_ID = re.compile(r"c\d+")
_VISIBILITY_OF = {"normal": "default", "personal": "private", "private": "private",
                  "confidential": "confidential"}
_RESPONSE_OF = {"none": "needsAction", "accepted": "accepted", "declined": "declined",
                "tentativelyAccepted": "tentative", "organizer": "accepted"}


# -- time ---------------------------------------------------------------------------------------
def rfc3339_seconds(value: datetime) -> str:
    """`2024-05-01T10:00:00Z`; the year always four digits (strftime's %Y is not, below 1000)."""
    v = value.astimezone(UTC)
    return (f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:"
            f"{v.second:02d}Z")


def rfc3339(value: datetime) -> str:
    """`2024-05-01T10:00:00.000Z`, as Google writes created/updated."""
    v = value.astimezone(UTC)
    return rfc3339_seconds(v)[:-1] + f".{v.microsecond // 1000:03d}Z"


# -- ids and etags ------------------------------------------------------------------------------
def event_id_candidates(gid: str) -> tuple[str, ...]:
    """World ids a Google event id can stand for (seeded events carry dashed uuids)."""
    if _HEX32.fullmatch(gid):
        return (gid, f"{gid[:8]}-{gid[8:12]}-{gid[12:16]}-{gid[16:20]}-{gid[20:]}")
    return (gid,)


def _key_number(key: str) -> int:
    try:
        return int(key[:13], 16)
    except ValueError:
        return int(hashlib.sha1(key.encode()).hexdigest()[:13], 16)


def event_etag(event: Event) -> str:
    return f'"{10**15 + _key_number(event.change_key) % (9 * 10**15)}"'


def seq_etag(seq: int) -> str:
    return f'"{seq}"'


def person_id(contact_id: str) -> str:
    if _PERSON_ID.fullmatch(contact_id):
        return contact_id
    digest = hashlib.sha1(contact_id.encode()).digest()
    return "c" + str(10**18 + int.from_bytes(digest[:8], "big") % (9 * 10**18))


def person_etag(change_key: str) -> str:
    return "%" + base64.b64encode(b"\x12\x0c" + hashlib.sha1(change_key.encode()).digest()[:12]
                                  ).decode()


# -- events: JSON out -----------------------------------------------------------------------------
def visibility(event: Event) -> str:
    if event.sensitivity == "normal" and event.extra.get("visibility") == "public":
        return "public"
    return _VISIBILITY_OF.get(event.sensitivity, "default")


def is_private(event: Event) -> bool:
    return visibility(event) in ("private", "confidential")


def _when(moment: datetime, zone_name: str, all_day: bool) -> dict[str, str]:
    if all_day:
        return {"date": moment.astimezone(UTC).date().isoformat()}
    zone = validate.zone(zone_name) or UTC
    try:
        local = moment.astimezone(zone)
    except OverflowError:  # an instant another protocol stored at the edge of time
        local = moment.astimezone(UTC)
    text = local.isoformat(timespec="seconds")
    if text.endswith("+00:00"):
        text = text[:-6] + "Z"
    return {"dateTime": text, "timeZone": zone_name}


def html_link(gid: str, calendar_id: str) -> str:
    eid = base64.urlsafe_b64encode(f"{gid} {calendar_id}".encode()).decode().rstrip("=")
    return f"https://www.google.com/calendar/event?eid={eid}"


def _person(email: str, name: str, viewer: str) -> dict[str, Any]:
    out: dict[str, Any] = {"email": email}
    if name:
        out["displayName"] = name
    if email.lower() == viewer:
        out["self"] = True
    return out


def _attendee(a: Attendee, organizer: str, viewer: str) -> dict[str, Any]:
    out = _person(a.email, a.name, viewer)
    if a.email.lower() == organizer.lower():
        out["organizer"] = True
    if a.type == "optional":
        out["optional"] = True
    elif a.type == "resource":
        out["resource"] = True
    out["responseStatus"] = _RESPONSE_OF.get(a.response, "needsAction")
    return out


def conference_data(event: Event) -> dict[str, Any] | None:
    stored = event.extra.get("conferenceData")
    if isinstance(stored, dict):
        return stored
    if not (event.is_online_meeting and event.join_url):
        return None
    # An online meeting made elsewhere (a Teams link on a seeded event) shows as an add-on.
    name = "Microsoft Teams Meeting" if "teams" in event.join_url else "Online meeting"
    return {"entryPoints": [{"entryPointType": "video", "uri": event.join_url,
                             "label": event.join_url}],
            "conferenceSolution": {"key": {"type": "addOn"}, "name": name, "iconUri": ""},
            "conferenceId": event.join_url.rstrip("/").rsplit("/", 1)[-1]}


def event_json(event: Event, calendar_id: str, viewer: str, view: str = "full"
               ) -> dict[str, Any]:
    """`view`: "full"; "private" (a reader looking at someone's private event: start, end,
    status and visibility only); "freebusy" (a free/busy reader: start, end and status)."""
    gid = event_gid(event.id)
    if event.extra.get(CANCELLED):
        return cancelled_instance_json(event)
    base: dict[str, Any] = {"kind": "calendar#event", "etag": event_etag(event), "id": gid,
                            "status": event.extra.get("status", "confirmed")}
    start = _when(event.start, event.time_zone, event.is_all_day)
    end = _when(event.end, event.time_zone, event.is_all_day)
    if view != "full":
        base.update({"start": start, "end": end})
        if view == "private":
            base["visibility"] = visibility(event)
        if event.show_as == "free":
            base["transparency"] = "transparent"
        return base
    google: dict[str, Any] = event.extra.get("google", {})
    out = base
    out["htmlLink"] = html_link(gid, calendar_id)
    out["created"] = rfc3339(event.created)
    out["updated"] = rfc3339(event.last_modified)
    if event.subject:
        out["summary"] = event.subject
    if event.body:
        out["description"] = event.body
    if event.location:
        out["location"] = event.location
    if "colorId" in google:
        out["colorId"] = google["colorId"]
    creator = event.extra.get("creator") or event.organizer_email
    out["creator"] = _person(creator, "", viewer)
    out["organizer"] = _person(event.organizer_email, event.organizer_name, viewer)
    out["start"], out["end"] = start, end
    lines = recurrence_lines(event)
    if lines:
        out["recurrence"] = lines
    instance_of = event.extra.get(INSTANCE)
    if instance_of is not None:
        out["recurringEventId"] = instance_of[0]
        out["originalStartTime"] = _when(instance_of[1], event.time_zone, instance_of[2])
    if event.show_as == "free":
        out["transparency"] = "transparent"
    vis = visibility(event)
    if vis != "default":
        out["visibility"] = vis
    out["iCalUID"] = event.ical_uid
    out["sequence"] = event.sequence
    if event.attendees:
        out["attendees"] = [_attendee(a, event.organizer_email, viewer) for a in event.attendees]
    conference = conference_data(event)
    if conference is not None:
        solution = conference.get("conferenceSolution") or {}
        if (solution.get("key") or {}).get("type") == "hangoutsMeet":
            out["hangoutLink"] = event.join_url
        out["conferenceData"] = conference
    for name in ("extendedProperties", "guestsCanInviteOthers", "guestsCanModify",
                 "guestsCanSeeOtherGuests", "anyoneCanAddSelf", "source", "attachments"):
        if name in google:
            out[name] = google[name]
    out["reminders"] = google.get("reminders", {"useDefault": True})
    out["eventType"] = "default"
    return out


def cancelled_json(gid: str, etag: str) -> dict[str, Any]:
    return {"kind": "calendar#event", "etag": etag, "id": gid, "status": "cancelled"}


def cancelled_instance_json(event: Event) -> dict[str, Any]:
    """A cancelled occurrence: the stub plus which series and occurrence it was."""
    master_gid, original, all_day = event.extra[INSTANCE]
    out = cancelled_json(event_gid(event.id), event_etag(event))
    out["recurringEventId"] = master_gid
    out["originalStartTime"] = _when(original, event.time_zone, all_day)
    return out


# -- persons --------------------------------------------------------------------------------------
PERSON_FIELDS = frozenset({
    "addresses", "ageRanges", "biographies", "birthdays", "calendarUrls", "clientData",
    "coverPhotos", "emailAddresses", "events", "externalIds", "fileAses", "genders", "imClients",
    "interests",
    "locales", "locations", "memberships", "metadata", "miscKeywords", "names", "nicknames",
    "occupations", "organizations", "phoneNumbers", "photos", "relations", "sipAddresses",
    "skills", "urls", "userDefined"})
UPDATE_FIELDS = frozenset({
    "addresses", "biographies", "birthdays", "calendarUrls", "clientData", "emailAddresses",
    "events", "externalIds", "fileAses", "genders", "imClients", "interests", "locales",
    "locations", "memberships", "miscKeywords", "names", "nicknames", "occupations",
    "organizations", "phoneNumbers", "relations", "sipAddresses", "urls", "userDefined"})
NEUTRAL_MEMBERS = frozenset({"names", "emailAddresses", "phoneNumbers", "organizations"})
# Contact.extra key: members without a neutral counterpart, verbatim
PERSON_RAW = "google.person"


def _source(contact: Contact) -> dict[str, str]:
    return {"type": "CONTACT", "id": format(int(person_id(contact.id)[1:]), "x")}


def _entry_meta(contact: Contact, primary: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {"source": _source(contact)}
    if primary:
        meta = {"primary": True, "sourcePrimary": True, **meta}
    return meta


def _typed(contact: Contact, member: str, value: str) -> str | None:
    for entry in contact.extra.get(PERSON_RAW + ".types", {}).get(member, []):
        if entry[0] == value:
            return str(entry[1])
    return None


def person_json(contact: Contact, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """A person with the members `fields` asks for (None: every member the contact has)."""
    wanted = PERSON_FIELDS if fields is None else frozenset(fields)
    etag = person_etag(contact.change_key)
    out: dict[str, Any] = {"resourceName": f"people/{person_id(contact.id)}", "etag": etag}
    if "metadata" in wanted:
        out["metadata"] = {"sources": [{**_source(contact), "etag": etag,
                                        "updateTime": rfc3339(contact.last_modified)}],
                           "objectType": "PERSON"}
    if "names" in wanted and (contact.display_name or contact.given_name or contact.surname):
        name: dict[str, Any] = {"metadata": _entry_meta(contact, True),
                                "displayName": contact.display_name}
        if contact.surname:
            name["familyName"] = contact.surname
        if contact.given_name:
            name["givenName"] = contact.given_name
        last_first = ", ".join(p for p in (contact.surname, contact.given_name) if p)
        name["displayNameLastFirst"] = last_first or contact.display_name
        name["unstructuredName"] = contact.display_name
        name.update(_more(contact, "names"))
        out["names"] = [name]
    if "emailAddresses" in wanted and contact.emails:
        out["emailAddresses"] = [_email(contact, i, e) for i, e in enumerate(contact.emails)]
    if "phoneNumbers" in wanted:
        phones = [(p, _typed(contact, "phoneNumbers", p) or "work")
                  for p in contact.business_phones]
        if contact.mobile_phone:
            phones.append((contact.mobile_phone, "mobile"))
        order = _more(contact, "phoneOrder").get("values") or []
        rank = {value: n for n, value in enumerate(order)}
        phones.sort(key=lambda p: rank.get(p[0], len(rank)))  # stable: unknown ones keep theirs
        if phones:
            out["phoneNumbers"] = [
                {"metadata": _entry_meta(contact, i == 0), "value": value, "type": kind,
                 "formattedType": kind.capitalize()}
                for i, (value, kind) in enumerate(phones)]
    org_more = _more(contact, "organizations")
    if "organizations" in wanted and (contact.company_name or contact.job_title or org_more):
        org: dict[str, Any] = {"metadata": _entry_meta(contact, True)}
        if contact.company_name:
            org["name"] = contact.company_name
        if contact.job_title:
            org["title"] = contact.job_title
        org.update(org_more)
        out["organizations"] = [org]
    raw: dict[str, Any] = contact.extra.get(PERSON_RAW, {})
    for member in sorted(wanted & raw.keys()):
        out[member] = raw[member]
    return out


def _more(contact: Contact, member: str) -> dict[str, Any]:
    """Members of the first name / organization the neutral contact has no field for."""
    stored = contact.extra.get(PERSON_RAW + ".more", {}).get(member)
    return dict(stored) if isinstance(stored, dict) else {}


def _email(contact: Contact, index: int, value: str) -> dict[str, Any]:
    out: dict[str, Any] = {"metadata": _entry_meta(contact, index == 0), "value": value}
    kind = _typed(contact, "emailAddresses", value)
    if kind:
        out["type"] = kind
        out["formattedType"] = kind.capitalize()
    return out


def deleted_person_json(contact_id: str, seq: int) -> dict[str, Any]:
    return {"resourceName": f"people/{person_id(contact_id)}",
            "etag": person_etag(f"deleted|{contact_id}|{seq}"), "metadata": {"deleted": True}}
