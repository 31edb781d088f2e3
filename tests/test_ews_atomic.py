"""Writes to the EWS mock are atomic against the item's state when they commit, through real HTTP
against a running hub (TLS on 127.0.0.1), for calendar items and contacts:

- forced interleavings: an UpdateItem's head and half its envelope are sent, a DeleteItem (or
  another UpdateItem carrying the same ChangeKey) runs to its answer, then the rest: the
  acknowledged delete stays (ErrorItemNotFound), and of two updates with one ChangeKey under
  NeverOverwrite only the first to complete wins (ErrorIrresolvableConflict);
- a hypothesis state machine of CreateItem, UpdateItem (AlwaysOverwrite, or NeverOverwrite with
  the ChangeKey the model holds) and DeleteItem, sequential and interleaved that way, which after
  every step checks that the world, FindItem and a SyncFolderItems replay from a state taken
  before the first step agree with the model (ChangeKey and text of every item it made).
  Bounded: a few examples by default; `-m slow` runs more than 10,000 steps and prints the lost
  and resurrected items it counted (`atomic_support.Agreement`).
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import pytest
from atomic_support import Agreement, machine_settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from hypothesis.stateful import run_state_machine_as_test as run_machine
from lxml import etree

from mock_providers.microsoft.claims import EXCHANGE_RESOURCE, delegated_access_claims
from mock_providers.microsoft.ews.render import encode_id
from mock_providers.server import HubServer
from mock_providers.world import MsUser

S = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
NS = {"s": S, "m": M, "t": T}
PAUSE = 0.3  # for a held request's head to reach the hub before the competing one (loaded CI)
KINDS = {  # kind -> (distinguished folder, element, FieldURI, world attribute)
    "event": ("calendar", "CalendarItem", "item:Subject", "subject"),
    "contact": ("contacts", "Contact", "contacts:GivenName", "given_name"),
}
FIELD = {"event": "Subject", "contact": "GivenName"}
AGREEMENT = Agreement("EWS (HTTP)")


# -- the wire -------------------------------------------------------------------------------------
def envelope(body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{S}" xmlns:m="{M}" '
            f'xmlns:t="{T}"><s:Header><t:RequestServerVersion Version="Exchange2016"/>'
            f"</s:Header><s:Body>{body}</s:Body></s:Envelope>").encode()


class RawSoap:
    """One SOAP request over its own TLS connection, its envelope sent in two parts on demand
    (what a slow client does; the only way to have an UpdateItem arrive while others finish)."""

    def __init__(self, server: HubServer, token: str, body: bytes, held: bool = False) -> None:
        host, port = server.host, server.hub.base_url.rsplit(":", 1)[1]
        context = ssl.create_default_context(cafile=server.ca_bundle)
        raw = socket.create_connection((host, int(port)), timeout=20)
        self.sock = context.wrap_socket(raw, server_hostname=host)
        head = (f"POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: text/xml; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        cut = len(body) // 2 if held else len(body)
        self.rest = body[cut:]
        self.sock.sendall(head + body[:cut])

    def finish(self) -> Any:
        """The rest of the envelope, then the answer's parsed XML (the status must be 200)."""
        if self.rest:
            self.sock.sendall(self.rest)
        data = b""
        while chunk := self.sock.recv(65536):  # Connection: close: the answer ends the stream
            data += chunk
        self.sock.close()
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), data[:500]
        return etree.fromstring(body)


@dataclass(frozen=True)
class Result:
    code: str
    item_id: str | None = None
    change_key: str | None = None


def result(root: Any, operation: str) -> Result:
    (message,) = root.findall(f"s:Body/m:{operation}Response/m:ResponseMessages/*", NS)
    item = message.find("m:Items/*/t:ItemId", NS)
    return Result(message.findtext("m:ResponseCode", namespaces=NS) or "",
                  None if item is None else item.get("Id"),
                  None if item is None else item.get("ChangeKey"))


def create_body(kind: str, text: str) -> bytes:
    folder, element, _, _ = KINDS[kind]
    text = escape(text)
    fields = (f"<t:Subject>{text}</t:Subject><t:Start>2031-01-06T10:00:00Z</t:Start>"
              "<t:End>2031-01-06T11:00:00Z</t:End>") if kind == "event" \
        else f"<t:GivenName>{text}</t:GivenName>"
    return envelope(f'<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>'
                    f'<t:DistinguishedFolderId Id="{folder}"/></m:SavedItemFolderId><m:Items>'
                    f"<t:{element}>{fields}</t:{element}></m:Items></m:CreateItem>")


