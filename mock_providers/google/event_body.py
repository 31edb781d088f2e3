"""A Calendar v3 Event request body → the changes it makes to the world's neutral Event.

`parse_event` does every check before anything is touched and returns an `EventChanges`;
`apply_event_changes` then only assigns, so it cannot fail half-way. The body is first conformed
to the discovery document's `Event` schema (schema.py): every member the mock stores has the type
Google's schema gives it, so no stored value can break a later read.

Checks, with Google's errors:
- types of every member (400 parseError, as Apiary's JSON reader answers a type mismatch);
- start/end: RFC 3339 (a dateTime without offset needs a timeZone), an IANA zone, the instant
  inside the range every zone can render (`validate.MIN_INSTANT`…`MAX_INSTANT`), start and end
  both dates or both dateTimes, end not before start (400 invalid / timeRangeEmpty);
- `recurrence` lines by RFC 5545's grammar with bounds (400 invalid "Invalid recurrence rule.");
- summary, description and location at most 8,192 characters (400 invalid);
- attendees need an e-mail address; at most 5 reminder overrides of 0–40320 minutes;
- visibility, transparency and status from their value sets;
- `conferenceData` only with conferenceDataVersion=1; a createRequest must ask for hangoutsMeet.
Patch semantics: members left out are kept; objects (extendedProperties, reminders, source) are
merged member by member, `null` deletes; arrays are replaced. A full update clears what it omits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from mock_providers.google import validate
from mock_providers.google.discovery import document
from mock_providers.google.errors import GoogleError, bad_request
from mock_providers.google.instances import read_lines, recurrence_lines
from mock_providers.google.schema import SchemaError, conform, without_nulls
from mock_providers.world import Attendee, Event
from mock_providers.world.recurrence import SeriesExceptions

VISIBILITIES = ("default", "public", "private", "confidential")
_SENSITIVITY_OF = {"default": "normal", "public": "normal", "private": "private",
                   "confidential": "confidential"}
_RESPONSE_FROM = {"needsAction": "none", "accepted": "accepted", "declined": "declined",
                  "tentative": "tentativelyAccepted"}
# Event members kept verbatim in Event.extra["google"] (no neutral counterpart).
PASSTHROUGH = ("colorId", "recurrence", "extendedProperties", "reminders", "source",
               "guestsCanInviteOthers", "guestsCanModify", "guestsCanSeeOtherGuests",
               "anyoneCanAddSelf", "attachments")
MERGED_ON_PATCH = frozenset({"extendedProperties", "reminders", "source"})
MAX_REMINDER_OVERRIDES = 5
MAX_TEXT = 8192  # summary, description, location (see _sized)
MAX_REMINDER_MINUTES = 40320
MEET_ICON = ("https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/"
             "logo_meet_2020q4_color_2x_web_512dp.png")


@dataclass
class EventChanges:
    fields: dict[str, Any] = field(default_factory=dict)  # Event attribute -> value
    extra: dict[str, Any] = field(default_factory=dict)  # Event.extra key -> value (None: drop)
    google: dict[str, Any] = field(default_factory=dict)  # passthrough member -> value (None)

    @property
    def moves_time(self) -> bool:
        return "start" in self.fields or "end" in self.fields


def conform_event(body: dict[str, Any]) -> dict[str, Any]:
    """The body with every known member type-checked against the Event schema; unknown members
    dropped, as Google's front end ignores them."""
    try:
        out: dict[str, Any] = conform(body, "Event", document("calendar", "v3"))
    except SchemaError as err:
        if err.kind in ("range", "enum"):
            raise bad_request(f"Invalid value for: {err.path}", reason="invalid") from None
        raise bad_request("Parse Error", reason="parseError") from None
    return out


def merge_patch(current: Any, patch: Any) -> Any:
    """Google's patch semantics for an object member: merged, `null` deletes, arrays replaced."""
    if not isinstance(patch, dict) or not isinstance(current, dict):
        return without_nulls(patch)
    out = dict(current)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(current.get(key), value)
    return out


