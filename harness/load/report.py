"""The load report: one self-contained HTML page (plotly with its JavaScript inlined, so it opens
offline) and a summary JSON, from what a run leaves behind:

- Locust's CSVs (`--csv PREFIX --csv-full-history`): per step and kind, the final statistics
  (`_stats.csv`), the history every second (`_stats_history.csv`: throughput and the current
  percentiles), the failures by message (`_failures.csv`);
- the hub's audit summary (`GET /_control/audit/summary`, polled during the run): requests,
  throttling and errors the providers saw, per second, provider, status and outcome;
- the run's settings.

Charts: throughput per step over time, latency p50/p99 per step and kind over time, users over
time, requests and throttling at the providers over time, errors by kind. Tables: each step's
figures, errors by kind, what the providers saw, convergence (every meeting the platform holds
present exactly once at the provider).
"""

from __future__ import annotations

import bisect
import csv
import html
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SYNC_STEPS = ("sync.initial", "sync.incremental", "push.create", "push.update", "push.delete",
              "sync.settle")
ALL_STEPS = ("connect", "connect.reauth", *SYNC_STEPS, "verify.converged")
_NOT_CONVERGED = re.compile(r"(lost|duplicated|stale) (\d+)")
_STEP_FAILED = re.compile(r"^StepFailed\(['\"](.*)['\"]\)$")  # Locust keeps the repr
THROTTLE_OUTCOMES = ("ErrorServerBusy", "rateLimitExceeded", "userRateLimitExceeded",
                     "TooManyRequests", "ApplicationThrottled")


