"""A concurrency soak across protocols, through real HTTP against a running hub (TLS, 127.0.0.1):
20 writers at once (Graph and EWS on one shared mailbox, Google on a Google calendar), each
creating, changing and deleting its own events, and attempting writes on events another writer
(of any protocol on the same mailbox) deleted and had acknowledged.

Checked afterwards, against what was acknowledged:
- no acknowledged delete undone: a deleted event is absent from the world, from Graph's list,
  EWS FindItem and Google's list, and every write attempted on it after the delete was refused;
- no lost write: every surviving event carries the last subject a writer had acknowledged;
- every list, calendarView delta, FindItem, SyncFolderItems and Google sync still answers 200.

Bounded in time and in operations. The fast variant runs in the default suite; the long one
(`-m slow`) runs for a minute. Counts are printed.
"""

from __future__ import annotations

import base64
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from google_support import access_token, users_of
from lxml import etree

from harness.net import httpx_verify
from mock_providers.google.render import event_gid
from mock_providers.hub import Hub
from mock_providers.microsoft.claims import (
    EXCHANGE_RESOURCE,
    GRAPH_RESOURCE,
    delegated_access_claims,
)
from mock_providers.microsoft.ews.render import encode_id
from mock_providers.microsoft.graph import reset_limits, set_limits
from mock_providers.server import HubServer
from mock_providers.world import GoogleUser, MsUser

S = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
NS = {"s": S, "m": M, "t": T}
WRITERS = {"graph": 7, "ews": 6, "google": 7}
DAY = "2031-03-03"
WINDOW = {"startDateTime": "2031-03-01T00:00:00Z", "endDateTime": "2031-03-31T00:00:00Z"}
GCAL = "/google/calendar/v3/calendars/primary/events"


