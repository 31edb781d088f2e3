"""The provider-traffic proxy (mitmproxy in process): the reference implementation's own clients,
configured with the real provider host names, a proxy and the harness CA only, reach the mocks;
any other host is refused by the proxy itself and never contacted."""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import msal
import pytest
import requests

from harness.net import pinned_session
from harness.traffic.proxy import ProxyError, TrafficProxy
from harness.traffic.routes import HubAddress, hub_path
from harness.useragent import UserAgent
from mock_providers.server import HubServer
from mock_providers.world.seed import GOOGLE_REDIRECT_URI

GRAPH = "https://graph.microsoft.com/v1.0"
LOGIN = "https://login.microsoftonline.com"
EWS = "https://outlook.office365.com/EWS/Exchange.asmx"


@pytest.fixture(scope="module")
def proxy(hub_server: HubServer) -> Iterator[TrafficProxy]:
    state_dir = Path(hub_server.ca_bundle or "").parent
    with TrafficProxy(hub_server.base_url, hub_server.ca_bundle, state_dir) as running:
        yield running


@pytest.fixture
def clean(proxy: TrafficProxy, hub_server: HubServer) -> TrafficProxy:
    hub_server.hub.reset()
    proxy.recorder.begin("test")
    proxy.route.refused_connections.clear()
    return proxy


def verify(hub_server: HubServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=hub_server.ca_bundle)


def contoso(hub_server: HubServer) -> Any:
    tenant = hub_server.hub.world.tenant("contoso")
    assert tenant is not None
    return tenant


def app_token(hub_server: HubServer, proxy: TrafficProxy) -> str:
    """MSAL, the real authority host name, the proxy and the harness CA: nothing else."""
    tenant = contoso(hub_server)
    app = next(a for a in tenant.apps.values() if a.client_secret)
    session = pinned_session(hub_server.ca_bundle)
    session.proxies = {"https": proxy.url, "http": proxy.url}
    client = msal.ConfidentialClientApplication(
        app.client_id, client_credential=app.client_secret,
        authority=f"{LOGIN}/{tenant.id}", http_client=session)
    result = client.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result
    return str(result["access_token"])


# -- routing table ---------------------------------------------------------------------------------
def test_routing_table_maps_both_ways() -> None:
    hub = HubAddress("https://127.0.0.1:8443")
    cases = {
        f"{GRAPH}/me/events?$top=5": "/graph/v1.0/me/events?$top=5",
        f"{LOGIN}/contoso/oauth2/v2.0/token": "/contoso/oauth2/v2.0/token",
        EWS: "/EWS/Exchange.asmx",
        "https://www.googleapis.com/calendar/v3/calendars/primary/events":
            "/google/calendar/v3/calendars/primary/events",
        "https://people.googleapis.com/v1/people/me": "/google/v1/people/me",
        "https://oauth2.googleapis.com/token": "/google/token",
        "https://accounts.google.com/o/oauth2/v2/auth?x=1": "/google/o/oauth2/v2/auth?x=1",
    }
    for real, path in cases.items():
        assert hub.to_hub(real) == "https://127.0.0.1:8443" + path
        assert hub.to_real(path) == real
    assert hub_path("example.com", "/") is None
    assert hub.to_real("/_control/world") is None
    text = 'a "https://127.0.0.1:8443/graph/v1.0/me/events?$skip=10" and ' \
           "redirect=https%3A%2F%2F127.0.0.1%3A8443%2Fgoogle%2Fsignin"
    assert hub.rewrite_text(text) == (
        'a "https://graph.microsoft.com/v1.0/me/events?$skip=10" and '
        "redirect=https%3A%2F%2Faccounts.google.com%2Fsignin")


