"""`calharness load`: start and seed the hub at the requested scale, run Locust headless (a master
and workers, as subprocesses) for a bounded time, and write the load report.

Locust is never imported here: it monkey-patches the standard library with gevent on import,
which the hub (asyncio, threads) and this process must not get. Everything Locust runs is the
locustfile (scenarios/load_sync.py, a thin layer over harness.load).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.load.hubs import (
    HubsError,
    audit_summaries,
    claimed_count,
    read_description,
    seed_population,
    shard_list,
)
from harness.load.options import parse_mix, parse_steps, settle_seconds
from harness.load.plan import LoadPlan, load_plan

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "scenarios" / "load_sync.py"
STOP_GRACE_S = 60.0  # past run time + this, Locust is killed


class LoadError(ValueError):
    """Settings that cannot run; one line."""


@dataclass
class LoadSettings:
    users: int = 50
    spawn_rate: float = 10.0
    run_time: float = 60.0
    workers: int = 2
    shards: int = 1
    mailboxes: int = 0  # 0: users + a margin
    events: int = 100
    linked_every: int = 2
    mix: str = "graph=6,ews=2,google=2"
    steps: str = "sync.incremental=4,push.create=3,push.update=2,push.delete=1"
    pace: float = 5.0
    settle: float | None = None
    plan: Path | None = None
    hubs: Path | None = None
    seed: int = 42
    out: Path | None = None
    target: str | None = None
    locustfile: Path | None = None
    tls: bool = True
    bare: bool = False  # the ceiling: users only GET the hub (bench_load.py)
    extra: list[str] = field(default_factory=list)  # more Locust options, as given
    # Called with {"hub": [pids], "master": pid, "workers": [pids]} once Locust started (a
    # benchmark attaches a profiler); not a command-line setting.
    on_started: Callable[[dict[str, Any]], None] | None = None

    def check(self) -> LoadPlan:
        if not 1 <= self.users <= 100_000:
            raise LoadError("--users must be 1 to 100,000")
        if not 0 <= self.workers <= 16:
            raise LoadError("--workers must be 0 (one local process) to 16")
        if not 5 <= self.run_time <= 24 * 3600:
            raise LoadError("--run-time must be 5 s to 24 h")
        if self.pace <= 0 or self.spawn_rate <= 0:
            raise LoadError("--pace and --spawn-rate must be above 0")
        parse_mix(self.mix)
        parse_steps(self.steps)
        if self.settle is not None and self.settle >= self.run_time - 4:
            raise LoadError("--settle must leave time for the load (below --run-time - 4 s)")
        return load_plan(self.plan) if self.plan else LoadPlan()


Say = Callable[[str], None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _locust(locustfile: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(locustfile), *args]


def run_load(settings: LoadSettings, say: Say) -> tuple[int, Path, dict[str, Any]]:
    """Returns (exit status, report path, summary). Bounded: Locust is killed past its run time
    plus STOP_GRACE_S, the hub is stopped on the way out whatever happens."""
    plan = settings.check()
    locustfile = settings.locustfile or LOCUSTFILE
    if settings.target and settings.shards != 1:
        raise LoadError("--target takes one hub shard (the conformance API names one hub)")
    if not locustfile.exists():
        raise LoadError(f"no locustfile at {locustfile} (a checkout has scenarios/; give "
                        "--locustfile)")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = settings.out or Path("reports") / f"load-{stamp}"
    if out.exists() and not out.is_dir():
        raise LoadError(f"--out {out}: exists and is not a folder")
    # Read before anything starts: a bad description costs nothing and leaves nothing behind.
    given = read_description(settings.hubs) if settings.hubs is not None else None
    mailboxes = settings.mailboxes or settings.users + max(settings.workers, 1)
    shards_started: list[Any] = []
    private = tempfile.TemporaryDirectory(prefix="calharness-load-")
    made: Path | None = None  # the topmost folder this run created (removed if it cannot run)
    try:
        if given is not None:
            description = given
            say(f"hub: {len(shard_list(description))} shard(s) from {settings.hubs}")
        else:
            from harness.load.hubproc import start_shards
            from harness.load.hubs import combined

            started = time.perf_counter()
            try:
                shards_started = start_shards(settings.shards, settings.seed, tls=settings.tls,
                                              life=settings.run_time + 3600)
            except RuntimeError as exc:
                raise LoadError(f"the hub did not start: {exc}") from None
            description = combined([s.description for s in shards_started])
            say(f"hub: {settings.shards} shard(s) started in "
                f"{time.perf_counter() - started:.1f} s (seed {settings.seed})")
        seeding = seed_population(description, mailboxes=mailboxes, events=settings.events,
                                  linked_every=0 if settings.target else settings.linked_every,
                                  **parse_mix(settings.mix))
        seeded = sum(m["events_seeded"] for m in seeding["shards"])
        say(f"seeded {mailboxes:,} mailboxes x {settings.events:,} events ({seeded:,} events) "
            f"over {len(seeding['shards'])} shard(s) in {seeding['seconds']:.1f} s")
        made = _make_folder(out)
        claimed_before = claimed_count(description)
        hubs_file = Path(private.name) / "hubs.json"  # holds the control tokens: private
        hubs_file.write_text(json.dumps(description), encoding="utf-8")
        os.chmod(hubs_file, 0o600)
        settle = settle_seconds(settings.run_time, settings.settle)
        common = ["--hubs", str(hubs_file), "--pace", str(settings.pace), "--steps",
                  settings.steps, "--settle", str(settle), "--load-seed", str(settings.seed)]
        if settings.plan:
            common += ["--plan", str(settings.plan)]
        if settings.target:
            common += ["--target", settings.target]
        if settings.bare:
            common.append("--bare")
        prefix = out / "locust"
        master_args = ["--headless", "-u", str(settings.users), "-r", str(settings.spawn_rate),
                       "-t", f"{int(settings.run_time)}s", "--csv", str(prefix),
                       "--csv-full-history", "--html", str(out / "locust.html"),
                       "--only-summary", "--loglevel", "WARNING", *common, *settings.extra]
        say(f"locust: {settings.users} users ({settings.mix}) at {settings.spawn_rate}/s, "
            f"one step per {settings.pace:g} s each, {int(settings.run_time)} s "
            f"(the last {settle:.0f} s settle and check), "
            f"{settings.workers or 'no'} worker(s); plan: {plan.describe()}")
        status, audit, wall, killed = _run_locust(
            locustfile, settings, master_args, common, prefix, description, out, say,
            [s.process.pid for s in shards_started])
        made = None  # a run happened: its folder stays, whatever its outcome
        started_integrations = _claimed_since(description, claimed_before)
        from harness.load.report import write_report

        recorded = {**{f.name: getattr(settings, f.name) for f in fields(settings)
                       if f.name != "on_started"},
                    "mailboxes": mailboxes, "settle": settle,
                    "plan": plan.model_dump(), "seeding_seconds": round(seeding["seconds"], 2),
                    "events_seeded": seeded, "locust_exit": status,
                    "stopped_by_itself": not killed and status >= 0,
                    "wall_seconds": round(wall, 1), "started": stamp,
                    "integrations_started": started_integrations,
                    "machine": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"}
        recorded = {k: (str(v) if isinstance(v, Path) else v) for k, v in recorded.items()}
        page, data = write_report(out, prefix, audit, recorded)
        conv = data["convergence"]
        code = 0 if conv["converged"] and status in (0, 1) else 1
        return code, page, data
    finally:
        for shard in shards_started:
            shard.stop()
        private.cleanup()
        if made is not None:  # stopped before Locust ran: leave nothing behind
            shutil.rmtree(made, ignore_errors=True)


def _make_folder(out: Path) -> Path | None:
    """Create `out` (and missing parents); the topmost folder created, None if it existed."""
    top = next((p for p in reversed([out, *out.parents]) if not p.exists()), None)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LoadError(f"--out {out}: cannot create the folder: "
                        f"{exc.strerror or exc}") from None
    return top


def _claimed_since(description: dict[str, Any], before: int | None) -> int | None:
    """Integrations the run started: mailboxes claimed during it (one claim per integration;
    None if a shard could not tell, e.g. the hub stopped)."""
    if before is None:
        return None
    with contextlib.suppress(HubsError):
        after = claimed_count(description)
        return None if after is None else after - before
    return None


def _run_locust(locustfile: Path, settings: LoadSettings, master_args: list[str],
                common: list[str], prefix: Path, description: dict[str, Any], out: Path,
                say: Say, hub_pids: list[int]) -> tuple[int, list[list[Any]], float, bool]:
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []
    files = []
    started = time.monotonic()
    try:
        if settings.workers:
            port = _free_port()
            master_cmd = _locust(locustfile, "--master", "--master-bind-host", "127.0.0.1",
                                 "--master-bind-port", str(port), "--expect-workers",
                                 str(settings.workers), *master_args)
        else:
            master_cmd = _locust(locustfile, *master_args)
        handle = (logs / "master.log").open("wb")
        files.append(handle)
        master = subprocess.Popen(master_cmd, stdout=handle, stderr=subprocess.STDOUT)
        processes.append(master)
        for index in range(settings.workers):
            handle = (logs / f"worker-{index}.log").open("wb")
            files.append(handle)
            processes.append(subprocess.Popen(
                _locust(locustfile, "--worker", "--master-host", "127.0.0.1",
                        "--master-port", str(port), "--loglevel", "WARNING", *common),
                stdout=handle, stderr=subprocess.STDOUT))
        if settings.on_started is not None:
            settings.on_started({"hub": hub_pids,
                                 "master": master.pid,
                                 "workers": [p.pid for p in processes[1:]]})
        positions = [0] * len(shard_list(description))
        audit: list[list[Any]] = []
        limit = started + settings.run_time + STOP_GRACE_S
        next_say = started + 5
        killed = False
        while master.poll() is None:
            if time.monotonic() > limit:
                say("locust did not stop in time: killing it")
                killed = True
                break
            time.sleep(1.0)
            with contextlib.suppress(Exception):  # a busy hub answers next time
                positions, rows = audit_summaries(description, positions)
                audit.extend(rows)
            if time.monotonic() >= next_say:
                next_say += 10
                say(_progress(prefix, time.monotonic() - started, settings.run_time))
        with contextlib.suppress(Exception):
            positions, rows = audit_summaries(description, positions)
            audit.extend(rows)
        if killed:
            master.kill()
        status = master.wait(15)
        if status == 2 and not Path(f"{prefix}_stats.csv").exists():  # a usage error: no run
            raise LoadError(f"locust refused to start: {_error_line(logs / 'master.log')}")
        wall = time.monotonic() - started
        say(f"locust stopped by itself after {wall:.0f} s (exit {status})"
            if not killed and status >= 0 else f"locust was stopped ({status})")
        return int(status), audit, wall, killed
    except subprocess.TimeoutExpired:
        return -9, [], time.monotonic() - started, True
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        for handle in files:
            handle.close()


def _error_line(log: Path) -> str:
    """The line of a log that says what was wrong (argparse's `error:`, the locustfile's own)."""
    with contextlib.suppress(OSError):
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
        for line in lines:
            if "error:" in line:
                return line.split("error:", 1)[1].strip()
        if lines:
            return lines[-1]
    return f"see {log}"


def _progress(prefix: Path, elapsed: float, run_time: float) -> str:
    """One line from the last second of Locust's history: users, steps/s, failures."""
    path = Path(f"{prefix}_stats_history.csv")
    last: dict[str, str] | None = None
    with contextlib.suppress(OSError), path.open(encoding="utf-8") as handle:
        for line in handle.readlines()[-200:]:
            fields = line.rstrip("\n").split(",")
            if len(fields) > 4 and fields[3] == "Aggregated":
                last = {"users": fields[1], "rps": fields[4], "fails": fields[5],
                        "total": fields[17] if len(fields) > 17 else "?"}
    if last is None:
        return f"  {elapsed:4.0f}/{run_time:.0f} s: starting"
    return (f"  {elapsed:4.0f}/{run_time:.0f} s: {last['users']} users, "
            f"{float(last['rps']):.1f} steps/s, {float(last['fails']):.1f} failures/s, "
            f"{last['total']} steps so far")
