"""The seeded world's edges: every sensitivity (Graph, EWS) and visibility (Google) value
checked against the delegate rule, users on look-alike and IDN homograph domains and with
mixed-case addresses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pytest_bdd import given, parsers, then, when

from harness.bdd.attribution import checks, verify
from harness.bdd.context import ScenarioContext
from harness.steps.connect_steps import connect_user
from harness.steps.world_time import world_window

# The value each protocol shows for a world sensitivity (Google: its visibility).
MICROSOFT_VALUES = {"normal": "normal", "personal": "personal", "private": "private",
                    "confidential": "confidential"}
GOOGLE_VALUES = {"normal": "default", "personal": "private", "private": "private",
                 "confidential": "confidential"}
# The delegate rule: which values make an event private for an assistant without private access.
PRIVATE_VALUES = frozenset({"private", "confidential"})


def shown_value(event: dict[str, Any], google: bool) -> str:
    if google:
        return "public" if event.get("public") else GOOGLE_VALUES[event["sensitivity"]]
    return MICROSOFT_VALUES[event["sensitivity"]]


def _window(ctx: ScenarioContext) -> tuple[datetime, datetime]:
    """Three days back to two weeks ahead of the providers' today: the world's clock (which
    earlier scenarios may have moved ahead of the wall clock), where the seeded meetings are."""
    return world_window(ctx)


@when("the assistant views the executive's calendar around the providers' today")
def assistant_views_world_window(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    start, end = _window(ctx)
    people = ctx.values["people"]
    ctx.values["assistant_view"] = ctx.driver.calendar_of(people["assistant"],
                                                          people["executive"], start, end)


@given("that member is the executive and the second member the assistant")
def member_is_executive(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    assert ctx.user
    if ctx.user in {u["email"] for u in ctx.world["google"]["users"]}:
        assistant = ctx.google_user(2)["email"]
    else:
        assistant = ctx.tenant_member(ctx.user.rsplit("@", 1)[1], 1)["upn"]
    ctx.values["people"] = {"executive": ctx.user, "assistant": assistant}


@given(parsers.parse('the executive\'s calendar holds meetings marked "{values}"'))
def calendar_holds(calharness_ctx: ScenarioContext, values: str) -> None:
    """The seed data the check needs: at least one meeting of each value in the window."""
    ctx = calharness_ctx
    executive = ctx.values["people"]["executive"]
    google = "@" in executive and executive in {u["email"] for u in ctx.world["google"]["users"]}
    start, end = _window(ctx)
    present = {shown_value(e, google) for e in ctx.control.events(executive)
               if datetime.fromisoformat(e["start"]) < end
               and datetime.fromisoformat(e["end"]) > start}
    missing = [v.strip() for v in values.split(",") if v.strip() not in present]
    assert not missing, f"the seeded calendar has no meeting marked {missing} in the window"
    ctx.values["google_executive"] = google


@then("the assistant sees every meeting marked private or confidential as a time slot only, "
      "and every other meeting with its topic")
@checks("PRIV-02", "PRIV-03")
def delegate_rule_on_every_value(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    executive, google = ctx.values["people"]["executive"], ctx.values["google_executive"]
    start, end = _window(ctx)
    truth = [e for e in ctx.control.events(executive)
             if datetime.fromisoformat(e["start"]) < end
             and datetime.fromisoformat(e["end"]) > start]
    expected = sorted(
        (datetime.fromisoformat(e["start"]), datetime.fromisoformat(e["end"]),
         None if shown_value(e, google) in PRIVATE_VALUES else e["subject"])
        for e in truth)
    seen = sorted(((m.start, m.end, m.subject) for m in ctx.values["assistant_view"]),
                  key=lambda m: (m[0], m[1], m[2] or ""))
    expected.sort(key=lambda m: (m[0], m[1], m[2] or ""))
    leaked = [m for m in seen if m not in expected and m[2] is not None]
    verify(not leaked, ("PRIV-02", "PRIV-03"),
           f"the assistant sees the topic of meetings marked private or confidential: {leaked}")
    assert seen == expected, f"the assistant sees {seen}, expected {expected}"


# -- users on the edges of the allowed-domain rule ------------------------------------------
def edge_user(ctx: ScenarioContext, tenant: str, kind: str) -> str:
    """The tenant's user on the `kind` edge: look-alike, homograph (IDN) or mixed-case."""
    users = [u["upn"] for u in ctx.tenant(tenant)["users"]]
    own = ctx.tenant_member(tenant)["upn"].rsplit("@", 1)[1]
    for upn in users:
        domain = upn.rsplit("@", 1)[1]
        if kind == "look-alike" and domain.lower() != own and domain.lower().endswith(own):
            return upn
        if kind == "homograph" and domain.startswith("xn--"):
            return upn
        if kind == "mixed-case" and upn != upn.lower() and domain.lower() == own:
            return upn
    raise LookupError(f"tenant {tenant!r} has no user on the {kind} edge")


@given(parsers.parse('the user is the tenant "{tenant}" user with a {kind} address'))
def user_on_edge(calharness_ctx: ScenarioContext, tenant: str, kind: str) -> None:
    calharness_ctx.user = edge_user(calharness_ctx, tenant, kind)


@given(parsers.parse('the tenant "{tenant}" user with a {kind} address has connected Office 365 '
                     'with the default settings'))
def edge_user_connected(calharness_ctx: ScenarioContext, tenant: str, kind: str) -> None:
    connect_user(calharness_ctx, edge_user(calharness_ctx, tenant, kind))
