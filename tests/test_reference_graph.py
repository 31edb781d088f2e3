"""The reference implementation's Graph path against the mocks: delta rounds, Retry-After,
dropped connections, refresh on 401 — each observed at the provider (the audit log)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from harness.api.models import AccountSpec, ConnectRequest
from harness.control_client import ControlClient
from harness.reference import ReferenceConfig, ReferenceIntegration
from harness.useragent import UserAgent
from mock_providers.server import HubServer


@dataclass
class Connected:
    integration: ReferenceIntegration
    control: ControlClient
    user: str
    waits: list[float]

    def graph_calls(self, since: int) -> list[dict[str, object]]:
        return self.control.audit(since=since, provider="graph")


@pytest.fixture
def connected(hub_server: HubServer, tmp_path: Path) -> Iterator[Connected]:
    control = ControlClient(hub_server.hub.control_url, hub_server.ca_bundle,
                            hub_server.hub.control_token)
    world = control.reset(42, secrets=True)
    tenant = next(t for t in world["microsoft"]["tenants"] if t["key"] == "contoso")
    owner = next(u for u in tenant["users"] if u["is_admin"])
    member = next(u for u in tenant["users"] if not u["is_admin"])
    config = ReferenceConfig.from_hub(world, db_url=f"sqlite:///{tmp_path / 'ref.db'}")
    integration = ReferenceIntegration(config)
    waits: list[float] = []
    integration.env.sleep = waits.append  # record the waits instead of sleeping through them
    integration.setup_account(AccountSpec(owner=owner["upn"],
                                          members=[u["upn"] for u in tenant["users"]]))
    start = integration.begin_connect(member["upn"], ConnectRequest())
    assert start.authorization_url and start.redirect_uri
    with UserAgent(hub_server.ca_bundle) as agent:
        outcome = agent.authorize(start.authorization_url, username=member["upn"],
                                  password=member["password"], stop_at=start.redirect_uri)
    assert outcome.callback_url, outcome
    status = integration.complete_connect(member["upn"], outcome.callback_url)
    assert status.state == "connected", status
    yield Connected(integration, control, member["upn"], waits)
    control.clear_faults()
    integration.close()
    control.close()


def _add_meeting(c: Connected, subject: str) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    c.control.create_event(c.user, subject, start, start + timedelta(minutes=30))


def _subjects(c: Connected) -> list[str | None]:
    now = datetime.now(UTC)
    return [m.subject for m in c.integration.list_meetings(c.user, now - timedelta(days=30),
                                                            now + timedelta(days=60))]


def test_the_client_view_reads_the_calendar_when_asked_and_stores_none_of_it(
        connected: Connected) -> None:
    since = connected.control.audit_position()
    _add_meeting(connected, "Read on demand")
    assert _subjects(connected).count("Read on demand") == 1
    calls = connected.graph_calls(since)
    assert [(c["operation"], c["status"]) for c in calls] == [("calendarView", 200)]
    assert connected.integration.search_stored_data("Read on demand") == [], \
        "an event not tied to a platform meeting must never reach the store"


def test_retry_after_is_honoured(connected: Connected) -> None:
    since = connected.control.audit_position()
    connected.control.add_fault(kind="throttle", provider="graph", retry_after=3, times=2)
    _add_meeting(connected, "After throttling")
    assert _subjects(connected).count("After throttling") == 1
    assert connected.waits == [3.0, 3.0], "each 429 must be waited out for its Retry-After"
    statuses = [c["status"] for c in connected.graph_calls(since)]
    assert statuses == [429, 429, 200]
    assert connected.integration.integration_status(connected.user).state == "connected"


def test_a_hostile_retry_after_is_capped(connected: Connected) -> None:
    connected.control.add_fault(kind="throttle", provider="graph", retry_after=3600, times=1)
    connected.integration.sync_now(connected.user)
    assert connected.waits == [connected.integration.config.max_retry_wait_s]


def test_retries_are_bounded(connected: Connected) -> None:
    since = connected.control.audit_position()
    connected.control.add_fault(kind="throttle", provider="graph", retry_after=1, times=None)
    status = connected.integration.sync_now(connected.user)
    per_operation: dict[object, int] = {}
    for call in connected.graph_calls(since):
        per_operation[call["operation"]] = per_operation.get(call["operation"], 0) + 1
    attempts = connected.integration.config.max_retries + 1
    assert per_operation == {"calendarView": attempts, "contacts.list": attempts}
    assert status.state == "connected", "throttling is no reason to ask the user to re-authorize"
    assert status.message and "429" in status.message, status


def test_dropped_connection_is_retried(connected: Connected) -> None:
    since = connected.control.audit_position()
    connected.control.add_fault(kind="drop", provider="graph", times=1)
    _add_meeting(connected, "After a drop")
    assert _subjects(connected).count("After a drop") == 1
    assert len(connected.waits) == 1, "one back-off before the retry"
    assert [c["status"] for c in connected.graph_calls(since)][-1] == 200


def test_expired_access_token_is_refreshed_on_401(connected: Connected) -> None:
    since = connected.control.audit_position()
    connected.control.advance_clock(2 * 3600)  # the access token is dead, the refresh token not
    _add_meeting(connected, "After refresh")
    assert _subjects(connected).count("After refresh") == 1
    entries = connected.control.audit(since=since)
    trail = [(e["provider"], e["operation"], e["status"]) for e in entries
             if e["provider"] in ("graph", "identity") and e["operation"] != "discovery"]
    assert trail[0] == ("graph", "calendarView", 401)
    assert ("identity", "token:refresh_token", 200) in trail
    assert trail[-1] == ("graph", "calendarView", 200)
    assert connected.integration.integration_status(connected.user).state == "connected"
