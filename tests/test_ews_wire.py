"""The EWS mock's wire shapes over the TLS hub: ServerVersionInfo per tenant build, SOAP faults,
401 challenges, Basic vs OAuth policy, per-item errors, sync states, and the control endpoint
that sets a tenant's Exchange deployment."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from lxml import etree

from harness.net import httpx_verify
from mock_providers.hub import Hub
from mock_providers.microsoft.claims import (
    EXCHANGE_RESOURCE,
    GRAPH_RESOURCE,
    app_access_claims,
    delegated_access_claims,
)
from mock_providers.microsoft.ews.render import encode_id, folder_key_for
from mock_providers.server import HubServer
from mock_providers.world import FaultSpec, MsTenant, MsUser

S = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
NS = {"s": S, "m": M, "t": T, "e": E}
DUMMY_CONVERT = ('<m:ConvertId DestinationFormat="EntryId"><m:SourceIds>'
                 '<t:AlternateId Format="EwsId" Id="DUMMY" Mailbox="DUMMY"/></m:SourceIds>'
                 '</m:ConvertId>')
CALENDAR_SHAPE = ('<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>'
                  '<t:FieldURI FieldURI="item:Subject"/><t:FieldURI FieldURI="calendar:Start"/>'
                  '</t:AdditionalProperties></m:ItemShape>')


# -- fixtures and helpers ----------------------------------------------------------------------
@pytest.fixture
def hub(hub_server: HubServer) -> Iterator[Hub]:
    hub = hub_server.hub
    hub.reset()
    yield hub
    hub.world.faults.clear()
    hub.reset()


@pytest.fixture
def client(hub_server: HubServer, hub: Hub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub.base_url, verify=httpx_verify(hub_server.ca_bundle),
                      timeout=10) as c:
        yield c


def control_auth(hub: Hub) -> dict[str, str]:
    """The control API's token header (this client also talks EWS with its own Authorization)."""
    return {"X-Calharness-Control-Token": hub.control_token}


def tenant(hub: Hub, key: str) -> MsTenant:
    found = hub.world.tenant(key)
    assert found is not None
    return found


def users(hub: Hub, key: str) -> list[MsUser]:
    return sorted(tenant(hub, key).users.values(), key=lambda u: u.upn)


def user_token(hub: Hub, user: MsUser, scopes: tuple[str, ...] = ("EWS.AccessAsUser.All",),
               resource: str = EXCHANGE_RESOURCE, lifetime: int = 3600) -> str:
    t = hub.world.ms_tenants[user.tenant_id]
    client_id = next(iter(t.apps))
    return hub.signer.sign(delegated_access_claims(
        tenant_id=t.id, client_id=client_id, resource=resource, oid=user.id, upn=user.upn,
        name=user.display_name, scopes=list(scopes), now=hub.world.clock.timestamp(),
        lifetime=lifetime))


def app_token(hub: Hub, roles: tuple[str, ...] = ("full_access_as_app",),
              key: str = "contoso") -> str:
    t = tenant(hub, key)
    return hub.signer.sign(app_access_claims(
        tenant_id=t.id, client_id=next(iter(t.apps)), resource=EXCHANGE_RESOURCE,
        roles=list(roles), now=hub.world.clock.timestamp()))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(user: MsUser, password: str | None = None) -> dict[str, str]:
    raw = f"{user.upn}:{password if password is not None else user.password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def envelope(body: str, version: str | None = "Exchange2016", header: str = "") -> bytes:
    version_elem = f'<t:RequestServerVersion Version="{version}"/>' if version else ""
    return (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{S}" xmlns:m="{M}" '
            f'xmlns:t="{T}"><s:Header>{version_elem}{header}</s:Header><s:Body>{body}</s:Body>'
            "</s:Envelope>").encode()


def impersonating(address: str) -> str:
    return (f"<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{address}"
            "</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>")


def post(client: httpx.Client, headers: dict[str, str], body: bytes) -> httpx.Response:
    return client.post("/EWS/Exchange.asmx", content=body,
                       headers={"Content-Type": "text/xml; charset=utf-8", **headers})


def xml(response: httpx.Response) -> Any:
    assert response.headers["content-type"].startswith("text/xml")
    assert response.content.startswith(b"<?xml")  # what exchangelib's is_xml() looks for
    return etree.fromstring(response.content)


