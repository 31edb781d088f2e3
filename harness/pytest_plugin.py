"""calharness as a pytest plugin (entry point `pytest11`), so plain `pytest features/` runs the
compliance features with the harness's options, fixtures, traceability checks and reports."""

from __future__ import annotations

import os
import platform
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harness import __version__
from harness.bdd.collect import CATALOGUE_KEY, FeatureFile
from harness.bdd.context import ScenarioContext
from harness.bdd.recorder import ScenarioRecord
from harness.catalogue import REQ_TAG_PREFIX, CatalogueError, load_catalogue
from harness.control_client import ControlClient
from harness.driver.base import IntegrationDriver
from harness.reports import RequirementRecord, RunResult, ScenarioResult, write_reports

pytest_plugins = [
    "harness.steps.account_steps",
    "harness.steps.connect_steps",
    "harness.steps.meeting_steps",
    "harness.steps.provider_steps",
    "harness.steps.google_steps",
    "harness.steps.exchange_steps",
    "harness.steps.policy_steps",
    "harness.steps.privacy_steps",
]

DEFAULT_SEED = 42
RECORD_KEY = pytest.StashKey[ScenarioRecord]()
CONTEXT_KEY = pytest.StashKey[ScenarioContext]()
RUN_KEY = pytest.StashKey["RunState"]()


def _reference_driver(world: dict[str, Any], db_url: str) -> IntegrationDriver:
    from harness.driver.reference import ReferenceDriver
    from harness.reference import ReferenceConfig

    return ReferenceDriver(ReferenceConfig.from_hub(world, db_url=db_url))


# Integrations under test the suite can drive. An HTTP driver (conformance API) joins this table
# when that API exists; until then no option pretends to offer it.
DRIVERS: dict[str, Callable[[dict[str, Any], str], IntegrationDriver]] = {
    "reference": _reference_driver,
}


@dataclass
class RunState:
    run_id: str
    seed: int
    iut: str
    report_dir: Path
    started_at: datetime
    results: list[ScenarioResult] = field(default_factory=list)
    feature_items: int = 0
    report_path: Path | None = None


def new_run_id(seed: int, iut: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{iut}-seed{seed}-{secrets.token_hex(2)}"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("calharness", "calharness compliance harness")
    group.addoption("--iut", choices=sorted(DRIVERS), default="reference",
                    help="integration under test (default: reference, in-process)")
    group.addoption("--seed", type=int,
                    default=int(os.environ.get("CALHARNESS_SEED", DEFAULT_SEED)),
                    help="seed for the mock world, faker and fault plans (default 42)")
    group.addoption("--report-dir", default="reports",
                    help="folder that receives <run-id>/ with report.html, junit.xml, "
                         "results.json (default: reports)")
    group.addoption("--run-id", default=None, help="name of the report folder (default: new)")
    group.addoption("--req", action="append", default=[], metavar="ID",
                    help="run only scenarios tagged with this requirement id (repeatable)")
    group.addoption("--hub-server", default=None, metavar="NAME",
                    help="HTTP server of the mock hub: granian (default) or uvicorn")
    group.addoption("--db-url", default=None,
                    help="SQLAlchemy URL for the reference implementation's store "
                         "(default: a SQLite file per scenario)")


_CONFIG: pytest.Config | None = None  # pytest-bdd's tag hook receives no config


def pytest_configure(config: pytest.Config) -> None:
    global _CONFIG
    _CONFIG = config
    try:
        config.stash[CATALOGUE_KEY] = load_catalogue()
    except CatalogueError as exc:
        raise pytest.UsageError(str(exc)) from None
    seed, iut = config.getoption("seed"), config.getoption("iut")
    config.stash[RUN_KEY] = RunState(
        run_id=config.getoption("run_id") or new_run_id(seed, iut), seed=seed, iut=iut,
        report_dir=Path(config.getoption("report_dir")), started_at=datetime.now(UTC))
    config.addinivalue_line("markers", "requirement(id): the scenario checks this requirement")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".feature":
        return FeatureFile.from_parent(parent, path=file_path)
    return None


def pytest_bdd_apply_tag(tag: str, function: Callable[..., Any]) -> Callable[..., Any] | None:
    if tag.startswith(REQ_TAG_PREFIX):
        return pytest.mark.requirement(tag[len(REQ_TAG_PREFIX):])(function)
    if _CONFIG is not None:  # feature tags are markers users select with -m / --tags
        _CONFIG.addinivalue_line("markers", f"{tag}: feature tag")
    return None  # pytest-bdd's default: a marker of the same name


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = {r.upper() for r in config.getoption("req")}
    if wanted:
        selected, deselected = [], []
        for item in items:
            ids = {m.args[0] for m in item.iter_markers("requirement") if m.args}
            (selected if ids & wanted else deselected).append(item)
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = selected
    config.stash[RUN_KEY].feature_items = sum(
        1 for item in items if isinstance(item.parent, FeatureFile))


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def calharness_hub(pytestconfig: pytest.Config) -> Iterator[Any]:
    """The mock hub (TLS, local CA), one per test session."""
    from mock_providers.server import HubServer

    name = pytestconfig.getoption("hub_server")
    with HubServer(seed=pytestconfig.getoption("seed"), tls=True,
                   **({"server": name} if name else {})) as server:
        yield server


@pytest.fixture
def calharness_control(calharness_hub: Any, pytestconfig: pytest.Config) -> Iterator[ControlClient]:
    """Control API client; the world is reset to the run's seed for every scenario."""
    control = ControlClient(calharness_hub.hub.control_url, calharness_hub.ca_bundle)
    control.reset(pytestconfig.getoption("seed"))
    yield control
    control.close()


@pytest.fixture
def calharness_driver(calharness_control: ControlClient, pytestconfig: pytest.Config,
                      tmp_path: Path) -> Iterator[IntegrationDriver]:
    db_url = pytestconfig.getoption("db_url") or f"sqlite:///{tmp_path / 'reference.db'}"
    driver = DRIVERS[pytestconfig.getoption("iut")](calharness_control.describe(), db_url)
    yield driver
    driver.close()


@pytest.fixture
def calharness_ctx(request: pytest.FixtureRequest, calharness_control: ControlClient,
                   calharness_driver: IntegrationDriver, calharness_hub: Any,
                   pytestconfig: pytest.Config) -> ScenarioContext:
    ctx = ScenarioContext(control=calharness_control, world=calharness_control.describe(),
                          driver=calharness_driver, ca_bundle=calharness_hub.ca_bundle,
                          seed=pytestconfig.getoption("seed"),
                          audit_start=calharness_control.audit_position())
    request.node.stash[CONTEXT_KEY] = ctx
    return ctx


# -- recording ---------------------------------------------------------------------------------
def _record(request: pytest.FixtureRequest) -> ScenarioRecord | None:
    return request.node.stash.get(RECORD_KEY, None)


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any,
                               scenario: Any) -> None:
    request.node.stash[RECORD_KEY] = ScenarioRecord.begin(feature, scenario)


