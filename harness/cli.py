"""The `calharness` command line: serve the mocks, run the compliance features, check inputs."""

from __future__ import annotations

import json
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.exceptions import TyperException

from harness import bundled
from harness.catalogue import CatalogueError, load_catalogue

DEFAULT_FEATURES = bundled.features_dir()

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None,
                  help="Simulation and compliance test harness for calendar & contacts "
                       "integrations.")
out = Console(highlight=False)


class CliError(Exception):
    """Bad input: reported as one line on stderr, exit status 2."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0: all).")
                    ] = "127.0.0.1",
    advertise_host: Annotated[str | None, typer.Option(
        metavar="NAME", help="Host name or address the hub's URLs carry (the description, the "
                             "TLS certificate): what other machines reach it by. Default: the "
                             "--host, or for 0.0.0.0 / :: the machine's host name (if it "
                             "resolves to a non-loopback address) or primary address.")] = None,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the mock world.")] = 42,
    no_tls: Annotated[bool, typer.Option("--no-tls", help="Serve plain HTTP.")] = False,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print one JSON object describing the hub, then keep serving.")] = False,
    state_dir: Annotated[Path | None, typer.Option(help="Where the local CA lives "
                                                        "(default: $CALHARNESS_STATE_DIR or "
                                                        "~/.local/state/calharness).")] = None,
    server_name: Annotated[str | None, typer.Option(
        "--server", help="HTTP server of the hub: granian (default) or uvicorn.")] = None,
    shards: Annotated[int, typer.Option(
        min=1, max=64, help="Hub processes (shards) from the one seed; a load population is "
                            "partitioned across them (docs/load.md). With a --port, shard i "
                            "listens on port+i.")] = 1,
) -> None:
    """Serve every mock provider and the control API until SIGINT/SIGTERM."""
    from mock_providers.describe import describe
    from mock_providers.server import HubServer, HubServerError

    if shards > 1:
        from harness.load.serve import run_shards

        _hub_server(server_name)
        try:
            run_shards(shards, seed=seed, host=host, port=port, tls=not no_tls,
                       state_dir=state_dir, server=server_name, advertise_host=advertise_host,
                       show=lambda d: print(json.dumps(d), flush=True) if json_output
                       else _print_hub(d))
        except (HubServerError, RuntimeError) as exc:  # a shard that could not start
            raise CliError(str(exc)) from None
        return

    try:
        server = HubServer(seed=seed, host=host, port=port, tls=not no_tls,
                           state_dir=state_dir, advertise_host=advertise_host,
                           **_hub_server(server_name))
        server.start()
    except HubServerError as exc:
        raise CliError(str(exc)) from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        description = {**describe(server.hub, secrets=True),  # the user's own terminal
                       "server": server.server}
        if json_output:
            print(json.dumps(description), flush=True)
        else:
            _print_hub(description)
        stop.wait()
    finally:
        server.stop()


def _print_hub(d: dict[str, Any]) -> None:
    out.print(f"[bold]calharness mock hub[/] seed {d['seed']} at {d['base_url']} "
              f"({d['server']})")
    for shard in (d.get("shards") or [])[1:]:
        out.print(f"  shard {shard['shard']}          {shard['base_url']} (control "
                  f"{shard['control']})")
    out.print(f"  control API      {d['control']}")
    out.print(f"  CA bundle        {d['ca_bundle'] or '(plain HTTP)'}")
    if d.get("ca_bundle_with_system"):
        out.print(f"  + system CAs     {d['ca_bundle_with_system']}")
    out.print(f"  Microsoft login  {d['microsoft']['authority_host']}/<tenant id>")
    out.print(f"  Microsoft Graph  {d['microsoft']['graph']}")
    out.print(f"  EWS              {d['microsoft']['ews']}")
    for tenant in d["microsoft"]["tenants"]:
        users = ", ".join(u["upn"] for u in tenant["users"])
        out.print(f"  tenant {tenant['key']} ({tenant['id']}): {users}")
    out.print("Press Ctrl+C to stop; `calharness serve --json` prints credentials and URLs.")


def _hub_server(name: str | None) -> dict[str, Any]:
    """HubServer's `server` argument from --server (none: the hub's default)."""
    from mock_providers.server import SERVERS

    if name is None:
        return {}
    if name not in SERVERS:
        raise CliError(f"unknown --server {name!r}; available: {', '.join(SERVERS)}")
    return {"server": name}


def _features_path(features: Path | None) -> Path:
    path = features or DEFAULT_FEATURES
    if not path.exists():
        raise CliError(f"features path {path} does not exist")
    return path


def _validated_features(path: Path) -> list[Path]:
    from harness.bdd.collect import FeatureError, feature_files, validate_features

    try:
        catalogue = load_catalogue()
    except CatalogueError as exc:
        raise CliError(str(exc)) from None
    files = feature_files(path)
    if not files:
        raise CliError(f"no .feature files under {path}")
    try:
        validate_features(files, catalogue)
    except FeatureError as exc:
        raise CliError(str(exc)) from None
    return files


@app.command()
def validate(
    features: Annotated[Path | None, typer.Option(help="Feature file or folder "
                                                       "(default: the bundled features/).")] = None,
) -> None:
    """Check the requirement catalogue and the feature files without running anything."""
    files = _validated_features(_features_path(features))
    catalogue = load_catalogue()
    out.print(f"{len(files)} feature file(s) valid; catalogue has "
              f"{len(catalogue.requirements)} requirements")


@app.command()
def ca(
    bundle: Annotated[bool, typer.Option(
        "--bundle", help="Print the combined bundle instead: the usual public CAs (certifi's and "
                         "the operating system's) plus the harness CA, for REQUESTS_CA_BUNDLE, "
                         "SSL_CERT_FILE or CURL_CA_BUNDLE.")] = False,
    state_dir: Annotated[Path | None, typer.Option(help="Where the local CA lives "
                                                        "(default: $CALHARNESS_STATE_DIR or "
                                                        "~/.local/state/calharness).")] = None,
) -> None:
    """Print the path of the mock hub's CA certificate, creating it if needed.

    With --bundle, e.g. `export REQUESTS_CA_BUNDLE=$(calharness ca --bundle)`: clients that
    read these variables then trust the hub and every public site alike.
    """
    from mock_providers.tls import CA_CERT, default_state_dir, write_bundle_with_system

    folder = state_dir or default_state_dir()
    try:
        combined = write_bundle_with_system(folder)  # creates the CA, refreshes the bundle
    except OSError as exc:
        raise CliError(f"cannot write the CA in {folder}: {exc.strerror or exc}") from None
    print(combined if bundle else folder / CA_CERT)


@app.command()
def requirements(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    area: Annotated[str | None, typer.Option(help="Only this area.")] = None,
) -> None:
    """List the requirement catalogue."""
    try:
        catalogue = load_catalogue()
    except CatalogueError as exc:
        raise CliError(str(exc)) from None
    reqs = [r for r in catalogue.requirements if area is None or r.area == area]
    if json_output:
        print(json.dumps([r.model_dump() for r in reqs], indent=2))
        return
    table = Table("id", "area", "testable", "title")
    for r in reqs:
        table.add_row(r.id, r.area, "yes" if r.testable else "no", r.title)
    out.print(table)


@app.command()
def run(
    features: Annotated[Path | None, typer.Option(help="Feature file or folder "
                                                       "(default: the bundled features/).")] = None,
    tags: Annotated[str | None, typer.Option(help="Tag expression, e.g. 'graph and not slow'.")
                    ] = None,
    req: Annotated[list[str] | None, typer.Option(help="Only scenarios for this requirement id "
                                                       "(repeatable).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the world, faker and fault plans.")] = 42,
    report_dir: Annotated[Path, typer.Option(help="Where reports/<run-id>/ goes.")
                          ] = Path("reports"),
    iut: Annotated[str | None, typer.Option(
        help="Integration under test: reference (in-process, the default).")] = None,
    target: Annotated[str | None, typer.Option(
        metavar="URL", help="Run against the implementation behind the conformance API at URL "
                            "(e.g. one started with `calharness reference serve`) instead of "
                            "the in-process reference; mutually exclusive with --iut.")] = None,
    exitfirst: Annotated[bool, typer.Option("--exitfirst", "-x", help="Stop at the first "
                                                                      "failure.")] = False,
    keep_stores: Annotated[bool, typer.Option(
        "--keep-stores", help="Keep the reference implementation's per-scenario stores (secrets "
                              "in them stay encrypted under a key that ends with the run).")
                           ] = False,
    traffic: Annotated[bool, typer.Option(
        "--traffic", help="Configure the integration with the real provider host names and "
                          "route it through the calharness proxy; its provider traffic "
                          "(redacted) and the audit's findings become each scenario's "
                          "evidence. Not implied by --target: a target reaches the proxy "
                          "only through its own HTTPS_PROXY (give --traffic-port).")] = False,
    record_cassettes: Annotated[Path | None, typer.Option(
        help="Write each scenario's provider traffic as a vcrpy cassette in DIR (redacted; "
             "implies --traffic).")] = None,
    traffic_port: Annotated[int, typer.Option(
        min=0, max=65535, help="Port of the --traffic proxy on 127.0.0.1 (default: a free one): "
                               "give a --target implementation HTTPS_PROXY=http://127.0.0.1:PORT "
                               "and the harness CA.")] = 0,
    schema_check: Annotated[bool, typer.Option(
        "--schema-check", help="Check every Graph and Google JSON response of the run against "
                               "the published schemas (Graph v1.0 CSDL, Google discovery); "
                               "implies --traffic; violations in schema-check.json.")] = False,
    server_name: Annotated[str | None, typer.Option(
        "--server", help="HTTP server of the mock hub: granian (default) or uvicorn.")] = None,
) -> None:
    """Start the mocks and the integration under test, run the features, write the reports."""
    from harness.pytest_plugin import DRIVERS, new_run_id
    from harness.runner import run_features

    if target is not None and iut is not None:
        raise CliError("--target and --iut are mutually exclusive")
    iut = iut or "reference"
    if iut not in DRIVERS or iut == "http":
        choices = ", ".join(sorted(d for d in DRIVERS if d != "http"))
        raise CliError(f"unknown --iut {iut!r}; available: {choices} (or --target URL)")
    _hub_server(server_name)
    if tags:
        _check_tag_expression(tags)
    path = _features_path(features)
    files = _validated_features(path)
    if target is not None:
        if (traffic or record_cassettes or schema_check) and not traffic_port:
            raise CliError(TARGET_TRAFFIC_NEEDS_PORT)
        target = _handshake(target)
        iut = "http"
    run_id = new_run_id(seed, iut)
    code = run_features(path, files, run_id=run_id, seed=seed, report_dir=report_dir, iut=iut,
                        tags=tags, requirement_ids=req or [], exitfirst=exitfirst, console=out,
                        keep_stores=keep_stores, target=target, traffic=traffic,
                        record_cassettes=record_cassettes, traffic_port=traffic_port,
                        schema_check=schema_check, hub_server=server_name)
    raise typer.Exit(code)


TARGET_TRAFFIC_NEEDS_PORT = (
    "--target with --traffic/--record-cassettes/--schema-check needs --traffic-port PORT, the "
    "port the implementation's HTTPS_PROXY=http://127.0.0.1:PORT names")


@app.command()
def prove(
    mutant: Annotated[list[str] | None, typer.Option(
        metavar="NAME", help="Only this mutant (repeatable; default: the whole catalogue).")
                      ] = None,
    req: Annotated[list[str] | None, typer.Option(
        metavar="ID", help="Only the mutants that name this requirement (repeatable).")] = None,
    targets: Annotated[Path | None, typer.Option(
        help="A vendor's broken builds instead of the catalogue: a JSON list of {name, url, "
             "breaks, description}, each served behind the conformance API.")] = None,
    features: Annotated[Path | None, typer.Option(help="Feature file or folder "
                                                       "(default: the bundled features/).")] = None,
    jobs: Annotated[int, typer.Option(min=1, max=2, help="Parallel runs (at most 2).")] = 2,
    timeout: Annotated[float, typer.Option(min=10, help="Seconds per mutant.")] = 900,
    sample: Annotated[int, typer.Option(
        min=0, help="Other requirements run with each mutant, to see misattribution.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed for the world, faker and fault plans.")] = 42,
    report_dir: Annotated[Path, typer.Option(help="Where reports/<run-id>/ goes.")
                          ] = Path("reports"),
    list_only: Annotated[bool, typer.Option("--list", help="List the mutants and stop.")
                         ] = False,
) -> None:
    """Run the features against each mutant of the reference implementation (or each broken
    build in --targets): killed or survived, attributed or not; writes prove.json + prove.html
    and <report-dir>/prove-latest.json, which the run reports read for their power column."""
    from harness.prove import covered_requirements, plan, run_prove, summary_table

    path = _features_path(features)
    files = _validated_features(path)
    entries = _targets(targets) if targets is not None else _catalogue_mutants(mutant, req)
    if list_only:
        table = Table("mutant", "breaks", "bug")
        for name, breaks, description, _m, _t in entries:
            table.add_row(name, ", ".join(breaks), description)
        out.print(table)
        return
    covered = covered_requirements(files)
    run_id = "prove-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out.print(f"calharness prove: {len(entries)} mutant(s), {jobs} at a time, "
              f"{timeout:.0f} s each at most")
    result = run_prove(plan(entries, covered, sample), features=path, report_dir=report_dir,
                       run_id=run_id, seed=seed, workers=jobs, timeout_s=timeout, console=out)
    out.print(summary_table(result))
    kill, attribution = result.kill_rate(), result.attribution_rate()
    out.print(f"kill rate {'n/a' if kill is None else f'{kill:.0%}'}, attribution "
              f"{'n/a' if attribution is None else f'{attribution:.0%}'}, "
              f"{result.duration_s:.0f} s; survivors: "
              f"{', '.join(m.name for m in result.survivors()) or 'none'}")
    if not result.baseline_passed:
        out.print("[red]the unmutated reference fails this selection: the figures prove "
                  "nothing[/]")
    out.print(f"prove report: {report_dir / run_id / 'prove.html'}")
    raise typer.Exit(0 if result.baseline_passed and not result.survivors() else 1)


def _catalogue_mutants(names: list[str] | None, reqs: list[str] | None
                       ) -> list[tuple[str, tuple[str, ...], str, str | None, str | None]]:
    from harness.reference.mutants import catalogue

    mutants = catalogue()
    unknown = [n for n in names or [] if n not in mutants]
    if unknown:
        raise CliError(f"unknown mutant(s) {', '.join(unknown)}; `calharness prove --list` "
                       "lists them")
    chosen = [mutants[n] for n in names] if names else list(mutants.values())
    if reqs:
        wanted = {r.upper() for r in reqs}
        chosen = [m for m in chosen if wanted & set(m.breaks)]
    if not chosen:
        raise CliError("no mutant selected")
    return [(m.name, m.breaks, m.description, m.name, None) for m in chosen]


def _targets(path: Path) -> list[tuple[str, tuple[str, ...], str, str | None, str | None]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = [(str(e["name"]), tuple(str(r) for r in e["breaks"]),
                    str(e.get("description", "")), None, _handshake(str(e["url"])))
                   for e in data]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CliError(f"--targets {path}: {exc}") from None
    if not entries:
        raise CliError(f"--targets {path}: no broken build listed")
    return entries


def _handshake(target: str) -> str:
    """Refuse a target that cannot be tested before anything starts: one line, exit 2."""
    from harness.driver.http import TargetError, check_target_url, probe_target

    try:
        url = check_target_url(target)
        claims = probe_target(url)
    except TargetError as exc:
        raise CliError(str(exc)) from None
    impl = claims.implementation
    out.print(f"target {url}: {impl.name} {impl.version} speaks {claims.api}; claims "
              f"{', '.join(sorted(claims.claims())) or 'nothing'}")
    return url


reference_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                            help="The reference implementation behind the conformance API.")
app.add_typer(reference_app, name="reference")


@reference_app.command("serve")
def reference_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")] = 0,
    db_url: Annotated[str | None, typer.Option(
        help="SQLAlchemy URL of the store (default: in memory, new at every account set-up); "
             "each account set-up resets it.")] = None,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print one JSON object (api, url, implementation), then keep serving."
    )] = False,
) -> None:
    """Serve the reference implementation behind the conformance API until SIGINT/SIGTERM:
    `calharness run --target URL` (or `pytest features/ --target URL`) runs the features
    against it. The mock hub is not started here; each account set-up names the hub to use."""
    from harness.conformance.reference import reference_app as make_app
    from harness.conformance.server import ConformanceServer, ServerError
    from harness.driver.reference import ReferenceDriver

    if db_url is not None:
        _check_db_url(db_url)
    server = ConformanceServer(make_app(db_url), host=host, port=port)
    try:
        server.start()
    except ServerError as exc:
        raise CliError(str(exc)) from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        claims = ReferenceDriver.CAPABILITIES
        if json_output:
            print(json.dumps({"api": claims.api, "url": server.url,
                              "implementation": claims.implementation.model_dump()}), flush=True)
        else:
            out.print(f"[bold]calharness reference implementation[/] ({claims.api}) at "
                      f"{server.url}")
            out.print(f"  run the features against it: calharness run --target {server.url}")
            out.print("Press Ctrl+C to stop.")
        stop.wait()
    finally:
        server.stop()


def _check_db_url(url: str) -> None:
    """Open the store once before serving: a URL that cannot work is refused at start, not
    at the first account set-up."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError, ValueError) as exc:
        raise CliError(f"--db-url {url!r}: {exc}") from None
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise CliError(f"--db-url {url!r}: cannot open the store: {first}") from None
    finally:
        engine.dispose()


