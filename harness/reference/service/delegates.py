"""Scheduling privilege: an owner lets another user schedule for them (Schedule For) and see
their calendar, private events as a time slot unless trusted to manage private events."""

from __future__ import annotations

from datetime import datetime

from harness.api.errors import DriverError
from harness.api.models import Meeting, MeetingRequest, SchedulingGrant
from harness.reference.policy.privacy import assistant_view
from harness.reference.service import convert
from harness.reference.service.context import Context
from harness.reference.service.meetings import Meetings
from harness.reference.service.settings import Settings
from harness.reference.store import SchedulingGrantRow


class Delegates:
    def __init__(self, ctx: Context, settings: Settings, meetings: Meetings) -> None:
        self.ctx, self.settings, self.meetings = ctx, settings, meetings

    def grant_scheduling_privilege(self, owner: str, assignee: str,
                                   manage_private_events: bool) -> SchedulingGrant:
        with self.ctx.store.session() as s:
            who = self.settings.member(s, owner).email
            to = self.settings.member(s, assignee).email
            if who == to:
                raise DriverError("cannot_grant_self", "scheduling privilege is given to "
                                                       "another user")
            row = s.merge(SchedulingGrantRow(owner=who, assignee=to,
                                             manage_private=manage_private_events,
                                             granted_at=self.ctx.now()))
            return convert.grant(row)

    def revoke_scheduling_privilege(self, owner: str, assignee: str) -> None:
        with self.ctx.store.session() as s:
            row = s.get(SchedulingGrantRow, (owner.lower(), assignee.lower()))
            if row is None:
                raise DriverError("no_scheduling_privilege",
                                  f"{owner} has not given {assignee} scheduling privilege")
            s.delete(row)

    def scheduling_privileges(self, user: str) -> list[SchedulingGrant]:
        with self.ctx.store.session() as s:
            return [convert.grant(r) for r in self.ctx.store.scheduling_grants(s, user)]

    def _privilege(self, owner: str, assignee: str) -> SchedulingGrant:
        with self.ctx.store.session() as s:
            row = s.get(SchedulingGrantRow, (owner.lower(), assignee.lower()))
            if row is None:
                raise DriverError("no_scheduling_privilege",
                                  f"{owner} has not given {assignee} scheduling privilege")
            return convert.grant(row)

    def schedule_meeting_for(self, actor: str, owner: str, request: MeetingRequest) -> Meeting:
        """Schedule For: the meeting is the owner's and lands on the owner's calendar."""
        self._privilege(owner, actor)
        return self.meetings.schedule_meeting(owner, request, scheduled_by=actor)

    def calendar_of(self, viewer: str, owner: str, start: datetime,
                    end: datetime) -> list[Meeting]:
        """The owner's meetings as someone with scheduling privilege sees them: private events
        as a time slot only, unless the owner trusts them to manage private events."""
        grant = self._privilege(owner, viewer)
        return assistant_view(self.meetings.list_meetings(owner, start, end),
                              grant.manage_private_events)
