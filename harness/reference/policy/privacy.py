"""What someone with scheduling privilege sees of another user's private events.

Without the privilege to manage private events, an assistant sees a private event's time slot
and nothing else — no topic, invitation link, attendees or location — whatever the calendar
provider returned. Enforced here, in the integration, because providers differ in what they
hide from delegates.
"""

from __future__ import annotations

from harness.api.models import Meeting


def time_slot_only(meeting: Meeting) -> Meeting:
    return Meeting(id=meeting.id, subject=None, start=meeting.start, end=meeting.end,
                   location=None, join_url=None, attendees=[], private=True)


def assistant_view(meetings: list[Meeting], manage_private_events: bool) -> list[Meeting]:
    if manage_private_events:
        return list(meetings)
    return [time_slot_only(m) if m.private else m for m in meetings]
