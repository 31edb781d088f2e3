"""Redaction and cassettes: recorded provider traffic carries no credential, is a standard vcrpy
cassette, and replays with plain vcrpy against the reference's own Graph client, no hub."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msal
import pytest
import vcr

from harness.net import pinned_session
from harness.reference.config import ReferenceConfig
from harness.reference.providers.graph_api import GraphConnector
from harness.traffic.cassettes import CassetteError, read_cassette, write_cassette
from harness.traffic.proxy import TrafficProxy
from harness.traffic.redact import (
    MARK,
    find_secrets,
    redact_body,
    redact_header,
    redact_url,
)
from mock_providers.server import HubServer

GRAPH = "https://graph.microsoft.com/v1.0"
LOGIN = "https://login.microsoftonline.com"
# Inside Graph's 1825-day calendarView limit; anchored on today, as the seeded events are.
_TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
WINDOW = (_TODAY - timedelta(days=800), _TODAY + timedelta(days=800))
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


# -- redaction -------------------------------------------------------------------------------------
def test_headers_keep_the_scheme_and_cookie_names_only() -> None:
    assert redact_header("Authorization", f"Bearer {JWT}") == f"Bearer {MARK}"
    assert redact_header("authorization", "Basic dXNlcjpwYXNz") == f"Basic {MARK}"
    assert redact_header("Cookie", "a=1; sso=xyz") == f"a={MARK}; sso={MARK}"
    assert redact_header("Set-Cookie", "sso=xyz; Path=/; Secure") == f"sso={MARK}; Path=/; Secure"
    assert redact_header("X-Calharness-Control-Token", "abc") == MARK
    assert redact_header("Location", "https://app.invalid/cb?code=0.AXY&state=s1") == \
        f"https://app.invalid/cb?code={MARK}&state=s1"
    assert redact_header("Content-Type", "application/json") == "application/json"


def test_bodies_by_media_type() -> None:
    form = redact_body(b"grant_type=password&username=u%40x.com&password=S3cret!&"
                       b"client_secret=cs&scope=User.Read",
                       "application/x-www-form-urlencoded")
    assert form is not None
    assert "S3cret" not in form and "cs&" not in form and "username=u@x.com" in form
    assert "grant_type=password" in form  # a grant type is not a password
    token = json.loads(redact_body(json.dumps({
        "access_token": JWT, "refresh_token": "1//0abcdefghijkl", "id_token": JWT,
        "token_type": "Bearer", "expires_in": 3599, "scope": "User.Read"}), "application/json")
        or "{}")
    assert token == {"access_token": MARK, "refresh_token": MARK, "id_token": MARK,
                     "token_type": "Bearer", "expires_in": 3599, "scope": "User.Read"}
    error = json.loads(redact_body(b'{"error":{"code":"ErrorItemNotFound","message":"m"}}',
                                   "application/json") or "{}")
    assert error["error"]["code"] == "ErrorItemNotFound"  # an error code is evidence
    paging = json.loads(redact_body(json.dumps({
        "@odata.deltaLink": f"{GRAPH}/me/calendarView/delta?$deltatoken=abc",
        "nextPageToken": "p1", "nextSyncToken": "s1"}), "application/json") or "{}")
    assert paging["@odata.deltaLink"].endswith("$deltatoken=abc")
    assert paging["nextPageToken"] == "p1" and paging["nextSyncToken"] == "s1"
    html = redact_body('<form><input type="hidden" name="flow" value="f123">'
                       '<input type="hidden" name="tenant" value="contoso"></form>', "text/html")
    assert html is not None and "f123" not in html and 'value="contoso"' in html
    soap = redact_body(f"<soap><t:Token>{JWT}</t:Token></soap>", "text/xml")
    assert soap is not None and JWT not in soap
    assert redact_url(f"https://x.invalid/#access_token={JWT}&state=1") == \
        f"https://x.invalid/#access_token={MARK}&state=1"
    assert find_secrets(f"a {JWT} b hunter22", ["hunter22"]) == ["hunter22", JWT]


# -- cassettes -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def proxy(hub_server: HubServer) -> Iterator[TrafficProxy]:
    state_dir = Path(hub_server.ca_bundle or "").parent
    with TrafficProxy(hub_server.base_url, hub_server.ca_bundle, state_dir) as running:
        yield running


def _app(hub_server: HubServer) -> tuple[Any, Any]:
    tenant = hub_server.hub.world.tenant("contoso")
    assert tenant is not None
    return tenant, next(a for a in tenant.apps.values() if a.client_secret)


def record_delta_round(proxy: TrafficProxy, hub_server: HubServer) -> tuple[list[Any], str]:
    """The reference's Graph connector, real host names, through the proxy: one delta round."""
    hub_server.hub.reset()
    tenant, app = _app(hub_server)
    session = pinned_session(hub_server.ca_bundle)
    session.proxies = {"https": proxy.url}
    client = msal.ConfidentialClientApplication(
        app.client_id, client_credential=app.client_secret,
        authority=f"{LOGIN}/{tenant.id}", http_client=session)
    user = sorted(tenant.users.values(), key=lambda u: u.upn)[0]
    config = ReferenceConfig(authority_host=LOGIN, graph_url=GRAPH, ews_url="", ca_bundle=None,
                             registrations=())
    proxy.recorder.begin("delta")

    def token(force: bool) -> str:
        return str(client.acquire_token_for_client(
            ["https://graph.microsoft.com/.default"])["access_token"])

    verify = ssl.create_default_context(cafile=hub_server.ca_bundle)
    with httpx.Client(proxy=proxy.url, verify=verify, timeout=10) as http:
        result = GraphConnector(config, http, f"/users/{user.upn}").events_delta(
            token, None, WINDOW, page_size=2)
    assert result.pages >= 2 and result.delta_link
    return proxy.recorder.take(), token(False)


