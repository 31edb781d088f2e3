"""The conformance API and the HTTP driver against each other: every driver-seam operation
crosses the wire and arrives as it left, refusals come back as the same DriverError, bad input
gets the one error shape, and the committed OpenAPI document is what the code serves."""

from __future__ import annotations

import inspect
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from harness.api.conformance import HubDescription
from harness.api.errors import DriverError
from harness.conformance import DriverHost, create_app
from harness.conformance.app import openapi_document
from harness.conformance.openapi import DOCUMENT, render
from harness.conformance.server import ConformanceServer
from harness.driver.base import IntegrationDriver
from harness.driver.http import ConformanceError, HttpDriver
from tests.conformance_support import (
    ANSWERS,
    CALLS,
    CLAIMS,
    HUB,
    RecordingDriver,
    refusal,
)

# The seam's operations: the abstract ones every driver has, and the optional ones a driver may
# refuse with `not_supported` (meeting responses, the Web Calendaring Service, stored data, the
# clock, calendar selection).
OPTIONAL = ("respond_to_meeting", "run_sync_service", "platform_meetings", "sync_records",
            "search_stored_data", "clock_now", "advance_clock", "list_calendars",
            "select_calendars")
OPERATIONS = sorted([*(name for name, member in vars(IntegrationDriver).items()
                       if getattr(member, "__isabstractmethod__", False)), *OPTIONAL])


@pytest.fixture(scope="module")
def recording_server() -> Iterator[tuple[str, RecordingDriver]]:
    """A recording driver behind the API on a loopback socket, one per module."""
    recorder = RecordingDriver()
    with ConformanceServer(create_app(recorder, CLAIMS)) as server:
        yield server.url, recorder


@pytest.fixture
def recorder(recording_server: tuple[str, RecordingDriver]) -> RecordingDriver:
    recorder = recording_server[1]
    recorder.calls.clear()
    recorder.fail.clear()
    recorder.delay, recorder.max_active = 0.0, 0
    return recorder


@pytest.fixture
def served(recording_server: tuple[str, RecordingDriver], recorder: RecordingDriver) -> str:
    return recording_server[0]


@pytest.fixture
def driver(served: str) -> Iterator[HttpDriver]:
    http = HttpDriver(served, HUB, timeout=10)
    yield http
    http.close()


@pytest.fixture
def client(recorder: RecordingDriver) -> Iterator[TestClient]:
    with TestClient(create_app(recorder, CLAIMS), raise_server_exceptions=False) as c:
        yield c


def test_the_seam_has_the_operations_the_api_serves() -> None:
    assert len(OPERATIONS) == 29 + len(OPTIONAL)
    served = {op["operationId"] for path in openapi_document()["paths"].values()
              for op in path.values()}
    assert served == {*OPERATIONS, "capabilities"}
    assert set(CALLS) == set(OPERATIONS) == set(ANSWERS)


def test_committed_openapi_document_is_what_the_app_serves(client: TestClient) -> None:
    committed = DOCUMENT.read_text(encoding="utf-8")
    assert committed == render(openapi_document()), (
        "docs/conformance-openapi.json is stale: run `python -m harness.conformance.openapi`")
    served = client.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(committed)
    assert served.json()["openapi"].startswith("3.1")
    assert served.json()["info"]["version"] == "calharness.conformance/1"


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_crosses_the_wire_unchanged(operation: str, driver: HttpDriver,
                                                    recorder: RecordingDriver) -> None:
    args = CALLS[operation]
    answer = getattr(driver, operation)(*args)
    assert answer == ANSWERS[operation]
    assert recorder.calls == [(operation, args)]


def test_a_secret_password_reaches_the_implementation(driver: HttpDriver,
                                                      recorder: RecordingDriver) -> None:
    driver.begin_connect(*CALLS["begin_connect"])
    (_, (_, request)), = recorder.calls
    assert request.password.get_secret_value() == "s3cret/ü"


def test_capabilities_and_version(driver: HttpDriver, client: TestClient) -> None:
    assert driver.capabilities() == CLAIMS
    assert client.get("/capabilities").json()["api"] == "calharness.conformance/1"


@pytest.mark.parametrize(("code", "status"), [("not_an_admin", 403), ("locked", 409),
                                              ("no_account", 404), ("invalid_email", 422),
                                              ("unknown_calendar", 404),
                                              ("some_vendor_code", 409)])
def test_a_refusal_comes_back_as_the_same_driver_error(code: str, status: int,
                                                       driver: HttpDriver, client: TestClient,
                                                       recorder: RecordingDriver) -> None:
    recorder.fail["create_group"] = refusal(code, f"because {code}")
    with pytest.raises(DriverError) as raised:
        driver.create_group("a@x.example", "Sales", [])
    assert (raised.value.code, raised.value.message) == (code, f"because {code}")
    raw = client.post("/groups", json={"actor": "a@x.example", "name": "Sales"})
    assert raw.status_code == status
    assert raw.json() == {"error": {"code": code, "message": f"because {code}"}}


