"""`calharness proxy` and `calharness drift` as users meet them: help, one-line errors, exit 2."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "harness"]


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {result.stderr!r}"
    assert lines[0].startswith("calharness: error: ") and fragment in lines[0], lines[0]


def test_help_names_the_commands() -> None:
    proxy = run_cli("proxy", "--help")
    assert proxy.returncode == 0 and "--upstream" in proxy.stdout and "--record" in proxy.stdout
    drift = run_cli("drift", "--help")
    assert drift.returncode == 0 and "--json" in drift.stdout


def test_drift_on_a_missing_or_malformed_cassette(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("drift", str(tmp_path / "nope.yaml")), "does not exist")
    bad = tmp_path / "bad.yaml"
    bad.write_text("interactions:\n- request: {uri: 1}\n  response: 2\nversion: 1\n")
    assert_one_line_error(run_cli("drift", str(bad)), "is not a vcrpy cassette")
    bad.write_text(": : :\n\t-")
    assert_one_line_error(run_cli("drift", str(bad)), "is not a vcrpy cassette")


def test_proxy_port_in_use_and_bad_upstream(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert_one_line_error(run_cli("proxy", "--port", str(port), "--state-dir",
                                      str(tmp_path)), f"port {port} on 127.0.0.1 is in use")
    assert_one_line_error(run_cli("proxy", "--upstream", "internet"),
                          "--upstream must be mock or real")
