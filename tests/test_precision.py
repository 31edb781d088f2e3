"""Suite precision (issue #17), shown on deliberately broken variants of the reference (the
mutants of `harness/reference/mutants/`):

- for each part of the work, a scenario that fails against a variant and passes against the
  reference: group rules on members' integrations, rules judged at the provider, attribution of
  a failure to the requirement its assertion checks, the seed data's edges;
- over the variants, a full run's results fail only requirements the variant breaks (no
  collateral verdicts).

Both go through `calharness prove` (a forked run per variant, the unmutated reference first over
the same selection). Every variant runs over the scenarios of the requirements it names; with
`-m slow`, one variant per part and then every variant also over every feature."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.reports import load_results
from harness.reports.prove import ProveResult, load_prove

ROOT = Path(__file__).resolve().parent.parent

# part of the work -> (variant, scenario that must fail against it and pass on the reference)
BULLETS: dict[str, list[tuple[str, str]]] = {
    "group rules on members' integrations": [
        ("group-lock-difference-kept", "A group's permission lock suspends a member's differing "
                                       "integration and prompts them"),
        ("group-default-service-ignored", "A member's set-up goes to the group's default "
                                          "calendar service"),
        ("group-enforce-oauth-ignored", "Enforce OAuth 2.0 set for a group refuses its members' "
                                        "mailbox password"),
    ],
    "rules judged at the provider": [
        ("oauth-enforced-after-basic-sign-in", "Enforce OAuth 2.0 set for a group refuses its "
                                               "members' mailbox password"),
        ("read-only-move-allowed-on-ews", "Through the Office 365 EWS URL, every write on a "
                                          "read-only integration is refused"),
    ],
    "attribution": [
        ("ews-legacy-notice-missing", "Choosing Office 365 with the EWS URL tells the admin"),
        ("default-service-not-preselected", "Calendar Read and contacts None ask Google"),
    ],
    "seed data edges": [
        ("privacy-confidential-shown", "Through Graph, an assistant sees every meeting marked "
                                       "private or confidential"),
        ("cu3-as-text", "A hybrid environment on Exchange build 15.1.1034.26"),
        ("domain-allowed-case-sensitive", "A current user with a mixed-case address"),
        ("domain-suffix-match", "A user whose address is on a look-alike domain"),
        ("mapi-unlock-keeps-desktop", "Unlocking MAPI (still on) withdraws the desktop "
                                      "integration"),
    ],
}
VARIANTS = list(dict.fromkeys(m for pairs in BULLETS.values() for m, _ in pairs))
# One variant per part, run over every feature (`-m slow`: the default run keeps to the
# targeted runs below, to stay well under CI's 15 minutes).
FULL_RUN = ["group-lock-difference-kept", "oauth-enforced-after-basic-sign-in",
            "ews-legacy-notice-missing", "cu3-as-text"]


def _prove(tmp_path: Path, variants: list[str], sample: int) -> ProveResult:
    command = [sys.executable, "-m", "harness", "prove", "--report-dir", str(tmp_path),
               "--sample", str(sample), "--timeout", "1200"]
    for name in variants:
        command += ["--mutant", name]
    env = {**os.environ, "CALHARNESS_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "200"}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=5400,
                          env=env, stdin=subprocess.DEVNULL)
    result = load_prove(tmp_path / "prove-latest.json")
    report = done.stdout[-4000:] + done.stderr[-2000:]
    assert result.baseline_passed, "the reference fails the selection:\n" + report
    return result


def _run_of(tmp_path: Path, result: ProveResult, variant: str):  # type: ignore[no-untyped-def]
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", variant).strip("-")
    return load_results(tmp_path / result.run_id / "runs" / slug / "results.json")


def _check_attributed(result: ProveResult, names: list[str]) -> None:
    by_name = {m.name: m for m in result.mutants}
    for name in names:
        m = by_name[name]
        assert m.outcome == "killed", f"{name} {m.outcome}: {m.detail}"
        # every requirement the run failed is one the variant breaks: no collateral verdict
        assert set(m.failed) <= set(m.breaks), f"{name} also failed {m.misattributed}"
        assert m.attributed, f"{name} misattributed: {m.misattributed}"


def _check_scenarios(tmp_path: Path, result: ProveResult, variants: list[str]) -> None:
    for part, pairs in BULLETS.items():
        for variant, scenario in pairs:
            if variant not in variants:
                continue
            run = _run_of(tmp_path, result, variant)
            failed = [s for s in run.scenarios if s.status == "failed"
                      and s.name.startswith(scenario)]
            assert failed, f"{part}: no scenario {scenario!r} failed against {variant}"


def _check_full(tmp_path: Path, result: ProveResult, variants: list[str]) -> None:
    for variant in variants:
        run = _run_of(tmp_path, result, variant)
        breaks = set(next(m for m in result.mutants if m.name == variant).breaks)
        verdicts = {row.id: row.verdict for row in run.requirement_rows() if row.scenarios}
        collateral = {r: v for r, v in verdicts.items() if v == "failed" and r not in breaks}
        assert not collateral, f"{variant}: {collateral}"
        assert len(verdicts) > 80, "not a full run"  # every covered requirement ran


@pytest.mark.slow  # a full run of every feature for the reference and four variants: ~8 min
def test_one_variant_per_part_fails_its_scenario_and_nothing_it_does_not_break(
        tmp_path: Path) -> None:
    """Every feature, on the reference (which passes them all) and against one variant per
    part: the part's scenario fails, and results.json fails only requirements the variant
    names — the others pass, or are blocked where a failing check kept their steps from
    running."""
    result = _prove(tmp_path, FULL_RUN, sample=999)
    _check_attributed(result, FULL_RUN)
    _check_scenarios(tmp_path, result, FULL_RUN)
    _check_full(tmp_path, result, FULL_RUN)


def test_one_variant_per_part_is_killed_by_its_parts_scenario_and_attributed(
        tmp_path: Path) -> None:
    """One variant per part over the scenarios of the requirements it names (the reference
    first, over the same selection): every part's scenario fails against a variant in the
    default run; the other variants of each part run with `-m slow` (CI's 15 minutes)."""
    result = _prove(tmp_path, FULL_RUN, sample=0)
    _check_attributed(result, FULL_RUN)
    _check_scenarios(tmp_path, result, FULL_RUN)


@pytest.mark.slow
def test_every_variant_is_killed_by_its_parts_scenario_and_attributed(tmp_path: Path) -> None:
    """Each variant over the scenarios of the requirements it names (the reference first, over
    the same selection)."""
    result = _prove(tmp_path, VARIANTS, sample=0)
    _check_attributed(result, VARIANTS)
    _check_scenarios(tmp_path, result, VARIANTS)


@pytest.mark.slow
def test_a_full_run_of_every_variant_fails_only_what_it_breaks(tmp_path: Path) -> None:
    result = _prove(tmp_path, VARIANTS, sample=999)
    _check_attributed(result, VARIANTS)
    _check_full(tmp_path, result, VARIANTS)
