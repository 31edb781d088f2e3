"""Calendar v3 writes that touch a meeting: the Google face of `world/meetings.py`.

An event with attendees of the organizer's Workspace domain is a meeting: it is in each such
attendee's primary calendar too, under the same event id (as on Google). What each write means:

- the organizer inserts or changes it: the attendees' copies are made or follow, a removed
  attendee's copy is deleted (`after_write`);
- the organizer deletes it: the copies are deleted too (attendees see `status: cancelled`);
- an attendee patches (or updates) their copy: a change of their own `responseStatus` is their
  answer, which the organizer's event and the other copies then show. The guest permissions
  (`guestsCanInviteOthers`, `guestsCanModify`, `guestsCanSeeOtherGuests`) are the organizer's:
  changing them answers 403 forbiddenForNonOrganizer, Google's error for it. Other members an
  attendee changes stay on their copy only (until the organizer's next change), which is what
  Google does for a guest without `guestsCanModify`. The attendee list itself is the
  organizer's: only the attendee's own status is read from it.
"""

from __future__ import annotations

from mock_providers.google.errors import GoogleError
from mock_providers.google.event_body import EventChanges, apply_event_changes
from mock_providers.world import Calendar, Event, GoogleUser, World, meetings
from mock_providers.world.series import bump

# Google's defaults: an attendee who sends one explicitly changes nothing.
_ORGANIZER_ONLY = {"guestsCanInviteOthers": True, "guestsCanModify": False,
                   "guestsCanSeeOtherGuests": True}


def organizer_of(world: World, calendar: Calendar) -> GoogleUser | None:
    """The user whose primary calendar this is: only there is an event a meeting they organize
    (a secondary calendar's events invite nobody here, a simplification)."""
    owner = world.google_user(calendar.owner_email)
    return owner if owner is not None and calendar.is_default else None


def after_write(world: World, calendar: Calendar, event: Event) -> list[tuple[Calendar, Event]]:
    """The organizer inserted or changed `event`: copies follow, new attendees get theirs, the
    copies of attendees no longer invited are deleted (returned, for the caller's tombstones)."""
    owner = organizer_of(world, calendar)
    if owner is None or meetings.is_copy(world, owner, event):
        return []
    if event.organizer_email.lower() != owner.email.lower():
        return []
    before = [(c, e) for _, c, e in meetings.copies(world, event)]
    meetings.propagate(world, owner, event)
    if event.attendees:
        meetings.deliver_invitation(world, owner, event)
    return [(c, e) for c, e in before if e.id not in c.events]


def attendee_of(world: World, calendar: Calendar, event: Event) -> GoogleUser | None:
    """The calendar's owner when `event` there is their copy of someone else's meeting."""
    owner = world.google_user(calendar.owner_email)
    return owner if owner is not None and meetings.is_copy(world, owner, event) else None


def write_copy(world: World, calendar: Calendar, attendee: GoogleUser, event: Event,
               changes: EventChanges) -> None:
    """An attendee's write to their copy (see the module's docstring)."""
    stored = event.extra.get("google") or {}
    for name, default in _ORGANIZER_ONLY.items():
        if name in changes.google and changes.google[name] != stored.get(name, default):
            raise GoogleError(403, "Shared properties can only be changed by the organizer "
                              "of the event.", reason="forbiddenForNonOrganizer",
                              domain="calendar")
    answer = None
    given = changes.fields.pop("attendees", None)
    if given is not None:
        own = next((a for a in given if a.email.lower() == attendee.email.lower()), None)
        current = next((a for a in event.attendees
                        if a.email.lower() == attendee.email.lower()), None)
        if own is not None and current is not None and own.response != current.response:
            answer = own.response
    apply_event_changes(event, changes)
    if answer in meetings.RESPONSES:
        meetings.respond(world, attendee, event, answer)  # type: ignore[arg-type]
        return
    if answer == "none":  # back to needsAction: Google keeps it, every copy shows it
        found = meetings.organizer_event(world, event)
        others = [] if found is None else [(found[1], found[2])] + [
            (c, e) for _, c, e in meetings.copies(world, found[2]) if e is not event]
        for target_calendar, target in [(calendar, event), *others]:
            for person in target.attendees:
                if person.email.lower() == attendee.email.lower():
                    person.response = "none"
            if target is not event:
                bump(world, target_calendar, target)
    bump(world, calendar, event)


def delete(world: World, calendar: Calendar, event: Event) -> list[tuple[Calendar, Event]]:
    """The organizer deletes a meeting: it and every copy go. Returns each (calendar, event)
    deleted, for the caller's tombstones; [] when `event` is no meeting of the calendar's owner
    (the caller deletes it alone)."""
    owner = organizer_of(world, calendar)
    if owner is None or not meetings.is_organized(world, owner, event):
        return []
    gone = [(c, e) for _, c, e in meetings.copies(world, event)] + [(calendar, event)]
    meetings.cancel(world, owner, event)
    return gone
