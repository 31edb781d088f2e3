"""`calharness run`: the features through pytest (with this package's plugin), with a rich
progress bar and a summary read back from the run's results.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.reports import load_results


class _ProgressPlugin:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: Any = None
        self.failed = 0

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.task = self.progress.add_task("scenarios", total=len(session.items))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        finished = report.when == "call" or (report.when == "setup" and not report.passed)
        if not finished or self.task is None:
            return
        if report.failed:
            self.failed += 1
        # pytest-bdd renders Examples values into the scenario name, so it says which row ran.
        name = escape(str(dict(report.user_properties).get("scenario") or report.nodeid))
        mark = "[green]ok[/]" if report.passed else "[yellow]skip[/]" if report.skipped \
            else "[red]FAIL[/]"
        self.progress.console.print(f"  {mark} {name}")
        self.progress.advance(self.task)


def run_features(path: Path, files: list[Path], *, run_id: str, seed: int, report_dir: Path,
                 iut: str, tags: str | None, requirement_ids: list[str], exitfirst: bool,
                 console: Console, hub_server: str | None = None) -> int:
    args = [str(path), "-p", "no:terminal", "-p", "no:cacheprovider", "--seed", str(seed),
            "--report-dir", str(report_dir), "--run-id", run_id, "--iut", iut,
            "-W", "ignore::pytest.PytestUnknownMarkWarning"]
    if hub_server:
        args += ["--hub-server", hub_server]
    if tags:
        args += ["-m", tags]
    for req in requirement_ids:
        args += ["--req", req]
    if exitfirst:
        args.append("-x")
    console.print(f"calharness run {run_id}: {len(files)} feature file(s), seed {seed}, "
                  f"integration under test: {iut}")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        plugin = _ProgressPlugin(progress)
        code = int(pytest.main(args, plugins=[plugin]))
    results = report_dir / run_id / "results.json"
    if code == pytest.ExitCode.USAGE_ERROR:
        return 2
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        console.print("[red]no scenario matched the selection[/]")
        return 1
    if not results.exists():
        console.print(f"[red]the run ended without results (pytest exit {code})[/]")
        return code or 1
    ran = _summary(console, results)
    if not ran:
        console.print("[red]no scenario matched the selection[/]")
        return 1
    return 0 if code == 0 else 1


def _summary(console: Console, results_path: Path) -> int:
    """Print the run's summary; return how many scenarios ran."""
    run = load_results(results_path)
    counts = run.counts()
    req_counts = run.requirement_counts()
    table = Table(title=f"run {run.run_id}", show_header=False)
    table.add_row("scenarios", ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "none")
    table.add_row("requirements", ", ".join(f"{n} {v}" for v, n in req_counts.items() if n))
    coverage = run.coverage()
    table.add_row("coverage", "n/a" if coverage is None else f"{coverage:.0%} of testable")
    ran = sum(counts.values())
    verdict = "[red]NOTHING RAN[/]" if not ran else \
        "[green]PASSED[/]" if run.passed else "[red]FAILED[/]"
    table.add_row("verdict", verdict)
    folder = results_path.parent
    table.add_row("reports", f"{folder / 'report.html'}\n{folder / 'junit.xml'}\n{results_path}")
    console.print(table)
    return ran
