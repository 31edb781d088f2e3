"""The world's neutral Event/Contact ↔ Google JSON (Calendar v3 events, People v1 persons).

Ids: an event's Google id is its world id without dashes (a uuid4 becomes 32 hex digits, which is
valid base32hex as Google requires); events created through the API get `uuid4().hex` or the id
the client chose. A contact's resource name is `people/c<digits>`: contacts created through the
API keep `c<digits>` as their world id, seeded ones (uuid ids) map to a stable 19-digit number.

Etags: events `"<digits>"` from the world change key (changes on every write); persons
`%EgoB…`-style base64 of the change key.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mock_providers.google.errors import GoogleError, bad_request
from mock_providers.world import Attendee, Contact, Event

GID = re.compile(r"[a-v0-9]{5,1024}")
_HEX32 = re.compile(r"[0-9a-f]{32}")
_PERSON_ID = re.compile(r"c\d+")
VISIBILITIES = ("default", "public", "private", "confidential")
_VISIBILITY_OF = {"normal": "default", "personal": "private", "private": "private",
                  "confidential": "confidential"}
_SENSITIVITY_OF = {"default": "normal", "public": "normal", "private": "private",
                   "confidential": "confidential"}
_RESPONSE_OF = {"none": "needsAction", "accepted": "accepted", "declined": "declined",
                "tentativelyAccepted": "tentative", "organizer": "accepted"}
_RESPONSE_FROM = {"needsAction": "none", "accepted": "accepted", "declined": "declined",
                  "tentative": "tentativelyAccepted"}
# Event members kept verbatim in Event.extra["google"] (no neutral counterpart).
PASSTHROUGH = ("colorId", "recurrence", "extendedProperties", "reminders", "source",
               "guestsCanInviteOthers", "guestsCanModify", "guestsCanSeeOtherGuests",
               "anyoneCanAddSelf", "attachments")
MEET_ICON = ("https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/"
             "logo_meet_2020q4_color_2x_web_512dp.png")


# -- time ---------------------------------------------------------------------------------------
def rfc3339(value: datetime) -> str:
    """`2024-05-01T10:00:00.000Z`, as Google writes created/updated."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def rfc3339_seconds(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: str, name: str) -> datetime:
    """An RFC3339 timestamp with its mandatory offset (timeMin, timeMax, updatedMin)."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError:
        raise bad_request("Bad Request") from None
    if parsed.tzinfo is None:
        raise bad_request("Bad Request")
    return parsed.astimezone(UTC)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# -- ids and etags ------------------------------------------------------------------------------
def event_gid(event_id: str) -> str:
    return event_id.replace("-", "")


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
    zone = _zone(zone_name) or UTC
    local = moment.astimezone(zone)
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
    if stored is not None:
        return stored  # type: ignore[no-any-return]
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
    if "recurrence" in google:
        out["recurrence"] = google["recurrence"]
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
        if conference.get("conferenceSolution", {}).get("key", {}).get("type") == "hangoutsMeet":
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


# -- events: JSON in ------------------------------------------------------------------------------
@dataclass
class EventChanges:
    fields: dict[str, Any] = field(default_factory=dict)  # Event attribute -> value
    extra: dict[str, Any] = field(default_factory=dict)  # Event.extra key -> value (None: drop)
    google: dict[str, Any] = field(default_factory=dict)  # passthrough member -> value (None)

    @property
    def moves_time(self) -> bool:
        return "start" in self.fields or "end" in self.fields


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad_request(f"Invalid value for: {name}", reason="invalid")
    return value


def _parse_when(value: Any, which: str) -> tuple[datetime, bool, str]:
    if not isinstance(value, dict) or not (value.get("date") or value.get("dateTime")):
        raise GoogleError(400, f"Missing {which} time.", reason="required")
    zone_name = value.get("timeZone")
    if zone_name is not None and (not isinstance(zone_name, str) or _zone(zone_name) is None):
        raise bad_request(f"Invalid time zone definition for {which} time.", reason="invalid")
    if value.get("date"):
        try:
            day = date.fromisoformat(str(value["date"]))
        except ValueError:
            raise bad_request(f"Invalid {which} time.", reason="invalid") from None
        return datetime.combine(day, time(), UTC), True, zone_name or "UTC"
    try:
        moment = datetime.fromisoformat(str(value["dateTime"]))
    except ValueError:
        raise bad_request(f"Invalid {which} time.", reason="invalid") from None
    if moment.tzinfo is None:
        if zone_name is None:
            raise bad_request(f"Missing time zone definition for {which} time.",
                              reason="required")
        moment = moment.replace(tzinfo=_zone(zone_name))
    return moment.astimezone(UTC), False, zone_name or "UTC"


def _attendees(value: Any) -> list[Attendee]:
    if not isinstance(value, list):
        raise bad_request("Invalid value for: attendees", reason="invalid")
    out: list[Attendee] = []
    for item in value:
        email = item.get("email") if isinstance(item, dict) else None
        if not isinstance(email, str) or "@" not in email:
            raise bad_request("Invalid attendee email.", reason="invalid")
        kind = "resource" if item.get("resource") else (
            "optional" if item.get("optional") else "required")
        out.append(Attendee(email=email, name=str(item.get("displayName") or ""),
                            type=kind,  # type: ignore[arg-type]
                            response=_RESPONSE_FROM.get(str(item.get("responseStatus")),
                                                        "none")))  # type: ignore[arg-type]
    return out


def parse_event(body: dict[str, Any], current: Event | None, *, partial: bool
                ) -> EventChanges:
    """What an insert (current None), update (partial=False) or patch (partial=True) body
    changes. Members a full update leaves out are cleared, as Google's update does."""
    ch = EventChanges()

    def given(name: str) -> bool:
        return name in body or not partial

    for member, attr in (("summary", "subject"), ("description", "body"),
                         ("location", "location")):
        if given(member):
            ch.fields[attr] = _text(body, member)
    if given("attendees"):
        ch.fields["attendees"] = _attendees(body.get("attendees") or [])
    if given("visibility"):
        vis = body.get("visibility") or "default"
        if vis not in VISIBILITIES:
            raise bad_request("Invalid visibility value.", reason="invalid")
        ch.fields["sensitivity"] = _SENSITIVITY_OF[vis]
        ch.extra["visibility"] = "public" if vis == "public" else None
    if given("transparency"):
        transparency = body.get("transparency") or "opaque"
        if transparency not in ("opaque", "transparent"):
            raise bad_request("Invalid transparency value.", reason="invalid")
        ch.fields["show_as"] = "free" if transparency == "transparent" else "busy"
    if given("status"):
        status = body.get("status") or "confirmed"
        if status not in ("confirmed", "tentative"):
            raise bad_request("Invalid status value.", reason="invalid")
        ch.extra["status"] = None if status == "confirmed" else status
    for name in PASSTHROUGH:
        if given(name):
            ch.google[name] = body.get(name)
    _parse_times(body, current, partial, ch)
    return ch