def _float(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@dataclass
class StepFigures:
    kind: str
    name: str
    count: int
    failures: int
    rps: float
    p50: float | None
    p95: float | None
    p99: float | None
    average: float | None
    maximum: float | None
    size: float


@dataclass
class Convergence:
    integrations: int = 0  # integrations whose check ran
    meetings: int = 0  # meetings checked at the provider
    failed_checks: int = 0
    lost: int = 0
    duplicated: int = 0
    stale: int = 0
    # Integrations that ran: the mailboxes the run claimed (one claim per integration), else the
    # ones that connected (Locust's `connect` successes: a step is named `connect` until the
    # first success). An integration that ran and was not checked may have lost data unseen.
    started: int = 0

    @property
    def unchecked(self) -> int:
        return max(0, self.started - self.integrations)

    @property
    def converged(self) -> bool:
        return self.integrations > 0 and not (self.unchecked or self.failed_checks or self.lost
                                              or self.duplicated or self.stale)


@dataclass
class LoadResults:
    steps: list[StepFigures] = field(default_factory=list)
    history: list[dict[str, str]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    audit: list[list[Any]] = field(default_factory=list)
    convergence: Convergence = field(default_factory=Convergence)

    def step(self, name: str) -> list[StepFigures]:
        return [s for s in self.steps if s.name == name]

    def rounds(self) -> int:
        """Sync rounds run: every step that is one round of the engine."""
        return sum(s.count for s in self.steps if s.name in SYNC_STEPS)

    def errors_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for row in self.failures:
            error = _STEP_FAILED.sub(r"\1", row.get("Error", ""))
            kind = _NOT_CONVERGED.sub(r"\1 n", error) if "not converged" in error else error
            out[kind] += int(row.get("Occurrences") or 0)
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def provider_side(self) -> dict[str, dict[str, int]]:
        """provider → {requests, throttled, server errors, other errors}."""
        out: dict[str, dict[str, int]] = {}
        for _second, provider, status, outcome, count, *_ in self.audit:
            row = out.setdefault(provider, {"requests": 0, "throttled": 0, "server errors": 0,
                                            "client errors": 0})
            row["requests"] += count
            if status == 429 or outcome in THROTTLE_OUTCOMES:
                row["throttled"] += count
            elif status >= 500:
                row["server errors"] += count
            elif status >= 400:
                row["client errors"] += count
        return dict(sorted(out.items()))


def read_audit(path: Path) -> list[list[Any]]:
    """The audit summary a run saved (audit_summary.csv), to render its report again."""
    return [[int(r["second"]), r["provider"], int(r["status"]), r["outcome"], int(r["count"]),
             int(r["shard"])] for r in read_csv(path)]


def collect(csv_prefix: Path, audit: list[list[Any]] | None = None,
            started: int | None = None) -> LoadResults:
    """The run's figures; `started`: the integrations that ran, if the caller knows (the claims
    at the hub), else counted from the connections in Locust's statistics."""
    results = LoadResults(audit=list(audit or []))
    for row in read_csv(Path(f"{csv_prefix}_stats.csv")):
        if row.get("Name") == "Aggregated":
            continue
        results.steps.append(StepFigures(
            kind=row.get("Type", ""), name=row["Name"], count=int(row["Request Count"]),
            failures=int(row["Failure Count"]), rps=_float(row["Requests/s"]) or 0.0,
            p50=_float(row.get("50%", "")), p95=_float(row.get("95%", "")),
            p99=_float(row.get("99%", "")), average=_float(row["Average Response Time"]),
            maximum=_float(row["Max Response Time"]),
            size=_float(row["Average Content Size"]) or 0.0))
    results.history = [r for r in read_csv(Path(f"{csv_prefix}_stats_history.csv"))
                       if r.get("Name")]
    results.failures = read_csv(Path(f"{csv_prefix}_failures.csv"))
    conv = results.convergence
    for figures in results.step("verify.converged"):
        conv.integrations += figures.count
        conv.meetings += round(figures.size * figures.count)
        conv.failed_checks += figures.failures
    connected = sum(f.count - f.failures for f in results.step("connect"))
    conv.started = started if started is not None else connected
    for row in results.failures:
        if row.get("Name") != "verify.converged":
            continue
        times = int(row.get("Occurrences") or 0)
        for what, number in _NOT_CONVERGED.findall(row.get("Error", "")):
            setattr(conv, what, getattr(conv, what) + int(number) * times)
    return results


# -- the summary and the page --------------------------------------------------------------------
def summary(results: LoadResults, settings: dict[str, Any]) -> dict[str, Any]:
    by_step: dict[str, dict[str, Any]] = {}
    for name in ALL_STEPS:
        rows = results.step(name)
        if not rows:
            continue
        count = sum(r.count for r in rows)
        by_step[name] = {
            "count": count, "failures": sum(r.failures for r in rows),
            "per_second": round(sum(r.rps for r in rows), 3),
            # the worst kind's percentile: per-kind rows cannot be merged exactly
            "p50_ms": max((r.p50 or 0) for r in rows), "p99_ms": max((r.p99 or 0) for r in rows),
            "by_kind": {r.kind: {"count": r.count, "failures": r.failures, "p50_ms": r.p50,
                                 "p99_ms": r.p99} for r in rows}}
    conv = results.convergence
    return {"settings": settings, "steps": by_step,
            "rounds": results.rounds(),
            "rounds_per_second": round(sum(r.rps for r in results.steps
                                           if r.name in SYNC_STEPS), 3),
            "errors_by_kind": results.errors_by_kind(),
            "provider_side": results.provider_side(),
            "convergence": {"converged": conv.converged, "integrations": conv.integrations,
                            "started": conv.started, "unchecked": conv.unchecked,
                            "meetings": conv.meetings, "failed_checks": conv.failed_checks,
                            "lost": conv.lost, "duplicated": conv.duplicated,
                            "stale": conv.stale}}


RATE_WINDOW_S = 6  # workers report every 3 s: a multiple of it does not saw-tooth


def _rates(series: dict[Any, dict[int, int]], times: list[int], window: int
           ) -> dict[int, float]:
    """Steps per second at each time: the growth of the running totals over the `window`
    seconds around it (summed over the series, e.g. the kinds)."""
    out = dict.fromkeys(times, 0.0)
    for points in series.values():
        stamps = sorted(points)
        totals = [points[t] for t in stamps]

        def at(t: int, stamps: list[int] = stamps, totals: list[int] = totals) -> int:
            i = bisect.bisect_right(stamps, t)
            return totals[i - 1] if i else 0

        for t in times:  # centred: a trailing window would draw every change late
            out[t] += (at(t + window // 2) - at(t - window // 2)) / window
    return out


def _figures(results: LoadResults) -> list[tuple[str, Any]]:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figures: list[tuple[str, Any]] = []
    history = results.history
    # One time origin for Locust's history (Unix time) and the audit (the world clock: the same
    # unless a scenario moved it), so the charts line up.
    t0 = min([int(r["Timestamp"]) for r in history] + [r[0] for r in results.audit] or [0])
    t_end = max([int(r["Timestamp"]) for r in history] + [r[0] for r in results.audit] or [0])
    span = [0, max(t_end - t0, 1)]  # every time chart on the same axis
    if history:
        users: dict[int, int] = {}
        totals: dict[str, dict[tuple[str, str], dict[int, int]]] = defaultdict(dict)
        for row in history:
            t = int(row["Timestamp"]) - t0
            if row["Name"] == "Aggregated":
                users[t] = int(row["User Count"])
                continue
            totals[row["Name"]].setdefault((row["Type"], row["Name"]), {})[t] = \
                int(row["Total Request Count"])
        by_name = {name: _rates(series, sorted(users), RATE_WINDOW_S)
                   for name, series in totals.items()}
        fig = go.Figure()
        for name in [n for n in ALL_STEPS if n in by_name]:
            points = sorted(by_name[name].items())
            fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points],
                                     name=name, mode="lines", stackgroup="steps"))
        fig.update_layout(title="Throughput per step (steps completed per second, stacked)",
                          xaxis_title="seconds", yaxis_title="steps per second", height=380,
                          xaxis_range=span)
        figures.append(("throughput", fig))

        names = [n for n in (*SYNC_STEPS, "connect") if n in by_name]
        if names:
            cols = 3
            rows_n = (len(names) + cols - 1) // cols
            fig = make_subplots(rows=rows_n, cols=cols, subplot_titles=names,
                                shared_xaxes=True)
            colors = {"graph": "#1f77b4", "ews": "#ff7f0e", "google": "#2ca02c"}
            shown: set[str] = set()
            for i, name in enumerate(names):
                series: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
                for row in history:
                    if row["Name"] != name:
                        continue
                    t = int(row["Timestamp"]) - t0
                    for pct in ("50%", "99%"):
                        value = _float(row[pct])
                        if value is not None and value > 0:
                            series[(row["Type"], pct)].append((t, value))
                for (kind, pct), points in sorted(series.items()):
                    legend = f"{kind} {'p50' if pct == '50%' else 'p99'}"
                    fig.add_trace(go.Scatter(
                        x=[p[0] for p in points], y=[p[1] for p in points], mode="lines",
                        name=legend, legendgroup=legend, showlegend=legend not in shown,
                        line={"color": colors.get(kind, "#7f7f7f"),
                              "dash": "solid" if pct == "50%" else "dot"}),
                        row=i // cols + 1, col=i % cols + 1)
                    shown.add(legend)
            ticks = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000]
            fig.update_xaxes(range=span)
            fig.update_yaxes(type="log", title_text="ms", tickvals=ticks,
                             ticktext=[f"{v:,}" for v in ticks])
            fig.update_layout(title="Latency per step over time: p50 (solid) and p99 (dotted) "
                                    "by kind, ms (log scale)", height=300 * rows_n + 80)
            figures.append(("latency", fig))

        points = sorted(users.items())
        fig = go.Figure(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points],
                                   mode="lines", name="users", line={"shape": "hv"}))
        fig.update_layout(title="Simulated integrations (Locust users)", height=260,
                          xaxis_title="seconds", yaxis_title="users", xaxis_range=span)
        figures.append(("users", fig))

    if results.audit:
        requests: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        throttled: dict[int, int] = defaultdict(int)
        errors: dict[int, int] = defaultdict(int)
        for second, provider, status, outcome, count, *_ in results.audit:
            t = second - t0
            requests[provider][t] += count
            if status == 429 or outcome in THROTTLE_OUTCOMES:
                throttled[t] += count
            elif status >= 500:
                errors[t] += count
        fig = make_subplots(specs=[[{"secondary_y": True}]])
        for provider, series in sorted(requests.items()):
            points = sorted(series.items())
            fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points],
                                     name=f"{provider} requests/s", mode="lines"))
        for label, series, color in (("throttled/s (429, ServerBusy)", throttled, "#d62728"),
                                     ("server errors/s (5xx)", errors, "#9467bd")):
            points = sorted(series.items())
            fig.add_trace(go.Bar(x=[p[0] for p in points], y=[p[1] for p in points],
                                 name=label, marker_color=color, opacity=0.7),
                          secondary_y=True)
        fig.update_layout(title="At the providers (the hub's audit log): requests, throttling "
                                "and server errors per second", height=380,
                          xaxis_title="seconds", barmode="stack", xaxis_range=span)
        fig.update_yaxes(title_text="requests/s", secondary_y=False, rangemode="tozero")
        fig.update_yaxes(title_text="throttled / errors per s", secondary_y=True,
                         rangemode="tozero", tickformat=",d")
        figures.append(("providers", fig))

    errors_by_kind = results.errors_by_kind()
    if errors_by_kind:
        fig = go.Figure(go.Bar(x=list(errors_by_kind.values()), y=list(errors_by_kind),
                               orientation="h", marker_color="#d62728"))
        fig.update_layout(title="Errors by kind (failed steps, after the engine's retries)",
                          height=120 + 40 * len(errors_by_kind), xaxis_title="occurrences",
                          yaxis={"automargin": True})
        figures.append(("errors", fig))
    return figures


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _unchecked(conv: dict[str, Any]) -> str:
    if not conv["unchecked"]:
        return ""
    return (f"<p class=\"bad\">{conv['unchecked']:,} of the {conv['started']:,} integrations that "
            "ran were not checked, so the run is not converged: what they pushed was not looked "
            "for at the provider. They were still connecting or in a step when the run ended "
            "(a population the set-up cannot connect within the run shows here and in the "
            "connect step's latency): give the run more time, or fewer users.</p>")


