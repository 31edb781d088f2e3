"""The control API over the real TLS hub: validation, reset, clock, faults, audit, mailboxes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from harness.net import httpx_verify
from mock_providers.server import HubServer


@pytest.fixture
def control(hub_server: HubServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub_server.hub.control_url,
                      verify=httpx_verify(hub_server.ca_bundle),
                      headers={"Authorization": f"Bearer {hub_server.hub.control_token}"}) as c:
        c.post("/reset", json={"seed": 42}).raise_for_status()
        yield c


def test_health_and_world_description(control: httpx.Client, hub_server: HubServer) -> None:
    assert control.get("/health").json()["status"] == "ok"
    world = control.get("/world", params={"secrets": "true"}).json()
    assert world["ca_bundle"] == hub_server.ca_bundle
    assert world["microsoft"]["graph"].endswith("/v1.0")
    assert world["microsoft"]["ews"].endswith("/EWS/Exchange.asmx")
    assert world["google"]["calendar"].endswith("/calendar/v3/")
    tenant = world["microsoft"]["tenants"][0]
    assert {"id", "domains", "users", "apps"} <= tenant.keys()
    assert {"id", "upn", "password"} <= tenant["users"][0].keys()
    assert {"client_id", "client_secret", "redirect_uris"} <= tenant["apps"][0].keys()


def test_reset_with_another_seed_changes_the_world(control: httpx.Client) -> None:
    first = control.get("/world").json()["microsoft"]["tenants"][0]["id"]
    other = control.post("/reset", json={"seed": 43}).json()["microsoft"]["tenants"][0]["id"]
    again = control.post("/reset", json={"seed": 42}).json()["microsoft"]["tenants"][0]["id"]
    assert first != other and first == again


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/reset", b"{not json", 400),
    ("/reset", b'{"seed": "x"}', 422),
    ("/clock/advance", b'{"seconds": -5}', 422),
    ("/clock/advance", b'{"seconds": 5, "extra": 1}', 422),
    ("/faults", b'{"kind": "status", "provider": "nowhere"}', 422),
])
def test_bad_input_gets_a_clear_error(control: httpx.Client, path: str, body: bytes,
                                      status: int) -> None:
    response = control.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] and error["message"]


def test_clock_advance(control: httpx.Client) -> None:
    before = datetime.fromisoformat(control.get("/clock").json()["now"])
    after = datetime.fromisoformat(control.post("/clock/advance",
                                                json={"seconds": 1800}).json()["now"])
    assert timedelta(minutes=30) <= after - before < timedelta(minutes=31)


def test_faults_lifecycle(control: httpx.Client) -> None:
    fault = control.post("/faults", json={"kind": "throttle", "provider": "graph",
                                          "retry_after": 7}).json()
    assert fault["id"] and fault["retry_after"] == 7
    assert [f["id"] for f in control.get("/faults").json()["faults"]] == [fault["id"]]
    assert control.delete(f"/faults/{fault['id']}").status_code == 204
    assert control.delete(f"/faults/{fault['id']}").status_code == 404
    control.post("/faults", json={"kind": "latency", "delay_ms": 5})
    assert control.delete("/faults").status_code == 204
    assert control.get("/faults").json()["faults"] == []


def test_mailbox_events_and_audit(control: httpx.Client) -> None:
    upn = control.get("/world").json()["microsoft"]["tenants"][0]["users"][1]["upn"]
    start = datetime(2030, 1, 2, 9, tzinfo=UTC)
    created = control.post(f"/mailboxes/{upn}/events", json={
        "subject": "Board", "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(), "sensitivity": "private"})
    assert created.status_code == 201
    event_id = created.json()["id"]
    events = control.get(f"/mailboxes/{upn}/events").json()["events"]
    assert any(e["id"] == event_id and e["sensitivity"] == "private" for e in events)
    patched = control.patch(f"/mailboxes/{upn}/events/{event_id}", json={"subject": "Board 2"})
    assert patched.json()["subject"] == "Board 2"
    assert patched.json()["change_key"] != created.json()["change_key"]
    assert control.delete(f"/mailboxes/{upn}/events/{event_id}").status_code == 204
    assert control.get(f"/mailboxes/{upn}/events/{event_id}").status_code == 404
    assert control.get("/mailboxes/nobody@nowhere.example/events").status_code == 404
    bad = control.post(f"/mailboxes/{upn}/events", json={
        "subject": "x", "start": start.isoformat(), "end": start.isoformat()})
    assert bad.status_code == 422 and "end must be after start" in bad.json()["error"]["message"]
    audit = control.get("/audit", params={"since": 0}).json()
    assert audit["last_seq"] >= 0 and isinstance(audit["entries"], list)
    assert control.get("/audit", params={"since": "x"}).status_code == 400


def test_an_invitation_is_delivered_to_the_invitee_not_responded(control: httpx.Client) -> None:
    """`organizer` seeds a meeting the mailbox owner is invited to: at Microsoft the organizer's
    calendar holds the meeting and the owner a delivered copy (not responded); at Google the
    owner's calendar holds it with the organizer named."""
    world = control.get("/world").json()
    users = [u["upn"] for u in world["microsoft"]["tenants"][0]["users"]]
    organizer, invitee = users[0], users[1]
    start = datetime(2030, 1, 3, 9, tzinfo=UTC)
    window = {"start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat()}
    copy = control.post(f"/mailboxes/{invitee}/events",
                        json={"subject": "Roadmap", **window, "organizer": organizer})
    assert copy.status_code == 201, copy.text
    assert copy.json()["organizer"] == organizer
    assert copy.json()["responses"] == {invitee: "none"}
    held = [e for e in control.get(f"/mailboxes/{organizer}/events").json()["events"]
            if e["subject"] == "Roadmap"]
    assert len(held) == 1 and held[0]["ical_uid"] == copy.json()["ical_uid"]
    assert held[0]["id"] != copy.json()["id"]

    google = [u["email"] for u in world["google"]["users"]]
    invited = control.post(f"/mailboxes/{google[1]}/events",
                           json={"subject": "Sync", **window, "organizer": google[0]})
    assert invited.status_code == 201, invited.text
    assert invited.json()["organizer"] == google[0]
    assert invited.json()["responses"] == {google[0]: "organizer", google[1]: "none"}

    for owner, who in ((invitee, invitee), (invitee, google[0]), (google[1], organizer)):
        bad = control.post(f"/mailboxes/{owner}/events",
                           json={"subject": "x", **window, "organizer": who})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalidOrganizer"


def test_calendars_of_a_mailbox_and_their_events(control: httpx.Client) -> None:
    world = control.get("/world").json()
    for owner in (world["microsoft"]["tenants"][0]["users"][1]["upn"],
                  world["google"]["users"][0]["email"]):
        calendars = control.get(f"/mailboxes/{owner}/calendars").json()["calendars"]
        assert [c["is_default"] for c in calendars].count(True) == 1 and len(calendars) >= 2
        second = next(c for c in calendars if not c["is_default"])
        path = f"/mailboxes/{owner}/calendars/{second['id']}/events"
        start = datetime(2030, 1, 2, 9, tzinfo=UTC)
        created = control.post(path, json={"subject": "Second", "start": start.isoformat(),
                                           "end": (start + timedelta(hours=1)).isoformat()})
        assert created.status_code == 201
        listed = control.get(path).json()
        assert listed["calendar"] == second["id"]
        assert created.json()["id"] in {e["id"] for e in listed["events"]}
        default_events = control.get(f"/mailboxes/{owner}/events").json()["events"]
        assert created.json()["id"] not in {e["id"] for e in default_events}
        missing = control.get(f"/mailboxes/{owner}/calendars/nope/events")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "calendarNotFound"
    assert control.get("/mailboxes/nobody@nowhere.example/calendars").status_code == 404


def test_mailbox_events_expand_series_in_a_window(control: httpx.Client,
                                                  hub_server: HubServer) -> None:
    """The seeded weekly series (12 occurrences, the 4th moved, the 5th cancelled) as its
    occurrences; the same listing unexpanded shows its master once."""
    world = hub_server.hub.world
    owner = next(u for t in world.ms_tenants.values() if t.key == "contoso"
                 for u in t.users.values() if u.is_admin)
    master = next(e for e in owner.mailbox.default_calendar.events
                  if e.recurrence is not None and e.recurrence.pattern.type == "weekly")
    low, high = master.start - timedelta(days=1), master.start + timedelta(weeks=13)
    reply = control.get(f"/mailboxes/{owner.upn}/events",
                        params={"expand": "true", "start": low.isoformat(),
                                "end": high.isoformat()})
    assert reply.status_code == 200, reply.text
    rows = [r for r in reply.json()["events"] if r.get("series_master_id") == master.id]
    assert len(rows) == 11
    assert [r["type"] for r in rows].count("exception") == 1
    moved = next(r for r in rows if r["type"] == "exception")
    assert moved["subject"].endswith("(moved)") and moved["start"] != moved["original_start"]
    cancelled = sorted(master.exceptions.cancelled)[0]
    assert cancelled.isoformat() not in {r["original_start"] for r in rows}
    starts = [r["start"] for r in reply.json()["events"]]
    assert starts == sorted(starts, key=datetime.fromisoformat)
    plain = control.get(f"/mailboxes/{owner.upn}/events").json()["events"]
    assert [r["type"] for r in plain if r["id"] == master.id] == ["seriesMaster"]
    for params in ({"expand": "true"}, {"start": low.isoformat(), "end": high.isoformat()},
                   {"expand": "true", "start": high.isoformat(), "end": low.isoformat()},
                   {"expand": "maybe", "start": low.isoformat(), "end": high.isoformat()},
                   {"expand": "true", "start": "2020-01-01T00:00:00Z",
                    "end": "2030-01-01T00:00:00Z"},
                   {"expand": "true", "start": "yesterday", "end": high.isoformat()},
                   {"top": "3"}):
        bad = control.get(f"/mailboxes/{owner.upn}/events", params=params)
        assert bad.status_code == 422, (params, bad.text)
        assert bad.json()["error"]["code"] == "invalidRequest"


def test_admin_side_actions(control: httpx.Client) -> None:
    world = control.get("/world", params={"secrets": "true"}).json()
    tenant = world["microsoft"]["tenants"][1]
    app = next(a for a in tenant["apps"] if a["client_secret"])
    policy = control.post(f"/microsoft/tenants/{tenant['key']}/consent-policy",
                          json={"users_may_consent": True}).json()
    assert policy["users_may_consent"] is False and policy["pending"][0] is True
    consent = control.post(f"/microsoft/tenants/{tenant['id']}/admin-consent",
                           json={"client_id": app["client_id"], "scopes": ["Calendars.Read"]})
    assert "Calendars.Read" in consent.json()["scopes"]
    roles = control.put(f"/microsoft/tenants/{tenant['id']}/apps/{app['client_id']}/roles",
                        json={"roles": ["Calendars.ReadWrite"]})
    assert roles.json()["roles"] == ["Calendars.ReadWrite"]
    assert control.post("/microsoft/tenants/nope/consent-policy",
                        json={"users_may_consent": True}).status_code == 404
    upn = tenant["users"][1]["upn"]
    assert control.post(f"/microsoft/users/{upn}/password",
                        json={"password": "short"}).status_code == 422
    assert control.post(f"/microsoft/users/{upn}/password",
                        json={"password": "N3w-Passw0rd!"}).json()["password_changed"]


def test_graph_limits(control: httpx.Client) -> None:
    assert control.put("/microsoft/graph/limits",
                       json={"concurrency": 0, "per_10_min": 5}).status_code == 422
    set_ = control.put("/microsoft/graph/limits", json={"concurrency": None, "per_10_min": 50})
    assert set_.json() == {"concurrency": None, "per_10_min": 50, "window_seconds": 600}
    back = control.delete("/microsoft/graph/limits").json()
    assert back["concurrency"] == 4 and back["per_10_min"] == 10_000
