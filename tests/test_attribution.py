"""A step's failure is charged to the requirement that step checks: a scenario tagged with two
requirements that fails on the second's assertion fails only the second, the first keeps its
verdict, and a requirement whose steps did not run is blocked — in results.json, the HTML and
JUnit reports and cucumber.json alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.bdd.attribution import (
    CHECKS_ATTRIBUTE,
    RequirementFailure,
    charged_to,
    checks,
    declared_checks,
    verify,
)
from harness.reports import StepResult
from harness.reports.attribution import requirement_outcomes

pytest_plugins = ["pytester"]

FEATURE = """\
@policy
Feature: Two requirements in one scenario

  @req:LOCK-05 @req:ADMIN-05
  Scenario: The group view is checked, then the audit trail
    Given an account
    When the admin changes a group
    Then the group shows the lock
    And the audit trail records the change
    And nothing else changed
"""

STEPS = """\
import os

from pytest_bdd import given, then, when

from harness.bdd.attribution import checks, verify


@given("an account")
def an_account():
    pass


@when("the admin changes a group")
def admin_changes():
    assert os.environ.get("BREAK") != "when", "the change was refused"


@then("the group shows the lock")
@checks("LOCK-05")
def group_shows_lock():
    assert os.environ.get("BREAK") != "lock", "the group does not show the lock"


@then("the audit trail records the change")
@checks("ADMIN-05")
def audit_records():
    verify(os.environ.get("BREAK") != "audit", "ADMIN-05", "no audit entry")


@then("nothing else changed")
def nothing_else():
    assert os.environ.get("BREAK") != "shared", "the policy changed"
