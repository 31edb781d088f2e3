""""Sync Zoom Meetings from calendars": the user's calendars as the integration lists them, the
calendars they pick, and what the meeting list then shows. The truth is read from the mock hub
(the calendars and their events through the control API); whether a calendar was read is
judged at the provider, from its audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from pytest_bdd import given, parsers, then, when

from harness.api.errors import DriverError
from harness.api.models import CalendarSelection, CalendarSync
from harness.bdd.attribution import checks
from harness.bdd.context import ScenarioContext

WINDOW_DAYS = 14
# Which calendars a step names: the provider's default one, the seeded second one, or none.
NAMED = {"default": ("default",), "second": ("second",),
         "default and second": ("default", "second")}


def _user(ctx: ScenarioContext) -> str:
    assert ctx.user, "no current user"
    return ctx.user


def _window() -> tuple[datetime, datetime]:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today, today + timedelta(days=WINDOW_DAYS)


def _hub_calendars(ctx: ScenarioContext) -> dict[str, dict[str, Any]]:
    """The user's default and second calendar as the mock hub holds them (world ids)."""
    found = ctx.control.calendars(_user(ctx))
    default = [c for c in found if c["is_default"]]
    others = [c for c in found if not c["is_default"]]
    assert len(default) == 1 and others, f"the seed gave the user no second calendar: {found}"
    return {"default": default[0], "second": others[0]}


def _integration_ids(ctx: ScenarioContext, view: CalendarSync) -> dict[str, str]:
    """The provider's ids (what the integration lists and is told to pick) of the default and
    second calendars, matched by the default flag and the name (EWS folder ids are not the
    world's)."""
    hub = _hub_calendars(ctx)
    by_name = {c.name: c for c in view.calendars if not c.is_default}
    default = [c for c in view.calendars if c.is_default]
    assert len(default) == 1, f"not exactly one default calendar listed: {view.calendars}"
    second = by_name.get(hub["second"]["name"])
    assert second is not None, f"{hub['second']['name']!r} is not listed: {view.calendars}"
    return {"default": default[0].id, "second": second.id}


