"""The result model every report is rendered from.

Plain dataclasses that the pytest plugin fills in while a run goes on. Verdicts, counts and
coverage are derived on demand, never stored, so a report can't contradict its own data.
`to_dict()`/`from_dict()` give a JSON-safe round trip; `from_dict()` rejects malformed input with
a one-line `ValueError` naming the offending field.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from harness.reports.attribution import requirement_outcomes

# not_claimed: the scenario needs a capability the implementation under test does not claim
# (`@needs:` tags against its capabilities); it did not run, and it is neither a pass nor a
# failure. A requirement whose scenarios are all not claimed is "not claimed".
Status = Literal["passed", "failed", "skipped", "error", "not_claimed"]
# blocked: a scenario of the requirement failed on another requirement's assertion before the
# requirement's own steps ran (or passed): it is neither upheld nor broken by that run.
Verdict = Literal["passed", "failed", "blocked", "not claimed", "skipped", "not covered",
                  "not testable"]

STATUSES: tuple[Status, ...] = get_args(Status)
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)


@dataclass(slots=True)
class StepResult:
    keyword: str
    text: str
    status: Status
    duration_s: float
    error: str | None = None
    line: int | None = None  # in the feature file, when known
    # The scenario's requirements this step checks (None: a shared set-up or action step), and
    # on a failed step the requirements its failure is charged to (None: not recorded).
    checks: list[str] | None = None
    charged: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "keyword": self.keyword,
            "text": self.text,
            "status": self.status,
            "duration_s": self.duration_s,
            "error": self.error,
            "line": self.line,
            "checks": self.checks,
            "charged": self.charged,
        }

    @classmethod
    def from_dict(cls, data: object, *, where: str = "step") -> StepResult:
        f = _Fields(data, where)
        return cls(
            keyword=f.text("keyword"),
            text=f.text("text"),
            status=f.status("status"),
            duration_s=f.number("duration_s"),
            error=f.opt_text("error"),
            line=f.opt_integer("line"),
            checks=f.opt_text_list("checks"),
            charged=f.opt_text_list("charged"),
        )


@dataclass(slots=True)
class Evidence:
    """What the mock providers saw, e.g. audit-log entries backing a verdict."""

    label: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "data": self.data}

    @classmethod
    def from_dict(cls, data: object, *, where: str = "evidence") -> Evidence:
        f = _Fields(data, where)
        return cls(label=f.text("label"), data=f.mapping("data"))


@dataclass(slots=True)
class ScenarioResult:
    feature_name: str
    feature_file: str
    name: str
    line: int
    tags: list[str]
    requirement_ids: list[str]
    status: Status
    duration_s: float
    steps: list[StepResult]
    error: str | None = None
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def location(self) -> str:
        return f"{self.feature_file}:{self.line}"

    def failing_step(self) -> StepResult | None:
        """The first step that failed or errored, if any."""
        return next((s for s in self.steps if s.status in ("failed", "error")), None)

    def requirement_outcomes(self) -> dict[str, str]:
        """Per requirement (tagged, or charged by a failing step), this scenario's outcome:
        failed only where the failing assertion is charged, blocked where the requirement's
        steps did not run or pass (see `harness.bdd.attribution`)."""
        return dict(requirement_outcomes(self.requirement_ids, self.status, self.steps))

    def failed_requirements(self) -> list[str]:
        return [r for r, o in self.requirement_outcomes().items() if o in ("failed", "error")]

    def short_error(self) -> str | None:
        """Why the scenario did not pass, in one place: the failing step's error (with the step)
        or the scenario's own; None for a pass."""
        if self.status == "passed":
            return None
        step = self.failing_step()
        if step is not None and step.error:
            return f"{step.keyword} {step.text}: {step.error}"
        return self.error

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature_name": self.feature_name,
            "feature_file": self.feature_file,
            "name": self.name,
            "line": self.line,
            "tags": list(self.tags),
            "requirement_ids": list(self.requirement_ids),
            "status": self.status,
            "duration_s": self.duration_s,
            "steps": [s.to_dict() for s in self.steps],
            "error": self.error,
            "evidence": [e.to_dict() for e in self.evidence],
            # Derived (never read back): per requirement, failed / blocked / passed ...
            "requirement_outcomes": self.requirement_outcomes(),
        }

    @classmethod
    def from_dict(cls, data: object, *, where: str = "scenario") -> ScenarioResult:
        f = _Fields(data, where)
        return cls(
            feature_name=f.text("feature_name"),
            feature_file=f.text("feature_file"),
            name=f.text("name"),
            line=f.integer("line"),
            tags=f.text_list("tags"),
            requirement_ids=f.text_list("requirement_ids"),
            status=f.status("status"),
            duration_s=f.number("duration_s"),
            steps=[StepResult.from_dict(d, where=w) for w, d in f.items("steps")],
            error=f.opt_text("error"),
            evidence=[
                Evidence.from_dict(d, where=w) for w, d in f.items("evidence", required=False)
            ],
        )


