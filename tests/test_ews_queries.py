"""FindItem restrictions on the fields EWS stores (categories, importance, reminders, calendar
fields, contact fields), Exchange's error where it refuses a path, and CalendarView boundaries
as Exchange draws them (overlap of [start, end)), with exchangelib."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exchangelib import CalendarItem, Contact, EWSDateTime

from mock_providers.hub import Hub
from tests.test_ews_exchangelib import hub, onprem_basic  # noqa: F401

T0 = datetime(2031, 2, 3, 9, 0, tzinfo=UTC)


def _at(hours: float) -> EWSDateTime:
    return EWSDateTime.from_datetime(T0 + timedelta(hours=hours))


def test_restrictions_on_stored_fields(hub: Hub) -> None:  # noqa: F811
    account = onprem_basic(hub, given=True).account
    specs = [("a", "High", True, ["Red"], True), ("b", "Low", False, ["Blue", "Red"], False),
             ("c", "Normal", True, [], True)]
    for subject, importance, reminder, categories, response in specs:
        CalendarItem(account=account, folder=account.calendar, subject=f"q-{subject}",
                     start=_at(0), end=_at(1), importance=importance,
                     reminder_is_set=reminder, categories=categories or None,
                     is_response_requested=response, when="after lunch").save()
    mine = account.calendar.filter(subject__startswith="q-")

    def subjects(query: object) -> list[str]:
        return sorted(i.subject for i in query)  # type: ignore[attr-defined]

    assert subjects(mine.filter(importance="High")) == ["q-a"]
    assert subjects(mine.filter(reminder_is_set=False)) == ["q-b"]
    assert subjects(mine.filter(categories__contains=["Red"])) == ["q-a", "q-b"]
    assert subjects(mine.filter(when="after lunch")) == ["q-a", "q-b", "q-c"]
    assert subjects(mine.filter(legacy_free_busy_status="Busy", is_all_day=False)) == [
        "q-a", "q-b", "q-c"]
    Contact(account=account, folder=account.contacts, display_name="Grace Hopper",
            department="Navy", middle_name="Brewster").save()
    assert [c.display_name for c in account.contacts.filter(department="Navy")] == [
        "Grace Hopper"]
    assert [c.display_name for c in account.contacts.filter(middle_name="Brewster")] == [
        "Grace Hopper"]


def test_calendar_view_boundaries(hub: Hub) -> None:  # noqa: F811
    account = onprem_basic(hub, given=True).account
    for subject, start, end in [("ends-at-start", -1, 0), ("overlaps-start", -1, 0.5),
                                ("inside", 0.25, 0.75), ("zero-at-start", 0, 0),
                                ("starts-at-end", 1, 2), ("zero-at-end", 1, 1)]:
        CalendarItem(account=account, folder=account.calendar, subject=f"v-{subject}",
                     start=_at(start), end=_at(end)).save()
    seen = sorted(i.subject for i in account.calendar.view(start=_at(0), end=_at(1))
                  if i.subject.startswith("v-"))
    assert seen == ["v-inside", "v-overlaps-start", "v-zero-at-start"]
