"""Meetings across mailboxes of one Microsoft tenant, provider-neutral.

An organizer's event whose attendees include users of the organizer's tenant is a meeting:

- `deliver_invitation(world, organizer, event)`: each such attendee gets a copy of the event in
  their default calendar (same iCalUId, own id, shown as tentative, their response "none", i.e.
  not responded) and a meeting request in their Inbox; the organizer gets the request in Sent
  Items. Attendees outside the tenant (or unknown) get nothing: the world delivers no other mail.
- `respond(world, attendee, event, response, comment=, send_response=)`: the attendee's answer
  ("accepted", "tentativelyAccepted", "declined") is written on the attendee's copy (accepted:
  busy, tentative: tentative) and on the organizer's event (that attendee's status). A
  declined meeting leaves the attendee's calendar, as Exchange does. Only with `send_response`
  (as on Exchange) does the organizer learn it: their event's attendee status changes and their
  Inbox gets the response message (the attendee's Sent Items its copy).
- `cancel(world, organizer, event, comment=)`: the organizer's event leaves the organizer's
  calendar; each attendee's copy stays, marked `is_cancelled`, subject prefixed "Canceled: " and
  shown as free, and a cancellation arrives in their Inbox (the organizer's Sent Items keeps one).
- `propagate(world, organizer, event)`: after the organizer changed the meeting (times, subject,
  an occurrence's exception...), the attendees' copies follow.
- `copies(world, event)` / `organizer_event(world, copy)`: the links between the organizer's
  event and the copies, by iCalUId.

Every change goes through `series.bump` (new change key, new sequence), so each protocol's
change tracking and render cache see it. Graph, EWS (and anything else) call these functions
and only render the outcome.
"""

from __future__ import annotations

import copy as copy_module
from dataclasses import dataclass, field, replace
from typing import Literal

from mock_providers.world.extensions import per_world
from mock_providers.world.folders import MailMessage, MessageKind, deliver
from mock_providers.world.model import Attendee, Calendar, Event, MsUser
from mock_providers.world.seed import change_key
from mock_providers.world.series import bump
from mock_providers.world.world import World

Response = Literal["accepted", "tentativelyAccepted", "declined"]
RESPONSES: tuple[str, ...] = ("accepted", "tentativelyAccepted", "declined")
_RESPONSE_KIND: dict[str, MessageKind] = {
    "accepted": "meetingAccepted", "tentativelyAccepted": "meetingTentativelyAccepted",
    "declined": "meetingDeclined"}
_RESPONSE_PREFIX = {"accepted": "Accepted", "tentativelyAccepted": "Tentative",
                    "declined": "Declined"}


class MeetingError(ValueError):
    """The operation does not apply (an organizer responding, an attendee cancelling...)."""


@dataclass(slots=True)
class _Meeting:
    organizer_id: str
    event_id: str
    copies: dict[str, str] = field(default_factory=dict)  # attendee user id -> event id


_meetings = per_world(dict[str, _Meeting])  # by iCalUId


def _calendar_of(user: MsUser, event_id: str) -> Calendar | None:
    return next((c for c in user.mailbox.calendars.values() if event_id in c.events), None)


def _internal_attendees(world: World, organizer: MsUser, event: Event) -> list[MsUser]:
    out: list[MsUser] = []
    for attendee in event.attendees:
        user = world.ms_user(attendee.email)
        if (user is not None and user.tenant_id == organizer.tenant_id
                and user.id != organizer.id and user not in out):
            out.append(user)
    return out


def _message(world: World, kind: MessageKind, subject: str, sender: MsUser,
             to: list[tuple[str, str]], event: Event, event_id: str | None,
             comment: str = "", body: str | None = None) -> MailMessage:
    message_id = world.new_id()
    return MailMessage(
        id=message_id, kind=kind, subject=subject,
        body=event.body if body is None else body, sender_email=sender.upn,
        sender_name=sender.display_name, to=to, created=world.now(),
        change_key=change_key(message_id, 0), ical_uid=event.ical_uid, event_id=event_id,
        meeting_start=event.start, meeting_end=event.end, location=event.location,
        is_all_day=event.is_all_day, comment=comment)


def _mirror(source: Event, target: Event) -> None:
    """The meeting's own fields, from the organizer's event onto a copy."""
    for name in ("subject", "start", "end", "time_zone", "body", "body_type", "location",
                 "attendees", "sensitivity", "is_all_day", "is_online_meeting",
                 "online_meeting_provider", "join_url", "recurrence", "categories"):
        setattr(target, name, copy_module.deepcopy(getattr(source, name)))
    target.exceptions = copy_module.deepcopy(source.exceptions)
    target.sequence = source.sequence


def deliver_invitation(world: World, organizer: MsUser, event: Event) -> list[MsUser]:
    """Send the meeting request for `event` (in the organizer's calendar) to the attendees of the
    organizer's tenant who have no copy yet; returns those attendees."""
    meeting = _meetings(world).get(event.ical_uid)
    if meeting is None or meeting.event_id != event.id:
        meeting = _meetings(world)[event.ical_uid] = _Meeting(organizer.id, event.id)
    reached: list[MsUser] = []
    for user in _internal_attendees(world, organizer, event):
        if user.id in meeting.copies:
            continue
        calendar = user.mailbox.default_calendar
        copy_id = world.new_id()
        now = world.now()
        item = replace(event, id=copy_id, created=now, last_modified=now,
                       change_key=change_key(copy_id, 0), show_as="tentative",
                       transaction_id=None, extra={}, is_cancelled=False)
        _mirror(event, item)
        for attendee in item.attendees:
            attendee.response = "none"
        calendar.events.put(copy_id, item, world.next_seq())
        meeting.copies[user.id] = copy_id
        deliver(world, user, "inbox", _message(world, "meetingRequest", event.subject,
                                               organizer, [(user.upn, user.display_name)],
                                               event, copy_id))
        reached.append(user)
    if reached:
        to = [(u.upn, u.display_name) for u in reached]
        deliver(world, organizer, "sentitems",
                _message(world, "meetingRequest", event.subject, organizer, to, event, event.id))
    return reached


