"""Drift check: a cassette whose responses were edited (a renamed property, a changed error code,
a missing @odata.deltaLink), replayed against the mocks, is reported with each edit and nothing
else; an unedited one with nothing."""

from __future__ import annotations

import json
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msal
import pytest
import yaml

from harness.net import pinned_session
from harness.reference.config import ReferenceConfig
from harness.reference.providers.graph_api import GraphConnector
from harness.traffic.cassettes import Exchange, read_cassette, write_cassette
from harness.traffic.drift import compare, drift
from harness.traffic.proxy import TrafficProxy
from harness.traffic.replay import MockReplayer
from mock_providers.server import HubServer

GRAPH = "https://graph.microsoft.com/v1.0"
LOGIN = "https://login.microsoftonline.com"
# Inside Graph's 1825-day calendarView limit; anchored on today, as the seeded events are.
_TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
WINDOW = (_TODAY - timedelta(days=800), _TODAY + timedelta(days=800))


@pytest.fixture(scope="module")
def cassette(hub_server: HubServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recording of the reference's Graph connector through the proxy, real host names: a
    token, a list, a missing event (404), a paged delta round."""
    state_dir = Path(hub_server.ca_bundle or "").parent
    hub_server.hub.reset()
    tenant = hub_server.hub.world.tenant("contoso")
    assert tenant is not None
    app = next(a for a in tenant.apps.values() if a.client_secret)
    user = sorted(tenant.users.values(), key=lambda u: u.upn)[0]
    with TrafficProxy(hub_server.base_url, hub_server.ca_bundle, state_dir) as proxy:
        session = pinned_session(hub_server.ca_bundle)
        session.proxies = {"https": proxy.url}
        client = msal.ConfidentialClientApplication(
            app.client_id, client_credential=app.client_secret,
            authority=f"{LOGIN}/{tenant.id}", http_client=session)

        def token(force: bool) -> str:
            return str(client.acquire_token_for_client(
                ["https://graph.microsoft.com/.default"])["access_token"])

        config = ReferenceConfig(authority_host=LOGIN, graph_url=GRAPH, ews_url="",
                                 ca_bundle=None, registrations=())
        verify = ssl.create_default_context(cafile=hub_server.ca_bundle)
        with httpx.Client(proxy=proxy.url, verify=verify, timeout=10) as http:
            graph = GraphConnector(config, http, f"/users/{user.upn}")
            graph.request("GET", f"{graph.base}/events?$top=3", token)
            missing = http.get(f"{graph.base}/events/AAMkAGI2-not-there",
                               headers={"Authorization": f"Bearer {token(False)}"})
            assert missing.status_code == 404
            graph.events_delta(token, None, WINDOW, page_size=2)
        exchanges = proxy.recorder.take()
    return write_cassette(tmp_path_factory.mktemp("drift") / "graph.yaml", exchanges)


def edited(source: Path, target: Path) -> tuple[Path, dict[str, int]]:
    """The same cassette with three edits in its responses; returns where each edit is."""
    data = yaml.safe_load(source.read_text())
    where: dict[str, int] = {}
    for number, interaction in enumerate(data["interactions"], start=1):
        uri, body = interaction["request"]["uri"], interaction["response"]["body"]
        parsed: Any = json.loads(body["string"]) if body["string"].startswith("{") else None
        if "/events?" in uri and "rename" not in where:
            for event in parsed["value"]:
                event["title"] = event.pop("subject")
            where["rename"] = number
        elif "AAMkAGI2-not-there" in uri:
            assert parsed["error"]["code"] == "ErrorItemNotFound"
            parsed["error"]["code"] = "ErrorInvalidIdMalformed"
            where["error"] = number
        elif parsed and "@odata.deltaLink" in parsed:
            del parsed["@odata.deltaLink"]
            where["delta"] = number
        else:
            continue
        body["string"] = json.dumps(parsed)
        interaction["response"]["headers"]["Content-Length"] = [str(len(body["string"]))]
    target.write_text(yaml.safe_dump(data))
    assert set(where) == {"rename", "error", "delta"}
    return target, where


def run_drift(hub_server: HubServer, path: Path) -> Any:
    hub_server.hub.reset()
    replayer = MockReplayer(hub_server)
    try:
        return drift(str(path), read_cassette(path), replayer)
    finally:
        replayer.close()


def test_unedited_recording_has_no_drift(hub_server: HubServer, cassette: Path) -> None:
    report = run_drift(hub_server, cassette)
    assert report.differences == [], [d.line() for d in report.differences]
    assert report.replayed >= 5  # the list, the 404, the delta pages (token requests skipped)
    assert all("sign-in or token request" in reason for _, reason in report.skipped)


def test_each_edit_is_named_and_nothing_else(hub_server: HubServer, cassette: Path,
                                             tmp_path: Path) -> None:
    path, where = edited(cassette, tmp_path / "edited.yaml")
    report = run_drift(hub_server, path)
    found = {(d.index, d.kind, d.where, json.dumps(d.recorded), json.dumps(d.mock))
             for d in report.differences}
    assert found == {
        (where["rename"], "property_renamed", "value[].title", '"title"', '"subject"'),
        (where["error"], "error_code", "error", '["ErrorInvalidIdMalformed"]',
         '["ErrorItemNotFound"]'),
        (where["delta"], "paging_link", "@odata.deltaLink", "null", '"present"'),
    }, [d.line() for d in report.differences]


def exchange(status: int, body: Any, **headers: str) -> Exchange:
    return Exchange("GET", f"{GRAPH}/me/events", [], None, status, "",
                    [("Content-Type", "application/json"), *headers.items()],
                    json.dumps(body))


def test_compare_status_types_and_retry_after() -> None:
    recorded = exchange(429, {"error": {"code": "TooManyRequests"}}, **{"Retry-After": "3"})
    mock = exchange(503, {"error": {"code": "TooManyRequests"}})
    kinds = {(d.kind, d.where) for d in compare(1, recorded, mock)}
    assert kinds == {("status", ""), ("header", "retry-after")}
    typed = compare(2, exchange(200, {"value": [{"isAllDay": False, "start": None}]}),
                    exchange(200, {"value": [{"isAllDay": "false", "start": {"a": 1}}]}))
    assert [(d.kind, d.where, d.recorded, d.mock) for d in typed] == [
        ("property_extra", "value[].start.a", None, ["number"]),
        ("property_type", "value[].isAllDay", ["boolean"], ["string"])]  # null vs object: fine
    # an empty list on either side: nothing below it to compare
    assert compare(3, exchange(200, {"value": []}), exchange(200, {"value": [{"a": 1}]})) == []


def test_the_drift_command_reports_the_edits_and_exits_1(cassette: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    path, where = edited(cassette, tmp_path / "edited.yaml")
    result = subprocess.run([sys.executable, "-m", "harness", "drift", str(path), "--json",
                             "--state-dir", str(tmp_path / "state")], capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["schema"] == "calharness.drift/1"
    assert sorted((d["index"], d["kind"]) for d in report["differences"]) == sorted([
        (where["rename"], "property_renamed"), (where["error"], "error_code"),
        (where["delta"], "paging_link")])
    clean = subprocess.run([sys.executable, "-m", "harness", "drift", str(cassette),
                            "--state-dir", str(tmp_path / "state")], capture_output=True,
                           text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 difference(s)" in clean.stdout
