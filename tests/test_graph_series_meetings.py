"""Recurring meetings and meetings across mailboxes on the Graph mock, read and written by the
official msgraph-sdk (unchanged, as in test_graph_sdk.py) and, for hostile inputs, by httpx.

What is checked is what a client sees (calendarView, instances, calendarView delta, the attendee's
calendar and Inbox) and that the change landed in the world's model (SeriesExceptions, copies),
which is what EWS and Google render too."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.day_of_week import DayOfWeek
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.event_message import EventMessage
from msgraph.generated.models.event_type import EventType
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
from msgraph.generated.models.recurrence_pattern import RecurrencePattern
from msgraph.generated.models.recurrence_pattern_type import RecurrencePatternType
from msgraph.generated.models.recurrence_range import RecurrenceRange
from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
from msgraph.generated.models.response_type import ResponseType
from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import (
    CalendarViewRequestBuilder,
)
from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import (
    DeltaRequestBuilder,
)
from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder
from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import (
    CancelPostRequestBody,
)
from msgraph.generated.users.item.events.item.decline.decline_post_request_body import (
    DeclinePostRequestBody,
)
from msgraph.generated.users.item.events.item.instances.instances_request_builder import (
    InstancesRequestBuilder,
)
from test_graph_sdk import owner, run, sdk_client

from mock_providers.hub import Hub
from mock_providers.microsoft.claims import GRAPH_RESOURCE, delegated_access_claims
from mock_providers.microsoft.graph import reset_limits
from mock_providers.server import HubServer
from mock_providers.world import MsUser
from mock_providers.world.folders import mail_folders
from mock_providers.world.recurrence import expand

FMT = "%Y-%m-%dT%H:%M:%S"
MAIL = ["Calendars.ReadWrite", "Mail.Read", "User.Read"]


@pytest.fixture
def hub(hub_server: HubServer) -> Iterator[Hub]:
    hub = hub_server.hub
    hub.reset()
    reset_limits(hub)
    yield hub
    hub.world.faults.clear()


def users(hub: Hub) -> list[MsUser]:
    tenant = hub.world.tenant("contoso")
    assert tenant is not None
    return sorted(tenant.users.values(), key=lambda u: u.upn)


def _next_monday() -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=7 - today.weekday() + 7)


def _window(start: datetime, days: int) -> tuple[str, str]:
    return start.strftime("%Y-%m-%dT%H:%M:%SZ"), (start + timedelta(days=days)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


async def _calendar_view(client: GraphServiceClient, start: str, end: str) -> list[Event]:
    config = RequestConfiguration(
        query_parameters=CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
            start_date_time=start, end_date_time=end, top=100))
    page = await client.me.calendar_view.get(config)
    assert page is not None and page.value is not None
    return page.value


async def _delta_round(client: GraphServiceClient, start: str, end: str,
                       url: str | None) -> tuple[list[Any], str]:
    config = RequestConfiguration(
        query_parameters=DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
            start_date_time=start, end_date_time=end))
    config.headers.add("Prefer", "odata.maxpagesize=4")
    builder = client.me.calendar_view.delta
    items: list[Any] = []
    page = await (builder.with_url(url).get(config) if url else builder.get(config))
    while True:
        assert page is not None
        items += page.value or []
        if page.odata_delta_link:
            return items, page.odata_delta_link
        assert page.odata_next_link
        page = await builder.with_url(page.odata_next_link).get(config)


def test_sdk_weekly_series_with_an_exception_and_a_cancelled_occurrence(
        hub_server: HubServer, hub: Hub) -> None:
    user = owner(hub)
    calendar = user.mailbox.default_calendar
    monday = _next_monday()
    first = monday.replace(hour=9)
    start, end = _window(monday - timedelta(days=1), 35)

    async def scenario() -> None:
        client, _ = sdk_client(hub_server, user)
        # A delta round before the series exists: the series arrives as occurrences later.
        _, delta_link = await _delta_round(client, start, end, None)
        master = await client.me.events.post(Event(
            subject="Weekly sync",
            start=DateTimeTimeZone(date_time=first.strftime(FMT), time_zone="UTC"),
            end=DateTimeTimeZone(date_time=(first + timedelta(minutes=30)).strftime(FMT),
                                 time_zone="UTC"),
            recurrence=PatternedRecurrence(
                pattern=RecurrencePattern(type=RecurrencePatternType.Weekly, interval=1,
                                          days_of_week=[DayOfWeek.Monday]),
                range=RecurrenceRange(type=RecurrenceRangeType.Numbered,
                                      start_date=first.date(), number_of_occurrences=4))))
        assert master is not None and master.type == EventType.SeriesMaster
        added, delta_link = await _delta_round(client, start, end, delta_link)
        assert [i.type for i in added] == [EventType.Occurrence] * 4
        assert {i.series_master_id for i in added} == {master.id}

        config = RequestConfiguration(
            query_parameters=InstancesRequestBuilder.InstancesRequestBuilderGetQueryParameters(
                start_date_time=start, end_date_time=end))
        listed = await client.me.events.by_event_id(master.id).instances.get(config)
        assert listed is not None and listed.value is not None
        occurrences = listed.value
        assert [o.start.date_time[:16] for o in occurrences] == [
            (first + timedelta(weeks=n)).strftime(FMT)[:16] for n in range(4)]
        assert all(o.type == EventType.Occurrence and o.series_master_id == master.id
                   for o in occurrences)
        second, third = occurrences[1], occurrences[2]
        assert second.original_start == first + timedelta(weeks=1)

        # GET by occurrence id, then PATCH it: an exception of this occurrence only.
        fetched = await client.me.events.by_event_id(second.id).get()
        assert fetched is not None and fetched.id == second.id
        moved_start = first + timedelta(weeks=1, days=1, hours=5)
        patched = await client.me.events.by_event_id(second.id).patch(Event(
            subject="Weekly sync (Tuesday this time)",
            body=ItemBody(content="Moved for the offsite"),
            start=DateTimeTimeZone(date_time=moved_start.strftime(FMT), time_zone="UTC"),
            end=DateTimeTimeZone(date_time=(moved_start + timedelta(hours=1)).strftime(FMT),
                                 time_zone="UTC")))
        assert patched is not None and patched.id == second.id
        assert patched.type == EventType.Exception
        assert patched.subject == "Weekly sync (Tuesday this time)"
        await client.me.events.by_event_id(third.id).delete()
        with pytest.raises(ODataError) as gone:
            await client.me.events.by_event_id(third.id).get()
        assert gone.value.response_status_code == 404

        # The world holds the exception and the cancellation, keyed by original start.
        world_master = calendar.events.get(master.id)
        assert world_master is not None
        assert set(world_master.exceptions.modified) == {first + timedelta(weeks=1)}
        assert world_master.exceptions.cancelled == {first + timedelta(weeks=2)}
        assert len(expand(world_master.recurrence, world_master.start, world_master.end,
                          world_master.exceptions)) == 3

        view = [e for e in await _calendar_view(client, start, end)
                if e.series_master_id == master.id]
        assert [(e.type, e.start.date_time[:16]) for e in view] == [
            (EventType.Occurrence, first.strftime(FMT)[:16]),
            (EventType.Exception, moved_start.strftime(FMT)[:16]),
            (EventType.Occurrence, (first + timedelta(weeks=3)).strftime(FMT)[:16])]
        exception = view[1]
        assert exception.id == second.id and exception.subject.startswith("Weekly sync (Tue")
        assert exception.body.content == "Moved for the offsite"
        assert view[0].subject == "Weekly sync"
        again = await client.me.events.by_event_id(master.id).instances.get(config)
        assert again is not None and [o.id for o in again.value] == [o.id for o in view]

        changes, delta_link = await _delta_round(client, start, end, delta_link)
        by_id = {c.id: c for c in changes}
        assert by_id[third.id].additional_data.get("@removed") == {"reason": "deleted"}
        assert by_id[second.id].type == EventType.Exception
        assert by_id[second.id].subject == "Weekly sync (Tuesday this time)"

        # An exception changed later is reported again, with its new value.
        await client.me.events.by_event_id(second.id).patch(Event(subject="Tuesday, final"))
        later, _ = await _delta_round(client, start, end, delta_link)
        assert {c.id: c.subject for c in later if c.id == second.id} == {
            second.id: "Tuesday, final"}

    run(scenario())


def test_seeded_world_has_recurring_meetings_with_exceptions(hub: Hub) -> None:
    tenant = hub.world.tenant("contoso")
    assert tenant is not None
    holder = next(u for u in tenant.users.values() if u.is_admin)
    series = [e for e in holder.mailbox.default_calendar.events if e.recurrence]
    kinds = sorted(e.recurrence.pattern.type for e in series if e.recurrence)
    assert kinds == ["absoluteMonthly", "weekly"]
    weekly = next(e for e in series if e.recurrence and e.recurrence.pattern.type == "weekly")
    assert len(weekly.exceptions.modified) == 1 and len(weekly.exceptions.cancelled) == 1
    assert weekly.recurrence is not None and weekly.recurrence.range.time_zone == "Europe/Berlin"


def test_sdk_meeting_with_two_attendees(hub_server: HubServer, hub: Hub) -> None:
    organizer, first, second = users(hub)[:3]
    monday = _next_monday()

    async def scenario() -> None:
        org, _ = sdk_client(hub_server, organizer)
        meeting = await org.me.events.post(Event(
            subject="Planning",
            start=DateTimeTimeZone(date_time=monday.replace(hour=13).strftime(FMT),
                                   time_zone="UTC"),
            end=DateTimeTimeZone(date_time=monday.replace(hour=14).strftime(FMT),
                                 time_zone="UTC"),
            attendees=[Attendee(email_address=EmailAddress(address=u.upn, name=u.display_name))
                       for u in (first, second)]))
        assert meeting is not None
        copies: dict[str, str] = {}
        for attendee in (first, second):
            client, _ = sdk_client(hub_server, attendee, MAIL)
            inbox = await client.me.mail_folders.by_mail_folder_id("inbox").get()
            assert inbox is not None and inbox.display_name == "Inbox"
            assert inbox.total_item_count == 1 and inbox.unread_item_count == 1
            messages = await client.me.mail_folders.by_mail_folder_id("inbox").messages.get()
            assert messages is not None and len(messages.value) == 1
            request = messages.value[0]
            assert isinstance(request, EventMessage)
            assert request.subject == "Planning"
            assert request.meeting_message_type.value == "meetingRequest"
            assert request.from_.email_address.address == organizer.upn
            events = await client.me.events.get(RequestConfiguration(
                query_parameters=EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
                    filter=f"iCalUId eq '{meeting.i_cal_u_id}'")))
            assert events is not None and len(events.value) == 1
            copy = events.value[0]
            assert copy.id != meeting.id and copy.is_organizer is False
            assert copy.show_as.value == "tentative"
            assert copy.response_status.response == ResponseType.NotResponded
            copies[attendee.upn] = copy.id
            folders = await client.me.mail_folders.get()
            names = {f.display_name for f in folders.value}
            assert {"Inbox", "Sent Items", "Deleted Items", "Drafts"} <= names

        decliner, _ = sdk_client(hub_server, second)
        await decliner.me.events.by_event_id(copies[second.upn]).decline.post(
            DeclinePostRequestBody(comment="Out that day", send_response=True))
        seen = await org.me.events.by_event_id(meeting.id).get()
        status = {a.email_address.address: a.status.response for a in seen.attendees}
        assert status[second.upn] == ResponseType.Declined
        assert status[first.upn] == ResponseType.None_
        org_mail, _ = sdk_client(hub_server, organizer, MAIL)
        inbox = await org_mail.me.mail_folders.by_mail_folder_id("inbox").messages.get()
        assert [m.subject for m in inbox.value] == ["Declined: Planning"]
        assert inbox.value[0].additional_data.get("responseType") == "declined" or \
            getattr(inbox.value[0], "response_type", None) is not None

        # The organizer cancels: the remaining attendee's copy is marked cancelled and told.
        await org.me.events.by_event_id(meeting.id).cancel.post(
            CancelPostRequestBody(comment="Moved to next quarter"))
        stays, _ = sdk_client(hub_server, first, MAIL)
        copy = await stays.me.events.by_event_id(copies[first.upn]).get()
        assert copy is not None and copy.is_cancelled is True
        messages = await stays.me.mail_folders.by_mail_folder_id("inbox").messages.get()
        assert [m.meeting_message_type.value for m in messages.value] == [
            "meetingCancelled", "meetingRequest"]

    run(scenario())
    assert all(e.ical_uid != "" for e in second.mailbox.default_calendar.events)
    sent = mail_folders(hub.world, organizer)["sentitems"]
    assert [m.kind for m in sent.messages] == ["meetingRequest", "meetingCancelled"]


# -- hostile inputs on the new endpoints, with httpx --------------------------------------------
def _token(hub: Hub, user: MsUser, scopes: list[str]) -> str:
    tenant = hub.world.ms_tenants[user.tenant_id]
    client_id = next(a.client_id for a in tenant.apps.values() if a.client_secret)
    claims = delegated_access_claims(tenant_id=tenant.id, client_id=client_id,
                                     resource=GRAPH_RESOURCE, oid=user.id, upn=user.upn,
                                     name=user.display_name, scopes=scopes,
                                     now=hub.world.clock.timestamp())
    return hub.signer.sign(claims)


def test_hostile_inputs_get_graph_errors(hub_server: HubServer, hub: Hub) -> None:
    user = owner(hub)
    token = _token(hub, user, ["Calendars.ReadWrite", "Mail.Read"])
    headers = {"Authorization": f"Bearer {token}"}
    series = next(e for u in users(hub) for e in u.mailbox.default_calendar.events
                  if e.recurrence)
    holder = next(u for u in users(hub) if series.id in u.mailbox.default_calendar.events)
    holder_headers = {"Authorization": f"Bearer {_token(hub, holder, ['Calendars.ReadWrite'])}"}
    single = next(iter(user.mailbox.default_calendar.events))
    ctx = ssl.create_default_context(cafile=hub_server.ca_bundle)
    wide = {"startDateTime": "2020-01-01T00:00:00Z", "endDateTime": "2030-01-01T00:00:00Z"}
    today = datetime.now(UTC)
    window = {"startDateTime": f"{today - timedelta(days=800):%Y-%m-%dT%H:%M:%SZ}",
              "endDateTime": f"{today + timedelta(days=800):%Y-%m-%dT%H:%M:%SZ}"}
    cases: list[tuple[str, str, dict[str, str], Any, dict[str, str]]] = [
        ("GET", f"/me/events/{single.id}/instances", {}, None, headers),
        ("GET", f"/me/events/{series.id}/instances", wide, None, holder_headers),  # > 1825 d
        ("GET", "/me/calendarView", wide, None, headers),
        ("GET", "/me/calendarView/delta", wide, None, headers),
        ("GET", f"/me/events/{single.id}/instances",
         {"startDateTime": "yesterday", "endDateTime": "x"}, None, headers),
        ("GET", f"/me/events/{single.id}/instances",
         {"startDateTime": "2030-01-01T00:00:00Z", "endDateTime": "2020-01-01T00:00:00Z"},
         None, headers),
        ("GET", f"/me/events/{single.id}_29991399T999999Z", {}, None, headers),
        ("GET", f"/me/events/{series.id}_20000101T000000Z", {}, None, holder_headers),
        ("GET", "/me/events/" + "x" * 5000 + "_20270101T000000Z", {}, None, headers),
        ("PATCH", f"/me/events/{series.id}_20000101T000000Z", {}, {"subject": "x"},
         holder_headers),
        ("DELETE", f"/me/events/{series.id}_20000101T000000Z", {}, None, holder_headers),
        ("POST", f"/me/events/{single.id}/accept", {}, {"comment": 5}, headers),
        ("POST", f"/me/events/{single.id}/accept", {}, {"sendResponse": "yes"}, headers),
        ("POST", f"/me/events/{single.id}/decline", {}, [1, 2], headers),
        ("POST", f"/me/events/{single.id}/tentativelyAccept", {}, {"bogus": 1}, headers),
        ("POST", f"/me/events/{single.id}/accept", {}, {}, headers),  # the organizer
        ("GET", f"/me/events/{single.id}/accept", {}, None, headers),
        ("POST", f"/me/events/{single.id}/forward", {}, {}, headers),
        ("POST", "/me/events/nope/cancel", {}, {}, headers),
        ("GET", "/me/mailFolders/nope", {}, None, headers),
        ("GET", "/me/mailFolders/calendar", {}, None, headers),
        ("GET", "/me/mailFolders/inbox/messages/nope", {}, None, headers),
        ("GET", "/me/mailFolders/inbox/rules", {}, None, headers),
        ("GET", "/me/mailFolders", {"$top": "-1"}, None, headers),
        ("GET", "/me/mailFolders", {"$filter": "x eq 1"}, None, headers),
        ("POST", "/me/mailFolders", {}, {}, headers),
        ("GET", f"/users/{users(hub)[1].upn}/mailFolders", {}, None, headers),
        ("GET", "/me/mailFolders", {}, None, holder_headers),  # no Mail.* permission
    ]
    with httpx.Client(base_url=hub.graph_url, verify=ctx, timeout=10) as client:
        for method, path, params, body, hdrs in cases:
            content = None if body is None else httpx.Request(
                "POST", "http://x", json=body).content
            r = client.request(method, path, params=params or None, content=content,
                               headers={**hdrs, "Content-Type": "application/json"})
            assert 400 <= r.status_code < 500, (method, path, params, body, r.status_code,
                                                r.text[:300])
            err = r.json()["error"]
            assert err["code"] and err["message"] and err["innerError"]["request-id"]
        # the windowed instances of a real series work with the same client
        ok = client.get(f"/me/events/{series.id}/instances", params=window,
                        headers=holder_headers)
        assert ok.status_code == 200 and ok.json()["value"]
        assert {e["type"] for e in ok.json()["value"]} >= {"occurrence", "exception"}
