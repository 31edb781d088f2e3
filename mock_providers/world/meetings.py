"""Meetings across calendars of one organization, provider-neutral.

An organizer's event whose attendees include users of the organizer's organization is a meeting.
The organization is a Microsoft tenant or a Google Workspace domain: the two worlds never meet
(a Google attendee of a Microsoft meeting, or the reverse, gets nothing, as with any outside
address). The two services differ where noted ("Exchange" / "Google"):

- `deliver_invitation(world, organizer, event)`: each such attendee gets a copy of the event in
  their default (Google: primary) calendar with the same iCalUId, their response "none"
  (Google's needsAction). Exchange: the copy has its own id, shows as tentative, and a meeting
  request reaches the attendee's Inbox (the organizer's Sent Items keeps one). Google: the copy
  has the organizer's event id (Google's event ids are the same in every attendee's calendar),
  keeps every attendee's status and the event's Google-only fields; Google delivers no message
  the world could hold (its invitations are e-mail).
- `respond(world, attendee, event, response, comment=, send_response=)`: the attendee's answer
  ("accepted", "tentativelyAccepted", "declined") is written on the attendee's copy and on the
  organizer's event (that attendee's status). Exchange: accepted shows busy, tentative
  tentative; a declined meeting leaves the attendee's calendar; only with `send_response` does
  the organizer learn it (their Inbox gets the response message, the attendee's Sent Items its
  copy). Google: the copy stays whatever the answer (a declined event is still listed, with
  responseStatus declined) and the organizer always learns it.
- `cancel(world, organizer, event, comment=)`: the organizer's event leaves the organizer's
  calendar. Exchange: each attendee's copy stays, marked `is_cancelled`, subject prefixed
  "Canceled: " and shown as free, and a cancellation arrives in their Inbox. Google: each copy
  is deleted too (attendees then see it as `status: cancelled` in a sync).
- `propagate(world, organizer, event)`: after the organizer changed the meeting (times, subject,
  an occurrence's exception...), the attendees' copies follow; an attendee removed from the
  list gets the cancellation.
- `copies(world, event)` / `organizer_event(world, copy)`: the links between the organizer's
  event and the copies, by iCalUId.

Every change goes through `series.bump` (new change key, new sequence), so each protocol's
change tracking and render cache see it. Graph, EWS and Google call these functions and only
render the outcome.
"""

from __future__ import annotations

import copy as copy_module
from dataclasses import dataclass, field, replace
from typing import Literal

from mock_providers.world.extensions import per_world
from mock_providers.world.folders import MailMessage, MessageKind, deliver
from mock_providers.world.limits import exchange_text
from mock_providers.world.model import Attendee, Calendar, Event, GoogleUser, MsUser
from mock_providers.world.seed import change_key
from mock_providers.world.series import bump
from mock_providers.world.world import World

Response = Literal["accepted", "tentativelyAccepted", "declined"]
RESPONSES: tuple[str, ...] = ("accepted", "tentativelyAccepted", "declined")
User = MsUser | GoogleUser
_RESPONSE_KIND: dict[str, MessageKind] = {
    "accepted": "meetingAccepted", "tentativelyAccepted": "meetingTentativelyAccepted",
    "declined": "meetingDeclined"}
_RESPONSE_PREFIX = {"accepted": "Accepted", "tentativelyAccepted": "Tentative",
                    "declined": "Declined"}
_GOOGLE = "google:"


class MeetingError(ValueError):
    """The operation does not apply (an organizer responding, an attendee cancelling...)."""


@dataclass(slots=True)
class _Meeting:
    organizer_key: str
    event_id: str
    copies: dict[str, str] = field(default_factory=dict)  # attendee key -> event id


_meetings = per_world(dict[str, _Meeting])  # by iCalUId


# -- the two kinds of user, seen alike -------------------------------------------------------------
def _key(user: User) -> str:
    """A Microsoft user by object id; a Google user by e-mail (Google users have no other id)."""
    return user.id if isinstance(user, MsUser) else _GOOGLE + user.email.lower()


