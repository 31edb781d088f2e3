"""A `calharness run --traffic --record-cassettes` over Microsoft scenarios (Graph and EWS with
OAuth sign-in and consent, Exchange on-premises with the mailbox password): no report, cassette or
log it leaves holds a token, an authorization code, a password or a client secret. (The whole
feature suite was scanned the same way once, by hand: see the traffic branch's notes.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.traffic.redact import find_secrets
from mock_providers.world.seed import build_world

SEED = 42


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


def test_a_traffic_run_leaves_no_secret_anywhere(tmp_path: Path) -> None:
    cassettes, reports = tmp_path / "cassettes", tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--seed", str(SEED), "--traffic",
         "--record-cassettes", str(cassettes), "--report-dir", str(reports),
         "--req", "OAUTH-01", "--req", "EXCH-01", "--req", "SCOPE-05"],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
        env={**__import__("os").environ, "CALHARNESS_STATE_DIR": str(tmp_path / "state")})
    log = tmp_path / "run.log"
    log.write_text(result.stdout + result.stderr)
    files = [log, *cassettes.rglob("*.yaml"), *reports.rglob("*.*")]
    assert len(list(cassettes.glob("*.yaml"))) >= 3, result.stdout + result.stderr
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