def _parse_when(value: Any, which: str) -> tuple[datetime, bool, str]:
    if not isinstance(value, dict) or not (value.get("date") or value.get("dateTime")):
        raise GoogleError(400, f"Missing {which} time.", reason="required")
    zone_name = value.get("timeZone")
    zone = validate.zone(zone_name) if zone_name is not None else None
    if zone_name is not None and zone is None:
        raise bad_request(f"Invalid time zone definition for {which} time.", reason="invalid")
    if value.get("date"):
        day = validate.event_date(value["date"])
        if day is None:
            raise bad_request(f"Invalid {which} time.", reason="invalid")
        moment = datetime.combine(day, time(), UTC)
        if not validate.in_range(moment):
            raise bad_request(f"Invalid {which} time.", reason="invalid")
        return moment, True, zone_name or "UTC"
    parsed = validate.event_datetime(value["dateTime"])
    if parsed is None:
        raise bad_request(f"Invalid {which} time.", reason="invalid")
    if parsed.tzinfo is None:
        if zone is None:
            raise bad_request(f"Missing time zone definition for {which} time.",
                              reason="required")
        try:
            parsed = parsed.replace(tzinfo=zone).astimezone(UTC)
        except (OverflowError, ValueError):
            raise bad_request(f"Invalid {which} time.", reason="invalid") from None
    if not validate.in_range(parsed):
        raise bad_request(f"Invalid {which} time.", reason="invalid")
    return parsed, False, zone_name or "UTC"


def _attendees(value: list[dict[str, Any]]) -> list[Attendee]:
    out: list[Attendee] = []
    for item in value:
        email = item.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise bad_request("Invalid attendee email.", reason="invalid")
        kind = "resource" if item.get("resource") else (
            "optional" if item.get("optional") else "required")
        out.append(Attendee(email=email, name=item.get("displayName") or "",
                            type=kind,  # type: ignore[arg-type]
                            response=_RESPONSE_FROM.get(item.get("responseStatus") or "",
                                                        "none")))  # type: ignore[arg-type]
    return out


def _reminders(value: dict[str, Any]) -> None:
    overrides = value.get("overrides") or []
    if len(overrides) > MAX_REMINDER_OVERRIDES:
        raise bad_request("Cannot specify more than 5 override reminders.", reason="invalid")
    for reminder in overrides:
        if reminder.get("method") not in (None, "email", "popup"):
            raise bad_request("Invalid reminder method.", reason="invalid")
        minutes = reminder.get("minutes")
        if minutes is not None and not 0 <= minutes <= MAX_REMINDER_MINUTES:
            raise bad_request("Invalid value for: reminders.overrides.minutes",
                              reason="invalid")


def _sized(text: str) -> str:
    """Google refuses a text member over its size limit (400 "A provided value exceeds the
    allowed size limit.", what Calendar answers for an oversized summary or recurrence). The
    limit it documents is the description's, about 8,192 characters; summary and location have
    no documented one, so the same applies (a documented choice)."""
    if len(text) > MAX_TEXT:
        raise bad_request("A provided value exceeds the allowed size limit.", reason="invalid")
    return text


def parse_event(body: dict[str, Any], current: Event | None, *, partial: bool,
                conference_version: int, gid: str) -> EventChanges:
    """What an insert (current None), update (partial=False) or patch (partial=True) body
    changes. Members a full update leaves out are cleared, as Google's update does."""
    body = conform_event(body)
    ch = EventChanges()

    def given(name: str) -> bool:
        return name in body or not partial

    for member, attr in (("summary", "subject"), ("description", "body"),
                         ("location", "location")):
        if given(member):
            ch.fields[attr] = _sized(body.get(member) or "")
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
    if body.get("recurrence"):
        validate.recurrence_lines(body["recurrence"])
    if body.get("reminders"):
        _reminders(body["reminders"])
    stored: dict[str, Any] = current.extra.get("google", {}) if current is not None else {}
    for name in PASSTHROUGH:
        if not given(name):
            continue
        value = body.get(name)
        if partial and name in MERGED_ON_PATCH and value is not None:
            value = merge_patch(stored.get(name), value)
        ch.google[name] = without_nulls(value)
    _parse_times(body, current, partial, ch)
    _parse_series(body, current, partial, ch)
    if conference_version == 1:
        _parse_conference(body, current, gid, ch, replace=not partial)
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


