"""Cucumber JSON: the report format Cucumber-aware CI dashboards read (features -> elements
(scenarios) -> steps with `result.status` and `duration` in nanoseconds, tags as `{name, line}`).

Mapping from the run model: a step keeps its status (an `error` is `failed`, as Cucumber knows
no error); a not-claimed scenario's steps are `skipped` and the first carries the reason; a
scenario that failed outside its steps (set-up, teardown) gets a failed `before`/`after` hook
with the error, so no dashboard shows it green. Provider evidence is embedded as JSON
(`application/json`, base64) on the failing step, or on the last step.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import PurePath
from typing import Any

from harness.reports.model import RunResult, ScenarioResult, StepResult

_STEP_STATUS = {"passed": "passed", "failed": "failed", "error": "failed",
                "skipped": "skipped", "not_claimed": "skipped"}
_NS = 1_000_000_000


def render_cucumber(run: RunResult) -> str:
    return json.dumps(cucumber_document(run), indent=2, ensure_ascii=False, default=str) + "\n"


def cucumber_document(run: RunResult) -> list[dict[str, Any]]:
    features: dict[str, list[ScenarioResult]] = {}
    for scenario in run.scenarios:
        features.setdefault(scenario.feature_file, []).append(scenario)
    return [_feature(path, scenarios) for path, scenarios in features.items()]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unnamed"


def _feature(path: str, scenarios: list[ScenarioResult]) -> dict[str, Any]:
    name = scenarios[0].feature_name or PurePath(path).stem
    feature_id = slug(name)
    # The model keeps each scenario's tags with its feature's merged in; the feature's own tags
    # are the ones every scenario of the file carries.
    common = set(scenarios[0].tags).intersection(*(s.tags for s in scenarios[1:]))
    feature_tags = sorted(t for t in common if not t.startswith("req:"))
    seen: dict[str, int] = {}
    elements = []
    for scenario in scenarios:
        base = f"{feature_id};{slug(scenario.name)}"
        seen[base] = seen.get(base, 0) + 1
        element_id = base if seen[base] == 1 else f"{base};{seen[base]}"
        elements.append(_element(scenario, element_id))
    return {
        "uri": path,
        "id": feature_id,
        "keyword": "Feature",
        "name": name,
        "description": "",
        "line": 1,
        "tags": [{"name": f"@{t}", "line": 1} for t in feature_tags],
        "elements": elements,
    }


def _element(scenario: ScenarioResult, element_id: str) -> dict[str, Any]:
    steps = [_step(s, scenario) for s in scenario.steps]
    element: dict[str, Any] = {
        "id": element_id,
        "keyword": "Scenario",
        "type": "scenario",
        "name": scenario.name,
        "description": _outcomes_text(scenario),
        "line": scenario.line,
        "tags": [{"name": f"@{t}", "line": max(scenario.line - 1, 1)} for t in scenario.tags],
        "steps": steps,
    }
    if scenario.status == "not_claimed" and steps:
        steps[0]["result"]["error_message"] = scenario.error or "not claimed"
    failing = scenario.failing_step()
    if scenario.status in ("failed", "error") and failing is None:
        ran = any(s.status != "skipped" for s in scenario.steps)
        hook = {"match": {"location": "calharness"},
                "result": {"status": "failed", "duration": 0,
                           "error_message": scenario.error or scenario.status}}
        element["after" if ran else "before"] = [hook]
    if scenario.evidence:
        embeddings = [_embedding(e.label, e.data) for e in scenario.evidence]
        target = _evidence_step(scenario, steps)
        if target is not None:
            target.setdefault("embeddings", []).extend(embeddings)
        else:
            element.setdefault("after", []).append({
                "match": {"location": "calharness"},
                "result": {"status": "passed", "duration": 0}, "embeddings": embeddings})
    return element


def _outcomes_text(scenario: ScenarioResult) -> str:
    """A failed scenario's verdict per requirement: the failing assertion's requirement failed,
    the others passed or blocked (Cucumber knows only the scenario's status)."""
    if scenario.status not in ("failed", "error"):
        return ""
    outcomes = scenario.requirement_outcomes()
    return "requirements: " + ", ".join(f"{rid} {outcome}" for rid, outcome in outcomes.items())


def _step(step: StepResult, scenario: ScenarioResult) -> dict[str, Any]:
    result: dict[str, Any] = {"status": _STEP_STATUS[step.status],
                              "duration": int(round(step.duration_s * _NS))}
    if step.error:
        result["error_message"] = step.error
    entry: dict[str, Any] = {
        "keyword": f"{step.keyword} ",
        "name": step.text,
        "line": step.line if step.line is not None else scenario.line,
        "match": {"location": f"{scenario.feature_file}:{step.line or scenario.line}"},
        "result": result,
    }
    return entry


def _evidence_step(scenario: ScenarioResult,
                   steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not steps:
        return None
    for model, entry in zip(scenario.steps, steps, strict=True):
        if model.status in ("failed", "error"):
            return entry
    ran = [entry for model, entry in zip(scenario.steps, steps, strict=True)
           if model.status != "skipped"]
    return ran[-1] if ran else steps[-1]


def _embedding(label: str, data: dict[str, Any]) -> dict[str, Any]:
    payload = json.dumps({"label": label, **data}, ensure_ascii=False, default=str)
    return {"mime_type": "application/json", "name": label,
            "data": base64.b64encode(payload.encode("utf-8")).decode("ascii")}