def _user(world: World, key: str) -> User | None:
    if key.startswith(_GOOGLE):
        return world.google_user(key[len(_GOOGLE):])
    return world.ms_user(key)


def email_of(user: User) -> str:
    return user.upn if isinstance(user, MsUser) else user.email


def _name(user: User) -> str:
    return user.display_name if isinstance(user, MsUser) else user.name


def _calendars(user: User) -> list[Calendar]:
    return list((user.mailbox.calendars if isinstance(user, MsUser) else user.calendars).values())


def _default_calendar(user: User) -> Calendar | None:
    if isinstance(user, MsUser):
        return user.mailbox.default_calendar
    return user.calendars.get(user.email)  # the primary calendar's id is the address


def _calendar_of(user: User, event_id: str) -> Calendar | None:
    return next((c for c in _calendars(user) if event_id in c.events), None)


def _colleague(world: World, organizer: User, email: str) -> User | None:
    """The attendee `email` when they are a user of the organizer's organization."""
    if isinstance(organizer, MsUser):
        user = world.ms_user(email)
        return user if user is not None and user.tenant_id == organizer.tenant_id else None
    same_domain = (email.rsplit("@", 1)[-1].lower()
                   == organizer.email.rsplit("@", 1)[-1].lower())
    return world.google_user(email) if same_domain else None


def _internal_attendees(world: World, organizer: User, event: Event) -> list[User]:
    out: list[User] = []
    for attendee in event.attendees:
        user = _colleague(world, organizer, attendee.email)
        if user is not None and _key(user) != _key(organizer) and user not in out:
            out.append(user)
    return out


def _deliver(world: World, user: User, folder: str, message: MailMessage) -> None:
    """Meeting messages exist in Exchange mailboxes only: Google's are e-mail, outside the world."""
    if isinstance(user, MsUser):
        deliver(world, user, folder, message)


def _message(world: World, kind: MessageKind, subject: str, sender: User,
             to: list[tuple[str, str]], event: Event, event_id: str | None,
             comment: str = "", body: str | None = None) -> MailMessage:
    message_id = world.new_id()
    return MailMessage(
        id=message_id, kind=kind, subject=exchange_text(subject),
        body=event.body if body is None else body, sender_email=email_of(sender),
        sender_name=_name(sender), to=to, created=world.now(),
        change_key=change_key(message_id, 0), ical_uid=event.ical_uid, event_id=event_id,
        meeting_start=event.start, meeting_end=event.end, location=event.location,
        is_all_day=event.is_all_day, comment=comment)


_SHARED = ("subject", "start", "end", "time_zone", "body", "body_type", "location", "attendees",
           "sensitivity", "is_all_day", "is_online_meeting", "online_meeting_provider",
           "join_url", "recurrence", "categories")


def _mirror(source: Event, target: Event, google: bool) -> None:
    """The meeting's own fields, from the organizer's event onto a copy."""
    for name in _SHARED:
        setattr(target, name, copy_module.deepcopy(getattr(source, name)))
    target.exceptions = copy_module.deepcopy(source.exceptions)
    target.sequence = source.sequence
    if google:  # conferenceData, guestsCan…, the creator: one event, the same in every calendar
        target.extra = copy_module.deepcopy(source.extra)
        target.show_as = source.show_as


