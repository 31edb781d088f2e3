"""The reference implementation's EWS path against the EWS mock: Office 365 through the EWS URL
(OAuth) and Exchange on-premises (mailbox credentials), observed at the provider."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from harness.api.models import AccountSpec, ConnectRequest
from harness.control_client import ControlClient
from harness.reference import ReferenceConfig, ReferenceIntegration
from mock_providers.server import HubServer


@dataclass
class Connected:
    integration: ReferenceIntegration
    control: ControlClient
    user: str
    waits: list[float]


@pytest.fixture
def on_premises(hub_server: HubServer, tmp_path: Path) -> Iterator[Connected]:
    control = ControlClient(hub_server.hub.control_url, hub_server.ca_bundle,
                            hub_server.hub.control_token)
    world = control.reset(42, secrets=True)
    tenant = next(t for t in world["microsoft"]["tenants"] if t["key"] == "contoso")
    control.set_exchange(tenant["id"], deployment="onpremises", build="15.1.544.27",
                         enforce_oauth=False)
    owner = next(u for u in tenant["users"] if u["is_admin"])
    member = next(u for u in tenant["users"] if not u["is_admin"])
    integration = ReferenceIntegration(
        ReferenceConfig.from_hub(world, db_url=f"sqlite:///{tmp_path / 'ref.db'}"))
    waits: list[float] = []
    integration.env.sleep = waits.append
    integration.setup_account(AccountSpec(owner=owner["upn"],
                                          members=[u["upn"] for u in tenant["users"]]))
    result = integration.change_settings(owner["upn"], {
        "default_calendar_service": "exchange", "default_contacts_service": "exchange",
        "ews_url": world["microsoft"]["ews"]})
    assert result.accepted, result.reason
    start = integration.begin_connect(member["upn"], ConnectRequest(
        password=SecretStr(member["password"])))
    assert start.authorization_url is None
    assert integration.integration_status(member["upn"]).state == "connected"
    yield Connected(integration, control, member["upn"], waits)
    control.clear_faults()
    integration.close()
    control.reset(42)
    control.close()


def _window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(days=30), now + timedelta(days=60)


def test_the_meeting_list_reads_the_default_calendar_view_when_asked(
        on_premises: Connected) -> None:
    c = on_premises
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    created = c.control.create_event(c.user, "Sync me", start, start + timedelta(minutes=30))
    default = next(x["id"] for x in c.control.calendars(c.user) if x["is_default"])
    since = c.control.audit_position()
    c.integration.sync_now(c.user)
    reads = [(e["operation"], e["status"], e["detail"]["calendars"])
             for e in c.control.audit(since=since, provider="ews")
             if e["detail"].get("calendars")]  # FindItem on contacts names no calendar
    # The default calendar's view (and its items' details); the second calendar is never read.
    assert reads and reads[0] == ("FindItem", 200, [default])
    assert all(read == [default] for _, _, read in reads), reads
    assert not any(e["operation"] == "SyncFolderItems"
                   for e in c.control.audit(since=since, provider="ews"))
    subjects = [m.subject for m in c.integration.list_meetings(c.user, *_window())]
    assert subjects.count("Sync me") == 1
    c.control.delete_event(c.user, created["id"])
    c.integration.sync_now(c.user)
    assert "Sync me" not in [m.subject for m in c.integration.list_meetings(c.user, *_window())]


def test_server_busy_is_waited_out(on_premises: Connected) -> None:
    c = on_premises
    c.control.add_fault(kind="throttle", provider="ews", retry_after=2, times=2)
    status = c.integration.sync_now(c.user)
    assert status.state == "connected" and status.calendar_state == "ok", status
    assert c.waits == [2.0, 2.0], "each ErrorServerBusy must be waited out for its back-off"


def test_wrong_password_is_refused_without_connecting(on_premises: Connected) -> None:
    from harness.driver.base import DriverError

    c = on_premises
    other = next(u for u in c.control.describe(secrets=True)["microsoft"]["tenants"][0]["users"]
                 if u["upn"] != c.user and not u["is_admin"])
    with pytest.raises(DriverError) as refused:
        c.integration.begin_connect(other["upn"], ConnectRequest(
            password=SecretStr("not-the-password")))
    assert refused.value.code == "credentials_refused"
    assert c.integration.integration_status(other["upn"]).state != "connected"
    assert c.waits == [], "a refused password is not a reason to wait and retry"