def test_cassette_has_no_credential_and_replays_with_plain_vcrpy(
        proxy: TrafficProxy, hub_server: HubServer, tmp_path: Path) -> None:
    exchanges, access_token = record_delta_round(proxy, hub_server)
    path = write_cassette(tmp_path / "delta.yaml", exchanges)
    text = path.read_text()
    _, app = _app(hub_server)
    assert find_secrets(text, [access_token, app.client_secret]) == []
    assert "client_secret=REDACTED" in text and "Bearer REDACTED" in text
    assert hub_server.base_url not in text  # the client only ever saw real host names
    assert [e.url for e in read_cassette(path)] == [e.url for e in exchanges]

    # Replay: plain vcrpy, the reference's own connector, no proxy, no CA, the hub untouched.
    audit_before = hub_server.hub.world.audit.last_seq
    config = ReferenceConfig(authority_host=LOGIN, graph_url=GRAPH, ews_url="", ca_bundle=None,
                             registrations=())
    user = sorted(_app(hub_server)[0].users.values(), key=lambda u: u.upn)[0]
    with vcr.use_cassette(str(path), record_mode="none", allow_playback_repeats=False), \
            httpx.Client(timeout=5) as http:
        replayed = GraphConnector(config, http, f"/users/{user.upn}").events_delta(
            lambda force: "any-token", None, WINDOW, page_size=2)
    recorded_pages = [json.loads(e.response_body) for e in exchanges
                      if e.url.startswith(f"{GRAPH}/users/")]
    assert replayed.pages == len(recorded_pages)
    assert replayed.delta_link == recorded_pages[-1]["@odata.deltaLink"]
    assert len(replayed.upserts) == sum(len(p["value"]) for p in recorded_pages)
    assert hub_server.hub.world.audit.last_seq == audit_before


def test_cassettes_are_deterministic_for_a_seed(proxy: TrafficProxy, hub_server: HubServer,
                                                tmp_path: Path) -> None:
    """Two recordings of the same calls on the same seed: the same interactions, headers and
    body structure. (Not the same bytes: the mocks date seeded events from the current instant
    and sign paging tokens with a fresh nonce.)"""
    import re

    import yaml

    from harness.traffic.drift import compare

    first, _ = record_delta_round(proxy, hub_server)
    second, _ = record_delta_round(proxy, hub_server)
    one = yaml.safe_load(write_cassette(tmp_path / "1.yaml", first).read_text())
    two = yaml.safe_load(write_cassette(tmp_path / "2.yaml", second).read_text())

    def skeleton(data: dict[str, Any]) -> list[Any]:
        out = []
        for i in data["interactions"]:
            request, response = i["request"], i["response"]
            out.append((request["method"], re.sub(r"(token=)[^&]+", r"\1*", request["uri"]),
                        {k: v for k, v in request["headers"].items() if k != "Content-Length"},
                        response["status"],
                        {k: v for k, v in response["headers"].items()
                         if k != "Content-Length"}))
        return out

    assert skeleton(one) == skeleton(two)
    assert [d for n, (a, b) in enumerate(zip(first, second, strict=True))
            for d in compare(n, a, b)] == []


def test_a_missing_or_malformed_cassette_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="does not exist"):
        read_cassette(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("interactions: [{request: 3}]\nversion: 1\n")
    with pytest.raises(CassetteError, match="not a vcrpy cassette"):
        read_cassette(bad)
