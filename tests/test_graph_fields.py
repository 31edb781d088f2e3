"""Every field msgraph-sdk writes reads back: the properties of the SDK's own `Event` and
`Contact` models (dataclass fields), random values from hypothesis, created with msgraph-sdk and
read back with msgraph-sdk. A property the SDK knows and the test neither generates nor skips for
a stated reason fails `test_every_sdk_property_is_generated_or_skipped`, so a new SDK field shows
up. What the mock emits for the same item is also checked against Graph's v1.0 CSDL."""

from __future__ import annotations

import dataclasses
import ssl
import string
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.contact import Contact
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.free_busy_status import FreeBusyStatus
from msgraph.generated.models.importance import Importance
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.location import Location
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType
from msgraph.generated.models.physical_address import PhysicalAddress
from msgraph.generated.models.sensitivity import Sensitivity
from test_graph_sdk import owner, run, sdk_client

from harness.drift.schemas import check_graph
from mock_providers.hub import Hub
from mock_providers.microsoft.claims import GRAPH_RESOURCE, delegated_access_claims
from mock_providers.microsoft.graph import reset_limits
from mock_providers.server import HubServer

# Not part of the random round trip, each for a reason.
COMMON_SKIPPED = {
    "backing_store": "the SDK's own bookkeeping",
    "additional_data": "the SDK's own bookkeeping",
    "odata_type": "the SDK's own bookkeeping",
    "id": "server-assigned",
    "change_key": "server-assigned",
    "created_date_time": "server-assigned",
    "last_modified_date_time": "server-assigned",
    "extensions": "open extensions: not modelled",
    "multi_value_extended_properties": "MAPI extended properties: not modelled",
    "single_value_extended_properties": "MAPI extended properties: not modelled",
}
EVENT_SKIPPED = {
    **COMMON_SKIPPED,
    "attachments": "attachments are not stored by the mock",
    "body_preview": "derived from body (checked with it)",
    "calendar": "a navigation property",
    "instances": "a navigation property",
    "cancelled_occurrences": "beta-era series bookkeeping, read-only",
    "exception_occurrences": "a navigation property of a series",
    "recurrence": "tests/test_graph_series_meetings.py, tests/test_cross_protocol_series.py",
    "has_attachments": "derived",
    "i_cal_u_id": "server-assigned",
    "is_cancelled": "set by a cancellation (test_graph_series_meetings.py)",
    "is_draft": "meeting drafts: not modelled",
    "is_organizer": "derived from organizer",
    "organizer": "the mailbox owner (checked below)",
    "online_meeting": "server-generated from isOnlineMeeting (checked with it)",
    "online_meeting_url": "read-only, legacy (Skype); joinUrl is checked with isOnlineMeeting",
    "original_start": "an occurrence's, server-assigned",
    "original_start_time_zone": "set from start's zone (checked with it)",
    "original_end_time_zone": "set from end's zone (checked with it)",
    "response_status": "the organizer's own: server-assigned",
    "series_master_id": "an occurrence's, server-assigned",
    "type": "server-assigned",
    "web_link": "server-assigned",
    "start": "generated with is_all_day and the time zone",
    "end": "generated with is_all_day and the time zone",
    "location": "generated with locations (Graph keeps location as the first of them)",
}
CONTACT_SKIPPED = {
    **COMMON_SKIPPED,
    "photo": "a stream: not modelled",
    "parent_folder_id": "server-assigned",
    "manager": "generated as a string with the other strings",
    "primary_email_address": "not in Graph v1.0's contact (beta only)",
    "secondary_email_address": "not in Graph v1.0's contact (beta only)",
    "tertiary_email_address": "not in Graph v1.0's contact (beta only)",
}

_TEXT = (
    st.text(alphabet=string.ascii_letters + string.digits + " .,-_'éüß", min_size=1, max_size=40)
    .map(str.strip)
    .filter(bool)
)
_EMAIL = st.from_regex(r"[a-z]{1,10}@[a-z]{1,8}\.example", fullmatch=True)
_ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Pacific Standard Time",
    "W. Europe Standard Time",
]


@pytest.fixture
def hub(hub_server: HubServer) -> Iterator[Hub]:
    hub = hub_server.hub
    hub.reset()
    reset_limits(hub)
    yield hub
    hub.world.faults.clear()


# Each example is three HTTPS requests: shrinking a failure took minutes on the shared machine,
# and the failing field is named in the assertion anyway.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
MAX_LOCATIONS = 3


