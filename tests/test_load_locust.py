"""Locust for real, bounded and on loopback only: `calharness load`'s runner starts a two-shard
hub, seeds it, and runs Locust headless as subprocesses (a master and two workers; Locust is
never imported into this process: it patches the standard library with gevent) for a few
seconds under a fault plan. The run must stop by itself, Locust's CSV must show the sync core's
steps, and every meeting must be at the provider exactly once at the end."""

from __future__ import annotations

import csv
from pathlib import Path

from harness.load.run import LoadSettings, run_load

RUN_TIME = 18.0


def test_locust_master_and_two_workers_load_the_sync_core_and_converge(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("faults:\n"
                    "  - {kind: throttle, rate: 0.03, retry_after: 0}\n"
                    "  - {kind: status, status: 503, rate: 0.02}\n")
    said: list[str] = []
    settings = LoadSettings(users=6, spawn_rate=6, run_time=RUN_TIME, workers=2, shards=2,
                            events=30, pace=0.5, settle=5, plan=plan, out=tmp_path / "out")
    code, page, data = run_load(settings, said.append)
    log = "\n".join(said)

    assert data["settings"]["stopped_by_itself"], log
    assert data["settings"]["wall_seconds"] < RUN_TIME + 45, log
    with (tmp_path / "out" / "locust_stats.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["Name"].startswith("sync.")]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["Name"]] = counts.get(row["Name"], 0) + int(row["Request Count"])
    assert counts.get("sync.initial", 0) >= 6, (counts, log)  # a failed one is run again
    assert counts.get("sync.incremental", 0) > 0 and counts.get("sync.settle", 0) == 6, counts
    conv = data["convergence"]
    assert conv["integrations"] == 6 and conv["meetings"] >= 6 * 15, (conv, log)
    assert conv["lost"] == 0 and conv["duplicated"] == 0 and conv["stale"] == 0, conv
    assert conv["converged"] and code == 0, (data, log)
    assert sum(p["requests"] for p in data["provider_side"].values()) > 0
    assert page.exists() and "Plotly.newPlot" in page.read_text()
    assert any(line.startswith("seeded 8 mailboxes") for line in said), log
