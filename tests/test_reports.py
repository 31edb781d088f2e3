"""Tests for the report model and the HTML, JUnit XML and JSON writers."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.reports import (
    SCHEMA,
    Evidence,
    RequirementRecord,
    RunResult,
    ScenarioResult,
    Status,
    StepResult,
    load_results,
    render_cucumber,
    render_html,
    render_json,
    render_junit,
    write_reports,
)
from harness.reports import writer as writer_module

HOSTILE_ERROR = "AssertionError: expected 1 event, got <script>alert('x')</script> \x07 bell"
START = datetime(2025, 3, 1, 9, 30, 0, tzinfo=UTC)


def _step(
    keyword: str, text: str, status: Status = "passed", error: str | None = None
) -> StepResult:
    return StepResult(keyword=keyword, text=text, status=status, duration_s=0.125, error=error)


def _scenario(
    name: str,
    status: Status,
    requirement_ids: list[str],
    *,
    feature_file: str = "features/consent.feature",
    line: int = 10,
    steps: list[StepResult] | None = None,
    error: str | None = None,
    evidence: list[Evidence] | None = None,
) -> ScenarioResult:
    return ScenarioResult(
        feature_name="Consent" if "consent" in feature_file else "Sync",
        feature_file=feature_file,
        name=name,
        line=line,
        tags=[f"@{rid}" for rid in requirement_ids],
        requirement_ids=requirement_ids,
        status=status,
        duration_s=1.5,
        steps=steps if steps is not None else [_step("Given", "a connected account")],
        error=error,
        evidence=evidence or [],
    )


def _requirement(
    rid: str, *, testable: bool = True, why_not: str | None = None
) -> RequirementRecord:
    return RequirementRecord(
        id=rid,
        area=rid.split("-")[0].lower(),
        title=f"Title of {rid}",
        source="seeds/001_340af00c081a9ecc.txt",
        sentence=f"The integration shall honour {rid} & stay <quiet>.",
        testable=testable,
        why_not=why_not,
        notes="see PROTOCOL-NOTES" if rid == "SCOPE-01" else None,
    )


@pytest.fixture()
def run() -> RunResult:
    evidence = Evidence(
        label="identity audit log",
        data={"endpoint": "/common/oauth2/v2.0/authorize", "scope": "Calendars.Read", "n": 1},
    )
    nested = Evidence(label="graph calls", data={"calls": [{"method": "GET", "status": 429}]})
    scenarios = [
        _scenario(
            "Consent asks only for listed scopes",
            "passed",
            ["SCOPE-01"],
            line=5,
            evidence=[evidence],
        ),
        _scenario(
            "Delta sync survives throttling",
            "failed",
            ["SYNC-01", "SCOPE-02"],
            feature_file="features/sync.feature",
            line=12,
            evidence=[nested],
            steps=[
                _step("Given", "a throttled mailbox"),
                _step("Then", "one event is stored", "failed", HOSTILE_ERROR),
            ],
        ),
        _scenario(
            "Mock crashes mid-sync",
            "error",
            ["SYNC-02"],
            feature_file="features/sync.feature",
            line=30,
            steps=[_step("When", "the sync runs", "error", "RuntimeError: boom")],
            error="RuntimeError: boom",
        ),
        _scenario(
            "Admin consent on EWS",
            "skipped",
            ["SCOPE-03"],
            line=40,
            steps=[_step("Given", "an EWS tenant", "skipped")],
            error="EWS mock not ready",
        ),
        _scenario("Consent revoked mid-run", "skipped", ["SCOPE-04"], line=50),
        _scenario("Consent revoked, then granted", "passed", ["SCOPE-04", "GHOST-99"], line=60),
    ]
    requirements = [
        _requirement("SCOPE-01"),  # passed
        _requirement("SCOPE-02"),  # failed (one scenario failed)
        _requirement("SYNC-01"),  # failed
        _requirement("SYNC-02"),  # failed (scenario errored)
        _requirement("SCOPE-03"),  # skipped
        _requirement("SCOPE-04"),  # passed + skipped -> passed
        _requirement("SCOPE-05"),  # not covered
        _requirement("UI-01", testable=False, why_not="Visual layout only"),  # not testable
    ]
    return RunResult(
        run_id="run-2025-03-01-abc",
        seed=1234,
        iut="reference (in-process)",
        started_at=START,
        finished_at=START + timedelta(minutes=2, seconds=3.5),
        scenarios=scenarios,
        requirements=requirements,
        environment={"python": "3.11.7", "hub": "http://localhost:8000"},
    )


# --- model ---------------------------------------------------------------------------------


def test_requirement_rows_give_each_verdict_in_catalogue_order(run: RunResult) -> None:
    rows = run.requirement_rows()
    assert [(row.id, row.verdict) for row in rows] == [
        ("SCOPE-01", "passed"),
        ("SCOPE-02", "failed"),
        ("SYNC-01", "failed"),
        ("SYNC-02", "failed"),
        ("SCOPE-03", "skipped"),
        ("SCOPE-04", "passed"),
        ("SCOPE-05", "not covered"),
        ("UI-01", "not testable"),
    ]
    by_id = {row.id: row for row in rows}
    assert by_id["SCOPE-04"].scenario_names == [
        "Consent revoked mid-run",
        "Consent revoked, then granted",
    ]
    assert by_id["SCOPE-05"].scenario_names == []


def test_counts_passed_flag_coverage_and_unknown_ids(run: RunResult) -> None:
    assert run.counts() == {"passed": 2, "failed": 1, "skipped": 2, "error": 1, "not_claimed": 0}
    assert run.requirement_counts() == {
        "passed": 2,
        "failed": 3,
        "blocked": 0,
        "not claimed": 0,
        "skipped": 1,
        "not covered": 1,
        "not testable": 1,
    }
    assert run.passed is False
    assert run.coverage() == pytest.approx(6 / 7)
    assert run.unknown_requirement_ids() == ["GHOST-99"]
    assert run.duration_s == pytest.approx(123.5)


def test_passed_is_true_with_only_passes_and_skips(run: RunResult) -> None:
    run.scenarios = [s for s in run.scenarios if s.status in ("passed", "skipped")]
    assert run.passed is True
    run.scenarios[0].status = "error"
    assert run.passed is False


def test_scenarios_outrank_not_testable_label(run: RunResult) -> None:
    run.scenarios[1].requirement_ids.append("UI-01")
    assert {r.id: r.verdict for r in run.requirement_rows()}["UI-01"] == "failed"


def test_model_dict_round_trip(run: RunResult) -> None:
    assert RunResult.from_dict(json.loads(json.dumps(run.to_dict()))) == run


# --- HTML ----------------------------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.references: list[str] = []
        self.ids: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.references.append(value)
            if name == "id" and value is not None:
                self.ids.add(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_shows_run_and_every_requirement_escaped_and_offline(run: RunResult) -> None:
    html = render_html(run)
    parser = _Collector()
    parser.feed(html)
    parser.close()

    assert run.run_id in html
    for requirement in run.requirements:
        assert f'id="req-{requirement.id}"' in html
    assert "GHOST-99" in html
    assert "&lt;script&gt;alert(" in html
    assert "<script>alert" not in html
    assert "&amp; stay &lt;quiet&gt;" in html
    assert "\x07" not in html
    assert not [ref for ref in parser.references if ref.startswith(("http:", "https:", "//"))]
    assert "<link" not in html
    # every in-page link points at an element that exists
    anchors = {ref[1:] for ref in parser.references if ref.startswith("#")}
    assert anchors and anchors <= parser.ids
    text = " ".join(parser.text)
    assert "FAILED" in text
    assert "85.7%" in text


def test_html_verdict_badges_per_requirement(run: RunResult) -> None:
    html = render_html(run)
    for row in run.requirement_rows():
        row_html = html.split(f'id="req-{row.id}"', 1)[1].split("</tr>", 1)[0]
        css = row.verdict.replace(" ", "-")
        assert f'data-value="{row.verdict}"' in row_html.split(">", 1)[0]
        # the verdict cell, not a covering scenario's badge (those sit in <li>)
        assert f'<td><span class="badge {css}">{row.verdict}</span></td>' in row_html


def test_html_handles_an_empty_run() -> None:
    empty = RunResult("r0", 0, "none", START, START, [], [])
    html = render_html(empty)
    assert "No scenarios ran." in html
    assert "n/a" in html
    assert "PASSED" in html


# --- JUnit ---------------------------------------------------------------------------------


def test_junit_counts_properties_and_outcomes(run: RunResult) -> None:
    raw = render_junit(run)
    assert raw.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert b"\x07" not in raw
    root = ET.fromstring(raw)

    assert root.tag == "testsuites"
    assert root.attrib["name"] == "calharness"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "6",
        "1",
        "1",
        "2",
    )
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert set(suites) == {"features/consent.feature", "features/sync.feature"}
    assert suites["features/sync.feature"].get("tests") == "2"

    cases = {case.get("name"): case for case in root.iter("testcase")}
    failed = cases["Delta sync survives throttling"]
    assert failed.get("classname") == "sync.Sync"
    properties = [(p.get("name"), p.get("value")) for p in failed.iter("property")]
    assert ("requirement", "SYNC-01") in properties
    assert ("requirement", "SCOPE-02") in properties
    assert ("seed", "1234") in properties
    failure = failed.find("failure")
    assert failure is not None
    assert failure.get("type") == "AssertionError"
    assert "Then one event is stored" in (failure.get("message") or "")
    assert "<script>alert('x')</script>  bell" in (failure.text or "")

    assert cases["Mock crashes mid-sync"].find("error") is not None
    assert cases["Admin consent on EWS"].find("skipped") is not None
    assert cases["Consent asks only for listed scopes"].find("failure") is None


def test_junit_strips_every_illegal_xml_character(run: RunResult) -> None:
    run.scenarios[0].name = "odd\x00name\x1b\ufffe\ud800"
    run.scenarios[0].status = "failed"
    run.scenarios[0].error = "\x0bvertical tab"
    root = ET.fromstring(render_junit(run))
    names = [case.get("name") for case in root.iter("testcase")]
    assert "oddname" in names


# --- JSON ----------------------------------------------------------------------------------


def test_json_document_layout(run: RunResult) -> None:
    text = render_json(run)
    document = json.loads(text)
    assert list(document) == sorted(document)
    assert document["schema"] == SCHEMA == "calharness.results/1"
    assert document["run"]["started_at"] == "2025-03-01T09:30:00+00:00"
    assert document["run"]["passed"] is False
    assert document["summary"]["scenarios"]["failed"] == 1
    assert document["summary"]["unknown_requirement_ids"] == ["GHOST-99"]
    verdicts = {row["id"]: row["verdict"] for row in document["requirements"]}
    assert verdicts["SCOPE-05"] == "not covered"
    assert text.startswith('{\n  "requirements"')


def test_json_round_trips_through_load_results(run: RunResult, tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text(render_json(run), encoding="utf-8")
    assert load_results(path) == run


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"schema": "calharness.results/0", "run": {}}', "unsupported schema"),
        ('{"run": {}}', "unsupported schema"),
        ("[1, 2]", "top level"),
        ("{not json", "not valid JSON"),
    ],
)
def test_load_results_rejects_bad_files(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "results.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=fragment) as caught:
        load_results(path)
    assert "\n" not in str(caught.value)


def test_load_results_names_the_bad_field(run: RunResult, tmp_path: Path) -> None:
    document = json.loads(render_json(run))
    document["scenarios"][1]["steps"][0]["status"] = "exploded"
    path = tmp_path / "results.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ValueError, match=r"scenarios\[1\]\.steps\[0\]\.status") as caught:
        load_results(path)
    assert "\n" not in str(caught.value)


# --- writer --------------------------------------------------------------------------------


def test_write_reports_writes_four_files_and_no_temp_files(run: RunResult, tmp_path: Path) -> None:
    out = tmp_path / "nested" / "reports"
    paths = write_reports(run, out)

    assert paths.directory == out
    assert sorted(p.name for p in out.iterdir()) == [
        "cucumber.json", "junit.xml", "report.html", "results.json"]
    assert paths.html.read_text(encoding="utf-8") == render_html(run)
    assert paths.cucumber.read_text(encoding="utf-8") == render_cucumber(run)
    assert paths.junit.read_bytes() == render_junit(run)
    assert load_results(paths.json) == run


def test_failed_write_keeps_the_old_report_and_cleans_up(
    run: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_reports(run, tmp_path)
    before = paths.html.read_bytes()
    run.run_id = "second-run"

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(writer_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_reports(run, tmp_path)
    monkeypatch.undo()

    assert paths.html.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [
        "cucumber.json", "junit.xml", "report.html", "results.json"]
