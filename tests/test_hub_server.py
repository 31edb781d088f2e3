"""HubServer on each of its servers: start, a Graph GET over TLS with the local CA, the header and
body read timeouts, a quick stop with an idle keep-alive client. Loopback only; every wait is
bounded."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware

from harness.control_client import ControlClient
from mock_providers.app import create_app
from mock_providers.hub import GRAPH_PREFIX, Hub
from mock_providers.microsoft.claims import GRAPH_RESOURCE, app_access_claims
from mock_providers.server import DEFAULT_SERVER, SERVERS, HubServer, HubServerError, ServerApp
from mock_providers.world import MsUser

HEADER_TIMEOUT = 1.0  # short, so that the tests wait little
BODY_TIMEOUT = 1.5
STOP_WITHIN = 5.0  # seconds stop() may take with an idle keep-alive TLS client


@pytest.fixture(params=SERVERS)
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubServer]:
    server = HubServer(seed=7, server=request.param, state_dir=tmp_path,
                       header_timeout=HEADER_TIMEOUT, body_timeout=BODY_TIMEOUT)
    started = time.monotonic()
    server.start()
    assert time.monotonic() - started < 10
    try:
        yield server
    finally:
        server.stop()


def _port(server: HubServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def _tls_socket(server: HubServer) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=server.ca_bundle)
    raw = socket.create_connection(("127.0.0.1", _port(server)), timeout=5)
    sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
    sock.settimeout(HEADER_TIMEOUT + BODY_TIMEOUT + 5)  # bounded, well past either timeout
    return sock


def _read_until_closed(sock: ssl.SSLSocket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started, data = time.monotonic(), b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except (ConnectionResetError, ssl.SSLError):
        pass
    return data, time.monotonic() - started


def test_the_default_is_granian() -> None:
    assert DEFAULT_SERVER == "granian" and HubServer().server == "granian"
    assert set(SERVERS) == {"granian", "uvicorn"}


def test_unknown_server_is_a_one_line_error() -> None:
    with pytest.raises(HubServerError, match="unknown server 'bogus'"):
        HubServer(server="bogus")  # type: ignore[arg-type]


def _app_token(hub: Hub, role: str) -> tuple[MsUser, str]:
    """A user of tenant contoso, and an application token of that tenant with `role`."""
    tenant = hub.world.tenant("contoso")
    assert tenant is not None
    user = sorted(tenant.users.values(), key=lambda u: u.upn)[0]
    client_id = next(a.client_id for a in tenant.apps.values() if a.client_secret)
    return user, hub.signer.sign(app_access_claims(
        tenant_id=tenant.id, client_id=client_id, resource=GRAPH_RESOURCE, roles=[role],
        now=hub.world.clock.timestamp()))


def test_graph_get_over_tls_then_a_quick_stop(served: HubServer) -> None:
    hub = served.hub
    user, token = _app_token(hub, "Calendars.Read")
    event = next(iter(user.mailbox.default_calendar.events))
    verify = ssl.create_default_context(cafile=served.ca_bundle)
    client = httpx.Client(verify=verify, timeout=10)  # left open: an idle keep-alive client
    answer = client.get(f"{hub.graph_url}/users/{user.upn}/events/{event.id}",
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == event.id
    assert answer.http_version == "HTTP/1.1"

    started = time.monotonic()
    served.stop()
    assert time.monotonic() - started < STOP_WITHIN
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", _port(served)), timeout=2).close()
    client.close()


def test_a_body_that_never_finishes_is_cut_off(served: HubServer) -> None:
    with _tls_socket(served) as sock:
        sock.sendall(b"POST /graph/v1.0/me/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n0123456789")
        data, waited = _read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 "), data[:200]
    assert BODY_TIMEOUT - 0.2 < waited < BODY_TIMEOUT + 2, waited


def test_a_client_gone_mid_body_is_audited_not_logged(
        served: HubServer, caplog: pytest.LogCaptureFixture) -> None:
    audit = served.hub.world.audit
    before = len(list(audit))
    user, token = _app_token(served.hub, "Calendars.ReadWrite")
    with _tls_socket(served) as sock:
        sock.sendall(f"POST /graph/v1.0/users/{user.upn}/events HTTP/1.1\r\n"
                     f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                     f"0123456789".encode())
        time.sleep(0.2)
    deadline = time.monotonic() + 5
    while not [e for e in list(audit)[before:] if e.outcome == "ClientGone"]:
        assert time.monotonic() < deadline, "no ClientGone audit entry"
        time.sleep(0.05)
    (entry,) = [e for e in list(audit)[before:] if e.outcome == "ClientGone"]
    assert entry.status == 499 and entry.method == "POST"
    with _tls_socket(served) as sock:  # Starlette raises ClientDisconnect in the control API
        sock.sendall(b"POST /_control/reset HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        time.sleep(0.2)
    time.sleep(0.3)
    served.stop()  # the server's own log records are in by now
    assert not [r for r in caplog.records if r.levelno >= 40], caplog.text


def test_a_request_head_that_never_finishes_is_cut_off(served: HubServer) -> None:
    with _tls_socket(served) as sock:
        sock.sendall(b"GET /graph/v1.0/me HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        data, waited = _read_until_closed(sock)
    # uvicorn answers 408 before closing; granian (hyper) closes without a word.
    assert data == b"" or data.startswith(b"HTTP/1.1 408 "), data[:200]
    assert HEADER_TIMEOUT - 0.2 < waited < HEADER_TIMEOUT + 2, waited


def test_a_complete_body_still_reaches_the_app(served: HubServer) -> None:
    # The body read timeout buffers the body first: the app must still get all of it, here a
    # client-credentials request with a wrong secret, sent in two parts.
    tenant = served.hub.world.tenant("contoso")
    assert tenant is not None
    client_id = next(a.client_id for a in tenant.apps.values() if a.client_secret)
    body = (f"grant_type=client_credentials&client_id={client_id}&client_secret=wrong"
            f"&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default").encode()
    with _tls_socket(served) as sock:
        sock.sendall(f"POST /{tenant.id}/oauth2/v2.0/token HTTP/1.1\r\n".encode()
                     + b"Host: 127.0.0.1\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Connection: close\r\nContent-Length: " + str(len(body)).encode()
                     + b"\r\n\r\n" + body[:10])
        time.sleep(0.2)
        sock.sendall(body[10:])
        data, _ = _read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 401 "), data[:300]
    assert b'"invalid_client"' in data


def test_stop_does_not_wait_for_slow_clients(tmp_path: Path) -> None:
    for name in SERVERS:  # the default timeouts: the stop must not wait for them
        server = HubServer(server=name, state_dir=tmp_path / name).start()
        try:
            mid_body, mid_head = _tls_socket(server), _tls_socket(server)
            mid_body.sendall(b"POST /graph/v1.0/me/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             b"Content-Length: 100\r\n\r\n0123456789")
            mid_head.sendall(b"GET /graph/v1.0/me HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            time.sleep(0.3)
        finally:
            started = time.monotonic()
            server.stop()
            stopped = time.monotonic() - started
        data, _ = _read_until_closed(mid_body)
        assert stopped < STOP_WITHIN, (name, stopped)
        assert data == b"" or data.startswith(b"HTTP/1.1 408 "), (name, data[:200])
        mid_body.close()
        mid_head.close()


def test_graph_requests_skip_the_starlette_stack_only_where_that_is_safe() -> None:
    app = create_app(Hub.seeded(1, "http://127.0.0.1:1"))
    direct = ServerApp(app, BODY_TIMEOUT).direct  # type: ignore[arg-type]
    assert direct is not None and direct[0] == f"{GRAPH_PREFIX}/"  # the hub's own app
    app.user_middleware.append(Middleware(GZipMiddleware))  # middleware must not be skipped
    assert ServerApp(app, BODY_TIMEOUT).direct is None  # type: ignore[arg-type]


def test_granian_that_cannot_adopt_a_socket_binds_the_same_port(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import granian._granian

    def refuse(*args: object) -> None:
        raise TypeError("no adoption")

    monkeypatch.setattr(granian._granian, "SocketHolder", refuse)
    with HubServer(server="granian", tls=False, state_dir=tmp_path) as server:
        answer = httpx.get(f"{server.hub.graph_url}/me", timeout=10)
        assert answer.status_code == 401 and answer.json()["error"]["code"]


@pytest.mark.parametrize("name", SERVERS)
def test_port_in_use_is_a_one_line_error(name: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(HubServerError) as caught:
            HubServer(port=port, server=name, state_dir=tmp_path).start()
    assert str(caught.value) == f"port {port} on 127.0.0.1 is already in use"


def test_half_sent_requests_hold_no_per_mailbox_slot(served: HubServer) -> None:
    """Graph's per-app-per-mailbox concurrency limit counts requests the app runs. A PATCH whose
    body never finishes is held by the server's body read, before the Graph route, so it takes
    no slot: with the limit at 2 and 4 of them pending, the mailbox still answers 200."""
    hub = served.hub
    user, token = _app_token(hub, "Calendars.ReadWrite")
    event = next(iter(user.mailbox.default_calendar.events))
    path = f"/graph/v1.0/users/{user.upn}/events/{event.id}"
    change_key = event.change_key
    headers = {"Authorization": f"Bearer {token}"}
    control = ControlClient(f"{served.base_url}/_control", served.ca_bundle, hub.control_token)
    control.set_graph_limits(concurrency=2, per_10_min=None)
    pending = [_tls_socket(served) for _ in range(4)]
    try:
        with httpx.Client(base_url=served.base_url, verify=ssl.create_default_context(
                cafile=served.ca_bundle), timeout=10) as client:
            # The limit bites: three GETs held in the route (a latency fault runs after the slot
            # is taken) leave one of them 429. Without this, a limit that never counted would
            # pass the test below.
            control.add_fault(kind="latency", provider="graph", method="GET", path=event.id,
                              delay_ms=600, times=3)
            with ThreadPoolExecutor(3) as pool:
                held = list(pool.map(lambda _: client.get(path, headers=headers).status_code,
                                     range(3)))
            assert sorted(held) == [200, 200, 429], held
            control.clear_faults()
            for sock in pending:
                sock.sendall(f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             f"Authorization: Bearer {token}\r\nContent-Type: application/json"
                             f"\r\nContent-Length: 100\r\n\r\n{{\"subject\":".encode())
            time.sleep(0.3)  # every head is in and waiting for its body
            started = time.monotonic()
            answers = [client.get(path, headers=headers).status_code for _ in range(6)]
            assert answers == [200] * 6, answers
            assert time.monotonic() - started < BODY_TIMEOUT  # all while the PATCHes pend
        for sock in pending:  # the half-sent ones end in 408, the app never saw them
            data, _ = _read_until_closed(sock)
            assert data.startswith(b"HTTP/1.1 408 "), data[:200]
        assert event.change_key == change_key  # nothing of the unfinished PATCHes applied
    finally:
        for sock in pending:
            sock.close()
        control.close()