def update_body(kind: str, item_id: str, change_key: str, text: str, conflict: str) -> bytes:
    _, element, uri, _ = KINDS[kind]
    text = escape(text)
    return envelope(
        f'<m:UpdateItem ConflictResolution="{conflict}" MessageDisposition="SaveOnly" '
        'SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange>'
        f'<t:ItemId Id="{item_id}" ChangeKey="{change_key}"/><t:Updates><t:SetItemField>'
        f'<t:FieldURI FieldURI="{uri}"/><t:{element}><t:{FIELD[kind]}>{text}</t:{FIELD[kind]}>'
        f"</t:{element}></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges>"
        "</m:UpdateItem>")


def delete_body(item_id: str) -> bytes:
    return envelope('<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone">'
                    f'<m:ItemIds><t:ItemId Id="{item_id}"/></m:ItemIds></m:DeleteItem>')


def shape(kind: str) -> str:
    return ("<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>"
            f'<t:FieldURI FieldURI="{KINDS[kind][2]}"/></t:AdditionalProperties></m:ItemShape>')


def found(items: Any, kind: str) -> dict[str, tuple[str, str]]:
    """ItemId -> (ChangeKey, text) of the t:CalendarItem / t:Contact elements under `items`."""
    out = {}
    for item in items.iterfind(f"t:{KINDS[kind][1]}", NS):
        ident = item.find("t:ItemId", NS)
        out[ident.get("Id")] = (ident.get("ChangeKey"), item.findtext(f"t:{FIELD[kind]}",
                                                                      default="", namespaces=NS))
    return out


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    with HubServer(seed=22, tls=True, state_dir=tmp_path_factory.mktemp("ews-atomic")) as srv:
        yield srv


def owner_of(server: HubServer) -> MsUser:
    tenant = server.hub.world.tenant("contoso")
    assert tenant is not None
    return sorted(tenant.users.values(), key=lambda u: u.upn)[0]


def token_for(server: HubServer, user: MsUser) -> str:
    hub = server.hub
    tenant = hub.world.ms_tenants[user.tenant_id]
    return hub.signer.sign(delegated_access_claims(
        tenant_id=tenant.id, client_id=next(iter(tenant.apps)), resource=EXCHANGE_RESOURCE,
        oid=user.id, upn=user.upn, name=user.display_name, scopes=["EWS.AccessAsUser.All"],
        now=hub.world.clock.timestamp(), lifetime=3600))


class Ews:
    def __init__(self, server: HubServer) -> None:
        self.server, self.user = server, owner_of(server)
        self.token = token_for(server, self.user)

    def call(self, body: bytes, operation: str) -> Result:
        return result(RawSoap(self.server, self.token, body).finish(), operation)

    def held(self, body: bytes) -> RawSoap:
        conn = RawSoap(self.server, self.token, body, held=True)
        time.sleep(PAUSE)
        return conn

    def create(self, kind: str, text: str) -> Result:
        made = self.call(create_body(kind, text), "CreateItem")
        assert made.code == "NoError" and made.item_id and made.change_key, made
        return made

    def find_all(self, kind: str) -> dict[str, tuple[str, str]]:
        items: dict[str, tuple[str, str]] = {}
        for offset in range(0, 100_000, 500):  # bounded: 200 pages
            root = RawSoap(self.server, self.token, envelope(
                f'<m:FindItem Traversal="Shallow">{shape(kind)}<m:IndexedPageItemView '
                f'MaxEntriesReturned="500" Offset="{offset}" BasePoint="Beginning"/>'
                f'<m:ParentFolderIds><t:DistinguishedFolderId Id="{KINDS[kind][0]}"/>'
                "</m:ParentFolderIds></m:FindItem>")).finish()
            folder = root.find(".//m:RootFolder", NS)
            assert folder is not None, etree.tostring(root)[:500]
            items.update(found(folder.find("t:Items", NS), kind))
            if folder.get("IncludesLastItemInRange") == "true":
                return items
        raise AssertionError("FindItem never reached the last item")

    def sync(self, kind: str, state: str | None,
             replayed: dict[str, tuple[str, str]] | None = None) -> str:
        """Sync from `state` to the end, applying every change to `replayed`; the last state."""
        for _ in range(200):  # bounded
            state_elem = f"<m:SyncState>{state}</m:SyncState>" if state else ""
            root = RawSoap(self.server, self.token, envelope(
                f"<m:SyncFolderItems>{shape(kind)}<m:SyncFolderId><t:DistinguishedFolderId "
                f'Id="{KINDS[kind][0]}"/></m:SyncFolderId>{state_elem}<m:MaxChangesReturned>'
                "512</m:MaxChangesReturned></m:SyncFolderItems>")).finish()
            message = root.find(".//m:SyncFolderItemsResponseMessage", NS)
            assert message.findtext("m:ResponseCode", namespaces=NS) == "NoError"
            if replayed is not None:
                for change in message.find("m:Changes", NS):
                    if etree.QName(change).localname == "Delete":
                        replayed.pop(change.find("t:ItemId", NS).get("Id"), None)
                    else:
                        replayed.update(found(change, kind))
            state = message.findtext("m:SyncState", namespaces=NS)
            if message.findtext("m:IncludesLastItemInRange", namespaces=NS) == "true":
                assert state
                return state
        raise AssertionError("SyncFolderItems never reached the end")