def _parse_series(body: dict[str, Any], current: Event | None, partial: bool,
                  ch: EventChanges) -> None:
    """The neutral series (world/recurrence.py) the `recurrence` lines describe at the event's
    (new) start: every protocol expands and renders from it. A new pattern or series start drops
    the exceptions, as Graph and Exchange do; EXDATEs are the cancelled occurrences."""
    lines_given = "recurrence" in body or not partial
    if not lines_given and not ch.moves_time:
        return
    if lines_given:
        lines = [str(line) for line in body.get("recurrence") or []]
    else:
        lines = (recurrence_lines(current) or []) if current is not None else []
    probe = Event(id="", subject="", created=_EPOCH, last_modified=_EPOCH, ical_uid="",
                  change_key="",
                  start=ch.fields.get("start", current.start if current else _EPOCH),
                  end=ch.fields.get("end", current.end if current else _EPOCH),
                  is_all_day=ch.fields.get("is_all_day", current.is_all_day if current
                                           else False),
                  time_zone=ch.fields.get("time_zone", current.time_zone if current else "UTC"))
    rec, cancelled = read_lines(lines, probe) if lines else (None, set())
    kept: dict[datetime, Any] = {}
    if current is not None and rec is not None and rec == current.recurrence \
            and probe.start == current.start:
        kept = dict(current.exceptions.modified)
    ch.fields["recurrence"] = rec
    ch.fields["exceptions"] = SeriesExceptions(kept, cancelled - set(kept))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _parse_conference(body: dict[str, Any], current: Event | None, gid: str, ch: EventChanges,
                      *, replace: bool) -> None:
    """conferenceData (read only with conferenceDataVersion=1; 0 ignores it)."""
    data = body.get("conferenceData")
    if data is None:
        if replace:
            ch.extra["conferenceData"] = None
        return
    create = data.get("createRequest")
    stored = (current.extra.get("conferenceData") if current is not None else None) or {}
    if isinstance(create, dict):
        if (stored.get("createRequest") or {}).get("requestId") == create.get("requestId"):
            return
        kind = (create.get("conferenceSolutionKey") or {}).get("type")
        if kind != "hangoutsMeet":
            raise bad_request("Invalid conference type value.", reason="invalid")
        conference, url = meet_conference(without_nulls(create), gid)
        ch.extra["conferenceData"] = conference
        ch.fields.update(is_online_meeting=True, join_url=url,
                         online_meeting_provider="hangoutsMeet")
        return
    entry_points = data.get("entryPoints")
    if entry_points:
        ch.extra["conferenceData"] = without_nulls(data)
        video = next((e for e in entry_points if e.get("entryPointType") == "video"), None)
        ch.fields.update(is_online_meeting=video is not None,
                         join_url=video.get("uri") if video else None)


# What one instance may change (the world's OccurrenceChange); the rest is the series'.
_INSTANCE_FIELDS = ("subject", "body", "location", "sensitivity", "show_as", "start", "end")
_SERIES_ONLY = ("time_zone", "recurrence", "exceptions")  # an instance has none of its own
# What render.py shows for a member nothing was stored for: a body echoing it changes nothing.
_RENDERED_DEFAULTS: dict[str, Any] = {"reminders": {"useDefault": True}}


def instance_changes(current: Event, ch: EventChanges) -> dict[str, Any]:
    """The exception a body makes of one instance (`current`, rendered from its series): the
    members the neutral model keeps per occurrence. A body that changes anything else on one
    instance (its attendees, reminders, …) is refused with 400 rather than silently dropped:
    the world keeps those per series."""
    out: dict[str, Any] = {}
    for attr, value in ch.fields.items():
        if attr in _INSTANCE_FIELDS:
            if value != getattr(current, attr):
                out[attr] = value
        elif attr not in _SERIES_ONLY and value != getattr(current, attr):
            raise _series_member(attr)
    for key, value in ch.extra.items():
        if value != current.extra.get(key):
            raise _series_member(key)
    stored = current.extra.get("google") or {}
    for name, value in ch.google.items():
        if value != stored.get(name) and value != _RENDERED_DEFAULTS.get(name):
            raise _series_member(name)
    return out


def _series_member(name: str) -> GoogleError:
    return bad_request(f"Invalid value for: {name} (kept for the whole series; change it on "
                       "the recurring event)", reason="invalid")


def apply_event_changes(event: Event, ch: EventChanges) -> None:
    """Assignments only: nothing here can fail, so a write is all or nothing."""
    for attr, value in ch.fields.items():
        setattr(event, attr, value)
    for key, value in ch.extra.items():
        if value is None:
            event.extra.pop(key, None)
        else:
            event.extra[key] = value
    if ch.google:
        google: dict[str, Any] = dict(event.extra.get("google") or {})
        for name, value in ch.google.items():
            if value is None:
                google.pop(name, None)
            else:
                google[name] = value
        event.extra["google"] = google


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


__all__ = ["EventChanges", "apply_event_changes", "instance_changes", "meet_conference",
           "parse_event"]
