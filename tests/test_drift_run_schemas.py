"""`--schema-check`: every Graph and Google JSON response of a run, seen through the traffic
proxy, against the Graph v1.0 CSDL and Google's discovery documents. A representative run (the
Graph and Google features: events, contacts, people, deltas, paging; about a minute)
has zero violations.

Over the whole suite: `python -m pytest features --schema-check --report-dir reports`, then read
reports/<run-id>/schema-check.json (docs/architecture.md, provider traffic)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.drift.responses import SchemaTally, schema_for

ROOT = Path(__file__).resolve().parent.parent
GRAPH = "https://graph.microsoft.com/v1.0"


def test_a_representative_run_has_no_schema_violation(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *(str(ROOT / "features" / f"{name}.feature") for name in
                                           ("office365_graph", "google")),
         "-q", "-p", "no:cacheprovider", "--schema-check", "--report-dir", str(reports),
         "--run-id", "schemas"], cwd=ROOT, capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL, env={**os.environ, "CALHARNESS_STATE_DIR": str(tmp_path / "s")})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    tally = json.loads((reports / "schemas" / "schema-check.json").read_text())
    assert tally["violations"] == []
    assert tally["checked"] > 30
    # (user, calendar and error bodies: tests/test_drift_schemas.py fetches them directly)
    assert {"graph event", "graph contact", "calendar.v3 Events", "calendar.v3 Event",
            "people.v1 ListConnectionsResponse", "people.v1 Person"
            } <= set(tally["shapes"]), tally["shapes"]


def test_schema_for_names_the_type_from_the_request() -> None:
    assert schema_for("GET", f"{GRAPH}/me/events/AAMk1", 200).name == "event"  # type: ignore
    listed = schema_for("GET", f"{GRAPH}/users/a%40b.c/calendarView/delta?x=1", 200)
    assert listed is not None and (listed.name, listed.collection) == ("event", True)
    made = schema_for("POST", f"{GRAPH}/me/contactFolders/F1/contacts", 201)
    assert made is not None and (made.name, made.collection) == ("contact", False)
    assert schema_for("POST", f"{GRAPH}/me/events/E1/accept", 202) is None
    assert schema_for("GET", f"{GRAPH}/me/events/E1", 404).name == "publicErrorResponse"  # type: ignore
    assert schema_for("GET", "https://people.googleapis.com/v1/people/c12:updateContact",
                      200).name == "Person"  # type: ignore[union-attr]
    assert schema_for("GET", "https://www.googleapis.com/calendar/v3/calendars/primary/"
                      "events/e1/instances", 200).name == "Events"  # type: ignore[union-attr]
    assert schema_for("GET", "https://www.googleapis.com/calendar/v3/x", 404) is None


def test_the_tally_counts_and_names_violations() -> None:
    tally = SchemaTally()
    body = json.dumps({"@odata.context": "x", "value": [{"id": "1", "subjcet": "typo"}],
                       "extra": 1})
    found = tally.add("GET", f"{GRAPH}/me/events?$top=1", 200, body)
    assert [(v["path"], v["problem"]) for v in found] == [
        ("event[]", "a collection answer has member 'extra'"),
        ("event[0].subjcet", "event has no property 'subjcet'")]
    assert tally.add("GET", "https://login.microsoftonline.com/common/x", 200, "{}") == []
    assert (tally.checked, tally.unchecked) == (1, 1)
