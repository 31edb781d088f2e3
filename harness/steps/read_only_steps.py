"""Read-only permissions judged at the provider, on every route: Office 365 through Graph or
through the EWS URL, Exchange through the EWS URL, Google. The user tries every kind of write
(create, move, change, delete, a contact, an answer to a meeting invitation); each must be
refused, and the provider's audit log must show that no write of any kind reached it —
whatever the integration says."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import SecretStr
from pytest_bdd import given, parsers, then, when

from harness.api.models import (
    AccountSpec,
    CallHistoryEntry,
    ConnectRequest,
    MeetingRequest,
    MeetingResponse,
    MeetingUpdate,
)
from harness.bdd.attribution import checks, verify
from harness.bdd.context import ScenarioContext
from harness.driver.base import DriverError
from harness.steps.account_steps import member_of
from harness.steps.connect_steps import connect_user
from harness.steps.judgement import (
    PROVIDERS_WITH_WRITES,
    default_setup_failure,
    describe,
    is_meeting_response,
    is_write,
    refusal_requirements,
)
from harness.steps.meeting_steps import _meeting_id, _tomorrow_at
from harness.steps.provider_steps import assert_no_writes
from harness.steps.vocabulary import ACCESS, lookup

ROUTES = ("Office 365 through Graph", "Office 365 through the EWS URL",
          "Exchange through the EWS URL", "Google")
# What each refused write breaks: the calendar permission or the contacts permission.
ATTEMPTS = {"create": "PERM-02", "move": "PERM-02", "change": "PERM-02", "delete": "PERM-02",
            "contact": "PERM-04"}
REFUSAL = {"PERM-02": "calendar_read_only", "PERM-04": "contacts_write_required"}


def _admin(ctx: ScenarioContext, **changes: Any) -> None:
    assert ctx.owner
    result = ctx.driver.change_settings(ctx.owner, changes)
    assert result.accepted, f"the admin's change {changes} was refused: {result.reason}"


def connect_route(ctx: ScenarioContext, route: str, calendar: str, contacts: str) -> None:
    """An account set up for `route`, and its first member (Google: the domain's second user)
    connected with the admin's permissions."""
    if route not in ROUTES:
        raise ValueError(f"unknown route {route!r}; expected one of {', '.join(ROUTES)}")
    perms = {"calendar_permission": lookup(ACCESS, calendar, "permission"),
             "contacts_permission": lookup(ACCESS, contacts, "permission")}
    if route == "Google":
        users = [u["email"] for u in ctx.world["google"]["users"]]
        ctx.owner = users[0]
        ctx.driver.setup_account(AccountSpec(owner=ctx.owner, members=users[1:]))
        _admin(ctx, calendar_integration=True, default_calendar_service="google",
               default_contacts_service="google", **perms)
        connect_user(ctx, users[1])
        return
    tenant = ctx.tenant("contoso")
    ctx.owner = ctx.tenant_admin("contoso")["upn"]
    members = [u["upn"] for u in tenant["users"] if u["upn"] != ctx.owner]
    ctx.driver.setup_account(AccountSpec(owner=ctx.owner, members=members))
    _admin(ctx, calendar_integration=True, **perms)
    ews = ctx.world["microsoft"]["ews"]
    user = member_of(ctx, "first", "contoso")
    if route == "Office 365 through Graph":
        _admin(ctx, default_calendar_service="office365", default_contacts_service="office365",
               authorize_with="graph")
        connect_user(ctx, user)
    elif route == "Office 365 through the EWS URL":
        _admin(ctx, default_calendar_service="office365", default_contacts_service="office365",
               authorize_with="ews", ews_url=ews)
        connect_user(ctx, user)
    else:
        ctx.control.set_exchange(tenant["id"], deployment="onpremises", build="15.1.2507.6",
                                 enforce_oauth=False)
        _admin(ctx, default_calendar_service="exchange", default_contacts_service="exchange",
               ews_url=ews)
        ctx.user = user
        try:
            ctx.driver.begin_connect(user, ConnectRequest(
                password=SecretStr(ctx.password_of(user))))
        except DriverError as exc:  # the set-up with the default service had to succeed
            verify(False, default_setup_failure(exc) or refusal_requirements(exc.code),
                   f"connecting with the mailbox password failed: {exc.code}: {exc.message}")
        status = ctx.driver.integration_status(user)
        assert status.state == "connected", f"set-up failed: {status.state} ({status.message})"


@given(parsers.parse('an account whose first member has connected {route} with calendar '
                     '"{calendar}" and contacts "{contacts}"'))
def account_with_route(calharness_ctx: ScenarioContext, route: str, calendar: str,
                       contacts: str) -> None:
    connect_route(calharness_ctx, route, calendar, contacts)


@when(parsers.parse('the user tries every write on the meeting "{subject}" and their '
                    'contacts'))
def user_tries_every_write(calharness_ctx: ScenarioContext, subject: str) -> None:
    """Schedule a meeting, move, rename and delete `subject`, save a contact from the call
    history: each attempt's outcome is kept, none stops the others."""
    ctx = calharness_ctx
    assert ctx.user
    user = ctx.user
    ctx.values["provider_before"] = (ctx.control.events(user), ctx.control.contacts(user))
    meeting_id = _meeting_id(ctx, subject)
    start = _tomorrow_at("16:00")
    actions = {
        "create": lambda: ctx.driver.schedule_meeting(user, MeetingRequest(
            subject="Read-only check", start=start, end=start + timedelta(minutes=30))),
        "move": lambda: ctx.driver.update_meeting(user, meeting_id, MeetingUpdate(
            start=_tomorrow_at("17:00"), end=_tomorrow_at("17:30"))),
        "change": lambda: ctx.driver.update_meeting(user, meeting_id, MeetingUpdate(
            subject=f"{subject} (renamed)")),
        "delete": lambda: ctx.driver.delete_meeting(user, meeting_id),
        "contact": lambda: ctx.driver.save_contact_from_call(user, CallHistoryEntry(
            display_name="Ada Lovelace", email="ada@partner.example.net")),
    }
    outcomes: dict[str, str] = {}
    for name, action in actions.items():
        try:
            action()
            outcomes[name] = "done"
        except DriverError as exc:
            outcomes[name] = exc.code
    ctx.values["write_attempts"] = outcomes


@then("each was refused because the permissions are read-only")
@checks("PERM-02", "PERM-04")
def each_refused(calharness_ctx: ScenarioContext) -> None:
    outcomes: dict[str, str] = calharness_ctx.values["write_attempts"]
    wrong = {name: got for name, got in outcomes.items()
             if got != REFUSAL[ATTEMPTS[name]]}
    # The first attempt that was not refused as read-only breaks its permission, and so does
    # every write that went through; later attempts failing otherwise (the integration lost
    # its grant after a write the provider refused) are its consequences.
    first = next(iter(wrong), None)
    blamed = {ATTEMPTS[n] for n, got in wrong.items() if n == first or got == "done"}
    verify(not wrong, sorted(blamed), f"not refused as read-only: {wrong}")


@then("no write of any kind reached the provider")
@checks("PERM-02", "PERM-04")
def no_write_of_any_kind(calharness_ctx: ScenarioContext) -> None:
    assert_no_writes(calharness_ctx, PROVIDERS_WITH_WRITES, "the provider")


@then("the user's calendar and contacts at the provider are unchanged")
@checks("PERM-02", "PERM-04")
def provider_unchanged(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    assert ctx.user
    events, contacts = ctx.values["provider_before"]
    verify(ctx.control.events(ctx.user) == events, "PERM-02",
           "the user's calendar changed at the provider")
    verify(ctx.control.contacts(ctx.user) == contacts, "PERM-04",
           "the user's contacts changed at the provider")


# -- answering a meeting invitation ------------------------------------------------------------
ANSWERS = {"accept": "accepted", "tentative": "tentativelyAccepted", "decline": "declined"}


@given(parsers.parse('a colleague invites the user to a meeting "{subject}" tomorrow at '
                     '{hhmm}'))
def colleague_invites(calharness_ctx: ScenarioContext, subject: str, hhmm: str) -> None:
    """The account owner (of the user's tenant or Google domain) organizes a meeting with the
    user invited: at Microsoft delivered as Exchange does (the user's copy, not responded, and
    a meeting request in their Inbox); at Google the user's calendar holds the event with them
    among its attendees."""
    ctx = calharness_ctx
    assert ctx.user and ctx.owner
    start = _tomorrow_at(hhmm)
    ctx.control.create_event(ctx.user, subject, start, start + timedelta(minutes=30),
                             organizer=ctx.owner)


def _answer(ctx: ScenarioContext, meeting_id: str, answer: str) -> str:
    """What answering did: "done" or the refusal's code."""
    assert ctx.user
    try:
        ctx.driver.respond_to_meeting(ctx.user, meeting_id, MeetingResponse(
            response=answer, comment="Answered by calharness"))  # type: ignore[arg-type]
    except DriverError as exc:
        return exc.code
    return "done"


@when(parsers.parse('the user tries to accept, tentatively accept and decline the meeting '
                    '"{subject}"'))
def user_tries_every_answer(calharness_ctx: ScenarioContext, subject: str) -> None:
    """Every answer to the invitation, each attempt's outcome kept; the audit position before
    them marks what they sent to the provider."""
    ctx = calharness_ctx
    assert ctx.user
    ctx.values["answers_from"] = ctx.control.audit_position()
    ctx.values["provider_before"] = (ctx.control.events(ctx.user), ctx.control.contacts(ctx.user))
    meeting_id = _meeting_id(ctx, subject)
    ctx.values["answer_attempts"] = {answer: _answer(ctx, meeting_id, answer)
                                     for answer in ANSWERS}


@when(parsers.parse('the user accepts the meeting "{subject}"'))
def user_accepts(calharness_ctx: ScenarioContext, subject: str) -> None:
    ctx = calharness_ctx
    ctx.values["answers_from"] = ctx.control.audit_position()
    outcome = _answer(ctx, _meeting_id(ctx, subject), "accept")
    assert outcome == "done", f"accepting the invitation failed: {outcome}"


@then("each answer was refused because the calendar is read-only")
@checks("PERM-02")
def each_answer_refused(calharness_ctx: ScenarioContext) -> None:
    outcomes: dict[str, str] = calharness_ctx.values["answer_attempts"]
    wrong = {answer: got for answer, got in outcomes.items() if got != REFUSAL["PERM-02"]}
    verify(not wrong, "PERM-02", f"answers not refused as read-only: {wrong}")


@then("no meeting response reached the provider")
@checks("PERM-02")
def no_meeting_response(calharness_ctx: ScenarioContext) -> None:
    """Nothing the answers sent wrote at the provider (read from its audit log, whatever the
    provider answered): each one is a response, however the provider names it."""
    ctx = calharness_ctx
    calls = [e for p in PROVIDERS_WITH_WRITES
             for e in ctx.control.audit(since=ctx.audit_start, provider=p)]
    assert calls, "the integration made no call to the provider at all: the check would be empty"
    since = ctx.values["answers_from"]
    writes = [e for p in PROVIDERS_WITH_WRITES
              for e in ctx.control.audit(since=since, provider=p) if is_write(e)]
    responses = [describe(e) for e in writes if is_meeting_response(e)]
    verify(not writes, "PERM-02", f"meeting responses reached the provider: {responses}; "
                                  f"every write after the answers: {[describe(e) for e in writes]}")


@then(parsers.parse('the user\'s answer to "{subject}" at the provider is "{answer}"'))
@checks("PERM-02")
def answer_at_provider(calharness_ctx: ScenarioContext, subject: str, answer: str) -> None:
    """The user's own response on their copy of the meeting, as the provider holds it."""
    ctx = calharness_ctx
    assert ctx.user
    events = [e for e in ctx.control.events(ctx.user) if e["subject"] == subject]
    verify(len(events) == 1, "PERM-02",
           f"{len(events)} meetings {subject!r} in the user's calendar at the provider")
    responses = {k.lower(): v for k, v in (events[0].get("responses") or {}).items()}
    got = responses.get(ctx.user.lower())
    verify(got == answer, "PERM-02", f"the user's answer at the provider is {got!r}, "
                                     f"expected {answer!r}")