def fault(response: httpx.Response) -> dict[str, Any]:
    """The parts of a SOAP fault exchangelib reads."""
    root = xml(response)
    node = root.find("s:Body/s:Fault", NS)
    assert node is not None, response.text
    faultcode = node.find("faultcode")
    prefix, _, code = faultcode.text.partition(":")
    assert faultcode.nsmap[prefix] == T
    detail = node.find("detail")
    assert detail.findtext("e:ResponseCode", namespaces=NS) == code
    assert detail.findtext("e:Message", namespaces=NS)
    return {"code": code, "faultstring": node.findtext("faultstring"), "detail": detail,
            "version": root.find("s:Header/t:ServerVersionInfo", NS)}


def messages(response: httpx.Response, operation: str) -> list[Any]:
    assert response.status_code == 200, response.text
    return xml(response).findall(
        f"s:Body/m:{operation}Response/m:ResponseMessages/m:{operation}ResponseMessage", NS)


def codes(response: httpx.Response, operation: str) -> list[str]:
    return [m.findtext("m:ResponseCode", namespaces=NS) for m in messages(response, operation)]


# -- ServerVersionInfo and version negotiation --------------------------------------------------
@pytest.mark.parametrize(("key", "build", "expected"), [
    ("contoso", None, ("15", "20", "8207", "17", "V2018_01_08")),
    ("fabrikam", None, ("15", "1", "466", "34", "Exchange2016")),
    ("fabrikam", "15.1.544.27", ("15", "1", "544", "27", "Exchange2016")),
    ("fabrikam", "15.0.1497.2", ("15", "0", "1497", "2", "Exchange2013_SP1")),
    ("fabrikam", "14.3.123.4", ("14", "3", "123", "4", "Exchange2010_SP2")),
])
def test_server_version_info_follows_the_tenant_build(
        hub: Hub, client: httpx.Client, key: str, build: str | None,
        expected: tuple[str, ...]) -> None:
    if build:
        response = client.put(f"/_control/microsoft/tenants/{key}/exchange",
                              json={"deployment": "onpremises", "build": build},
                              headers=control_auth(hub))
        assert response.json()["build"] == build
    user = users(hub, key)[0]
    auth = bearer(user_token(hub, user)) if key == "contoso" else basic(user)
    response = post(client, auth, envelope(DUMMY_CONVERT, "Exchange2010_SP2"))
    info = xml(response).find("s:Header/t:ServerVersionInfo", NS)
    assert tuple(info.get(a) for a in ("MajorVersion", "MinorVersion", "MajorBuildNumber",
                                       "MinorBuildNumber", "Version")) == expected
    # exchangelib's version probe: an error message is fine, the header is what it reads
    assert codes(response, "ConvertId") == ["ErrorInvalidIdMalformed"]


@pytest.mark.parametrize(("key", "build", "requested", "accepted"), [
    ("contoso", None, "Exchange2007_SP1", True),
    ("contoso", None, "V2018_01_08", True),
    ("contoso", None, None, True),
    ("contoso", None, "Exchange2099", False),
    ("contoso", None, "<script>", False),
    ("fabrikam", "15.0.1497.2", "Exchange2016", False),
    ("fabrikam", "15.0.1497.2", "Exchange2013_SP1", True),
    ("fabrikam", "15.1.466.34", "V2016_01_06", False),
])
def test_request_server_version_older_is_accepted_newer_or_unknown_is_a_fault(
        hub: Hub, client: httpx.Client, key: str, build: str | None, requested: str | None,
        accepted: bool) -> None:
    if build:
        client.put(f"/_control/microsoft/tenants/{key}/exchange",
                   json={"build": build}, headers=control_auth(hub)).raise_for_status()
    user = users(hub, key)[0]
    auth = bearer(user_token(hub, user)) if key == "contoso" else basic(user)
    version = requested.replace("<", "&lt;").replace(">", "&gt;") if requested else None
    response = post(client, auth, envelope(DUMMY_CONVERT, version))
    if accepted:
        assert codes(response, "ConvertId") == ["ErrorInvalidIdMalformed"]
        return
    assert response.status_code == 500
    parts = fault(response)
    assert parts["code"] == "ErrorInvalidServerVersion"
    assert parts["faultstring"] == "The specified server version is invalid."
    assert parts["version"] is not None


