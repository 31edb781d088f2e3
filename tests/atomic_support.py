"""What the concurrency state machines (Graph, Google, EWS) count: steps, the invariant checks,
and the items a view got wrong against the model. Counted, not assumed: the closing line of a
long run prints these counters, and every check asserts its own comparison is clean.

- lost: an item the model holds (an acknowledged create or write) that a view lacks, or shows
  with other content than the last acknowledged write (a lost update);
- resurrected: an item whose delete was acknowledged that a view still shows;
- wrong answers: a status or response code other than the model's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Set
from contextlib import AbstractContextManager
from dataclasses import dataclass

from hypothesis import HealthCheck, settings


def machine_settings(examples: int, steps: int, derandomize: bool) -> settings:
    """The hypothesis settings every concurrency machine runs under (no deadline: a step waits
    on real HTTP and held requests)."""
    return settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                    derandomize=derandomize, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@dataclass
class Agreement:
    name: str
    steps: int = 0
    checks: int = 0
    lost: int = 0
    resurrected: int = 0
    wrong_answers: int = 0

    def compare(self, view: str, seen: Mapping[str, object], live: Mapping[str, object],
                deleted: Set[str]) -> None:
        """One view (the world, a list, a delta replay) against the model; `seen` holds only
        the items the model made."""
        self.checks += 1
        resurrected = sorted(set(seen) & deleted)
        missing = sorted(set(live) - set(seen))
        stale = sorted(k for k in set(live) & set(seen) if seen[k] != live[k])
        self.resurrected += len(resurrected)
        self.lost += len(missing) + len(stale)
        assert not (resurrected or missing or stale), (
            f"{view}: resurrected {resurrected}, missing {missing}, "
            f"stale {[(k, seen[k], live[k]) for k in stale]}")

    def answer(self, got: object, expected: object, what: object) -> None:
        if got != expected:
            self.wrong_answers += 1
            raise AssertionError(f"{what}: got {got!r}, the model says {expected!r}")

    def line(self, seconds: float) -> str:
        return (f"\n{self.name} state machine: {self.steps} steps, {self.checks} view checks in "
                f"{seconds:.0f} s: {self.lost} lost, {self.resurrected} resurrected, "
                f"{self.wrong_answers} wrong answers")

    def soak(self, run_once: Callable[[], None], quiet: Callable[[], AbstractContextManager[None]],
             *, steps: int = 10_000, runs: int = 400) -> None:
        """A long run: `run_once` (one random hypothesis run) until `steps` more steps were
        taken, at most `runs` times, printing the progress through `quiet` (capsys.disabled)
        and the counters at the end; then no view may have been wrong."""
        began, start = time.monotonic(), self.steps
        for _ in range(runs):
            if self.steps - start >= steps:
                break
            run_once()
            with quiet():
                print(f"\n{self.steps - start} steps after {time.monotonic() - began:.0f} s",
                      flush=True)
        with quiet():
            print(self.line(time.monotonic() - began))
        # (a discrepancy fails its check at once, with what was wrong: a run that ends here
        # took its steps with every view agreeing, which the printed counters say)
        assert self.steps - start >= steps, f"{self.steps - start} steps in {runs} runs"
