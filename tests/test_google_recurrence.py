"""Recurring events on the Google mock through google-api-python-client, unchanged: a weekly
series in Europe/Berlin, `singleEvents` expansion (timeMin/timeMax, orderBy=startTime), the
instance ids and their `recurringEventId`/`originalStartTime`, `/instances`, an exception made
by PATCH of an instance and a cancellation by DELETE, and what an incremental sync then says.
The series lives in the world's neutral model: the master's lines come back from it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import google_auth_httplib2
import httplib2
import pytest
from google_support import access_token, connect, request, users_of
from googleapiclient.discovery import Resource, build
from googleapiclient.errors import HttpError

from mock_providers.server import HubServer

CAL = "https://www.googleapis.com/auth/calendar"
# Monday 2032-03-15 09:00 Berlin (CET, UTC+1); DST starts 2032-03-28, so later instances are
# 07:00 UTC: the series keeps its wall-clock time.
FIRST = datetime(2032, 3, 15, 8, 0, tzinfo=UTC)
RULE = "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6"


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def stamp(moment: datetime) -> str:
    return f"{moment:%Y%m%dT%H%M%SZ}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    with HubServer(seed=11, tls=True, state_dir=tmp_path_factory.mktemp("rec-hub")) as srv:
        yield srv


@pytest.fixture(scope="module")
def api(server: HubServer) -> Resource:
    creds = connect(server, users_of(server)[0], [CAL])
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(ca_certs=server.ca_bundle))
    return build(
        "calendar",
        "v3",
        http=http,
        static_discovery=True,
        client_options={"api_endpoint": f"{server.base_url}/google/calendar/v3/"},
    )


def originals() -> list[datetime]:
    """The six Monday 09:00 Berlin starts, in UTC."""
    out = []
    for week in range(6):
        day = FIRST + timedelta(weeks=week)
        out.append(day - timedelta(hours=1) if day >= datetime(2032, 3, 28, tzinfo=UTC) else day)
    return out


def insert_series(api: Resource, summary: str) -> dict[str, Any]:
    body = {
        "summary": summary,
        "description": "weekly",
        "location": "Room 1",
        "start": {"dateTime": "2032-03-15T09:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2032-03-15T09:30:00", "timeZone": "Europe/Berlin"},
        "recurrence": [RULE],
    }
    result: dict[str, Any] = api.events().insert(calendarId="primary", body=body).execute()
    return result


def all_items(api: Resource, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    request = api.events().list(calendarId="primary", **params)
    while request is not None:
        page = request.execute()
        out += page["items"]
        last = page
        request = api.events().list_next(request, page)
    all_items.last_page = last  # type: ignore[attr-defined]
    return out


def window() -> dict[str, str]:
    return {"timeMin": z(FIRST - timedelta(days=1)), "timeMax": z(FIRST + timedelta(weeks=7))}


def test_master_echoes_its_rule_and_is_listed_once_without_single_events(api: Resource) -> None:
    master = insert_series(api, "Echo")
    assert master["recurrence"] == [RULE]
    got = api.events().get(calendarId="primary", eventId=master["id"]).execute()
    assert got["recurrence"] == [RULE]
    assert "recurringEventId" not in got
    listed = [i for i in all_items(api, **window()) if i["id"].startswith(master["id"])]
    assert [i["id"] for i in listed] == [master["id"]]


def test_single_events_expands_in_wall_clock_time(api: Resource) -> None:
    master = insert_series(api, "Expand")
    items = [
        i
        for i in all_items(api, singleEvents=True, orderBy="startTime", **window())
        if i.get("recurringEventId") == master["id"]
    ]
    assert [i["id"] for i in items] == [f"{master['id']}_{stamp(o)}" for o in originals()]
    for item, original in zip(items, originals(), strict=True):
        assert item["start"] == {
            "dateTime": original.astimezone(
                __import__("zoneinfo").ZoneInfo("Europe/Berlin")
            ).isoformat(),
            "timeZone": "Europe/Berlin",
        }
        assert item["start"]["dateTime"].startswith(f"{original:%Y-%m-%d}T09:00:00")
        assert item["originalStartTime"] == item["start"]
        assert item["summary"] == "Expand"
        assert "recurrence" not in item
        assert item["iCalUID"] == master["iCalUID"]
    # timeMin/timeMax cut the expansion: only instances overlapping the window.
    part = [
        i
        for i in all_items(
            api, singleEvents=True, timeMin=z(originals()[2]), timeMax=z(originals()[4])
        )
        if i.get("recurringEventId") == master["id"]
    ]
    assert [i["id"] for i in part] == [f"{master['id']}_{stamp(o)}" for o in originals()[2:4]]


def test_instances_endpoint_and_paging(api: Resource) -> None:
    master = insert_series(api, "Instances")
    first = (
        api.events().instances(calendarId="primary", eventId=master["id"], maxResults=4).execute()
    )
    assert len(first["items"]) == 4 and "nextPageToken" in first
    rest = (
        api.events()
        .instances(calendarId="primary", eventId=master["id"], pageToken=first["nextPageToken"])
        .execute()
    )
    ids = [i["id"] for i in first["items"] + rest["items"]]
    assert ids == [f"{master['id']}_{stamp(o)}" for o in originals()]
    one = (
        api.events()
        .instances(calendarId="primary", eventId=master["id"], originalStart=z(originals()[3]))
        .execute()
    )
    assert [i["id"] for i in one["items"]] == [ids[3]]
    with pytest.raises(HttpError) as caught:
        api.events().instances(calendarId="primary", eventId="nosuchevent0").execute()
    assert caught.value.status_code == 404


def test_exception_and_cancellation_through_instance_ids(api: Resource) -> None:
    master = insert_series(api, "Exceptions")
    ids = [f"{master['id']}_{stamp(o)}" for o in originals()]
    start = api.events().list(calendarId="primary", **window()).execute()
    sync = start.get("nextSyncToken")
    while sync is None:  # page to the end for the sync token
        start = (
            api.events()
            .list(calendarId="primary", pageToken=start["nextPageToken"], **window())
            .execute()
        )
        sync = start.get("nextSyncToken")
    moved_start = originals()[1] + timedelta(hours=3)
    patched = (
        api.events()
        .patch(
            calendarId="primary",
            eventId=ids[1],
            body={
                "summary": "Moved",
                "start": {"dateTime": z(moved_start)},
                "end": {"dateTime": z(moved_start + timedelta(minutes=30))},
            },
        )
        .execute()
    )
    assert patched["id"] == ids[1] and patched["summary"] == "Moved"
    assert patched["recurringEventId"] == master["id"]
    assert patched["originalStartTime"]["dateTime"].startswith("2032-03-22T09:00:00")
    api.events().delete(calendarId="primary", eventId=ids[2]).execute()
    # the cancelled instance: gone from the expansion, 410 on a second delete, a stub on get
    items = {
        i["id"]: i
        for i in api.events()
        .instances(calendarId="primary", eventId=master["id"])
        .execute()["items"]
    }
    assert ids[2] not in items and items[ids[1]]["summary"] == "Moved"
    assert items[ids[0]]["summary"] == "Exceptions"
    stub = api.events().get(calendarId="primary", eventId=ids[2]).execute()
    assert stub["status"] == "cancelled" and stub["recurringEventId"] == master["id"]
    with pytest.raises(HttpError) as caught:
        api.events().delete(calendarId="primary", eventId=ids[2]).execute()
    assert caught.value.status_code == 410
    # the master now carries the cancellation as an EXDATE, in the series' zone
    got = api.events().get(calendarId="primary", eventId=master["id"]).execute()
    assert got["recurrence"] == [RULE, "EXDATE;TZID=Europe/Berlin:20320329T090000"]
    # without singleEvents: the master and its modified instance; showDeleted adds the stub
    listed = {i["id"] for i in all_items(api, **window()) if i["id"].startswith(master["id"])}
    assert listed == {master["id"], ids[1]}
    listed = {
        i["id"]
        for i in all_items(api, showDeleted=True, **window())
        if i["id"].startswith(master["id"])
    }
    assert listed == {master["id"], ids[1], ids[2]}
    # the incremental sync reports the master, the exception and the cancelled instance
    changed = {i["id"]: i for i in all_items(api, syncToken=sync)}
    assert {master["id"], ids[1], ids[2]} <= set(changed)
    assert changed[ids[2]]["status"] == "cancelled"
    assert changed[ids[2]]["originalStartTime"]["dateTime"].startswith("2032-03-29T09:00:00")
    singles = {i["id"]: i for i in all_items(api, syncToken=sync, singleEvents=True)}
    assert master["id"] not in singles
    assert {ids[0], ids[1], ids[3], ids[4], ids[5]} <= set(singles)
    assert singles[ids[2]]["status"] == "cancelled"


def test_an_instance_keeps_series_members_and_refuses_changing_them(api: Resource) -> None:
    master = insert_series(api, "Series members")
    instance_id = f"{master['id']}_{stamp(originals()[0])}"
    with pytest.raises(HttpError) as caught:
        api.events().patch(
            calendarId="primary",
            eventId=instance_id,
            body={"attendees": [{"email": "x@example.org"}]},
        ).execute()
    assert caught.value.status_code == 400
    # a full update with the instance as read changes nothing and is accepted
    current = api.events().get(calendarId="primary", eventId=instance_id).execute()
    again = api.events().update(calendarId="primary", eventId=instance_id, body=current).execute()
    assert again["summary"] == "Series members"
    with pytest.raises(HttpError) as caught:
        api.events().get(calendarId="primary", eventId=f"{master['id']}_20320316T080000Z").execute()
    assert caught.value.status_code == 404


def test_status_cancelled_on_an_instance_cancels_it(api: Resource) -> None:
    master = insert_series(api, "Cancel by status")
    instance_id = f"{master['id']}_{stamp(originals()[5])}"
    out = (
        api.events()
        .patch(calendarId="primary", eventId=instance_id, body={"status": "cancelled"})
        .execute()
    )
    assert out["status"] == "cancelled"
    left = api.events().instances(calendarId="primary", eventId=master["id"]).execute()
    assert instance_id not in [i["id"] for i in left["items"]]
    assert len(left["items"]) == 5


def test_changing_the_rule_through_the_master_re_expands(api: Resource) -> None:
    master = insert_series(api, "Rule change")
    api.events().patch(
        calendarId="primary",
        eventId=master["id"],
        body={"recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=2"]},
    ).execute()
    left = api.events().instances(calendarId="primary", eventId=master["id"]).execute()
    assert len(left["items"]) == 2
    api.events().patch(
        calendarId="primary", eventId=master["id"], body={"recurrence": None}
    ).execute()
    single = api.events().instances(calendarId="primary", eventId=master["id"]).execute()
    assert [i["id"] for i in single["items"]] == [master["id"]]


def test_hostile_instance_requests_get_google_errors(api: Resource, server: HubServer) -> None:
    """Bad instance ids, options and bodies on the recurrence routes: 4xx in Google's shape,
    never a 5xx; the series still lists afterwards."""
    master = insert_series(api, "Hostile")
    token = access_token(server, users_of(server)[0], [CAL])
    base = "/calendar/v3/calendars/primary/events"
    gid = master["id"]
    first = f"{gid}_{stamp(originals()[0])}"
    cases: list[tuple[str, str, Any]] = [
        ("GET", f"{base}/{gid}_20321399T000000Z", None),
        ("GET", f"{base}/{gid}_20320315T080001Z", None),
        ("GET", f"{base}/{gid}_99991231T235959Z", None),
        ("GET", f"{base}/{gid}_2032", None),
        ("DELETE", f"{base}/{gid}_20320316T080000Z", None),
        ("PATCH", f"{base}/{first}", {"recurrence": ["RRULE:FREQ=DAILY"]}),
        ("PATCH", f"{base}/{first}", {"start": {"date": "2032-03-15"}}),
        ("PATCH", f"{base}/{first}", {"start": "soon"}),
        ("PATCH", f"{base}/{first}", {"end": {"dateTime": "2000-01-01T00:00:00Z"}}),
        ("PATCH", f"{base}/{first}", {"status": "bogus"}),
        ("GET", f"{base}/{gid}/instances?maxResults=0", None),
        ("GET", f"{base}/{gid}/instances?timeMin=yesterday", None),
        ("GET", f"{base}/{gid}/instances?originalStart=x", None),
        ("GET", f"{base}/{gid}/instances?pageToken=garbage", None),
        (
            "GET",
            f"{base}/{gid}/instances?timeMin=2032-04-01T00:00:00Z&timeMax=2032-03-01T00:00:00Z",
            None,
        ),
        ("GET", f"{base}/nosuchevent/instances", None),
        (
            "POST",
            base,
            {
                "summary": "x",
                "start": {"dateTime": "2032-03-15T09:00:00Z"},
                "end": {"dateTime": "2032-03-15T10:00:00Z"},
                "recurrence": [
                    "RRULE:FREQ=WEEKLY;UNTIL=99991231T235959Z",
                    "EXDATE;VALUE=PERIOD:20320322T090000Z/PT1H",
                ],
            },
        ),
        ("GET", f"{base}?singleEvents=true&timeMin=2032-03-01T00:00:00Z&maxResults=5", None),
    ]
    for method, path, body in cases:
        status, reply = request(server, method, path, token, body)
        assert status < 500, (method, path, status, reply)
        if status >= 400:
            assert set(reply["error"]) >= {"code", "message", "errors"}, (path, reply)
    listed = api.events().instances(calendarId="primary", eventId=gid).execute()
    assert len(listed["items"]) == 6
