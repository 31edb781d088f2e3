"""Meetings across calendars of one Google Workspace domain, through google-api-python-client
unchanged: the organizer's event is in each attendee's primary calendar (needsAction), an
attendee's answer (a PATCH of their own responseStatus on their copy) reaches the organizer and
the other attendee, and the organizer's delete cancels it for everyone."""

from __future__ import annotations

from typing import Any

import pytest
from google_support import connect, users_of
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError
from test_google_calendar import CAL, calendar_api, error_reason, full_sync, when

from mock_providers.server import HubServer
from mock_providers.world import GoogleUser


@pytest.fixture(scope="module")
def server(hub_server: HubServer) -> HubServer:
    hub_server.hub.reset()
    return hub_server


@pytest.fixture(scope="module")
def people(server: HubServer) -> list[GoogleUser]:
    users = users_of(server)
    assert len(users) >= 3, "the seeded domain has an organizer and two attendees"
    return users[:3]


@pytest.fixture(scope="module")
def apis(server: HubServer, people: list[GoogleUser]) -> list[Resource]:
    return [calendar_api(server, connect(server, u, [CAL])) for u in people]


def _status(event: dict[str, Any], email: str) -> str:
    return next(a["responseStatus"] for a in event["attendees"] if a["email"] == email)


def _meeting(apis: list[Resource], people: list[GoogleUser], summary: str) -> dict[str, Any]:
    organizer = people[0]
    body = {"summary": summary, "start": when(3), "end": when(3, 11),
            "attendees": [{"email": organizer.email, "responseStatus": "accepted"},
                          {"email": people[1].email}, {"email": people[2].email}]}
    event: dict[str, Any] = apis[0].events().insert(calendarId="primary", body=body,
                                                   sendUpdates="all").execute()
    return event


def test_both_attendees_see_it_one_declines_the_organizer_sees_it(
        apis: list[Resource], people: list[GoogleUser]) -> None:
    created = _meeting(apis, people, "Quarterly review")
    gid = created["id"]
    for api, person in zip(apis[1:], people[1:], strict=True):
        copy = api.events().get(calendarId="primary", eventId=gid).execute()
        assert copy["summary"] == "Quarterly review"
        assert copy["iCalUID"] == created["iCalUID"]
        assert copy["organizer"]["email"] == people[0].email
        assert "self" not in copy["organizer"]
        mine = next(a for a in copy["attendees"] if a["email"] == person.email)
        assert mine == {"email": person.email, "self": True, "responseStatus": "needsAction"}
        listed, _, _ = full_sync(api)
        assert gid in {e["id"] for e in listed}

    # The attendee answers as Google's documentation says: PATCH their own attendee entry.
    decliner, decliner_api = people[1], apis[1]
    copy = decliner_api.events().get(calendarId="primary", eventId=gid).execute()
    attendees = [dict(a, responseStatus="declined") if a["email"] == decliner.email else a
                 for a in copy["attendees"]]
    answered = decliner_api.events().patch(calendarId="primary", eventId=gid,
                                           body={"attendees": attendees}).execute()
    assert _status(answered, decliner.email) == "declined"

    organizer_view = apis[0].events().get(calendarId="primary", eventId=gid).execute()
    assert _status(organizer_view, decliner.email) == "declined"
    assert _status(organizer_view, people[2].email) == "needsAction"
    assert _status(organizer_view, people[0].email) == "accepted"
    other_view = apis[2].events().get(calendarId="primary", eventId=gid).execute()
    assert _status(other_view, decliner.email) == "declined"
    # Google keeps a declined invitation in the decliner's calendar, with their answer.
    still = decliner_api.events().get(calendarId="primary", eventId=gid).execute()
    assert still["status"] == "confirmed" and _status(still, decliner.email) == "declined"

    # The other attendee accepts; the organizer's later change reaches both copies.
    accepted = [dict(a, responseStatus="accepted") if a["email"] == people[2].email else a
                for a in other_view["attendees"]]
    apis[2].events().patch(calendarId="primary", eventId=gid,
                           body={"attendees": accepted}).execute()
    moved = apis[0].events().patch(calendarId="primary", eventId=gid,
                                   body={"summary": "Quarterly review (moved)",
                                         "start": when(4), "end": when(4, 11)}).execute()
    assert moved["start"] != organizer_view["start"]
    for api in apis[1:]:
        copy = api.events().get(calendarId="primary", eventId=gid).execute()
        assert copy["summary"] == "Quarterly review (moved)"
        assert (copy["start"], copy["end"]) == (moved["start"], moved["end"])
        assert _status(copy, people[2].email) == "accepted"
        assert _status(copy, decliner.email) == "declined"


