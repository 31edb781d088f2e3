"""The user's set-up flow: choose the service, confirm permissions, authenticate, accept."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from harness.bdd.context import ScenarioContext
from harness.driver.models import ConnectRequest


def connect(ctx: ScenarioContext, request: ConnectRequest, consent: str = "accept") -> None:
    """Start the set-up through the driver, let the harness's user agent sign in at the
    provider's real pages, then hand the redirect back to the integration."""
    from harness.useragent import UserAgent

    assert ctx.user, "no current user: name the user in an earlier step"
    start = ctx.driver.begin_connect(ctx.user, request)
    ctx.values["connect_start"] = start
    agent = UserAgent(ctx.ca_bundle)
    try:
        outcome = agent.authorize(start.authorization_url, username=ctx.user,
                                  password=ctx.password_of(ctx.user), consent=consent,
                                  stop_at=start.redirect_uri)
    finally:
        agent.close()
    ctx.values["authorization"] = outcome
    if outcome.callback_url:
        ctx.values["status"] = ctx.driver.complete_connect(ctx.user, outcome.callback_url)


@when("the user sets up the calendar integration with the default service and accepts the "
      "consent")
def user_sets_up_default(calharness_ctx: ScenarioContext) -> None:
    connect(calharness_ctx, ConnectRequest())
    outcome = calharness_ctx.values["authorization"]
    assert outcome.callback_url, (
        f"the sign-in did not come back to the integration: "
        f"{outcome.blocked_page_title or outcome.error} {outcome.error_description or ''}")


@then(parsers.parse('the integration status is "{state}"'))
def integration_status_is(calharness_ctx: ScenarioContext, state: str) -> None:
    ctx = calharness_ctx
    assert ctx.user
    status = ctx.driver.integration_status(ctx.user)
    assert status.state == state, f"status is {status.state!r} ({status.message})"
