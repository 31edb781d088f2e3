"""Bi-directional calendar sync (the Web Calendaring Service): the setting, the sync service,
what reached the provider (read from the mocks' audit log, query strings included) and what the
integration's store holds (stored-data inspection through the driver)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pytest_bdd import given, parsers, then, when

from harness.api.models import AccountSpec, MeetingRequest, PolicyChange, PolicyTarget
from harness.bdd.attribution import checks
from harness.bdd.context import ScenarioContext
from harness.driver.base import DriverError
from harness.steps.connect_steps import connect_user
from harness.steps.provider_steps import time_passes
from harness.steps.vocabulary import is_write_operation

# The calendars a scenario outline names, and how each is set up and observed.
CALENDARS: dict[str, dict[str, Any]] = {
    "office 365 through graph": {"service": "office365", "authorize_with": "graph",
                                 "audit": ("graph",), "tenant": "contoso"},
    "office 365 through ews": {"service": "office365", "authorize_with": "ews",
                               "audit": ("ews",), "tenant": "contoso"},
    "google": {"service": "google", "authorize_with": None, "audit": ("google-calendar",),
               "tenant": None},
}
# The operations by which each service lists changes of a calendar.
CHANGE_READS = {"calendarView.delta", "SyncFolderItems", "events.list"}
# The documents' fields (description, organizer, topic, times, recurrenceInfo, organizerId) as
# the store names them, and the bookkeeping a link needs.
DOCUMENTED_COLUMNS = {"description", "organizer", "topic", "start", "end", "time_zone",
                      "recurrence", "organizer_id"}
BOOKKEEPING_COLUMNS = {"user", "meeting_id", "digest", "event_id", "etag", "pending_key",
                       "due_at"}


def _calendar(ctx: ScenarioContext) -> dict[str, Any]:
    calendar = ctx.values.get("calendar")
    assert calendar, "no calendar: start with 'the user has connected … with calendar write'"
    return CALENDARS[calendar]


def _user(ctx: ScenarioContext) -> str:
    assert ctx.user, "no current user"
    return ctx.user


def _today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


# -- set-up -------------------------------------------------------------------------------------
@given(parsers.parse('the user has connected {calendar} with calendar write permission'))
def user_connected_with_write(calharness_ctx: ScenarioContext, calendar: str) -> None:
    ctx = calharness_ctx
    key = calendar.strip().lower()
    assert key in CALENDARS, f"unknown calendar {calendar!r}; expected one of {list(CALENDARS)}"
    spec = CALENDARS[key]
    ctx.values["calendar"] = key
    if spec["service"] == "google":
        users = [u["email"] for u in ctx.world["google"]["users"]]
        ctx.owner, user = users[0], users[1]
        ctx.driver.setup_account(AccountSpec(owner=ctx.owner, members=users[1:]))
    else:
        tenant = spec["tenant"]
        ctx.owner = ctx.tenant_admin(tenant)["upn"]
        members = [u["upn"] for u in ctx.tenant(tenant)["users"] if u["upn"] != ctx.owner]
        ctx.driver.setup_account(AccountSpec(owner=ctx.owner, members=members))
        user = ctx.tenant_member(tenant)["upn"]
    changes: dict[str, Any] = {"calendar_integration": True,
                               "default_calendar_service": spec["service"],
                               "default_contacts_service": spec["service"],
                               "calendar_permission": "write", "contacts_permission": "none"}
    if spec["authorize_with"]:
        changes["authorize_with"] = spec["authorize_with"]
    if spec["authorize_with"] == "ews":
        changes["ews_url"] = ctx.world["microsoft"]["ews"]
    result = ctx.driver.change_settings(ctx.owner, changes)
    assert result.accepted, f"{changes} refused: {result.reason}"
    connect_user(ctx, user)


@given(parsers.parse('the admin turns bi-directional calendar sync {value} for the account'))
@when(parsers.parse('the admin turns bi-directional calendar sync {value} for the account'))
def admin_turns_sync(calharness_ctx: ScenarioContext, value: str) -> None:
    ctx = calharness_ctx
    assert ctx.owner
    result = ctx.driver.change_settings(ctx.owner, {"bidirectional_sync": value == "on"})
    assert result.accepted, result.reason


@when(parsers.parse('the user turns bi-directional calendar sync {value} for themselves'))
def user_turns_sync(calharness_ctx: ScenarioContext, value: str) -> None:
    ctx = calharness_ctx
    user = _user(ctx)
    result = ctx.driver.change_policy(user, PolicyTarget(level="user", name=user),
                                      PolicyChange(values={"bidirectional_sync": value == "on"}))
    ctx.values["policy_change"] = result


@then(parsers.parse('bi-directional calendar sync is {value} for the user'))
@checks("SYNC-01")
def sync_is(calharness_ctx: ScenarioContext, value: str) -> None:
    ctx = calharness_ctx
    effective = ctx.driver.effective_settings(_user(ctx)).settings.bidirectional_sync
    assert effective == (value == "on"), f"bi-directional sync is {effective} for the user"


# -- the platform and the provider ---------------------------------------------------------------
@given(parsers.parse('the user schedules a meeting "{topic}" in {days:d} days at {hhmm} for '
                     '{minutes:d} minutes with the description "{description}"'))
@when(parsers.parse('the user schedules a meeting "{topic}" in {days:d} days at {hhmm} for '
                    '{minutes:d} minutes with the description "{description}"'))
def user_schedules_with_description(calharness_ctx: ScenarioContext, topic: str, days: int,
                                    hhmm: str, minutes: int, description: str) -> None:
    ctx = calharness_ctx
    hour, minute = (int(x) for x in hhmm.split(":"))
    start = _today() + timedelta(days=days, hours=hour, minutes=minute)
    attendee = ctx.values.get("attendee") or "guest@partner.example"
    ctx.values["attendee"] = attendee
    ctx.values.setdefault("platform_meetings", {})[topic] = ctx.driver.schedule_meeting(
        _user(ctx), MeetingRequest(subject=topic, start=start,
                                   end=start + timedelta(minutes=minutes),
                                   attendees=[attendee], body=description))


def _integration_now(ctx: ScenarioContext) -> datetime:
    """The integration's clock, which scenarios move with the mocks'."""
    try:
        return ctx.driver.clock_now()
    except DriverError as exc:
        if exc.code != "not_supported":
            raise
        return datetime.now(UTC)  # a clock it cannot move is the real one


@when(parsers.parse('the user schedules a meeting "{topic}" starting {minutes:d} minutes {side} '
                    '30 days from now'))
def user_schedules_at_window_edge(calharness_ctx: ScenarioContext, topic: str, minutes: int,
                                  side: str) -> None:
    """The stored window's edge on the integration's clock."""
    ctx = calharness_ctx
    assert side in ("before", "after"), f"'before' or 'after', not {side!r}"
    edge = _integration_now(ctx) + timedelta(days=30)
    start = edge + timedelta(minutes=minutes if side == "after" else -minutes)
    attendee = ctx.values.get("attendee") or "guest@partner.example"
    ctx.values["attendee"] = attendee
    ctx.values.setdefault("platform_meetings", {})[topic] = ctx.driver.schedule_meeting(
        _user(ctx), MeetingRequest(subject=topic, start=start,
                                   end=start + timedelta(minutes=30), attendees=[attendee],
                                   body=f"{topic} agenda"))


@when(parsers.parse('the meeting "{topic}" is renamed "{new}" on the user\'s calendar'))
def renamed_on_provider(calharness_ctx: ScenarioContext, topic: str, new: str) -> None:
    ctx = calharness_ctx
    event = _provider_event(ctx, topic)
    ctx.control.update_event(_user(ctx), event["id"], subject=new)


@when(parsers.parse('the meeting "{topic}" is deleted on the user\'s calendar'))
def deleted_on_provider(calharness_ctx: ScenarioContext, topic: str) -> None:
    ctx = calharness_ctx
    ctx.control.delete_event(_user(ctx), _provider_event(ctx, topic)["id"])


def _provider_event(ctx: ScenarioContext, topic: str) -> dict[str, Any]:
    matching = [e for e in ctx.control.events(_user(ctx)) if e["subject"] == topic]
    assert len(matching) == 1, f"{len(matching)} events {topic!r} on the provider"
    return matching[0]


@then(parsers.parse('the user\'s calendar has exactly one event "{topic}" carrying the '
                    'meeting\'s join link'))
@checks("SYNC-03")
def provider_has_linked_event(calharness_ctx: ScenarioContext, topic: str) -> None:
    ctx = calharness_ctx
    meeting = ctx.values["platform_meetings"][topic]
    event = _provider_event(ctx, topic)
    text = " ".join(str(event.get(k) or "") for k in ("body", "location", "join_url",
                                                      "description"))
    assert meeting.join_url and meeting.join_url in text, \
        f"the event does not carry {meeting.join_url}: {event}"


@then(parsers.parse('the platform meeting is now called "{topic}"'))
@checks("SYNC-02")
def platform_meeting_called(calharness_ctx: ScenarioContext, topic: str) -> None:
    ctx = calharness_ctx
    topics = [m.subject for m in ctx.driver.platform_meetings(_user(ctx))]
    assert topics == [topic], f"platform meetings: {topics}"


@then("the platform meeting is cancelled")
@checks("SYNC-02")
def platform_meeting_cancelled(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    assert ctx.driver.platform_meetings(_user(ctx)) == []


@when(parsers.parse('the clock reaches {minutes:d} minutes {side} the end of "{topic}"'))
def clock_reaches(calharness_ctx: ScenarioContext, minutes: int, side: str, topic: str) -> None:
    """Retention's boundary: just before or just after the event ends, on the integration's
    clock and the mocks' alike."""
    ctx = calharness_ctx
    assert side in ("before", "after"), f"'before' or 'after', not {side!r}"
    end = ctx.values["platform_meetings"][topic].end
    target = end + timedelta(minutes=minutes if side == "after" else -minutes)
    now = _integration_now(ctx)
    assert target > now, f"the clock is already at {now}, past {target}"
    time_passes(ctx, (target - now).total_seconds())