def test_the_organizers_delete_cancels_it_for_the_attendees(
        apis: list[Resource], people: list[GoogleUser]) -> None:
    created = _meeting(apis, people, "Offsite planning")
    gid = created["id"]
    tokens = []
    for api in apis[1:]:
        _, token, _ = full_sync(api)
        tokens.append(token)
    apis[0].events().delete(calendarId="primary", eventId=gid).execute()
    for api, token in zip(apis[1:], tokens, strict=True):
        gone = api.events().get(calendarId="primary", eventId=gid).execute()
        assert gone["status"] == "cancelled"
        changes = api.events().list(calendarId="primary", syncToken=token).execute()
        assert {"id": gid, "status": "cancelled"}.items() <= next(
            e for e in changes["items"] if e["id"] == gid).items()
        live, _, _ = full_sync(api)
        assert gid not in {e["id"] for e in live}


def test_an_attendee_cannot_change_the_organizers_guest_permissions(
        apis: list[Resource], people: list[GoogleUser]) -> None:
    gid = _meeting(apis, people, "Permissions")["id"]
    with pytest.raises(HttpError) as caught:
        apis[1].events().patch(calendarId="primary", eventId=gid,
                               body={"guestsCanModify": True}).execute()
    assert caught.value.resp.status == 403
    assert error_reason(caught.value) == "forbiddenForNonOrganizer"
    organizer_view = apis[0].events().get(calendarId="primary", eventId=gid).execute()
    assert "guestsCanModify" not in organizer_view


def test_an_attendee_outside_the_domain_gets_nothing(server: HubServer, apis: list[Resource],
                                                     people: list[GoogleUser]) -> None:
    body = {"summary": "External", "start": when(5), "end": when(5, 11),
            "attendees": [{"email": "someone@example.org"}]}
    event = apis[0].events().insert(calendarId="primary", body=body).execute()
    assert _status(event, "someone@example.org") == "needsAction"
    for api in apis[1:]:
        with pytest.raises(HttpError) as caught:
            api.events().get(calendarId="primary", eventId=event["id"]).execute()
        assert caught.value.resp.status == 404


def test_an_attendee_the_organizer_removes_sees_it_cancelled(
        apis: list[Resource], people: list[GoogleUser]) -> None:
    created = _meeting(apis, people, "Shrinking meeting")
    gid = created["id"]
    _, token, _ = full_sync(apis[2])
    kept = [a for a in created["attendees"] if a["email"] != people[2].email]
    apis[0].events().patch(calendarId="primary", eventId=gid,
                           body={"attendees": kept}).execute()
    gone = apis[2].events().get(calendarId="primary", eventId=gid).execute()
    assert gone["status"] == "cancelled"
    changes = apis[2].events().list(calendarId="primary", syncToken=token).execute()
    assert [e["status"] for e in changes["items"] if e["id"] == gid] == ["cancelled"]
    shown = apis[2].events().list(calendarId="primary", showDeleted=True).execute()
    assert [e["status"] for e in shown["items"] if e["id"] == gid] == ["cancelled"]
    still = apis[1].events().get(calendarId="primary", eventId=gid).execute()
    assert still["status"] == "confirmed"
    assert {a["email"] for a in still["attendees"]} == {people[0].email, people[1].email}
