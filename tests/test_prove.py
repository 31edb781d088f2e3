"""`calharness prove`: the figures, the classification of a run, the power column in every
report, and — the fast subset CI runs — the real command on three mutants the suite kills and
attributes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.prove import Job, _outcome, covered_requirements, plan, sample_others
from harness.reports import RequirementRecord, RunResult, ScenarioResult, render_html, write_reports
from harness.reports.jsonreport import results_document, run_from_document
from harness.reports.prove import MutantOutcome, ProveResult, load_prove

ROOT = Path(__file__).resolve().parent.parent
FEATURES = ROOT / "features"
# Killed and attributed by the current features; small selections, so CI stays fast.
FAST_SUBSET = ["prompt-version-off-by-one", "domain-suffix-match", "privacy-leaks-subject"]


def _outcome_of(name: str, breaks: list[str], outcome: str, failed: list[str]) -> MutantOutcome:
    return MutantOutcome(name=name, breaks=breaks, description="", outcome=outcome,  # type: ignore[arg-type]
                         failed=failed, ran=[*breaks, "X-1"],
                         stray=[r for r in failed if r not in breaks])


def test_figures_attribution_and_power() -> None:
    result = ProveResult(run_id="p", started_at="t", duration_s=1.0, mutants=[
        _outcome_of("a", ["LOCK-04"], "killed", ["LOCK-04"]),
        _outcome_of("b", ["LOCK-04"], "killed", ["LOCK-04", "DOMAIN-01"]),
        _outcome_of("c", ["PRIV-02", "PRIV-03"], "survived", []),
        _outcome_of("d", ["SCOPE-01"], "refused", ["SCOPE-01", "X-1"]),
    ])
    assert result.kill_rate() == pytest.approx(2 / 3)  # the refused one is not counted
    assert result.attribution_rate() == pytest.approx(1 / 2)
    assert [m.name for m in result.survivors()] == ["c"]
    assert result.mutants[1].misattributed == ["DOMAIN-01"]
    assert result.power() == {"LOCK-04": {"mutants": 2, "killed": 2},
                              "PRIV-02": {"mutants": 1, "killed": 0},
                              "PRIV-03": {"mutants": 1, "killed": 0}}
    again = ProveResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.power() == result.power() and again.kill_rate() == result.kill_rate()


def test_selection_names_the_broken_requirements_plus_a_stable_sample() -> None:
    covered = covered_requirements(sorted(FEATURES.glob("*.feature")))
    assert "LOCK-04" in covered and "SSO-05" in covered  # SSO-05: features/sso_admin_role.feature
    first = sample_others("m", ("LOCK-04",), covered, 2)
    assert first == sample_others("m", ("LOCK-04",), covered, 2) and "LOCK-04" not in first
    (job,) = plan([("m", ("LOCK-04",), "", "m", None)], covered, 2)
    assert job.requirements[0] == "LOCK-04" and len(job.requirements) == 3


def _scenario(name: str, status: str, rid: str) -> ScenarioResult:
    return ScenarioResult(feature_name="f", feature_file="f.feature", name=name, line=1,
                          tags=[], requirement_ids=[rid], status=status,  # type: ignore[arg-type]
                          duration_s=0.1, steps=[], error=None)


def _run(statuses: dict[str, str], power: dict | None = None) -> RunResult:
    now = datetime.now(UTC)
    reqs = [RequirementRecord(id=r, area="a", title=r, source="s", sentence="x", testable=True)
            for r in statuses]
    return RunResult(run_id="r", seed=1, iut="reference", started_at=now, finished_at=now,
                     scenarios=[_scenario(f"s-{r}", s, r) for r, s in statuses.items()],
                     requirements=reqs, power=power)


@pytest.mark.parametrize(("statuses", "outcome", "attributed"), [
    ({"LOCK-04": "failed", "DOMAIN-01": "passed", "PRIV-02": "passed"}, "killed", True),
    ({"LOCK-04": "failed", "DOMAIN-01": "failed", "PRIV-02": "passed"}, "killed", False),
    ({"LOCK-04": "passed", "DOMAIN-01": "passed", "PRIV-02": "passed"}, "survived", False),
    ({"LOCK-04": "failed", "DOMAIN-01": "failed", "PRIV-02": "failed"}, "refused", False),
])
def test_a_run_is_classified_from_its_results(tmp_path: Path, statuses: dict[str, str],
                                              outcome: str, attributed: bool) -> None:
    write_reports(_run(statuses), tmp_path / "m")
    job = Job("m", ("LOCK-04",), "", tuple(statuses), mutant="m")
    got = _outcome(job, 1, tmp_path, 2.0, timed_out=False)
    assert (got.outcome, got.attributed) == (outcome, attributed)


def test_a_failed_scenario_that_checks_the_broken_rule_among_others_is_attributed(
        tmp_path: Path) -> None:
    run = _run({"LOCK-04": "passed", "SCOPE-01": "passed", "PRIV-02": "passed"})
    run.scenarios[0] = _scenario("s-both", "failed", "LOCK-04")
    run.scenarios[0].requirement_ids = ["SCOPE-01", "LOCK-04"]
    write_reports(run, tmp_path / "m")
    job = Job("m", ("LOCK-04",), "", ("LOCK-04", "SCOPE-01", "PRIV-02"), mutant="m")
    got = _outcome(job, 1, tmp_path, 2.0, timed_out=False)
    assert got.outcome == "killed" and got.failed == ["LOCK-04", "SCOPE-01"]
    assert got.attributed and got.misattributed == []


def test_a_timeout_and_a_run_without_results_are_not_kills(tmp_path: Path) -> None:
    job = Job("m", ("LOCK-04",), "", ("LOCK-04",), mutant="m")
    assert _outcome(job, None, tmp_path, 9.0, timed_out=True).outcome == "timeout"
    assert _outcome(job, 4, tmp_path, 9.0, timed_out=False).outcome == "error"


def test_power_column_in_html_and_json() -> None:
    run = _run({"LOCK-04": "passed", "PRIV-02": "passed"},
               power={"LOCK-04": {"mutants": 4, "killed": 3}})
    page = render_html(run)
    assert "<th title=" in page and ">Power</th>" in page
    assert "3/4 killed" in page and "no mutant" in page
    document = results_document(run)
    assert document["run"]["power"] == {"LOCK-04": {"mutants": 4, "killed": 3}}
    assert run_from_document(json.loads(json.dumps(document))).power == run.power
    assert ">Power</th>" not in render_html(_run({"LOCK-04": "passed"}))


def test_prove_fast_subset_kills_and_attributes(tmp_path: Path) -> None:
    """What CI runs: `calharness prove` on three mutants — killed, attributed — then a normal
    run (LOCK-04's scenarios) into the same report folder shows that power beside the verdict:
    `results.json` and the HTML report read prove-latest.json."""
    command = [sys.executable, "-m", "harness", "prove", "--report-dir", str(tmp_path),
               "--sample", "1", "--timeout", "600"]
    for name in FAST_SUBSET:
        command += ["--mutant", name]
    env = {**os.environ, "CALHARNESS_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "200"}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1500,
                          env=env, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "kill rate 100%, attribution 100%" in done.stdout
    result = load_prove(tmp_path / "prove-latest.json")
    assert result.baseline_passed
    assert [(m.name, m.outcome, m.attributed) for m in result.mutants] == [
        (name, "killed", True) for name in FAST_SUBSET]
    assert (tmp_path / result.run_id / "prove.html").exists()
    assert result.power()["LOCK-04"] == {"mutants": 1, "killed": 1}
    # a normal run of LOCK-04's scenarios into the same report folder reads prove-latest.json
    normal = subprocess.run([sys.executable, "-m", "pytest", str(FEATURES), "-q",
                             "-p", "no:cacheprovider", "--req", "LOCK-04", "--report-dir",
                             str(tmp_path), "--run-id", "normal"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600, env=env, stdin=subprocess.DEVNULL)
    assert normal.returncode == 0, normal.stdout[-3000:] + normal.stderr[-3000:]
    document = json.loads((tmp_path / "normal" / "results.json").read_text(encoding="utf-8"))
    assert document["run"]["power"]["LOCK-04"] == {"mutants": 1, "killed": 1}
    assert "1/1 killed" in (tmp_path / "normal" / "report.html").read_text(encoding="utf-8")


def test_run_reports_find_the_last_prove_result(tmp_path: Path) -> None:
    from harness.prove import write_prove
    from harness.pytest_plugin import _power

    class Config:
        def __init__(self, path: str | None) -> None:
            self.path = path

        def getoption(self, name: str) -> str | None:
            assert name == "prove_results"
            return self.path

    assert _power(Config(None), tmp_path) is None  # type: ignore[arg-type]
    write_prove(ProveResult(run_id="p1", started_at="t", duration_s=1.0, mutants=[
        _outcome_of("a", ["LOCK-04"], "killed", ["LOCK-04"])]), tmp_path)
    assert _power(Config(None), tmp_path) == {"LOCK-04": {"mutants": 1, "killed": 1}}  # type: ignore[arg-type]
    assert _power(Config(str(tmp_path / "p1" / "prove.json")), tmp_path / "elsewhere") == {  # type: ignore[arg-type]
        "LOCK-04": {"mutants": 1, "killed": 1}}


def test_prove_targets_kills_a_broken_build_and_lets_a_sound_one_survive(tmp_path: Path) -> None:
    """`calharness prove --targets`: a vendor's list of builds, each served behind the
    conformance API. One shows an assistant the topic of private meetings (it breaks PRIV-02
    and PRIV-03: killed, attributed); the other is the sound reference listed as breaking
    PRIV-02 (survived: the command exits 1). Only the privacy feature runs, no sample."""
    from harness.conformance.reference import reference_app
    from harness.conformance.server import ConformanceServer
    from tests.broken_variants import leaking_private_topics_app

    with ConformanceServer(leaking_private_topics_app()) as leaking, \
            ConformanceServer(reference_app()) as sound:
        builds = tmp_path / "builds.json"
        builds.write_text(json.dumps([
            {"name": "leaks-private-topics", "url": leaking.url, "breaks": ["PRIV-02", "PRIV-03"],
             "description": "private topics shown to an assistant"},
            {"name": "sound-build", "url": sound.url, "breaks": ["PRIV-02"]}]))
        command = [sys.executable, "-m", "harness", "prove", "--targets", str(builds),
                   "--features", str(FEATURES / "policy_contacts_scheduling.feature"),
                   "--report-dir", str(tmp_path), "--sample", "0", "--jobs", "1",
                   "--timeout", "300"]
        env = {**os.environ, "CALHARNESS_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "200"}
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900,
                              env=env, stdin=subprocess.DEVNULL)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]  # a survivor
    assert f"target {leaking.url}" in done.stdout and "survivors: sound-build" in done.stdout
    result = load_prove(tmp_path / "prove-latest.json")
    assert result.baseline_passed
    by_name = {m.name: m for m in result.mutants}
    leaked, sound_build = by_name["leaks-private-topics"], by_name["sound-build"]
    assert (leaked.outcome, leaked.attributed, leaked.target) == ("killed", True, leaking.url)
    assert set(leaked.failed) == {"PRIV-02", "PRIV-03"}
    assert (sound_build.outcome, sound_build.failed) == ("survived", [])
    assert result.power()["PRIV-03"] == {"mutants": 1, "killed": 1}
    assert result.power()["PRIV-02"] == {"mutants": 2, "killed": 1}