@dataclass(slots=True)
class RequirementRecord:
    """One catalogue entry, passed in as plain data (the report doesn't load the catalogue)."""

    id: str
    area: str
    title: str
    source: str
    sentence: str
    testable: bool
    why_not: str | None = None
    notes: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "area": self.area,
            "title": self.title,
            "source": self.source,
            "sentence": self.sentence,
            "testable": self.testable,
            "why_not": self.why_not,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: object, *, where: str = "requirement") -> RequirementRecord:
        f = _Fields(data, where)
        return cls(
            id=f.text("id"),
            area=f.text("area"),
            title=f.text("title"),
            source=f.text("source"),
            sentence=f.text("sentence"),
            testable=f.flag("testable"),
            why_not=f.opt_text("why_not"),
            notes=f.opt_text("notes"),
        )


@dataclass(slots=True)
class RequirementRow:
    """A requirement with its verdict and the scenarios (in run order) that carry its id."""

    requirement: RequirementRecord
    verdict: Verdict
    scenarios: list[ScenarioResult]
    # Each scenario's outcome for this requirement (failed, blocked, passed ...), in order.
    outcomes: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.requirement.id

    @property
    def scenario_names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    def outcome_of(self, index: int) -> str:
        if index < len(self.outcomes):
            return self.outcomes[index]
        scenario = self.scenarios[index]
        return scenario.requirement_outcomes().get(self.id, scenario.status)

    @property
    def not_claimed(self) -> int:
        """Scenarios of this requirement the implementation does not claim to support."""
        return sum(1 for s in self.scenarios if s.status == "not_claimed")

    @property
    def findings(self) -> list[dict[str, Any]]:
        """The traffic audit's findings (`--traffic`) of this requirement's scenarios, each
        with its scenario's name; a finding also names the requirements it is evidence for."""
        out: list[dict[str, Any]] = []
        for scenario in self.scenarios:
            for evidence in scenario.evidence:
                items = evidence.data.get("findings")
                if not isinstance(items, list):
                    continue
                out += [{"scenario": scenario.name, "kind": str(item.get("kind", "")),
                         "message": str(item.get("message", "")), "url": item.get("url"),
                         "requirement_ids": [str(r) for r in item.get("requirement_ids") or []]}
                        for item in items if isinstance(item, dict)]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.requirement.to_dict(),
            "verdict": self.verdict,
            "findings": self.findings,
            "scenarios": [
                {"name": s.name, "location": s.location, "status": s.status,
                 "outcome": self.outcome_of(i), "error": s.short_error()}
                for i, s in enumerate(self.scenarios)
            ],
        }


