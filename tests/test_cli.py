"""The command line as users meet it: `serve --json`, and one-line errors with exit 2."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msal
import pytest

from harness.net import pinned_session

CLI = [sys.executable, "-m", "harness"]


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {result.stderr!r}"
    assert lines[0].startswith("calharness: error: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def test_unknown_option() -> None:
    assert_one_line_error(run_cli("run", "--bogus"), "No such option")


def test_missing_features_path(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("run", "--features", str(tmp_path / "nope")), "does not exist")


def test_malformed_feature_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.feature"
    bad.write_text("Feature: broken\n  Scenario: x\n    Given a step\n  Nonsense line here\n"
                   "    Whenever it rains\n")
    result = run_cli("run", "--features", str(bad))
    assert_one_line_error(result, "bad.feature")


def test_feature_with_unknown_requirement_tag(tmp_path: Path) -> None:
    bad = tmp_path / "unknown.feature"
    bad.write_text("Feature: f\n  @req:NOPE-99\n  Scenario: s\n    Given a step\n")
    assert_one_line_error(run_cli("validate", "--features", str(bad)), "NOPE-99")


def test_feature_without_requirement_tag(tmp_path: Path) -> None:
    bad = tmp_path / "untraced.feature"
    bad.write_text("Feature: f\n  Scenario: s\n    Given a step\n")
    assert_one_line_error(run_cli("validate", "--features", str(bad)), "no @req:")


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        result = run_cli("serve", "--port", str(port), "--state-dir", str(tmp_path))
    assert_one_line_error(result, "already in use")


def test_unknown_server() -> None:
    assert_one_line_error(run_cli("serve", "--server", "bogus"), "unknown --server 'bogus'")
    assert_one_line_error(run_cli("run", "--server", "bogus"), "unknown --server 'bogus'")


def test_validate_accepts_the_bundled_features() -> None:
    result = run_cli("validate")
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, object]]]:
    proc = subprocess.Popen([*CLI, "serve", "--json", "--port", "0", "--seed", "5",
                             "--state-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        started = time.monotonic()
        ready, _, _ = select.select([proc.stdout], [], [], 5.0)
        assert ready, "serve --json printed nothing within 5 s"
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert time.monotonic() - started < 5.0
        yield proc, json.loads(line)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_serve_json_and_msal_client_credentials(
        served: tuple[subprocess.Popen[str], dict[str, object]]) -> None:
    proc, info = served
    for key in ("control", "ca_bundle", "ca_bundle_with_system", "microsoft", "google"):
        assert key in info
    assert Path(str(info["ca_bundle_with_system"])).read_text().endswith(
        Path(str(info["ca_bundle"])).read_text())
    assert info["server"] == "granian"  # the default
    ms, google = info["microsoft"], info["google"]
    assert isinstance(ms, dict) and isinstance(google, dict)
    assert {"authority_host", "graph", "ews", "tenants"} <= ms.keys()
    assert {"auth_uri", "token_uri", "calendar", "people", "users", "clients"} <= google.keys()
    tenant = ms["tenants"][0]
    app = next(a for a in tenant["apps"] if a["client_secret"])
    http = pinned_session(str(info["ca_bundle"]))
    authority = f"{ms['authority_host']}/{tenant['id']}"

    good = msal.ConfidentialClientApplication(
        app["client_id"], client_credential=app["client_secret"], authority=authority,
        http_client=http, instance_discovery=False)
    result = good.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result

    bad = msal.ConfidentialClientApplication(
        app["client_id"], client_credential="not-the-secret", authority=authority,
        http_client=http, instance_discovery=False)
    result = bad.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert result.get("error") == "invalid_client", result
    assert 7000215 in result.get("error_codes", []), result
    assert result["error_description"].startswith("AADSTS7000215"), result

    # the printed control token drives the control API; without it the API refuses
    token, control = str(info["control_token"]), str(info["control"])
    assert info["secrets_included"] is True
    assert http.get(f"{control}/clock").status_code == 401
    clock = http.get(f"{control}/clock", headers={"Authorization": f"Bearer {token}"})
    assert clock.status_code == 200 and "now" in clock.json()

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0, "SIGTERM must stop the hub cleanly"


def test_serve_no_tls_reports_no_ca(tmp_path: Path) -> None:
    proc = subprocess.Popen([*CLI, "serve", "--json", "--no-tls", "--state-dir", str(tmp_path),
                             "--server", "uvicorn"],
                            stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 5.0)
        assert ready
        info = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        assert info["ca_bundle"] is None and info["base_url"].startswith("http://")
        assert info["ca_bundle_with_system"] is None
        assert info["server"] == "uvicorn"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


PASSING = """Feature: passing
  @req:SVC-01
  Scenario: integration is on by default
    Given a meeting platform account owned by the admin of tenant "contoso"
    Then the account setting "calendar_integration" is on
"""

FAILING = """Feature: failing
  @req:SETUP-06
  Scenario: connected without ever connecting
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the user is the first member of tenant "contoso"
    Then the integration status is "connected"
"""


def _results(report_dir: Path) -> dict[str, object]:
    (run_dir,) = list(report_dir.iterdir())
    assert {p.name for p in run_dir.iterdir()} == {"report.html", "junit.xml", "results.json",
                                                   "cucumber.json"}
    return dict(json.loads((run_dir / "results.json").read_text()))


def test_run_passing_feature_exits_0_and_writes_reports(tmp_path: Path) -> None:
    feature = tmp_path / "ok.feature"
    feature.write_text(PASSING)
    result = run_cli("run", "--features", str(feature), "--report-dir", str(tmp_path / "r"),
                     timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = _results(tmp_path / "r")["summary"]
    assert summary["scenarios"]["passed"] == 1  # type: ignore[index]
    assert "PASSED" in result.stdout


def test_run_failing_feature_exits_1_with_the_failure_reported(tmp_path: Path) -> None:
    feature = tmp_path / "bad.feature"
    feature.write_text(FAILING)
    result = run_cli("run", "--features", str(feature), "--report-dir", str(tmp_path / "r"),
                     timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    results = _results(tmp_path / "r")
    (scenario,) = results["scenarios"]  # type: ignore[misc]
    assert scenario["status"] == "failed"
    failed = [s for s in scenario["steps"] if s["status"] == "failed"]
    assert failed and "not_connected" in failed[0]["error"]
    assert "FAILED" in result.stdout


def test_malformed_tag_expression() -> None:
    assert_one_line_error(run_cli("run", "--tags", "google and ("), "--tags")


def test_a_selection_that_matches_nothing_fails(tmp_path: Path) -> None:
    result = run_cli("run", "--tags", "nosuchtag", "--report-dir", str(tmp_path), timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no scenario matched" in result.stdout
