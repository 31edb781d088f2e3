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


def test_the_addons_load_in_plain_mitmdump(tmp_path: Path) -> None:
    """`mitmdump -s harness/traffic/addons.py` runs the same route addon: a host outside the
    routed list gets the proxy's own refusal."""
    import shutil
    import time

    import httpx

    import harness.traffic.addons as addons

    mitmdump = shutil.which("mitmdump") or str(Path(sys.executable).parent / "mitmdump")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [mitmdump, "-q", "-s", addons.__file__, "--listen-host", "127.0.0.1", "-p", str(port),
         "--set", f"confdir={tmp_path}", "--set", "connection_strategy=lazy",
         "--set", "calharness_hub=https://127.0.0.1:9"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    try:
        deadline, reply = time.monotonic() + 30, None
        while time.monotonic() < deadline and reply is None:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                reply = httpx.get("http://example.com/", proxy=f"http://127.0.0.1:{port}",
                                  timeout=5)
            except httpx.TransportError:
                time.sleep(0.3)
        assert reply is not None, "mitmdump did not listen within 30s"
        assert reply.status_code == 502
        assert "example.com is not a provider host calharness mocks" in reply.text
    finally:
        process.terminate()
        process.wait(10)