@app.command()
def proxy(
    port: Annotated[int, typer.Option(min=0, max=65535, help="Proxy port on 127.0.0.1; 0 picks "
                                                             "a free one.")] = 8080,
    record: Annotated[Path | None, typer.Option(
        help="Write the provider traffic (redacted) to DIR/traffic.yaml, a vcrpy cassette, "
             "when the proxy stops.")] = None,
    upstream: Annotated[str, typer.Option(
        help="mock: route provider hosts to a mock hub started here; real: pass them through "
             "to the real services (to record a cassette against your own tenant).")] = "mock",
    seed: Annotated[int, typer.Option(help="Seed of the mock world.")] = 42,
    state_dir: Annotated[Path | None, typer.Option(help="Where the local CA lives "
                                                        "(default: $CALHARNESS_STATE_DIR or "
                                                        "~/.local/state/calharness).")] = None,
) -> None:
    """An HTTPS proxy for an implementation configured with the real provider host names:
    login.microsoftonline.com, graph.microsoft.com, outlook.office365.com and Google's hosts go
    to the mocks, every other host is refused. Trust the harness CA (`calharness ca`), set
    HTTPS_PROXY, nothing else."""
    if upstream not in ("mock", "real"):
        raise CliError(f"--upstream must be mock or real, not {upstream!r}")
    from harness.traffic.proxy import ProxyError, TrafficProxy
    from harness.traffic.routes import ROUTED_HOSTS
    from mock_providers.server import HubServer, HubServerError
    from mock_providers.tls import CA_CERT, default_state_dir

    folder = state_dir or default_state_dir()
    hub = HubServer(seed=seed, tls=True, state_dir=folder) if upstream == "mock" else None
    try:
        if hub is not None:
            hub.start()
        running = TrafficProxy(hub.base_url if hub else None, hub.ca_bundle if hub else None,
                               folder, port=port, upstream=upstream,
                               record_dir=record).start()
    except (HubServerError, ProxyError) as exc:
        if hub is not None:
            hub.stop()
        raise CliError(str(exc)) from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        out.print(f"[bold]calharness proxy[/] at {running.url} ({upstream} upstream)")
        out.print(f"  trust            {folder / CA_CERT}")
        out.print(f"  set              HTTPS_PROXY={running.url}")
        out.print(f"  routed hosts     {', '.join(sorted(ROUTED_HOSTS))}")
        if hub is not None:
            out.print(f"  mock hub         {hub.base_url} (seed {seed})")
        if record:
            out.print(f"  recording to     {record / 'traffic.yaml'}")
        stop.wait()
    finally:
        running.stop()
        if hub is not None:
            hub.stop()


