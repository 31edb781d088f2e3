"""Compliance reports: the result model and its HTML, JUnit XML, JSON and Cucumber JSON
renderings."""

from harness.reports.cucumber import render_cucumber
from harness.reports.html import render_html
from harness.reports.jsonreport import SCHEMA, load_results, render_json
from harness.reports.junit import render_junit
from harness.reports.model import (
    Evidence,
    RequirementRecord,
    RequirementRow,
    RunResult,
    ScenarioResult,
    Status,
    StepResult,
    Verdict,
)
from harness.reports.writer import ReportPaths, write_reports

__all__ = [
    "SCHEMA",
    "Evidence",
    "ReportPaths",
    "RequirementRecord",
    "RequirementRow",
    "RunResult",
    "ScenarioResult",
    "Status",
    "StepResult",
    "Verdict",
    "load_results",
    "render_cucumber",
    "render_html",
    "render_json",
    "render_junit",
    "write_reports",
]