# -- the sync service ---------------------------------------------------------------------------
@given("the sync service runs")
@when("the sync service runs")
def sync_service_runs(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    ctx.values["sync_position"] = ctx.control.audit_position()
    ctx.values["sync_run"] = ctx.driver.run_sync_service(_user(ctx))


@then("the sync service did not run")
@checks("SYNC-01")
def sync_did_not_run(calharness_ctx: ScenarioContext) -> None:
    run = calharness_ctx.values["sync_run"]
    assert not run.ran, f"the sync service ran: {run}"


# -- evidence at the provider --------------------------------------------------------------------
def _calls(ctx: ScenarioContext, since: int | None = None) -> list[dict[str, Any]]:
    providers = _calendar(ctx)["audit"]
    start = ctx.audit_start if since is None else since
    return [e for e in ctx.control.audit(since=start) if e["provider"] in providers]


def _writes(ctx: ScenarioContext, since: int | None = None) -> list[dict[str, Any]]:
    return [e for e in _calls(ctx, since) if is_write_operation(e.get("operation"))
            and e["status"] < 400]


@then("the calendar service received no write")
@checks("SYNC-01")
def no_write(calharness_ctx: ScenarioContext) -> None:
    writes = _writes(calharness_ctx)
    assert not writes, f"writes reached the calendar service: {writes}"


@then(parsers.parse('the calendar service received {count:d} writes of the kind "{kind}"'))
@then(parsers.parse('the calendar service received {count:d} write of the kind "{kind}"'))
@checks("SYNC-03")
def writes_of_kind(calharness_ctx: ScenarioContext, count: int, kind: str) -> None:
    ctx = calharness_ctx
    ops = {"create": (".create", ".insert", "CreateItem"),
           "update": (".update", ".patch", "UpdateItem"),
           "delete": (".delete", "DeleteItem")}[kind]
    made = [e for e in _writes(ctx, ctx.values.get("mark")) if e["operation"].endswith(ops)]
    assert len(made) == count, f"{len(made)} {kind} writes: {[e['operation'] for e in made]}"


@when("the provider traffic is marked")
@given("the provider traffic is marked")
def mark(calharness_ctx: ScenarioContext) -> None:
    calharness_ctx.values["mark"] = calharness_ctx.control.audit_position()


@then("the sync service read the calendar's changes incrementally from its stored cursor")
@checks("SYNC-02")
def read_incrementally(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    reads = [e for e in _calls(ctx, ctx.values["sync_position"])
             if e.get("operation") in CHANGE_READS and e["status"] == 200]
    assert reads, "the sync service read no changes from the calendar service"
    first = reads[0]
    detail = first.get("detail") or {}
    query = detail.get("query") or ""
    if first["operation"] == "calendarView.delta":
        assert "deltatoken=" in query.lower(), f"Graph was not asked with a delta link: {query}"
    elif first["operation"] == "events.list":
        assert "syncToken=" in query, f"Google was not asked with a sync token: {query}"
    else:
        assert detail.get("incremental") is True, f"EWS SyncFolderItems without a SyncState: " \
                                                  f"{detail}"


# -- what the store holds ------------------------------------------------------------------------
@then(parsers.parse('the store holds {count:d} sync records'))
@then(parsers.parse('the store holds {count:d} sync record'))
@checks("SYNC-05", "SYNC-07", "SYNC-03", "SYNC-02", "SYNC-04")
def store_holds_records(calharness_ctx: ScenarioContext, count: int) -> None:
    records = calharness_ctx.driver.sync_records(_user(calharness_ctx))
    assert len(records) == count, f"{len(records)} sync records: {records}"


@then("the store holds no sync records for the user")
@checks("SYNC-01")
def store_holds_none(calharness_ctx: ScenarioContext) -> None:
    store_holds_records(calharness_ctx, 0)


@then(parsers.parse('the sync record of "{topic}" keeps only the documented fields'))
@checks("SYNC-06")
def record_keeps_documented(calharness_ctx: ScenarioContext, topic: str) -> None:
    ctx = calharness_ctx
    record = _record(ctx, topic)
    columns = set(record.columns)
    extra = columns - DOCUMENTED_COLUMNS - BOOKKEEPING_COLUMNS
    assert not extra, f"columns beyond the documented fields: {sorted(extra)}"
    kept = {k for k in DOCUMENTED_COLUMNS if record.columns.get(k) is not None} - {"recurrence"}
    assert kept == DOCUMENTED_COLUMNS - {"recurrence"}, f"documented fields missing: {record}"
    attendee = ctx.values["attendee"]
    hits = ctx.driver.search_stored_data(attendee)
    assert not hits, f"the attendee {attendee} is stored: {hits}"


def _documented_fields_held(ctx: ScenarioContext, topic: str) -> set[str]:
    """The documented fields the platform meeting's sync record holds a value for."""
    meeting = ctx.values["platform_meetings"][topic]
    records = {r.meeting_id: r for r in ctx.driver.sync_records(_user(ctx))}
    assert meeting.id in records, f"no record for {topic!r}: {list(records)}"
    return {k for k in DOCUMENTED_COLUMNS if records[meeting.id].columns.get(k) is not None}


@then(parsers.parse('the sync record of the meeting "{topic}" holds bookkeeping only'))
@checks("SYNC-04")
def record_bookkeeping_only(calharness_ctx: ScenarioContext, topic: str) -> None:
    ctx = calharness_ctx
    held = _documented_fields_held(ctx, topic)
    assert not held, f"beyond 30 days the record still holds {sorted(held)}"
    hits = [h for h in ctx.driver.search_stored_data(topic) if h.table == "sync_records"]
    assert not hits, f"{topic!r} is in the sync records: {hits}"


@then(parsers.parse('the sync record of the meeting "{topic}" holds its content'))
@checks("SYNC-04")
def record_holds_content(calharness_ctx: ScenarioContext, topic: str) -> None:
    missing = DOCUMENTED_COLUMNS - {"recurrence"} - _documented_fields_held(calharness_ctx, topic)
    assert not missing, f"within 30 days the record lacks {sorted(missing)}"


def _record(ctx: ScenarioContext, topic: str) -> Any:
    matching = [r for r in ctx.driver.sync_records(_user(ctx)) if r.columns.get("topic") == topic]
    assert len(matching) == 1, f"{len(matching)} sync records of {topic!r}"
    return matching[0]


@then(parsers.parse('nothing about "{text}" is stored'))
@checks("SYNC-05", "SYNC-01", "SYNC-02")
def nothing_stored(calharness_ctx: ScenarioContext, text: str) -> None:
    hits = calharness_ctx.driver.search_stored_data(text)
    assert not hits, f"{text!r} is stored in {hits}"


@then(parsers.parse('no sync record mentions "{text}"'))
@checks("SYNC-07")
def no_record_mentions(calharness_ctx: ScenarioContext, text: str) -> None:
    hits = [h for h in calharness_ctx.driver.search_stored_data(text)
            if h.table == "sync_records"]
    assert not hits, f"{text!r} is still in the sync records: {hits}"


# -- Schedule For ---------------------------------------------------------------------------------
@given(parsers.parse('the user gives the {ordinal} member of tenant "{tenant}" scheduling '
                     'privilege'))
def user_gives_privilege(calharness_ctx: ScenarioContext, ordinal: str, tenant: str) -> None:
    from harness.steps.account_steps import member_of

    ctx = calharness_ctx
    delegate = member_of(ctx, ordinal, tenant)
    ctx.values["delegate"] = delegate
    ctx.driver.grant_scheduling_privilege(_user(ctx), delegate, manage_private_events=False)


@when(parsers.parse('the delegate schedules a meeting "{topic}" for the user tomorrow at {hhmm}'))
def delegate_schedules(calharness_ctx: ScenarioContext, topic: str, hhmm: str) -> None:
    ctx = calharness_ctx
    hour, minute = (int(x) for x in hhmm.split(":"))
    start = _today() + timedelta(days=1, hours=hour, minutes=minute)
    ctx.values.setdefault("platform_meetings", {})[topic] = ctx.driver.schedule_meeting_for(
        ctx.values["delegate"], _user(ctx),
        MeetingRequest(subject=topic, start=start, end=start + timedelta(minutes=30)))