# -- SOAP faults from the fault plan ------------------------------------------------------------
@pytest.mark.parametrize(("retry_after", "back_off_ms"), [(3, "3000"), (None, "2000")])
def test_throttle_is_an_error_server_busy_fault_with_back_off(
        hub: Hub, client: httpx.Client, retry_after: int | None, back_off_ms: str) -> None:
    user = users(hub, "contoso")[0]
    hub.world.faults.add(FaultSpec(kind="throttle", provider="ews", retry_after=retry_after))
    response = post(client, bearer(user_token(hub, user)), envelope(DUMMY_CONVERT))
    assert response.status_code == 500
    parts = fault(response)
    assert parts["code"] == "ErrorServerBusy"
    value = parts["detail"].find("t:MessageXml/t:Value", NS)
    assert (value.get("Name"), value.text) == ("BackOffMilliseconds", back_off_ms)
    # the fault was spent: the next request is served
    assert codes(post(client, bearer(user_token(hub, user)), envelope(DUMMY_CONVERT)),
                 "ConvertId") == ["ErrorInvalidIdMalformed"]
    entry = hub.world.audit.query(provider="ews")[0]
    assert (entry.status, entry.outcome, entry.operation) == (500, "ErrorServerBusy", "ConvertId")


def test_status_latency_and_drop_faults(hub: Hub, client: httpx.Client) -> None:
    user = users(hub, "contoso")[0]
    auth = bearer(user_token(hub, user))
    hub.world.faults.add(FaultSpec(kind="status", provider="ews", status=503, retry_after=5))
    response = post(client, auth, envelope(DUMMY_CONVERT))
    assert (response.status_code, response.headers["retry-after"]) == (503, "5")
    assert fault(response)["code"] == "ErrorInternalServerTransientError"
    hub.world.faults.add(FaultSpec(kind="latency", provider="ews", delay_ms=300))
    started = time.monotonic()
    assert post(client, auth, envelope(DUMMY_CONVERT)).status_code == 200
    assert time.monotonic() - started >= 0.3
    hub.world.faults.add(FaultSpec(kind="drop", provider="ews"))
    with pytest.raises(httpx.HTTPError):
        post(client, auth, envelope(DUMMY_CONVERT))
    assert post(client, auth, envelope(DUMMY_CONVERT)).status_code == 200


# -- authentication ---------------------------------------------------------------------------
def challenge(response: httpx.Response) -> tuple[list[str], str | None]:
    assert response.status_code == 401 and not response.content
    return response.headers.get_list("www-authenticate"), response.headers.get(
        "ms-diagnostics-public")


def test_unauthenticated_probe_gets_exchange_challenges(hub: Hub, client: httpx.Client) -> None:
    offers, diagnostics = challenge(post(client, {}, envelope(DUMMY_CONVERT)))
    bearer_offer = offers[0]
    assert bearer_offer.startswith("Bearer ")
    for part in ('client_id="00000002-0000-0ff1-ce00-000000000000"', 'trusted_issuers="',
                 'token_types="app_asserted_user_v1 service_asserted_app_v1"',
                 'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"',
                 'error="invalid_token"'):
        assert part in bearer_offer
    assert offers[1:] == ['Basic Realm=""']  # fabrikam (hybrid) allows Basic
    assert diagnostics is None
    # the probe names the mailbox: an Exchange Online one only takes OAuth
    online = users(hub, "contoso")[0].upn
    offers, diagnostics = challenge(post(client, {"X-AnchorMailbox": online},
                                         envelope(DUMMY_CONVERT)))
    assert len(offers) == 1 and offers[0].startswith("Bearer ")
    assert diagnostics is not None and "Modern Auth" in diagnostics
    # no tenant allows Basic any more: the anonymous probe says Modern Auth too
    client.put("/_control/microsoft/tenants/fabrikam/exchange",
               json={"enforce_oauth": True}, headers=control_auth(hub)).raise_for_status()
    offers, diagnostics = challenge(post(client, {}, envelope(DUMMY_CONVERT)))
    assert len(offers) == 1 and diagnostics is not None and "Modern Auth" in diagnostics