# -- the operations --------------------------------------------------------------------------------
def deliver_invitation(world: World, organizer: User, event: Event) -> list[User]:
    """Send the meeting request for `event` (in the organizer's calendar) to the attendees of the
    organizer's organization who have no copy yet; returns those attendees."""
    google = isinstance(organizer, GoogleUser)
    meeting = _meetings(world).get(event.ical_uid)
    if meeting is None or meeting.event_id != event.id:
        meeting = _meetings(world)[event.ical_uid] = _Meeting(_key(organizer), event.id)
    reached: list[User] = []
    for user in _internal_attendees(world, organizer, event):
        calendar = _default_calendar(user)
        if _key(user) in meeting.copies or calendar is None:
            continue
        copy_id = event.id if google else world.new_id()
        if copy_id in calendar.events:
            continue  # Google: the attendee's calendar already holds this event (they own it)
        now = world.now()
        item = replace(event, id=copy_id, created=now, last_modified=now,
                       change_key=change_key(copy_id, 0, _key(user)), show_as="tentative",
                       transaction_id=None, extra={}, is_cancelled=False)
        _mirror(event, item, google)
        if not google:  # Exchange's copy starts from the request: nobody has answered yet
            for attendee in item.attendees:
                attendee.response = "none"
        calendar.events.put(copy_id, item, world.next_seq())
        meeting.copies[_key(user)] = copy_id
        _deliver(world, user, "inbox",
                 _message(world, "meetingRequest", event.subject, organizer,
                          [(email_of(user), _name(user))], event, copy_id))
        reached.append(user)
    if reached:
        to = [(email_of(u), _name(u)) for u in reached]
        _deliver(world, organizer, "sentitems",
                 _message(world, "meetingRequest", event.subject, organizer, to, event,
                          event.id))
    return reached


def copies(world: World, event: Event) -> list[tuple[User, Calendar, Event]]:
    """The attendees' copies of the organizer's `event` still in their calendars."""
    meeting = _meetings(world).get(event.ical_uid)
    if meeting is None or meeting.event_id != event.id:
        return []
    out: list[tuple[User, Calendar, Event]] = []
    for key, copy_id in meeting.copies.items():
        user = _user(world, key)
        calendar = _calendar_of(user, copy_id) if user else None
        if user is not None and calendar is not None:
            out.append((user, calendar, calendar.events.items[copy_id]))
    return out


def organizer_event(world: World, copy: Event) -> tuple[User, Calendar, Event] | None:
    """The organizer's event an attendee's `copy` belongs to, if it is still there."""
    meeting = _meetings(world).get(copy.ical_uid)
    if meeting is None:
        return None
    organizer = _user(world, meeting.organizer_key)
    calendar = _calendar_of(organizer, meeting.event_id) if organizer else None
    if organizer is None or calendar is None:
        return None
    return organizer, calendar, calendar.events.items[meeting.event_id]


def is_copy(world: World, user: User, event: Event) -> bool:
    meeting = _meetings(world).get(event.ical_uid)
    return meeting is not None and meeting.copies.get(_key(user)) == event.id


def is_organized(world: World, user: User, event: Event) -> bool:
    """Whether `event` is `user`'s own meeting with copies in attendees' calendars."""
    meeting = _meetings(world).get(event.ical_uid)
    return (meeting is not None and meeting.organizer_key == _key(user)
            and meeting.event_id == event.id and bool(meeting.copies))


def respond(world: World, attendee: User, event: Event, response: Response, *,
            comment: str = "", send_response: bool = True) -> None:
    """The attendee's answer to the meeting `event` (their copy, in their calendar)."""
    if response not in RESPONSES:
        raise MeetingError(f"{response!r} is not a meeting response")
    google = isinstance(attendee, GoogleUser)
    email = email_of(attendee)
    if event.organizer_email.lower() == email.lower():
        raise MeetingError("the organizer cannot respond to their own meeting")
    calendar = _calendar_of(attendee, event.id)
    if calendar is None:
        raise MeetingError("the event is not in the attendee's calendar")
    if event.is_cancelled:
        raise MeetingError("the meeting has been cancelled")
    _set_response(event.attendees, email, response)
    if not google:  # Google's transparency is the event's, not the answer's
        event.show_as = {"accepted": "busy", "tentativelyAccepted": "tentative",
                         "declined": "free"}[response]
    found = organizer_event(world, event) if is_copy(world, attendee, event) else None
    if response == "declined" and not google:
        calendar.events.delete(event.id, world.next_seq())
        meeting = _meetings(world).get(event.ical_uid)
        if meeting is not None:
            meeting.copies.pop(_key(attendee), None)
    else:
        bump(world, calendar, event)
    if found is None or not (send_response or google):
        return  # without a response the organizer's tracking is not updated, as on Exchange
    organizer, org_calendar, org_event = found
    _set_response(org_event.attendees, email, response)
    bump(world, org_calendar, org_event)
    for _, other_calendar, other in copies(world, org_event):
        if other is not event:
            _set_response(other.attendees, email, response)
            bump(world, other_calendar, other)
    subject = f"{_RESPONSE_PREFIX[response]}: {org_event.subject}"
    to = [(email_of(organizer), _name(organizer))]
    kind = _RESPONSE_KIND[response]
    _deliver(world, organizer, "inbox", _message(world, kind, subject, attendee, to, org_event,
                                                 org_event.id, comment, comment))
    _deliver(world, attendee, "sentitems",
             _message(world, kind, subject, attendee, to, org_event,
                      None if response == "declined" else event.id, comment, comment))


