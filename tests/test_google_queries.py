"""events.list's query surface, driven by google-api-python-client and checked against the Calendar
v3 discovery document it ships: q, timeMin/timeMax (overlap, both exclusive at the edges,
milliseconds ignored), updatedMin (deletions since included), orderBy, showDeleted, paging, and
the combinations and values Google refuses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import google_auth_httplib2
import httplib2
import pytest
from google_support import connect, users_of
from googleapiclient.discovery import Resource, build
from googleapiclient.errors import HttpError

from mock_providers.google.calendar_query import LIST_PARAMS, SYNC_RESTRICTED
from mock_providers.google.discovery import document
from mock_providers.server import HubServer

CAL = "https://www.googleapis.com/auth/calendar"
BASE = datetime(2031, 5, 6, 10, 0, tzinfo=UTC)  # far from the seeded events (around today)


def at(hours: float) -> str:
    return (BASE + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    with HubServer(seed=10, tls=True, state_dir=tmp_path_factory.mktemp("query-hub")) as srv:
        yield srv


@pytest.fixture(scope="module")
def api(server: HubServer) -> Resource:
    creds = connect(server, users_of(server)[0], [CAL])
    http = google_auth_httplib2.AuthorizedHttp(creds,
                                               http=httplib2.Http(ca_certs=server.ca_bundle))
    return build("calendar", "v3", http=http, static_discovery=True,
                 client_options={"api_endpoint": f"{server.base_url}/google/calendar/v3/"})


@pytest.fixture(scope="module")
def events(api: Resource) -> dict[str, dict[str, Any]]:
    """Four events on 2031-05-06 (10:00–11:00, 11:00–12:00, 13:00–14:00, 15:00–16:00)."""
    bodies = {
        "standup": {"summary": "Daily Standup", "description": "Yesterday, today, blockers",
                    "start": {"dateTime": at(0)}, "end": {"dateTime": at(1)}},
        "review": {"summary": "Quarterly review", "location": "Room Ωmega",
                   "start": {"dateTime": at(1)}, "end": {"dateTime": at(2)},
                   "attendees": [{"email": "grace@example.org", "displayName": "Grace Hopper"}]},
        "lunch": {"summary": "Lunch", "description": "with the standup crew",
                  "start": {"dateTime": at(3)}, "end": {"dateTime": at(4)},
                  "extendedProperties": {"private": {"kind": "social"}}},
        "retro": {"summary": "Retro", "start": {"dateTime": at(5)}, "end": {"dateTime": at(6)}},
    }
    return {name: api.events().insert(calendarId="primary", body=body).execute()
            for name, body in bodies.items()}


def ids(api: Resource, **params: Any) -> list[str]:
    """Ids of every item, following pages."""
    out: list[str] = []
    request = api.events().list(calendarId="primary", **params)
    for _ in range(100):
        page = request.execute()
        out += [item["id"] for item in page["items"]]
        request = api.events().list_next(request, page)
        if request is None:
            return out
    raise AssertionError("more than 100 pages")


def names(events: dict[str, dict[str, Any]], found: list[str]) -> set[str]:
    by_id = {e["id"]: name for name, e in events.items()}
    return {by_id[i] for i in found if i in by_id}


def refused(api: Resource, **params: Any) -> HttpError:
    with pytest.raises(HttpError) as caught:
        api.events().list(calendarId="primary", **params).execute()
    err = caught.value
    assert err.status_code == 400, err
    return err


def day() -> dict[str, str]:
    return {"timeMin": at(-1), "timeMax": at(24)}


# -- the discovery document ------------------------------------------------------------------------
def test_every_list_option_of_the_discovery_document_is_handled() -> None:
    method = document("calendar", "v3")["resources"]["events"]["methods"]["list"]
    query_options = {n for n, p in method["parameters"].items() if p["location"] == "query"}
    assert query_options == LIST_PARAMS
    text = method["parameters"]["syncToken"]["description"]
    for name in SYNC_RESTRICTED:
        assert f"- {name}" in text
    assert method["parameters"]["orderBy"]["enum"] == ["startTime", "updated"]


# -- q ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("q", "expected"), [
    ("standup", {"standup", "lunch"}),  # summary of one, description of the other
    ("STANDUP", {"standup", "lunch"}),  # case-insensitive
    ("ωMEGA", {"review"}),  # location, Unicode case folding
    ("hopper", {"review"}),  # attendee display name
    ("grace@example.org", {"review"}),  # attendee e-mail
    ("standup crew", {"lunch"}),  # every term must match
    ('"standup crew"', {"lunch"}),  # a quoted phrase
    ('"crew standup"', set()),
    ("nothing-like-this", set()),
])
def test_q_searches_text_fields(api: Resource, events: dict[str, dict[str, Any]], q: str,
                                expected: set[str]) -> None:
    assert names(events, ids(api, q=q, **day())) == expected


def test_q_reaches_the_organizer(api: Resource, server: HubServer,
                                 events: dict[str, dict[str, Any]]) -> None:
    organizer = users_of(server)[0].email
    assert names(events, ids(api, q=organizer.upper(), **day())) == set(events)


# -- time window -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("time_min", "time_max", "expected"), [
    (at(1), at(3), {"review"}),  # standup ends at timeMin, lunch starts at timeMax
    (at(0.999), at(3.001), {"standup", "review", "lunch"}),
    (at(1).replace("Z", ".999Z"), None, {"review", "lunch", "retro"}),  # ms ignored
    (None, at(0).replace("Z", ".500Z"), set()),  # 10:00:00.5 is 10:00: standup starts at it
    (at(5.5), at(5.6), {"retro"}),  # inside an event
    (at(2), at(3), set()),  # the gap
])
def test_time_window_is_an_overlap_exclusive_at_both_edges(
        api: Resource, events: dict[str, dict[str, Any]], time_min: str | None,
        time_max: str | None, expected: set[str]) -> None:
    params = {k: v for k, v in (("timeMin", time_min), ("timeMax", time_max)) if v}
    assert names(events, ids(api, **params)) == expected


def test_time_max_before_time_min_is_time_range_empty(api: Resource) -> None:
    err = refused(api, timeMin=at(2), timeMax=at(1))
    assert err.error_details[0]["reason"] == "timeRangeEmpty"


def test_offsets_are_honoured(api: Resource, events: dict[str, dict[str, Any]]) -> None:
    """11:00Z is 13:00+02:00."""
    found = ids(api, timeMin="2031-05-06T13:00:00+02:00", timeMax="2031-05-06T15:00:00+02:00")
    assert names(events, found) == {"review"}


# -- ordering and paging ---------------------------------------------------------------------------
def test_order_by_start_time_needs_single_events(api: Resource,
                                                 events: dict[str, dict[str, Any]]) -> None:
    err = refused(api, orderBy="startTime")
    assert err.reason == "The requested ordering is not available for the particular query."
    found = ids(api, orderBy="startTime", singleEvents=True, maxResults=1, **day())
    assert [names(events, [i]).pop() for i in found] == ["standup", "review", "lunch", "retro"]


def test_order_by_updated(api: Resource, events: dict[str, dict[str, Any]]) -> None:
    api.events().patch(calendarId="primary", eventId=events["standup"]["id"],
                       body={"colorId": "3"}).execute()
    found = ids(api, orderBy="updated", maxResults=3, **day())
    assert [names(events, [i]).pop() for i in found][-1] == "standup"


def test_paging_with_filters_returns_each_match_once(api: Resource,
                                                     events: dict[str, dict[str, Any]]) -> None:
    paged = ids(api, q="e", maxResults=1, **day())
    assert len(paged) == len(set(paged))
    assert set(paged) == set(ids(api, q="e", **day()))


def test_other_filters(api: Resource, events: dict[str, dict[str, Any]]) -> None:
    assert names(events, ids(api, iCalUID=events["retro"]["iCalUID"])) == {"retro"}
    assert names(events, ids(api, privateExtendedProperty="kind=social")) == {"lunch"}
    assert names(events, ids(api, eventTypes="default", **day())) == set(events)
    assert ids(api, eventTypes="focusTime", **day()) == []


# -- updatedMin and deleted events -----------------------------------------------------------------
def test_updated_min_and_show_deleted(server: HubServer, api: Resource) -> None:
    clock = server.hub.world.clock
    early = api.events().insert(calendarId="primary", body={
        "summary": "Early", "start": {"dateTime": at(30)}, "end": {"dateTime": at(31)}}
    ).execute()
    gone_early = api.events().insert(calendarId="primary", body={
        "summary": "Gone early", "start": {"dateTime": at(32)}, "end": {"dateTime": at(33)}}
    ).execute()
    api.events().delete(calendarId="primary", eventId=gone_early["id"]).execute()
    clock.advance(60)
    since = (clock.now() - timedelta(seconds=1)).isoformat()
    late = api.events().insert(calendarId="primary", body={
        "summary": "Late", "start": {"dateTime": at(34)}, "end": {"dateTime": at(35)}}
    ).execute()
    gone_late = api.events().insert(calendarId="primary", body={
        "summary": "Gone late", "start": {"dateTime": at(36)}, "end": {"dateTime": at(37)}}
    ).execute()
    api.events().delete(calendarId="primary", eventId=gone_late["id"]).execute()

    page = api.events().list(calendarId="primary", updatedMin=since).execute()
    status = {i["id"]: i["status"] for i in page["items"]}
    # Deleted since updatedMin: included whatever showDeleted says; deleted before: not.
    assert status == {late["id"]: "confirmed", gone_late["id"]: "cancelled"}
    window = {"timeMin": at(29), "timeMax": at(40)}
    assert set(ids(api, **window)) == {early["id"], late["id"]}
    everything = api.events().list(calendarId="primary", showDeleted=True, **window).execute()
    cancelled = [i for i in everything["items"] if i["status"] == "cancelled"]
    assert {i["id"] for i in cancelled} == {gone_early["id"], gone_late["id"]}
    assert all(set(i) == {"kind", "etag", "id", "status"} for i in cancelled)
    # A deleted event outside the window stays out; q filters deleted events too.
    narrow = ids(api, showDeleted=True, timeMin=at(35.5), timeMax=at(40))
    assert narrow == [gone_late["id"]]
    assert ids(api, showDeleted=True, q="early", **window) == [early["id"], gone_early["id"]]


# -- what Google refuses ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", SYNC_RESTRICTED)
def test_sync_token_cannot_be_combined_with_restricting_options(api: Resource,
                                                                name: str) -> None:
    token = api.events().list(calendarId="primary").execute()["nextSyncToken"]
    value = {"timeMin": at(0), "timeMax": at(1), "updatedMin": at(0), "orderBy": "updated",
             "privateExtendedProperty": "a=b", "sharedExtendedProperty": "a=b"}.get(name, "x")
    err = refused(api, syncToken=token, **{name: value})
    assert err.error_details[0]["reason"] == "invalid"
    assert api.events().list(calendarId="primary", syncToken=token,
                             showDeleted=True).execute()["items"] == []


@pytest.mark.parametrize(("name", "value"), [
    ("maxResults", "²"), ("maxResults", "５"), ("maxResults", "1_0"), ("maxResults", " 5"),
    ("maxResults", "9" * 5000), ("maxResults", "0"), ("maxResults", "-1"),
    ("maxAttendees", "0"), ("timeZone", "Europe/" + "x" * 10_000), ("timeZone", "Mars/Base"),
    ("timeMin", "2031-05-06"), ("timeMin", "2031-05-06T10:00:00"),
    ("timeMin", "0001-01-01T00:00:00+14:00"), ("timeMax", "9999-12-31T23:00:00-11:00"),
    ("updatedMin", "yesterday"), ("orderBy", "summary"), ("showDeleted", "yes"),
    ("eventTypes", "meeting"), ("privateExtendedProperty", "novalue"),
])
def test_bad_values_are_400_invalid(api: Resource, name: str, value: str) -> None:
    """Sent as they are (googleapiclient would refuse some of them itself, enums for one)."""
    request = api.events().list(calendarId="primary")
    request.uri = request.uri.replace("?", f"?{name}={quote(value, safe='')}&", 1)
    with pytest.raises(HttpError) as caught:
        request.execute()
    err = caught.value
    assert err.status_code == 400, err
    assert err.error_details[0]["reason"] == "invalid"
    assert len(err.reason) < 300  # a 10,000-character value is not echoed whole


def test_large_max_results_is_capped(api: Resource) -> None:
    page = api.events().list(calendarId="primary", maxResults=100_000).execute()
    assert "items" in page


def test_valid_time_zone_is_accepted(api: Resource) -> None:
    assert "items" in api.events().list(calendarId="primary", timeZone="Europe/Zurich").execute()


def test_a_long_query_arrives_as_a_post_with_method_override(
        server: HubServer, api: Resource, events: dict[str, dict[str, Any]]) -> None:
    """googleapiclient sends a GET longer than 2,048 characters as a POST with
    X-HTTP-Method-Override: GET and the query as a form body, as Google accepts."""
    audit = server.hub.world.audit
    before = audit.last_seq
    found = ids(api, q="standup", eventTypes=["default"] * 200, **day())
    assert names(events, found) == {"standup", "lunch"}
    entry = audit.query(since=before)[0]
    assert (entry.method, entry.operation, entry.status) == ("GET", "events.list", 200)
    assert entry.detail["sent_as"] == "POST"
    assert ids(api, q="standup " + "x" * 3000, **day()) == []