def test_basic_only_for_on_premises_mailboxes_without_enforce_oauth(
        hub: Hub, client: httpx.Client) -> None:
    onprem, online = users(hub, "fabrikam")[0], users(hub, "contoso")[0]
    assert codes(post(client, basic(onprem), envelope(DUMMY_CONVERT)), "ConvertId")
    offers, _ = challenge(post(client, basic(onprem, "wrong-password"), envelope(DUMMY_CONVERT)))
    assert 'Basic Realm=""' in offers
    offers, diagnostics = challenge(post(client, basic(online), envelope(DUMMY_CONVERT)))
    assert offers == [offers[0]] and "Modern Auth" in (diagnostics or "")
    client.put("/_control/microsoft/tenants/fabrikam/exchange",
               json={"enforce_oauth": True}, headers=control_auth(hub)).raise_for_status()
    offers, diagnostics = challenge(post(client, basic(onprem), envelope(DUMMY_CONVERT)))
    assert len(offers) == 1 and "Modern Auth" in (diagnostics or "")
    # a bearer token still works for that tenant
    assert codes(post(client, bearer(user_token(hub, onprem)), envelope(DUMMY_CONVERT)),
                 "ConvertId")
    refused = [e for e in hub.world.audit.query(provider="ews") if e.status == 401]
    assert len(refused) == 3


def test_bearer_tokens_are_checked_like_exchange_online(hub: Hub, client: httpx.Client) -> None:
    user = users(hub, "contoso")[0]
    cases = {
        "graph audience": (user_token(hub, user, resource=GRAPH_RESOURCE), "2000003"),
        "expired": (user_token(hub, user, lifetime=-10), "2000001"),
        "no EWS scope": (user_token(hub, user, scopes=("User.Read",)), "2000008"),
        "app without role": (app_token(hub, roles=("Calendars.Read",)), "2000008"),
        "not a token": ("abc.def", "2000001"),
    }
    for name, (token, diagnostic) in cases.items():
        response = post(client, bearer(token), envelope(DUMMY_CONVERT))
        assert response.status_code == 401, name
        assert response.headers["x-ms-diagnostics"].startswith(diagnostic), name


def test_application_tokens_act_only_through_impersonation(hub: Hub,
                                                           client: httpx.Client) -> None:
    owner, other = users(hub, "contoso")[:2]
    foreign = users(hub, "fabrikam")[0]
    app = bearer(app_token(hub))
    get_calendar = ('<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape>'
                    '</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="calendar"/>'
                    '</m:FolderIds></m:GetFolder>')
    assert fault(post(client, app, envelope(get_calendar)))["code"] == \
        "ErrorInvalidExchangeImpersonationHeaderData"
    assert fault(post(client, app, envelope(get_calendar, header=impersonating(
        foreign.upn))))["code"] == "ErrorNonExistentMailbox"
    assert fault(post(client, bearer(user_token(hub, other)), envelope(
        get_calendar, header=impersonating(owner.upn))))["code"] == "ErrorImpersonateUserDenied"
    response = post(client, app, envelope(get_calendar, header=impersonating(owner.upn)))
    folder = messages(response, "GetFolder")[0].find("m:Folders/t:CalendarFolder", NS)
    assert folder.findtext("t:FolderClass", namespaces=NS) == "IPF.Appointment"
    assert folder.findtext("t:TotalCount", namespaces=NS) == str(
        len(owner.mailbox.default_calendar.events))
    entry = hub.world.audit.query(provider="ews")[-1]
    assert (entry.user, entry.detail["impersonation"], entry.scopes) == (
        owner.upn, owner.upn, ["full_access_as_app"])


# -- per-item errors -----------------------------------------------------------------------
def test_get_item_reports_each_id_on_its_own(hub: Hub, client: httpx.Client) -> None:
    owner, other = users(hub, "contoso")[:2]
    mine = next(iter(owner.mailbox.default_calendar.events))
    theirs = next(iter(other.mailbox.default_calendar.events))
    ids = [("not-an-id", ""), (encode_id("event", owner, "no-such-event"), ""),
           (encode_id("event", other, theirs.id), theirs.change_key),
           (encode_id("event", owner, mine.id), mine.change_key)]
    item_ids = "".join(f'<t:ItemId Id="{i}" ChangeKey="{k}"/>' for i, k in ids)
    response = post(client, bearer(user_token(hub, owner)),
                    envelope(f"<m:GetItem>{CALENDAR_SHAPE}<m:ItemIds>{item_ids}</m:ItemIds>"
                             "</m:GetItem>"))
    assert codes(response, "GetItem") == ["ErrorInvalidIdMalformed", "ErrorItemNotFound",
                                          "ErrorAccessDenied", "NoError"]
    found = messages(response, "GetItem")
    assert [m.get("ResponseClass") for m in found] == ["Error", "Error", "Error", "Success"]
    item = found[3].find("m:Items/t:CalendarItem", NS)
    assert item.findtext("t:Subject", namespaces=NS) == mine.subject
    assert item.find("t:Body", NS) is None  # only the requested properties
    assert hub.world.audit.query(provider="ews")[-1].outcome == "ErrorInvalidIdMalformed"


