"""The HTML compliance report: one self-contained file, readable offline and safe to open."""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup

from harness.reports.model import STATUSES, VERDICTS, RunResult

TEMPLATE = "report.html.j2"

# C0/C1 controls other than tab/newline/CR are parse errors in HTML and invisible when rendered;
# shown as their Unicode "control picture" (or U+FFFD) so an odd byte in an error stays visible.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def render_html(run: RunResult) -> str:
    """Render the whole run as one HTML document (inline CSS, no network references)."""
    return _environment().get_template(TEMPLATE).render(**_context(run))


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters.update(
        duration=format_duration,
        timestamp=format_timestamp,
        percent=format_percent,
        pretty_json=pretty_json,
        css=css_class,
    )
    return env


def _context(run: RunResult) -> dict[str, Any]:
    anchors = {id(s): f"scenario-{i}" for i, s in enumerate(run.scenarios, start=1)}
    unknown = run.unknown_requirement_ids()
    return {
        "run": run,
        "rows": run.requirement_rows(),
        "counts": run.counts(),
        "requirement_counts": run.requirement_counts(),
        "coverage": run.coverage(),
        "testable_total": sum(1 for r in run.requirements if r.testable),
        "unknown": [(rid, run.scenarios_for(rid)) for rid in unknown],
        "unknown_ids": set(unknown),
        "statuses": STATUSES,
        "verdicts": VERDICTS,
        "anchor": lambda scenario: anchors[id(scenario)],
        "claims": claims_summary(run.capabilities),
        "flat_items": flat_items,
    }


def _finalize(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _CONTROL.sub(_control_picture, value)
    return value


def _control_picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    return "\u2421" if code == 0x7F else "\ufffd"


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.3f} s"
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours} h {minutes:02d} min {rest:04.1f} s"
    return f"{minutes} min {rest:04.1f} s"


def format_timestamp(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="seconds")


def format_percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.1f}%"


def pretty_json(data: object) -> str:
    # Plain str on purpose (not jinja's |tojson): autoescape then makes it safe for <pre>.
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def css_class(value: str) -> str:
    """'not covered' -> 'not-covered', usable in a class attribute."""
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def flat_items(data: dict[str, Any]) -> list[tuple[str, str]] | None:
    """Key/value pairs for a compact table when the data is one flat level, else None."""
    if not all(isinstance(v, str | int | float | bool) or v is None for v in data.values()):
        return None
    return [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in data.items()]


def claims_summary(capabilities: dict[str, Any] | None) -> list[tuple[str, str]]:
    """What the implementation claimed (its capabilities answer) as label/value pairs."""
    if not capabilities:
        return []
    rows: list[tuple[str, str]] = []
    impl = capabilities.get("implementation")
    if isinstance(impl, dict):
        vendor = f" ({impl['vendor']})" if impl.get("vendor") else ""
        rows.append(("Implementation", f"{impl.get('name', '?')} {impl.get('version', '')}"
                                       f"{vendor}".strip()))
    if capabilities.get("api"):
        rows.append(("API", str(capabilities["api"])))
    for key, label in (("services", "Services claimed"), ("setup_modes", "Set-up modes")):
        value = capabilities.get(key)
        if isinstance(value, list):
            rows.append((label, ", ".join(map(str, value)) or "none"))
    flags = {k: v for k, v in capabilities.items() if isinstance(v, bool)}
    if flags:
        rows.append(("Also claims", ", ".join(k for k, v in flags.items() if v) or "nothing"))
        missing = [k for k, v in flags.items() if not v]
        if missing:
            rows.append(("Does not claim", ", ".join(missing)))
    return rows
