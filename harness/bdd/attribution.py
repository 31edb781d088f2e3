"""Which requirement a step's failure is charged to.

A scenario may carry several `@req:` tags; when one of its steps fails, only the requirement
that step checks has failed. Steps say what they check, and assertion helpers may name the
requirement of one particular assertion:

    @then("no write call reached the provider")
    @checks("PERM-02", "PERM-04")          # candidates: the scenario's tags among them
    def no_writes(...): ...

    verify(asked == expected, ("SCOPE-02", "OAUTH-03"), f"asked for {asked}")
    with charged_to("LOCK-03"):
        assert result.prompt == "reintegrate", ...

Resolution for one step of a scenario tagged T:

- the step's own requirements: what `@checks` names that is in T; a step naming nothing, or
  nothing in T, is *shared* (a set-up or action step every requirement of the scenario relies
  on);
- a failure is charged to what the failing assertion names (`RequirementFailure`) that is in
  T, else to all it names; otherwise to the step's own requirements, else to the first
  requirement the step names (its primary one); a shared step's failure is charged to the
  requirements still relying on it (those with no own step, or whose own steps come later),
  or to all of T when none is left.

Per requirement a scenario then has an outcome (`requirement_outcomes`): failed where the
failure is charged; passed when every step it relies on passed (its own steps, and the shared
steps before its last own step; all shared steps when it has none); blocked when some of those
did not pass. A failure charged to a requirement the scenario is not tagged with (a set-up
step of a privacy scenario that checks the set-up) fails that requirement and blocks the
scenario's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

from harness.reports.attribution import charge, own_requirements, requirement_outcomes

__all__ = ["RequirementFailure", "charge", "charged_to", "checks", "declared_checks", "fail",
           "own_requirements", "requirement_outcomes", "verify"]

CHECKS_ATTRIBUTE = "__calharness_checks__"

F = TypeVar("F")


def checks(*requirement_ids: str, by: Callable[..., Iterable[str]] | None = None) -> Any:
    """Declare the requirements a step definition verifies (with the scenario's tags picking
    among them at run time). `by` receives the step's parsed arguments and returns the ids for
    that use of the step (`the admin is told that "{text}"`: which notice). Returns the same
    function, so it stacks with given/when/then."""
    ids = tuple(dict.fromkeys(r.strip().upper() for r in requirement_ids if r.strip()))
    if not ids and by is None:
        raise ValueError("@checks needs at least one requirement id")

    def mark(func: F) -> F:
        setattr(func, CHECKS_ATTRIBUTE, (ids, by))
        return func
    return mark


def declared_checks(step_func: Any, args: dict[str, Any] | None = None
                    ) -> tuple[str, ...] | None:
    """What a step definition checks for this use (its parsed arguments), or None."""
    declared = getattr(step_func, CHECKS_ATTRIBUTE, None) if step_func is not None else None
    if declared is None:
        return None
    ids, by = declared
    if by is not None and args is not None:
        try:
            chosen = tuple(by(**args))
        except Exception:  # a step's own argument check fails when it runs, not here
            chosen = ()
        if chosen:
            return chosen
    return ids or None


class RequirementFailure(AssertionError):
    """An assertion that names the requirement(s) it verifies."""

    def __init__(self, requirements: str | Iterable[str], message: str) -> None:
        ids = (requirements,) if isinstance(requirements, str) else tuple(requirements)
        self.requirements: tuple[str, ...] = tuple(dict.fromkeys(ids))
        super().__init__(message)


def fail(requirements: str | Iterable[str], message: str) -> NoReturn:
    raise RequirementFailure(requirements, message)


def verify(condition: object, requirements: str | Iterable[str], message: str) -> None:
    """`assert condition, message`, charged to `requirements` when it fails."""
    if not condition:
        raise RequirementFailure(requirements, message)


@contextmanager
def charged_to(*requirement_ids: str) -> Iterator[None]:
    """Plain `assert`s inside are charged to these requirements (a RequirementFailure raised
    inside keeps its own)."""
    try:
        yield
    except RequirementFailure:
        raise
    except AssertionError as exc:
        raise RequirementFailure(requirement_ids, str(exc) or "assertion failed") from exc