"""


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, broken: str) -> dict:
    pytester.makefile(".feature", two=FEATURE)
    pytester.makeconftest(STEPS)
    monkeypatch.setenv("BREAK", broken)
    out = pytester.path / "reports"
    result = pytester.runpytest_inprocess("-p", "no:randomly", "-p", "no:cacheprovider",
                                          "--report-dir", str(out), "--run-id", "r")
    assert result.ret in (0, 1), result.stdout.str()
    return json.loads((out / "r" / "results.json").read_text())


def _verdicts(document: dict) -> dict[str, str]:
    return {row["id"]: row["verdict"] for row in document["requirements"]
            if row["id"] in ("LOCK-05", "ADMIN-05")}


def test_failing_on_the_second_requirements_assertion_fails_only_the_second(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    document = _run(pytester, monkeypatch, "audit")
    assert _verdicts(document) == {"LOCK-05": "passed", "ADMIN-05": "failed"}
    (scenario,) = document["scenarios"]
    assert scenario["status"] == "failed"  # the scenario itself still failed
    assert scenario["requirement_outcomes"] == {"ADMIN-05": "failed", "LOCK-05": "passed"}
    failing = scenario["steps"][3]
    assert failing["charged"] == ["ADMIN-05"] and failing["checks"] == ["ADMIN-05"]
    assert document["run"]["passed"] is False
    report = (pytester.path / "reports" / "r")
    junit = (report / "junit.xml").read_text()
    assert 'name="requirement.failed" value="ADMIN-05"' in junit
    assert 'name="requirement.passed" value="LOCK-05"' in junit
    (feature,) = json.loads((report / "cucumber.json").read_text())
    assert feature["elements"][0]["description"] == \
        "requirements: ADMIN-05 failed, LOCK-05 passed"


def test_failing_on_the_first_requirements_assertion_blocks_the_second(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    document = _run(pytester, monkeypatch, "lock")
    assert _verdicts(document) == {"LOCK-05": "failed", "ADMIN-05": "blocked"}
    html = (pytester.path / "reports" / "r" / "report.html").read_text()
    assert 'class="badge blocked"' in html and "not reached" in html


def test_a_shared_step_fails_every_requirement_still_relying_on_it(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _verdicts(_run(pytester, monkeypatch, "when")) == {"LOCK-05": "failed",
                                                              "ADMIN-05": "failed"}


def test_a_trailing_shared_step_fails_every_requirement(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # "nothing else changed" comes after both requirements' own checks: it is theirs alike
    assert _verdicts(_run(pytester, monkeypatch, "shared")) == {"LOCK-05": "failed",
                                                                "ADMIN-05": "failed"}


def test_a_passing_run_passes_both(pytester: pytest.Pytester,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert _verdicts(_run(pytester, monkeypatch, "")) == {"LOCK-05": "passed",
                                                          "ADMIN-05": "passed"}


# -- the rules, without pytest-bdd ---------------------------------------------------------------
def _step(status: str, checks_: list[str] | None = None,
          charged: list[str] | None = None) -> StepResult:
    return StepResult(keyword="Then", text="x", status=status, duration_s=0.0,  # type: ignore[arg-type]
                      checks=checks_, charged=charged)


def test_a_failure_charged_outside_the_tags_fails_that_requirement_and_blocks_the_others() -> None:
    steps = [_step("failed", None, ["SETUP-06"]), _step("skipped", ["PRIV-02"])]
    assert requirement_outcomes(["PRIV-02"], "failed", steps) == {"PRIV-02": "blocked",
                                                                  "SETUP-06": "failed"}


def test_results_without_attribution_keep_the_old_verdicts() -> None:
    steps = [_step("passed"), _step("failed"), _step("skipped")]
    assert requirement_outcomes(["A-1", "B-2"], "failed", steps) == {"A-1": "failed",
                                                                     "B-2": "failed"}
    assert requirement_outcomes(["A-1"], "error", []) == {"A-1": "error"}
    assert requirement_outcomes(["A-1"], "not_claimed", []) == {"A-1": "not_claimed"}


def test_assertion_helpers_name_their_requirement() -> None:
    with pytest.raises(RequirementFailure) as caught:
        verify(False, ("SCOPE-02", "OAUTH-03"), "asked for Calendars.Read")
    assert caught.value.requirements == ("SCOPE-02", "OAUTH-03")
    with pytest.raises(RequirementFailure) as caught, charged_to("LOCK-03"):
        raise AssertionError("no prompt")
    assert caught.value.requirements == ("LOCK-03",) and str(caught.value) == "no prompt"

    @checks("perm-02", "PERM-04")
    def step() -> None: ...
    assert declared_checks(step) == ("PERM-02", "PERM-04")

    @checks("EWS-01", by=lambda text: ["EWS-03"] if "legacy" in text else [])
    def told(text: str) -> None: ...
    assert declared_checks(told, {"text": "a legacy method"}) == ("EWS-03",)
    assert declared_checks(told, {"text": "full access"}) == ("EWS-01",)
    with pytest.raises(ValueError):
        checks()


def test_loaded_results_recompute_the_same_outcomes(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from harness.reports import RequirementRecord, RunResult, ScenarioResult, load_results
    from harness.reports.writer import write_reports

    scenario = ScenarioResult(
        feature_name="f", feature_file="f.feature", name="s", line=1,
        tags=["req:LOCK-05", "req:ADMIN-05"], requirement_ids=["LOCK-05", "ADMIN-05"],
        status="failed", duration_s=0.1,
        steps=[_step("passed", ["LOCK-05"]), _step("failed", ["ADMIN-05"], ["ADMIN-05"])])
    now = datetime.now(UTC)
    run = RunResult(run_id="r", seed=1, iut="reference", started_at=now, finished_at=now,
                    scenarios=[scenario], requirements=[
                        RequirementRecord(id=r, area="a", title=r, source="s", sentence="x",
                                          testable=True) for r in ("LOCK-05", "ADMIN-05")])
    paths = write_reports(run, tmp_path)
    again = load_results(paths.json)
    assert {r.id: r.verdict for r in again.requirement_rows()} == {"LOCK-05": "passed",
                                                                    "ADMIN-05": "failed"}


def test_prove_blames_only_the_failed_requirements_of_an_attributed_run(tmp_path: Path) -> None:
    """A mutant whose run fails a scenario on the requirement it names, blocking the others
    that scenario carries, is attributed; one failing another requirement is not."""
    from datetime import UTC, datetime

    from harness.prove import Job, _outcome
    from harness.reports import RequirementRecord, RunResult, ScenarioResult
    from harness.reports.writer import write_reports

    def scenario(name: str, charged: list[str]) -> ScenarioResult:
        return ScenarioResult(
            feature_name="f", feature_file="f.feature", name=name, line=1,
            tags=["req:SCOPE-01", "req:SETUP-03"], requirement_ids=["SCOPE-01", "SETUP-03"],
            status="failed", duration_s=0.1,
            steps=[_step("passed"), _step("failed", ["SETUP-03"], charged)])

    now = datetime.now(UTC)
    records = [RequirementRecord(id=r, area="a", title=r, source="s", sentence="x",
                                 testable=True) for r in ("SCOPE-01", "SETUP-03", "SCOPE-02")]
    for charged, attributed in ((["SCOPE-02"], True), (["SETUP-03"], False)):
        run = RunResult(run_id="r", seed=1, iut="reference", started_at=now, finished_at=now,
                        scenarios=[scenario("s", charged)], requirements=records)
        write_reports(run, tmp_path / "m")
        job = Job("m", ("SCOPE-02",), "", ("SCOPE-02", "SCOPE-01", "SETUP-03"), mutant="m")
        got = _outcome(job, 1, tmp_path, 1.0, timed_out=False)
        assert got.outcome == "killed" and got.attributed is attributed, (charged, got)
        assert got.failed == charged


def _then_steps() -> list[Any]:
    """The step contexts of every Then-step definition in harness/steps."""
    import importlib
    import pkgutil

    from pytest_bdd.steps import step_function_context_registry

    import harness.steps

    for module in pkgutil.iter_modules(harness.steps.__path__):
        importlib.import_module(f"harness.steps.{module.name}")
    found = {id(c): c for c in list(step_function_context_registry.values())
             if c.type == "then" and c.step_func.__module__.startswith("harness.steps.")}
    return list(found.values())


def test_every_then_step_names_the_requirement_it_verifies() -> None:
    """A Then-step without `@checks` is shared: its failure would be charged to every tag of
    the scenario. Every Then-step of harness/steps must say what it verifies (the scenario's
    tags pick among its candidates), so a new one that does not fails here, not in a report."""
    thens = _then_steps()
    assert len(thens) > 100, "the step definitions were not found: the check would be empty"
    # `@checks("ID", ...)` or `@checks(by=...)` (ids chosen per use from the step's arguments)
    unnamed = sorted(f"{c.step_func.__module__}.{c.step_func.__name__} ({c.parser.name!r})"
                     for c in thens if getattr(c.step_func, CHECKS_ATTRIBUTE, None) is None)
    assert not unnamed, f"Then-steps naming no requirement (add @checks): {unnamed}"


def test_every_use_of_a_then_step_in_the_features_names_a_requirement() -> None:
    """`@checks(by=...)` chooses per use (the state, the refusal code): each Then line of the
    features must name at least one requirement, or that use is shared after all."""
    from harness.bdd.collect import feature_files, parse_feature

    thens = _then_steps()
    root = Path(__file__).resolve().parents[1] / "features"
    unnamed, uses = [], 0
    for path in feature_files(root):
        for scenario in parse_feature(path).scenarios.values():
            # an outline's steps as each row of its examples renders them
            examples = scenario.examples or []
            examples = examples if isinstance(examples, list) else [examples]
            contexts = [row for table in examples for row in table.as_contexts()] or [{}]
            steps = [s for row in contexts for s in scenario.render(row).steps]
            for step in steps:
                if step.type != "then":
                    continue
                matching = [c for c in thens if c.parser.is_matching(step.name)]
                assert matching, f"{path.name}:{step.line_number}: no Then-step matches"
                context = matching[0]
                uses += 1
                args = context.parser.parse_arguments(step.name) or {}
                if not declared_checks(context.step_func, args):
                    unnamed.append(f"{path.name}:{step.line_number} {step.name}")
    assert uses > 300, "the features were not found: the check would be empty"
    assert not unnamed, f"Then-steps naming no requirement in these uses: {unnamed}"