@dataclass(slots=True)
class RunResult:
    run_id: str
    seed: int
    iut: str
    started_at: datetime
    finished_at: datetime
    scenarios: list[ScenarioResult]
    requirements: list[RequirementRecord]
    environment: dict[str, str] = field(default_factory=dict)
    target: str | None = None  # the conformance API's URL when the run went over HTTP
    # What the implementation claimed (its GET /capabilities answer); None when unknown.
    capabilities: dict[str, Any] | None = None
    # The suite's power from the last `calharness prove`: requirement id -> {"mutants": n,
    # "killed": k}; None when no prove result was found.
    power: dict[str, Any] | None = None

    def power_of(self, requirement_id: str) -> dict[str, int] | None:
        if self.power is None:
            return None
        return self.power.get(requirement_id, {"mutants": 0, "killed": 0})

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def passed(self) -> bool:
        return not any(s.status in ("failed", "error") for s in self.scenarios)

    def counts(self) -> dict[Status, int]:
        """Scenarios per status; every status is present, zero included."""
        counts: dict[Status, int] = dict.fromkeys(STATUSES, 0)
        for scenario in self.scenarios:
            counts[scenario.status] += 1
        return counts

    def requirement_rows(self) -> list[RequirementRow]:
        """One row per requirement, in catalogue order: the scenarios that carry its id or
        charged it a failure, and its verdict from their outcomes for it."""
        judged = self._outcomes_by_requirement()
        rows: list[RequirementRow] = []
        for req in self.requirements:
            pairs = judged.get(req.id, [])
            rows.append(RequirementRow(req, _verdict(req, [o for _, o in pairs]),
                                       [s for s, _ in pairs], [o for _, o in pairs]))
        return rows

    def requirement_counts(self) -> dict[Verdict, int]:
        counts: dict[Verdict, int] = dict.fromkeys(VERDICTS, 0)
        for row in self.requirement_rows():
            counts[row.verdict] += 1
        return counts

    def coverage(self) -> float | None:
        """Share of testable requirements that some scenario carries; None if none is testable."""
        testable = [req for req in self.requirements if req.testable]
        if not testable:
            return None
        covering = self._scenarios_by_requirement()
        return sum(1 for req in testable if req.id in covering) / len(testable)

    def unknown_requirement_ids(self) -> list[str]:
        """Ids scenarios carry that the catalogue lacks, in order of first use."""
        known = {req.id for req in self.requirements}
        return [rid for rid in self._scenarios_by_requirement() if rid not in known]

    def scenarios_for(self, requirement_id: str) -> list[ScenarioResult]:
        return self._scenarios_by_requirement().get(requirement_id, [])

    def _outcomes_by_requirement(self) -> dict[str, list[tuple[ScenarioResult, str]]]:
        by_id: dict[str, list[tuple[ScenarioResult, str]]] = {}
        for scenario in self.scenarios:
            for rid, outcome in scenario.requirement_outcomes().items():
                by_id.setdefault(rid, []).append((scenario, outcome))
        return by_id

    def _scenarios_by_requirement(self) -> dict[str, list[ScenarioResult]]:
        by_id: dict[str, list[ScenarioResult]] = {}
        for scenario in self.scenarios:
            # dict.fromkeys: a scenario tagged twice with one id still covers it once
            for rid in dict.fromkeys(scenario.requirement_ids):
                by_id.setdefault(rid, []).append(scenario)
        return by_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "seed": self.seed,
            "iut": self.iut,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "environment": dict(self.environment),
            "target": self.target,
            "capabilities": self.capabilities,
            "power": self.power,
            "scenarios": [s.to_dict() for s in self.scenarios],
            "requirements": [r.to_dict() for r in self.requirements],
        }

    @classmethod
    def from_dict(cls, data: object, *, where: str = "run") -> RunResult:
        f = _Fields(data, where)
        return cls(
            run_id=f.text("run_id"),
            seed=f.integer("seed"),
            iut=f.text("iut"),
            started_at=f.timestamp("started_at"),
            finished_at=f.timestamp("finished_at"),
            scenarios=[ScenarioResult.from_dict(d, where=w) for w, d in f.items("scenarios")],
            requirements=[
                RequirementRecord.from_dict(d, where=w) for w, d in f.items("requirements")
            ],
            environment=f.text_mapping("environment"),
            target=f.opt_text("target"),
            capabilities=f.opt_mapping("capabilities"),
            power=f.opt_mapping("power"),
        )