@given("the user has a meeting on their second calendar tomorrow")
def meeting_on_second(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    second = _hub_calendars(ctx)["second"]
    start = _window()[0] + timedelta(days=1, hours=13)
    ctx.control.create_calendar_event(_user(ctx), second["id"], "Second calendar offsite",
                                      start, start + timedelta(minutes=45))


@then("the integration lists the user's calendars as the provider does, the default one alone "
      "checked")
@checks("PERM-01")
def lists_calendars(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    view = ctx.driver.list_calendars(_user(ctx))
    truth = sorted((c["name"], c["is_default"]) for c in ctx.control.calendars(_user(ctx)))
    listed = sorted((c.name, c.is_default) for c in view.calendars)
    assert listed == truth, f"listed {listed}, the provider has {truth}"
    assert view.sync_from_calendars, "Sync Zoom Meetings from calendars is off by default"
    checked = [c.name for c in view.calendars if c.selected]
    default = [c.name for c in view.calendars if c.is_default]
    assert checked == default, f"checked by default: {checked}, expected {default}"
    ctx.values["calendar_ids"] = _integration_ids(ctx, view)


def _select(ctx: ScenarioContext, on: bool, which: str | None) -> None:
    ids = ctx.values.get("calendar_ids") or _integration_ids(
        ctx, ctx.driver.list_calendars(_user(ctx)))
    ctx.values["calendar_ids"] = ids
    chosen = None if which is None else [ids[n] for n in NAMED[which]]
    view = ctx.driver.select_calendars(
        _user(ctx), CalendarSelection(sync_from_calendars=on, calendar_ids=chosen))
    ctx.values["calendar_view"] = view


@when(parsers.parse("the user syncs their {which} calendars"))
@when(parsers.parse("the user syncs their {which} calendar"))
def user_syncs(calharness_ctx: ScenarioContext, which: str) -> None:
    assert which in NAMED, f"unknown calendars {which!r}; expected one of {list(NAMED)}"
    _select(calharness_ctx, True, which)


@when(parsers.parse('the user turns "Sync Zoom Meetings from calendars" {value}'))
def user_turns_toggle(calharness_ctx: ScenarioContext, value: str) -> None:
    assert value in ("on", "off"), f"on or off, not {value!r}"
    _select(calharness_ctx, value == "on", None)


@when("the user tries to sync a calendar they do not have")
def user_picks_unknown(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    try:
        ctx.driver.select_calendars(_user(ctx), CalendarSelection(
            sync_from_calendars=True, calendar_ids=["calharness-no-such-calendar"]))
    except DriverError as exc:
        ctx.values["selection_error"] = exc
    else:
        ctx.values["selection_error"] = None


@then("the pick is refused as an unknown calendar")
@checks("PERM-01")
def pick_refused(calharness_ctx: ScenarioContext) -> None:
    error = calharness_ctx.values.get("selection_error")
    assert error is not None, "a calendar the user does not have was accepted"
    assert error.code == "unknown_calendar", f"refused for another reason: {error}"


@then(parsers.parse("the {which} calendars are checked"))
@then(parsers.parse("the {which} calendar is checked"))
@checks("PERM-01")
def calendars_checked(calharness_ctx: ScenarioContext, which: str) -> None:
    ctx = calharness_ctx
    ids = ctx.values["calendar_ids"]
    view = ctx.driver.list_calendars(_user(ctx))
    checked = sorted(c.id for c in view.calendars if c.selected)
    assert checked == sorted(ids[n] for n in NAMED[which]), \
        f"checked: {[c.name for c in view.calendars if c.selected]}, expected {which}"


def _truth(ctx: ScenarioContext, names: tuple[str, ...]) -> list[tuple[str, datetime]]:
    start, end = _window()
    hub = _hub_calendars(ctx)
    events: list[dict[str, Any]] = []
    for name in names:
        events += ctx.control.calendar_events(_user(ctx), hub[name]["id"], start, end)
    return sorted((e["subject"], datetime.fromisoformat(e["start"])) for e in events)


@then(parsers.parse("the meeting list shows exactly the events of the {which} calendars"))
@then(parsers.parse("the meeting list shows exactly the events of the {which} calendar"))
@checks("PERM-01")
def meeting_list_is(calharness_ctx: ScenarioContext, which: str) -> None:
    ctx = calharness_ctx
    assert which in NAMED, f"unknown calendars {which!r}; expected one of {list(NAMED)}"
    start, end = _window()
    shown = sorted((m.subject or "", m.start) for m in ctx.driver.list_meetings(_user(ctx),
                                                                               start, end))
    truth = _truth(ctx, NAMED[which])
    assert shown == truth, f"meeting list {shown} != events of the {which} calendars {truth}"
    if "second" in NAMED[which]:
        assert any(s == "Second calendar offsite" for s, _ in shown), "the second calendar's " \
            "meeting is not in the meeting list"


@then("the meeting list shows no calendar events")
@checks("PERM-01")
def meeting_list_empty(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    shown = ctx.driver.list_meetings(_user(ctx), *_window())
    assert not shown, f"with the toggle off the meeting list shows {[m.subject for m in shown]}"


def _reads_of(ctx: ScenarioContext, world_id: str, since: int) -> list[dict[str, Any]]:
    """Requests that read events of the calendar `world_id`: a Graph or Google request whose
    path names it (calendarView, events), an EWS request whose audit names it (FindItem,
    GetItem, SyncFolderItems)."""
    names = {world_id, quote(world_id, safe=""), quote(world_id, safe="@")}
    reads = []
    for entry in ctx.control.audit(since=since):
        operation = entry.get("operation") or ""
        if entry.get("provider") == "ews":
            if world_id in ((entry.get("detail") or {}).get("calendars") or []):
                reads.append(entry)
        elif entry.get("provider") in ("graph", "google-calendar") and \
                operation.startswith(("calendarView", "events")) and \
                any(n in (entry.get("path") or "") for n in names):
            reads.append(entry)
    return reads


@when("the provider traffic for calendars is marked")
def mark(calharness_ctx: ScenarioContext) -> None:
    calharness_ctx.values["calendar_mark"] = calharness_ctx.control.audit_position()


@then(parsers.parse("the provider was {never_or_not} asked for the second calendar's events"))
@checks("PERM-01")
def second_not_read(calharness_ctx: ScenarioContext, never_or_not: str) -> None:
    ctx = calharness_ctx
    since = ctx.audit_start if never_or_not == "never" else ctx.values["calendar_mark"]
    assert never_or_not in ("never", "since then not"), never_or_not
    reads = _reads_of(ctx, _hub_calendars(ctx)["second"]["id"], since)
    assert not reads, "an unselected calendar was read: " + "; ".join(
        f"{e.get('provider')} {e.get('method')} {e.get('path')} ({e.get('operation')})"
        for e in reads)


@then("the provider was asked for the second calendar's events")
@checks("PERM-01")
def second_read(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    reads = _reads_of(ctx, _hub_calendars(ctx)["second"]["id"], ctx.audit_start)
    assert reads, "the provider's audit shows no read of the second calendar"


@when(parsers.parse('the user deletes "{subject}" from their meeting list'))
def user_deletes_listed(calharness_ctx: ScenarioContext, subject: str) -> None:
    """A meeting of a picked calendar other than the default one is acted on where it lives
    (Google names events per calendar: the integration must not look for it in the primary)."""
    ctx = calharness_ctx
    listed = [m for m in ctx.driver.list_meetings(_user(ctx), *_window()) if m.subject == subject]
    assert len(listed) == 1, f"{subject!r} is listed {len(listed)} times"
    ctx.driver.delete_meeting(_user(ctx), listed[0].id)


@then(parsers.parse('the second calendar no longer holds "{subject}"'))
@checks("PERM-01")
def second_lacks(calharness_ctx: ScenarioContext, subject: str) -> None:
    ctx = calharness_ctx
    events = ctx.control.calendar_events(_user(ctx), _hub_calendars(ctx)["second"]["id"],
                                         *_window())
    left = [e for e in events if e["subject"] == subject and e.get("status") != "cancelled"]
    assert not left, f"{subject!r} is still on the second calendar at the provider: {left}"