def _enum(kind: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(list(kind))


EVENT_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "subject": _TEXT,
    "body": st.builds(
        lambda kind, text: ItemBody(content_type=kind, content=text),
        st.sampled_from([BodyType.Text, BodyType.Html]),
        _TEXT,
    ),
    "importance": _enum(Importance),
    "is_reminder_on": st.booleans(),
    "reminder_minutes_before_start": st.integers(0, 10080),
    "sensitivity": _enum(Sensitivity),
    "show_as": st.sampled_from([s for s in FreeBusyStatus if s != FreeBusyStatus.Unknown]),
    "categories": st.lists(_TEXT, max_size=3, unique=True),
    "locations": st.lists(_TEXT, min_size=1, max_size=MAX_LOCATIONS, unique=True).map(
        lambda names: [Location(display_name=n) for n in names]
    ),
    "attendees": st.lists(
        st.tuples(_EMAIL, _TEXT, st.sampled_from([AttendeeType.Required, AttendeeType.Optional])),
        max_size=3,
        unique_by=lambda t: t[0],
    ).map(
        lambda items: [
            Attendee(email_address=EmailAddress(address=a, name=n), type=t) for a, n, t in items
        ]
    ),
    "allow_new_time_proposals": st.booleans(),
    "hide_attendees": st.booleans(),
    "response_requested": st.booleans(),
    "is_online_meeting": st.booleans(),
    "online_meeting_provider": st.just(OnlineMeetingProviderType.TeamsForBusiness),
    "transaction_id": st.just("fresh"),  # made unique per example: it makes a POST idempotent
    "is_all_day": st.booleans(),
}
CONTACT_STRINGS = (
    "assistant_name",
    "business_home_page",
    "company_name",
    "department",
    "display_name",
    "file_as",
    "generation",
    "given_name",
    "initials",
    "job_title",
    "manager",
    "middle_name",
    "mobile_phone",
    "nick_name",
    "office_location",
    "personal_notes",
    "profession",
    "spouse_name",
    "surname",
    "title",
    "yomi_company_name",
    "yomi_given_name",
    "yomi_surname",
)
_ADDRESS = st.builds(
    PhysicalAddress,
    street=_TEXT,
    city=_TEXT,
    state=_TEXT,
    country_or_region=_TEXT,
    postal_code=st.from_regex(r"[0-9]{5}", fullmatch=True),
)
CONTACT_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    **{name: _TEXT for name in CONTACT_STRINGS if name != "manager"},
    "business_phones": st.lists(
        st.from_regex(r"\+1 555 [0-9]{4}", fullmatch=True), max_size=2, unique=True
    ),
    "home_phones": st.lists(
        st.from_regex(r"\+44 20 [0-9]{4}", fullmatch=True), max_size=2, unique=True
    ),
    "children": st.lists(_TEXT, max_size=2),
    "categories": st.lists(_TEXT, max_size=2, unique=True),
    "im_addresses": st.lists(_EMAIL, max_size=2, unique=True),
    "email_addresses": st.lists(
        st.tuples(_EMAIL, _TEXT), min_size=1, max_size=3, unique_by=lambda t: t[0]
    ).map(lambda items: [EmailAddress(address=a, name=n) for a, n in items]),
    "birthday": st.dates(date(1930, 1, 1), date(2010, 12, 31)).map(
        lambda d: datetime(d.year, d.month, d.day, tzinfo=UTC)
    ),
    "business_address": _ADDRESS,
    "home_address": _ADDRESS,
    "other_address": _ADDRESS,
}


def _names(model: type) -> set[str]:
    return {f.name for f in dataclasses.fields(model)}


def test_every_sdk_property_is_generated_or_skipped() -> None:
    for model, strategies, skipped in (
        (Event, EVENT_STRATEGIES, EVENT_SKIPPED),
        (Contact, CONTACT_STRATEGIES, CONTACT_SKIPPED),
    ):
        names = _names(model)
        assert names - set(strategies) - set(skipped) == set(), model.__name__
        assert set(strategies) | set(skipped) <= names, model.__name__


