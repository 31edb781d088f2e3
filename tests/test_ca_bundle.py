"""Trusting the hub where REQUESTS_CA_BUNDLE / SSL_CERT_FILE / CURL_CA_BUNDLE are set.

requests lets those variables override a session's own `verify`, so pointing a requests client at
`ca.pem` is not enough on such machines: `ca-bundle-with-system.pem` (the usual public CAs plus
the harness CA) is the file to point the variables at. The harness's own clients pin the CA
whatever the variables say.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httplib2
import httpx
import pytest
import requests

from harness.net import PinnedCAAdapter, httpx_verify, pinned_session, register_ca
from mock_providers.describe import describe
from mock_providers.server import HubServer
from mock_providers.tls import (
    CA_BUNDLE_WITH_SYSTEM,
    CA_CERT,
    bundle_with_system,
    ensure_ca,
    system_ca_files,
    write_bundle_with_system,
)

CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "SSL_CERT_DIR")

# A user's script: plain requests, or a session whose `verify` names the harness CA.
CLIENT = """
import sys, requests
url, mode = sys.argv[1], sys.argv[2]
try:
    if mode == "plain":
        response = requests.get(url, timeout=10)
    else:
        session = requests.Session()
        session.verify = sys.argv[3]
        response = session.get(url, timeout=10)
except requests.exceptions.SSLError as exc:
    print(exc)
    sys.exit(3)
print(response.status_code)
"""


def _certificates(path: Path) -> set[bytes]:
    text = path.read_bytes()
    blocks = text.split(b"-----BEGIN CERTIFICATE-----")[1:]
    return {b"".join(b.split(b"-----END CERTIFICATE-----")[0].split()) for b in blocks}


def system_bundle() -> Path:
    """The operating system's CA file, or certifi's where there is none."""
    return system_ca_files()[-1]


def run_client(url: str, ca_bundle_variable: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in CA_VARIABLES}
    env["REQUESTS_CA_BUNDLE"] = str(ca_bundle_variable)
    return subprocess.run([sys.executable, "-c", CLIENT, url, *extra], env=env, text=True,
                          capture_output=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.fixture
def url(hub_server: HubServer) -> str:
    assert hub_server.hub.base_url.startswith("https://")
    return f"{hub_server.hub.control_url}/health"  # open: no control token needed


def test_the_system_bundle_alone_does_not_trust_the_hub(hub_server: HubServer, url: str) -> None:
    result = run_client(url, system_bundle(), "plain")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in result.stdout, result.stdout
    # ... nor does a session's own verify=ca.pem: the variable overrides it.
    result = run_client(url, system_bundle(), "session", str(hub_server.ca_bundle))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in result.stdout, result.stdout


def test_the_combined_bundle_trusts_the_hub(hub_server: HubServer, url: str) -> None:
    combined = Path(str(hub_server.ca_bundle_with_system))
    for args in (("plain",), ("session", str(hub_server.ca_bundle))):
        result = run_client(url, combined, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip() == "200"


def test_the_combined_bundle_keeps_every_system_certificate(hub_server: HubServer) -> None:
    combined = Path(str(hub_server.ca_bundle_with_system))
    assert combined == Path(str(hub_server.ca_bundle)).with_name(CA_BUNDLE_WITH_SYSTEM)
    mine = _certificates(combined)
    sources = system_ca_files()
    assert sources, "neither certifi nor an operating system CA file found"
    for source in sources:
        theirs = _certificates(source)
        assert theirs and theirs <= mine, f"{len(theirs - mine)} certificates of {source} missing"
    assert _certificates(Path(str(hub_server.ca_bundle))) <= mine
    assert len(mine) == len(set().union(*map(_certificates, sources))) + 1


def test_a_system_ca_still_verifies_through_the_combined_bundle(
        hub_server: HubServer, tmp_path: Path) -> None:
    """A second hub whose CA stands in for a public one: both verify through one bundle."""
    stand_in = tmp_path / "public"
    with HubServer(seed=1, tls=True, state_dir=stand_in) as public:
        ca_cert, _ = ensure_ca(Path(str(hub_server.ca_bundle)).parent)
        bundle = tmp_path / "bundle.pem"
        bundle.write_bytes(bundle_with_system(ca_cert, [stand_in / CA_CERT]))
        for target in (hub_server, public):
            result = run_client(f"{target.hub.control_url}/world", bundle, "plain")
            assert result.returncode == 0, result.stdout + result.stderr


def test_the_bundle_follows_the_ca_and_is_left_alone_otherwise(tmp_path: Path) -> None:
    first = write_bundle_with_system(tmp_path)
    stamp = first.stat().st_mtime_ns, first.stat().st_ino
    assert write_bundle_with_system(tmp_path) == first
    assert (first.stat().st_mtime_ns, first.stat().st_ino) == stamp  # unchanged: not rewritten
    old_ca = (tmp_path / CA_CERT).read_bytes()
    assert first.read_bytes().endswith(old_ca)

    (tmp_path / CA_CERT).unlink()  # a new CA (as when the old one nears expiry)
    write_bundle_with_system(tmp_path)
    new_ca = (tmp_path / CA_CERT).read_bytes()
    assert new_ca != old_ca
    assert first.read_bytes().endswith(new_ca) and old_ca not in first.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [CA_CERT, "ca-key.pem", CA_BUNDLE_WITH_SYSTEM])  # no temporary files left


def test_serve_json_offers_the_combined_bundle(hub_server: HubServer) -> None:
    description = describe(hub_server.hub)
    assert description["ca_bundle_with_system"] == hub_server.ca_bundle_with_system
    assert Path(description["ca_bundle_with_system"]).is_file()


def test_ca_command_prints_the_paths(tmp_path: Path) -> None:
    def cli(*args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "harness", "ca", *args,
                                 "--state-dir", str(tmp_path)], capture_output=True, text=True,
                                timeout=60, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert cli() == str(tmp_path / CA_CERT)
    combined = Path(cli("--bundle"))
    assert combined == tmp_path / CA_BUNDLE_WITH_SYSTEM
    assert combined.read_bytes().endswith((tmp_path / CA_CERT).read_bytes())


def test_the_harness_clients_pin_the_ca_whatever_the_environment_says(
        hub_server: HubServer, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """MSAL and google-auth (pinned requests session), exchangelib (adapter), httpx, httplib2."""
    for name in CA_VARIABLES[:3]:
        monkeypatch.setenv(name, str(system_bundle()))
    ca = str(hub_server.ca_bundle)
    assert pinned_session(ca).get(url, timeout=10).status_code == 200

    register_ca(url, ca)
    exchangelib_like = requests.Session()
    exchangelib_like.mount("https://", PinnedCAAdapter())
    assert exchangelib_like.get(url, timeout=10).status_code == 200

    with httpx.Client(verify=httpx_verify(ca)) as client:
        assert client.get(url).status_code == 200
    response, _ = httplib2.Http(ca_certs=ca).request(url)
    assert response.status == 200
