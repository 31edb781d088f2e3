"""Turn pytest-bdd's hook calls into the report model's ScenarioResults."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from harness.bdd.attribution import (
    RequirementFailure,
    charge,
    declared_checks,
    own_requirements,
)
from harness.catalogue import requirement_ids_from_tags
from harness.reports.model import Evidence, ScenarioResult, Status, StepResult

EVIDENCE_LIMIT = 60  # audit entries kept per scenario: enough to show what happened, not a dump
_EVIDENCE_KEYS = ("seq", "provider", "method", "path", "status", "operation", "client_id", "user",
                  "scopes", "outcome")
# From an entry's detail, when present: the query string (delta link, sync token followed) and
# whether an EWS SyncFolderItems continued from a SyncState.
_EVIDENCE_DETAIL = ("query", "incremental", "auth")


def _compact(entry: dict[str, Any]) -> dict[str, Any]:
    out = {k: entry.get(k) for k in _EVIDENCE_KEYS}
    detail = entry.get("detail") or {}
    out.update({k: detail[k] for k in _EVIDENCE_DETAIL if k in detail})
    return out


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


@dataclass
class ScenarioRecord:
    result: ScenarioResult
    started: float
    step_started: float = 0.0
    step_index: int = 0
    steps_by_line: dict[int, int] = field(default_factory=dict)
    # What each step definition declares it checks (`@checks`), None where it declares nothing
    # or could not be looked up.
    declared: list[tuple[str, ...] | None] = field(default_factory=list)

    @classmethod
    def begin(cls, feature: Any, scenario: Any,
              step_funcs: list[tuple[Any, dict[str, Any] | None]] | None = None
              ) -> ScenarioRecord:
        """`step_funcs`: each step's definition and parsed arguments, when known."""
        tags = sorted(set(feature.tags) | set(scenario.tags))
        ids = requirement_ids_from_tags(tags)
        declared = [declared_checks(f, a)
                    for f, a in (step_funcs or [(None, None)] * len(scenario.steps))]
        steps = [StepResult(keyword=s.keyword.strip(), text=s.name, status="skipped",
                            duration_s=0.0, line=getattr(s, "line_number", None),
                            checks=own_requirements(d, ids))
                 for s, d in zip(scenario.steps, declared, strict=True)]
        result = ScenarioResult(
            feature_name=feature.name, feature_file=feature.rel_filename or feature.filename,
            name=scenario.name, line=scenario.line_number, tags=tags,
            requirement_ids=ids, status="passed", duration_s=0.0, steps=steps)
        return cls(result=result, started=time.perf_counter(), declared=declared)

    def step_started_now(self) -> None:
        self.step_started = time.perf_counter()

    def step_done(self, status: Status, error: str | None = None) -> None:
        if self.step_index < len(self.result.steps):
            step = self.result.steps[self.step_index]
            step.status = status
            step.duration_s = round(time.perf_counter() - self.step_started, 4)
            step.error = error
        self.step_index += 1

    def step_failed(self, exc: BaseException, step_func: Any = None,
                    diagnosed: tuple[str, ...] = ()) -> None:
        """`diagnosed`: the requirements the provider's evidence charges the failure to (a
        grant that does not match the permissions), over what the step says it checks."""
        index = self.step_index
        if index < len(self.result.steps):
            declared = self.declared[index] if index < len(self.declared) else None
            if declared is None and step_func is not None:
                declared = declared_checks(step_func)
            cause: BaseException = RequirementFailure(diagnosed, str(exc)) if diagnosed and \
                not isinstance(exc, RequirementFailure) else exc
            self.result.steps[index].charged = charge(
                index, cause, declared, self.result.requirement_ids,
                [s.checks for s in self.result.steps])
        self.step_done("failed", _one_line(exc))

    def finish(self, status: Status, error: str | None) -> ScenarioResult:
        self.result.status = status
        self.result.duration_s = round(time.perf_counter() - self.started, 4)
        if error and not self.result.error:
            self.result.error = error
        return self.result

    def attach_audit(self, entries: list[dict[str, Any]]) -> None:
        compact = [_compact(e) for e in entries[-EVIDENCE_LIMIT:]]
        if compact:
            label = f"provider audit log ({len(entries)} requests"
            label += f", last {EVIDENCE_LIMIT} shown)" if len(entries) > EVIDENCE_LIMIT else ")"
            self.result.evidence.append(Evidence(label=label, data={"entries": compact}))
