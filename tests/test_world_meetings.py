"""world/meetings.py on its own: an attendee the organizer removes from a meeting is told as by a
cancellation, in each service's way (Exchange: the copy stays, cancelled, and a cancellation
reaches the Inbox; Google: the copy is deleted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mock_providers.world import Attendee, Calendar, Event, World, meetings
from mock_providers.world.folders import mail_folders
from mock_providers.world.seed import build_world, change_key

START = datetime(2031, 6, 2, 9, tzinfo=UTC)


def _meeting(world: World, calendar: Calendar, organizer: str, emails: list[str]) -> Event:
    event_id = world.new_id()
    event = Event(id=event_id, subject="Review", start=START, end=START + timedelta(hours=1),
                  created=START, last_modified=START, ical_uid=f"{event_id}@test",
                  change_key=change_key(event_id, 0), organizer_email=organizer,
                  attendees=[Attendee(email=e) for e in emails])
    calendar.events.put(event.id, event, world.next_seq())
    return event


def test_exchange_attendee_removed_gets_the_cancellation() -> None:
    world = build_world(5)
    tenant = world.tenant("contoso")
    assert tenant is not None
    organizer, kept, removed = sorted(tenant.users.values(), key=lambda u: u.upn)[:3]
    event = _meeting(world, organizer.mailbox.default_calendar, organizer.upn,
                     [kept.upn, removed.upn])
    assert {u.upn for u in meetings.deliver_invitation(world, organizer, event)} == {
        kept.upn, removed.upn}
    event.attendees = [a for a in event.attendees if a.email != removed.upn]
    meetings.propagate(world, organizer, event)
    copy = next(e for e in removed.mailbox.default_calendar.events
                if e.ical_uid == event.ical_uid)
    assert copy.is_cancelled and copy.subject == "Canceled: Review" and copy.show_as == "free"
    inbox = mail_folders(world, removed)["inbox"]
    assert [m.kind for m in inbox.messages] == ["meetingRequest", "meetingCancelled"]
    assert [u.upn for u, _, _ in meetings.copies(world, event)] == [kept.upn]
    kept_copy = next(e for e in kept.mailbox.default_calendar.events
                     if e.ical_uid == event.ical_uid)
    assert not kept_copy.is_cancelled and [a.email for a in kept_copy.attendees] == [kept.upn]


def test_google_attendee_removed_loses_the_copy() -> None:
    world = build_world(5)
    domain = next(iter(world.google_domains.values()))
    organizer, kept, removed = sorted(domain.users.values(), key=lambda u: u.email)[:3]
    primary = organizer.calendars[organizer.email]
    event = _meeting(world, primary, organizer.email, [kept.email, removed.email])
    meetings.deliver_invitation(world, organizer, event)
    assert event.id in removed.calendars[removed.email].events
    event.attendees = [a for a in event.attendees if a.email != removed.email]
    meetings.propagate(world, organizer, event)
    assert event.id not in removed.calendars[removed.email].events
    assert event.id in kept.calendars[kept.email].events
    assert [u.email for u, _, _ in meetings.copies(world, event)] == [kept.email]