def test_an_implementation_crash_is_a_500_in_the_shape_and_never_a_refusal(
        driver: HttpDriver, client: TestClient, recorder: RecordingDriver) -> None:
    recorder.fail["sync_now"] = lambda: RuntimeError("database on fire")
    with pytest.raises(ConformanceError, match="500 internal_error: RuntimeError: database"):
        driver.sync_now("a@x.example")
    raw = client.post("/users/a@x.example/sync")
    assert raw.status_code == 500
    assert raw.json()["error"]["code"] == "internal_error"


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("POST", "/account/settings", {}, 422, "invalid_request"),
    ("POST", "/account/settings", {"actor": "a", "changes": {}, "extra": 1}, 422,
     "invalid_request"),
    ("POST", "/users/a@x.example/meetings", {"subject": "", "start": "x", "end": "y"}, 422,
     "invalid_request"),
    ("GET", "/users/a@x.example/meetings?start=yesterday&end=2026-01-01T00:00:00Z", None, 422,
     "invalid_request"),
    ("GET", "/policy?level=planet", None, 422, "invalid_request"),
    ("POST", "/users/a@x.example/sign-in", {"client": {"version": "five"}, "method": "sso"}, 422,
     "invalid_request"),
    ("PUT", "/account", {"account": {"owner": "a@x.example"}, "hub": {"schema": "nope"}}, 422,
     "invalid_request"),
    ("GET", "/no/such/thing", None, 404, "not_found"),
    ("DELETE", "/account/settings", None, 405, "method_not_allowed"),
])
def test_malformed_requests_get_a_4xx_in_the_error_shape(
        client: TestClient, recorder: RecordingDriver, method: str, path: str,
        body: Any, status: int, code: str) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert "\n" not in error["message"]
    assert recorder.calls == []  # nothing reached the implementation


def test_a_body_that_is_not_json_is_a_422(client: TestClient) -> None:
    response = client.post("/groups", content=b"{not json", headers={
        "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_before_an_account_is_set_up_operations_are_refused() -> None:
    made: list[RecordingDriver] = []

    def factory(hub: HubDescription) -> IntegrationDriver:
        made.append(RecordingDriver())
        return made[-1]

    with TestClient(create_app(factory, CLAIMS)) as client:
        response = client.get("/account/settings")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "no_account"
        setup = {"account": {"owner": "a@x.example"}, "hub": HUB}
        assert client.put("/account", json=setup).status_code == 204
        assert client.get("/account/settings").status_code == 200
        assert client.put("/account", json=setup).status_code == 204
    assert len(made) == 2 and made[0].closed and not made[1].closed  # the old one is released


def test_a_failed_account_set_up_keeps_the_previous_account() -> None:
    made: list[RecordingDriver] = []

    def factory(hub: HubDescription) -> IntegrationDriver:
        made.append(RecordingDriver())
        if len(made) == 2:
            made[-1].fail["setup_account"] = refusal("invalid_hub", "no tenants")
        return made[-1]

    with TestClient(create_app(factory, CLAIMS)) as client:
        setup = {"account": {"owner": "a@x.example"}, "hub": HUB}
        assert client.put("/account", json=setup).status_code == 204
        failed = client.put("/account", json=setup)
        assert (failed.status_code, failed.json()["error"]["code"]) == (422, "invalid_hub")
        assert client.get("/account/settings").status_code == 200
    assert [d.closed for d in made] == [False, True]
    assert [op for op, _ in made[0].calls] == ["setup_account", "get_settings"]


def test_the_hub_description_reaches_the_factory_with_unknown_keys_kept() -> None:
    seen: list[dict[str, Any]] = []

    def factory(hub: HubDescription) -> IntegrationDriver:
        seen.append(hub.as_dict())
        return RecordingDriver()

    hub = {**HUB, "control": "https://127.0.0.1:1/_control", "later_key": {"x": 1}}
    with TestClient(create_app(factory, CLAIMS)) as client:
        assert client.put("/account", json={"account": {"owner": "a@x.example"},
                                            "hub": hub}).status_code == 204
    assert seen == [hub | {"google": None}]


def test_calls_are_serialized(served: str, recorder: RecordingDriver) -> None:
    recorder.delay = 0.05
    drivers = [HttpDriver(served, HUB, timeout=20) for _ in range(6)]
    threads = [threading.Thread(target=d.sync_now, args=("a@x.example",)) for d in drivers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for d in drivers:
        d.close()
    assert len(recorder.calls) == 6
    assert recorder.max_active == 1


def test_an_answer_outside_the_schema_is_a_conformance_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/integration"):
            return httpx.Response(200, json={"user": "a", "state": "happy"})
        if request.url.path.endswith("/sync"):
            return httpx.Response(409, text="<html>nope</html>")
        return httpx.Response(302, headers={"Location": "/elsewhere"})

    driver = HttpDriver("http://127.0.0.1:9", HUB, transport=httpx.MockTransport(handler))
    with pytest.raises(ConformanceError, match="body outside the API: state"):
        driver.integration_status("a@x.example")
    with pytest.raises(ConformanceError, match="409 without the error shape"):
        driver.sync_now("a@x.example")
    with pytest.raises(ConformanceError, match="302"):
        driver.list_contacts("a@x.example")


def test_a_target_that_goes_away_mid_run_is_a_conformance_error() -> None:
    app = FastAPI()
    with ConformanceServer(app) as server:
        url = server.url
    driver = HttpDriver(url, HUB, timeout=5)
    with pytest.raises(ConformanceError, match="no answer from"):
        driver.get_settings()
    assert not issubclass(ConformanceError, DriverError)


def test_create_app_needs_claims_for_a_bare_driver(recorder: RecordingDriver) -> None:
    with pytest.raises(TypeError, match="capabilities"):
        create_app(recorder)
    host = DriverHost.fixed(recorder, CLAIMS)
    assert create_app(host).state.calharness_host is host
    assert inspect.signature(create_app).parameters["capabilities"].default is None
