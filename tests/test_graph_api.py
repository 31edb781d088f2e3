"""Microsoft Graph mock over HTTPS (the session's HubServer), with httpx as a client would."""

from __future__ import annotations

import re
import ssl
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mock_providers.hub import Hub
from mock_providers.microsoft.claims import (
    EXCHANGE_RESOURCE,
    GRAPH_RESOURCE,
    app_access_claims,
    delegated_access_claims,
)
from mock_providers.microsoft.graph import reset_limits, set_limits
from mock_providers.server import HubServer
from mock_providers.world import Event, FaultSpec, MsTenant, MsUser

# Graph refuses calendarView windows over 1825 days; this one holds every event the tests make.
_TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
WINDOW = {"startDateTime": f"{_TODAY - timedelta(days=900):%Y-%m-%dT%H:%M:%SZ}",
          "endDateTime": f"{_TODAY + timedelta(days=900):%Y-%m-%dT%H:%M:%SZ}"}
GRAPH_CT = ("application/json;odata.metadata=minimal;odata.streaming=true;"
            "IEEE754Compatible=false;charset=utf-8")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DT_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$")
ALL_CAL = ["Calendars.ReadWrite", "Contacts.ReadWrite", "User.Read"]


# -- fixtures and helpers -------------------------------------------------------------------------
@pytest.fixture
def hub(hub_server: HubServer) -> Iterator[Hub]:
    hub = hub_server.hub
    hub.reset()
    reset_limits(hub)
    yield hub
    hub.world.faults.clear()
    reset_limits(hub)


def verify(server: HubServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=server.ca_bundle)


@pytest.fixture
def client(hub_server: HubServer, hub: Hub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub.graph_url, verify=verify(hub_server), timeout=10) as c:
        yield c


def tenant(hub: Hub, key: str = "contoso") -> MsTenant:
    found = hub.world.tenant(key)
    assert found is not None
    return found


def users(hub: Hub, key: str = "contoso") -> list[MsUser]:
    return sorted(tenant(hub, key).users.values(), key=lambda u: u.upn)


def app_id(hub: Hub, key: str = "contoso") -> str:
    return next(a.client_id for a in tenant(hub, key).apps.values() if a.client_secret)


def user_token(hub: Hub, user: MsUser, scopes: list[str], *, client_id: str | None = None,
               resource: str = GRAPH_RESOURCE, lifetime: int = 3600) -> str:
    t = hub.world.ms_tenants[user.tenant_id]
    claims = delegated_access_claims(
        tenant_id=t.id, client_id=client_id or app_id(hub, t.key), resource=resource,
        oid=user.id, upn=user.upn, name=user.display_name, scopes=scopes,
        now=hub.world.clock.timestamp(), lifetime=lifetime)
    return hub.signer.sign(claims)


def app_token(hub: Hub, roles: list[str], key: str = "contoso",
              client_id: str | None = None) -> str:
    t = tenant(hub, key)
    return hub.signer.sign(app_access_claims(
        tenant_id=t.id, client_id=client_id or app_id(hub, key), resource=GRAPH_RESOURCE,
        roles=roles, now=hub.world.clock.timestamp()))


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err["innerError"]) >= {"date", "request-id", "client-request-id"}
    assert err["innerError"]["request-id"] == response.headers["request-id"]
    return err


def new_event(subject: str = "Design review", day: int = 3, hour: int = 9,
              **extra: Any) -> dict[str, Any]:
    start = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0) + \
        timedelta(days=day)
    return {"subject": subject,
            "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                    "timeZone": "UTC"},
            **extra}