MIN_ROUNDS_FOR_RATE = 100  # fewer: a rate over a few rounds' first-to-last span misleads


def headline(data: dict[str, Any]) -> str:
    """`N sync rounds by K integrations over S s`, and the average rate when enough rounds ran
    for it to mean something (Locust's rate divides by the span of the requests, which a
    handful of rounds makes arbitrary)."""
    settings, conv = data["settings"], data["convergence"]
    seconds = settings.get("run_time")
    over = f" over {seconds:.0f} s" if isinstance(seconds, (int, float)) else ""
    started = conv.get("started") or conv["integrations"]
    text = f"{data['rounds']:,} sync rounds by {started:,} integrations{over}"
    if data["rounds"] >= MIN_ROUNDS_FOR_RATE:
        return f"{text}, {data['rounds_per_second']:.1f} rounds/s on average"
    return f"{text} (too few rounds for a rate)"


def render(results: LoadResults, settings: dict[str, Any]) -> str:
    from plotly.offline import get_plotlyjs

    data = summary(results, settings)
    conv = data["convergence"]
    verdict = ("converged" if conv["converged"] else
               "NOT converged" if conv["integrations"] or conv["unchecked"] else "not checked")
    cls = "ok" if conv["converged"] else "bad"
    step_rows = [[s.name, s.kind, s.count, s.failures, s.rps, s.p50, s.p95, s.p99, s.maximum]
                 for name in ALL_STEPS for s in results.step(name)]
    error_rows = [[k, v] for k, v in data["errors_by_kind"].items()]
    provider_rows = [[p, *v.values()] for p, v in data["provider_side"].items()]
    setting_rows = [[k, json.dumps(v) if isinstance(v, (dict, list)) else v]
                    for k, v in settings.items()]
    charts = "".join(
        f'<section class="chart" id="chart-{name}">'
        f'{fig.to_html(full_html=False, include_plotlyjs=False, config={"responsive": True})}'
        f"</section>" for name, fig in _figures(results))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>calharness load report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
