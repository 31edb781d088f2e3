"""`calharness run`: the features through pytest (with this package's plugin), with a rich
progress bar and a summary read back from the run's results.json."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness import bundled
from harness.pytest_plugin import STORES_KEY
from harness.reports import load_results


class _ProgressPlugin:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: Any = None
        self.failed = 0
        self.stores: Path | None = None

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.stores = session.config.stash.get(STORES_KEY, None)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.task = self.progress.add_task("scenarios", total=len(session.items))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        finished = report.when == "call" or (report.when == "setup" and not report.passed)
        if not finished or self.task is None:
            return
        if report.failed:
            self.failed += 1
        # pytest-bdd renders Examples values into the scenario name, so it says which row ran.
        props = dict(report.user_properties)
        name = escape(str(props.get("scenario") or report.nodeid))
        mark = "[green]ok[/]" if report.passed else "[blue]not claimed[/]" \
            if "not_claimed" in props else "[yellow]skip[/]" if report.skipped else "[red]FAIL[/]"
        self.progress.console.print(f"  {mark} {name}")
        self.progress.advance(self.task)


def run_features(path: Path, files: list[Path], *, run_id: str, seed: int, report_dir: Path,
                 iut: str, tags: str | None, requirement_ids: list[str], exitfirst: bool,
                 console: Console, keep_stores: bool = False, target: str | None = None,
                 traffic: bool = False, record_cassettes: Path | None = None,
                 traffic_port: int = 0, schema_check: bool = False,
                 hub_server: str | None = None) -> int:
    args = [str(path), "-p", "no:terminal", "-p", "no:cacheprovider", "--seed", str(seed),
            "--report-dir", str(report_dir), "--run-id", run_id,
            "-W", "ignore::pytest.PytestUnknownMarkWarning"]
    args += _isolated_from_enclosing_projects(path)
    args += ["--target", target] if target else ["--iut", iut]
    if hub_server:
        args += ["--hub-server", hub_server]
    if tags:
        args += ["-m", tags]
    for req in requirement_ids:
        args += ["--req", req]
    if exitfirst:
        args.append("-x")
    if keep_stores:
        args.append("--keep-stores")
    if traffic:
        args.append("--traffic")
    if record_cassettes is not None:
        args += ["--record-cassettes", str(record_cassettes)]
    if traffic_port:
        args += ["--traffic-port", str(traffic_port)]
    if schema_check:
        args.append("--schema-check")
    console.print(f"calharness run {run_id}: {len(files)} feature file(s), seed {seed}, "
                  f"integration under test: {target or iut}")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        plugin = _ProgressPlugin(progress)
        code = int(pytest.main(args, plugins=[plugin]))
    if keep_stores and plugin.stores is not None and plugin.stores.exists():
        console.print(f"stores kept: {plugin.stores}")
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


def _isolated_from_enclosing_projects(path: Path) -> list[str]:
    """pytest looks for its configuration in the folders above the features. For the features
    inside an installed wheel those are site-packages' parents, such as the project a venv sits
    in, whose addopts (`--cov=...`) are not ours: run those with no configuration file.
    Features in a checkout, or the user's own, keep the configuration around them."""
    root = bundled.bundled_root()
    if root is None or not path.resolve().is_relative_to(root.resolve()):
        return []
    return ["--config-file", os.devnull, "--rootdir", str(root / "features")]


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
    table.add_row("reports", f"{folder / 'report.html'}\n{folder / 'junit.xml'}\n{results_path}"
                             f"\n{folder / 'cucumber.json'}")
    console.print(table)
    return ran
