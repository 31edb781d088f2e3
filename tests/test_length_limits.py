"""Text length limits as each service keeps them. Exchange (behind Graph and EWS alike) keeps the
first 255 UTF-16 code units of a subject, never half a surrogate pair (world/limits.py), so a
long subject written through Graph reads back capped through EWS too (EWS's own writes:
tests/test_ews_fields.py). Google refuses a summary
over 8,192 characters with 400 "A provided value exceeds the allowed size limit."."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from exchangelib import EWSDateTime
from google_support import connect, users_of
from googleapiclient.errors import HttpError
from test_google_calendar import CAL, calendar_api, error_reason, when

from mock_providers.hub import Hub
from mock_providers.microsoft.claims import GRAPH_RESOURCE, delegated_access_claims
from mock_providers.server import HubServer
from mock_providers.world import MsUser
from mock_providers.world.limits import SUBJECT_LIMIT, exchange_text
from tests.test_ews_exchangelib import hub, onprem_basic, users  # noqa: F401

LONG = "Budget review " * 300  # 4,200 characters


def test_exchange_text_keeps_255_code_units_and_never_half_a_pair() -> None:
    assert exchange_text(LONG) == LONG[:SUBJECT_LIMIT]
    assert exchange_text("x" * 255) == "x" * 255
    # U+1F600 is two UTF-16 code units: at 254 + 2 the pair would be cut, so it goes whole.
    assert exchange_text("a" * 254 + "\U0001f600" + "b") == "a" * 254
    assert exchange_text("a" * 253 + "\U0001f600" + "b") == "a" * 253 + "\U0001f600"


def _graph(server: HubServer, user: MsUser, method: str, path: str,
           body: dict[str, Any] | None = None) -> httpx.Response:
    the_hub = server.hub
    tenant = the_hub.world.ms_tenants[user.tenant_id]
    client_id = next(a.client_id for a in tenant.apps.values() if a.client_secret)
    claims = delegated_access_claims(
        tenant_id=tenant.id, client_id=client_id, resource=GRAPH_RESOURCE, oid=user.id,
        upn=user.upn, name=user.display_name, scopes=["Calendars.ReadWrite"],
        now=the_hub.world.clock.timestamp())
    token = the_hub.signer.sign(claims)
    with httpx.Client(verify=ssl.create_default_context(cafile=server.ca_bundle)) as http:
        return http.request(method, the_hub.graph_url + path, json=body,
                            headers={"Authorization": f"Bearer {token}"})


def test_a_long_subject_written_through_graph_reads_back_capped_through_graph_and_ews(
        hub_server: HubServer, hub: Hub) -> None:  # noqa: F811
    user = users(hub, "fabrikam")[0]
    start = datetime(2031, 3, 4, 9, tzinfo=UTC)
    created = _graph(hub_server, user, "POST", "/me/events", {
        "subject": LONG,
        "start": {"dateTime": start.isoformat()[:19], "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat()[:19], "timeZone": "UTC"}})
    assert created.status_code == 201, created.text
    assert created.json()["subject"] == LONG[:SUBJECT_LIMIT]
    got = _graph(hub_server, user, "GET", f"/me/events/{created.json()['id']}")
    assert got.json()["subject"] == LONG[:SUBJECT_LIMIT]
    patched = _graph(hub_server, user, "PATCH", f"/me/events/{created.json()['id']}",
                     {"subject": "Q" * 300})
    assert patched.status_code == 200 and patched.json()["subject"] == "Q" * SUBJECT_LIMIT

    account = onprem_basic(hub, given=True).account
    assert account.primary_smtp_address.lower() == user.upn.lower()
    items = list(account.calendar.view(start=EWSDateTime.from_datetime(start),
                                       end=EWSDateTime.from_datetime(start + timedelta(hours=2))))
    assert [i.subject for i in items] == ["Q" * SUBJECT_LIMIT]


@pytest.fixture(scope="module")
def google_api(hub_server: HubServer) -> Any:
    hub_server.hub.reset()
    user = users_of(hub_server)[0]
    return calendar_api(hub_server, connect(hub_server, user, [CAL]))


@pytest.mark.parametrize("member", ["summary", "description", "location"])
def test_google_refuses_a_text_member_over_its_size_limit(google_api: Any, member: str) -> None:
    body = {"start": when(2), "end": when(2, 11), member: "y" * 8193}
    with pytest.raises(HttpError) as caught:
        google_api.events().insert(calendarId="primary", body=body).execute()
    assert caught.value.resp.status == 400
    assert error_reason(caught.value) == "invalid"
    assert "exceeds the allowed size limit" in str(caught.value)
    kept = google_api.events().insert(calendarId="primary",
                                      body=body | {member: "y" * 8192}).execute()
    assert kept[member] == "y" * 8192
    with pytest.raises(HttpError) as caught:
        google_api.events().patch(calendarId="primary", eventId=kept["id"],
                                  body={member: "z" * 9000}).execute()
    assert caught.value.resp.status == 400
