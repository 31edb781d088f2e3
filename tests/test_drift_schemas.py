"""What the mocks emit against what the services publish: every Graph body against the v1.0
CSDL, every Google body against the discovery documents the Google clients ship with. And the
checks themselves catch a misspelled property in a deliberately broken renderer."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from harness.drift.schemas import Violation, check_google, check_graph, graph_csdl
from mock_providers.google import calendar as google_calendar
from mock_providers.google import people as google_people
from mock_providers.google import render as google_render
from mock_providers.hub import Hub
from mock_providers.microsoft.claims import GRAPH_RESOURCE, delegated_access_claims
from mock_providers.microsoft.graph import render as graph_render
from mock_providers.server import HubServer
from mock_providers.world import MsUser
from tests.google_support import connect, users_of

ALL = ["Calendars.ReadWrite", "Contacts.ReadWrite", "User.Read"]
WINDOW = {"startDateTime": (datetime.now(UTC) - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ"),
          "endDateTime": (datetime.now(UTC) + timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _tls(server: HubServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=server.ca_bundle)


@pytest.fixture
def hub(hub_server: HubServer) -> Iterator[Hub]:
    hub_server.hub.reset()
    yield hub_server.hub


def _graph(hub_server: HubServer, hub: Hub) -> tuple[httpx.Client, MsUser]:
    tenant = hub.world.tenant("contoso")
    assert tenant is not None
    user = sorted(tenant.users.values(), key=lambda u: u.upn)[0]
    client_id = next(a.client_id for a in tenant.apps.values() if a.client_secret)
    token = hub.signer.sign(delegated_access_claims(
        tenant_id=tenant.id, client_id=client_id, resource=GRAPH_RESOURCE, oid=user.id,
        upn=user.upn, name=user.display_name, scopes=ALL, now=hub.world.clock.timestamp(),
        lifetime=3600))
    client = httpx.Client(base_url=hub.graph_url, verify=_tls(hub_server),
                          timeout=10, headers={"Authorization": f"Bearer {token}"})
    return client, user


def _graph_bodies(client: httpx.Client) -> list[tuple[str, dict[str, Any]]]:
    """(CSDL type, body) for every response shape a Graph client meets."""
    out: list[tuple[str, dict[str, Any]]] = [("user", client.get("/me").json())]
    created = client.post("/me/events", json={
        "subject": "Weekly", "body": {"contentType": "html", "content": "<p>x</p>"},
        "start": {"dateTime": "2027-03-01T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2027-03-01T09:30:00", "timeZone": "UTC"},
        "location": {"displayName": "Room 1"}, "isOnlineMeeting": True,
        "attendees": [{"emailAddress": {"address": "a@contoso.test"}, "type": "required"}],
        "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
                       "range": {"type": "numbered", "startDate": "2027-03-01",
                                 "numberOfOccurrences": 3}}})
    assert created.status_code == 201, created.text
    out.append(("event", created.json()))
    for path, kind, params in (("/me/events", "event", {}), ("/me/calendars", "calendar", {}),
                               ("/me/contacts", "contact", {}),
                               ("/me/contactFolders", "contactFolder", {}),
                               ("/me/calendarView", "event", WINDOW),
                               ("/me/calendarView", "event", {
                                   "startDateTime": "2027-03-01T00:00:00Z",
                                   "endDateTime": "2027-03-31T00:00:00Z"}),
                               ("/me/calendarView/delta", "event", WINDOW),
                               ("/me/contacts/delta", "contact", {})):
        reply = client.get(path, params=params)
        assert reply.status_code == 200, (path, reply.text)
        items = reply.json()["value"]
        assert items, path
        out += [(kind, item) for item in items]
    missing = client.get("/me/events/AAMkNOPE")
    assert missing.status_code == 404
    out.append(("publicErrorResponse", missing.json()))
    return out


def test_every_graph_body_fits_the_published_csdl(hub_server: HubServer, hub: Hub) -> None:
    client, _ = _graph(hub_server, hub)
    with client:
        bodies = _graph_bodies(client)
    violations = [v for kind, body in bodies for v in check_graph(kind, body)]
    assert violations == []
    kinds = {kind for kind, _ in bodies}
    assert kinds == {"user", "event", "calendar", "contact", "contactFolder",
                     "publicErrorResponse"} and len(bodies) > 20


def test_a_misspelled_graph_property_is_named(hub_server: HubServer, hub: Hub,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    real = graph_render.event_json

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        data = real(*args, **kwargs)
        data["organiser"] = data.pop("organizer")  # the deliberate break
        data["isAllDay"] = "false"  # and a wrong type
        return data

    monkeypatch.setattr(graph_render, "event_json", broken)
    hub.reset()  # no cached JSON from before the break
    client, user = _graph(hub_server, hub)
    with client:
        event = client.get("/me/events", params={"$top": "1"}).json()["value"][0]
    assert {str(v) for v in check_graph("event", event)} == {
        "event.organiser: event has no property 'organiser'",
        "event.isAllDay: 'false' is not a valid Edm.Boolean"}


def test_the_checker_judges_nested_types_enums_and_nulls() -> None:
    csdl = graph_csdl()
    assert csdl.property("event", "id") is not None  # inherited from outlookItem/entity
    body = {"@odata.etag": 'W/"1"', "id": "x", "showAs": "busyish",
            "attendees": [{"emailAddress": {"adress": "a@b"}}], "cancelledOccurrences": None,
            "start": {"dateTime": 5, "timeZone": "UTC"}}
    assert {str(v) for v in check_graph("event", body)} == {
        "event.showAs: 'busyish' is not a member of freeBusyStatus",
        "event.attendees[0].emailAddress.adress: emailAddress has no property 'adress'",
        "event.cancelledOccurrences: null where the CSDL says Nullable=false",
        "event.start.dateTime: 5 is not a valid Edm.String"}


def _google_bodies(hub_server: HubServer) -> list[tuple[str, str, dict[str, Any]]]:
    user = users_of(hub_server)[0]
    creds = connect(hub_server, user, [
        "https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/contacts"])
    base = hub_server.hub.google_base
    headers = {"Authorization": f"Bearer {creds.token}"}
    out: list[tuple[str, str, dict[str, Any]]] = []
    with httpx.Client(verify=_tls(hub_server), timeout=10, headers=headers) as c:
        made = c.post(f"{base}/calendar/v3/calendars/primary/events", json={
            "summary": "Weekly", "start": {"dateTime": "2027-03-01T09:00:00Z"},
            "end": {"dateTime": "2027-03-01T09:30:00Z"},
            "attendees": [{"email": "a@example.test"}],
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"]})
        assert made.status_code == 200, made.text
        out.append(("calendar.v3", "Event", made.json()))
        for path, schema, kind in (
                ("/calendar/v3/calendars/primary/events", "Events", "Event"),
                ("/calendar/v3/users/me/calendarList", "CalendarList", "CalendarListEntry"),
                ("/calendar/v3/calendars/primary", "Calendar", None),
                ("/v1/people/me/connections?personFields=names,emailAddresses,phoneNumbers",
                 "ListConnectionsResponse", "Person")):
            reply = c.get(base + path)
            assert reply.status_code == 200, (path, reply.text)
            body = reply.json()
            api = "people.v1" if path.startswith("/v1/") else "calendar.v3"
            out.append((api, schema, body))
            items = body.get("items") or body.get("connections") or []
            assert kind is None or items, path
            out += [(api, kind, item) for item in items] if kind else []
    return out


def test_every_google_body_fits_the_discovery_documents(hub_server: HubServer, hub: Hub) -> None:
    bodies = _google_bodies(hub_server)
    violations: list[Violation] = [v for api, schema, body in bodies
                                   for v in check_google(api, schema, body)]
    assert violations == []
    assert len(bodies) > 10


def test_a_misspelled_google_property_is_named(hub_server: HubServer, hub: Hub,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Broken copies of the Google event and person renderers, patched where Calendar and
    People call them, and bodies fetched through the hub: the checks name each break."""
    real_event, real_person = google_render.event_json, google_render.person_json

    def broken_event(*args: Any, **kwargs: Any) -> dict[str, Any]:
        data = real_event(*args, **kwargs)
        data["sumary"] = data.pop("summary", "")  # the deliberate break
        data["guestsCanModify"] = "false"  # and a wrong type
        return data

    def broken_person(*args: Any, **kwargs: Any) -> dict[str, Any]:
        data = real_person(*args, **kwargs)
        data["emailAdresses"] = data.pop("emailAddresses", [])
        return data

    monkeypatch.setattr(google_calendar, "event_json", broken_event)
    monkeypatch.setattr(google_people, "person_json", broken_person)
    hub.reset()  # no rendered JSON cached from before the break
    user = users_of(hub_server)[0]
    creds = connect(hub_server, user, ["https://www.googleapis.com/auth/calendar",
                                       "https://www.googleapis.com/auth/contacts"])
    base = hub_server.hub.google_base
    with httpx.Client(verify=_tls(hub_server), timeout=10,
                      headers={"Authorization": f"Bearer {creds.token}"}) as c:
        events = c.get(f"{base}/calendar/v3/calendars/primary/events",
                       params={"maxResults": "1"})
        people = c.get(f"{base}/v1/people/me/connections",
                       params={"personFields": "names,emailAddresses", "pageSize": "1"})
    assert events.status_code == 200 and people.status_code == 200, (events.text, people.text)
    found = {str(v) for v in check_google("calendar.v3", "Events", events.json())}
    found |= {str(v) for v in check_google("people.v1", "ListConnectionsResponse",
                                           people.json())}
    assert found == {
        "Events.items[0].sumary: no property 'sumary' in the discovery schema",
        "Events.items[0].guestsCanModify: 'false' is not a boolean",
        "ListConnectionsResponse.connections[0].emailAdresses: no property 'emailAdresses' in "
        "the discovery schema"}


def test_the_google_checker_judges_formats_and_nested_types() -> None:
    event = {"kind": "calendar#event", "summary": "x", "sumary": "typo",
             "start": {"dateTime": "not a time"}, "attendees": [{"email": "a@b", "optional": 1}]}
    assert {str(v) for v in check_google("calendar.v3", "Event", event)} == {
        "Event.sumary: no property 'sumary' in the discovery schema",
        "Event.start.dateTime: 'not a time' is not an RFC 3339 date-time",
        "Event.attendees[0].optional: 1 is not a boolean"}
