"""calharness as a pytest plugin (entry point `pytest11`), so plain `pytest features/` runs the
compliance features with the harness's options, fixtures, traceability checks and reports."""

from __future__ import annotations

import itertools
import json
import os
import platform
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harness import __version__
from harness.api.capabilities import (
    API_VERSION,
    NEEDS_TAG_PREFIX,
    SERVICE_PHRASES,
    Capabilities,
)
from harness.bdd.collect import CATALOGUE_KEY, FeatureFile
from harness.bdd.context import ScenarioContext
from harness.bdd.recorder import ScenarioRecord
from harness.catalogue import REQ_TAG_PREFIX, CatalogueError, load_catalogue
from harness.control_client import ControlClient
from harness.driver.base import IntegrationDriver
from harness.reports import RequirementRecord, RunResult, ScenarioResult, Status, write_reports

pytest_plugins = [
    "harness.steps.account_steps",
    "harness.steps.connect_steps",
    "harness.steps.meeting_steps",
    "harness.steps.provider_steps",
    "harness.steps.google_steps",
    "harness.steps.exchange_steps",
    "harness.steps.policy_steps",
    "harness.steps.privacy_steps",
    "harness.steps.sync_steps",
    "harness.steps.edge_steps",
    "harness.steps.entra_consent_steps",
    "harness.steps.group_effect_steps",
    "harness.steps.read_only_steps",
    "harness.steps.seed_edge_steps",
    "harness.steps.breaking_case_steps",
    "harness.steps.calendar_steps",
]

DEFAULT_SEED = 42
RECORD_KEY = pytest.StashKey[ScenarioRecord]()
CONTEXT_KEY = pytest.StashKey[ScenarioContext]()
RUN_KEY = pytest.StashKey["RunState"]()
STORES_KEY = pytest.StashKey[Path]()
NOT_CLAIMED_KEY = pytest.StashKey[list[str]]()
TRAFFIC_KEY = pytest.StashKey[Any]()


def _reference_driver(world: dict[str, Any], db_url: str) -> IntegrationDriver:
    from harness.driver.reference import ReferenceDriver
    from harness.reference import ReferenceConfig

    return ReferenceDriver(ReferenceConfig.from_hub(world, db_url=db_url))


def _http_driver(world: dict[str, Any], db_url: str) -> IntegrationDriver:
    """The implementation at --target, over the conformance API; it gets the hub description
    at every account set-up (`db_url` is the in-process reference's and not used)."""
    from harness.driver.http import HttpDriver

    assert _CONFIG is not None
    return HttpDriver(_CONFIG.getoption("target"), world)


def _reference_claims(config: pytest.Config) -> Capabilities:
    from harness.driver.reference import ReferenceDriver

    return ReferenceDriver.CAPABILITIES


def _target_claims(config: pytest.Config) -> Capabilities:
    from harness.driver.http import probe_target

    return probe_target(config.getoption("target"))


# Integrations under test the suite can drive: the in-process reference implementation, and
# any implementation behind the conformance API (`--target URL`, which selects "http").
DRIVERS: dict[str, Callable[[dict[str, Any], str], IntegrationDriver]] = {
    "reference": _reference_driver,
    "http": _http_driver,
}
# What each claims (`@needs:` tags are checked against it before a scenario starts).
CLAIMS: dict[str, Callable[[pytest.Config], Capabilities]] = {
    "reference": _reference_claims,
    "http": _target_claims,
}


@dataclass
class RunState:
    run_id: str
    seed: int
    iut: str
    report_dir: Path
    started_at: datetime
    target: str | None = None
    capabilities: Capabilities | None = None
    results: list[ScenarioResult] = field(default_factory=list)
    feature_items: int = 0
    report_path: Path | None = None


