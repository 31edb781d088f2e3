"""The Google Calendar v3 mock over TLS, driven by google-api-python-client unchanged
(static discovery, api_endpoint), google-auth-httplib2 and httplib2 with the hub's CA."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import google_auth_httplib2
import httplib2
import pytest
from google.oauth2.credentials import Credentials
from google_support import connect, users_of
from googleapiclient.discovery import Resource, build
from googleapiclient.errors import HttpError

from harness.net import pinned_session
from mock_providers.google.errors import UNAUTHENTICATED_MESSAGE
from mock_providers.google.render import event_gid
from mock_providers.server import HubServer
from mock_providers.world import FaultSpec, GoogleUser

AUTH = "https://www.googleapis.com/auth/"
CAL = AUTH + "calendar"
CAL_RO = AUTH + "calendar.readonly"
CONTACTS_RO = AUTH + "contacts.readonly"
DAY = 86400


# -- helpers --------------------------------------------------------------------------------------
def calendar_api(server: HubServer, creds: Credentials) -> Resource:
    http = google_auth_httplib2.AuthorizedHttp(creds,
                                               http=httplib2.Http(ca_certs=server.ca_bundle))
    return build("calendar", "v3", http=http, static_discovery=True,
                 client_options={"api_endpoint": f"{server.base_url}/google/calendar/v3/"})


def full_sync(api: Resource, calendar_id: str = "primary", **params: Any
              ) -> tuple[list[dict[str, Any]], str, list[dict[str, Any]]]:
    """All items, the nextSyncToken and the raw pages, following nextPageToken."""
    pages: list[dict[str, Any]] = []
    request = api.events().list(calendarId=calendar_id, **params)
    while request is not None:
        page = request.execute()
        pages.append(page)
        request = api.events().list_next(request, page)
    items = [item for page in pages for item in page["items"]]
    return items, pages[-1]["nextSyncToken"], pages


def error_reason(err: HttpError) -> str:
    details = err.error_details
    assert isinstance(details, list) and details, err
    return str(details[0]["reason"])


def when(days: int, hours: int = 10) -> dict[str, str]:
    moment = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"dateTime": (moment + timedelta(days=days, hours=hours)).isoformat()}


@pytest.fixture(scope="module")
def server(hub_server: HubServer) -> HubServer:
    hub_server.hub.reset()
    return hub_server


@pytest.fixture(scope="module")
def owner(server: HubServer) -> GoogleUser:
    return users_of(server)[0]


@pytest.fixture(scope="module")
def api(server: HubServer, owner: GoogleUser) -> Resource:
    return calendar_api(server, connect(server, owner, [CAL]))


@pytest.fixture
def no_faults(server: HubServer) -> Iterator[None]:
    yield
    server.hub.world.faults.clear()


@pytest.fixture
def clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    """A hub of its own for tests that move the clock or reset the world."""
    with HubServer(seed=11, tls=True, state_dir=tmp_path_factory.mktemp("gcal-hub")) as srv:
        yield srv


# -- list, paging, sync ----------------------------------------------------------------------------
def test_paging_then_an_incremental_sync_returns_exactly_the_changes(
        server: HubServer, owner: GoogleUser, api: Resource) -> None:
    calendar = server.hub.world.google_calendar(owner, "primary")
    assert calendar is not None
    items, sync_token, pages = full_sync(api, maxResults=3)
    assert len(pages) > 2
    for page in pages[:-1]:
        assert "nextPageToken" in page and "nextSyncToken" not in page
    assert "nextPageToken" not in pages[-1]
    assert sorted(i["id"] for i in items) == sorted(event_gid(e.id) for e in calendar.events)

    created = api.events().insert(calendarId="primary", body={
        "summary": "Planning", "start": when(3), "end": when(3, 11)}).execute()
    patched_id, deleted_id = items[0]["id"], items[1]["id"]
    patched = api.events().patch(calendarId="primary", eventId=patched_id,
                                 body={"summary": "Moved", "start": when(4),
                                       "end": when(4, 11)}).execute()
    assert patched["sequence"] == items[0]["sequence"] + 1
    assert patched["etag"] != items[0]["etag"]
    assert api.events().delete(calendarId="primary", eventId=deleted_id).execute() == ""

    changes, next_token, _ = full_sync(api, syncToken=sync_token)
    by_id = {c["id"]: c for c in changes}
    assert set(by_id) == {created["id"], patched_id, deleted_id}
    assert by_id[created["id"]]["summary"] == "Planning"
    assert by_id[patched_id]["summary"] == "Moved"
    assert by_id[deleted_id]["status"] == "cancelled"
    assert full_sync(api, syncToken=next_token)[0] == []


def test_filters_and_ordering(api: Resource) -> None:
    items, _, _ = full_sync(api, singleEvents=True, orderBy="startTime", maxResults=2)
    starts = [i["start"]["dateTime"] for i in items]
    assert starts == sorted(starts)
    with pytest.raises(HttpError) as caught:
        api.events().list(calendarId="primary", orderBy="startTime").execute()
    assert caught.value.status_code == 400
    time_min = datetime.now(UTC) + timedelta(days=5)
    later, _, _ = full_sync(api, timeMin=time_min.isoformat())
    assert all(datetime.fromisoformat(i["end"]["dateTime"]) > time_min for i in later)
    assert len(later) < len(items)


def test_sync_token_with_time_min_is_400(api: Resource) -> None:
    _, token, _ = full_sync(api)
    with pytest.raises(HttpError) as caught:
        api.events().list(calendarId="primary", syncToken=token,
                          timeMin=datetime.now(UTC).isoformat()).execute()
    assert caught.value.status_code == 400


def test_invalid_sync_token_is_410_full_sync_required(api: Resource) -> None:
    with pytest.raises(HttpError) as caught:
        api.events().list(calendarId="primary", syncToken="bm90LWEtdG9rZW4").execute()
    assert caught.value.status_code == 410
    assert error_reason(caught.value) == "fullSyncRequired"
    assert caught.value.reason == "Sync token is no longer valid, a full sync is required."


def test_sync_tokens_die_with_age_and_with_a_reset(clock_server: HubServer) -> None:
    owner = users_of(clock_server)[0]
    api = calendar_api(clock_server, connect(clock_server, owner, [CAL]))
    _, token, _ = full_sync(api)
    clock_server.hub.world.clock.advance(31 * DAY)
    # The access token expired too: google-auth-httplib2 refreshes on the 401, then the 410.
    with pytest.raises(HttpError) as caught:
        api.events().list(calendarId="primary", syncToken=token).execute()
    assert caught.value.status_code == 410 and error_reason(caught.value) == "fullSyncRequired"
    _, fresh, _ = full_sync(api)
    clock_server.hub.reset()
    owner = users_of(clock_server)[0]
    api = calendar_api(clock_server, connect(clock_server, owner, [CAL]))
    with pytest.raises(HttpError) as caught:
        api.events().list(calendarId="primary", syncToken=fresh).execute()
    assert caught.value.status_code == 410


# -- writes ----------------------------------------------------------------------------------------
def test_conference_data_is_kept_only_with_version_1(api: Resource) -> None:
    conference = {"createRequest": {"requestId": "req-1",
                                    "conferenceSolutionKey": {"type": "hangoutsMeet"}}}
    body = {"summary": "Sync", "start": when(2), "end": when(2, 11),
            "conferenceData": conference}
    ignored = api.events().insert(calendarId="primary", body=body).execute()
    assert "conferenceData" not in ignored
    kept = api.events().patch(calendarId="primary", eventId=ignored["id"],
                              conferenceDataVersion=1,
                              body={"conferenceData": conference}).execute()
    data = kept["conferenceData"]
    assert data["createRequest"]["status"]["statusCode"] == "success"
    video = next(e for e in data["entryPoints"] if e["entryPointType"] == "video")
    assert video["uri"].startswith("https://meet.google.com/")
    assert kept["hangoutLink"] == video["uri"]
    fetched = api.events().get(calendarId="primary", eventId=ignored["id"]).execute()
    assert fetched["conferenceData"] == data


def test_event_shape_update_and_if_match(api: Resource) -> None:
    event = api.events().insert(calendarId="primary", body={
        "summary": "Review", "visibility": "private",
        "start": {"date": "2031-03-04"}, "end": {"date": "2031-03-05"},
        "attendees": [{"email": "guest@example.com"}]}).execute()
    assert event["start"] == {"date": "2031-03-04"} and event["visibility"] == "private"
    assert event["etag"].startswith('"') and event["etag"][1:-1].isdigit()
    assert event["created"].endswith("Z") and len(event["created"]) == 24
    assert event["iCalUID"] == f"{event['id']}@google.com"
    assert event["attendees"][0]["responseStatus"] == "needsAction"
    request = api.events().patch(calendarId="primary", eventId=event["id"],
                                 body={"summary": "Stale"})
    request.headers["If-Match"] = '"1234567890123456"'
    with pytest.raises(HttpError) as caught:
        request.execute()
    assert caught.value.status_code == 412 and error_reason(caught.value) == "conditionNotMet"
    replaced = api.events().update(calendarId="primary", eventId=event["id"], body={
        "summary": "Replaced", "start": when(6), "end": when(6, 11)}).execute()
    assert "visibility" not in replaced and "attendees" not in replaced
    assert replaced["start"]["dateTime"].endswith("Z") and replaced["sequence"] == 1


def test_deleting_twice_is_410(api: Resource) -> None:
    event = api.events().insert(calendarId="primary", body={
        "summary": "Gone", "start": when(1), "end": when(1, 11)}).execute()
    api.events().delete(calendarId="primary", eventId=event["id"]).execute()
    with pytest.raises(HttpError) as caught:
        api.events().delete(calendarId="primary", eventId=event["id"]).execute()
    assert caught.value.status_code == 410 and error_reason(caught.value) == "deleted"
    cancelled = api.events().get(calendarId="primary", eventId=event["id"]).execute()
    assert cancelled["status"] == "cancelled" and "summary" not in cancelled
    with pytest.raises(HttpError) as missing:
        api.events().get(calendarId="primary", eventId="nosuchevent0").execute()
    assert missing.value.status_code == 404


# -- authentication and scopes ---------------------------------------------------------------------
def test_insufficient_scope_is_403(server: HubServer, owner: GoogleUser) -> None:
    readonly = calendar_api(server, connect(server, owner, [CAL_RO]))
    assert readonly.events().list(calendarId="primary").execute()["items"]
    with pytest.raises(HttpError) as caught:
        readonly.events().insert(calendarId="primary", body={
            "summary": "x", "start": when(1), "end": when(1, 11)}).execute()
    err = caught.value
    assert err.status_code == 403
    assert err.reason == "Request had insufficient authentication scopes."
    assert error_reason(err) == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    contacts_only = calendar_api(server, connect(server, owner, [CONTACTS_RO]))
    with pytest.raises(HttpError) as listing:
        contacts_only.events().list(calendarId="primary").execute()
    assert listing.value.status_code == 403


def test_missing_or_bad_token_is_401_with_googles_body(server: HubServer) -> None:
    url = f"{server.base_url}/google/calendar/v3/calendars/primary/events"
    reply = pinned_session(server.ca_bundle).get(url, headers={"Authorization": "Bearer nope"})
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == 'Bearer realm="https://accounts.google.com/"'
    assert reply.json() == {"error": {
        "code": 401, "message": UNAUTHENTICATED_MESSAGE,
        "errors": [{"message": UNAUTHENTICATED_MESSAGE, "domain": "global",
                    "reason": "authError", "location": "Authorization",
                    "locationType": "header"}],
        "status": "UNAUTHENTICATED"}}
    assert UNAUTHENTICATED_MESSAGE.startswith("Request had invalid authentication credentials.")


# -- faults and the client's own retry logic -------------------------------------------------------
@pytest.mark.usefixtures("no_faults")
def test_rate_limit_403_is_retried_only_with_num_retries(server: HubServer,
                                                         api: Resource) -> None:
    faults = server.hub.world.faults
    faults.add(FaultSpec(kind="throttle", provider="google-calendar", times=1))
    assert "items" in api.calendarList().list().execute(num_retries=2)
    faults.add(FaultSpec(kind="throttle", provider="google-calendar", times=1))
    with pytest.raises(HttpError) as caught:
        api.calendarList().list().execute()
    assert caught.value.status_code == 403 and error_reason(caught.value) == "rateLimitExceeded"
    faults.add(FaultSpec(kind="throttle", provider="google-calendar", status=429,
                         code="userRateLimitExceeded", times=1))
    assert "items" in api.calendarList().list().execute(num_retries=1)
    faults.add(FaultSpec(kind="status", provider="google-calendar", status=503, times=1))
    assert api.calendars().get(calendarId="primary").execute(num_retries=1)["id"]


# -- other users' calendars ------------------------------------------------------------------------
def test_private_events_are_hidden_from_readers(server: HubServer, owner: GoogleUser,
                                                api: Resource) -> None:
    private = api.events().insert(calendarId="primary", body={
        "summary": "Doctor", "description": "secret", "visibility": "private",
        "start": when(2, 8), "end": when(2, 9)}).execute()
    public = api.events().insert(calendarId="primary", body={
        "summary": "Standup", "start": when(2, 9), "end": when(2, 10)}).execute()
    colleague = users_of(server)[1]
    calendar = server.hub.world.google_calendar(owner, "primary")
    assert calendar is not None
    theirs = calendar_api(server, connect(server, colleague, [CAL]))
    with pytest.raises(HttpError) as hidden:
        theirs.events().list(calendarId=owner.email).execute()
    assert hidden.value.status_code == 404

    calendar.permissions[colleague.email] = "read"
    seen = {i["id"]: i for i in full_sync(theirs, owner.email)[0]}
    assert seen[private["id"]] == {"kind": "calendar#event", "etag": private["etag"],
                                   "id": private["id"], "status": "confirmed",
                                   "start": private["start"], "end": private["end"],
                                   "visibility": "private"}
    assert seen[public["id"]]["summary"] == "Standup"
    with pytest.raises(HttpError) as write:
        theirs.events().delete(calendarId=owner.email, eventId=public["id"]).execute()
    assert write.value.status_code == 403 and error_reason(write.value) == "requiredAccessLevel"

    calendar.permissions[colleague.email] = "freeBusyRead"
    busy = {i["id"]: i for i in full_sync(theirs, owner.email)[0]}
    assert "summary" not in busy[public["id"]] and set(busy[public["id"]]) == {
        "kind", "etag", "id", "status", "start", "end"}
    listed = theirs.calendarList().list().execute()["items"]
    assert {"id": owner.email, "accessRole": "freeBusyReader"}.items() <= next(
        e for e in listed if e["id"] == owner.email).items()
    del calendar.permissions[colleague.email]
