"""The control API against a hostile caller (issue #16): a web page in the user's browser, a DNS
rebinding host, a client without the hub's token, fault patterns that backtrack, and values
outside every field's range. In-process against the ASGI app unless a test says otherwise."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from harness.control_client import ControlClient, ControlError
from harness.net import httpx_verify
from mock_providers import control
from mock_providers.app import create_app
from mock_providers.hub import CONTROL_PREFIX, Hub
from mock_providers.server import HubServer

BASE = "https://127.0.0.1:8443"
BACKTRACKING = r"^/graph/v1\.0/me/(a+)+$"


@pytest.fixture
def hub() -> Hub:
    return Hub.seeded(42, BASE)


@pytest.fixture
def client(hub: Hub) -> Iterator[TestClient]:
    """No token by default: each test says what it sends."""
    with TestClient(create_app(hub), base_url=BASE, raise_server_exceptions=False) as c:
        yield c


def auth(hub: Hub) -> dict[str, str]:
    return {"Authorization": f"Bearer {hub.control_token}"}


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def world_secrets(hub: Hub) -> set[str]:
    """Every password and client secret in the world, and the control token."""
    world = hub.world
    found = {hub.control_token}
    for tenant in world.ms_tenants.values():
        found |= {u.password for u in tenant.users.values()}
        found |= {a.client_secret for a in tenant.apps.values() if a.client_secret}
    for domain in world.google_domains.values():
        found |= {u.password for u in domain.users.values()}
    found |= {c.client_secret for c in world.google_clients.values() if c.client_secret}
    assert len(found) > 5, "the seeded world has passwords and secrets to look for"
    return found


# -- cross-site requests, tokens, Host and Origin ----------------------------------------------
def test_a_cross_site_text_plain_reset_is_refused_and_the_world_is_unchanged(
        hub: Hub, client: TestClient) -> None:
    before, offset = hub.world, hub.world.clock.offset_seconds
    # What a form or fetch() on any web page can send without a CORS preflight.
    page = {"Content-Type": "text/plain", "Origin": "https://evil.example",
            "Sec-Fetch-Site": "cross-site"}
    for path, body in (("/reset", '{"seed": 7}'), ("/clock/advance", '{"seconds": 86400}')):
        refused = client.post(CONTROL_PREFIX + path, content=body, headers=page)
        assert refused.status_code == 403 and error_code(refused) == "crossOriginRefused"
        # Even a page that somehow had the token is refused: neither its origin nor its
        # text/plain body passes.
        refused = client.post(CONTROL_PREFIX + path, content=body, headers={**page, **auth(hub)})
        assert refused.status_code == 403
        no_origin = client.post(CONTROL_PREFIX + path, content=body,
                                headers={"Content-Type": "text/plain", **auth(hub)})
        assert no_origin.status_code == 415 and error_code(no_origin) == "unsupportedMediaType"
        untyped = client.post(CONTROL_PREFIX + path, content=body, headers=auth(hub))
        assert untyped.status_code == 415
    assert hub.world is before and hub.world.seed == 42
    assert hub.world.clock.offset_seconds == offset
    # the same request from the hub's own client goes through: the refusals above were the guard
    assert client.post(CONTROL_PREFIX + "/reset", json={"seed": 7},
                       headers=auth(hub)).status_code == 200
    assert hub.world is not before and hub.world.seed == 7


def test_a_body_less_write_needs_the_json_content_type_too(hub: Hub,
                                                          client: TestClient) -> None:
    """`/load/claim` and the revokes take no body, but change state: a request that does not
    say application/json is refused before it does anything, the same as one with a body."""
    params = _path_params(hub)
    upn = params["upn"]
    for path in ("/load/release", f"/microsoft/users/{upn}/revoke",
                 f"/google/users/{params['email']}/revoke"):
        for headers in ({}, {"Content-Type": "text/plain"},
                        {"Content-Type": "application/x-www-form-urlencoded"}):
            refused = client.post(CONTROL_PREFIX + path, headers={**auth(hub), **headers})
            assert refused.status_code == 415, (path, headers, refused.text)
            assert error_code(refused) == "unsupportedMediaType"
    user = next(u for u in hub.world.tenant("fabrikam").users.values()  # type: ignore[union-attr]
                if u.upn == upn)
    assert user.tokens_invalid_reason is None  # the refused revokes above did nothing
    json_type = {**auth(hub), "Content-Type": "application/json"}
    assert client.post(CONTROL_PREFIX + f"/microsoft/users/{upn}/revoke",
                       headers=json_type).status_code == 200
    assert user.tokens_invalid_reason == "revoked"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/world"), ("POST", "/reset"), ("GET", "/clock"), ("POST", "/clock/advance"),
    ("GET", "/faults"), ("DELETE", "/faults"), ("GET", "/audit"),
])
def test_no_token_or_a_wrong_one_is_refused(hub: Hub, client: TestClient, method: str,
                                             path: str) -> None:
    body: dict[str, Any] = ({"json": {"seconds": 1}} if path == "/clock/advance"
                            else {"json": {}} if method == "POST" else {})
    missing = client.request(method, CONTROL_PREFIX + path, **body)
    assert missing.status_code == 401 and error_code(missing) == "controlTokenRequired"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    for headers in ({"Authorization": "Bearer " + hub.control_token[:-1] + "x"},
                    {"X-Calharness-Control-Token": "guess"},
                    {"Authorization": f"Basic {hub.control_token}"}):
        wrong = client.request(method, CONTROL_PREFIX + path, headers=headers, **body)
        assert wrong.status_code in (401, 403) and wrong.json()["error"]["message"]
    assert client.request(method, CONTROL_PREFIX + path, headers=auth(hub),
                          **body).status_code < 300
    other = {"X-Calharness-Control-Token": hub.control_token}
    assert client.request(method, CONTROL_PREFIX + path, headers=other, **body).status_code < 300


def test_each_hub_has_its_own_token(hub: Hub) -> None:
    other = Hub.seeded(42, BASE)
    assert len(hub.control_token) >= 32 and other.control_token != hub.control_token
    hub.reset(43)
    assert hub.control_token != other.control_token  # a reset keeps the hub's token
    with TestClient(create_app(other), base_url=BASE) as c:
        assert c.get(CONTROL_PREFIX + "/clock", headers=auth(hub)).status_code == 403


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8443", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "[::2]:8443", "", "a b", "[::1"])
def test_a_foreign_host_is_refused(hub: Hub, client: TestClient, host: str) -> None:
    """DNS rebinding: a name the attacker controls resolves to 127.0.0.1; Host says which."""
    for path in ("/health", "/world", "/clock"):
        response = client.get(CONTROL_PREFIX + path, headers={"Host": host, **auth(hub)})
        assert response.status_code == 403 and error_code(response) == "hostNotAllowed"


@pytest.mark.parametrize("host", ["127.0.0.1:8443", "localhost:8443", "[::1]:8443", "LOCALHOST",
                                  "127.0.0.1"])
def test_the_hubs_own_host_names_are_accepted(hub: Hub, client: TestClient, host: str) -> None:
    assert client.get(CONTROL_PREFIX + "/clock",
                      headers={"Host": host, **auth(hub)}).status_code == 200


def test_the_configured_host_is_accepted() -> None:
    hub = Hub.seeded(42, "https://calharness.test:9000")
    with TestClient(create_app(hub), base_url="https://calharness.test:9000") as c:
        assert c.get(CONTROL_PREFIX + "/clock", headers=auth(hub)).status_code == 200
        assert c.get(CONTROL_PREFIX + "/clock", headers={"Host": "other.test:9000",
                                                         **auth(hub)}).status_code == 403


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:8443",
                                    "https://127.0.0.1:8444", "https://127.0.0.1.evil.example",
                                    "https://localhost:8443/path", "not a url"])
def test_a_foreign_origin_is_refused(hub: Hub, client: TestClient, origin: str) -> None:
    before = hub.world
    response = client.post(CONTROL_PREFIX + "/reset", json={"seed": 9},
                           headers={"Origin": origin, **auth(hub)})
    assert response.status_code == 403 and error_code(response) == "crossOriginRefused"
    assert hub.world is before


@pytest.mark.parametrize("origin", ["https://127.0.0.1:8443", "https://localhost:8443",
                                    "https://[::1]:8443"])
def test_the_hubs_own_origin_is_accepted(hub: Hub, client: TestClient, origin: str) -> None:
    assert client.get(CONTROL_PREFIX + "/clock",
                      headers={"Origin": origin, "Sec-Fetch-Site": "same-origin",
                               **auth(hub)}).status_code == 200


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_browser_request_from_another_site_is_refused(hub: Hub, client: TestClient,
                                                        site: str) -> None:
    """A no-cors GET carries no Origin, but a browser says where it came from."""
    response = client.get(CONTROL_PREFIX + "/world",
                          headers={"Sec-Fetch-Site": site, **auth(hub)})
    assert response.status_code == 403 and error_code(response) == "crossOriginRefused"


def test_health_stays_open_and_says_nothing_secret(hub: Hub, client: TestClient) -> None:
    health = client.get(CONTROL_PREFIX + "/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert not any(s in health.text for s in world_secrets(hub))


def test_a_body_over_the_cap_is_refused(hub: Hub, client: TestClient) -> None:
    big = b'{"seed": 1, "x": "' + b"a" * control.MAX_BODY_BYTES + b'"}'
    response = client.post(CONTROL_PREFIX + "/reset", content=big,
                           headers={"Content-Type": "application/json", **auth(hub)})
    assert response.status_code == 413 and error_code(response) == "bodyTooLarge"


def test_the_real_hub_and_its_client_use_the_token(hub_server: HubServer) -> None:
    hub = hub_server.hub
    url, ca = hub.control_url, hub_server.ca_bundle
    with httpx.Client(verify=httpx_verify(ca), timeout=10) as raw:
        assert raw.post(url + "/reset", content='{"seed": 5}',
                        headers={"Content-Type": "text/plain"}).status_code == 401
        assert raw.get(url + "/health").status_code == 200
    assert hub.world.seed == 42
    with pytest.raises(ValueError, match="control token"):
        ControlClient(url, ca, "")
    bad = ControlClient(url, ca, "not-the-token")
    with pytest.raises(ControlError, match="HTTP 403"):
        bad.reset(5)
    bad.close()
    good = ControlClient(url, ca, hub.control_token)
    try:
        assert good.reset(42)["seed"] == 42
    finally:
        good.close()


# -- fault patterns ----------------------------------------------------------------------------
@pytest.mark.parametrize("pattern", [r"(a)\1", r"/me/(?=events)", r"(?<!x)/me", r"(a{1000}){1000}",
                                     "[", "x" * 1001])
def test_fault_patterns_re2_cannot_run_in_linear_time_are_refused(
        hub: Hub, client: TestClient, pattern: str) -> None:
    response = client.post(CONTROL_PREFIX + "/faults", headers=auth(hub),
                           json={"kind": "status", "provider": "graph", "path": pattern})
    assert response.status_code == 422 and error_code(response) == "invalidRequest"
    assert response.json()["error"]["message"].startswith("path")
    assert hub.world.faults.list() == []


def test_a_backtracking_pattern_runs_in_linear_time(hub_server: HubServer) -> None:
    """`(a+)+$` against 40 a's and a mismatch is ~2^40 steps for a backtracking engine (hours);
    RE2 takes microseconds. The 5 s bound is four orders of magnitude above what RE2 needs
    on a loaded machine and far below what backtracking would need, so it cannot flake."""
    hub = hub_server.hub
    hub.reset()
    with ControlClient(hub.control_url, hub_server.ca_bundle, hub.control_token) as ctl, \
            httpx.Client(verify=httpx_verify(hub_server.ca_bundle), timeout=30) as graph:
        fault = ctl.add_fault(kind="status", provider="graph", status=503, times=None,
                              path=BACKTRACKING)
        try:
            hostile = f"{hub.graph_url}/me/{'a' * 40}!"
            started = time.monotonic()
            answered = graph.get(hostile)
            elapsed = time.monotonic() - started
            # the rule did not match (the path ends in "!"): Graph itself answered
            assert answered.status_code == 400 and answered.json()["error"]["code"] == "BadRequest"
            assert elapsed < 5.0, f"a request took {elapsed:.1f} s with {BACKTRACKING} installed"
            matched = graph.get(f"{hub.graph_url}/me/{'a' * 40}")
            assert matched.status_code == 503  # the rule still does its job
            assert ctl.audit(provider="graph")[-1]["status"] == 503
        finally:
            ctl.clear_faults()
    assert fault["path"] == BACKTRACKING


# -- bounded query values ----------------------------------------------------------------------
@pytest.mark.parametrize("params", [{"limit": "-1"}, {"limit": str(10**12)}, {"since": "-1"},
                                    {"since": "9" * 30}, {"since": "9" * 5000}, {"limit": "x"},
                                    {"user": "u" * 321}])
def test_audit_query_values_out_of_range_are_refused(hub: Hub, client: TestClient,
                                                     params: dict[str, str]) -> None:
    response = client.get(CONTROL_PREFIX + "/audit", params=params, headers=auth(hub))
    assert response.status_code == 400 and error_code(response) == "invalidQuery"


def test_audit_limit_zero_returns_only_the_position(hub: Hub, client: TestClient) -> None:
    hub.record("graph", "GET", "/me", 200)
    full = client.get(CONTROL_PREFIX + "/audit", headers=auth(hub)).json()
    assert len(full["entries"]) == 1
    zero = client.get(CONTROL_PREFIX + "/audit", params={"limit": 0}, headers=auth(hub)).json()
    assert zero == {"last_seq": full["last_seq"], "entries": []}


def test_the_clock_moves_a_bounded_distance(hub: Hub, client: TestClient) -> None:
    step = 10 * 365 * 86400
    statuses = [client.post(CONTROL_PREFIX + "/clock/advance", json={"seconds": step},
                            headers=auth(hub)).status_code for _ in range(8)]
    assert statuses == [200] * 5 + [422] * 3
    assert client.get(CONTROL_PREFIX + "/clock", headers=auth(hub)).status_code == 200


# -- /world keeps secrets unless asked ---------------------------------------------------------
def test_world_omits_secrets_unless_asked(hub: Hub, client: TestClient) -> None:
    secrets = world_secrets(hub)
    plain = client.get(CONTROL_PREFIX + "/world", headers=auth(hub))
    assert plain.status_code == 200
    assert not [s for s in secrets if s in plain.text]
    assert not re.search(r'"(password|client_secret|control_token)"', plain.text)
    assert plain.json()["secrets_included"] is False
    reset = client.post(CONTROL_PREFIX + "/reset", json={}, headers=auth(hub))
    assert not [s for s in world_secrets(hub) if s in reset.text]
    asked = client.get(CONTROL_PREFIX + "/world", params={"secrets": "true"}, headers=auth(hub))
    body = asked.json()
    assert body["secrets_included"] is True and body["control_token"] == hub.control_token
    assert all(u["password"] for t in body["microsoft"]["tenants"] for u in t["users"])
    assert all(s in asked.text for s in world_secrets(hub))
    assert client.get(CONTROL_PREFIX + "/world", params={"secrets": "true"}).status_code == 401
    assert client.get(CONTROL_PREFIX + "/world", params={"secrets": "maybe"},
                      headers=auth(hub)).status_code == 400


# -- the hostile sweep -------------------------------------------------------------------------
HOSTILE_VALUES: list[Any] = [
    None, True, -1, 0, 2**31, 2**63, -(2**63) - 1, 10**30, -(10**30), 1e308, -1e308, 1.5, "",
    "x" * 100_000, "\u0000", "\ud800", "é" * 1000, "9999-12-31T23:59:59", "0001-01-01T00:00:00",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "../../etc/passwd", "NaN", [],
    {}, ["x"] * 10_000, [[[[[]]]]], {"$gt": ""},
]
RAW_BODIES: list[bytes] = [
    b"NaN", b"Infinity", b"[" * 100_000, b"1" * 5000, b"\xff\xfe\x00", b"null", b"[]", b'"x"',
    b'{"a":' * 50_000, b"{" + b'"k": 1, ' * 20_000 + b'"k": 2}',
]
PATH_VALUES = ["x" * 5000, "%00", "..%2F..%2Fetc", "%C3%A9", "a@b@c", "%ED%A0%80", "*"]
AUDIT_QUERIES: list[dict[str, str]] = [
    {"since": v} for v in ("-1", "1e3", "9" * 4400, "", "0x10", " 1")
] + [{"limit": v} for v in ("-1", "0", "1", "9" * 30, "1.5")] + [
    {k: "x" * 10_000} for k in ("provider", "user", "client_id", "operation")]


def _valid_bodies(hub: Hub) -> dict[str, dict[str, Any]]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    tenant = hub.world.tenant("fabrikam")
    assert tenant is not None
    app = next(a for a in tenant.apps.values() if a.client_secret)
    return {
        "/reset": {"seed": 42},
        "/clock/advance": {"seconds": 1},
        "/faults": {"kind": "status", "provider": "graph", "status": 503,
                    "path": "/never-matches$"},
        "/microsoft/users/{upn}/password": {"password": "An0ther-Passw0rd!"},
        "/microsoft/tenants/{tenant}/consent-policy": {"users_may_consent": True,
                                                       "delay_seconds": 0},
        "/microsoft/tenants/{tenant}/admin-consent": {"client_id": app.client_id,
                                                      "scopes": ["Calendars.Read"]},
        "/microsoft/tenants/{tenant}/apps/{client_id}/roles": {"roles": ["Calendars.Read"]},
        "/mailboxes/{owner}/events": {"subject": "s", "start": start.isoformat(),
                                      "end": (start + timedelta(hours=1)).isoformat()},
        "/mailboxes/{owner}/events/{event_id}": {"subject": "s2"},
        "/microsoft/graph/limits": {"concurrency": 4, "per_10_min": 10_000},
        "/mailboxes/{owner}/calendar/permissions/{delegate}": {"role": "read"},
        "/microsoft/tenants/{tenant}/exchange": {"build": "15.1.544.27"},
        "/google/users/{email}/password": {"password": "An0ther-Passw0rd!"},
        "/load/seed": {"mailboxes": 3, "events": 2},
    }


def _path_params(hub: Hub) -> dict[str, str]:
    tenant = hub.world.tenant("fabrikam")
    assert tenant is not None
    user = next(iter(tenant.users.values()))
    app = next(a for a in tenant.apps.values() if a.client_secret)
    google = next(u for d in hub.world.google_domains.values() for u in d.users.values())
    event = next(iter(user.mailbox.default_calendar.events))
    second = next(c for c in user.mailbox.calendars.values() if not c.is_default)
    return {"upn": user.upn, "tenant": "fabrikam", "client_id": app.client_id,
            "owner": user.upn, "event_id": event.id, "delegate": google.email,
            "email": google.email, "fault_id": "fault-1", "calendar_id": second.id}


def _control_routes(hub: Hub) -> list[tuple[str, list[str]]]:
    app = create_app(hub)
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == CONTROL_PREFIX)
    return [(r.path, sorted(r.methods or ())) for r in mount.routes if isinstance(r, Route)]


def test_hostile_values_against_every_control_route_get_no_5xx(
        hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    routes = _control_routes(hub)
    with_bodies = {p for p, methods in routes if {"POST", "PUT", "PATCH"} & set(methods)}
    body_free = {"/microsoft/users/{upn}/revoke", "/google/users/{email}/revoke",
                 "/load/claim", "/load/release"}
    assert with_bodies - body_free == set(control.BODY_MODELS), "a body route the sweep misses"
    valid = _valid_bodies(hub)
    sent, server_errors = 0, []
    with TestClient(create_app(hub), base_url=BASE, raise_server_exceptions=False,
                    headers=auth(hub)) as c:

        def send(method: str, path: str, **kwargs: Any) -> httpx.Response:
            nonlocal sent
            sent += 1
            response = c.request(method, CONTROL_PREFIX + path, **kwargs)
            if response.status_code >= 500:
                server_errors.append(f"{method} {path} {str(kwargs)[:120]} -> "
                                     f"{response.status_code} {response.text[:120]}")
            return response

        for template, methods in routes:
            for method in methods:
                if method == "HEAD":
                    continue
                params = _path_params(hub)  # after resets and deletes: current ids
                valid = _valid_bodies(hub)
                path = template.format(**params)
                body_route = method in ("POST", "PUT", "PATCH") and template in valid
                if body_route:
                    baseline = send(method, path, json=valid[template])
                    assert baseline.status_code < 300, (method, template, baseline.text[:200])
                    for field in control.BODY_MODELS[template].model_fields:
                        for value in HOSTILE_VALUES:
                            body = {**valid[template], field: value}
                            send(method, _current(template, hub), content=json.dumps(body),
                                 headers={"Content-Type": "application/json"})
                    send(method, path, json={**valid[template], "unknown" * 1000: 1})
                    for raw in RAW_BODIES:
                        send(method, _current(template, hub), content=raw,
                             headers={"Content-Type": "application/json"})
                for name in params:
                    if "{" + name + "}" not in template:
                        continue
                    for value in PATH_VALUES:
                        hostile = template.format(**{**_path_params(hub), name: value})
                        send(method, hostile, json=valid.get(template, {}))
        for query in AUDIT_QUERIES:
            send("GET", "/audit", params=query)
            send("GET", "/audit/summary", params=query)
        for value in ("x" * 10_000, "", "%00", "../"):
            for name in ("prefix", "address", "claimed"):
                send("GET", "/load/links", params={name: value})
            send("GET", "/load/mailboxes", params={"claimed": value})
        for value in ("x" * 10_000, "TRUE", ""):
            send("GET", "/world", params={"secrets": value})
            send("POST", "/google/users/{email}/revoke".format(**_path_params(hub)),
                 params={"client_id": value})
    with capsys.disabled():
        print(f"\ncontrol API hostile sweep: {sent} requests over {len(routes)} routes, "
              f"{len(server_errors)} 5xx")
    assert sent > 1000
    assert server_errors == []


def _current(template: str, hub: Hub) -> str:
    return template.format(**_path_params(hub))