def new_run_id(seed: int, iut: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{iut}-seed{seed}-{secrets.token_hex(2)}"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("calharness", "calharness compliance harness")
    group.addoption("--iut", choices=sorted(DRIVERS), default=None,
                    help="integration under test: reference (in-process, the default) or http "
                         "(the implementation at --target)")
    group.addoption("--target", default=None, metavar="URL",
                    help="base URL of an implementation behind the conformance API "
                         f"({API_VERSION}); selects --iut http. Refused before any scenario "
                         "runs when unreachable or speaking another API version")
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
                         "(default: a SQLite file per scenario, removed when the run ends)")
    group.addoption("--mutant", default=None, metavar="NAME",
                    help="run against the in-process reference implementation with this mutant "
                         "of `harness/reference/mutants` applied (what `calharness prove` does)")
    group.addoption("--prove-results", default=None, metavar="PATH",
                    help="prove.json whose power per requirement the reports show (default: "
                         "<report-dir>/prove-latest.json when present)")
    group.addoption("--keep-stores", action="store_true", default=False,
                    help="keep the per-scenario SQLite stores after the run (their tokens and "
                         "passwords stay encrypted under a key that ends with the run)")
    group.addoption("--traffic", action="store_true", default=False,
                    help="configure the integration with the real provider host names and route "
                         "it through the calharness proxy; each scenario's provider traffic "
                         "(redacted) and audit findings become evidence")
    group.addoption("--record-cassettes", default=None, metavar="DIR",
                    help="write each scenario's provider traffic as a vcrpy cassette in DIR "
                         "(redacted; implies --traffic)")
    group.addoption("--schema-check", action="store_true", default=False,
                    help="check every Graph and Google JSON response of the run against the "
                         "Graph v1.0 CSDL and Google's discovery documents (implies --traffic); "
                         "violations are each scenario's evidence and the run's "
                         "<report-dir>/<run-id>/schema-check.json")
    group.addoption("--traffic-port", type=int, default=0, metavar="PORT",
                    help="port of the --traffic proxy on 127.0.0.1 (default: a free one); give "
                         "a --target implementation HTTPS_PROXY=http://127.0.0.1:PORT")


_CONFIG: pytest.Config | None = None  # pytest-bdd's tag hook receives no config


def pytest_configure(config: pytest.Config) -> None:
    global _CONFIG
    _CONFIG = config
    try:
        config.stash[CATALOGUE_KEY] = load_catalogue()
    except CatalogueError as exc:
        raise pytest.UsageError(str(exc)) from None
    seed = config.getoption("seed")
    iut, target, capabilities = _integration_under_test(config)
    config.stash[RUN_KEY] = RunState(
        run_id=config.getoption("run_id") or new_run_id(seed, iut), seed=seed, iut=iut,
        report_dir=Path(config.getoption("report_dir")), started_at=datetime.now(UTC),
        target=target, capabilities=capabilities)
    _apply_mutant(config)
    config.addinivalue_line("markers", "requirement(id): the scenario checks this requirement")
    config.addinivalue_line("markers", "needs(capability): the scenario runs only against an "
                                       "implementation that claims this capability")


MUTANT_KEY = pytest.StashKey[ExitStack]()


def _apply_mutant(config: pytest.Config) -> None:
    """--mutant NAME: the mutant stays applied for the whole session (undone at unconfigure)."""
    name = config.getoption("mutant")
    if name is None:
        return
    from harness.reference import mutants

    if config.stash[RUN_KEY].iut != "reference":
        raise pytest.UsageError("--mutant applies to the in-process reference implementation; "
                                "a --target or another --iut cannot be mutated")
    try:
        chosen = mutants.get(name)
    except KeyError as exc:
        raise pytest.UsageError(str(exc.args[0])) from None
    stack = ExitStack()
    stack.enter_context(mutants.applied(chosen))
    config.stash[MUTANT_KEY] = stack


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = config.stash.get(MUTANT_KEY, None)
    if stack is not None:
        stack.close()


