"""`calharness prove` results: per mutant of the implementation, killed or survived, and
whether the requirements that failed are the ones it names. Also the power of the suite per
requirement (mutants naming it, how many the run killed) that every run report shows.

`prove.json` (schema `calharness.prove/1`) is written next to an HTML summary; the last one is
also copied to `<report dir>/prove-latest.json`, where the normal report writer finds it.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Literal

PROVE_SCHEMA = "calharness.prove/1"
LATEST_NAME = "prove-latest.json"
PROVE_JSON = "prove.json"
PROVE_HTML = "prove.html"

Outcome = Literal["killed", "survived", "refused", "timeout", "error"]


@dataclass(slots=True)
class MutantOutcome:
    name: str
    breaks: list[str]
    description: str
    outcome: Outcome
    failed: list[str] = field(default_factory=list)  # requirement ids with a failed verdict
    ran: list[str] = field(default_factory=list)  # requirement ids whose scenarios ran
    duration_s: float = 0.0
    detail: str | None = None  # why refused / timeout / error; the first failure otherwise
    target: str | None = None  # a vendor's broken build: its conformance API URL
    # Requirements the run failed that the mutant does not name: the suite blamed something
    # else. (Results whose steps do not say where a failure is charged: the requirements of
    # failed scenarios that carry none of the named ones.)
    stray: list[str] = field(default_factory=list)

    @property
    def killed(self) -> bool:
        return self.outcome == "killed"

    @property
    def attributed(self) -> bool:
        """Killed, and every failed scenario checks one of the requirements it names."""
        return self.killed and not self.stray

    @property
    def misattributed(self) -> list[str]:
        return list(self.stray)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "breaks": self.breaks, "description": self.description,
                "outcome": self.outcome, "attributed": self.attributed,
                "misattributed": self.misattributed, "failed": self.failed, "ran": self.ran,
                "duration_s": round(self.duration_s, 3), "detail": self.detail,
                "target": self.target}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MutantOutcome:
        return cls(name=str(d["name"]), breaks=list(d["breaks"]),
                   description=str(d.get("description", "")), outcome=d["outcome"],
                   failed=list(d.get("failed", [])), ran=list(d.get("ran", [])),
                   duration_s=float(d.get("duration_s", 0.0)), detail=d.get("detail"),
                   target=d.get("target"), stray=list(d.get("misattributed", [])))


@dataclass(slots=True)
class ProveResult:
    run_id: str
    started_at: str
    duration_s: float
    mutants: list[MutantOutcome]
    baseline_passed: bool = True

    def counted(self) -> list[MutantOutcome]:
        """Mutants the figures count: refused ones (crash-like) prove nothing either way."""
        return [m for m in self.mutants if m.outcome != "refused"]

    def kill_rate(self) -> float | None:
        counted = self.counted()
        return sum(m.killed for m in counted) / len(counted) if counted else None

    def attribution_rate(self) -> float | None:
        killed = [m for m in self.counted() if m.killed]
        return sum(m.attributed for m in killed) / len(killed) if killed else None

    def survivors(self) -> list[MutantOutcome]:
        return [m for m in self.counted() if not m.killed]

    def power(self) -> dict[str, dict[str, int]]:
        """requirement id -> {"mutants": naming it, "killed": of those, killed this run}."""
        out: dict[str, dict[str, int]] = {}
        for m in self.counted():
            for rid in dict.fromkeys(m.breaks):
                row = out.setdefault(rid, {"mutants": 0, "killed": 0})
                row["mutants"] += 1
                row["killed"] += int(m.killed and rid in m.failed)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"schema": PROVE_SCHEMA, "run_id": self.run_id, "started_at": self.started_at,
                "duration_s": round(self.duration_s, 3), "baseline_passed": self.baseline_passed,
                "summary": {"mutants": len(self.mutants), "counted": len(self.counted()),
                            "killed": sum(m.killed for m in self.mutants),
                            "attributed": sum(m.attributed for m in self.mutants),
                            "refused": sum(m.outcome == "refused" for m in self.mutants),
                            "kill_rate": self.kill_rate(),
                            "attribution_rate": self.attribution_rate(),
                            "survivors": [m.name for m in self.survivors()]},
                "power": self.power(),
                "mutants": [m.to_dict() for m in self.mutants]}

    @classmethod
    def from_dict(cls, d: object) -> ProveResult:
        if not isinstance(d, dict) or d.get("schema") != PROVE_SCHEMA:
            raise ValueError(f"not a {PROVE_SCHEMA} document")
        return cls(run_id=str(d["run_id"]), started_at=str(d["started_at"]),
                   duration_s=float(d["duration_s"]),
                   baseline_passed=bool(d.get("baseline_passed", True)),
                   mutants=[MutantOutcome.from_dict(m) for m in d["mutants"]])


def load_prove(path: str | PathLike[str]) -> ProveResult:
    try:
        return ProveResult.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def load_power(path: str | PathLike[str]) -> dict[str, dict[str, int]] | None:
    """The power table of the prove run at `path`; None when there is none (or it is bad)."""
    try:
        return load_prove(path).power()
    except ValueError:
        return None


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.0%}"


def render_prove_html(result: ProveResult) -> str:
    e = html.escape
    rows = []
    for m in result.mutants:
        attribution = ("attributed" if m.attributed else
                       "misattributed: " + ", ".join(m.misattributed) if m.killed else "")
        rows.append(
            f"<tr class='{e(m.outcome)}'><td class='mono'>{e(m.name)}</td>"
            f"<td class='mono'>{e(', '.join(m.breaks))}</td><td>{e(m.description)}</td>"
            f"<td><b>{e(m.outcome)}</b></td><td>{e(attribution)}</td>"
            f"<td class='mono'>{e(', '.join(m.failed))}</td><td>{m.duration_s:.1f} s</td>"
            f"<td>{e(m.detail or '')}</td></tr>")
    power = "".join(f"<tr><td class='mono'>{e(rid)}</td><td>{p['killed']}/{p['mutants']}</td></tr>"
                    for rid, p in sorted(result.power().items()))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>calharness prove {e(result.run_id)}</title>
<style>body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}}.mono{{font-family:monospace}}
tr.killed td:nth-child(4){{color:#185}}tr.survived td:nth-child(4){{color:#b20}}
tr.refused td:nth-child(4),tr.timeout td:nth-child(4),tr.error td:nth-child(4){{color:#a60}}
</style></head><body>
<h1>calharness prove — {e(result.run_id)}</h1>
<p>{len(result.mutants)} mutants; kill rate <b>{_pct(result.kill_rate())}</b>, attribution
<b>{_pct(result.attribution_rate())}</b>, {result.duration_s:.0f} s; unmutated baseline
{'passed' if result.baseline_passed else '<b>FAILED</b> (figures meaningless)'}.</p>
<table><thead><tr><th>Mutant</th><th>Breaks</th><th>Bug</th><th>Outcome</th><th>Attribution</th>
<th>Failed requirements</th><th>Time</th><th>Detail</th></tr></thead><tbody>
{''.join(rows)}</tbody></table>
<h2>Power per requirement (killed / mutants naming it)</h2>
<table><tbody>{power}</tbody></table></body></html>
"""
