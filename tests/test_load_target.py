"""The second load mode, bounded and on loopback: `--target URL` loads a vendor's implementation
through the conformance API; here the reference implementation behind it (`calharness reference
serve`, its own process). The users connect through the API, sync and push meetings through it,
and the check compares the meetings the implementation holds with what reached the mocks."""

from __future__ import annotations

import json
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.load.cli import load_command

ROOT = Path(__file__).resolve().parent.parent
USERS = 2
RUN_TIME = 10.0


@pytest.fixture
def reference_target() -> Iterator[str]:
    server = subprocess.Popen([sys.executable, "-m", "harness", "reference", "serve", "--port",
                               "0", "--json"], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL)
    try:
        assert server.stdout is not None
        ready, _, _ = select.select([server.stdout], [], [], 60)
        assert ready, "reference serve printed nothing within 60 s"
        yield str(json.loads(server.stdout.readline())["url"])
    finally:
        server.terminate()
        server.wait(15)


def test_load_drives_a_target_through_the_conformance_api(reference_target: str,
                                                          tmp_path: Path) -> None:
    said: list[str] = []
    out = tmp_path / "out"
    code = load_command({  # `calharness load`'s own body: it probes the target first
        "ctx": SimpleNamespace(args=[]), "users": USERS, "spawn_rate": USERS,
        "run_time": RUN_TIME, "workers": 0, "events": 6, "pace": 0.5, "settle": 4,
        "target": reference_target, "out_dir": out,
        "steps": "sync.incremental=1,push.create=3,push.delete=1"}, said.append)
    log = "\n".join(said)
    data = json.loads((out / "summary.json").read_text())
    steps = data["steps"]
    assert data["settings"]["stopped_by_itself"], log
    assert data["settings"]["target"] == reference_target
    assert all(step["failures"] == 0 for step in steps.values()), (steps, log)
    assert steps["connect"]["count"] == USERS and steps["sync.initial"]["count"] == USERS, steps
    created = steps["push.create"]["count"]
    deleted = steps.get("push.delete", {"count": 0})["count"]
    assert created > 0 and steps["sync.settle"]["count"] == USERS, steps
    conv = data["convergence"]
    # Nothing seeded is tied to a meeting in this mode: the implementation holds exactly what
    # the users scheduled and did not delete, and each is at the provider once.
    assert conv["started"] == conv["integrations"] == USERS, conv
    assert conv["meetings"] == created - deleted, (conv, created, deleted)
    assert conv["converged"] and code == 0, (conv, log)
    assert data["provider_side"]["graph"]["requests"] > 0, data["provider_side"]
    assert (out / "report.html").exists()
