"""Drift on a cassette shaped like a recording of a real tenant: a foreign tenant domain, foreign
user and item ids, an unredacted bearer JWT (as plain vcrpy records it). The replay maps them
onto the mock world (users, created and listed ids, tokens), so the report compares properties:
nothing when the recorded answers are what the mocks answer for the same operations, and exactly
the edits when some were edited.

The recorded answers are made by the mocks for the same operations, then every mock identity and
id in the cassette is rewritten to a foreign one: the replay has to undo that by mapping."""

from __future__ import annotations

import base64
import json
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from harness.traffic.cassettes import Exchange, read_cassette, write_cassette
from harness.traffic.drift import DriftReport, drift
from harness.traffic.replay import MockReplayer
from harness.traffic.routes import HubAddress
from mock_providers.google.tokens import google_tokens
from mock_providers.microsoft.claims import (
    EXCHANGE_RESOURCE,
    GRAPH_RESOURCE,
    delegated_access_claims,
)
from mock_providers.server import HubServer

GRAPH = "https://graph.microsoft.com/v1.0"
GCAL = "https://www.googleapis.com/calendar/v3"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
JANE, JANE_OID = "jane@fabrikam.onmicrosoft.com", "0b7a5f0e-4c1e-4c55-9a49-6f1f8a5e2a11"
BOB = "bob@fabrikam.onmicrosoft.com"
ALEX = "alex@fabrikam-workspace.com"


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


# what plain vcrpy leaves in a cassette: the tenant's real delegated token
REAL_TOKEN = _jwt({"aud": "00000003-0000-0000-c000-000000000000", "tid": TENANT,
                   "upn": JANE, "oid": JANE_OID, "scp": "Calendars.ReadWrite User.Read"})


class Recorder:
    """Sends requests (real host names) to the hub and keeps them as a cassette would."""

    def __init__(self, server: HubServer) -> None:
        self.address = HubAddress(server.base_url)
        self.http = httpx.Client(verify=ssl.create_default_context(cafile=server.ca_bundle),
                                 timeout=10)
        self.exchanges: list[Exchange] = []

    def send(self, method: str, url: str, token: str, recorded_auth: str,
             body: dict[str, Any] | None = None) -> Any:
        target = self.address.to_hub(url)
        assert target is not None
        content = json.dumps(body) if body is not None else None
        headers = {"Authorization": f"Bearer {token}"}
        if content:
            headers["Content-Type"] = "application/json"
        reply = self.http.request(method, target, headers=headers, content=content)
        text = self.address.rewrite_text(reply.text)
        request_headers = [("Authorization", recorded_auth)]
        if content:
            request_headers.append(("Content-Type", "application/json"))
        self.exchanges.append(Exchange(method, url, request_headers, content, reply.status_code,
                                       reply.reason_phrase, list(reply.headers.multi_items()),
                                       text))
        return json.loads(text) if text.startswith("{") else None