@dataclass
class Ledger:
    """What the writers were told. Keys: ("ms", world event id) or ("google", event gid)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    live: dict[tuple[str, str], str] = field(default_factory=dict)  # key -> last acked subject
    deleted: set[tuple[str, str]] = field(default_factory=set)
    unknown: set[tuple[str, str]] = field(default_factory=set)  # a write without an answer
    zombies_refused: int = 0
    resurrections: list[str] = field(default_factory=list)
    ops: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0  # how long the writers ran


class Mailboxes:
    """Clients for the three protocols, each writer with its own connection."""

    def __init__(
        self, server: HubServer, ms_user: MsUser, google_user: GoogleUser, google_token: str
    ) -> None:
        hub = server.hub
        self.server, self.hub, self.ms_user, self.google_user = server, hub, ms_user, google_user
        self.graph_token = _ms_token(hub, ms_user, GRAPH_RESOURCE, ["Calendars.ReadWrite"])
        self.ews_token = _ms_token(hub, ms_user, EXCHANGE_RESOURCE, ["EWS.AccessAsUser.All"])
        self.google_token = google_token

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.base_url, timeout=30.0, verify=httpx_verify(self.server.ca_bundle)
        )

    # -- Graph ---------------------------------------------------------------------------------
    def graph(
        self,
        http: httpx.Client,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **params: str,
    ) -> httpx.Response:
        return http.request(
            method,
            "/graph/v1.0" + path,
            json=body,
            params=params or None,
            headers={"Authorization": f"Bearer {self.graph_token}", **(headers or {})},
        )

    # -- EWS -----------------------------------------------------------------------------------
    def ews(self, http: httpx.Client, body: str) -> etree._Element:
        envelope = (
            f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{S}" '
            f'xmlns:m="{M}" xmlns:t="{T}"><s:Header><t:RequestServerVersion '
            f'Version="Exchange2016"/></s:Header><s:Body>{body}</s:Body></s:Envelope>'
        )
        reply = http.post(
            "/EWS/Exchange.asmx",
            content=envelope.encode(),
            headers={
                "Authorization": f"Bearer {self.ews_token}",
                "Content-Type": "text/xml; charset=utf-8",
            },
        )
        assert reply.status_code == 200, reply.text[:300]
        return etree.fromstring(reply.content)

    def ews_id(self, world_id: str) -> str:
        return encode_id("event", self.ms_user, world_id)

    # -- Google --------------------------------------------------------------------------------
    def google(
        self,
        http: httpx.Client,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **params: str,
    ) -> httpx.Response:
        return http.request(
            method,
            path,
            json=body,
            params=params or None,
            headers={"Authorization": f"Bearer {self.google_token}", **(headers or {})},
        )


def _ms_token(hub: Hub, user: MsUser, resource: str, scopes: list[str]) -> str:
    tenant = hub.world.ms_tenants[user.tenant_id]
    client_id = next(a.client_id for a in tenant.apps.values() if a.client_secret)
    return hub.signer.sign(
        delegated_access_claims(
            tenant_id=tenant.id,
            client_id=client_id,
            resource=resource,
            oid=user.id,
            upn=user.upn,
            name=user.display_name,
            scopes=scopes,
            now=hub.world.clock.timestamp(),
            lifetime=3 * 3600,
        )
    )


def code(root: etree._Element) -> str:
    return str(root.findtext(".//m:ResponseCode", namespaces=NS))


def world_id_of(ews_id: str) -> str:
    return base64.b64decode(ews_id).split(b"\x00")[-1].decode()


# -- one writer ------------------------------------------------------------------------------------
class Writer:
    """Creates, changes and deletes its own events on one protocol; now and then writes to an
    event another writer deleted (which must be refused)."""

    def __init__(
        self,
        boxes: Mailboxes,
        ledger: Ledger,
        protocol: str,
        number: int,
        deadline: float,
        max_ops: int,
    ) -> None:
        self.boxes, self.ledger, self.protocol = boxes, ledger, protocol
        self.name = f"{protocol}{number}"
        self.deadline, self.max_ops = deadline, max_ops
        self.rng = random.Random(number * 7919 + len(protocol))
        self.http = boxes.client()
        self.ops = 0

    def run(self) -> None:
        try:
            while time.monotonic() < self.deadline and self.ops < self.max_ops:
                self.round()
        except Exception as exc:  # reported, and the test fails on it
            with self.ledger.lock:
                self.ledger.errors.append(f"{self.name}: {type(exc).__name__}: {exc}"[:300])
        finally:
            self.http.close()

    def round(self) -> None:
        key, tag = self.create()
        for version in range(self.rng.randint(1, 3)):
            self.update(key, tag, f"{self.name}-{key[1][:8]}-v{version + 1}")
        if self.rng.random() < 0.6:
            self.delete(key, tag)
        if self.rng.random() < 0.5:
            self.zombie()

    def count(self, op: str) -> None:
        self.ops += 1
        with self.ledger.lock:
            self.ledger.ops[f"{self.protocol}.{op}"] += 1

    # -- the operations, per protocol ----------------------------------------------------------
    def create(self) -> tuple[tuple[str, str], str]:
        subject = f"{self.name}-new"
        self.count("create")
        if self.protocol == "graph":
            reply = self.boxes.graph(
                self.http,
                "POST",
                "/me/events",
                {
                    "subject": subject,
                    "start": {"dateTime": f"{DAY}T10:00:00", "timeZone": "UTC"},
                    "end": {"dateTime": f"{DAY}T11:00:00", "timeZone": "UTC"},
                },
            )
            assert reply.status_code == 201, reply.text[:300]
            key, tag = ("ms", reply.json()["id"]), reply.json()["@odata.etag"]
        elif self.protocol == "ews":
            root = self.boxes.ews(
                self.http,
                (
                    '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>'
                    f"<t:Subject>{subject}</t:Subject><t:Start>{DAY}T12:00:00Z</t:Start>"
                    f"<t:End>{DAY}T13:00:00Z</t:End></t:CalendarItem></m:Items></m:CreateItem>"
                ),
            )
            assert code(root) == "NoError", etree.tostring(root)[:300]
            item = root.find(".//t:CalendarItem/t:ItemId", NS)
            key, tag = ("ms", world_id_of(item.get("Id"))), item.get("ChangeKey")
        else:
            reply = self.boxes.google(
                self.http,
                "POST",
                GCAL,
                {
                    "summary": subject,
                    "start": {"dateTime": f"{DAY}T14:00:00Z"},
                    "end": {"dateTime": f"{DAY}T15:00:00Z"},
                },
            )
            assert reply.status_code == 200, reply.text[:300]
            key, tag = ("google", reply.json()["id"]), reply.json()["etag"]
        with self.ledger.lock:
            self.ledger.live[key] = subject
        return key, tag

    def update(self, key: tuple[str, str], tag: str, subject: str) -> bool:
        """A change of the subject; True when acknowledged."""
        self.count("update")
        conditional = self.rng.random() < 0.5
        try:
            ok = self._update(key[1], tag if conditional else None, subject)
        except httpx.HTTPError:
            with self.ledger.lock:
                self.ledger.unknown.add(key)
            return False
        if ok:
            with self.ledger.lock:
                if key in self.ledger.deleted:
                    self.ledger.resurrections.append(f"{self.name} updated deleted {key}")
                self.ledger.live[key] = subject
        return ok

    def _update(self, item: str, tag: str | None, subject: str) -> bool:
        if self.protocol == "graph":
            reply = self.boxes.graph(
                self.http,
                "PATCH",
                f"/me/events/{item}",
                {"subject": subject},
                headers={"If-Match": tag} if tag else None,
            )
            assert reply.status_code in (200, 404, 412), reply.text[:300]
            return reply.status_code == 200
        if self.protocol == "ews":
            mode = "NeverOverwrite" if tag else "AlwaysOverwrite"
            root = self.boxes.ews(
                self.http,
                (
                    f'<m:UpdateItem ConflictResolution="{mode}" MessageDisposition="SaveOnly" '
                    'SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges>'
                    f'<t:ItemChange><t:ItemId Id="{self.boxes.ews_id(item)}" '
                    f'ChangeKey="{tag or "x"}"/><t:Updates><t:SetItemField><t:FieldURI '
                    f'FieldURI="item:Subject"/><t:CalendarItem><t:Subject>{subject}</t:Subject>'
                    "</t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange>"
                    "</m:ItemChanges></m:UpdateItem>"
                ),
            )
            assert code(root) in ("NoError", "ErrorItemNotFound", "ErrorIrresolvableConflict"), (
                etree.tostring(root)[:300]
            )
            return code(root) == "NoError"
        reply = self.boxes.google(
            self.http,
            "PATCH",
            f"{GCAL}/{item}",
            {"summary": subject},
            headers={"If-Match": tag} if tag else None,
        )
        assert reply.status_code in (200, 404, 410, 412), reply.text[:300]
        return reply.status_code == 200

    def delete(self, key: tuple[str, str], tag: str) -> None:
        self.count("delete")
        item = key[1]
        if self.protocol == "graph":
            status = self.boxes.graph(self.http, "DELETE", f"/me/events/{item}").status_code
            done = status == 204
        elif self.protocol == "ews":
            root = self.boxes.ews(
                self.http,
                (
                    '<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone">'
                    f'<m:ItemIds><t:ItemId Id="{self.boxes.ews_id(item)}"/></m:ItemIds>'
                    "</m:DeleteItem>"
                ),
            )
            done = code(root) == "NoError"
        else:
            done = self.boxes.google(self.http, "DELETE", f"{GCAL}/{item}").status_code == 204
        assert done, (self.name, "delete", key)
        with self.ledger.lock:
            self.ledger.live.pop(key, None)
            self.ledger.deleted.add(key)

    def zombie(self) -> None:
        """A write to an event another writer deleted: its delete was acknowledged before this
        started, so the write must be refused, on any protocol that reaches the mailbox."""
        family = "google" if self.protocol == "google" else "ms"
        with self.ledger.lock:
            candidates = [k for k in self.ledger.deleted if k[0] == family]
        if not candidates:
            return
        key = self.rng.choice(sorted(candidates))
        self.count("zombie_write")
        if self._update(key[1], None, f"{self.name}-zombie"):
            with self.ledger.lock:
                self.ledger.resurrections.append(f"{self.name} wrote to deleted {key}")
        else:
            with self.ledger.lock:
                self.ledger.zombies_refused += 1


# -- the soak --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    with HubServer(seed=20, tls=True, state_dir=tmp_path_factory.mktemp("soak-hub")) as srv:
        set_limits(srv.hub, None, None)  # 7 Graph writers on one mailbox: no 429s wanted here
        yield srv
        reset_limits(srv.hub)


@pytest.fixture(scope="module")
def boxes(server: HubServer) -> Mailboxes:
    tenant = server.hub.world.tenant("contoso")
    assert tenant is not None
    ms_user = sorted(tenant.users.values(), key=lambda u: u.upn)[0]
    google_user = users_of(server)[0]
    google_token = access_token(server, google_user, ["https://www.googleapis.com/auth/calendar"])
    return Mailboxes(server, ms_user, google_user, google_token)


def _graph_all(
    boxes: Mailboxes, http: httpx.Client, path: str, **params: str
) -> tuple[list[dict[str, Any]], str | None]:
    """Every item of a Graph list or delta round, and its deltaLink."""
    items: list[dict[str, Any]] = []
    reply = boxes.graph(http, "GET", path, **params)
    for _ in range(500):
        assert reply.status_code == 200, reply.text[:300]
        page = reply.json()
        items += page["value"]
        if "@odata.nextLink" not in page:
            return items, page.get("@odata.deltaLink")
        reply = boxes.graph(http, "GET", page["@odata.nextLink"].split("/graph/v1.0", 1)[1])
    raise AssertionError("more than 500 pages")


def _google_all(
    boxes: Mailboxes, http: httpx.Client, **params: str
) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    query = {"maxResults": "2500", **params}
    for _ in range(100):
        reply = boxes.google(http, "GET", GCAL, **query)
        assert reply.status_code == 200, reply.text[:300]
        page = reply.json()
        items += page["items"]
        if "nextPageToken" not in page:
            return items, page["nextSyncToken"]
        query["pageToken"] = page["nextPageToken"]
    raise AssertionError("more than 100 pages")


def _ews_find(boxes: Mailboxes, http: httpx.Client) -> dict[str, str]:
    """world id -> subject of every calendar item, through FindItem (paged)."""
    found: dict[str, str] = {}
    for offset in range(0, 100_000, 1000):
        root = boxes.ews(
            http,
            (
                '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>'
                '<t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/>'
                "</t:AdditionalProperties></m:ItemShape>"
                f'<m:IndexedPageItemView MaxEntriesReturned="1000" Offset="{offset}" '
                'BasePoint="Beginning"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/>'
                "</m:ParentFolderIds></m:FindItem>"
            ),
        )
        assert code(root) == "NoError", etree.tostring(root)[:300]
        items = root.findall(".//t:CalendarItem", NS)
        for item in items:
            found[world_id_of(item.find("t:ItemId", NS).get("Id"))] = item.findtext(
                "t:Subject", default="", namespaces=NS
            )
        view = root.find(".//m:RootFolder", NS)
        if view is None or view.get("IncludesLastItemInRange") == "true" or not items:
            return found
    raise AssertionError("more than 100 FindItem pages")


def soak(boxes: Mailboxes, seconds: float, max_ops: int) -> Ledger:
    ledger = Ledger()
    http = boxes.client()
    _, graph_link = _graph_all(boxes, http, "/me/calendarView/delta", **WINDOW)
    _, google_sync = _google_all(boxes, http)
    began = time.monotonic()
    deadline = began + seconds
    writers = [
        Writer(boxes, ledger, protocol, n, deadline, max_ops)
        for protocol, count in WRITERS.items()
        for n in range(count)
    ]
    threads = [threading.Thread(target=w.run, name=w.name) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    assert not any(t.is_alive() for t in threads), "a writer did not finish"
    ledger.seconds = time.monotonic() - began
    assert ledger.errors == []
    check(boxes, http, ledger, graph_link, google_sync)
    http.close()
    return ledger


def check(
    boxes: Mailboxes, http: httpx.Client, ledger: Ledger, graph_link: str | None, google_sync: str
) -> None:
    calendar = boxes.ms_user.mailbox.default_calendar
    world_ms = {e.id: e.subject for e in calendar.events}
    graph_items = {
        i["id"]: i["subject"] for i in _graph_all(boxes, http, "/me/events", **{"$top": "1000"})[0]
    }
    ews_items = _ews_find(boxes, http)
    google_cal = boxes.hub.world.google_calendar(boxes.google_user, "primary")
    assert google_cal is not None
    world_google = {event_gid(e.id): e.subject for e in google_cal.events}
    google_items = {i["id"]: i.get("summary", "") for i in _google_all(boxes, http)[0]}
    for key in ledger.deleted:
        views = (
            (world_ms, graph_items, ews_items) if key[0] == "ms" else (world_google, google_items)
        )
        for view in views:
            assert key[1] not in view, f"deleted {key} is back"
    for key, subject in ledger.live.items():
        if key in ledger.unknown:
            continue  # a write whose answer was lost: either value may stand
        views = (
            (world_ms, graph_items, ews_items) if key[0] == "ms" else (world_google, google_items)
        )
        for view in views:
            assert view.get(key[1]) == subject, f"lost write on {key}: {view.get(key[1])!r}"
    # Delta and sync from before the soak still answer, and show no deleted event as present
    # (an event both made and deleted since the token may be reported removed or not at all).
    assert graph_link is not None
    graph_changes = _graph_all(boxes, http, graph_link.split("/graph/v1.0", 1)[1])[0]
    present = {i["id"] for i in graph_changes if "@removed" not in i}
    assert not present & {k[1] for k in ledger.deleted if k[0] == "ms"}
    assert {k[1] for k in ledger.live if k[0] == "ms"} <= present
    google_changes = _google_all(boxes, http, syncToken=google_sync)[0]
    present = {i["id"] for i in google_changes if i.get("status") != "cancelled"}
    assert not present & {k[1] for k in ledger.deleted if k[0] == "google"}
    assert {k[1] for k in ledger.live if k[0] == "google"} <= present
    sync = boxes.ews(
        http,
        (
            "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>"
            '<m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId>'
            "<m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>"
        ),
    )
    assert code(sync) == "NoError"
    assert not ledger.resurrections, ledger.resurrections


def report(ledger: Ledger, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print(
            f"\ncross-protocol soak, {sum(WRITERS.values())} writers for "
            f"{ledger.seconds:.1f} s: "
            f"{sum(ledger.ops.values())} operations {dict(sorted(ledger.ops.items()))}, "
            f"{len(ledger.deleted)} acknowledged deletes, 0 resurrected, "
            f"{ledger.zombies_refused} writes to deleted events refused, "
            f"{len(ledger.live)} live events checked ({len(ledger.unknown)} with a lost "
            "answer skipped), 0 lost writes; every list, delta, FindItem, SyncFolderItems and "
            "sync answered 200"
        )


def test_cross_protocol_soak(boxes: Mailboxes, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = soak(boxes, seconds=10.0, max_ops=60)
    assert ledger.deleted and ledger.zombies_refused and len(ledger.ops) >= 9
    report(ledger, capsys)


@pytest.mark.slow
def test_cross_protocol_soak_long(
    boxes: Mailboxes, pytestconfig: pytest.Config, capsys: pytest.CaptureFixture[str]
) -> None:
    if "slow" not in (pytestconfig.getoption("markexpr") or ""):
        pytest.skip("a long run: pytest -m slow")
    ledger = soak(boxes, seconds=60.0, max_ops=5_000)
    assert sum(ledger.ops.values()) >= 1_000
    report(ledger, capsys)