# -- forced interleavings ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_delete_answered_while_an_update_arrives_stays_deleted(server: HubServer,
                                                                 kind: str) -> None:
    ews = Ews(server)
    made = ews.create(kind, "Doomed")
    assert made.item_id and made.change_key
    state = ews.sync(kind, None)
    update = ews.held(update_body(kind, made.item_id, made.change_key, "Resurrected",
                                 "AlwaysOverwrite"))
    assert ews.call(delete_body(made.item_id), "DeleteItem").code == "NoError"
    assert result(update.finish(), "UpdateItem").code == "ErrorItemNotFound"
    assert made.item_id not in ews.find_all(kind)
    replayed = {made.item_id: (made.change_key, "Doomed")}
    ews.sync(kind, state, replayed)
    assert made.item_id not in replayed
    got = ews.call(envelope(f'<m:GetItem>{shape(kind)}<m:ItemIds><t:ItemId Id="{made.item_id}"/>'
                            "</m:ItemIds></m:GetItem>"), "GetItem")
    assert got.code == "ErrorItemNotFound"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_two_updates_with_one_change_key_cannot_both_succeed(server: HubServer,
                                                             kind: str) -> None:
    ews = Ews(server)
    made = ews.create(kind, "Contested")
    assert made.item_id and made.change_key
    first = ews.held(update_body(kind, made.item_id, made.change_key, "First", "NeverOverwrite"))
    second = ews.held(update_body(kind, made.item_id, made.change_key, "Second",
                                  "NeverOverwrite"))
    won = result(second.finish(), "UpdateItem")
    assert won.code == "NoError"
    assert result(first.finish(), "UpdateItem").code == "ErrorIrresolvableConflict"
    assert ews.find_all(kind)[made.item_id] == (won.change_key, "Second")


# -- the state machine ---------------------------------------------------------------------------
OPS = ("update", "update_key", "delete")  # update: AlwaysOverwrite; update_key: NeverOverwrite
# What XML carries unchanged: no control characters, surrogates or non-characters; no edge
# whitespace (contacts' names are stored stripped). Escaped where it goes into the envelope.
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Co", "Cn")),
                max_size=12).map(str.strip)