def _record(server: HubServer) -> tuple[list[Exchange], dict[str, str]]:
    """The operations, answered by the mocks; returns the exchanges and mock value -> foreign."""
    hub = server.hub
    hub.reset()
    world = hub.world
    tenant = world.tenant("contoso")
    assert tenant is not None
    replayer = MockReplayer(server)  # the users the replay will map onto, in its order
    jane, bob = replayer._ordinary_users()[:2]
    replayer.close()
    alex = next(u for d in world.google_domains.values() for u in d.users.values())
    app = next(a for a in tenant.apps.values() if a.client_secret)
    ms = str(hub.signer.sign(delegated_access_claims(
        tenant_id=tenant.id, client_id=app.client_id, resource=GRAPH_RESOURCE, oid=jane.id,
        upn=jane.upn, name=jane.display_name, scopes=["Calendars.ReadWrite", "User.Read"],
        now=world.clock.timestamp())))
    client = next(iter(world.google_clients.values()))
    google = str(google_tokens(world).issue_access(
        alex.email, client.client_id, ["https://www.googleapis.com/auth/calendar"],
        world.clock.timestamp()).token)
    seeded = next(e for e in jane.mailbox.default_calendar.events
                  if not getattr(e, "recurrence", None))
    seeded_google = next(e for c in alex.calendars.values() for e in c.events
                         if not getattr(e, "recurrence", None))

    rec = Recorder(server)
    rec.exchanges.append(Exchange(
        "POST", f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token",
        [("Content-Type", "application/x-www-form-urlencoded")],
        "client_id=c0ffee&grant_type=authorization_code&code=REDACTED&client_secret=REDACTED",
        200, "OK", [("Content-Type", "application/json")],
        json.dumps({"token_type": "Bearer", "access_token": "REDACTED", "expires_in": 3599})))
    auth = f"Bearer {REAL_TOKEN}"
    rec.send("GET", f"{GRAPH}/me", ms, auth)
    start = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT10:00:00")
    end = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT10:30:00")
    made = rec.send("POST", f"{GRAPH}/users/{jane.upn}/events", ms, auth, {
        "subject": "Review", "start": {"dateTime": start, "timeZone": "UTC"},
        "end": {"dateTime": end, "timeZone": "UTC"},
        "attendees": [{"emailAddress": {"address": bob.upn}, "type": "required"}]})
    created = made["id"]
    rec.send("GET", f"{GRAPH}/users/{jane.upn}/events/{created}", ms, auth)
    rec.send("PATCH", f"{GRAPH}/users/{jane.upn}/events/{created}", ms, auth,
             {"subject": "Review (moved)"})
    rec.send("DELETE", f"{GRAPH}/users/{jane.upn}/events/{created}", ms, auth)
    rec.send("GET", f"{GRAPH}/users/{jane.upn}/events/{created}", ms, auth)
    rec.send("GET", f"{GRAPH}/me/events/{seeded.id}", ms, auth)  # never created nor listed
    page = rec.send("GET", f"{GRAPH}/me/events?$top=2&$select=subject,start,end", ms, auth)
    rec.send("GET", page["@odata.nextLink"], ms, auth)
    gauth = "Bearer REDACTED"
    rec.send("GET", f"{GCAL}/calendars/primary", google, gauth)
    first = rec.send("GET", f"{GCAL}/calendars/{alex.email}/events?maxResults=2", google, gauth)
    rec.send("GET", f"{GCAL}/calendars/{alex.email}/events?maxResults=2&pageToken="
             f"{first['nextPageToken']}", google, gauth)
    rec.send("GET", f"{GCAL}/calendars/primary/events/{seeded_google.id}", google, gauth)
    rec.http.close()

    foreign = {jane.upn: JANE, jane.id: JANE_OID, bob.upn: BOB, alex.email: ALEX,
               tenant.id: TENANT, created: "AAMkAGQ5NzE4LWNyZWF0ZWQtaW4tdGhlLXRlbmFudA==",
               seeded.id: "AAMkAGQ5NzE4LXJlYWwtZXZlbnQtb2YtamFuZQ==",
               seeded_google.id: "0f3kq9c8ht5m2real7event4alex"}
    for item in page["value"]:
        foreign.setdefault(item["id"], f"AAMkAGQ5NzE4LWxpc3RlZC0{len(foreign):04d}")
    return rec.exchanges, foreign