def test_update_item_conflict_resolution(hub: Hub, client: httpx.Client) -> None:
    owner = users(hub, "contoso")[0]
    event = sorted(owner.mailbox.default_calendar.events, key=lambda e: e.id)[0]
    stale = "stale-change-key"

    def update(mode: str, key: str, subject: str) -> httpx.Response:
        change = (f'<t:ItemChange><t:ItemId Id="{encode_id("event", owner, event.id)}" '
                  f'ChangeKey="{key}"/><t:Updates><t:SetItemField><t:FieldURI '
                  f'FieldURI="item:Subject"/><t:CalendarItem><t:Subject>{subject}</t:Subject>'
                  "</t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange>")
        return post(client, bearer(user_token(hub, owner)), envelope(
            f'<m:UpdateItem ConflictResolution="{mode}" MessageDisposition="SaveOnly" '
            f'SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges>{change}'
            "</m:ItemChanges></m:UpdateItem>"))

    for mode in ("NeverOverwrite", "AutoResolve"):
        assert codes(update(mode, stale, "lost"), "UpdateItem") == ["ErrorIrresolvableConflict"]
    assert event.subject != "lost"
    before = event.change_key
    response = update("AlwaysOverwrite", stale, "kept")
    assert codes(response, "UpdateItem") == ["NoError"]
    new_key = messages(response, "UpdateItem")[0].find("m:Items/t:CalendarItem/t:ItemId", NS)
    assert event.subject == "kept" and new_key.get("ChangeKey") == event.change_key != before
    assert codes(update("NeverOverwrite", event.change_key, "current key"), "UpdateItem") == [
        "NoError"]


# -- SyncFolderItems --------------------------------------------------------------------------
def sync(client: httpx.Client, headers: dict[str, str], folder: str, state: str | None,
         max_changes: int = 100) -> httpx.Response:
    state_elem = f"<m:SyncState>{state}</m:SyncState>" if state is not None else ""
    return post(client, headers, envelope(
        f"<m:SyncFolderItems>{CALENDAR_SHAPE}<m:SyncFolderId>{folder}</m:SyncFolderId>"
        f"{state_elem}<m:MaxChangesReturned>{max_changes}</m:MaxChangesReturned>"
        "</m:SyncFolderItems>"))


def test_sync_pages_and_refuses_bad_states(hub: Hub, client: httpx.Client) -> None:
    owner = users(hub, "contoso")[0]
    auth = bearer(user_token(hub, owner))
    calendar = '<t:DistinguishedFolderId Id="calendar"/>'
    state, seen, pages = None, [], 0
    while True:
        message = messages(sync(client, auth, calendar, state, max_changes=3),
                           "SyncFolderItems")[0]
        changes = message.find("m:Changes", NS)
        assert len(changes) <= 3
        seen += [c.find("t:CalendarItem/t:ItemId", NS).get("Id") for c in changes]
        assert {etree.QName(c).localname for c in changes} <= {"Create"}
        state, pages = message.findtext("m:SyncState", namespaces=NS), pages + 1
        if message.findtext("m:IncludesLastItemInRange", namespaces=NS) == "true":
            break
    assert pages == 3 and len(seen) == len(set(seen)) == len(owner.mailbox.default_calendar.events)
    quiet = messages(sync(client, auth, calendar, state), "SyncFolderItems")[0]
    assert len(quiet.find("m:Changes", NS)) == 0
    contacts = '<t:DistinguishedFolderId Id="contacts"/>'
    for bad_state, folder in [("garbage!", calendar), (base64.b64encode(b"x" * 40).decode(),
                                                       calendar), (state, contacts)]:
        response = sync(client, auth, folder, bad_state)
        message = messages(response, "SyncFolderItems")[0]
        assert message.get("ResponseClass") == "Error"
        assert message.findtext("m:ResponseCode", namespaces=NS) == "ErrorInvalidSyncStateData"
        # exchangelib reads both even on errors
        assert message.find("m:SyncState", NS) is not None
        assert message.findtext("m:IncludesLastItemInRange", namespaces=NS) == "true"
    hub.reset()  # a state from another world is not accepted either
    auth = bearer(user_token(hub, users(hub, "contoso")[0]))
    assert codes(sync(client, auth, calendar, state), "SyncFolderItems") == [
        "ErrorInvalidSyncStateData"]