def machine(server: HubServer, pause: float = PAUSE) -> type[RuleBasedStateMachine]:
    class EwsWrites(RuleBasedStateMachine):
        """Model per kind: live ItemId -> (ChangeKey, text); deleted ids. Writes commit in the
        order their envelopes complete."""

        items = Bundle("items")

        def __init__(self) -> None:
            super().__init__()
            self.ews = Ews(server)  # a fresh token per run: a long run outlasts an hour
            self.base = {kind: self.ews.sync(kind, None) for kind in KINDS}
            self.live: dict[str, dict[str, tuple[str, str]]] = {k: {} for k in KINDS}
            self.deleted: dict[str, set[str]] = {k: set() for k in KINDS}
            self.sent_keys: dict[str, str] = {}  # the last ChangeKey each item was given

        def expect(self, kind: str, op: str, item_id: str, change_key: str) -> str:
            live = self.live[kind].get(item_id)
            if live is None:
                return "ErrorItemNotFound"
            if op == "update_key" and change_key != live[0]:
                return "ErrorIrresolvableConflict"
            return "NoError"

        def body(self, kind: str, op: str, item_id: str, text: str) -> tuple[bytes, str]:
            change_key = self.sent_keys[item_id]
            if op == "delete":
                return delete_body(item_id), change_key
            conflict = "NeverOverwrite" if op == "update_key" else "AlwaysOverwrite"
            return update_body(kind, item_id, change_key, text, conflict), change_key

        def commit(self, kind: str, op: str, item_id: str, answer: Result, text: str) -> None:
            if answer.code != "NoError":
                return
            if op == "delete":
                del self.live[kind][item_id]
                self.deleted[kind].add(item_id)
                return
            AGREEMENT.answer(answer.item_id, item_id, "the updated item's id")
            assert answer.change_key
            self.live[kind][item_id] = (answer.change_key, text)
            self.sent_keys[item_id] = answer.change_key

        @rule(target=items, kind=st.sampled_from(sorted(KINDS)), text=texts)
        def create(self, kind: str, text: str) -> tuple[str, str]:
            AGREEMENT.steps += 1
            made = self.ews.create(kind, text)
            assert made.item_id and made.change_key
            self.live[kind][made.item_id] = (made.change_key, text)
            self.sent_keys[made.item_id] = made.change_key
            return kind, made.item_id

        @rule(item=items, op=st.sampled_from(OPS), text=texts)
        def write(self, item: tuple[str, str], op: str, text: str) -> None:
            AGREEMENT.steps += 1
            kind, item_id = item
            body, key = self.body(kind, op, item_id, text)
            expected = self.expect(kind, op, item_id, key)
            answer = result(RawSoap(server, self.ews.token, body).finish(),
                            "DeleteItem" if op == "delete" else "UpdateItem")
            AGREEMENT.answer(answer.code, expected, op)
            self.commit(kind, op, item_id, answer, text)

        @rule(item=items, held_op=st.sampled_from(OPS), other_op=st.sampled_from(OPS),
              held_text=texts, other_text=texts)
        def race(self, item: tuple[str, str], held_op: str, other_op: str, held_text: str,
                 other_text: str) -> None:
            """The held request's envelope completes after the other request was answered."""
            AGREEMENT.steps += 1
            kind, item_id = item
            held_body, held_key = self.body(kind, held_op, item_id, held_text)
            held = RawSoap(server, self.ews.token, held_body, held=True)
            time.sleep(pause)
            other_body, other_key = self.body(kind, other_op, item_id, other_text)
            expected = self.expect(kind, other_op, item_id, other_key)
            answer = result(RawSoap(server, self.ews.token, other_body).finish(),
                            "DeleteItem" if other_op == "delete" else "UpdateItem")
            AGREEMENT.answer(answer.code, expected, other_op)
            self.commit(kind, other_op, item_id, answer, other_text)
            expected = self.expect(kind, held_op, item_id, held_key)
            answer = result(held.finish(), "DeleteItem" if held_op == "delete" else "UpdateItem")
            AGREEMENT.answer(answer.code, expected, held_op)
            self.commit(kind, held_op, item_id, answer, held_text)

        @invariant()
        def world_find_and_sync_agree(self) -> None:
            user = self.ews.user
            for kind in KINDS:
                live, deleted = self.live[kind], self.deleted[kind]
                made = set(live) | deleted
                stored = user.mailbox.default_calendar.events if kind == "event" \
                    else user.mailbox.default_contacts.contacts
                world = {encode_id(kind, user, i.id): (i.change_key, getattr(i, KINDS[kind][3]))
                         for i in stored}  # type: ignore[arg-type]
                AGREEMENT.compare(f"world {kind}s", {k: v for k, v in world.items() if k in made},
                                  live, deleted)
                listed = {k: v for k, v in self.ews.find_all(kind).items() if k in made}
                AGREEMENT.compare(f"FindItem {kind}s", listed, live, deleted)
                replayed: dict[str, tuple[str, str]] = {}
                self.ews.sync(kind, self.base[kind], replayed)
                AGREEMENT.compare(f"SyncFolderItems {kind}s",
                                  {k: v for k, v in replayed.items() if k in made}, live, deleted)

    return EwsWrites


def _run(server: HubServer, examples: int, steps: int, derandomize: bool = True,
         pause: float = PAUSE) -> None:
    run_machine(machine(server, pause),
                settings=machine_settings(examples, steps, derandomize))


def test_concurrent_writes_keep_world_find_and_sync_in_agreement(server: HubServer) -> None:
    before = AGREEMENT.steps
    _run(server, examples=3, steps=10)
    assert AGREEMENT.steps - before >= 10


@pytest.mark.slow
def test_concurrent_writes_long_run(server: HubServer, pytestconfig: pytest.Config,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """At least 10,000 steps, each followed by the invariant check, in random runs of up to 50
    steps; only with `-m slow`. Bounded: at most 400 runs. The held envelopes wait 0.1 s, which
    an unloaded hub needs far less than to reach it."""
    if "slow" not in (pytestconfig.getoption("markexpr") or ""):
        pytest.skip("a long run: pytest -m slow")
    AGREEMENT.soak(lambda: _run(server, examples=20, steps=50, derandomize=False, pause=0.1),
              capsys.disabled, runs=400)