def _foreign(exchanges: list[Exchange], foreign: dict[str, str]) -> list[Exchange]:
    def swap(text: str | None) -> str | None:
        if text is None:
            return None
        for mock, real in sorted(foreign.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(mock, real).replace(mock.lower(), real)
            text = text.replace(mock.replace("@", "%40"), real.replace("@", "%40"))
        return text

    return [Exchange(e.method, swap(e.url) or "", [(k, swap(v) or "") for k, v in
                                                   e.request_headers],
                     swap(e.request_body), e.status, e.reason,
                     [(k, swap(v) or "") for k, v in e.response_headers],
                     swap(e.response_body)) for e in exchanges]


@pytest.fixture(scope="module")
def tenant_cassette(hub_server: HubServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    exchanges, foreign = _record(hub_server)
    path = tmp_path_factory.mktemp("tenant") / "real-tenant.yaml"
    write_cassette(path, _foreign(exchanges, foreign))
    text = path.read_text()
    # the cassette really is foreign: no mock user, tenant or id is left in it
    assert all(mock not in text for mock in foreign), [m for m in foreign if m in text]
    return path


def _replay(server: HubServer, path: Path) -> DriftReport:
    server.hub.reset()
    replayer = MockReplayer(server)
    try:
        return drift(str(path), read_cassette(path), replayer)
    finally:
        replayer.close()


def test_a_real_tenant_recording_is_mapped_and_compares_clean(hub_server: HubServer,
                                                              tenant_cassette: Path) -> None:
    report = _replay(hub_server, tenant_cassette)
    assert report.differences == [], [d.line() for d in report.differences]
    assert [i for i, _ in report.skipped] == [1]  # the token request only
    assert report.interactions == 14 and report.replayed == 13
    world = hub_server.hub.world
    replayer = MockReplayer(hub_server)
    jane, bob = replayer._ordinary_users()[:2]
    replayer.close()
    alex = next(u for d in world.google_domains.values() for u in d.users.values())
    mapped = {(m["kind"], m["recorded"]): (m["mock"], m["how"]) for m in report.mapped}
    assert mapped[("user", JANE)][0] == jane.upn
    assert mapped[("user", JANE_OID)][0] == jane.id
    assert "signed-in" in mapped[("user", JANE)][1]
    assert mapped[("user", BOB)][0] == bob.upn
    assert mapped[("user", ALEX)][0] == alex.email
    assert mapped[("tenant", TENANT)][0] == world.tenant("contoso").id  # type: ignore[union-attr]
    created = mapped[("item", "AAMkAGQ5NzE4LWNyZWF0ZWQtaW4tdGhlLXRlbmFudA==")]
    assert created[1] == "returned by the replayed request"
    assert mapped[("item", "AAMkAGQ5NzE4LXJlYWwtZXZlbnQtb2YtamFuZQ==")][1].startswith(
        "created for #8")
    assert mapped[("item", "0f3kq9c8ht5m2real7event4alex")][1].startswith("created for #14")


def _edit(source: Path, target: Path) -> None:
    data = yaml.safe_load(source.read_text())
    interactions = data["interactions"]

    def body(number: int) -> Any:
        return json.loads(interactions[number - 1]["response"]["body"]["string"])

    def put(number: int, value: Any) -> None:
        interactions[number - 1]["response"]["body"]["string"] = json.dumps(value)

    got = body(4)  # the GET of the created event: a renamed property
    got["title"] = got.pop("subject")
    put(4, got)
    missing = body(7)  # the 404 after the delete: another error code
    assert missing["error"]["code"] == "ErrorItemNotFound"
    missing["error"]["code"] = "ErrorInvalidIdMalformed"
    put(7, missing)
    listed = body(13)  # Google's second page: a changed type
    listed["items"][0]["status"] = 1
    put(13, listed)
    target.write_text(yaml.safe_dump(data))


def test_each_edit_of_a_real_tenant_recording_is_named_and_nothing_else(
        hub_server: HubServer, tenant_cassette: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited.yaml"
    _edit(tenant_cassette, edited)
    report = _replay(hub_server, edited)
    found = {(d.index, d.kind, d.where, json.dumps(d.recorded), json.dumps(d.mock))
             for d in report.differences}
    assert found == {
        (4, "property_renamed", "title", '"title"', '"subject"'),
        (7, "error_code", "error", '["ErrorInvalidIdMalformed"]', '["ErrorItemNotFound"]'),
        (13, "property_type", "items[].status", '["number", "string"]', '["string"]'),
    }, [d.line() for d in report.differences]


def test_slots_name_the_user_and_item_segments_of_a_path() -> None:
    from harness.traffic.identities import slots

    found = slots("graph.microsoft.com", "/v1.0/users/jane%40f.com/calendars/C1/events/E1/"
                                         "instances")
    assert [(s.index, s.kind, s.collection, s.value) for s in found] == [
        (3, "user", "users", "jane@f.com"), (5, "item", "calendars", "C1"),
        (7, "item", "events", "E1")]
    assert slots("graph.microsoft.com", "/v1.0/me/calendarView/delta") == []
    assert slots("graph.microsoft.com", "/v1.0/me/mailFolders/inbox/messages") == []
    google = slots("www.googleapis.com", "/calendar/v3/calendars/a%40b.com/events/e1")
    assert [(s.kind, s.value) for s in google] == [("user", "a@b.com"), ("item", "e1")]
    assert slots("www.googleapis.com", "/calendar/v3/calendars/primary/events") == []
    person = slots("people.googleapis.com", "/v1/people/c42:updateContact")
    assert [(s.value, s.suffix) for s in person] == [("c42", ":updateContact")]
    assert slots("people.googleapis.com", "/v1/people/me/connections") == []


def test_the_drift_command_lists_the_mappings(tenant_cassette: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    def drift_command(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "harness", "drift", str(tenant_cassette),
                               "--state-dir", str(tmp_path / "state"), *extra],
                              capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)

    clean = drift_command()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 difference(s)" in clean.stdout and "mapped onto the mock world:" in clean.stdout
    assert f"user {JANE} -> " in clean.stdout
    report = json.loads(drift_command("--json", "--tenant", "fabrikam").stdout)
    assert report["differences"] == []
    assert any(m["kind"] == "tenant" and m["how"] == "the mock tenant 'fabrikam'"
               for m in report["mapped"])
    wrong = drift_command("--tenant", "nowhere")
    assert wrong.returncode == 2 and "no mock tenant 'nowhere'" in wrong.stderr


EWS = "https://outlook.office365.com/EWS/Exchange.asmx"
SOAP = ('<?xml version="1.0" encoding="utf-8"?><s:Envelope '
        'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" '
        'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Header>'
        '<t:RequestServerVersion Version="Exchange2016"/></s:Header><s:Body>{}</s:Body>'
        '</s:Envelope>')
SHAPE = ('<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>'
         '<t:FieldURI FieldURI="item:Subject"/><t:FieldURI FieldURI="calendar:Start"/>'
         '</t:AdditionalProperties></m:ItemShape>')


def test_an_ews_recording_of_a_real_tenant_maps_mailboxes_and_item_ids(
        hub_server: HubServer, tmp_path: Path) -> None:
    """EWS: the mailbox address in the SOAP body, the ItemIds and ChangeKeys a FindItem and a
    CreateItem returned, all foreign; replayed, they become the mock's and nothing differs."""
    import re

    hub = hub_server.hub
    hub.reset()
    replayer = MockReplayer(hub_server)
    jane, bob = replayer._ordinary_users()[:2]
    replayer.close()
    tenant = hub.world.tenant("contoso")
    assert tenant is not None
    token = str(hub.signer.sign(delegated_access_claims(
        tenant_id=tenant.id, client_id=next(iter(tenant.apps)), resource=EXCHANGE_RESOURCE,
        oid=jane.id, upn=jane.upn, name=jane.display_name, scopes=["EWS.AccessAsUser.All"],
        now=hub.world.clock.timestamp())))
    address = HubAddress(hub_server.base_url)
    exchanges: list[Exchange] = []
    ids = re.compile(r'(?:Id|ChangeKey)="([^"]+)"')

    with httpx.Client(verify=ssl.create_default_context(cafile=hub_server.ca_bundle),
                      timeout=10) as http:
        def send(body: str) -> str:
            content = SOAP.format(body)
            reply = http.post(address.to_hub(EWS) or "", content=content.encode(), headers={
                "Authorization": f"Bearer {token}", "Content-Type": "text/xml; charset=utf-8"})
            assert reply.status_code == 200, reply.text
            exchanges.append(Exchange("POST", EWS, [("Authorization", f"Bearer {REAL_TOKEN}"),
                                                    ("Content-Type", "text/xml; charset=utf-8")],
                                      content, 200, "OK", list(reply.headers.multi_items()),
                                      reply.text))
            return reply.text

        found = send(f'<m:FindItem Traversal="Shallow">{SHAPE}<m:IndexedPageItemView '
                     'MaxEntriesReturned="3" Offset="0" BasePoint="Beginning"/>'
                     '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"><t:Mailbox>'
                     f'<t:EmailAddress>{jane.upn}</t:EmailAddress></t:Mailbox>'
                     '</t:DistinguishedFolderId></m:ParentFolderIds></m:FindItem>')
        first = re.search(r'<t:ItemId Id="([^"]+)" ChangeKey="([^"]+)"', found)
        assert first is not None
        send(f'<m:GetItem>{SHAPE}<m:ItemIds><t:ItemId Id="{first[1]}" ChangeKey="{first[2]}"/>'
             '</m:ItemIds></m:GetItem>')
        made = send('<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items>'
                    '<t:CalendarItem><t:Subject>Review</t:Subject>'
                    '<t:Start>2030-01-07T10:00:00Z</t:Start><t:End>2030-01-07T10:30:00Z</t:End>'
                    '<t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>'
                    f'{bob.upn}</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees>'
                    '</t:CalendarItem></m:Items></m:CreateItem>')
        created = re.search(r'<t:ItemId Id="([^"]+)" ChangeKey="([^"]+)"', made)
        assert created is not None
        send(f'<m:GetItem>{SHAPE}<m:ItemIds><t:ItemId Id="{created[1]}" '
             f'ChangeKey="{created[2]}"/></m:ItemIds></m:GetItem>')

    foreign = {jane.upn: JANE, bob.upn: BOB}
    for exchange in exchanges:
        for value in ids.findall(exchange.response_body or ""):
            foreign.setdefault(value, f"AAMkADk0Zm9yZWlnbi1ld3M{len(foreign):04d}AAA=")
    path = tmp_path / "ews.yaml"
    write_cassette(path, _foreign(exchanges, foreign))
    assert all(mock not in path.read_text() for mock in foreign)
    report = _replay(hub_server, path)
    assert report.replayed == 4 and report.differences == [], \
        [d.line() for d in report.differences]
    mapped = {(m["kind"], m["recorded"]): m["mock"] for m in report.mapped}
    assert mapped[("user", JANE)] == jane.upn and mapped[("user", BOB)] == bob.upn
    hows = [m["how"] for m in report.mapped if m["kind"] == "item"]
    assert len(hows) >= 4 and set(hows) == {"the EWS id at the same place of the answer"}