table {{ border-collapse: collapse; margin: .5rem 0 1.5rem; font-size: .9rem; }}
th, td {{ border: 1px solid #ccc; padding: .25rem .6rem; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.ok {{ color: #137333; font-weight: bold; }} .bad {{ color: #b3261e; font-weight: bold; }}
.chart {{ margin-bottom: 1rem; }}
.headline {{ font-size: 1.1rem; }}
</style>
<script>{get_plotlyjs()}</script></head><body>
<h1>calharness load report</h1>
<p class="headline">{html.escape(headline(data))}; convergence: <span class="{cls}">{verdict}</span>
({conv['integrations']:,} of {conv['started']:,} integrations checked, {conv['meetings']:,}
meetings: {conv['lost']} lost, {conv['duplicated']} duplicated, {conv['stale']} left
behind).</p>
{charts}
<h2>Steps</h2>
<p>Latencies in ms, over the whole run (Locust's statistics). A sync step is one round of the
engine (reading changes, planning, writing), so it includes the engine's waits on throttling.</p>
{_table(["step", "kind", "count", "failures", "per s", "p50", "p95", "p99", "max"], step_rows)}
<h2>Errors by kind</h2>
{_table(["error", "occurrences"], error_rows) if error_rows else "<p>none</p>"}
<h2>At the providers (audit log)</h2>
<p>Every request the mock providers served while the load ran, by provider: throttled are 429
answers and EWS ErrorServerBusy (the providers' own limits and the plan's faults).</p>
{_table(["provider", "requests", "throttled", "server errors", "client errors"],
        provider_rows) if provider_rows else "<p>not collected</p>"}
<h2>Convergence</h2>
<p>After the load, with faults off, each integration settled and its mailbox was read at the
provider: every meeting the platform holds must be there exactly once (else lost or
duplicated), and no event may be left for a meeting the platform no longer has. Every
integration that ran (claimed a mailbox) must have been checked.</p>
{_table(["integrations that ran", "checked", "not checked", "meetings", "failed checks",
         "lost", "duplicated", "left behind"],
        [[conv['started'], conv['integrations'], conv['unchecked'], conv['meetings'],
          conv['failed_checks'], conv['lost'], conv['duplicated'], conv['stale']]])}
{_unchecked(conv)}
<h2>Settings</h2>
{_table(["setting", "value"], setting_rows)}
</body></html>
"""


def write_report(out_dir: Path, csv_prefix: Path, audit: list[list[Any]],
                 settings: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    started = settings.get("integrations_started")
    results = collect(csv_prefix, audit, started if isinstance(started, int) else None)
    with (out_dir / "audit_summary.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["second", "provider", "status", "outcome", "count", "shard"])
        writer.writerows(audit)
    page = out_dir / "report.html"
    page.write_text(render(results, settings), encoding="utf-8")
    data = summary(results, settings)
    (out_dir / "summary.json").write_text(json.dumps(data, indent=2, default=str),
                                          encoding="utf-8")
    return page, data
