"""JUnit XML for CI systems: one <testsuite> per feature file, one <testcase> per scenario."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import PurePath

from harness.reports.model import RunResult, ScenarioResult, StepResult

# Anything outside the XML 1.0 Char production; ElementTree would write it and every parser
# would then reject the whole file. Lone surrogates are included: they can't even be encoded.
_ILLEGAL_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

MESSAGE_LIMIT = 500


def render_junit(run: RunResult) -> bytes:
    """The run as a UTF-8 JUnit XML document, declaration included."""
    root = _element(
        None,
        "testsuites",
        name="calharness",
        time=_seconds(run.duration_s),
        **_tally(run.scenarios),
    )
    for feature_file, scenarios in _by_feature_file(run.scenarios).items():
        _add_suite(root, run, feature_file, scenarios)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids."""
    return _ILLEGAL_XML.sub("", text)


def _add_suite(
    root: ET.Element, run: RunResult, feature_file: str, scenarios: list[ScenarioResult]
) -> None:
    suite = _element(
        root,
        "testsuite",
        name=feature_file,
        timestamp=run.started_at.isoformat(timespec="seconds"),
        time=_seconds(sum(s.duration_s for s in scenarios)),
        **_tally(scenarios),
    )
    props = [("run_id", run.run_id), ("seed", str(run.seed)), ("iut", run.iut)]
    if run.target:
        props.append(("target", run.target))
    _add_properties(suite, props)
    for scenario in scenarios:
        _add_case(suite, run, scenario)


def _add_case(suite: ET.Element, run: RunResult, scenario: ScenarioResult) -> None:
    case = _element(
        suite,
        "testcase",
        classname=f"{PurePath(scenario.feature_file).stem}.{scenario.feature_name}",
        name=scenario.name,
        time=_seconds(scenario.duration_s),
        file=scenario.feature_file,
        line=str(scenario.line),
    )
    properties = [("requirement", rid) for rid in dict.fromkeys(scenario.requirement_ids)]
    if scenario.status in ("failed", "error"):
        # which requirement the failing assertion belongs to, and which it kept from running
        properties += [(f"requirement.{outcome}", rid)
                       for rid, outcome in scenario.requirement_outcomes().items()]
    _add_properties(case, [*properties, ("seed", str(run.seed))])
    _add_outcome(case, scenario)
    if scenario.steps:
        _element(case, "system-out").text = xml_safe(_step_log(scenario.steps))


def _add_outcome(case: ET.Element, scenario: ScenarioResult) -> None:
    if scenario.status == "passed":
        return
    if scenario.status in ("skipped", "not_claimed"):
        # JUnit has no "not claimed": a skip whose message says so (never a pass, never a
        # failure), which is how CI dashboards show it.
        skipped = _element(case, "skipped")
        message = scenario.error
        if scenario.status == "not_claimed" and not (message or "").startswith("not claimed"):
            message = f"not claimed: {message}" if message else "not claimed"
        if message:
            skipped.set("message", xml_safe(_one_line(message)))
        return
    step = scenario.failing_step()
    detail = _failure_detail(scenario, step)
    message = _failure_message(scenario, step)
    if scenario.status == "failed":
        _element(case, "failure", message=message, type="AssertionError").text = xml_safe(detail)
    else:
        _element(case, "error", message=message, type="Error").text = xml_safe(detail)


def _failure_message(scenario: ScenarioResult, step: StepResult | None) -> str:
    error = (step.error if step else None) or scenario.error or scenario.status
    prefix = f"{step.keyword} {step.text}: " if step else ""
    return _one_line(prefix + error)


def _failure_detail(scenario: ScenarioResult, step: StepResult | None) -> str:
    parts = []
    if step is not None:
        parts.append(f"Step: {step.keyword} {step.text}")
        if step.error:
            parts.append(step.error)
    if scenario.error and (step is None or scenario.error != step.error):
        parts.append(scenario.error)
    return "\n\n".join(parts)


def _step_log(steps: list[StepResult]) -> str:
    return "\n".join(
        f"{step.status.upper():8} {step.keyword} {step.text} ({step.duration_s:.3f} s)"
        for step in steps
    )


def _add_properties(parent: ET.Element, pairs: list[tuple[str, str]]) -> None:
    properties = _element(parent, "properties")
    for name, value in pairs:
        _element(properties, "property", name=name, value=value)


def _element(parent: ET.Element | None, tag: str, **attributes: str) -> ET.Element:
    clean = {key: xml_safe(value) for key, value in attributes.items()}
    if parent is None:
        return ET.Element(tag, clean)
    return ET.SubElement(parent, tag, clean)


def _tally(scenarios: list[ScenarioResult]) -> dict[str, str]:
    statuses = [s.status for s in scenarios]
    return {
        "tests": str(len(statuses)),
        "failures": str(statuses.count("failed")),
        "errors": str(statuses.count("error")),
        "skipped": str(statuses.count("skipped") + statuses.count("not_claimed")),
    }


def _by_feature_file(scenarios: list[ScenarioResult]) -> dict[str, list[ScenarioResult]]:
    groups: dict[str, list[ScenarioResult]] = {}
    for scenario in scenarios:
        groups.setdefault(scenario.feature_file, []).append(scenario)
    return groups


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MESSAGE_LIMIT else line[: MESSAGE_LIMIT - 1] + "…"
