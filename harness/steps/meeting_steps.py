"""Meetings on the provider's calendar and in the integration's meeting list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pytest_bdd import given, parsers, then

from harness.bdd.context import ScenarioContext


def _today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@given(parsers.parse('the first member of tenant "{tenant}" has these meetings in their '
                     'Office 365 calendar:'))
def member_has_meetings(calharness_ctx: ScenarioContext, tenant: str,
                        datatable: list[list[str]]) -> None:
    ctx = calharness_ctx
    ctx.user = ctx.tenant_member(tenant)["upn"]
    header, *rows = datatable
    expected = []
    for row in rows:
        cells = dict(zip(header, row, strict=True))
        hour, minute = (int(x) for x in cells["at"].split(":"))
        start = _today() + timedelta(days=int(cells["starts in days"]), hours=hour,
                                     minutes=minute)
        end = start + timedelta(minutes=int(cells["minutes"]))
        ctx.control.create_event(ctx.user, cells["subject"], start, end)
        expected.append((cells["subject"], start))
    ctx.values["expected_meetings"] = expected


def _meeting_list(ctx: ScenarioContext, days: int) -> list[tuple[str | None, datetime]]:
    assert ctx.user
    start, end = _today(), _today() + timedelta(days=days)
    return [(m.subject, m.start) for m in ctx.driver.list_meetings(ctx.user, start, end)]


@then("the meeting list shows those meetings")
def meeting_list_shows_expected(calharness_ctx: ScenarioContext) -> None:
    shown = set(_meeting_list(calharness_ctx, 14))
    missing = [m for m in calharness_ctx.values["expected_meetings"] if m not in shown]
    assert not missing, f"missing from the meeting list: {missing}"


@then(parsers.parse("the meeting list shows every meeting of the user's Office 365 calendar in "
                    "the next {days:d} days and nothing else"))
def meeting_list_matches_provider(calharness_ctx: ScenarioContext, days: int) -> None:
    ctx = calharness_ctx
    assert ctx.user
    start, end = _today(), _today() + timedelta(days=days)
    truth = sorted((e["subject"], datetime.fromisoformat(e["start"]))
                   for e in ctx.control.events(ctx.user)
                   if datetime.fromisoformat(e["start"]) < end
                   and datetime.fromisoformat(e["end"]) > start)
    shown = sorted(_meeting_list(ctx, days), key=lambda m: (m[0] or "", m[1]))
    assert sorted(shown, key=lambda m: (m[0] or "", m[1])) == sorted(
        truth, key=lambda m: (m[0] or "", m[1])), f"meeting list {shown} != calendar {truth}"