@app.command()
def drift(
    source: Annotated[Path, typer.Argument(help="A vcrpy cassette (YAML) recorded against any "
                                                "service.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")
                           ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the mock world replayed against.")] = 42,
    tenant: Annotated[str, typer.Option(help="Mock tenant the recording's tenant maps onto "
                                             "(contoso: Exchange Online; fabrikam: hybrid).")
                      ] = "contoso",
    state_dir: Annotated[Path | None, typer.Option(help="Where the local CA lives.")] = None,
) -> None:
    """Replay a cassette's requests against the mocks and report, per request, the differences
    that matter: status, error codes, JSON property names and types (EWS element structure),
    paging/delta links, Retry-After. A recording of a real tenant is mapped onto the mock world
    (users, ids, tokens) and the mappings are listed. Exit 1 when there are differences."""
    from harness.traffic.cassettes import CassetteError, read_cassette
    from harness.traffic.drift import drift as check
    from harness.traffic.replay import MockReplayer
    from mock_providers.server import HubServer, HubServerError

    try:
        exchanges = read_cassette(source)
    except CassetteError as exc:
        raise CliError(str(exc)) from None
    try:
        with HubServer(seed=seed, tls=True, state_dir=state_dir) as hub:
            if hub.hub.world.tenant(tenant) is None:
                raise CliError(f"no mock tenant {tenant!r}; use contoso or fabrikam")
            replayer = MockReplayer(hub, tenant_key=tenant)
            try:
                report = check(str(source), exchanges, replayer)
            finally:
                replayer.close()
    except HubServerError as exc:
        raise CliError(str(exc)) from None
    if json_output:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        out.print(f"{source}: {report.interactions} interaction(s), {report.replayed} replayed, "
                  f"{len(report.differences)} difference(s)")
        for difference in report.differences:
            print(f"  {difference.line()}")
        for index, reason in report.skipped:
            print(f"  #{index} skipped: {reason}")
        if report.mapped:
            print("  mapped onto the mock world:")
        for item in report.mapped:
            print(f"    {item['kind']} {item['recorded']} -> {item['mock']} ({item['how']})")
    raise typer.Exit(1 if report.differences else 0)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def load(
    ctx: typer.Context,
    users: Annotated[int, typer.Option(help="Simulated integrations (Locust users).")] = 50,
    run_time: Annotated[float, typer.Option(help="Seconds, settling included; the run stops "
                                                 "by itself.")] = 60,
    workers: Annotated[int, typer.Option(help="Locust workers beside the master (0: one "
                                              "local process).")] = 2,
    shards: Annotated[int, typer.Option(min=1, max=64, help="Hub processes the population "
                                                            "is partitioned over.")] = 1,
    events: Annotated[int, typer.Option(min=0, help="Events per mailbox.")] = 100,
    mailboxes: Annotated[int, typer.Option(min=0, help="Mailboxes to seed (default: users "
                                                       "plus a margin).")] = 0,
    mix: Annotated[str, typer.Option(help="Kinds by weight.")] = "graph=6,ews=2,google=2",
    steps: Annotated[str, typer.Option(help="Paced steps by weight.")
                     ] = "sync.incremental=4,push.create=3,push.update=2,push.delete=1",
    pace: Annotated[float, typer.Option(help="Seconds between two steps of one "
                                             "integration.")] = 5.0,
    spawn_rate: Annotated[float, typer.Option(help="Users started per second.")] = 10.0,
    settle: Annotated[float | None, typer.Option(help="Seconds at the end for settling and "
                                                      "the convergence check.")] = None,
    plan: Annotated[Path | None, typer.Option(help="Fault plan, YAML or JSON (docs/load.md)."
                                              )] = None,
    hubs: Annotated[Path | None, typer.Option(help="Use running hub shards (`serve [--shards "
                                                   "N] --json` output) instead.")] = None,
    target: Annotated[str | None, typer.Option(
        metavar="URL", help="Load a vendor's implementation behind the conformance API.")
                      ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the world.")] = 42,
    locustfile: Annotated[Path | None, typer.Option(
        help="The locustfile (default: the checkout's scenarios/load_sync.py).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Report folder (default "
                                                           "reports/load-<time>).")] = None,
) -> None:
    """Load the sync core with Locust: start and seed the hub, run a master and workers
    headless for --run-time, write report.html (charts), summary.json and Locust's CSVs.
    Options after `--` go to Locust. Exit 1 when the integrations did not converge."""
    from harness.load.cli import load_command
    from harness.load.run import LoadError

    try:
        code = load_command(locals(), lambda line: print(line, flush=True))
    except LoadError as exc:
        raise CliError(str(exc)) from None
    raise typer.Exit(code)


def _fail(message: str) -> None:
    """One line on stderr, whatever the message's own line breaks (plain print: no wrapping,
    no markup interpretation of user input)."""
    print(f"calharness: error: {' '.join(message.split())}", file=sys.stderr)


def _check_tag_expression(expression: str) -> None:
    """Refuse a malformed --tags before anything starts (pytest's own -m grammar)."""
    try:
        from _pytest.mark.expression import Expression
    except ImportError:  # pytest moved it: pytest reports the error itself (exit 2 too)
        return
    try:
        Expression.compile(expression)
    except Exception as exc:  # SyntaxError in pytest 9, ParseError before
        raise CliError(f"--tags {expression!r}: {exc}") from None


def main(argv: list[str] | None = None) -> None:
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="calharness", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        _fail("aborted")
        code = 130
    except CliError as exc:
        _fail(str(exc))
        code = 2
    except TyperException as exc:  # typer's vendored click: usage errors and the like
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `calharness`: help, not an error
            print(message, file=sys.stderr)
        else:
            _fail(message)
        code = getattr(exc, "exit_code", 2)
    sys.exit(code if isinstance(code, int) else 0)