def copies(world: World, event: Event) -> list[tuple[MsUser, Calendar, Event]]:
    """The attendees' copies of the organizer's `event` still in their calendars."""
    meeting = _meetings(world).get(event.ical_uid)
    if meeting is None or meeting.event_id != event.id:
        return []
    out: list[tuple[MsUser, Calendar, Event]] = []
    for user_id, copy_id in meeting.copies.items():
        user = world.ms_user(user_id)
        calendar = _calendar_of(user, copy_id) if user else None
        if user is not None and calendar is not None:
            out.append((user, calendar, calendar.events.items[copy_id]))
    return out


def organizer_event(world: World, copy: Event) -> tuple[MsUser, Calendar, Event] | None:
    """The organizer's event an attendee's `copy` belongs to, if it is still there."""
    meeting = _meetings(world).get(copy.ical_uid)
    if meeting is None:
        return None
    organizer = world.ms_user(meeting.organizer_id)
    calendar = _calendar_of(organizer, meeting.event_id) if organizer else None
    if organizer is None or calendar is None:
        return None
    return organizer, calendar, calendar.events.items[meeting.event_id]


def is_copy(world: World, user: MsUser, event: Event) -> bool:
    meeting = _meetings(world).get(event.ical_uid)
    return meeting is not None and meeting.copies.get(user.id) == event.id


def respond(world: World, attendee: MsUser, event: Event, response: Response, *,
            comment: str = "", send_response: bool = True) -> None:
    """The attendee's answer to the meeting `event` (their copy, in their calendar)."""
    if response not in RESPONSES:
        raise MeetingError(f"{response!r} is not a meeting response")
    if event.organizer_email.lower() == attendee.upn.lower():
        raise MeetingError("the organizer cannot respond to their own meeting")
    calendar = _calendar_of(attendee, event.id)
    if calendar is None:
        raise MeetingError("the event is not in the attendee's calendar")
    if event.is_cancelled:
        raise MeetingError("the meeting has been cancelled")
    _set_response(event.attendees, attendee.upn, response)
    event.show_as = {"accepted": "busy", "tentativelyAccepted": "tentative",
                     "declined": "free"}[response]
    found = organizer_event(world, event) if is_copy(world, attendee, event) else None
    if response == "declined":
        calendar.events.delete(event.id, world.next_seq())
        meeting = _meetings(world).get(event.ical_uid)
        if meeting is not None:
            meeting.copies.pop(attendee.id, None)
    else:
        bump(world, calendar, event)
    if found is None or not send_response:
        return  # without a response the organizer's tracking is not updated, as on Exchange
    organizer, org_calendar, org_event = found
    _set_response(org_event.attendees, attendee.upn, response)
    bump(world, org_calendar, org_event)
    for _, other_calendar, other in copies(world, org_event):
        if other.id != event.id:
            _set_response(other.attendees, attendee.upn, response)
            bump(world, other_calendar, other)
    subject = f"{_RESPONSE_PREFIX[response]}: {org_event.subject}"
    to = [(organizer.upn, organizer.display_name)]
    kind = _RESPONSE_KIND[response]
    deliver(world, organizer, "inbox", _message(world, kind, subject, attendee, to, org_event,
                                                org_event.id, comment, comment))
    deliver(world, attendee, "sentitems",
            _message(world, kind, subject, attendee, to, org_event,
                     None if response == "declined" else event.id, comment, comment))


def _set_response(attendees: list[Attendee], email: str, response: str) -> None:
    for attendee in attendees:
        if attendee.email.lower() == email.lower():
            attendee.response = response  # type: ignore[assignment]


def cancel(world: World, organizer: MsUser, event: Event, *, comment: str = "") -> list[MsUser]:
    """The organizer cancels the meeting: it leaves their calendar; each attendee's copy is
    marked cancelled and a cancellation reaches their Inbox. Returns the attendees told."""
    if event.organizer_email.lower() != organizer.upn.lower():
        raise MeetingError("only the organizer can cancel a meeting")
    calendar = _calendar_of(organizer, event.id)
    told: list[MsUser] = []
    for user, copy_calendar, item in copies(world, event):
        item.is_cancelled = True
        item.show_as = "free"
        if not item.subject.startswith("Canceled: "):
            item.subject = f"Canceled: {item.subject}"
        bump(world, copy_calendar, item)
        deliver(world, user, "inbox",
                _message(world, "meetingCancelled", f"Canceled: {event.subject}", organizer,
                         [(user.upn, user.display_name)], event, item.id, comment,
                         comment or event.body))
        told.append(user)
    if told:
        deliver(world, organizer, "sentitems",
                _message(world, "meetingCancelled", f"Canceled: {event.subject}", organizer,
                         [(u.upn, u.display_name) for u in told], event, None, comment,
                         comment or event.body))
    if calendar is not None:
        calendar.events.delete(event.id, world.next_seq())
    _meetings(world).pop(event.ical_uid, None)
    return told


def propagate(world: World, organizer: MsUser, event: Event) -> None:
    """The organizer changed the meeting: bring every attendee's copy up to date (their own
    free/busy stays theirs)."""
    for _, calendar, item in copies(world, event):
        _mirror(event, item)  # the organizer's event holds every attendee's response
        bump(world, calendar, item)
