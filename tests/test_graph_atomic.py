"""Writes to the Graph mock are atomic against the item's state when they commit.

Forced interleavings, two ways:

- in-process, on the Graph route itself: a PATCH's first half of the body is delivered, then the
  route waits for the rest while a DELETE (or a second PATCH with the same If-Match) runs to its
  answer; then the rest arrives. This is what a slow client does to a handler; the hub's server
  layer happens to read bodies before the app runs, so only here does a handler that looks the
  item up before reading its body show its fault (the acknowledged DELETE undone, both PATCHes
  answered 200);
- through real HTTP against a running hub (TLS, 127.0.0.1), the same orders end to end.

After each: the world, a full list and a delta round from before agree that the item is gone (or
carries the winner's change).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from google_support import RawConnection

from mock_providers.hub import GRAPH_PREFIX, Hub
from mock_providers.microsoft.claims import GRAPH_RESOURCE, delegated_access_claims
from mock_providers.microsoft.graph.router import GraphRoute
from mock_providers.server import HubServer
from mock_providers.world import MsUser

SCOPES = ["Calendars.ReadWrite", "Contacts.ReadWrite", "User.Read"]
EVENT = {"subject": "Doomed", "start": {"dateTime": "2031-01-06T10:00:00", "timeZone": "UTC"},
         "end": {"dateTime": "2031-01-06T11:00:00", "timeZone": "UTC"}}


def owner(hub: Hub) -> MsUser:
    tenant = hub.world.tenant("contoso")
    assert tenant is not None
    return sorted(tenant.users.values(), key=lambda u: u.upn)[0]


def token(hub: Hub, user: MsUser) -> str:
    tenant = hub.world.ms_tenants[user.tenant_id]
    client_id = next(a.client_id for a in tenant.apps.values() if a.client_secret)
    return hub.signer.sign(delegated_access_claims(
        tenant_id=tenant.id, client_id=client_id, resource=GRAPH_RESOURCE, oid=user.id,
        upn=user.upn, name=user.display_name, scopes=SCOPES, now=hub.world.clock.timestamp(),
        lifetime=3600))


# -- in-process: the route with a body that arrives in two halves ---------------------------------
class Call:
    """One request to the Graph route; its body's second half waits for `release()`."""

    def __init__(self, route: GraphRoute, bearer: str, method: str, path: str,
                 body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.halves = [data[:len(data) // 2], data[len(data) // 2:]]
        self.waiting = asyncio.Event()  # the route asked for the second half
        self.released = asyncio.Event()
        self.status = 0
        self.body = b""
        raw_headers = [(b"host", b"graph.test"), (b"authorization", f"Bearer {bearer}".encode()),
                       *[(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]]
        if data:
            raw_headers += [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode())]
        route_path, _, query = path.partition("?")
        scope = {"type": "http", "method": method, "path": GRAPH_PREFIX + route_path,
                 "root_path": GRAPH_PREFIX, "query_string": query.encode(),
                 "headers": raw_headers,
                 "scheme": "https", "server": ("graph.test", 443)}
        self.task = asyncio.ensure_future(route.handle(scope, self.receive, self.send))
        self.sent = 0

    async def receive(self) -> dict[str, Any]:
        self.sent += 1
        if self.sent == 1:
            return {"type": "http.request", "body": self.halves[0], "more_body": True}
        self.waiting.set()
        await self.released.wait()
        return {"type": "http.request", "body": self.halves[1], "more_body": False}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        else:
            self.body += message.get("body", b"")

    async def held(self) -> Call:
        """Once the route waits for the rest of the body."""
        await asyncio.wait_for(self.waiting.wait(), 5)
        return self

    async def finish(self) -> tuple[int, Any]:
        self.released.set()
        await asyncio.wait_for(self.task, 5)
        return self.status, json.loads(self.body) if self.body else None


@pytest.fixture
def route() -> GraphRoute:
    return GraphRoute(Hub.seeded(16, "https://graph.test"))


async def _create(route: GraphRoute, bearer: str, path: str, body: Any) -> dict[str, Any]:
    call = Call(route, bearer, "POST", path, body)
    status, created = await call.finish()
    assert status == 201, created
    return dict(created)


async def _list(route: GraphRoute, bearer: str, path: str) -> tuple[int, Any]:
    return await Call(route, bearer, "GET", path).finish()


@pytest.mark.parametrize("kind", ["events", "contacts"])
def test_in_process_a_delete_answered_during_a_patch_body_stays_deleted(
        route: GraphRoute, kind: str) -> None:
    hub = route.hub
    user = owner(hub)
    bearer = token(hub, user)

    async def scenario() -> None:
        body = EVENT if kind == "events" else {"givenName": "Doomed"}
        item = await _create(route, bearer, f"/me/{kind}", body)
        path = f"/me/{kind}/{item['id']}"
        _, before = await _list(route, bearer, f"/me/{kind}/delta" if kind == "contacts" else
                                "/me/calendarView/delta?startDateTime=2031-01-01T00:00:00Z"
                                "&endDateTime=2031-02-01T00:00:00Z")
        change = {"subject": "Resurrected?"} if kind == "events" else {"givenName": "Back?"}
        patch = await Call(route, bearer, "PATCH", path, change).held()
        status, _ = await Call(route, bearer, "DELETE", path).finish()
        assert status == 204
        status, reply = await patch.finish()
        assert status == 404 and reply["error"]["code"] == "ErrorItemNotFound", reply

        held = (user.mailbox.default_calendar.events if kind == "events"
                else user.mailbox.default_contacts.contacts)
        assert held.get(item["id"]) is None
        status, listing = await _list(route, bearer, f"/me/{kind}?$top=1000")
        assert status == 200 and item["id"] not in {i["id"] for i in listing["value"]}
        delta_link = before["@odata.deltaLink"].split(GRAPH_PREFIX, 1)[1]
        status, changes = await _list(route, bearer, delta_link)
        assert status == 200
        assert [(c["id"], "@removed" in c) for c in changes["value"]] == [(item["id"], True)]

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["events", "contacts"])
def test_in_process_two_patches_with_one_if_match_one_wins(route: GraphRoute, kind: str) -> None:
    hub = route.hub
    bearer = token(hub, owner(hub))
    name = "subject" if kind == "events" else "givenName"

    async def scenario() -> None:
        item = await _create(route, bearer, f"/me/{kind}",
                             EVENT if kind == "events" else {"givenName": "Contested"})
        path = f"/me/{kind}/{item['id']}"
        if_match = {"If-Match": item["@odata.etag"]}
        first = await Call(route, bearer, "PATCH", path, {name: "First"}, if_match).held()
        second = await Call(route, bearer, "PATCH", path, {name: "Second"}, if_match).held()
        status, won = await second.finish()
        assert status == 200 and won[name] == "Second", won
        status, lost = await first.finish()
        assert status == 412 and lost["error"]["code"] == "ErrorIrresolvableConflict", lost
        status, got = await _list(route, bearer, path)
        assert status == 200 and got[name] == "Second"
        assert got["@odata.etag"] == won["@odata.etag"] != item["@odata.etag"]

    asyncio.run(scenario())


def test_in_process_a_refused_patch_changes_nothing(route: GraphRoute) -> None:
    """Validated whole before anything is applied: a valid subject beside an invalid end."""
    hub = route.hub
    bearer = token(hub, owner(hub))

    async def scenario() -> None:
        item = await _create(route, bearer, "/me/events", EVENT)
        path = f"/me/events/{item['id']}"
        for refused in ({"subject": "Changed", "end": {"dateTime": "junk", "timeZone": "UTC"}},
                        {"subject": "Changed", "recurrence": {
                            "pattern": {"type": "daily", "interval": 0},
                            "range": {"type": "noEnd", "startDate": "2031-01-06"}}},
                        {"subject": "Changed", "reminderMinutesBeforeStart": 2**40}):
            status, reply = await Call(route, bearer, "PATCH", path, refused).finish()
            assert status == 400, reply
        status, got = await _list(route, bearer, path)
        assert (got["subject"], got["@odata.etag"]) == ("Doomed", item["@odata.etag"])

    asyncio.run(scenario())


# -- through real HTTP ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    with HubServer(seed=16, tls=True, state_dir=tmp_path_factory.mktemp("graph-atomic")) as srv:
        yield srv


def _send(server: HubServer, bearer: str, method: str, path: str, body: Any = None,
          headers: dict[str, str] | None = None, held: bool = False) -> RawConnection:
    conn = RawConnection(server)
    data = json.dumps(body).encode() if body is not None else b""
    conn.start(method, GRAPH_PREFIX + path, bearer, data, headers,
               send=len(data) // 2 if held else None)
    return conn


def test_over_http_a_delete_during_a_slow_patch_stays_deleted(server: HubServer) -> None:
    hub = server.hub
    user = owner(hub)
    bearer = token(hub, user)
    status, item = _send(server, bearer, "POST", "/me/events", EVENT).finish()
    assert status == 201, item
    path = f"/me/events/{item['id']}"
    patch = _send(server, bearer, "PATCH", path, {"subject": "Resurrected?"}, held=True)
    assert _send(server, bearer, "DELETE", path).finish()[0] == 204
    status, reply = patch.finish()
    assert status == 404, reply
    assert user.mailbox.default_calendar.events.get(item["id"]) is None
    assert _send(server, bearer, "GET", path).finish()[0] == 404


def test_over_http_two_patches_with_one_if_match_one_wins(server: HubServer) -> None:
    hub = server.hub
    bearer = token(hub, owner(hub))
    status, item = _send(server, bearer, "POST", "/me/contacts", {"givenName": "C"}).finish()
    assert status == 201, item
    path = f"/me/contacts/{item['id']}"
    if_match = {"If-Match": item["@odata.etag"]}
    first = _send(server, bearer, "PATCH", path, {"givenName": "First"}, if_match, held=True)
    second = _send(server, bearer, "PATCH", path, {"givenName": "Second"}, if_match, held=True)
    statuses = sorted([second.finish()[0], first.finish()[0]])
    assert statuses == [200, 412]
    assert _send(server, bearer, "GET", path).finish()[1]["givenName"] in ("First", "Second")