def _parse_times(body: dict[str, Any], current: Event | None, partial: bool,
                 ch: EventChanges) -> None:
    if partial and "start" not in body and "end" not in body:
        return
    if not partial or current is None:
        start, start_all_day, zone = _parse_when(body.get("start"), "start")
        end, end_all_day, _ = _parse_when(body.get("end"), "end")
    else:
        if "start" in body:
            start, start_all_day, zone = _parse_when(body["start"], "start")
        else:
            start, start_all_day, zone = current.start, current.is_all_day, current.time_zone
        if "end" in body:
            end, end_all_day, _ = _parse_when(body["end"], "end")
        else:
            end, end_all_day = current.end, current.is_all_day
    if start_all_day != end_all_day:
        raise bad_request("Invalid start time.", reason="invalid")
    if end < start or (start_all_day and end == start):
        raise GoogleError(400, "The specified time range is empty.", reason="timeRangeEmpty")
    if current is None or start != current.start:
        ch.fields["start"] = start
    if current is None or end != current.end:
        ch.fields["end"] = end
    ch.fields["is_all_day"] = start_all_day
    ch.fields["time_zone"] = zone


def apply_event_changes(event: Event, ch: EventChanges) -> None:
    for attr, value in ch.fields.items():
        setattr(event, attr, value)
    for key, value in ch.extra.items():
        if value is None:
            event.extra.pop(key, None)
        else:
            event.extra[key] = value
    if ch.google:
        google: dict[str, Any] = event.extra.setdefault("google", {})
        for name, value in ch.google.items():
            if value is None:
                google.pop(name, None)
            else:
                google[name] = value


def meet_conference(create: dict[str, Any], gid: str) -> tuple[dict[str, Any], str]:
    """conferenceData for a hangoutsMeet createRequest, and its join URL."""
    digest = hashlib.sha256(f"{create.get('requestId', '')}|{gid}".encode()).digest()
    letters = "".join("abcdefghijklmnopqrstuvwxyz"[b % 26] for b in digest[:10])
    code = f"{letters[:3]}-{letters[3:7]}-{letters[7:]}"
    url = f"https://meet.google.com/{code}"
    data = {
        "createRequest": {**create, "status": {"statusCode": "success"}},
        "entryPoints": [{"entryPointType": "video", "uri": url, "label": f"meet.google.com/{code}"},
                        {"entryPointType": "more", "uri": f"https://tel.meet/{code}?pin=1",
                         "pin": "1"}],
        "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet",
                               "iconUri": MEET_ICON},
        "conferenceId": code,
    }
    return data, url


