"""The `calharness` command line: serve the mocks, run the compliance features, check inputs."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.exceptions import TyperException

from harness.catalogue import CatalogueError, load_catalogue

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FEATURES = PROJECT_ROOT / "features"

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None,
                  help="Simulation and compliance test harness for calendar & contacts "
                       "integrations.")
out = Console(highlight=False)


class CliError(Exception):
    """Bad input: reported as one line on stderr, exit status 2."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
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
) -> None:
    """Serve every mock provider and the control API until SIGINT/SIGTERM."""
    from mock_providers.describe import describe
    from mock_providers.server import HubServer, HubServerError

    server = HubServer(seed=seed, host=host, port=port, tls=not no_tls, state_dir=state_dir,
                       **_hub_server(server_name))
    try:
        server.start()
    except HubServerError as exc:
        raise CliError(str(exc)) from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        description = {**describe(server.hub), "server": server.server}
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
    out.print(f"  control API      {d['control']}")
    out.print(f"  CA bundle        {d['ca_bundle'] or '(plain HTTP)'}")
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
    iut: Annotated[str, typer.Option(help="Integration under test.")] = "reference",
    exitfirst: Annotated[bool, typer.Option("--exitfirst", "-x", help="Stop at the first "
                                                                      "failure.")] = False,
    server_name: Annotated[str | None, typer.Option(
        "--server", help="HTTP server of the mock hub: granian (default) or uvicorn.")] = None,
) -> None:
    """Start the mocks and the integration under test, run the features, write the reports."""
    from harness.pytest_plugin import DRIVERS, new_run_id
    from harness.runner import run_features

    if iut not in DRIVERS:
        raise CliError(f"unknown --iut {iut!r}; available: {', '.join(sorted(DRIVERS))}")
    _hub_server(server_name)
    if tags:
        _check_tag_expression(tags)
    path = _features_path(features)
    files = _validated_features(path)
    run_id = new_run_id(seed, iut)
    code = run_features(path, files, run_id=run_id, seed=seed, report_dir=report_dir, iut=iut,
                        tags=tags, requirement_ids=req or [], exitfirst=exitfirst, console=out,
                        hub_server=server_name)
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
