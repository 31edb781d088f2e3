"""Turn pytest-bdd's hook calls into the report model's ScenarioResults."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from harness.catalogue import requirement_ids_from_tags
from harness.reports.model import Evidence, ScenarioResult, Status, StepResult

EVIDENCE_LIMIT = 60  # audit entries kept per scenario: enough to show what happened, not a dump
_EVIDENCE_KEYS = ("seq", "provider", "method", "path", "status", "operation", "client_id", "user",
                  "scopes", "outcome")


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

    @classmethod
    def begin(cls, feature: Any, scenario: Any) -> ScenarioRecord:
        tags = sorted(set(feature.tags) | set(scenario.tags))
        steps = [StepResult(keyword=s.keyword.strip(), text=s.name, status="skipped",
                            duration_s=0.0, line=getattr(s, "line_number", None))
                 for s in scenario.steps]
        result = ScenarioResult(
            feature_name=feature.name, feature_file=feature.rel_filename or feature.filename,
            name=scenario.name, line=scenario.line_number, tags=tags,
            requirement_ids=requirement_ids_from_tags(tags), status="passed", duration_s=0.0,
            steps=steps)
        return cls(result=result, started=time.perf_counter())

    def step_started_now(self) -> None:
        self.step_started = time.perf_counter()

    def step_done(self, status: Status, error: str | None = None) -> None:
        if self.step_index < len(self.result.steps):
            step = self.result.steps[self.step_index]
            step.status = status
            step.duration_s = round(time.perf_counter() - self.step_started, 4)
            step.error = error
        self.step_index += 1

    def step_failed(self, exc: BaseException) -> None:
        self.step_done("failed", _one_line(exc))

    def finish(self, status: Status, error: str | None) -> ScenarioResult:
        self.result.status = status
        self.result.duration_s = round(time.perf_counter() - self.started, 4)
        if error and not self.result.error:
            self.result.error = error
        return self.result

    def attach_audit(self, entries: list[dict[str, Any]]) -> None:
        compact = [{k: e.get(k) for k in _EVIDENCE_KEYS} for e in entries[-EVIDENCE_LIMIT:]]
        if compact:
            label = f"provider audit log ({len(entries)} requests"
            label += f", last {EVIDENCE_LIMIT} shown)" if len(entries) > EVIDENCE_LIMIT else ")"
            self.result.evidence.append(Evidence(label=label, data={"entries": compact}))