def _verdict(req: RequirementRecord, outcomes: list[str]) -> Verdict:
    # Scenarios outrank the catalogue's "not testable": a failure must never be hidden behind
    # a label, even if the scenario shouldn't carry that id in the first place.
    if not outcomes:
        return "not covered" if req.testable else "not testable"
    statuses = set(outcomes)
    if statuses & {"failed", "error"}:
        return "failed"
    if "blocked" in statuses:
        # Part of what checks it did not run: neither upheld nor broken by this run.
        return "blocked"
    if "passed" in statuses:
        # Passed alongside skipped or not claimed: what ran upheld the requirement (the row
        # still lists the scenarios the implementation does not claim).
        return "passed"
    if "not_claimed" in statuses:
        return "not claimed"
    return "skipped"


class _Fields:
    """Typed, path-aware access to one JSON object, for one-line error messages."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object, got {_kind(data)}")
        self._data: dict[str, Any] = data
        self._where = where

    def _get(self, key: str, *, required: bool = True, default: Any = None) -> Any:
        if key not in self._data:
            if required:
                raise ValueError(f"{self._where}: missing field {key!r}")
            return default
        return self._data[key]

    def _fail(self, key: str, expected: str, value: object) -> ValueError:
        return ValueError(f"{self._where}.{key}: expected {expected}, got {_kind(value)}")

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise self._fail(key, "a string", value)
        return value

    def opt_text(self, key: str) -> str | None:
        value = self._get(key, required=False)
        if value is not None and not isinstance(value, str):
            raise self._fail(key, "a string or null", value)
        return value

    def opt_integer(self, key: str) -> int | None:
        value = self._get(key, required=False)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self._fail(key, "an integer or null", value)
        return value

    def opt_mapping(self, key: str) -> dict[str, Any] | None:
        value = self._get(key, required=False)
        if value is not None and not isinstance(value, dict):
            raise self._fail(key, "an object or null", value)
        return value

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "an integer", value)
        return value

    def number(self, key: str) -> float:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "a number", value)
        return float(value)

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def status(self, key: str) -> Status:
        value = self._get(key)
        if value not in STATUSES:
            raise ValueError(
                f"{self._where}.{key}: expected one of {', '.join(STATUSES)}, got {value!r:.60}"
            )
        return value  # type: ignore[no-any-return]

    def timestamp(self, key: str) -> datetime:
        value = self.text(key)
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{self._where}.{key}: expected an ISO-8601 datetime, got {value!r:.60}"
            ) from None

    def mapping(self, key: str) -> dict[str, Any]:
        value = self._get(key)
        if not isinstance(value, dict):
            raise self._fail(key, "an object", value)
        return value

    def text_mapping(self, key: str) -> dict[str, str]:
        value = self._get(key, required=False, default={})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self._fail(key, "an object of strings", value)
        return dict(value)

    def opt_text_list(self, key: str) -> list[str] | None:
        value = self._get(key, required=False)
        if value is not None and (not isinstance(value, list) or
                                  not all(isinstance(v, str) for v in value)):
            raise self._fail(key, "a list of strings or null", value)
        return None if value is None else list(value)

    def text_list(self, key: str) -> list[str]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "a list of strings", value)
        return list(value)

    def items(self, key: str, *, required: bool = True) -> Iterator[tuple[str, object]]:
        """Each element of a list field with its path, e.g. ('run.scenarios[2]', {...})."""
        value = self._get(key, required=required, default=[])
        if not isinstance(value, list):
            raise self._fail(key, "a list", value)
        for index, item in enumerate(value):
            yield f"{self._where}.{key}[{index}]", item


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
