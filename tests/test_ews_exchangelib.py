"""exchangelib 5.6, unchanged, against the EWS mock over TLS.

exchangelib is pointed at the hub through its public extension points only:

- `BaseProtocol.HTTP_ADAPTER_CLS` (documented for custom CAs/proxies): a requests HTTPAdapter
  whose `cert_verify` / `get_connection_with_tls_context` verify against the hub's CA. It must be
  the adapter, not `Session.verify`: REQUESTS_CA_BUNDLE (set on this machine) overrides the latter.
- the `token_url` property of OAuth2Credentials (client credentials) and OAuth2LegacyCredentials
  (the resource-owner password grant, for delegated `EWS.AccessAsUser.All` tokens): exchangelib
  builds `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token` there; the subclasses
  below return the hub's identity mock instead. Nothing else of exchangelib is touched.
- `Configuration(service_endpoint=hub.ews_url, …)` with `Account(autodiscover=False)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests.adapters
from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    OAUTH2,
    Account,
    Attendee,
    Build,
    CalendarItem,
    Configuration,
    Contact,
    Credentials,
    EWSDateTime,
    FaultTolerance,
    Identity,
    Mailbox,
    OAuth2Credentials,
    OAuth2LegacyCredentials,
    Version,
)
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorInvalidSyncStateData,
    ErrorIrresolvableConflict,
    ErrorServerBusy,
)
from exchangelib.indexed_properties import EmailAddress
from exchangelib.items import ALWAYS_OVERWRITE
from exchangelib.protocol import BaseProtocol, Protocol, close_connections
from exchangelib.transport import get_service_authtype

from harness.control_client import ControlClient
from mock_providers.hub import Hub
from mock_providers.microsoft.ews.render import decode_id
from mock_providers.microsoft.identity import admin as identity_admin
from mock_providers.server import HubServer
from mock_providers.world import MsTenant, MsUser

EWS_DELEGATED = "https://outlook.office365.com/EWS.AccessAsUser.All"


# -- the extension points ----------------------------------------------------------------------
class HubCAAdapter(requests.adapters.HTTPAdapter):
    """Verifies TLS against `ca_bundle` whatever `verify` requests computed."""

    ca_bundle: str = ""

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, self.ca_bundle, cert)

    def get_connection_with_tls_context(self, request: Any, verify: Any, proxies: Any = None,
                                        cert: Any = None) -> Any:
        return super().get_connection_with_tls_context(request, self.ca_bundle, proxies, cert)


class HubAppCredentials(OAuth2Credentials):
    """Client credentials (`/.default`, roles from the app's grants) from the hub's identity."""

    def __init__(self, *, authority: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.authority = authority

    @property
    def token_url(self) -> str:
        return f"{self.authority}/{self.tenant_id}/oauth2/v2.0/token"


class HubUserCredentials(OAuth2LegacyCredentials):
    """A delegated `EWS.AccessAsUser.All` token for a user (password grant) from the hub."""

    def __init__(self, *, authority: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.authority = authority

    @property
    def token_url(self) -> str:
        return f"{self.authority}/{self.tenant_id}/oauth2/v2.0/token"


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture
def hub(hub_server: HubServer) -> Iterator[Hub]:
    original = BaseProtocol.HTTP_ADAPTER_CLS
    adapter = type("PinnedHubCA", (HubCAAdapter,), {"ca_bundle": hub_server.ca_bundle or ""})
    BaseProtocol.HTTP_ADAPTER_CLS = adapter
    hub = hub_server.hub
    hub.reset()
    close_connections()  # exchangelib caches protocols (auth type, version) per endpoint
    try:
        yield hub
    finally:
        close_connections()
        hub.world.faults.clear()
        BaseProtocol.HTTP_ADAPTER_CLS = original
        hub.reset()


@pytest.fixture
def control(hub_server: HubServer) -> Iterator[ControlClient]:
    client = ControlClient(hub_server.hub.control_url, hub_server.ca_bundle,
                           hub_server.hub.control_token)
    yield client
    client.close()


def tenant(hub: Hub, key: str) -> MsTenant:
    found = hub.world.tenant(key)
    assert found is not None
    return found


def users(hub: Hub, key: str) -> list[MsUser]:
    return sorted(tenant(hub, key).users.values(), key=lambda u: u.upn)


def confidential_app(hub: Hub, key: str) -> tuple[str, str]:
    app = next(a for a in tenant(hub, key).apps.values() if a.client_secret)
    return app.client_id, app.client_secret or ""


@dataclass
class Setup:
    account: Account
    owner: MsUser
    access: str


def online_app(hub: Hub, *, given: bool) -> Setup:
    t = tenant(hub, "contoso")
    owner = users(hub, "contoso")[0]
    client_id, secret = confidential_app(hub, "contoso")
    identity_admin.set_app_roles(hub, t, client_id, ["full_access_as_app"])
    credentials = HubAppCredentials(authority=hub.base_url, client_id=client_id,
                                    client_secret=secret, tenant_id=t.id,
                                    identity=Identity(primary_smtp_address=owner.upn))
    extra: dict[str, Any] = {"auth_type": OAUTH2, "version": Version(Build(15, 20))} if given \
        else {}
    config = Configuration(service_endpoint=hub.ews_url, credentials=credentials, **extra)
    return Setup(Account(owner.upn, config=config, autodiscover=False,
                         access_type=IMPERSONATION), owner, "application")


def online_user(hub: Hub, *, given: bool) -> Setup:
    t = tenant(hub, "contoso")
    owner = users(hub, "contoso")[1]
    client_id, secret = confidential_app(hub, "contoso")
    identity_admin.grant_admin_consent(hub, t, client_id, [EWS_DELEGATED])
    credentials = HubUserCredentials(authority=hub.base_url, username=owner.upn,
                                     password=owner.password, client_id=client_id,
                                     client_secret=secret, tenant_id=t.id)
    extra: dict[str, Any] = {"auth_type": OAUTH2, "version": Version(Build(15, 20))} if given \
        else {}
    config = Configuration(service_endpoint=hub.ews_url, credentials=credentials, **extra)
    return Setup(Account(owner.upn, config=config, autodiscover=False, access_type=DELEGATE),
                 owner, "delegated")


def onprem_basic(hub: Hub, *, given: bool) -> Setup:
    t = tenant(hub, "fabrikam")
    t.exchange = "onpremises"
    owner = users(hub, "fabrikam")[0]
    extra: dict[str, Any] = {"auth_type": BASIC, "version": Version(Build(15, 1, 466, 34))} \
        if given else {}
    config = Configuration(service_endpoint=hub.ews_url,
                           credentials=Credentials(owner.upn, owner.password), **extra)
    return Setup(Account(owner.upn, config=config, autodiscover=False, access_type=DELEGATE),
                 owner, "basic")


SETUPS: dict[str, Callable[[Hub], Setup]] = {
    "online-app-discovered": lambda hub: online_app(hub, given=False),
    "online-app-given": lambda hub: online_app(hub, given=True),
    "online-delegated-discovered": lambda hub: online_user(hub, given=False),
    "onprem-basic-discovered": lambda hub: onprem_basic(hub, given=False),
    "onprem-basic-given": lambda hub: onprem_basic(hub, given=True),
}


def ews_entries(hub: Hub, since: int = 0) -> list[Any]:
    return hub.world.audit.query(since=since, provider="ews")


def world_id(ews_id: str) -> str:
    decoded = decode_id(ews_id)
    assert decoded is not None
    return decoded.key


def window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(days=3), now + timedelta(days=10)


# -- the full round trip, per configuration ----------------------------------------------------
@pytest.mark.parametrize("name", list(SETUPS))
def test_exchangelib_round_trip(name: str, hub: Hub, control: ControlClient) -> None:
    setup = SETUPS[name](hub)
    account, owner = setup.account, setup.owner
    calendar_world = owner.mailbox.default_calendar

    start, end = window()
    viewed = list(account.calendar.view(start=EWSDateTime.from_datetime(start),
                                        end=EWSDateTime.from_datetime(end)))
    # auth type from the 401 probe (or implied by OAuth credentials); the version, guessed or
    # given, is refined from the ServerVersionInfo header of the tenant's build
    expected_build = "15.1.466.34" if name.startswith("onprem") else "15.20.8207.17"
    assert str(account.version.build) == expected_build
    assert account.version.api_version == "Exchange2016"
    assert account.protocol.auth_type == (BASIC if setup.access == "basic" else OAUTH2)
    expected = {e.id for e in calendar_world.events if e.start < end and e.end > start}
    assert {world_id(i.id) for i in viewed} == expected and expected
    assert all(i.subject and i.start and i.end for i in viewed)
    assert len(list(account.calendar.all())) == len(calendar_world.events)

    # create, then update the same item
    item = CalendarItem(
        account=account, folder=account.calendar, subject="Quarterly planning",
        start=EWSDateTime.from_datetime(start + timedelta(days=4)),
        end=EWSDateTime.from_datetime(start + timedelta(days=4, hours=1)),
        location="Room 42", sensitivity="Private",
        required_attendees=[Attendee(mailbox=Mailbox(email_address="guest@example.com"),
                                     response_type="Unknown")])
    item.save()
    created = calendar_world.events.get(world_id(item.id))
    assert created is not None
    assert (created.subject, created.location, created.sensitivity) == (
        "Quarterly planning", "Room 42", "private")
    assert created.organizer_email == owner.upn
    assert [a.email for a in created.attendees] == ["guest@example.com"]
    first_key = item.changekey
    assert first_key == created.change_key
    item.subject = "Quarterly planning (moved)"
    item.save()
    assert item.changekey != first_key
    assert calendar_world.events.get(created.id).subject == "Quarterly planning (moved)"  # type: ignore[union-attr]

    # full sync, then only what changed in the world since
    full = list(account.calendar.sync_items())
    assert {kind for kind, _ in full} == {"create"}
    assert {world_id(i.id) for _, i in full} == {e.id for e in calendar_world.events}
    added = control.create_event(owner.upn, "Added in the world", start + timedelta(days=1),
                                 start + timedelta(days=1, hours=1))
    others = sorted((e for e in calendar_world.events if e.id not in (created.id, added["id"])),
                    key=lambda e: e.id)
    control.update_event(owner.upn, others[0].id, subject="Renamed in the world")
    control.delete_event(owner.upn, others[1].id)
    changes = list(account.calendar.sync_items())
    summary = sorted((kind, world_id(i[0] if isinstance(i, tuple) else i.id))
                     for kind, i in changes)
    assert summary == sorted([("create", added["id"]), ("update", others[0].id),
                              ("delete", others[1].id)])
    updated = next(i for kind, i in changes if kind == "update")
    assert updated.subject == "Renamed in the world"

    # delete through EWS: gone from the world, and the next sync says so
    item.delete()
    assert calendar_world.events.get(created.id) is None
    assert [(k, world_id(i.id)) for k, i in account.calendar.sync_items()] == [
        ("delete", created.id)]

    # contacts
    contacts_world = owner.mailbox.default_contacts
    listed = list(account.contacts.all())
    assert {world_id(c.id) for c in listed} == {c.id for c in contacts_world.contacts}
    assert all(c.display_name and c.email_addresses for c in listed)
    contact = Contact(account=account, folder=account.contacts, display_name="Ada Lovelace",
                      given_name="Ada", surname="Lovelace", company_name="Analytical Engines",
                      email_addresses=[EmailAddress(email="ada@example.com",
                                                    label="EmailAddress1")])
    contact.save()
    stored = contacts_world.contacts.get(world_id(contact.id))
    assert stored is not None
    assert (stored.display_name, stored.emails, stored.company_name) == (
        "Ada Lovelace", ["ada@example.com"], "Analytical Engines")

    # the provider-side evidence: writes are recognisable, all as the owner
    ops = [e.operation for e in ews_entries(hub) if e.status == 200]
    assert {"CreateItem", "UpdateItem", "DeleteItem", "SyncFolderItems", "FindItem",
            "GetItem", "GetFolder"} <= set(ops)
    writes = [e for e in ews_entries(hub) if e.operation in ("CreateItem", "UpdateItem",
                                                              "DeleteItem")]
    assert all(e.user == owner.upn and e.outcome == "ok" for e in writes)
    assert writes[0].detail["created"] == [created.id]
    if setup.access == "application":
        assert all(e.detail.get("impersonation") == owner.upn for e in writes)


def test_auth_probe_discovers_basic_or_modern_auth(hub: Hub, control: ControlClient) -> None:
    probe = Protocol(config=Configuration(service_endpoint=hub.ews_url,
                                          credentials=Credentials("probe@example.com", "x"),
                                          auth_type=BASIC))
    assert get_service_authtype(probe) == BASIC  # fabrikam (hybrid) still allows Basic
    control.set_exchange("fabrikam", enforce_oauth=True)
    assert get_service_authtype(probe) == OAUTH2  # no tenant does: Modern Auth only
    unauthenticated = [e for e in ews_entries(hub) if e.status == 401]
    assert len(unauthenticated) == 2


def test_version_negotiation_with_an_exchange_2013_server_terminates(
        hub: Hub, control: ControlClient) -> None:
    control.set_exchange("fabrikam", deployment="onpremises", build="15.0.1497.2")
    setup = onprem_basic(hub, given=False)
    assert setup.account.version.api_version == "Exchange2013_SP1"
    assert str(setup.account.version.build) == "15.0.1497.2"
    assert len(list(setup.account.calendar.all())) == len(
        setup.owner.mailbox.default_calendar.events)
    probes = [e for e in ews_entries(hub) if e.operation == "ConvertId"]
    # Exchange2016, Exchange2015_SP1 and Exchange2015 are refused, Exchange2013_SP1 answers
    assert [e.outcome for e in probes] == ["ErrorInvalidServerVersion"] * 3 + [
        "ErrorInvalidIdMalformed"]


def test_stale_change_key_is_an_irresolvable_conflict(hub: Hub, control: ControlClient) -> None:
    setup = onprem_basic(hub, given=True)
    owner = setup.owner
    event = sorted(owner.mailbox.default_calendar.events, key=lambda e: e.id)[0]
    item = next(i for i in setup.account.calendar.all() if world_id(i.id) == event.id)
    control.update_event(owner.upn, event.id, subject="Changed meanwhile")
    item.subject = "My change"
    with pytest.raises(ErrorIrresolvableConflict):
        item.save()
    assert event.subject == "Changed meanwhile"
    item.save(conflict_resolution=ALWAYS_OVERWRITE)
    assert event.subject == "My change"


def test_server_busy_is_honoured_by_fault_tolerance(hub: Hub, control: ControlClient) -> None:
    owner = users(hub, "fabrikam")[0]
    config = Configuration(service_endpoint=hub.ews_url,
                           credentials=Credentials(owner.upn, owner.password),
                           retry_policy=FaultTolerance(max_wait=30))
    account = Account(owner.upn, config=config, autodiscover=False, access_type=DELEGATE)
    assert account.calendar.name == "Calendar"
    position = hub.world.audit.last_seq
    control.add_fault(kind="throttle", provider="ews", retry_after=1, times=1)
    started = time.monotonic()
    assert len(list(account.calendar.all())) == len(owner.mailbox.default_calendar.events)
    assert time.monotonic() - started >= 0.9  # it waited BackOffMilliseconds before retrying
    first, second = ews_entries(hub, since=position)[:2]
    assert (first.operation, first.status, first.outcome) == ("FindItem", 500, "ErrorServerBusy")
    assert (second.operation, second.status, second.outcome) == ("FindItem", 200, "ok")


def test_server_busy_fails_fast_by_default(hub: Hub, control: ControlClient) -> None:
    setup = onprem_basic(hub, given=True)
    assert setup.account.calendar.name == "Calendar"
    control.add_fault(kind="throttle", provider="ews", retry_after=1, times=1)
    with pytest.raises(ErrorServerBusy) as raised:
        list(setup.account.calendar.all())
    assert raised.value.back_off == 1.0


def test_delegate_needs_a_calendar_permission(hub: Hub, control: ControlClient) -> None:
    owner, delegate = users(hub, "contoso")[:2]
    t = tenant(hub, "contoso")
    client_id, secret = confidential_app(hub, "contoso")
    identity_admin.grant_admin_consent(hub, t, client_id, [EWS_DELEGATED])
    credentials = HubUserCredentials(authority=hub.base_url, username=delegate.upn,
                                     password=delegate.password, client_id=client_id,
                                     client_secret=secret, tenant_id=t.id)

    def shared_account() -> Account:
        close_connections()
        config = Configuration(service_endpoint=hub.ews_url, credentials=credentials,
                               version=Version(Build(15, 20)))
        return Account(owner.upn, config=config, autodiscover=False, access_type=DELEGATE)

    with pytest.raises(ErrorAccessDenied):
        shared_account().calendar.all().count()
    private = sorted(owner.mailbox.default_calendar.events, key=lambda e: e.id)[0]
    private.sensitivity = "private"
    control.set_calendar_permission(owner.upn, delegate.upn, "read")
    account = shared_account()
    items = {world_id(i.id): i for i in account.calendar.all()}
    assert set(items) == {e.id for e in owner.mailbox.default_calendar.events}
    assert items[private.id].subject == "Private Appointment"
    assert items[private.id].location is None and not items[private.id].required_attendees
    events = {e.id: e for e in owner.mailbox.default_calendar.events}
    for key, item in items.items():
        redacted = events[key].sensitivity == "private"
        assert (item.subject == "Private Appointment") == redacted
        assert item.subject == "Private Appointment" or item.subject == events[key].subject
    public = next(i for k, i in items.items() if events[k].sensitivity != "private")
    with pytest.raises(ErrorAccessDenied):  # read is not write
        CalendarItem(account=account, folder=account.calendar, subject="x",
                     start=public.start, end=public.end).save()
    denied = [e for e in ews_entries(hub) if e.outcome == "ErrorAccessDenied"]
    assert denied and all(e.user == delegate.upn for e in denied)


def test_filters_ordering_paging_folders_and_resolve_names(hub: Hub) -> None:
    setup = onprem_basic(hub, given=True)
    account, owner = setup.account, setup.owner
    events = sorted(owner.mailbox.default_calendar.events, key=lambda e: e.start)
    word = events[0].subject.split()[0]
    matching = [e for e in events if word.lower() in e.subject.lower()]
    found = list(account.calendar.filter(subject__icontains=word.lower()))
    assert {world_id(i.id) for i in found} == {e.id for e in matching}
    middle = EWSDateTime.from_datetime(events[len(events) // 2].start)
    later = list(account.calendar.filter(start__gte=middle).order_by("-start").only(
        "subject", "start"))
    expected = [e for e in reversed(events) if e.start >= middle]
    assert [world_id(i.id) for i in later] == [e.id for e in expected]
    assert later[0].body is None  # only what was asked for came back (FindItem, no GetItem)
    assert [world_id(i.id) for i in account.calendar.all().order_by("start")[2:5]] == [
        e.id for e in events[2:5]]
    position = hub.world.audit.last_seq
    query = account.calendar.all().order_by("start").only("subject")
    query.page_size = 3  # three FindItem pages, walked by IndexedPagingOffset
    assert list(query.values_list("subject", flat=True)) == [e.subject for e in events]
    assert len([e for e in ews_entries(hub, position) if e.operation == "FindItem"]) == 3
    # FindFolder under the message folder root
    children = [f.name for f in account.msg_folder_root.children]
    assert children[:2] == ["Calendar", "Contacts"]  # then the distinguished mail folders
    assert {"Inbox", "Sent Items", "Deleted Items", "Drafts", "Outbox"} <= set(children)
    colleague = users(hub, "fabrikam")[1]
    resolved = account.protocol.resolve_names([colleague.upn])
    assert [m.email_address for m in resolved] == [colleague.upn]
    finds = [e for e in ews_entries(hub) if e.operation == "FindItem"]
    assert finds and all(e.outcome == "ok" for e in finds)


def test_an_invalid_sync_state_raises_and_a_full_sync_recovers(hub: Hub) -> None:
    setup = onprem_basic(hub, given=True)
    calendar = setup.account.calendar
    list(calendar.sync_items())
    good_state = calendar.item_sync_state
    with pytest.raises(ErrorInvalidSyncStateData):
        list(calendar.sync_items(sync_state=good_state[:-8] + "AAAAAAA="))
    calendar.item_sync_state = None
    full = list(calendar.sync_items())
    assert len(full) == len(setup.owner.mailbox.default_calendar.events)
    assert [e.outcome for e in ews_entries(hub) if e.operation == "SyncFolderItems"] == [
        "ok", "ErrorInvalidSyncStateData", "ok"]