def pytest_bdd_before_step(request: pytest.FixtureRequest, feature: Any, scenario: Any,
                           step: Any, step_func: Any) -> None:
    if (record := _record(request)) is not None:
        record.step_started_now()


def pytest_bdd_after_step(request: pytest.FixtureRequest, feature: Any, scenario: Any,
                          step: Any, step_func: Any, step_func_args: Any) -> None:
    if (record := _record(request)) is not None:
        record.step_done("passed")


def pytest_bdd_step_error(request: pytest.FixtureRequest, feature: Any, scenario: Any,
                          step: Any, step_func: Any, step_func_args: Any,
                          exception: BaseException) -> None:
    if (record := _record(request)) is not None:
        record.step_failed(exception)


def pytest_bdd_step_func_lookup_error(request: pytest.FixtureRequest, feature: Any,
                                      scenario: Any, step: Any,
                                      exception: BaseException) -> None:
    if (record := _record(request)) is not None:
        record.step_started_now()
        record.step_done("failed", f"undefined step: {step.keyword} {step.name}")


def pytest_bdd_after_scenario(request: pytest.FixtureRequest, feature: Any,
                              scenario: Any) -> None:
    record, ctx = _record(request), request.node.stash.get(CONTEXT_KEY, None)
    if record is None or ctx is None:
        return
    try:
        record.attach_audit(ctx.control.audit(since=ctx.audit_start))
    except Exception as exc:  # evidence is best effort; the verdict does not depend on it
        record.result.error = record.result.error or f"evidence unavailable: {exc}"


def _short_error(report: pytest.TestReport) -> str | None:
    if report.passed:
        return None
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    text = getattr(report, "longreprtext", "") or ""
    lines = [ln for ln in text.strip().splitlines() if ln.startswith("E ")]
    return (lines[0][1:].strip() if lines else text.strip().splitlines()[-1:] or [""])[0] or None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if not isinstance(item.parent, FeatureFile):
        return
    state = item.config.stash[RUN_KEY]
    record = item.stash.get(RECORD_KEY, None)
    if record is not None:
        report.user_properties.append(("scenario", record.result.name))
    if report.when == "call" and record is not None:
        status = "passed" if report.passed else "skipped" if report.skipped else "failed"
        state.results.append(record.finish(status, _short_error(report)))
    elif report.when == "setup" and not report.passed:
        state.results.append(_unstarted_result(item, report))
    elif report.when == "teardown" and report.failed and record is not None:
        record.result.status = "error"
        record.result.error = _short_error(report)


def _unstarted_result(item: pytest.Item, report: pytest.TestReport) -> ScenarioResult:
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))
    if template is not None:
        feature = template.feature
        record = ScenarioRecord.begin(feature, template)
        return record.finish("skipped" if report.skipped else "error", _short_error(report))
    return ScenarioResult(feature_name=item.path.stem, feature_file=str(item.path),
                          name=item.name, line=0, tags=[], requirement_ids=[],
                          status="skipped" if report.skipped else "error", duration_s=0.0,
                          steps=[], error=_short_error(report))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(RUN_KEY, None)
    if state is None or (not state.results and not state.feature_items):
        return
    catalogue = session.config.stash[CATALOGUE_KEY]
    run = RunResult(
        run_id=state.run_id, seed=state.seed, iut=state.iut, started_at=state.started_at,
        finished_at=datetime.now(UTC), scenarios=state.results,
        requirements=[RequirementRecord(id=r.id, area=r.area, title=r.title, source=r.source,
                                        sentence=r.sentence, testable=r.testable,
                                        why_not=r.why_not, notes=r.notes)
                      for r in catalogue.requirements],
        environment={"python": platform.python_version(), "calharness": __version__},
    )
    state.report_path = write_reports(run, state.report_dir / state.run_id).html


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(RUN_KEY, None)
    if state is not None and state.report_path is not None:
        terminalreporter.write_line(f"calharness report: {state.report_path}")
