"""What the providers saw: assertions on the mock hub's audit log (observe at the provider)."""

from __future__ import annotations

from typing import Any

from pytest_bdd import parsers, then

from harness.bdd.context import ScenarioContext
from harness.steps.vocabulary import bare_scope, is_write_scope

WRITE_OPERATIONS = (".create", ".update", ".delete")


def _identity_requests(ctx: ScenarioContext) -> list[dict[str, Any]]:
    entries = ctx.control.audit(since=ctx.audit_start, provider="identity")
    return [e for e in entries
            if (e.get("operation") or "").startswith(("authorize", "token"))]


@then(parsers.parse('the identity provider was asked for the scope "{scope}"'))
def identity_asked_for_scope(calharness_ctx: ScenarioContext, scope: str) -> None:
    requests = _identity_requests(calharness_ctx)
    asked = {bare_scope(s) for e in requests for s in e.get("scopes") or []}
    assert requests, "the integration made no authorization request to the identity provider"
    assert scope in asked, f"{scope} was not asked for; scopes asked: {sorted(asked)}"


@then("the identity provider was asked for no write scope")
def identity_asked_no_write_scope(calharness_ctx: ScenarioContext) -> None:
    requests = _identity_requests(calharness_ctx)
    assert requests, "the integration made no authorization request to the identity provider"
    written = sorted({s for e in requests for s in e.get("scopes") or [] if is_write_scope(s)})
    assert not written, f"write scopes were asked for: {written}"


@then("no write call reached Microsoft Graph")
def no_graph_writes(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    calls = ctx.control.audit(since=ctx.audit_start, provider="graph")
    assert calls, "the integration made no Graph call at all"
    writes = [f"{c['method']} {c['path']} ({c['operation']})" for c in calls
              if (c.get("operation") or "").endswith(WRITE_OPERATIONS)]
    assert not writes, f"write calls reached Graph: {writes}"