# -- persons --------------------------------------------------------------------------------------
PERSON_FIELDS = frozenset({
    "addresses", "ageRanges", "biographies", "birthdays", "calendarUrls", "clientData",
    "coverPhotos", "emailAddresses", "events", "externalIds", "genders", "imClients", "interests",
    "locales", "locations", "memberships", "metadata", "miscKeywords", "names", "nicknames",
    "occupations", "organizations", "phoneNumbers", "photos", "relations", "sipAddresses",
    "skills", "urls", "userDefined"})
UPDATE_FIELDS = frozenset({
    "addresses", "biographies", "birthdays", "calendarUrls", "clientData", "emailAddresses",
    "events", "externalIds", "genders", "imClients", "interests", "locales", "locations",
    "memberships", "miscKeywords", "names", "nicknames", "occupations", "organizations",
    "phoneNumbers", "relations", "sipAddresses", "urls", "userDefined"})
_NEUTRAL = frozenset({"names", "emailAddresses", "phoneNumbers", "organizations"})
_RAW = "google.person"  # Contact.extra key: members without a neutral counterpart, verbatim


def _source(contact: Contact) -> dict[str, str]:
    return {"type": "CONTACT", "id": format(int(person_id(contact.id)[1:]), "x")}


def _entry_meta(contact: Contact, primary: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {"source": _source(contact)}
    if primary:
        meta = {"primary": True, "sourcePrimary": True, **meta}
    return meta


def _typed(contact: Contact, member: str, value: str) -> str | None:
    for entry in contact.extra.get(_RAW + ".types", {}).get(member, []):
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
        out["names"] = [name]
    if "emailAddresses" in wanted and contact.emails:
        out["emailAddresses"] = [_email(contact, i, e) for i, e in enumerate(contact.emails)]
    if "phoneNumbers" in wanted:
        phones = [(p, _typed(contact, "phoneNumbers", p) or "work")
                  for p in contact.business_phones]
        if contact.mobile_phone:
            phones.append((contact.mobile_phone, "mobile"))
        if phones:
            out["phoneNumbers"] = [
                {"metadata": _entry_meta(contact, i == 0), "value": value, "type": kind,
                 "formattedType": kind.capitalize()}
                for i, (value, kind) in enumerate(phones)]
    if "organizations" in wanted and (contact.company_name or contact.job_title):
        org: dict[str, Any] = {"metadata": _entry_meta(contact, True)}
        if contact.company_name:
            org["name"] = contact.company_name
        if contact.job_title:
            org["title"] = contact.job_title
        out["organizations"] = [org]
    raw: dict[str, Any] = contact.extra.get(_RAW, {})
    for member in sorted(wanted & raw.keys()):
        out[member] = raw[member]
    return out


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


def _entries(body: dict[str, Any], member: str) -> list[dict[str, Any]]:
    value = body.get(member) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise bad_request(f"Invalid JSON payload received. Invalid value at 'person.{member}'.")
    return value


def apply_person(contact: Contact, body: dict[str, Any], members: Iterable[str]) -> None:
    """Replace each of `members` on the contact by the body's value (absent: cleared)."""
    raw: dict[str, Any] = contact.extra.setdefault(_RAW, {})
    types: dict[str, list[tuple[str, str]]] = contact.extra.setdefault(_RAW + ".types", {})
    for member in members:
        if member not in _NEUTRAL:
            if body.get(member) is None:
                raw.pop(member, None)
            else:
                raw[member] = body[member]
            continue
        entries = _entries(body, member)
        if member == "names":
            first = entries[0] if entries else {}
            contact.given_name = str(first.get("givenName") or "")
            contact.surname = str(first.get("familyName") or "")
            contact.display_name = str(first.get("displayName") or first.get(
                "unstructuredName") or " ".join(
                p for p in (contact.given_name, contact.surname) if p))
        elif member == "emailAddresses":
            contact.emails = [str(e["value"]) for e in entries if e.get("value")]
            types[member] = [(str(e["value"]), str(e["type"])) for e in entries
                             if e.get("value") and e.get("type")]
        elif member == "phoneNumbers":
            mobile = [str(p["value"]) for p in entries
                      if p.get("value") and p.get("type") == "mobile"]
            others = [p for p in entries if p.get("value") and p.get("type") != "mobile"]
            contact.mobile_phone = mobile[0] if mobile else None
            contact.business_phones = [str(p["value"]) for p in others]
            types[member] = [(str(p["value"]), str(p["type"])) for p in others if p.get("type")]
        else:
            first = entries[0] if entries else {}
            contact.company_name = str(first["name"]) if first.get("name") else None
            contact.job_title = str(first["title"]) if first.get("title") else None
