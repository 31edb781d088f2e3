"""The vendors' path through the proxy: the reference implementation behind the conformance API
(`calharness reference serve`, its own process), told only the real provider host names and given
only a proxy setting and the harness CA, passes the Graph, EWS and Google features through
`--target URL --traffic`; each scenario's cassette names real hosts only."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from harness.reports import load_results

ROOT = Path(__file__).resolve().parent.parent
REAL_HOSTS = ("https://login.microsoftonline.com/", "https://graph.microsoft.com/",
              "https://outlook.office365.com/", "https://accounts.google.com/",
              "https://oauth2.googleapis.com/", "https://www.googleapis.com/",
              "https://people.googleapis.com/")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_reference_target_on_real_host_names_passes_through_the_proxy(tmp_path: Path) -> None:
    port = free_port()
    proxy = f"http://127.0.0.1:{port}"
    # the implementation's whole provider configuration: a proxy (and, per account set-up, the
    # harness CA and real host names the harness hands it)
    target_env = {**os.environ, "HTTPS_PROXY": proxy, "HTTP_PROXY": proxy,
                  "NO_PROXY": "127.0.0.1,localhost"}
    server = subprocess.Popen([sys.executable, "-m", "harness", "reference", "serve", "--port",
                               "0", "--json"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                              env=target_env)
    try:
        assert server.stdout is not None
        ready, _, _ = select.select([server.stdout], [], [], 60)
        assert ready, "reference serve printed nothing within 60 s"
        target = json.loads(server.stdout.readline())["url"]
        cassettes, reports = tmp_path / "cassettes", tmp_path / "reports"
        run = subprocess.run(
            [sys.executable, "-m", "pytest", str(ROOT / "features" / "office365_graph.feature"),
             str(ROOT / "features" / "exchange_ews.feature"),
             str(ROOT / "features" / "google.feature"), "-q", "-p", "no:cacheprovider",
             "--target", target, "--traffic", "--traffic-port", str(port),
             "--record-cassettes", str(cassettes), "--report-dir", str(reports),
             "--run-id", "via-proxy"], cwd=ROOT, capture_output=True, text=True, timeout=900,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "CALHARNESS_STATE_DIR": str(tmp_path / "state")})
    finally:
        server.terminate()
        server.wait(10)
    results = reports / "via-proxy" / "results.json"
    assert results.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    outcome = load_results(results)
    statuses = {s.name: s.status for s in outcome.scenarios}
    assert statuses and set(statuses.values()) == {"passed"}, \
        {k: v for k, v in statuses.items() if v != "passed"}
    # provider traffic evidence on every scenario that reached a provider
    labelled = [e.label for s in outcome.scenarios for e in s.evidence]
    assert any(label.startswith("provider traffic through the proxy") for label in labelled)
    uris = [i["request"]["uri"] for path in cassettes.glob("*.yaml")
            for i in yaml.safe_load(path.read_text())["interactions"]]
    assert len(uris) > 20
    assert all(u.startswith(REAL_HOSTS) for u in uris), \
        sorted({u.split("/")[2] for u in uris if not u.startswith(REAL_HOSTS)})
    assert any(u.startswith("https://graph.microsoft.com/") for u in uris)
    assert any(u.startswith("https://outlook.office365.com/EWS/") for u in uris)
    # Google through the proxy too (httplib2 needs PySocks for that): calendar and people
    assert any(u.startswith("https://www.googleapis.com/calendar/v3/") for u in uris)
    assert any(u.startswith("https://people.googleapis.com/v1/") for u in uris)


def test_target_with_traffic_needs_the_port_the_target_was_told(
        tmp_path: Path) -> None:
    """A target reaches the proxy only through its own HTTPS_PROXY, which the harness cannot
    set: --target --traffic on a free port the target was not told is refused before anything
    runs (else the target would get real host names and no proxy: the real services), by the
    CLI and by the pytest plugin alike."""
    env = {**os.environ, "CALHARNESS_STATE_DIR": str(tmp_path / "state")}
    nowhere = f"http://127.0.0.1:{free_port()}"
    cli = subprocess.run([sys.executable, "-m", "harness", "run", "--target", nowhere,
                          "--traffic", "--report-dir", str(tmp_path / "r")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                         env=env)
    assert cli.returncode == 2, cli.stdout + cli.stderr
    assert "needs --traffic-port PORT" in cli.stderr
    checked = subprocess.run([sys.executable, "-m", "harness", "run", "--target", nowhere,
                              "--schema-check", "--report-dir", str(tmp_path / "r")], cwd=ROOT,
                             capture_output=True, text=True, timeout=120,
                             stdin=subprocess.DEVNULL, env=env)
    assert checked.returncode == 2 and "needs --traffic-port PORT" in checked.stderr
    plugin = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "features"), "-q",
                             "-p", "no:cacheprovider", "--target", nowhere,
                             "--record-cassettes", str(tmp_path / "c")], cwd=ROOT,
                            capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL, env=env)
    assert plugin.returncode == 4, plugin.stdout + plugin.stderr  # pytest's usage error
    assert "needs --traffic-port PORT" in plugin.stderr
    # with a port the check passes on to probing the target (unreachable here)
    probed = subprocess.run([sys.executable, "-m", "harness", "run", "--target", nowhere,
                             "--traffic", "--traffic-port", str(free_port()), "--report-dir",
                             str(tmp_path / "r")], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL, env=env)
    assert probed.returncode == 2 and "cannot reach --target" in probed.stderr, probed.stderr