def follow_delta(client: httpx.Client, url: str, headers: dict[str, str],
                 params: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], str, int]:
    """Every item of a delta round, the deltaLink, and the number of pages."""
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        r = client.get(url, headers=headers, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        pages += 1
        params = None
        assert ("@odata.nextLink" in page) != ("@odata.deltaLink" in page)
        items += page["value"]
        if "@odata.deltaLink" in page:
            assert "$deltatoken=" in page["@odata.deltaLink"]
            return items, page["@odata.deltaLink"], pages
        assert "$skiptoken=" in page["@odata.nextLink"]
        url = page["@odata.nextLink"]


def graph_audit(hub: Hub) -> list[Any]:
    return hub.world.audit.query(provider="graph")


# -- users, headers, routing ----------------------------------------------------------------------
def test_me_returns_the_signed_in_user_with_graph_headers(hub: Hub, client: httpx.Client) -> None:
    me = users(hub)[0]
    r = client.get("/me", headers=bearer(user_token(hub, me, ["User.Read"]),
                                         **{"client-request-id": "abc-123"}))
    assert r.status_code == 200
    body = r.json()
    assert body["@odata.context"].endswith("/$metadata#users/$entity")
    assert {k: body[k] for k in ("id", "userPrincipalName", "mail", "displayName", "givenName",
                                 "surname")} == {
        "id": me.id, "userPrincipalName": me.upn, "mail": me.upn, "displayName": me.display_name,
        "givenName": me.given_name, "surname": me.surname}
    assert UUID_RE.match(r.headers["request-id"])
    assert r.headers["client-request-id"] == "abc-123"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-type"] == GRAPH_CT
    assert r.headers["date"]


def test_client_request_id_defaults_to_the_request_id(hub: Hub, client: httpx.Client) -> None:
    r = client.get("/me", headers=bearer(user_token(hub, users(hub)[0], ["User.Read"])))
    assert r.headers["client-request-id"] == r.headers["request-id"]
    other = client.get("/me", headers=bearer(user_token(hub, users(hub)[0], ["User.Read"])))
    assert other.headers["request-id"] != r.headers["request-id"]


def test_users_by_upn_needs_user_read_all_for_an_app(hub: Hub, client: httpx.Client) -> None:
    target = users(hub)[1]
    ok = client.get(f"/users/{target.upn}", headers=bearer(app_token(hub, ["User.Read.All"])))
    assert ok.status_code == 200 and ok.json()["id"] == target.id
    denied = client.get(f"/users/{target.id}",
                        headers=bearer(app_token(hub, ["Calendars.Read"])))
    assert denied.status_code == 403
    assert error(denied)["code"] == "ErrorAccessDenied"


def test_unknown_segment_is_a_graph_bad_request(hub: Hub, client: httpx.Client) -> None:
    token = user_token(hub, users(hub)[0], ALL_CAL)
    r = client.get("/me/notARealThing", headers=bearer(token))
    assert r.status_code == 400
    err = error(r)
    assert err == {**err, "code": "BadRequest",
                   "message": "Resource not found for the segment 'notARealThing'."}
    assert error(client.get("/foo", headers=bearer(token)))["message"] == \
        "Resource not found for the segment 'foo'."


def test_unknown_query_option_and_bad_select(hub: Hub, client: httpx.Client) -> None:
    token = user_token(hub, users(hub)[0], ALL_CAL)
    r = client.get("/me/events", params={"$bogus": "1"}, headers=bearer(token))
    assert r.status_code == 400
    assert "$bogus" in error(r)["message"]
    r = client.get("/me/events", params={"$select": "subject,nope"}, headers=bearer(token))
    assert r.status_code == 400
    assert error(r)["message"] == \
        "Could not find a property named 'nope' on type 'microsoft.graph.event'."


# -- authentication -------------------------------------------------------------------------------
def test_missing_malformed_expired_and_foreign_audience_tokens_get_401(
        hub: Hub, client: httpx.Client) -> None:
    me = users(hub)[0]
    cases = {
        "": "Access token is empty.",
        "not-a-jwt": "IDX14100: JWT is not well formed",
        user_token(hub, me, ALL_CAL, lifetime=-10): "Lifetime validation failed, the token is "
                                                     "expired.",
        user_token(hub, me, ALL_CAL, resource=EXCHANGE_RESOURCE): "Invalid audience",
        "aaa.bbb.ccc": "Access token validation failure.",
    }
    for token, message in cases.items():
        r = client.get("/me/events", headers=bearer(token) if token else {})
        assert r.status_code == 401, token
        err = error(r)
        assert err["code"] == "InvalidAuthenticationToken"
        assert message in err["message"]
        assert r.headers["www-authenticate"] == (
            'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
            'oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"')


def test_me_with_an_application_token_is_a_bad_request(hub: Hub, client: httpx.Client) -> None:
    r = client.get("/me/events", headers=bearer(app_token(hub, ["Calendars.Read"])))
    assert r.status_code == 400
    assert error(r)["message"] == "/me request is only valid with delegated authentication flow."


def test_a_user_of_another_tenant_is_not_found(hub: Hub, client: httpx.Client) -> None:
    foreign = users(hub, "fabrikam")[0]
    r = client.get(f"/users/{foreign.upn}/events",
                   headers=bearer(app_token(hub, ["Calendars.ReadWrite"])))
    assert r.status_code == 404
    assert error(r)["code"] == "ErrorInvalidUser"
    r = client.get("/users/nobody@nowhere.example/events",
                   headers=bearer(app_token(hub, ["Calendars.ReadWrite"])))
    assert error(r)["message"] == "The requested user 'nobody@nowhere.example' is invalid."


# -- permissions ----------------------------------------------------------------------------------
def test_read_only_token_cannot_write_and_the_audit_shows_no_write(
        hub: Hub, client: httpx.Client) -> None:
    me = users(hub)[0]
    token = user_token(hub, me, ["Calendars.Read", "Contacts.Read"])
    before = len(me.mailbox.default_calendar.events)
    r = client.post("/me/events", json=new_event(), headers=bearer(token))
    assert r.status_code == 403
    assert error(r) | {} and error(r)["code"] == "ErrorAccessDenied"
    assert error(r)["message"] == "Access is denied. Check credentials and try again."
    event_id = next(iter(me.mailbox.default_calendar.events)).id
    assert client.patch(f"/me/events/{event_id}", json={"subject": "x"},
                        headers=bearer(token)).status_code == 403
    assert client.delete(f"/me/events/{event_id}", headers=bearer(token)).status_code == 403
    assert client.post("/me/contacts", json={"givenName": "A"},
                       headers=bearer(token)).status_code == 403
    assert client.get("/me/events", headers=bearer(token)).status_code == 200
    assert len(me.mailbox.default_calendar.events) == before
    entries = graph_audit(hub)
    writes = [e for e in entries if e.operation and e.operation.endswith(
        (".create", ".update", ".delete"))]
    assert [e.outcome for e in writes] == ["ErrorAccessDenied"] * 4
    assert not [e for e in writes if e.outcome == "ok"]
    last = entries[-1]
    assert (last.operation, last.outcome, last.user, last.scopes) == (
        "events.list", "ok", me.upn, ["Calendars.Read", "Contacts.Read"])
    assert last.detail["kind"] == "delegated" and last.detail["caller"] == me.upn


def test_read_basic_hides_the_body_and_cannot_use_delta(hub: Hub, client: httpx.Client) -> None:
    me = users(hub)[0]
    token = user_token(hub, me, ["Calendars.ReadBasic"])
    listed = client.get("/me/events", headers=bearer(token)).json()["value"]
    assert listed and all("body" not in e and "bodyPreview" not in e for e in listed)
    assert all("subject" in e for e in listed)
    full = client.get("/me/events", headers=bearer(user_token(hub, me, ["Calendars.Read"])))
    assert all("body" in e for e in full.json()["value"])
    r = client.get("/me/calendarView/delta", params=WINDOW, headers=bearer(token))
    assert r.status_code == 403


def _private_and_public(user: MsUser) -> tuple[Event, Event]:
    events = list(user.mailbox.default_calendar.events)
    private = next(e for e in events if e.sensitivity == "private")
    public = next(e for e in events if e.sensitivity == "normal")
    return private, public


def test_delegate_without_private_access_sees_private_events_redacted(
        hub: Hub, client: httpx.Client) -> None:
    boss, assistant = users(hub)[0], users(hub)[1]
    private, public = _private_and_public(boss)
    private.is_online_meeting, private.join_url = True, "https://teams.example.invalid/secret"
    private.location = "Board room"
    private.change_key = "changed-for-test"
    calendar = boss.mailbox.default_calendar
    token = user_token(hub, assistant, ["Calendars.Read.Shared"])
    url = f"/users/{boss.upn}/events/{private.id}"

    assert client.get(url, headers=bearer(token)).status_code == 403  # no role yet
    calendar.permissions[assistant.upn.lower()] = "delegateWithoutPrivateEventAccess"
    seen = client.get(url, headers=bearer(token)).json()
    assert seen["subject"] == "Private"
    assert seen["body"] == {"contentType": private.body_type, "content": ""}
    assert seen["bodyPreview"] == "" and seen["attendees"] == [] and seen["locations"] == []
    assert seen["location"]["displayName"] == ""
    assert seen["onlineMeeting"] is None and seen["onlineMeetingUrl"] is None
    assert seen["isOnlineMeeting"] is False
    assert seen["sensitivity"] == "private" and seen["showAs"] == private.show_as
    owner_view = client.get(f"/me/events/{private.id}",
                            headers=bearer(user_token(hub, boss, ALL_CAL))).json()
    assert seen["start"] == owner_view["start"] and seen["end"] == owner_view["end"]
    assert owner_view["subject"] == private.subject
    assert owner_view["onlineMeeting"] == {"joinUrl": "https://teams.example.invalid/secret"}
    listed = client.get(f"/users/{boss.upn}/calendarView", params={**WINDOW, "$top": "100"},
                        headers=bearer(token)).json()["value"]
    by_id = {e["id"]: e for e in listed}
    assert by_id[private.id]["subject"] == "Private"
    assert by_id[public.id]["subject"] == public.subject
    assert by_id[public.id]["body"]["content"] == public.body
    # the redacted subject is what $filter sees too
    found = client.get(f"/users/{boss.upn}/events",
                       params={"$filter": f"subject eq '{private.subject}'"},
                       headers=bearer(token)).json()["value"]
    assert found == []
    # no writes to a private event for such a delegate, even with write scope
    writer = user_token(hub, assistant, ["Calendars.ReadWrite.Shared"])
    assert client.patch(url, json={"subject": "x"}, headers=bearer(writer)).status_code == 403

    calendar.permissions[assistant.upn.lower()] = "delegateWithPrivateEventAccess"
    full = client.get(url, headers=bearer(token)).json()
    assert full["subject"] == private.subject and full["attendees"]
    assert client.get(url, headers=bearer(user_token(hub, assistant, ["Calendars.Read"]))
                      ).status_code == 403  # own-mailbox scope is not enough for a shared one
    application = client.get(url, headers=bearer(app_token(hub, ["Calendars.Read"]))).json()
    assert application["subject"] == private.subject


def test_delegate_write_needs_a_write_role_and_the_shared_scope(hub: Hub,
                                                                client: httpx.Client) -> None:
    boss, assistant = users(hub)[0], users(hub)[1]
    calendar = boss.mailbox.default_calendar
    writer = user_token(hub, assistant, ["Calendars.ReadWrite.Shared"])
    url = f"/users/{boss.upn}/events"
    calendar.permissions[assistant.upn.lower()] = "read"
    assert client.get(url, headers=bearer(writer)).status_code == 200
    assert client.post(url, json=new_event(), headers=bearer(writer)).status_code == 403
    calendar.permissions[assistant.upn.lower()] = "write"
    made = client.post(url, json=new_event("Booked by the assistant"), headers=bearer(writer))
    assert made.status_code == 201
    assert made.json()["organizer"]["emailAddress"]["address"] == boss.upn
    assert client.post(url, json=new_event(), headers=bearer(
        user_token(hub, assistant, ["Calendars.ReadWrite"]))).status_code == 403
    calendar.permissions[assistant.upn.lower()] = "freeBusyRead"
    assert client.get(url, headers=bearer(writer)).status_code == 403
    entry = graph_audit(hub)[-1]
    assert (entry.user, entry.detail["caller"], entry.outcome) == (
        boss.upn, assistant.upn, "ErrorAccessDenied")


# -- events ---------------------------------------------------------------------------------------
def test_event_json_has_the_graph_shape(hub: Hub, client: httpx.Client) -> None:
    me = users(hub)[0]
    token = user_token(hub, me, ALL_CAL)
    listed = client.get("/me/events", headers=bearer(token)).json()
    assert listed["@odata.context"].endswith(f"/$metadata#users('{me.id}')/events")
    event = listed["value"][0]
    r = client.get(f"/me/events/{event['id']}", headers=bearer(token))
    single = r.json()
    assert single.pop("@odata.context").endswith("/events/$entity")
    assert single == event
    expected = {"@odata.etag", "id", "createdDateTime", "lastModifiedDateTime", "changeKey",
                "categories", "transactionId", "originalStartTimeZone", "iCalUId",
                "reminderMinutesBeforeStart", "isReminderOn", "hasAttachments", "subject",
                "bodyPreview", "importance", "sensitivity", "isAllDay", "isCancelled",
                "isOrganizer", "responseRequested", "seriesMasterId", "showAs", "type",
                "webLink", "onlineMeetingUrl", "isOnlineMeeting", "onlineMeetingProvider",
                "allowNewTimeProposals", "isDraft", "responseStatus", "body", "start", "end",
                "location", "locations", "recurrence", "attendees", "organizer",
                "onlineMeeting"}
    assert expected <= set(single)
    assert single["@odata.etag"] == f'W/"{single["changeKey"]}"'
    assert DT_RE.match(single["start"]["dateTime"]) and single["start"]["timeZone"] == "UTC"
    assert single["organizer"]["emailAddress"]["address"] == me.upn
    assert single["isOrganizer"] is True
    attendee = single["attendees"][0]
    assert set(attendee) == {"type", "status", "emailAddress"}
    assert set(attendee["status"]) == {"response", "time"}


def test_event_crud_with_if_match(hub: Hub, client: httpx.Client) -> None:
    me = users(hub)[0]
    token = user_token(hub, me, ALL_CAL)
    created = client.post("/me/events", json=new_event(
        body={"contentType": "html", "content": "<p>Agenda</p>"},
        attendees=[{"emailAddress": {"address": "ann@example.com", "name": "Ann"},
                    "type": "optional"}],
        location={"displayName": "Room 1"}, sensitivity="private", categories=["Blue"]),
        headers=bearer(token))
    assert created.status_code == 201, created.text
    ev = created.json()
    assert ev["bodyPreview"] == "Agenda" and ev["body"]["contentType"] == "html"
    assert ev["attendees"][0]["type"] == "optional"
    assert ev["location"]["displayName"] == "Room 1" and ev["sensitivity"] == "private"
    stored = me.mailbox.default_calendar.events.get(ev["id"])
    assert stored is not None and stored.subject == "Design review"

    stale = ev["@odata.etag"]
    patched = client.patch(f"/me/events/{ev['id']}", json={"subject": "Moved review"},
                           headers=bearer(token, **{"If-Match": stale}))
    assert patched.status_code == 200 and patched.json()["subject"] == "Moved review"
    assert patched.json()["changeKey"] != ev["changeKey"]
    assert patched.json()["start"] == ev["start"]  # partial update
    conflict = client.patch(f"/me/events/{ev['id']}", json={"subject": "again"},
                            headers=bearer(token, **{"If-Match": stale}))
    assert conflict.status_code == 412
    assert error(conflict)["code"] == "ErrorIrresolvableConflict"

    deleted = client.delete(f"/me/events/{ev['id']}", headers=bearer(token))
    assert deleted.status_code == 204 and deleted.content == b""
    gone = client.get(f"/me/events/{ev['id']}", headers=bearer(token))
    assert gone.status_code == 404 and error(gone)["code"] == "ErrorItemNotFound"
    ops = [(e.operation, e.status, e.outcome) for e in graph_audit(hub)]
    assert ops[-5:] == [("events.create", 201, "ok"), ("events.update", 200, "ok"),
                        ("events.update", 412, "ErrorIrresolvableConflict"),
                        ("events.delete", 204, "ok"), ("events.get", 404, "ErrorItemNotFound")]
    assert graph_audit(hub)[-2].detail["event"] == ev["id"]


def test_create_validation_errors(hub: Hub, client: httpx.Client) -> None:
    token = user_token(hub, users(hub)[0], ALL_CAL)
    unknown = client.post("/me/events", json=new_event(colour="red"), headers=bearer(token))
    assert unknown.status_code == 400
    err = error(unknown)
    assert err["code"] == "RequestBodyRead"
    assert err["message"].startswith(
        "The property 'colour' does not exist on type 'microsoft.graph.event'.")
    wrong_type = client.post("/me/events", json=new_event(subject=12), headers=bearer(token))
    assert wrong_type.status_code == 400 and "Edm.String" in error(wrong_type)["message"]
    # Graph's OData reader takes JSON booleans only: "false" as a string is refused, not read.
    quoted = client.post("/me/events", json=new_event(isOnlineMeeting="false"),
                         headers=bearer(token))
    assert quoted.status_code == 400 and "Edm.Boolean" in error(quoted)["message"]
    not_object = client.post("/me/events", json={**new_event(), "start": "tomorrow"},
                             headers=bearer(token))
    assert not_object.status_code == 400 and "StartObject" in error(not_object)["message"]
    backwards = new_event()
    backwards["start"], backwards["end"] = backwards["end"], backwards["start"]
    r = client.post("/me/events", json=backwards, headers=bearer(token))
    assert r.status_code == 400
    assert error(r)["code"] == "ErrorCalendarEndDateIsEarlierThanStartDate"
    bad_zone = new_event()
    bad_zone["start"]["timeZone"] = "Mars/Olympus"
    assert error(client.post("/me/events", json=bad_zone, headers=bearer(token)))["code"] == \
        "TimeZoneNotSupportedException"
    assert error(client.post("/me/events", content=b"", headers=bearer(token)))["message"] == \
        "Empty Payload. JSON content expected."
    assert not [e for e in graph_audit(hub) if e.operation == "events.create"
                and e.outcome == "ok"]


def test_transaction_id_makes_create_idempotent(hub: Hub, client: httpx.Client) -> None:
    me = users(hub)[0]
    token = user_token(hub, me, ALL_CAL)
    body = new_event(transactionId="7E163156-7762-4BEB-A1C6-729EA81755A7")
    first = client.post("/me/events", json=body, headers=bearer(token))
    second = client.post("/me/events", json=body, headers=bearer(token))
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    same = [e for e in me.mailbox.default_calendar.events
            if e.transaction_id == "7E163156-7762-4BEB-A1C6-729EA81755A7"]
    assert len(same) == 1
    other = client.post("/me/events", json=new_event(transactionId="another"),
                        headers=bearer(token))
    assert other.json()["id"] != first.json()["id"]


def test_teams_online_meeting_gets_a_join_url(hub: Hub, client: httpx.Client) -> None:
    token = user_token(hub, users(hub)[0], ALL_CAL)
    ev = client.post("/me/events", json=new_event(
        isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness"),
        headers=bearer(token)).json()
    assert ev["isOnlineMeeting"] is True and ev["onlineMeetingProvider"] == "teamsForBusiness"
    assert ev["onlineMeeting"]["joinUrl"].startswith("https://teams.")
    plain = client.post("/me/events", json=new_event(), headers=bearer(token)).json()
    assert plain["onlineMeeting"] is None and plain["isOnlineMeeting"] is False


def test_prefer_outlook_timezone(hub: Hub, client: httpx.Client) -> None:
    token = user_token(hub, users(hub)[0], ALL_CAL)
    body = new_event()
    body["start"] = {"dateTime": "2026-07-01T09:00:00", "timeZone": "Pacific Standard Time"}
    body["end"] = {"dateTime": "2026-07-01T10:00:00", "timeZone": "Pacific Standard Time"}
    ev = client.post("/me/events", json=body, headers=bearer(token)).json()
    assert ev["start"] == {"dateTime": "2026-07-01T16:00:00.0000000", "timeZone": "UTC"}
    assert ev["originalStartTimeZone"] == "Pacific Standard Time"
    r = client.get(f"/me/events/{ev['id']}",
                   headers=bearer(token, Prefer='outlook.timezone="Europe/Paris"'))
    assert r.json()["start"] == {"dateTime": "2026-07-01T18:00:00.0000000",
                                 "timeZone": "Europe/Paris"}
    assert r.headers["preference-applied"] == 'outlook.timezone="Europe/Paris"'


def test_calendar_view_window_paging_and_options(hub: Hub, client: httpx.Client) -> None:
    me = users(hub)[0]
    token = user_token(hub, me, ALL_CAL)
    missing = client.get("/me/calendarView", params={"startDateTime": WINDOW["startDateTime"]},
                         headers=bearer(token))
    assert missing.status_code == 400
    assert error(missing) | {} and error(missing)["code"] == "ErrorInvalidParameter"
    assert error(missing)["message"] == ("This request requires a time window specified by the "
                                         "query string parameters StartDateTime and EndDateTime.")
    events = sorted(me.mailbox.default_calendar.events, key=lambda e: e.start)
    first, last = events[0], events[-1]
    window = {"startDateTime": first.start.isoformat(), "endDateTime": last.start.isoformat()}
    r = client.get("/me/calendarView", params={**window, "$top": "100"}, headers=bearer(token))
    ids = [e["id"] for e in r.json()["value"]]
    expected = [e.id for e in events if e.start < last.start and e.end > first.start]
    assert sorted(ids) == sorted(expected) and last.id not in ids

    page = client.get("/me/calendarView", params={**WINDOW, "$top": "3"}, headers=bearer(token))
    assert len(page.json()["value"]) == 3 and "$skip=3" in page.json()["@odata.nextLink"]
    second = client.get(page.json()["@odata.nextLink"], headers=bearer(token)).json()
    assert not {e["id"] for e in second["value"]} & {e["id"] for e in page.json()["value"]}

    sized = client.get("/me/calendarView", params=WINDOW,
                       headers=bearer(token, Prefer="odata.maxpagesize=2"))
    assert len(sized.json()["value"]) == 2
    assert sized.headers["preference-applied"] == "odata.maxpagesize=2"

    selected = client.get("/me/calendarView", params={**WINDOW, "$select": "subject,start"},
                          headers=bearer(token)).json()["value"][0]
    assert set(selected) == {"@odata.etag", "id", "subject", "start"}
    counted = client.get("/me/calendarView", params={**WINDOW, "$count": "true", "$top": "1"},
                         headers=bearer(token)).json()
    assert counted["@odata.count"] == len(events)


def test_calendar_view_expands_a_weekly_series_into_occurrences(hub: Hub,
                                                                client: httpx.Client) -> None:
    token = user_token(hub, users(hub)[0], ALL_CAL)
    series = {**new_event("Weekly sync"),
              "start": {"dateTime": "2027-03-01T09:00:00", "timeZone": "UTC"},
              "end": {"dateTime": "2027-03-01T09:30:00", "timeZone": "UTC"},
              "recurrence": {"pattern": {"type": "weekly", "interval": 1,
                                         "daysOfWeek": ["monday", "thursday"]},
                             "range": {"type": "numbered", "startDate": "2027-03-01",
                                       "numberOfOccurrences": 5}}}
    master = client.post("/me/events", json=series, headers=bearer(token)).json()
    assert master["type"] == "seriesMaster"
    # Graph answers the whole patternedRecurrence, defaults included.
    assert master["recurrence"]["pattern"] | series["recurrence"]["pattern"] == \
        master["recurrence"]["pattern"]
    assert master["recurrence"]["range"] == {
        **series["recurrence"]["range"], "endDate": "0001-01-01", "recurrenceTimeZone": "UTC"}
    view = client.get("/me/calendarView", headers=bearer(token), params={
        "startDateTime": "2027-03-02T00:00:00Z", "endDateTime": "2027-04-01T00:00:00Z",
        "$top": "50"}).json()["value"]
    instances = [e for e in view if e.get("seriesMasterId") == master["id"]]
    assert [e["start"]["dateTime"][:16] for e in instances] == [
        "2027-03-04T09:00", "2027-03-08T09:00", "2027-03-11T09:00", "2027-03-15T09:00"]
    assert {e["type"] for e in instances} == {"occurrence"}
    assert len({e["id"] for e in instances}) == 4 and master["id"] not in {e["id"] for e in view}


def test_filter_and_orderby(hub: Hub, client: httpx.Client) -> None:
    me = users(hub)[0]
    token = user_token(hub, me, ALL_CAL)
    events = list(me.mailbox.default_calendar.events)
    target = events[2]
    r = client.get("/me/events", params={"$filter": f"subject eq '{target.subject}'"},
                   headers=bearer(token))
    assert [e["id"] for e in r.json()["value"]] == [e.id for e in events
                                                    if e.subject == target.subject]
    pivot = sorted(e.start for e in events)[3]
    since = pivot.strftime("%Y-%m-%dT%H:%M:%S")
    r = client.get("/me/events", params={
        "$filter": f"start/dateTime ge '{since}' and sensitivity eq 'normal'", "$top": "50"},
        headers=bearer(token))
    assert {e["id"] for e in r.json()["value"]} == {
        e.id for e in events if e.start >= pivot and e.sensitivity == "normal"}
    r = client.get("/me/events", params={"$orderby": "subject desc", "$top": "50"},
                   headers=bearer(token))
    subjects = [e["subject"] for e in r.json()["value"]]
    assert subjects == sorted(subjects, key=str.lower, reverse=True)
    bad = client.get("/me/events", params={"$filter": "hasAttachments eq true"},
                     headers=bearer(token))
    assert bad.status_code == 400 and error(bad)["code"] == "ErrorInvalidUrlQueryFilter"
    syntax = client.get("/me/events", params={"$filter": "subject eq"}, headers=bearer(token))
    assert syntax.status_code == 400 and "Invalid filter clause" in error(syntax)["message"]


def test_calendars_routes(hub: Hub, client: httpx.Client) -> None:
    me = users(hub)[0]
    token = user_token(hub, me, ALL_CAL)
    calendar = me.mailbox.default_calendar
    listed = client.get("/me/calendars", headers=bearer(token)).json()["value"]
    # The default calendar first, then the seeded second one ("Team").
    second = next(c for c in me.mailbox.calendars.values() if not c.is_default)
    assert [c["id"] for c in listed] == [calendar.id, second.id]
    assert listed[0]["isDefaultCalendar"] is True and listed[0]["canEdit"] is True
    assert listed[1]["isDefaultCalendar"] is False and listed[1]["name"] == "Team"
    team = client.get(f"/me/calendars/{second.id}/events", headers=bearer(token)).json()
    assert {e["id"] for e in team["value"]} == {e.id for e in second.events}
    assert client.get("/me/calendar", headers=bearer(token)).json()["id"] == calendar.id
    assert client.get(f"/me/calendars/{calendar.id}", headers=bearer(token)).json()["name"] == \
        calendar.name
    in_cal = client.get(f"/me/calendars/{calendar.id}/events", params={"$top": "50"},
                        headers=bearer(token)).json()["value"]
    assert len(in_cal) == len(calendar.events)
    missing = client.get("/me/calendars/nope/events", headers=bearer(token))
    assert missing.status_code == 404 and error(missing)["code"] == "ErrorItemNotFound"
    created = client.post(f"/me/calendars/{calendar.id}/events", json=new_event(),
                          headers=bearer(token))
    assert created.status_code == 201


# -- delta ----------------------------------------------------------------------------------------
def test_calendar_view_delta_round_then_only_the_changes(hub: Hub, client: httpx.Client) -> None:
    me = users(hub)[0]
    token = user_token(hub, me, ALL_CAL)
    headers = bearer(token, Prefer="odata.maxpagesize=2")
    start = datetime.now(UTC) - timedelta(days=30)
    window = {"startDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "endDateTime": (start + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    items, delta_link, pages = follow_delta(client, "/me/calendarView/delta", headers, window)
    calendar = me.mailbox.default_calendar
    assert sorted(i["id"] for i in items) == sorted(e.id for e in calendar.events)
    assert pages >= len(calendar.events) // 2

    events = sorted(calendar.events, key=lambda e: e.id)
    updated, deleted, moved = events[0], events[1], events[2]
    created = client.post("/me/events", json=new_event("Fresh"), headers=bearer(token)).json()
    assert client.patch(f"/me/events/{updated.id}", json={"subject": "Renamed"},
                        headers=bearer(token)).status_code == 200
    assert client.delete(f"/me/events/{deleted.id}", headers=bearer(token)).status_code == 204
    far = {"start": {"dateTime": "2099-01-01T09:00:00", "timeZone": "UTC"},
           "end": {"dateTime": "2099-01-01T10:00:00", "timeZone": "UTC"}}
    assert client.patch(f"/me/events/{moved.id}", json=far,
                        headers=bearer(token)).status_code == 200
    # an event outside the window changing is not reported at all
    outside = client.post("/me/events", json={**new_event("Elsewhere"), **far},
                          headers=bearer(token))
    assert outside.status_code == 201

    changes, next_delta, _ = follow_delta(client, delta_link, headers)
    by_id = {c["id"]: c for c in changes}
    assert set(by_id) == {created["id"], updated.id, deleted.id, moved.id}
    assert by_id[created["id"]]["subject"] == "Fresh"
    assert by_id[updated.id]["subject"] == "Renamed"
    for gone in (deleted.id, moved.id):
        assert by_id[gone] == {"@odata.type": "#microsoft.graph.event", "id": gone,
                               "@removed": {"reason": "deleted"}}
    quiet, _, _ = follow_delta(client, next_delta, headers)
    assert quiet == []
    assert any(e.operation == "calendarView.delta" for e in graph_audit(hub))


def test_delta_refuses_options_garbage_and_stale_tokens(hub: Hub, client: httpx.Client) -> None:
    me, other = users(hub)[0], users(hub)[1]
    token = user_token(hub, me, ALL_CAL)
    r = client.get("/me/calendarView/delta", params={**WINDOW, "$select": "subject"},
                   headers=bearer(token))
    assert r.status_code == 400 and error(r)["code"] == "ErrorInvalidUrlQuery"
    assert "$select" in error(r)["message"]
    r = client.get("/me/calendarView/delta", headers=bearer(token))
    assert r.status_code == 400 and error(r)["code"] == "ErrorInvalidParameter"
    garbage = client.get("/me/calendarView/delta", params={"$deltatoken": "garbage"},
                         headers=bearer(token))
    assert garbage.status_code == 400 and error(garbage)["code"] == "ErrorInvalidSyncStateData"

    _, delta_link, _ = follow_delta(client, "/me/calendarView/delta", bearer(token), WINDOW)
    token_param = delta_link.split("$deltatoken=", 1)[1]
    foreign = client.get("/me/calendarView/delta", params={"$deltatoken": token_param},
                         headers=bearer(user_token(hub, other, ALL_CAL)))
    assert foreign.status_code == 400 and error(foreign)["code"] == "ErrorInvalidSyncStateData"
    tampered = delta_link[:-3] + ("AAA" if not delta_link.endswith("AAA") else "BBB")
    assert client.get(tampered, headers=bearer(token)).status_code == 400

    hub.reset()
    fresh = user_token(hub, users(hub)[0], ALL_CAL)
    gone = client.get(delta_link, headers=bearer(fresh))
    assert gone.status_code == 410
    err = error(gone)
    assert err["code"] == "SyncStateNotFound" and err["innerError"]["code"] == "resyncRequired"


def test_delta_token_predating_the_calendar_is_gone(hub: Hub, client: httpx.Client) -> None:
    me = users(hub)[0]
    token = user_token(hub, me, ALL_CAL)
    _, delta_link, _ = follow_delta(client, "/me/calendarView/delta", bearer(token), WINDOW)
    events = me.mailbox.default_calendar.events
    events.created_seq = hub.world.next_seq()  # the calendar was rebuilt behind the client
    r = client.get(delta_link, headers=bearer(token))
    assert r.status_code == 410 and error(r)["code"] == "SyncStateNotFound"


# -- contacts -------------------------------------------------------------------------------------
def test_contacts_crud_folders_and_delta(hub: Hub, client: httpx.Client) -> None:
    me = users(hub)[0]
    token = user_token(hub, me, ALL_CAL)
    folder = me.mailbox.default_contacts
    listed = client.get("/me/contacts", params={"$top": "100"}, headers=bearer(token)).json()
    assert {c["id"] for c in listed["value"]} == {c.id for c in folder.contacts}
    sample = listed["value"][0]
    assert {"@odata.etag", "id", "displayName", "givenName", "surname", "emailAddresses",
            "businessPhones", "mobilePhone", "companyName", "jobTitle", "changeKey",
            "createdDateTime", "lastModifiedDateTime", "parentFolderId"} <= set(sample)
    assert sample["parentFolderId"] == folder.id

    folders = client.get("/me/contactFolders", headers=bearer(token)).json()["value"]
    assert [f["id"] for f in folders] == [folder.id]
    in_folder = client.get(f"/me/contactFolders/{folder.id}/contacts", params={"$top": "100"},
                           headers=bearer(token)).json()["value"]
    assert {c["id"] for c in in_folder} == {c.id for c in folder.contacts}

    items, delta_link, _ = follow_delta(client, f"/me/contactFolders/{folder.id}/contacts/delta",
                                        bearer(token, Prefer="odata.maxpagesize=4"))
    assert sorted(i["id"] for i in items) == sorted(c.id for c in folder.contacts)

    created = client.post("/me/contacts", json={
        "givenName": "Pavel", "surname": "Bansky",
        "emailAddresses": [{"address": "pavelb@example.com", "name": "Pavel Bansky"}],
        "businessPhones": ["+1 732 555 0102"], "department": "Sales"}, headers=bearer(token))
    assert created.status_code == 201, created.text
    contact = created.json()
    assert contact["displayName"] == "Pavel Bansky" and contact["department"] == "Sales"
    assert contact["emailAddresses"] == [{"name": "Pavel Bansky",
                                          "address": "pavelb@example.com"}]
    patched = client.patch(f"/me/contacts/{contact['id']}", json={"jobTitle": "Lead"},
                           headers=bearer(token))
    assert patched.json()["jobTitle"] == "Lead"
    assert patched.json()["changeKey"] != contact["changeKey"]
    victim = next(iter(folder.contacts)).id
    assert client.delete(f"/me/contacts/{victim}", headers=bearer(token)).status_code == 204
    unknown = client.post("/me/contacts", json={"nickname": "x"}, headers=bearer(token))
    assert error(unknown)["message"].startswith(
        "The property 'nickname' does not exist on type 'microsoft.graph.contact'.")

    changes, _, _ = follow_delta(client, delta_link, bearer(token))
    by_id = {c["id"]: c for c in changes}
    assert set(by_id) == {contact["id"], victim}
    assert by_id[contact["id"]]["jobTitle"] == "Lead"
    assert by_id[victim]["@removed"] == {"reason": "deleted"}
    me_delta, _, _ = follow_delta(client, "/me/contacts/delta", bearer(token))
    assert contact["id"] in {c["id"] for c in me_delta}
    ops = {e.operation for e in graph_audit(hub)}
    assert {"contacts.list", "contacts.create", "contacts.update", "contacts.delete",
            "contacts.delta", "contactFolders.list"} <= ops


def test_contacts_need_contacts_permissions(hub: Hub, client: httpx.Client) -> None:
    me, other = users(hub)[0], users(hub)[1]
    cal_only = user_token(hub, me, ["Calendars.ReadWrite"])
    assert client.get("/me/contacts", headers=bearer(cal_only)).status_code == 403
    shared = user_token(hub, me, ["Contacts.Read.Shared"])
    assert client.get(f"/users/{other.upn}/contacts", headers=bearer(shared)).status_code == 403
    app = app_token(hub, ["Contacts.Read"])
    assert client.get(f"/users/{other.upn}/contacts", headers=bearer(app)).status_code == 200
    assert client.post(f"/users/{other.upn}/contacts", json={"givenName": "A"},
                       headers=bearer(app)).status_code == 403


# -- throttling and faults ------------------------------------------------------------------------
def test_request_limit_per_app_per_mailbox_answers_429(hub: Hub, client: httpx.Client) -> None:
    first, second = users(hub)[0], users(hub)[1]
    set_limits(hub, concurrency=4, per_10_min=3)
    token = app_token(hub, ["Calendars.Read"])
    statuses = [client.get(f"/users/{first.upn}/events", headers=bearer(token)).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    r = client.get(f"/users/{first.upn}/events", headers=bearer(token))
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 600
    err = error(r)
    assert err["code"] == "TooManyRequests" and err["innerError"]["code"] == \
        "ApplicationThrottled"
    # another mailbox, and the same mailbox through another app, have their own budgets
    assert client.get(f"/users/{second.upn}/events",
                      headers=bearer(token)).status_code == 200
    other_app = next(a.client_id for a in tenant(hub).apps.values() if not a.client_secret)
    assert client.get(f"/users/{first.upn}/events", headers=bearer(
        app_token(hub, ["Calendars.Read"], client_id=other_app))).status_code == 200
    set_limits(hub, concurrency=4, per_10_min=None)  # switched off: the mailbox answers again
    assert client.get(f"/users/{first.upn}/events", headers=bearer(token)).status_code == 200


def test_concurrency_limit_of_four_per_app_per_mailbox(hub_server: HubServer, hub: Hub,
                                                      client: httpx.Client) -> None:
    target = users(hub)[0]
    token = app_token(hub, ["Calendars.Read"])
    # Requests refused by the request limit leave the concurrency accounting as it was.
    set_limits(hub, concurrency=4, per_10_min=1)
    assert [client.get(f"/users/{target.upn}/events", headers=bearer(token)).status_code
            for _ in range(3)] == [200, 429, 429]
    set_limits(hub, concurrency=4, per_10_min=None)
    hub.world.faults.add(FaultSpec(kind="latency", provider="graph", delay_ms=1200, times=None,
                                   path=r"/events$"))
    statuses: list[int] = []
    barrier = threading.Barrier(5)

    def call() -> None:
        with httpx.Client(verify=verify(hub_server), timeout=10) as c:
            barrier.wait()
            r = c.get(f"{hub.graph_url}/users/{target.upn}/events", headers=bearer(token))
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.headers["retry-after"] == "1"
                assert "MailboxConcurrency" in r.json()["error"]["message"]

    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 200, 200, 200, 429]


def test_fault_plan_status_throttle_and_drop(hub: Hub, client: httpx.Client) -> None:
    me = users(hub)[0]
    token = user_token(hub, me, ALL_CAL)
    hub.world.faults.add(FaultSpec(kind="status", provider="graph", path=r"/me/events$"))
    r = client.get("/me/events", headers=bearer(token))
    assert r.status_code == 503 and error(r)["code"] == "ServiceUnavailable"
    assert client.get("/me/events", headers=bearer(token)).status_code == 200  # times=1

    hub.world.faults.add(FaultSpec(kind="throttle", provider="graph", user=me.upn))
    r = client.get("/me/events", headers=bearer(token))
    assert r.status_code == 429 and r.headers["retry-after"] == "10"
    assert error(r)["code"] == "TooManyRequests"
    hub.world.faults.add(FaultSpec(kind="throttle", provider="graph", retry_after=3))
    assert client.get("/me/calendars", headers=bearer(token)).headers["retry-after"] == "3"

    hub.world.faults.add(FaultSpec(kind="drop", provider="graph", method="GET"))
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/me/events", headers=bearer(token))
    assert client.get("/me/events", headers=bearer(token)).status_code == 200
    outcomes = [e.outcome for e in graph_audit(hub)]
    assert "ConnectionDropped" in outcomes and "ServiceUnavailable" in outcomes


def test_every_request_is_audited_with_caller_and_mailbox(hub: Hub,
                                                         client: httpx.Client) -> None:
    me = users(hub)[0]
    app = app_token(hub, ["Calendars.ReadWrite"])
    event_id = next(iter(me.mailbox.default_calendar.events)).id
    marker = uuid.uuid4().hex
    client.get(f"/users/{me.upn}/events/{event_id}",
               headers=bearer(app, **{"client-request-id": marker}))
    entry = graph_audit(hub)[-1]
    assert entry.operation == "events.get" and entry.status == 200 and entry.user == me.upn
    assert entry.client_id == app_id(hub) and entry.scopes == ["Calendars.ReadWrite"]
    assert entry.detail == {"event": event_id, "kind": "application", "caller": None,
                            "auth": "bearer"}
    client.get("/me/events")
    assert graph_audit(hub)[-1].outcome == "InvalidAuthenticationToken"
    assert graph_audit(hub)[-1].detail["auth"] == "none"


def test_calendar_view_pages_are_reused_only_while_nothing_they_show_changed(
        hub: Hub, client: httpx.Client) -> None:
    """calendarView pages are cached whole (PageCache): a repeated read answers the same bytes
    and headers, and any change to the calendar, through any protocol, or a different caller's
    view, time zone or window, gets a page of its own."""
    from mock_providers.world.series import bump

    boss, assistant = users(hub)[0], users(hub)[1]
    calendar = boss.mailbox.default_calendar
    private, public = _private_and_public(boss)
    owner = bearer(user_token(hub, boss, ALL_CAL), Prefer="odata.maxpagesize=500")
    params = {**WINDOW}

    def page(headers: dict[str, str], **extra: str) -> httpx.Response:
        r = client.get(f"/users/{boss.upn}/calendarView", params={**params, **extra},
                       headers=headers)
        assert r.status_code == 200, r.text
        return r

    first, again = page(owner), page(owner)
    assert first.content == again.content
    assert again.headers["preference-applied"] == "odata.maxpagesize=500"
    # a write through Graph
    r = client.patch(f"/me/events/{public.id}", json={"subject": "Moved by Graph"},
                     headers=bearer(user_token(hub, boss, ALL_CAL)))
    assert r.status_code == 200, r.text
    subjects = {e["id"]: e["subject"] for e in page(owner).json()["value"]}
    assert subjects[public.id] == "Moved by Graph"
    # a change made the way EWS, Google and the control API make theirs (world.series.bump)
    public.subject = "Renamed elsewhere"
    bump(hub.world, calendar, public)
    subjects = {e["id"]: e["subject"] for e in page(owner).json()["value"]}
    assert subjects[public.id] == "Renamed elsewhere"
    # a delete
    assert client.delete(f"/me/events/{public.id}",
                         headers=bearer(user_token(hub, boss, ALL_CAL))).status_code == 204
    assert public.id not in {e["id"] for e in page(owner).json()["value"]}
    # the same calendar, unchanged, seen by a delegate without private access: its own page
    calendar.permissions[assistant.upn.lower()] = "delegateWithoutPrivateEventAccess"
    delegate = bearer(user_token(hub, assistant, ["Calendars.Read.Shared"]))
    seen = {e["id"]: e["subject"] for e in page(delegate).json()["value"]}
    assert seen[private.id] == "Private"
    assert {e["id"]: e["subject"] for e in page(owner).json()["value"]}[private.id] == \
        private.subject
    # another time zone: its own page and its own Preference-Applied header
    paris = page(bearer(user_token(hub, boss, ALL_CAL), Prefer='outlook.timezone="Europe/Paris"'))
    assert paris.headers["preference-applied"] == 'outlook.timezone="Europe/Paris"'
    assert {e["start"]["timeZone"] for e in paris.json()["value"]} == {"Europe/Paris"}
    # a reset world is a new world
    hub.reset()
    assert public.id in {e["id"] for e in page(owner).json()["value"]}


def test_created_ids_and_join_links_follow_the_seed(hub: Hub, client: httpx.Client) -> None:
    def create() -> dict[str, Any]:
        token = user_token(hub, users(hub)[0], ALL_CAL)
        response = client.post("/me/events", headers=bearer(token), json=new_event(
            isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness"))
        assert response.status_code == 201
        return response.json()

    seed = hub.world.seed
    try:
        hub.reset(11)
        first = create()
        hub.reset(11)
        again = create()
        hub.reset(12)
        other = create()
    finally:
        hub.reset(seed)  # the session's hub goes on with its own seed
    assert (again["id"], again["onlineMeeting"]["joinUrl"]) == (
        first["id"], first["onlineMeeting"]["joinUrl"])
    assert other["id"] != first["id"]
    assert other["onlineMeeting"]["joinUrl"] != first["onlineMeeting"]["joinUrl"]