def _raw(
    server: HubServer,
    hub: Hub,
    path: str,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
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
    with httpx.Client(verify=ssl.create_default_context(cafile=server.ca_bundle)) as http:
        reply = http.get(
            hub.graph_url + path,
            headers={"Authorization": f"Bearer {hub.signer.sign(claims)}", **(headers or {})},
        )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _times(
    all_day: bool, zone: str, day: int, hour: int
) -> tuple[DateTimeTimeZone, DateTimeTimeZone]:
    base = date(2034, 1, 2) + timedelta(days=day)
    if all_day:
        return (
            DateTimeTimeZone(date_time=f"{base}T00:00:00", time_zone=zone),
            DateTimeTimeZone(
                date_time=f"{base + timedelta(days=1 + day % 3)}T00:00:00", time_zone=zone
            ),
        )
    return (
        DateTimeTimeZone(date_time=f"{base}T{hour:02d}:15:00", time_zone=zone),
        DateTimeTimeZone(date_time=f"{base}T{hour + 1:02d}:45:00", time_zone=zone),
    )


def _same_body(sent: ItemBody, got: ItemBody) -> bool:
    if got.content_type != sent.content_type:
        return False
    return sent.content in (got.content or "")


@settings(
    max_examples=12,
    deadline=None,
    phases=NO_SHRINK,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=st.fixed_dictionaries(EVENT_STRATEGIES),
    zone=st.sampled_from(_ZONES),
    day=st.integers(0, 300),
    hour=st.integers(0, 20),
)
def test_event_fields_round_trip(
    hub_server: HubServer,
    hub: Hub,
    values: dict[str, Any],
    zone: str,
    day: int,
    hour: int,
) -> None:
    user = owner(hub)
    start, end = _times(values["is_all_day"], zone, day, hour)
    if not values["is_online_meeting"]:
        values = {k: v for k, v in values.items() if k != "online_meeting_provider"}
    values["transaction_id"] = str(uuid.uuid4())

    async def go() -> tuple[Event, Event]:
        client, _ = sdk_client(hub_server, user)
        created = await client.me.events.post(Event(start=start, end=end, **values))
        assert created is not None and created.id
        config = RequestConfiguration()
        config.headers.add("Prefer", f'outlook.timezone="{zone}"')
        got = await client.me.events.by_event_id(created.id).get(config)
        assert got is not None
        return created, got

    created, got = run(go())
    for name, sent in values.items():
        for label, read in (("created", created), ("read", got)):
            value = getattr(read, name)
            if name == "body":
                assert _same_body(sent, value), (label, name, sent, value)
            elif name == "locations":
                assert [loc.display_name for loc in value] == [s.display_name for s in sent]
                assert read.location.display_name == sent[0].display_name, (label, name)
            elif name == "attendees":
                assert [(a.email_address.address, a.email_address.name, a.type) for a in value] == [
                    (a.email_address.address, a.email_address.name, a.type) for a in sent
                ], (label, name)
            else:
                assert value == sent, (label, name, sent, value)
    assert got.start.time_zone == zone and got.end.time_zone == zone
    assert got.start.date_time[:19] == start.date_time and got.end.date_time[:19] == end.date_time
    assert got.original_start_time_zone == zone and got.original_end_time_zone == zone
    if values["is_online_meeting"]:
        assert got.online_meeting is not None and got.online_meeting.join_url
    assert got.organizer.email_address.address == user.upn
    raw = _raw(
        hub_server, hub, f"/me/events/{created.id}", {"Prefer": f'outlook.timezone="{zone}"'}
    )
    assert check_graph("event", raw) == []


@settings(
    max_examples=12,
    deadline=None,
    phases=NO_SHRINK,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(values=st.fixed_dictionaries(CONTACT_STRATEGIES))
def test_contact_fields_round_trip(
    hub_server: HubServer,
    hub: Hub,
    values: dict[str, Any],
) -> None:
    async def go() -> tuple[Contact, Contact]:
        client, _ = sdk_client(hub_server, owner(hub))
        created = await client.me.contacts.post(Contact(**values))
        assert created is not None and created.id
        got = await client.me.contacts.by_contact_id(created.id).get()
        assert got is not None
        return created, got

    created, got = run(go())
    for name, sent in values.items():
        for label, read in (("created", created), ("read", got)):
            value = getattr(read, name)
            if name == "email_addresses":
                assert [(e.address, e.name) for e in value] == [
                    (e.address, e.name) for e in sent
                ], (label, name)
            elif name.endswith("_address"):
                assert (
                    value.street,
                    value.city,
                    value.state,
                    value.country_or_region,
                    value.postal_code,
                ) == (
                    sent.street,
                    sent.city,
                    sent.state,
                    sent.country_or_region,
                    sent.postal_code,
                ), (label, name)
            elif name == "birthday":
                assert value is not None and value.date() == sent.date(), (label, name, value)
            else:
                assert value == sent, (label, name, sent, value)
    raw = _raw(hub_server, hub, f"/me/contacts/{created.id}")
    assert check_graph("contact", raw) == []


@pytest.mark.parametrize(
    ("zone", "first", "last"),
    [
        ("Asia/Kolkata", "2034-01-12", "2034-01-13"),
        ("America/New_York", "2034-03-11", "2034-03-14"),  # across the start of summer time
    ],
)
def test_all_day_event_keeps_whole_days_in_its_zone(
    hub_server: HubServer,
    hub: Hub,
    zone: str,
    first: str,
    last: str,
) -> None:
    """An all-day event starts and ends at its zone's midnights, also across a DST change
    (whose two midnights are not the same time of day in UTC)."""
    start = DateTimeTimeZone(date_time=f"{first}T00:00:00", time_zone=zone)
    end = DateTimeTimeZone(date_time=f"{last}T00:00:00", time_zone=zone)

    async def go() -> Event:
        client, _ = sdk_client(hub_server, owner(hub))
        created = await client.me.events.post(
            Event(subject="Offsite", is_all_day=True, start=start, end=end)
        )
        assert created is not None and created.id
        got = await client.me.events.by_event_id(created.id).get()
        assert got is not None
        return got

    got = run(go())
    local = ZoneInfo(zone)
    for sent, read in ((first, got.start), (last, got.end)):
        moment = datetime.fromisoformat(read.date_time[:19]).replace(tzinfo=UTC)
        assert moment.astimezone(local).isoformat().startswith(f"{sent}T00:00:00")
    assert got.is_all_day is True


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
