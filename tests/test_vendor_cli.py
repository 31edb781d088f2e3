"""`--target` as vendors meet it: a target that cannot be tested is refused with one line and
exit 2 before any scenario runs; `@needs:` tags are held to the vocabulary; `reference serve`
refuses bad input like every other command."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from harness.api.capabilities import NEEDS, SERVICES, Capabilities, Implementation
from harness.conformance.server import ConformanceServer
from harness.driver.http import TargetError, probe_target
from tests.test_cli import PASSING, assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nobody listens there once the socket closes


def _app(routes: dict[str, object]) -> FastAPI:
    app = FastAPI()
    for path, answer in routes.items():
        if isinstance(answer, str):
            app.add_api_route(path, lambda a=answer: HTMLResponse(a))
        else:
            app.add_api_route(path, lambda a=answer: a)
    return app


@pytest.fixture
def not_the_api() -> Iterator[str]:
    """Some other web service: an HTML page at /capabilities."""
    with ConformanceServer(_app({"/capabilities": "<html>hello</html>"})) as server:
        yield server.url


@pytest.fixture
def other_version() -> Iterator[str]:
    answer = {"api": "calharness.conformance/2", "implementation": {"name": "x", "version": "9"},
              "services": []}
    with ConformanceServer(_app({"/capabilities": answer})) as server:
        yield server.url


@pytest.fixture
def malformed_claims() -> Iterator[str]:
    answer = {"api": "calharness.conformance/1", "services": ["lotus-notes"]}
    with ConformanceServer(_app({"/capabilities": answer})) as server:
        yield server.url


def _bad_targets(not_the_api: str, other_version: str,
                 malformed_claims: str) -> list[tuple[str, str]]:
    return [
        (f"http://127.0.0.1:{_closed_port()}", "cannot reach --target"),
        (not_the_api, "does not speak the calharness conformance API"),
        (f"{not_the_api}/nowhere", "does not speak the calharness conformance API"),
        (other_version, "speaks 'calharness.conformance/2'; this calharness speaks "
                        "'calharness.conformance/1'"),
        (malformed_claims, "malformed capabilities"),
        ("ftp://127.0.0.1/", "is not an http:// or https:// URL"),
    ]


def test_probe_refuses_each_kind_of_bad_target(not_the_api: str, other_version: str,
                                               malformed_claims: str) -> None:
    for url, fragment in _bad_targets(not_the_api, other_version, malformed_claims):
        with pytest.raises(TargetError) as raised:
            probe_target(url, timeout=5)
        assert fragment in str(raised.value), (url, str(raised.value))
        assert "\n" not in str(raised.value)


def test_calharness_run_refuses_bad_targets_before_any_scenario(
        tmp_path: Path, not_the_api: str, other_version: str, malformed_claims: str) -> None:
    for url, fragment in _bad_targets(not_the_api, other_version, malformed_claims):
        reports = tmp_path / "reports"
        result = run_cli("run", "--target", url, "--report-dir", str(reports), timeout=120)
        assert_one_line_error(result, fragment)
        assert not reports.exists()  # nothing started, nothing written
        assert "calharness run" not in result.stdout


def test_pytest_refuses_a_bad_target_as_a_usage_error(tmp_path: Path, other_version: str
                                                      ) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "features" / "office365_graph.feature"),
         "-p", "no:cacheprovider", "--target", other_version, "--report-dir",
         str(tmp_path / "reports")], cwd=ROOT, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL)
    assert result.returncode == 4, result.stdout + result.stderr  # pytest's usage-error status
    assert "speaks 'calharness.conformance/2'" in result.stderr
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(("args", "fragment"), [
    (["run", "--target", "http://127.0.0.1:9", "--iut", "reference"], "mutually exclusive"),
    (["run", "--iut", "http"], "unknown --iut 'http'"),
    (["reference", "serve", "--db-url", "not a url"], "--db-url"),
    (["reference", "serve", "--db-url", "sqlite:////no/such/folder/x.db"], "cannot open"),
    (["reference", "serve", "--port", "70000"], "--port"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], fragment: str) -> None:
    assert_one_line_error(run_cli(*args), fragment)


def test_pytest_refuses_db_url_with_a_target(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "features" / "office365_graph.feature"),
         "-p", "no:cacheprovider", "--target", "http://127.0.0.1:9", "--db-url", "sqlite://",
         "--report-dir", str(tmp_path / "reports")], cwd=ROOT, capture_output=True, text=True,
        timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "--db-url configures the in-process reference" in result.stderr


def test_reference_serve_refuses_a_port_in_use() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        result = run_cli("reference", "serve", "--port", str(sock.getsockname()[1]))
    assert_one_line_error(result, "already in use")


def test_reference_serve_help() -> None:
    result = run_cli("reference", "serve", "--help")
    assert result.returncode == 0
    assert "--db-url" in result.stdout and "--target" in result.stdout


def test_unknown_needs_tag_is_refused_at_validation(tmp_path: Path) -> None:
    bad = tmp_path / "needs.feature"
    bad.write_text("Feature: f\n  @req:SVC-01 @needs:lotus-notes\n  Scenario: s\n"
                   "    Given a step\n")
    assert_one_line_error(run_cli("validate", "--features", str(bad)), "@needs:lotus-notes")


def test_every_need_is_claimable_and_the_bundled_features_use_only_known_needs() -> None:
    everything = Capabilities.everything(Implementation(name="all", version="1"))
    assert everything.claims() == frozenset(NEEDS)
    assert set(SERVICES) <= set(NEEDS)
    nothing = Capabilities(implementation=Implementation(name="none", version="1"), services=[])
    assert nothing.claims() == frozenset() and nothing.missing(["google", "sso"]) == [
        "google", "sso"]
    used = {tag.split(":", 1)[1] for path in (ROOT / "features").glob("*.feature")
            for tag in path.read_text(encoding="utf-8").split() if tag.startswith("@needs:")}
    assert used and used <= set(NEEDS)


def test_calharness_run_against_a_target(tmp_path: Path) -> None:
    from harness.conformance.reference import reference_app

    feature = tmp_path / "ok.feature"
    feature.write_text(PASSING)
    with ConformanceServer(reference_app()) as server:
        result = run_cli("run", "--target", server.url, "--features", str(feature),
                         "--report-dir", str(tmp_path / "r"), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"target {server.url}: calharness reference implementation" in result.stdout
    assert "PASSED" in result.stdout
    (run_dir,) = (tmp_path / "r").iterdir()
    assert "-http-seed42-" in run_dir.name
    assert (run_dir / "cucumber.json").exists()