def _power(config: pytest.Config, report_dir: Path) -> dict[str, Any] | None:
    from harness.reports.prove import LATEST_NAME, load_power

    path = config.getoption("prove_results")
    if path is None:
        path = report_dir / LATEST_NAME
        if not path.exists():
            return None
    return load_power(path)


def _integration_under_test(config: pytest.Config
                            ) -> tuple[str, str | None, Capabilities | None]:
    """--iut / --target -> (iut, target, capabilities). A target is probed here, before any
    scenario runs: unreachable, not the API or another API version is a usage error."""
    iut, target = config.getoption("iut"), config.getoption("target")
    if target is None:
        if iut == "http":
            raise pytest.UsageError("--iut http needs --target URL")
        return iut or "reference", None, None
    from harness.driver.http import TargetError, check_target_url, probe_target

    if iut not in (None, "http"):
        raise pytest.UsageError(f"--target and --iut {iut} are mutually exclusive")
    if (config.getoption("traffic") or config.getoption("record_cassettes")
            or config.getoption("schema_check")) and not config.getoption("traffic_port"):
        # The target runs in its own process: only its own HTTPS_PROXY routes it through the
        # proxy, so the port must be one it was told. On a free port nobody told it, it would
        # be handed real host names with no proxy in its way: the real services.
        raise pytest.UsageError(
            "--target with --traffic/--record-cassettes needs --traffic-port PORT, the port "
            "the implementation's HTTPS_PROXY=http://127.0.0.1:PORT names")
    if config.getoption("db_url"):
        raise pytest.UsageError("--db-url configures the in-process reference implementation; "
                                "a --target keeps its own store")
    try:
        target = check_target_url(target)
        return "http", target, probe_target(target)
    except TargetError as exc:
        raise pytest.UsageError(str(exc)) from None


def session_claims(config: pytest.Config) -> Capabilities:
    """What the implementation under test claims, asked once per session."""
    state = config.stash[RUN_KEY]
    if state.capabilities is None:
        state.capabilities = CLAIMS[state.iut](config)
    return state.capabilities


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".feature":
        return FeatureFile.from_parent(parent, path=file_path)
    return None


def pytest_bdd_apply_tag(tag: str, function: Callable[..., Any]) -> Callable[..., Any] | None:
    if tag.startswith(REQ_TAG_PREFIX):
        return pytest.mark.requirement(tag[len(REQ_TAG_PREFIX):])(function)
    if tag.startswith(NEEDS_TAG_PREFIX):
        return pytest.mark.needs(tag[len(NEEDS_TAG_PREFIX):])(function)
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


def example_row(item: pytest.Item) -> dict[str, str] | None:
    """The Examples row an outline's item runs (pytest-bdd's parameter), None for a scenario."""
    callspec = getattr(item, "callspec", None)
    row = callspec.params.get("_pytest_bdd_example") if callspec is not None else None
    return row if isinstance(row, dict) else None


