"""`calharness prove`: run the features against each mutant of the reference implementation
(or each broken build a vendor lists) and report which the suite kills, and whether the
requirements that fail are the ones the mutant names.

Each mutant runs in its own process, forked from this one once pytest, the steps and the mock
hub are imported (so a run costs its scenarios, not the imports), at most `jobs` at a time, each
under a time limit. A run covers the scenarios of the requirements the mutant names plus a
deterministic sample of others, so a mutant that fails something else shows as misattributed.
Before the mutants, the unmutated reference runs the same selection: a suite that is already red
proves nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.reports import ScenarioResult, load_results
from harness.reports.prove import (
    LATEST_NAME,
    PROVE_HTML,
    PROVE_JSON,
    MutantOutcome,
    ProveResult,
    render_prove_html,
)
from harness.reports.writer import write_atomic

REQ_TAG = re.compile(r"@req:([A-Z0-9]+-[0-9]+)")
BASELINE = "(baseline)"


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    breaks: tuple[str, ...]
    description: str
    requirements: tuple[str, ...]  # the --req selection
    mutant: str | None = None  # a catalogue mutant, applied in-process
    target: str | None = None  # or a vendor's broken build behind the conformance API


def covered_requirements(files: list[Path]) -> list[str]:
    """Requirement ids some scenario carries, in a stable order."""
    ids: dict[str, None] = {}
    for path in files:
        for rid in REQ_TAG.findall(path.read_text(encoding="utf-8")):
            ids[rid] = None
    return sorted(ids)


def sample_others(name: str, breaks: tuple[str, ...], covered: list[str], k: int) -> list[str]:
    """k covered requirements the mutant does not name, chosen by its name (reproducible)."""
    others = [r for r in covered if r not in breaks]
    ranked = sorted(others, key=lambda r: hashlib.sha256(f"{name}/{r}".encode()).hexdigest())
    return sorted(ranked[:k])


def plan(mutants: list[tuple[str, tuple[str, ...], str, str | None, str | None]],
         covered: list[str], sample: int) -> list[Job]:
    jobs = []
    for name, breaks, description, mutant, target in mutants:
        named = [r for r in breaks if r in covered]
        requirements = tuple(dict.fromkeys([*named, *sample_others(name, breaks, covered,
                                                                    sample)]))
        jobs.append(Job(name, breaks, description, requirements, mutant, target))
    return jobs


def _pytest_args(job: Job, features: Path, report_dir: Path, seed: int) -> list[str]:
    args = [str(features), "-q", "-p", "no:cacheprovider", "--seed", str(seed),
            "--report-dir", str(report_dir), "--run-id", _slug(job.name)]
    for rid in job.requirements:
        args += ["--req", rid]
    if job.mutant:
        args += ["--mutant", job.mutant]
    if job.target:
        args += ["--target", job.target]
    return args


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "baseline"


def _preload() -> None:
    """Import what every run needs once, before forking."""
    import pytest  # noqa: F401
    import pytest_bdd  # noqa: F401

    import harness.driver.reference
    import harness.pytest_plugin
    import harness.steps  # noqa: F401
    import mock_providers.server  # noqa: F401
    from harness.reference import mutants

    mutants.catalogue()


def _child(args: list[str], log: Path, state_dir: Path) -> None:  # pragma: no cover (forked)
    try:
        os.setsid()
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.environ["CALHARNESS_STATE_DIR"] = str(state_dir)
        import pytest

        code = pytest.main(args)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(code))
    except BaseException:
        import traceback

        traceback.print_exc()
        os._exit(3)


def _outcome(job: Job, code: int | None, out_dir: Path, duration: float,
             timed_out: bool) -> MutantOutcome:
    base = MutantOutcome(name=job.name, breaks=list(job.breaks), description=job.description,
                         outcome="error", duration_s=duration, target=job.target)
    if timed_out:
        base.outcome, base.detail = "timeout", f"no verdict within {duration:.0f} s"
        return base
    results = out_dir / _slug(job.name) / "results.json"
    if not results.exists():
        log = out_dir / f"{_slug(job.name)}.log"
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        base.detail = f"exit {code}, no results: {tail[0] if tail else 'no output'}"
        return base
    run = load_results(results)
    rows = [row for row in run.requirement_rows() if row.scenarios]
    base.ran = [row.id for row in rows]
    base.failed = [row.id for row in rows if row.verdict == "failed"]
    statuses = [s.status for s in run.scenarios if s.status != "not_claimed"]
    if not base.failed:
        base.outcome = "survived"
        return base
    failing = [s for s in run.scenarios if s.status in ("failed", "error")]
    named = set(job.breaks)
    base.stray = sorted({r for s in failing for r in _blamed(s, named)})
    first = failing[0] if failing else None
    base.detail = f"{first.name}: {first.short_error()}" if first else None
    others = [r for r in base.ran if r not in job.breaks]
    crash = statuses and all(s in ("failed", "error") for s in statuses) and len(statuses) > 1
    if crash or (others and all(r in base.stray for r in others)):
        base.outcome = "refused"
        base.detail = ("fails everything it ran (a crash, not a rule broken): "
                       + (base.detail or ""))
        return base
    base.outcome = "killed"
    return base


def _blamed(scenario: ScenarioResult, named: set[str]) -> list[str]:
    """Requirements a failed scenario blames that the mutant does not name. With steps that
    record where their failure is charged, exactly the failed requirements; results without it
    (older runs, a vendor's tool) blame every tag of a scenario that checks none of them."""
    if any(step.charged is not None for step in scenario.steps):
        return [r for r in scenario.failed_requirements() if r not in named]
    return [] if named & set(scenario.requirement_ids) else list(scenario.requirement_ids)


def run_prove(jobs: list[Job], *, features: Path, report_dir: Path, run_id: str, seed: int,
              workers: int, timeout_s: float, console: Console, baseline: bool = True
              ) -> ProveResult:
    started, t0 = datetime.now(UTC), time.monotonic()
    out_dir = report_dir / run_id
    runs_dir = out_dir / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    queue = list(jobs)
    if baseline:
        union = tuple(dict.fromkeys(r for j in jobs for r in j.requirements))
        queue.insert(0, Job(BASELINE, (), "the unmutated reference", union))
    _preload()
    running: dict[int, tuple[Job, float]] = {}
    outcomes: dict[str, MutantOutcome] = {}
    progress = Progress(TextColumn("[bold]prove[/]"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TextColumn("{task.description}"), console=console,
                        auto_refresh=False, transient=False)
    with progress:  # no refresh thread: forking from a single-threaded process is safe
        task = progress.add_task("", total=len(queue))
        while queue or running:
            while queue and len(running) < workers:
                job = queue.pop(0)
                args = _pytest_args(job, features, runs_dir, seed)
                log = runs_dir / f"{_slug(job.name)}.log"
                state = runs_dir / f"state-{_slug(job.name)}"
                pid = os.fork()
                if pid == 0:  # pragma: no cover
                    _child(args, log, state)
                running[pid] = (job, time.monotonic())
            progress.update(task, description=", ".join(j.name for j, _ in running.values()))
            progress.refresh()
            time.sleep(0.2)
            now = time.monotonic()
            for pid, (job, since) in list(running.items()):
                finished, status = os.waitpid(pid, os.WNOHANG)
                timed_out = False
                if finished == 0:
                    if now - since < timeout_s:
                        continue
                    with _suppress():
                        os.killpg(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    timed_out, status = True, -1
                del running[pid]
                code = os.waitstatus_to_exitcode(status) if status != -1 else None
                outcome = _outcome(job, code, runs_dir, now - since, timed_out)
                outcomes[job.name] = outcome
                shutil.rmtree(runs_dir / f"state-{_slug(job.name)}", ignore_errors=True)
                mark = {"killed": "[green]killed[/]", "survived": "[red]SURVIVED[/]"}.get(
                    outcome.outcome, f"[yellow]{outcome.outcome}[/]")
                if job.name == BASELINE:
                    mark = "[green]passed[/]" if outcome.outcome == "survived" else \
                        "[red]FAILED[/]"
                elif outcome.killed and not outcome.attributed:
                    mark += f" [yellow]misattributed[/] ({', '.join(outcome.misattributed)})"
                progress.console.print(f"  {job.name:<44} {mark}  {outcome.duration_s:5.0f} s")
                progress.advance(task)
    base = outcomes.pop(BASELINE, None)
    result = ProveResult(run_id=run_id, started_at=started.isoformat(),
                         duration_s=time.monotonic() - t0,
                         mutants=[outcomes[j.name] for j in jobs],
                         baseline_passed=base is None or base.outcome == "survived")
    write_prove(result, report_dir)
    return result


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], ProcessLookupError)  # type: ignore


def write_prove(result: ProveResult, report_dir: Path) -> Path:
    import json

    out_dir = report_dir / result.run_id
    out_dir.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n").encode()
    write_atomic(out_dir / PROVE_JSON, data)
    write_atomic(out_dir / PROVE_HTML, render_prove_html(result).encode())
    write_atomic(report_dir / LATEST_NAME, data)
    return out_dir / PROVE_JSON


def summary_table(result: ProveResult) -> Table:
    table = Table("mutant", "breaks", "outcome", "failed", "time")
    for m in result.mutants:
        outcome = m.outcome + ("" if not m.killed else " (attributed)" if m.attributed
                               else f" (misattributed: {', '.join(m.misattributed)})")
        table.add_row(m.name, ", ".join(m.breaks), outcome, ", ".join(m.failed),
                      f"{m.duration_s:.0f} s")
    return table
