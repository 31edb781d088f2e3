"""Per requirement, the outcome of one scenario: failed only where the failing assertion is
charged, blocked where a requirement's steps did not run or pass. The rules are described in
`harness.bdd.attribution`, where steps declare what they check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

Outcome = Literal["passed", "failed", "blocked", "skipped", "error", "not_claimed"]


def own_requirements(declared: Sequence[str] | None, tags: Sequence[str]) -> list[str] | None:
    """The step's own requirements in this scenario; None for a shared step."""
    if not declared:
        return None
    own = [r for r in declared if r in tags]
    return own or None


def _relies_on(index: int, requirement: str, checks_of: Sequence[list[str] | None]) -> bool:
    step_checks = checks_of[index]
    if step_checks is not None:
        return requirement in step_checks
    own = [i for i, c in enumerate(checks_of) if c is not None and requirement in c]
    return not own or index < max(own)


def charge(failing: int, exc: BaseException | None, declared: Sequence[str] | None,
           tags: Sequence[str], checks_of: Sequence[list[str] | None]) -> list[str]:
    """The requirements a failure of step `failing` is charged to."""
    named = getattr(exc, "requirements", None) if exc is not None else None
    if named:
        return [r for r in named if r in tags] or list(named)
    if checks_of[failing] is not None:
        return list(checks_of[failing] or [])
    if declared:  # none of what it checks is tagged: its first (primary) requirement
        return [declared[0]]
    relying = [r for r in tags if _relies_on(failing, r, checks_of)]
    return relying or list(tags)


def requirement_outcomes(tags: Sequence[str], scenario_status: str,
                         steps: Sequence[Any]) -> dict[str, Outcome]:
    """Per requirement, the scenario's outcome. `steps` have `status`, `checks` (own
    requirements or None) and `charged` (on a failed step; None when unknown)."""
    if scenario_status in ("skipped", "not_claimed"):
        return {r: scenario_status for r in tags}  # type: ignore[misc]
    checks_of = [getattr(s, "checks", None) for s in steps]
    failing = next((i for i, s in enumerate(steps) if s.status in ("failed", "error")), None)
    if failing is None:
        if scenario_status == "passed":
            return {r: "passed" for r in tags}
        # failed or errored outside the steps (set-up, teardown, a hook): everything
        return {r: ("error" if scenario_status == "error" else "failed") for r in tags}
    charged = steps[failing].charged
    if charged is None:  # results written before attribution: the step is shared
        charged = charge(failing, None, None, tags, checks_of)
    bad: Outcome = "error" if steps[failing].status == "error" else "failed"
    out: dict[str, Outcome] = {}
    for r in tags:
        if r in charged:
            out[r] = bad
        elif all(steps[i].status == "passed" for i in range(len(steps))
                 if _relies_on(i, r, checks_of)):
            out[r] = "passed"
        else:
            out[r] = "blocked"
    for r in charged:
        out.setdefault(r, bad)
    return out