def test_find_item_paging_restriction_and_sort(hub: Hub, client: httpx.Client) -> None:
    owner = users(hub, "contoso")[0]
    events = sorted(owner.mailbox.default_calendar.events, key=lambda e: e.start, reverse=True)
    folder_id = encode_id("folder", owner, folder_key_for(
        "calendar", owner.mailbox.default_calendar.id))
    word = events[0].subject.split()[0].lower()
    restriction = ('<m:Restriction><t:Contains ContainmentMode="Substring" '
                   'ContainmentComparison="IgnoreCase"><t:FieldURI FieldURI="item:Subject"/>'
                   f'<t:Constant Value="{word}"/></t:Contains></m:Restriction>')
    body = ('<m:FindItem Traversal="Shallow">' + CALENDAR_SHAPE +
            '<m:IndexedPageItemView MaxEntriesReturned="2" Offset="0" BasePoint="Beginning"/>'
            + restriction + '<m:SortOrder><t:FieldOrder Order="Descending"><t:FieldURI '
            'FieldURI="calendar:Start"/></t:FieldOrder></m:SortOrder><m:ParentFolderIds>'
            f'<t:FolderId Id="{folder_id}"/></m:ParentFolderIds></m:FindItem>')
    message = messages(post(client, bearer(user_token(hub, owner)), envelope(body)),
                       "FindItem")[0]
    matching = [e for e in events if word in e.subject.lower()]
    root = message.find("m:RootFolder", NS)
    assert root.get("TotalItemsInView") == str(len(matching))
    assert root.get("IndexedPagingOffset") == str(min(2, len(matching)))
    assert root.get("IncludesLastItemInRange") == ("true" if len(matching) <= 2 else "false")
    subjects = [i.findtext("t:Subject", namespaces=NS) for i in root.find("t:Items", NS)]
    assert subjects == [e.subject for e in matching[:2]]


# -- the rest of the request surface ------------------------------------------------------------
def test_unsupported_requests_get_clear_faults(hub: Hub, client: httpx.Client) -> None:
    user = users(hub, "contoso")[0]
    auth = bearer(user_token(hub, user))
    unknown = fault(post(client, auth, envelope("<m:GetUserAvailabilityRequest/>")))
    assert unknown["code"] == "ErrorInvalidOperation"
    missing_shape = fault(post(client, auth, envelope("<m:GetItem><m:ItemIds/></m:GetItem>")))
    assert missing_shape["code"] == "ErrorSchemaValidation"
    response = client.get("/EWS/Exchange.asmx", headers=auth)
    assert response.status_code == 400 and fault(response)["code"] == "ErrorInvalidRequest"
    assert client.get("/EWS/Exchange.asmx").status_code == 401


def test_control_sets_the_tenant_exchange(hub: Hub, client: httpx.Client) -> None:
    url = "/_control/microsoft/tenants/fabrikam/exchange"
    for body in ({"bogus": 1}, {"build": "16.0.1.1"}, {"build": "15.1"},
                 {"deployment": "cloud"}, {"enforce_oauth": "sometimes"}):
        response = client.put(url, json=body, headers=control_auth(hub))
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "invalidRequest"
    assert client.put("/_control/microsoft/tenants/nowhere/exchange",
                      json={}, headers=control_auth(hub)).status_code == 404
    response = client.put(url, json={"deployment": "onpremises", "build": "15.1.544.27",
                                     "enforce_oauth": True}, headers=control_auth(hub))
    assert response.json() == {"tenant": tenant(hub, "fabrikam").id, "deployment": "onpremises",
                               "build": "15.1.544.27", "enforce_oauth": True}
    t = tenant(hub, "fabrikam")
    assert (t.exchange, t.exchange_build, t.enforce_oauth) == ("onpremises", "15.1.544.27", True)
