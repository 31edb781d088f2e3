"""The official msgraph-sdk, unchanged, against the Graph mock over TLS.

The SDK is pointed at the hub by its own extension points only: an httpx.AsyncClient that trusts
the hub's CA, the SDK's default middleware (with the `/users/me-token-to-replace` → `/me` rewrite
the SDK installs when it builds its own client), `request_adapter.base_url`, and a token credential
that hands out a token minted by the hub. Kiota attaches the token only for `allowed_hosts`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from azure.core.credentials import AccessToken
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.contact import Contact
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import (
    DeltaRequestBuilder,
)
from msgraph.graph_request_adapter import options as sdk_default_options
from msgraph_core import GraphClientFactory

from mock_providers.hub import Hub
from mock_providers.microsoft.claims import GRAPH_RESOURCE, delegated_access_claims
from mock_providers.microsoft.graph import reset_limits
from mock_providers.server import HubServer
from mock_providers.world import FaultSpec, MsUser

T = TypeVar("T")
SCOPES = ["Calendars.ReadWrite", "Contacts.ReadWrite", "User.Read"]


class MintedTokenCredential:
    """An azure.core AsyncTokenCredential that returns one pre-minted access token."""

    def __init__(self, token: str, expires_on: int) -> None:
        self._token = AccessToken(token, expires_on)
        self.calls = 0

    async def get_token(self, *scopes: str, claims: str | None = None,
                        tenant_id: str | None = None, enable_cae: bool = False,
                        **kwargs: Any) -> AccessToken:
        self.calls += 1
        return self._token

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> MintedTokenCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def hub(hub_server: HubServer) -> Iterator[Hub]:
    hub = hub_server.hub
    hub.reset()
    reset_limits(hub)
    yield hub
    hub.world.faults.clear()


def owner(hub: Hub) -> MsUser:
    contoso = hub.world.tenant("contoso")
    assert contoso is not None
    return sorted(contoso.users.values(), key=lambda u: u.upn)[0]


def sdk_client(server: HubServer, user: MsUser, scopes: list[str] | None = None
               ) -> tuple[GraphServiceClient, MintedTokenCredential]:
    hub = server.hub
    tenant = hub.world.ms_tenants[user.tenant_id]
    client_id = next(a.client_id for a in tenant.apps.values() if a.client_secret)
    now = hub.world.clock.timestamp()
    claims = delegated_access_claims(tenant_id=tenant.id, client_id=client_id,
                                     resource=GRAPH_RESOURCE, oid=user.id, upn=user.upn,
                                     name=user.display_name, scopes=scopes or SCOPES, now=now)
    credential = MintedTokenCredential(hub.signer.sign(claims), claims["exp"])
    http = httpx.AsyncClient(verify=ssl.create_default_context(cafile=server.ca_bundle))
    http = GraphClientFactory.create_with_default_middleware(client=http,
                                                             options=sdk_default_options)
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=["https://graph.microsoft.com/.default"],
        allowed_hosts=[server.host])
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = hub.graph_url
    return GraphServiceClient(request_adapter=adapter), credential


def slot(day: int, hour: int) -> tuple[DateTimeTimeZone, DateTimeTimeZone]:
    start = (datetime.now(UTC) + timedelta(days=day)).replace(hour=hour, minute=0, second=0,
                                                              microsecond=0)
    fmt = "%Y-%m-%dT%H:%M:%S"
    return (DateTimeTimeZone(date_time=start.strftime(fmt), time_zone="UTC"),
            DateTimeTimeZone(date_time=(start + timedelta(minutes=30)).strftime(fmt),
                             time_zone="UTC"))


def test_sdk_lists_creates_updates_and_deletes_events(hub_server: HubServer, hub: Hub) -> None:
    user = owner(hub)
    calendar = user.mailbox.default_calendar

    async def scenario() -> None:
        client, credential = sdk_client(hub_server, user)
        page = await client.me.events.get()
        assert page is not None and page.value
        assert {e.id for e in page.value} <= set(calendar.events.items)
        assert page.value[0].organizer.email_address.address == user.upn
        assert credential.calls >= 1

        start, end = slot(2, 10)
        created = await client.me.events.post(Event(
            subject="SDK sync", start=start, end=end,
            body=ItemBody(content="Hello from the SDK"), transaction_id="sdk-tx-1"))
        assert created is not None and created.id in calendar.events
        assert created.start.date_time.startswith(start.date_time)
        again = await client.me.events.post(Event(subject="SDK sync", start=start, end=end,
                                                  transaction_id="sdk-tx-1"))
        assert again is not None and again.id == created.id

        updated = await client.me.events.by_event_id(created.id).patch(
            Event(subject="SDK sync (moved)"))
        assert updated is not None and updated.subject == "SDK sync (moved)"
        assert updated.change_key != created.change_key
        assert calendar.events.get(created.id).subject == "SDK sync (moved)"

        await client.me.events.by_event_id(created.id).delete()
        assert created.id not in calendar.events
        with pytest.raises(ODataError) as failure:
            await client.me.events.by_event_id(created.id).get()
        assert failure.value.response_status_code == 404
        assert failure.value.error.code == "ErrorItemNotFound"

    run(scenario())
    operations = [e.operation for e in hub.world.audit.query(provider="graph")]
    assert {"events.list", "events.create", "events.update", "events.delete"} <= set(operations)


def test_sdk_calendar_view_delta_rounds(hub_server: HubServer, hub: Hub) -> None:
    user = owner(hub)
    calendar = user.mailbox.default_calendar
    now = datetime.now(UTC)

    async def round_(client: GraphServiceClient, url: str | None) -> tuple[list[Any], str]:
        config = RequestConfiguration(
            query_parameters=DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
                start_date_time=(now - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                end_date_time=(now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")))
        config.headers.add("Prefer", "odata.maxpagesize=3")
        builder = client.me.calendar_view.delta
        items: list[Any] = []
        page = await (builder.with_url(url).get(config) if url else builder.get(config))
        while True:
            assert page is not None
            items += page.value or []
            if page.odata_delta_link:
                assert not page.odata_next_link
                return items, page.odata_delta_link
            assert page.odata_next_link
            page = await builder.with_url(page.odata_next_link).get(config)

    async def scenario() -> None:
        client, _ = sdk_client(hub_server, user)
        items, delta_link = await round_(client, None)
        assert sorted(i.id for i in items) == sorted(calendar.events.items)

        # chosen among the events the first round saw: ids are random, and the new event could
        # sort first (created and deleted between two rounds, it is in no change at all)
        victim = sorted(calendar.events.items)[0]
        start, end = slot(1, 15)
        created = await client.me.events.post(Event(subject="Added", start=start, end=end))
        await client.me.events.by_event_id(victim).delete()

        changes, _ = await round_(client, delta_link)
        assert {c.id for c in changes} == {created.id, victim}
        removed = next(c for c in changes if c.id == victim)
        assert removed.additional_data.get("@removed") == {"reason": "deleted"}
        added = next(c for c in changes if c.id == created.id)
        assert added.subject == "Added"

    run(scenario())


def test_sdk_lists_and_creates_contacts(hub_server: HubServer, hub: Hub) -> None:
    user = owner(hub)
    folder = user.mailbox.default_contacts

    async def scenario() -> None:
        client, _ = sdk_client(hub_server, user)
        listed = await client.me.contacts.get()
        assert listed is not None and {c.id for c in listed.value} == set(folder.contacts.items)
        created = await client.me.contacts.post(Contact(
            given_name="Pavel", surname="Bansky",
            email_addresses=[EmailAddress(address="pavelb@example.com", name="Pavel")]))
        assert created is not None and created.display_name == "Pavel Bansky"
        assert created.email_addresses[0].address == "pavelb@example.com"
        assert created.id in folder.contacts

    run(scenario())


def test_sdk_retries_a_throttled_request_after_retry_after(hub_server: HubServer,
                                                           hub: Hub) -> None:
    user = owner(hub)
    hub.world.faults.add(FaultSpec(kind="throttle", provider="graph", path=r"/me/calendars$",
                                   retry_after=1, times=1))

    async def scenario() -> None:
        client, _ = sdk_client(hub_server, user)
        loop = asyncio.get_running_loop()
        started = loop.time()
        calendars = await client.me.calendars.get()
        assert calendars is not None and calendars.value[0].is_default_calendar
        assert loop.time() - started >= 0.9  # it waited for Retry-After

    run(scenario())
    seen = [(e.status, e.outcome) for e in hub.world.audit.query(provider="graph",
                                                                 operation="calendars.list")]
    assert seen == [(429, "TooManyRequests"), (200, "ok")]