def _set_response(attendees: list[Attendee], email: str, response: str) -> None:
    for attendee in attendees:
        if attendee.email.lower() == email.lower():
            attendee.response = response  # type: ignore[assignment]


def cancel(world: World, organizer: User, event: Event, *, comment: str = "") -> list[User]:
    """The organizer cancels the meeting: it leaves their calendar; each attendee's copy is
    marked cancelled (Google: deleted) and a cancellation reaches their Inbox. Returns the
    attendees told."""
    if event.organizer_email.lower() != email_of(organizer).lower():
        raise MeetingError("only the organizer can cancel a meeting")
    google = isinstance(organizer, GoogleUser)
    calendar = _calendar_of(organizer, event.id)
    told: list[User] = []
    for user, copy_calendar, item in copies(world, event):
        _withdraw(world, organizer, event, user, copy_calendar, item, google, comment)
        told.append(user)
    if told:
        _deliver(world, organizer, "sentitems",
                 _message(world, "meetingCancelled", f"Canceled: {event.subject}", organizer,
                          [(email_of(u), _name(u)) for u in told], event, None, comment,
                          comment or event.body))
    if calendar is not None:
        calendar.events.delete(event.id, world.next_seq())
    _meetings(world).pop(event.ical_uid, None)
    return told


def propagate(world: World, organizer: User, event: Event) -> None:
    """The organizer changed the meeting: bring every attendee's copy up to date (their own
    free/busy stays theirs on Exchange); an attendee the organizer removed is told as by a
    cancellation (Exchange: their copy marked cancelled and a cancellation in their Inbox;
    Google: their copy deleted)."""
    google = isinstance(organizer, GoogleUser)
    invited = {_key(u) for u in _internal_attendees(world, organizer, event)}
    meeting = _meetings(world).get(event.ical_uid)
    for user, calendar, item in copies(world, event):
        if _key(user) in invited:
            _mirror(event, item, google)  # the organizer's event holds every attendee's response
            bump(world, calendar, item)
            continue
        _withdraw(world, organizer, event, user, calendar, item, google)
        if meeting is not None:
            meeting.copies.pop(_key(user), None)


def _withdraw(world: World, organizer: User, event: Event, user: User, calendar: Calendar,
              item: Event, google: bool, comment: str = "") -> None:
    """`user`'s copy of the organizer's `event`, cancelled for them."""
    if google:
        calendar.events.delete(item.id, world.next_seq())
    else:
        item.is_cancelled = True
        item.show_as = "free"
        if not item.subject.startswith("Canceled: "):
            item.subject = exchange_text(f"Canceled: {item.subject}")
        bump(world, calendar, item)
    _deliver(world, user, "inbox",
             _message(world, "meetingCancelled", f"Canceled: {event.subject}", organizer,
                      [(email_of(user), _name(user))], event, None if google else item.id,
                      comment, comment or event.body))