# -- refusal ---------------------------------------------------------------------------------------
class Sentinel:
    """A loopback listener that counts connections: the proxy must never open one to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def test_hosts_outside_the_routed_list_are_refused_and_never_contacted(
        clean: TrafficProxy, hub_server: HubServer) -> None:
    sentinel = Sentinel()
    try:
        with httpx.Client(proxy=clean.url, verify=verify(hub_server), timeout=10) as client:
            # https: the CONNECT itself is answered 403 by the proxy
            for url in ("https://example.com/", f"https://127.0.0.1:{sentinel.port}/",
                        f"https://localhost:{sentinel.port}/x", "https://graph.microsoft.com.evil/"):
                with pytest.raises(httpx.ProxyError, match="403"):
                    client.get(url)
            # plain http: a 502 whose body says why
            reply = client.get(f"http://127.0.0.1:{sentinel.port}/secret")
            assert reply.status_code == 502
            assert "not a provider host calharness mocks" in reply.text
            assert "was not contacted" in reply.text
            assert reply.headers["X-Calharness-Refused"] == "127.0.0.1"
        # a raw CONNECT shows the refusal body too
        with socket.create_connection(("127.0.0.1", clean.port), timeout=5) as raw:
            raw.sendall(b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n")
            head = raw.recv(4096).decode()
        assert head.startswith("HTTP/1.1 403"), head
    finally:
        sentinel.close()
    assert sentinel.accepted == 0
    assert clean.route.refused_connections == []  # not even attempted
    assert {"example.com", "127.0.0.1", "localhost", "example.org"} <= set(
        clean.route.refused_requests)
    assert clean.recorder.take() == []  # refusals are not provider traffic


def test_server_connect_guard_refuses_anything_but_the_hub(clean: TrafficProxy) -> None:
    """The second line of defence: even if routing let a request through, the upstream
    connection to anything but the hub is refused."""
    from types import SimpleNamespace

    server = SimpleNamespace(address=("93.184.216.34", 443), error=None)
    clean.route.server_connect(SimpleNamespace(server=server))  # type: ignore[arg-type]
    assert server.error and "not a provider host" in server.error
    assert clean.route.refused_connections == ["93.184.216.34:443"]
    hub = clean.route.hub
    assert hub is not None
    ok = SimpleNamespace(address=(hub.host, hub.port), error=None)
    clean.route.server_connect(SimpleNamespace(server=ok))  # type: ignore[arg-type]
    assert ok.error is None


def test_port_in_use_is_a_one_line_error(hub_server: HubServer, proxy: TrafficProxy) -> None:
    state_dir = Path(hub_server.ca_bundle or "").parent
    with pytest.raises(ProxyError, match=f"port {proxy.port} on 127.0.0.1 is in use"):
        TrafficProxy(hub_server.base_url, hub_server.ca_bundle, state_dir,
                     port=proxy.port).start()


# -- the reference's own clients, real host names --------------------------------------------------
def test_msal_and_httpx_graph_through_real_host_names(clean: TrafficProxy,
                                                      hub_server: HubServer) -> None:
    token = app_token(hub_server, clean)
    user = sorted(contoso(hub_server).users.values(), key=lambda u: u.upn)[0]
    with httpx.Client(proxy=clean.url, verify=verify(hub_server), timeout=10,
                      headers={"Authorization": f"Bearer {token}"}) as graph:
        reply = graph.get(f"{GRAPH}/users/{user.upn}/events", params={"$top": "1"})
        assert reply.status_code == 200, reply.text
        body = reply.json()
    # every link the client follows names the real host, never the hub
    assert body["@odata.context"].startswith(f"{GRAPH}/$metadata#")
    assert body["@odata.nextLink"].startswith(f"{GRAPH}/users/")
    assert hub_server.base_url not in reply.text
    urls = [e.url for e in clean.recorder.take()]
    assert any(u.startswith(f"{LOGIN}/{contoso(hub_server).id}/") for u in urls), urls
    assert any(u.startswith(f"{GRAPH}/users/") for u in urls), urls


def test_exchangelib_through_real_host_name(clean: TrafficProxy, hub_server: HubServer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from exchangelib import DELEGATE, Account, Configuration, OAuth2AuthorizationCodeCredentials
    from exchangelib.protocol import BaseProtocol

    from harness.net import PinnedCAAdapter, register_ca

    tenant = contoso(hub_server)
    app = next(a for a in tenant.apps.values() if a.client_secret)
    user = sorted(tenant.users.values(), key=lambda u: u.upn)[0]
    session = pinned_session(hub_server.ca_bundle)
    session.proxies = {"https": clean.url}
    client = msal.ConfidentialClientApplication(
        app.client_id, client_credential=app.client_secret,
        authority=f"{LOGIN}/{tenant.id}", http_client=session)
    ews_scope = "https://outlook.office365.com/EWS.AccessAsUser.All"
    admin = hub_server.hub.admin.microsoft
    assert admin is not None
    admin.grant_admin_consent(tenant, app.client_id, [ews_scope])
    result = client.acquire_token_by_username_password(user.upn, user.password,
                                                       scopes=[ews_scope])
    assert "access_token" in result, result
    monkeypatch.setenv("HTTPS_PROXY", clean.url)
    monkeypatch.setattr(BaseProtocol, "HTTP_ADAPTER_CLS", PinnedCAAdapter)
    register_ca(EWS, hub_server.ca_bundle)
    credentials = OAuth2AuthorizationCodeCredentials(
        access_token={"access_token": result["access_token"], "token_type": "Bearer"})
    config = Configuration(service_endpoint=EWS, credentials=credentials, auth_type="OAuth 2.0",
                           version=None)
    account = Account(user.upn, config=config, autodiscover=False, access_type=DELEGATE)
    assert account.calendar.name  # GetFolder over the proxy
    assert any(e.url == EWS and e.status == 200 for e in clean.recorder.take())


class RequestsHttp:
    """An httplib2-shaped transport over requests: google-api-python-client's httplib2 honours a
    proxy only with PySocks installed (without it httplib2 silently connects directly)."""

    def __init__(self, session: requests.Session, token: str) -> None:
        self.session, self.token = session, token

    def request(self, uri: str, method: str = "GET", body: Any = None,
                headers: dict[str, str] | None = None, **_: Any) -> tuple[Any, bytes]:
        import httplib2

        headers = {**(headers or {}), "Authorization": f"Bearer {self.token}"}
        reply = self.session.request(method, uri, data=body, headers=headers, timeout=10)
        info = {k.lower(): v for k, v in reply.headers.items()}
        info["status"] = str(reply.status_code)
        return httplib2.Response(info), reply.content


def test_google_sign_in_and_api_client_through_real_host_names(
        clean: TrafficProxy, hub_server: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from googleapiclient.discovery import build

    user = next(u for d in hub_server.hub.world.google_domains.values()
                for u in d.users.values())
    client = next(iter(hub_server.hub.world.google_clients.values()))
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    query = urlencode({"client_id": client.client_id, "redirect_uri": GOOGLE_REDIRECT_URI,
                       "response_type": "code", "access_type": "offline", "prompt": "consent",
                       "scope": "https://www.googleapis.com/auth/calendar",
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    monkeypatch.setenv("HTTPS_PROXY", clean.url)  # the user agent (httpx) reads it
    with UserAgent(hub_server.ca_bundle) as agent:
        outcome = agent.authorize(f"https://accounts.google.com/o/oauth2/v2/auth?{query}",
                                  username=user.email, password=user.password,
                                  stop_at=GOOGLE_REDIRECT_URI)
    assert outcome.code, outcome
    session = pinned_session(hub_server.ca_bundle)
    session.proxies = {"https": clean.url}
    reply = session.post("https://oauth2.googleapis.com/token", data={
        "grant_type": "authorization_code", "code": outcome.code, "code_verifier": verifier,
        "redirect_uri": GOOGLE_REDIRECT_URI, "client_id": client.client_id,
        "client_secret": client.client_secret}, timeout=10)
    assert reply.status_code == 200, reply.text
    http = RequestsHttp(session, reply.json()["access_token"])
    # dynamic discovery: the proxy answers the discovery host from the bundled document
    service = build("calendar", "v3", http=http, static_discovery=False, cache_discovery=False)
    listed = service.events().list(calendarId="primary", maxResults=2).execute()
    assert listed["kind"] == "calendar#events"
    urls = [e.url for e in clean.recorder.take()]
    assert any(u.startswith("https://accounts.google.com/") for u in urls)
    assert any(u.startswith("https://www.googleapis.com/discovery/v1/apis/calendar/v3/rest")
               for u in urls)
    assert any(u.startswith("https://www.googleapis.com/calendar/v3/calendars/primary/events")
               for u in urls)
    assert not any(hub_server.base_url in (e.response_body or "")
                   for e in clean.recorder.take())
