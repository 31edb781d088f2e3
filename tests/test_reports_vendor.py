"""What the reports tell a vendor: the "not claimed" status and verdict in every writer, the
implementation's claims and target, and the Cucumber JSON report."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from harness.reports import (
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
from harness.reports.jsonreport import run_from_document

START = datetime(2026, 1, 5, 8, 0, 0, tzinfo=UTC)
CLAIMS = {"api": "calharness.conformance/1",
          "implementation": {"name": "Acme Calendar Sync", "version": "2.3", "vendor": "Acme"},
          "services": ["office365-graph"], "setup_modes": ["user_oauth"], "sso": False,
          "rooms": False, "bidirectional_sync": True, "contacts": True,
          "scheduling_privileges": False}
AUDIT = Evidence(label="provider audit log (2 requests)", data={"entries": [
    {"seq": 1, "provider": "identity", "operation": "authorize",
     "scopes": "Calendars.ReadWrite", "status": 200}]})


def _scenario(name: str, status: Status, reqs: list[str], *, steps: list[StepResult],
              feature: str = "features/google.feature", line: int = 10,
              error: str | None = None, evidence: list[Evidence] | None = None,
              tags: list[str] | None = None) -> ScenarioResult:
    return ScenarioResult(feature_name="Google" if "google" in feature else "Office 365",
                          feature_file=feature, name=name, line=line,
                          tags=tags if tags is not None else [f"req:{r}" for r in reqs],
                          requirement_ids=reqs, status=status, duration_s=0.25, steps=steps,
                          error=error, evidence=evidence or [])


def _step(keyword: str, text: str, status: Status, error: str | None = None,
          line: int | None = 11) -> StepResult:
    return StepResult(keyword=keyword, text=text, status=status, duration_s=0.0125,
                      error=error, line=line)


def _req(rid: str) -> RequirementRecord:
    return RequirementRecord(id=rid, area="x", title=f"title {rid}", source="seed.txt",
                             sentence=f"sentence of {rid}", testable=True)


@pytest.fixture
def run() -> RunResult:
    not_claimed = "not claimed by the implementation: google"
    scenarios = [
        _scenario("Google scopes", "not_claimed", ["GOOGLE-01", "SVC-02"], error=not_claimed,
                  tags=["google", "needs:google", "req:GOOGLE-01", "req:SVC-02"],
                  steps=[_step("Given", "a Google account", "skipped", line=8),
                         _step("Then", "Google was asked for scopes", "skipped", line=12)]),
        _scenario("Office 365 scopes", "passed", ["SVC-02"], feature="features/o365.feature",
                  tags=["graph", "req:SVC-02"], steps=[_step("Given", "an account", "passed")]),
        _scenario("Read asks for read only", "failed", ["SCOPE-01"],
                  feature="features/o365.feature", line=30, evidence=[AUDIT],
                  tags=["graph", "req:SCOPE-01"],
                  steps=[_step("When", "the user connects", "passed", line=31),
                         _step("Then", "asked for exactly Calendars.Read", "failed",
                               "AssertionError: asked for Calendars.ReadWrite", line=32),
                         _step("And", "nothing was written", "skipped", line=33)]),
        _scenario("Set-up broke", "error", ["SCOPE-02"], feature="features/o365.feature",
                  line=40, error="ConformanceError: POST /account answered 500",
                  tags=["graph", "req:SCOPE-02"],
                  steps=[_step("Given", "an account", "skipped", line=41)]),
    ]
    return RunResult(run_id="vendor-run", seed=42, iut="http", started_at=START,
                     finished_at=START + timedelta(seconds=30), scenarios=scenarios,
                     requirements=[_req(r) for r in ("GOOGLE-01", "SVC-02", "SCOPE-01",
                                                     "SCOPE-02")],
                     environment={"python": "3.11"}, target="http://127.0.0.1:8111",
                     capabilities=CLAIMS)


def test_not_claimed_is_its_own_verdict_never_a_pass_nor_a_failure(run: RunResult) -> None:
    verdicts = {row.id: row.verdict for row in run.requirement_rows()}
    assert verdicts == {"GOOGLE-01": "not claimed", "SVC-02": "passed", "SCOPE-01": "failed",
                        "SCOPE-02": "failed"}
    rows = {row.id: row for row in run.requirement_rows()}
    assert rows["SVC-02"].not_claimed == 1 and rows["SCOPE-01"].not_claimed == 0
    assert run.counts()["not_claimed"] == 1
    assert run.requirement_counts()["not claimed"] == 1
    run.scenarios = run.scenarios[:2]  # only the not-claimed and the passed one
    assert run.passed


@pytest.mark.parametrize(("statuses", "verdict"), [
    ({"not_claimed"}, "not claimed"),
    ({"not_claimed", "skipped"}, "not claimed"),
    ({"not_claimed", "passed"}, "passed"),
    ({"not_claimed", "failed"}, "failed"),
    ({"not_claimed", "error"}, "failed"),
    ({"skipped"}, "skipped"),
])
def test_verdict_precedence(statuses: set[Status], verdict: str) -> None:
    scenarios = [_scenario(f"s-{s}", s, ["R-01"], steps=[]) for s in sorted(statuses)]
    run = RunResult("r", 1, "x", START, START, scenarios, [_req("R-01")])
    assert run.requirement_rows()[0].verdict == verdict


def test_json_round_trip_keeps_claims_target_and_step_lines(run: RunResult) -> None:
    text = render_json(run)
    document = json.loads(text)
    assert document["schema"] == "calharness.results/1"
    assert document["run"]["target"] == "http://127.0.0.1:8111"
    assert document["run"]["capabilities"] == CLAIMS
    assert document["summary"]["scenarios"]["not_claimed"] == 1
    assert document["summary"]["requirements"]["not claimed"] == 1
    rows = {row["id"]: row for row in document["requirements"]}
    assert rows["GOOGLE-01"]["verdict"] == "not claimed"
    assert rows["SCOPE-01"]["scenarios"][0]["error"] == (
        "Then asked for exactly Calendars.Read: AssertionError: asked for Calendars.ReadWrite")
    assert run_from_document(document) == run


def test_results_without_the_new_keys_still_load(run: RunResult, tmp_path: object) -> None:
    """A calharness.results/1 file written before target/capabilities/line existed."""
    document = json.loads(render_json(run))
    del document["run"]["target"], document["run"]["capabilities"]
    for scenario in document["scenarios"]:
        for step in scenario["steps"]:
            del step["line"]
    loaded = run_from_document(document)
    assert loaded.target is None and loaded.capabilities is None
    assert loaded.scenarios[2].steps[1].line is None


def test_junit_reports_not_claimed_as_a_skip_that_says_so(run: RunResult) -> None:
    root = ET.fromstring(render_junit(run))
    assert root.get("skipped") == "1" and root.get("failures") == "1" and root.get("errors") == "1"
    case = next(c for c in root.iter("testcase") if c.get("name") == "Google scopes")
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "not claimed by the implementation: google"
    suite_props = {p.get("name"): p.get("value") for s in root.iter("testsuite")
                   for p in s.find("properties") or []}
    assert suite_props["target"] == "http://127.0.0.1:8111"


def test_html_shows_claims_not_claimed_rows_and_failure_evidence(run: RunResult) -> None:
    html = render_html(run)
    assert "Acme Calendar Sync 2.3 (Acme)" in html
    assert "http://127.0.0.1:8111" in html
    assert "Does not claim" in html and "scheduling_privileges" in html
    google_row = html.split('id="req-GOOGLE-01"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="badge not-claimed">not claimed</span>' in google_row
    assert "not claimed by the implementation: google" in google_row
    svc_row = html.split('id="req-SVC-02"', 1)[1].split("</tr>", 1)[0]
    assert "1 scenario not claimed by the implementation" in svc_row
    scope_row = html.split('id="req-SCOPE-01"', 1)[1].split("</tr>", 1)[0]
    assert "asked for Calendars.ReadWrite" in scope_row
    assert "provider evidence" in scope_row
    assert "Calendars.ReadWrite" in html.split('id="scenario-3"', 1)[1]


def test_cucumber_json_structure_statuses_and_evidence(run: RunResult) -> None:
    document = json.loads(render_cucumber(run))
    assert [f["uri"] for f in document] == ["features/google.feature", "features/o365.feature"]
    google, o365 = document
    assert google["keyword"] == "Feature" and google["name"] == "Google"
    assert {t["name"] for t in google["tags"]} == {"@google", "@needs:google"}
    assert {t["name"] for t in o365["tags"]} == {"@graph"}  # the tag every scenario carries
    (not_claimed,) = google["elements"]
    assert not_claimed["type"] == "scenario" and not_claimed["keyword"] == "Scenario"
    assert [s["result"]["status"] for s in not_claimed["steps"]] == ["skipped", "skipped"]
    assert not_claimed["steps"][0]["result"]["error_message"].startswith("not claimed")
    assert [s["line"] for s in not_claimed["steps"]] == [8, 12]
    passed, failed, errored = o365["elements"]
    assert passed["steps"][0] == {
        "keyword": "Given ", "name": "an account", "line": 11,
        "match": {"location": "features/o365.feature:11"},
        "result": {"status": "passed", "duration": 12_500_000}}
    assert [s["result"]["status"] for s in failed["steps"]] == ["passed", "failed", "skipped"]
    failing = failed["steps"][1]
    assert failing["result"]["error_message"] == "AssertionError: asked for Calendars.ReadWrite"
    (embedding,) = failing["embeddings"]
    assert embedding["mime_type"] == "application/json"
    evidence = json.loads(base64.b64decode(embedding["data"]))
    assert evidence["entries"][0]["scopes"] == "Calendars.ReadWrite"
    # an error outside the steps is a failed hook, so no dashboard shows the scenario green
    assert errored["before"][0]["result"]["status"] == "failed"
    assert "answered 500" in errored["before"][0]["result"]["error_message"]
    assert len({e["id"] for f in document for e in f["elements"]}) == 4


def test_write_reports_includes_cucumber_json(run: RunResult, tmp_path: object) -> None:
    from pathlib import Path

    paths = write_reports(run, Path(str(tmp_path)))
    assert json.loads(paths.cucumber.read_text(encoding="utf-8")) == json.loads(
        render_cucumber(run))
    assert load_results(paths.json) == run
