"""The machine-readable results file, and reading it back into a RunResult."""

from __future__ import annotations

import json
from datetime import datetime
from os import PathLike
from pathlib import Path
from typing import Any

from harness.reports.model import RunResult

# Compatible changes add keys or values and keep the name: the `not_claimed` status and the
# "not claimed" verdict, `run.target`, `run.capabilities`, step `line` and the requirement rows'
# scenario `error` were added this way.
SCHEMA = "calharness.results/1"


def render_json(run: RunResult) -> str:
    """The run as `calharness.results/1` JSON: sorted keys, indent 2, ISO-8601 datetimes."""
    return json.dumps(results_document(run), indent=2, sort_keys=True, default=_fallback) + "\n"


def results_document(run: RunResult) -> dict[str, Any]:
    data = run.to_dict()
    return {
        "schema": SCHEMA,
        "run": {
            "run_id": data["run_id"],
            "seed": data["seed"],
            "iut": data["iut"],
            "started_at": data["started_at"],
            "finished_at": data["finished_at"],
            "duration_s": run.duration_s,
            "passed": run.passed,
            "environment": data["environment"],
            # Added within calharness.results/1 (readers ignore keys they do not know): the
            # conformance API's URL for a run over HTTP, and what the implementation claimed.
            "target": data["target"],
            "capabilities": data["capabilities"],
        },
        "summary": {
            "scenarios": {"total": len(run.scenarios), **run.counts()},
            "requirements": {"total": len(run.requirements), **run.requirement_counts()},
            "coverage": run.coverage(),
            "unknown_requirement_ids": run.unknown_requirement_ids(),
        },
        # Rows carry every catalogue field plus the derived verdict, so load_results can
        # rebuild the records from them and recompute the verdicts.
        "requirements": [row.to_dict() for row in run.requirement_rows()],
        "scenarios": data["scenarios"],
    }


def load_results(path: str | PathLike[str]) -> RunResult:
    """Read a results file; anything malformed raises ValueError with a one-line message."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    try:
        return run_from_document(document)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def run_from_document(document: object) -> RunResult:
    if not isinstance(document, dict):
        raise ValueError("expected a JSON object at the top level")
    schema = document.get("schema")
    if schema != SCHEMA:
        raise ValueError(f"unsupported schema {schema!r:.60} (expected {SCHEMA!r})")
    run = document.get("run")
    if not isinstance(run, dict):
        raise ValueError("missing or malformed 'run' object")
    for key in ("requirements", "scenarios"):
        if not isinstance(document.get(key), list):
            raise ValueError(f"missing or malformed {key!r} list")
    merged = {**run, "requirements": document["requirements"], "scenarios": document["scenarios"]}
    return RunResult.from_dict(merged, where="results")


def _fallback(value: object) -> str:
    # Evidence comes from audit logs and may hold datetimes or other non-JSON values; a
    # report that can't be written is worse than one that stringifies them.
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
