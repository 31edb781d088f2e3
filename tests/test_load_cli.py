"""The load's command lines, bounded and on loopback: `calharness serve` advertising a host name
other than the one it binds (the multi-machine recipe of docs/load.md), and the one-line errors
of `calharness load` and of plain `locust -f scenarios/load_sync.py` for a stale hub
description, an --out that is a file and options Locust refuses, leaving nothing behind."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.load.hubs import shards_of
from harness.net import httpx_verify
from mock_providers.advertise import AdvertiseError, advertised_host, check_host_name
from mock_providers.server import HubServer

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, cwd=cwd)


def _hub_urls(shard: dict[str, Any]) -> list[str]:
    """Every URL of the hub's own that a description carries (the apps' redirect URIs are the
    integrations', not the hub's)."""
    ms, google = shard["microsoft"], shard["google"]
    return [shard["base_url"], shard["control"], ms["authority_host"], ms["graph"], ms["ews"],
            *(google[k] for k in ("auth_uri", "token_uri", "calendar", "people", "api_root",
                                  "discovery"))]


# -- serve --advertise-host ------------------------------------------------------------------------
@pytest.mark.parametrize("shards", [1, 2])
def test_serve_advertises_the_name_it_is_told_in_every_url(tmp_path: Path, shards: int) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "harness", "serve", "--json", "--host",
                             "127.0.0.1", "--advertise-host", "localhost", "--shards",
                             str(shards), "--state-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        description = json.loads(proc.stdout.readline())
        hubs = shards_of(description)
        assert len(hubs) == shards
        for shard in hubs:
            urls = _hub_urls(shard)
            assert all(u.startswith("https://localhost:") for u in urls), urls
            verify = httpx_verify(shard["ca_bundle"])
            health = httpx.get(f"{shard['control']}/health", verify=verify, timeout=10,
                               headers={"Authorization": f"Bearer {shard['control_token']}"})
            assert health.status_code == 200 and health.json()["seed"] == 42
            tenant = shard["microsoft"]["tenants"][0]["id"]
            openid = httpx.get(f"{shard['microsoft']['authority_host']}/{tenant}/v2.0/"
                               ".well-known/openid-configuration", verify=verify, timeout=10)
            assert openid.status_code == 200, openid.text
            assert openid.json()["token_endpoint"].startswith("https://localhost:")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_the_certificate_names_the_advertised_host(tmp_path: Path) -> None:
    """Bound to 127.0.0.1, advertising a name: TLS verifies for that name (and only for the
    hub's names), and the control API answers to it."""
    with HubServer(host="127.0.0.1", advertise_host="hub.calharness.test",
                   state_dir=tmp_path) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        assert server.base_url == f"https://hub.calharness.test:{port}"
        context = ssl.create_default_context(cafile=server.ca_bundle)
        for name, verifies in (("hub.calharness.test", True), ("127.0.0.1", True),
                               ("other.calharness.test", False)):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                if verifies:
                    with context.wrap_socket(raw, server_hostname=name) as tls:
                        assert tls.version() is not None
                else:
                    with pytest.raises(ssl.SSLCertVerificationError):
                        context.wrap_socket(raw, server_hostname=name)
        with httpx.Client(verify=httpx_verify(server.ca_bundle), timeout=10) as client:
            request = client.build_request(
                "GET", f"https://127.0.0.1:{port}/_control/health",
                headers={"Host": f"hub.calharness.test:{port}"},
                extensions={"sni_hostname": "hub.calharness.test"})
            assert client.send(request).status_code == 200


def test_a_wildcard_bind_never_advertises_the_wildcard() -> None:
    for bound in ("0.0.0.0", "::"):
        host = advertised_host(bound)
        assert host and host not in ("0.0.0.0", "::"), host
    assert advertised_host("127.0.0.1") == "127.0.0.1"
    assert advertised_host("0.0.0.0", "Hub1.Example.NET.") == "hub1.example.net"
    assert check_host_name("[::1]") == "::1"
    for bad in ("http://hub", "hub:9400", "hub/x", "a b", "", "-hub", "0.0.0.0"):
        with pytest.raises(AdvertiseError):
            check_host_name(bad)


def test_a_bad_advertised_name_is_one_line() -> None:
    bad = _cli("serve", "--advertise-host", "https://hub.example.net:9400")
    assert bad.returncode == 2
    assert bad.stderr.startswith("calharness: error: --advertise-host: ") and \
        bad.stderr.count("\n") == 1, bad.stderr


# -- one-line errors, nothing left behind --------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stale_hubs(tmp_path: Path) -> Path:
    """A hub description of a hub that has stopped: nothing listens on its port."""
    base = f"https://127.0.0.1:{_closed_port()}"
    path = tmp_path / "stale.json"
    path.write_text(json.dumps({
        "schema": "calharness.hub/1", "seed": 42, "base_url": base, "control": f"{base}/_control",
        "control_token": "gone", "ca_bundle": None,
        "microsoft": {"tenants": []}, "google": {"users": []}}))
    return path


def _one_error_line(result: subprocess.CompletedProcess[str], prefix: str) -> str:
    lines = [line for line in result.stderr.splitlines() if prefix in line]
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert len(lines) == 1, result.stderr[-2000:]
    return lines[0]


def test_load_with_a_stale_hub_description_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    stale = _stale_hubs(tmp_path)
    result = _cli("load", "--hubs", str(stale), "--out", "out", cwd=tmp_path)
    line = _one_error_line(result, "calharness: error: ")
    assert "hub shard 0" in line and "does not answer" in line and "stale" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stale.json"]


def test_load_refuses_an_out_that_is_a_file_and_a_missing_description(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("mine")
    result = _cli("load", "--out", "taken", cwd=tmp_path)
    assert "--out taken: exists and is not a folder" in _one_error_line(result, "error: ")
    assert (tmp_path / "taken").read_text() == "mine"
    result = _cli("load", "--hubs", "none.json", cwd=tmp_path)
    assert "cannot read none.json" in _one_error_line(result, "error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # no reports/ either


def test_load_with_options_locust_refuses_removes_its_folder(tmp_path: Path) -> None:
    result = _cli("load", "--users", "1", "--workers", "0", "--run-time", "5", "--events", "2",
                  "--out", "deep/out", "--", "--no-such-locust-option", cwd=tmp_path)
    line = _one_error_line(result, "calharness: error: ")
    assert "locust refused to start" in line and "--no-such-locust-option" in line, line
    assert list(tmp_path.iterdir()) == []


def test_plain_locust_with_a_stale_hub_description_is_one_line(tmp_path: Path) -> None:
    stale = _stale_hubs(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "scenarios" / "load_sync.py"),
         "--headless", "-u", "1", "-t", "5s", "--hubs", str(stale)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, cwd=tmp_path)
    line = _one_error_line(result, "calharness load: error: ")
    assert "does not answer" in line and "stale" in line, line


def test_the_locustfile_lists_its_own_options_run_as_a_script() -> None:
    """`locust -f ... --help` cannot show them (Locust prints help before loading the file)."""
    shown = subprocess.run([sys.executable, str(ROOT / "scenarios" / "load_sync.py"), "--help"],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert shown.returncode == 0, shown.stderr
    for option in ("--hubs", "--mailboxes", "--events", "--mix", "--steps", "--pace", "--plan",
                   "--target", "--load-seed"):
        assert option in shown.stdout, option
    assert "--hubs-json" not in shown.stdout  # the master's, for its workers


def test_a_hub_with_another_control_token_is_a_stale_description(tmp_path: Path) -> None:
    """A new hub on the port of the old one: it answers, but refuses the old token."""
    from harness.load.hubs import HubsError, seed_population
    from mock_providers.describe import describe

    with HubServer(host="127.0.0.1", state_dir=tmp_path) as server:
        old = {**describe(server.hub, secrets=True), "control_token": "the-old-hub's"}
        with pytest.raises(HubsError) as info:
            seed_population(old, mailboxes=2, events=1)
        assert "refused the description's credentials (invalidControlToken)" in str(info.value)
        assert "stale" in str(info.value)
        assert server.hub.world.load is None  # nothing was seeded