def example_needs(item: pytest.Item) -> list[str]:
    """The services an outline's Examples row names (SERVICE_PHRASES): the Google row of an
    outline over Graph, EWS and Google needs Google."""
    row = example_row(item)
    if row is None:
        return []
    return [SERVICE_PHRASES[v.strip().lower()] for v in row.values()
            if isinstance(v, str) and v.strip().lower() in SERVICE_PHRASES]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A scenario that needs what the implementation does not claim is not claimed: it stops
    here, before the hub is reset or a driver made, and is reported as such."""
    if not isinstance(item.parent, FeatureFile):
        return
    needs = [name for mark in item.iter_markers("needs") for name in mark.args]
    needs += example_needs(item)
    if not needs:
        return
    missing = session_claims(item.config).missing(needs)
    if missing:
        item.stash[NOT_CLAIMED_KEY] = missing
        pytest.skip(f"not claimed by the implementation: {', '.join(missing)}")


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
    hub = calharness_hub.hub
    control = ControlClient(hub.control_url, calharness_hub.ca_bundle, hub.control_token)
    control.reset(pytestconfig.getoption("seed"))
    yield control
    control.close()


@pytest.fixture(scope="session")
def calharness_store_dir(tmp_path_factory: pytest.TempPathFactory,
                         pytestconfig: pytest.Config) -> Iterator[Path]:
    """Where the per-scenario stores go; removed at the end of the run unless --keep-stores."""
    path = tmp_path_factory.mktemp("calharness-stores", numbered=False)  # no "current" link
    pytestconfig.stash[STORES_KEY] = path
    yield path
    if not pytestconfig.getoption("keep_stores"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def calharness_traffic(calharness_hub: Any, pytestconfig: pytest.Config) -> Iterator[Any]:
    """The provider-traffic proxy in front of the hub, or None without --traffic."""
    cassettes = pytestconfig.getoption("record_cassettes")
    schema_check = pytestconfig.getoption("schema_check")
    if not (pytestconfig.getoption("traffic") or cassettes or schema_check):
        yield None
        return
    from harness.traffic.session import TrafficSession

    with TrafficSession(calharness_hub.base_url, calharness_hub.ca_bundle,
                        calharness_hub.state_dir, Path(cassettes) if cassettes else None,
                        port=pytestconfig.getoption("traffic_port"),
                        schema_check=schema_check) as session:
        yield session
        if session.schemas is not None:
            state = pytestconfig.stash[RUN_KEY]
            out = state.report_dir / state.run_id / "schema-check.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(session.schemas.as_dict(), indent=2))


_STORE_NUMBER = itertools.count(1)


@pytest.fixture
def calharness_driver(request: pytest.FixtureRequest, calharness_control: ControlClient,
                      pytestconfig: pytest.Config) -> Iterator[IntegrationDriver]:
    db_url, db_file = pytestconfig.getoption("db_url"), None
    if db_url is None:
        store_dir = request.getfixturevalue("calharness_store_dir")
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)[:80]
        db_file = store_dir / f"{next(_STORE_NUMBER):04d}-{name}.db"
        db_url = f"sqlite:///{db_file}"
    description = calharness_control.describe(secrets=True)
    traffic = request.getfixturevalue("calharness_traffic")
    if traffic is not None:
        from harness.traffic.session import real_host_description

        description = real_host_description(description)
        traffic.begin(request.node.name)
        request.node.stash[TRAFFIC_KEY] = traffic
    make_driver = DRIVERS[pytestconfig.stash[RUN_KEY].iut]
    driver = make_driver(description, db_url)
    yield driver
    driver.close()
    if db_file is not None and not pytestconfig.getoption("keep_stores"):
        for path in db_file.parent.glob(db_file.name + "*"):  # with -journal, -wal, -shm
            path.unlink(missing_ok=True)


@pytest.fixture
def calharness_ctx(request: pytest.FixtureRequest, calharness_control: ControlClient,
                   calharness_driver: IntegrationDriver, calharness_hub: Any,
                   pytestconfig: pytest.Config) -> ScenarioContext:
    world = calharness_control.describe(secrets=True)
    if request.node.stash.get(TRAFFIC_KEY, None) is not None:  # --traffic: real host names
        from harness.traffic.session import real_host_description

        world = real_host_description(world)
    ctx = ScenarioContext(control=calharness_control, world=world,
                          driver=calharness_driver, ca_bundle=calharness_hub.ca_bundle,
                          seed=pytestconfig.getoption("seed"),
                          audit_start=calharness_control.audit_position())
    request.node.stash[CONTEXT_KEY] = ctx
    return ctx


# -- recording ---------------------------------------------------------------------------------
def _record(request: pytest.FixtureRequest) -> ScenarioRecord | None:
    return request.node.stash.get(RECORD_KEY, None)


def _step_functions(request: pytest.FixtureRequest,
                    scenario: Any) -> list[tuple[Any, dict[str, Any] | None]]:
    """Each step's definition and parsed arguments, looked up as pytest-bdd will (so what a
    step checks is known before it runs, and for the steps a failure keeps from running)."""
    from pytest_bdd.scenario import get_step_function

    out: list[tuple[Any, dict[str, Any] | None]] = []
    for step in scenario.steps:
        try:
            context = get_step_function(request=request, step=step)
            args = dict(context.parser.parse_arguments(step.name) or {}) if context else None
        except Exception:  # an undefined or ambiguous step fails later, where pytest-bdd says so
            context, args = None, None
        out.append((getattr(context, "step_func", None), args))
    return out


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any,
                               scenario: Any) -> None:
    request.node.stash[RECORD_KEY] = ScenarioRecord.begin(
        feature, scenario, _step_functions(request, scenario))


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
        ctx = request.node.stash.get(CONTEXT_KEY, None)
        diagnosed: tuple[str, ...] = ()
        if ctx is not None:
            from harness.steps.judgement import diagnose_grant

            diagnosed = diagnose_grant(ctx, exception)
        record.step_failed(exception, step_func, diagnosed)


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
        traffic = request.node.stash.get(TRAFFIC_KEY, None)
        if traffic is not None:
            from harness.reports import Evidence

            # OAUTH-01 scenarios enforce OAuth 2.0: any other scheme seen is a finding
            enforced = "OAUTH-01" in record.result.requirement_ids
            record.result.evidence += [
                Evidence(label=e["label"], data=e["data"])
                for e in traffic.finish(request.node.name, oauth_enforced=enforced)]
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
    if NOT_CLAIMED_KEY in item.stash:
        report.user_properties.append(("not_claimed", ", ".join(item.stash[NOT_CLAIMED_KEY])))
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
    status: Status = "skipped" if report.skipped else "error"
    error = _short_error(report)
    if report.skipped and NOT_CLAIMED_KEY in item.stash:
        status = "not_claimed"
        error = f"not claimed by the implementation: {', '.join(item.stash[NOT_CLAIMED_KEY])}"
    if template is not None:
        feature = template.feature
        row = example_row(item)
        # An outline's row is reported under its own name ("… to Google"), not the template's.
        scenario = template.render(row) if row is not None else template
        record = ScenarioRecord.begin(feature, scenario)
        return record.finish(status, error)
    return ScenarioResult(feature_name=item.path.stem, feature_file=str(item.path),
                          name=item.name, line=0, tags=[], requirement_ids=[],
                          status=status, duration_s=0.0, steps=[], error=error)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(RUN_KEY, None)
    if state is None or (not state.results and not state.feature_items):
        return
    catalogue = session.config.stash[CATALOGUE_KEY]
    try:
        claims: dict[str, Any] | None = session_claims(session.config).model_dump(mode="json")
    except Exception:  # the report must be written even if the target went away meanwhile
        claims = None
    environment = {"python": platform.python_version(), "calharness": __version__}
    if session.config.getoption("mutant"):
        environment["mutant"] = session.config.getoption("mutant")
    if state.target:
        environment["api"] = API_VERSION
    run = RunResult(
        run_id=state.run_id, seed=state.seed, iut=state.iut, started_at=state.started_at,
        finished_at=datetime.now(UTC), scenarios=state.results,
        requirements=[RequirementRecord(id=r.id, area=r.area, title=r.title, source=r.source,
                                        sentence=r.sentence, testable=r.testable,
                                        why_not=r.why_not, notes=r.notes)
                      for r in catalogue.requirements],
        environment=environment, target=state.target, capabilities=claims,
        power=_power(session.config, state.report_dir),
    )
    state.report_path = write_reports(run, state.report_dir / state.run_id).html


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(RUN_KEY, None)
    if state is not None and state.report_path is not None:
        terminalreporter.write_line(f"calharness report: {state.report_path}")
    stores = config.stash.get(STORES_KEY, None)
    if stores is not None and config.getoption("keep_stores") and stores.exists():
        terminalreporter.write_line(f"calharness stores kept: {stores}")
