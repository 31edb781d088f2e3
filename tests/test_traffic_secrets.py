"""A run with --traffic --record-cassettes over one scenario of every feature file, plus
Exchange on-premises with the mailbox password (EXCH-01): it passes, and no report, cassette or
log it leaves holds a token, an authorization code, a password or a client secret. (The whole
suite is scanned the same way with `calharness run --traffic --record-cassettes DIR` and
`harness.traffic.redact.find_secrets`.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from harness.traffic.redact import find_secrets
from mock_providers.world.seed import build_world

SEED = 42
ROOT = Path(__file__).resolve().parent.parent


def known_secrets() -> list[str]:
    """Every password and client secret of the seeded world (tokens and codes are random: the
    scan finds them by shape)."""
    world = build_world(SEED)
    found = [u.password for t in world.ms_tenants.values() for u in t.users.values()]
    found += [a.client_secret for t in world.ms_tenants.values() for a in t.apps.values()
              if a.client_secret]
    found += [u.password for d in world.google_domains.values() for u in d.users.values()]
    found += [c.client_secret for c in world.google_clients.values()]
    return [s for s in found if s]


def _collect(env: dict[str, str], tmp_path: Path, *extra: str) -> list[str]:
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "features"), "--collect-only", "-q",
         "-p", "no:cacheprovider", "--report-dir", str(tmp_path / "collect"), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env=env)
    assert listed.returncode == 0, listed.stdout[-2000:] + listed.stderr[-2000:]
    return [line for line in listed.stdout.splitlines() if ".feature::" in line]


def scenarios(env: dict[str, str], tmp_path: Path) -> list[str]:
    """The first scenario of every feature file (OAuth code flows, consent, Google sign-in
    among them) and the scenarios of EXCH-01 (Exchange on-premises with the mailbox
    password)."""
    every = _collect(env, tmp_path)
    firsts = list({node.split("::", 1)[0]: node for node in reversed(every)}.values())
    # Exchange on-premises with the mailbox password: the Basic credential flow
    return sorted(set(firsts) | set(_collect(env, tmp_path, "--req", "EXCH-01")))


def test_a_traffic_run_leaves_no_secret_anywhere(tmp_path: Path) -> None:
    cassettes, reports = tmp_path / "cassettes", tmp_path / "reports"
    env = {**os.environ, "CALHARNESS_STATE_DIR": str(tmp_path / "state")}
    chosen = scenarios(env, tmp_path)
    features = {node.split("::", 1)[0] for node in chosen}
    assert len(features) == len(list((ROOT / "features").glob("*.feature")))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *chosen, "-q", "-p", "no:cacheprovider", "--seed",
         str(SEED), "--traffic", "--record-cassettes", str(cassettes), "--report-dir",
         str(reports), "--run-id", "secrets"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
        env=env)
    log = tmp_path / "run.log"
    log.write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    files = [log, *cassettes.rglob("*.yaml"), *reports.rglob("*.*")]
    # the scan covers every provider: each one's traffic is in the cassettes
    uris = " ".join(i["request"]["uri"] for p in cassettes.glob("*.yaml")
                    for i in yaml.safe_load(p.read_text())["interactions"])
    for host in ("login.microsoftonline.com", "graph.microsoft.com", "outlook.office365.com",
                 "accounts.google.com", "www.googleapis.com"):
        assert f"https://{host}/" in uris, host
    assert any(p.name == "report.html" for p in files)
    secrets = known_secrets()
    assert len(secrets) >= 4
    leaks = {str(p.relative_to(tmp_path)): found for p in files
             if (found := find_secrets(p.read_text(errors="replace"), secrets))}
    assert leaks == {}
    # the scan can fail: the recorded traffic did carry those secrets before redaction
    text = "\n".join(p.read_text() for p in cassettes.glob("*.yaml"))
    assert "client_secret=REDACTED" in text and "Bearer REDACTED" in text
    assert "password=REDACTED" in text or "Basic REDACTED" in text
