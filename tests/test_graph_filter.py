"""Graph `$filter` on events and contacts as real clients send it, through msgraph-sdk unchanged
(its `filter` query parameter), and the errors Graph answers for what it refuses: always Graph's
error JSON with a 400, never a 5xx."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.contact import Contact
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.sensitivity import Sensitivity
from msgraph.generated.users.item.contacts.contacts_request_builder import ContactsRequestBuilder
from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder
from test_graph_sdk import owner, run, sdk_client

from mock_providers.hub import Hub
from mock_providers.microsoft.claims import GRAPH_RESOURCE, delegated_access_claims
from mock_providers.microsoft.graph import odata, reset_limits
from mock_providers.microsoft.graph.errors import GraphError
from mock_providers.server import HubServer
from mock_providers.world import Attendee as WorldAttendee
from mock_providers.world import Event as WorldEvent

BASE = datetime(2033, 2, 7, 9, tzinfo=UTC)
TAG = "filtertest"


@pytest.fixture
def hub(hub_server: HubServer) -> Iterator[Hub]:
    hub = hub_server.hub
    hub.reset()
    reset_limits(hub)
    yield hub
    hub.world.faults.clear()


def when(hours: float) -> DateTimeTimeZone:
    return DateTimeTimeZone(
        date_time=(BASE + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S"), time_zone="UTC"
    )


async def seed_events(client: Any) -> dict[str, str]:
    """Three events; called inside the test's one coroutine (the SDK's httpx client is bound
    to its event loop)."""
    if True:
        specs = {
            "board": Event(
                subject=f"{TAG} Board review",
                start=when(0),
                end=when(1),
                categories=["Red", "Finance"],
                sensitivity=Sensitivity.Private,
                attendees=[
                    Attendee(email_address=EmailAddress(address="grace@example.org", name="Grace"))
                ],
            ),
            "standup": Event(
                subject=f"{TAG} Standup",
                start=when(2),
                end=when(2.5),
                categories=["Blue"],
                attendees=[
                    Attendee(email_address=EmailAddress(address="alan@example.org", name="Alan"))
                ],
            ),
            "allday": Event(
                subject=f"{TAG} Offsite",
                is_all_day=True,
                start=DateTimeTimeZone(date_time="2033-02-08T00:00:00", time_zone="UTC"),
                end=DateTimeTimeZone(date_time="2033-02-09T00:00:00", time_zone="UTC"),
            ),
        }
        out = {}
        for name, body in specs.items():
            created = await client.me.events.post(body)
            out[name] = created.id
        return out


async def sdk_filter_events(client: Any, text: str) -> set[str]:
    config = RequestConfiguration(
        query_parameters=EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            filter=text, top=100
        )
    )
    page = await client.me.events.get(config)
    return {e.id for e in page.value or []}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"startswith(subject,'{TAG} B')", {"board"}),
        (f"startswith(subject,'{TAG}') and not isAllDay", {"board", "standup"}),
        (
            f"startswith(subject,'{TAG}') and (categories/any(c: c eq 'blue') or isAllDay eq true)",
            {"standup", "allday"},
        ),
        ("attendees/any(a: a/emailAddress/address eq 'GRACE@example.org')", {"board"}),
        (f"contains(subject,'{TAG}') and sensitivity eq 'private'", {"board"}),
        (
            f"contains(subject,'{TAG}') and sensitivity ne microsoft.graph.sensitivity'private'",
            {"standup", "allday"},
        ),
        (
            f"contains(subject,'{TAG}') and start/dateTime ge '2033-02-07T10:00:00' and "
            "start/dateTime lt '2033-02-08T00:00:00'",
            {"standup"},
        ),
        (
            f"startswith(subject,'{TAG}') and attendees/all(a: a/type eq 'required') and "
            "attendees/any()",
            {"board", "standup"},
        ),
        (
            f"contains(subject,'{TAG}') and createdDateTime ge 2000-01-01T00:00:00Z",
            {"board", "standup", "allday"},
        ),
    ],
)
def test_sdk_event_filters(
    hub_server: HubServer,
    hub: Hub,
    text: str,
    expected: set[str],
) -> None:
    async def go() -> set[str]:
        client, _ = sdk_client(hub_server, owner(hub))
        made = await seed_events(client)
        names = {v: k for k, v in made.items()}
        return {names[i] for i in await sdk_filter_events(client, text) if i in names}

    assert run(go()) == expected


def test_sdk_finds_a_contact_by_email_the_documented_way(hub_server: HubServer, hub: Hub) -> None:
    async def go() -> set[str]:
        client, _ = sdk_client(hub_server, owner(hub))
        made = await client.me.contacts.post(
            Contact(
                given_name="Ada",
                surname="Lovelace",
                email_addresses=[EmailAddress(address="ada@example.org", name="Ada")],
            )
        )
        config = RequestConfiguration(
            query_parameters=ContactsRequestBuilder.ContactsRequestBuilderGetQueryParameters(
                filter="emailAddresses/any(a: a/address eq 'ADA@example.org')"
            )
        )
        page = await client.me.contacts.get(config)
        found = {c.id for c in page.value or []}
        assert made.id in found
        config.query_parameters.filter = (
            "givenName eq 'Ada' and not emailAddresses/any(a: a/address eq 'ada@example.org')"
        )
        page = await client.me.contacts.get(config)
        return {c.id for c in page.value or []} & {made.id}

    assert run(go()) == set()


def raw_client(server: HubServer, hub: Hub) -> httpx.Client:
    user = owner(hub)
    tenant = hub.world.ms_tenants[user.tenant_id]
    client_id = next(a.client_id for a in tenant.apps.values() if a.client_secret)
    claims = delegated_access_claims(
        tenant_id=tenant.id,
        client_id=client_id,
        resource=GRAPH_RESOURCE,
        oid=user.id,
        upn=user.upn,
        name=user.display_name,
        scopes=["Calendars.ReadWrite", "Contacts.ReadWrite"],
        now=hub.world.clock.timestamp(),
    )
    return httpx.Client(
        base_url=hub.graph_url,
        verify=ssl.create_default_context(cafile=server.ca_bundle),
        headers={"Authorization": f"Bearer {hub.signer.sign(claims)}"},
    )


@pytest.mark.parametrize(
    ("path", "text", "code", "words"),
    [
        ("/me/events", "subject eq", "BadRequest", "Syntax error at position"),
        ("/me/events", "(subject eq 'a'", "BadRequest", "Syntax error"),
        ("/me/events", "subject eq 'a' and", "BadRequest", "Syntax error"),
        ("/me/events", "hasAttachments eq true", "ErrorInvalidUrlQueryFilter", "invalid nodes"),
        ("/me/events", "isAllDay eq 'yes'", "BadRequest", "incompatible types"),
        ("/me/events", "sensitivity eq 'secret'", "BadRequest", "enumeration"),
        ("/me/events", "frobnicate(subject)", "BadRequest", "unknown function"),
        ("/me/events", "startswith(subject)", "BadRequest", "No function signature"),
        (
            "/me/events",
            "attendees/any(a: a/nope eq 'x')",
            "ErrorInvalidUrlQueryFilter",
            "invalid nodes",
        ),
        (
            "/me/events",
            "attendees/any(a: attendees/any(a: a/type eq 'required'))",
            "BadRequest",
            "already been declared",
        ),
        ("/me/events", "start/dateTime ge 'soon'", "BadRequest", "date and time"),
        ("/me/events", "subject", "BadRequest", "not a boolean"),
        ("/me/events", "'" * 3, "BadRequest", "Syntax error"),
        ("/me/events", "not " * 1000 + "isAllDay", "BadRequest", "nested too deeply"),
        ("/me/events", "subject eq '" + "x" * 5000 + "'", "BadRequest", "too long"),
        (
            "/me/contacts",
            "emailAddresses/any(a: a/address eq 1)",
            "BadRequest",
            "incompatible types",
        ),
        ("/me/contacts", "emailAddresses eq 'x'", "ErrorInvalidUrlQueryFilter", "invalid nodes"),
    ],
)
def test_refused_filters_get_graph_errors(
    hub_server: HubServer,
    hub: Hub,
    path: str,
    text: str,
    code: str,
    words: str,
) -> None:
    with raw_client(hub_server, hub) as http:
        reply = http.get(path, params={"$filter": text})
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["code"] == code and words in error["message"]


def test_deep_parentheses_are_fine(hub_server: HubServer, hub: Hub) -> None:
    with raw_client(hub_server, hub) as http:
        reply = http.get("/me/events", params={"$filter": "(" * 300 + "subject eq 'a'" + ")" * 300})
    assert reply.status_code == 200 and reply.json()["value"] == []


_TOKENS = st.sampled_from(
    [
        "subject",
        "isAllDay",
        "sensitivity",
        "start/dateTime",
        "attendees",
        "categories",
        "emailAddress/address",
        "a",
        "a/emailAddress/address",
        "c",
        "/",
        "any",
        "all",
        "(",
        ")",
        ":",
        ",",
        "eq",
        "ne",
        "gt",
        "and",
        "or",
        "not",
        "startswith",
        "contains",
        "tolower",
        "'x'",
        "'private'",
        "''''",
        "true",
        "null",
        "1",
        "-2.5e3",
        "2033-02-07T10:00:00Z",
        "microsoft.graph.sensitivity'private'",
        "01234567-89ab-cdef-0123-456789abcdef",
        "'",
        "importance",
        "organizer/emailAddress/address",
        "createdDateTime",
        "é",
        "$it",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_TOKENS, min_size=1, max_size=14).map(" ".join))
def test_any_filter_text_parses_or_is_a_graph_400(text: str) -> None:
    """Token soup from the grammar's own words: a predicate that evaluates without raising,
    or a GraphError 400 (which the router renders as Graph's error JSON), never anything else."""
    now = datetime(2033, 2, 7, 10, tzinfo=UTC)
    event = WorldEvent(
        id="e",
        subject="Board",
        start=now,
        end=now,
        created=now,
        last_modified=now,
        ical_uid="u",
        change_key="k",
        attendees=[WorldAttendee("grace@example.org", "Grace")],
        categories=["Red"],
    )
    try:
        predicate = odata.parse_filter(text, odata.EVENT_FILTER_FIELDS, getattr)
    except GraphError as err:
        assert err.status == 400
        return
    assert predicate(event) in (True, False)
