"""Write a run's HTML, JUnit, JSON and Cucumber JSON reports into one folder, each atomically."""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from harness.reports.cucumber import render_cucumber
from harness.reports.html import render_html
from harness.reports.jsonreport import render_json
from harness.reports.junit import render_junit
from harness.reports.model import RunResult

HTML_NAME = "report.html"
JUNIT_NAME = "junit.xml"
JSON_NAME = "results.json"
CUCUMBER_NAME = "cucumber.json"

# Reports are shared artefacts (CI uploads, web servers); mkstemp's private 0600 would hide them.
_REPORT_MODE = 0o644


@dataclass(frozen=True, slots=True)
class ReportPaths:
    directory: Path
    html: Path
    junit: Path
    json: Path
    cucumber: Path


def write_reports(run: RunResult, out_dir: Path) -> ReportPaths:
    """Write report.html, junit.xml, results.json and cucumber.json into `out_dir` (created if
    missing)."""
    out_dir = Path(out_dir)
    paths = ReportPaths(
        directory=out_dir,
        html=out_dir / HTML_NAME,
        junit=out_dir / JUNIT_NAME,
        json=out_dir / JSON_NAME,
        cucumber=out_dir / CUCUMBER_NAME,
    )
    # Render everything before touching the disk: a rendering bug then leaves the previous
    # reports in place instead of a mix of old and new files.
    contents = {
        paths.html: render_html(run).encode("utf-8"),
        paths.junit: render_junit(run),
        paths.json: render_json(run).encode("utf-8"),
        paths.cucumber: render_cucumber(run).encode("utf-8"),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for target, data in contents.items():
        write_atomic(target, data)
    return paths


def write_atomic(target: Path, data: bytes) -> None:
    """Replace `target` with `data` so readers see the old file or the new one, never half."""
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, _REPORT_MODE)
        os.replace(temp_name, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
