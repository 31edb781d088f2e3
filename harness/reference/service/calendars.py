""""Sync Zoom Meetings from calendars": the user's calendars at the provider, the toggle, and which
calendars the meeting list reads.

Until the user picks, the toggle is on and only the default calendar is read (by the provider's
own alias: `/me/calendar`, the distinguished `calendar` folder, Google's `primary`), so nothing
is listed on the way to the meeting list. A pick is kept with the service it was made for; one
made for another calendar service (the user set the integration up again with another) is not
used. Unselected calendars are never read; with the toggle off none is.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.api.errors import DriverError
from harness.api.models import CalendarChoice, CalendarSelection, CalendarSync
from harness.reference.providers.base import CalendarData
from harness.reference.service.acting import Acting
from harness.reference.service.context import Context
from harness.reference.store import CalendarSelectionRow, IntegrationRow


@dataclass(frozen=True, slots=True)
class Selection:
    on: bool
    calendar_ids: tuple[str, ...] | None  # None: the default calendar (never picked)


DEFAULT = Selection(on=True, calendar_ids=None)


def _service_key(row: IntegrationRow) -> str:
    return f"{row.service}/{row.authorize_with or '-'}"


class Calendars:
    def __init__(self, ctx: Context, acting: Acting) -> None:
        self.ctx, self.acting = ctx, acting

    def selection(self, user: str) -> Selection:
        """What the meeting list reads for the user now."""
        with self.ctx.store.session() as s:
            integration = self.ctx.store.integration(s, user)
            chosen = s.get(CalendarSelectionRow, user.lower())
            if integration is None or chosen is None or chosen.service != _service_key(
                    integration):
                return DEFAULT
            ids = None if chosen.calendar_ids is None else tuple(chosen.calendar_ids)
            return Selection(on=bool(chosen.sync_from_calendars), calendar_ids=ids)

    def list_calendars(self, user: str) -> CalendarSync:
        return self._view(self._provider_calendars(user), self.selection(user))

    def select_calendars(self, user: str, request: CalendarSelection) -> CalendarSync:
        found = self._provider_calendars(user)
        current = self.selection(user)
        ids = current.calendar_ids
        if request.calendar_ids is not None:
            known = {c.provider_id for c in found}
            unknown = [i for i in request.calendar_ids if i not in known]
            if unknown:
                raise DriverError("unknown_calendar",
                                  f"the user has no calendar {unknown[0]!r} at the provider")
            ids = tuple(dict.fromkeys(request.calendar_ids))  # once each, in the order given
        chosen = Selection(on=request.sync_from_calendars, calendar_ids=ids)
        with self.ctx.store.session() as s:
            integration = self.ctx.store.integration(s, user)
            if integration is None:
                raise DriverError("not_connected", "the user has no calendar integration")
            row = s.get(CalendarSelectionRow, user.lower())
            if row is None:
                row = CalendarSelectionRow(user=integration.user)
                s.add(row)
            row.service = _service_key(integration)
            row.sync_from_calendars = chosen.on
            row.calendar_ids = None if ids is None else list(ids)
        return self._view(found, chosen)

    def _provider_calendars(self, user: str) -> list[CalendarData]:
        provider, creds, status = self.acting.require(user)
        if status.calendar == "none":
            raise DriverError("calendar_off", "the integration has no calendar permission")
        # A read with a write's error contract: a dead grant marks the integration for
        # re-authentication, a provider failure is `provider_error`, rotated tokens are saved.
        return list(self.acting.write(user, creds, lambda: provider.list_calendars(creds)))

    @staticmethod
    def _view(found: list[CalendarData], chosen: Selection) -> CalendarSync:
        def selected(calendar: CalendarData) -> bool:
            if chosen.calendar_ids is None:
                return calendar.is_default
            return calendar.provider_id in chosen.calendar_ids

        return CalendarSync(sync_from_calendars=chosen.on, calendars=[
            CalendarChoice(id=c.provider_id, name=c.name, is_default=c.is_default,
                           selected=selected(c)) for c in found])
