"""Load benchmark: the hub as `calharness serve` runs it, against a bare endpoint on the same server
and WireMock's static stubs of the same requests.

    .venv/bin/python scenarios/bench_graph.py            # default server + WireMock, ~2 min
    .venv/bin/python scenarios/bench_graph.py --quick    # 1 round of 2 s, no warm-ups: ~50 s
    .venv/bin/python scenarios/bench_graph.py --server both --no-wiremock   # granian and uvicorn

Targets, all plain HTTP on 127.0.0.1 (TLS off, so the figures measure the servers, not TLS):

1. `wiremock`: WireMock's standalone jar (npm package `wiremock`, pinned, fetched into the
   git-ignored cache `.calharness/cache/wiremock/` by `npm install --prefix`) answering static
   stubs of the event GET and of the calendarView page: same paths, the very bytes the mock
   answers (so the same sizes), same Content-Type. Mapping templates:
   scenarios/wiremock/mappings/graph-event.json and graph-calendar-view.json.
2. `bare`: a bare Starlette endpoint `/bare` returning a small fixed JSON, mounted (in this
   benchmark's app instance only) in the same app on the same server as the hub.
3. `event GET`: `GET /graph/v1.0/users/{upn}/events/{id}` with a valid application bearer token.
   Every request verifies the token (signer cache + lifetime check against the world clock),
   consults the fault plan, resolves the mailbox, counts the per-app-per-mailbox throttle, checks
   the permission table, renders the event (cached bytes per change key) and writes an audit
   entry.
4. `calendarView 1000`: one 1000-event page (`Prefer: odata.maxpagesize=1000`), ~1.5 MB.

The per-mailbox limits are raised with `set_limits` (concurrency 100,000, a billion requests per
10 minutes): the throttle is still counted on every request but never answers 429.

Servers (`--server`), one process each (the mock's world is in-process state: a second worker
would be a second world, so the comparison is per server process):
- `default` (the default): HubServer with its default server, in a background thread of this
  process: exactly `calharness serve --no-tls` (granian embedded, its header/body timeouts and
  the ServerApp layer in front of the app);
- `granian`, `uvicorn`: HubServer on that server (`both`: the two);
- `granian-child`: the bare-bones variant measured before granian became the default: granian's
  embedded server in a child process, without HubServer's layer, on uvloop, with granian's Rust
  task implementation where the Python version has it (< 3.12) (`--granian-loop`,
  `--granian-task-impl` tune it); `all`: granian, uvicorn and granian-child;
- WireMock: one JVM with its default Jetty pool (25 container threads), no request journal, no
  request logging, async responses off (`--wiremock-async` turns them on), after a JIT warm-up
  of --wiremock-warmup seconds per stub that is discarded.

Method: each target gets a discarded warm-up run, then --rounds rounds in which the targets take
turns (so drifting background load hits them all alike); the table shows the median of the
rounds. Same wrk settings for every target: --threads, --connections, --duration, `--latency`.
The load generator shares the 2 cores with the servers. Every run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from mock_providers.app import create_app  # noqa: E402
from mock_providers.hub import GRAPH_PREFIX, Hub  # noqa: E402
from mock_providers.microsoft.claims import GRAPH_RESOURCE, app_access_claims  # noqa: E402
from mock_providers.microsoft.graph import set_limits  # noqa: E402
from mock_providers.server import DEFAULT_SERVER  # noqa: E402
from mock_providers.world import Event  # noqa: E402
from mock_providers.world.seed import change_key  # noqa: E402

CALENDAR_VIEW_EVENTS = 1000
RAISED_CONCURRENCY = 100_000
RAISED_PER_10_MIN = 1_000_000_000
WINDOW_START = datetime(2030, 1, 7, tzinfo=UTC)
WIREMOCK_VERSION = "3.13.2"
WIREMOCK_DIR = ROOT / "scenarios" / "wiremock"


def cache_dir() -> Path:
    """Git-ignored: `.calharness/cache/` in the work tree (see .gitignore)."""
    return ROOT / ".calharness" / "cache"


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    path: str
    headers: dict[str, str]


@dataclass(slots=True)
class Measured:
    """One wrk run."""

    rate: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass(slots=True)
class Row:
    server: str
    name: str
    url: str
    headers: dict[str, str]
    size: int
    runs: list[Measured] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(m, attr) for m in self.runs)


# -- the hub under test ----------------------------------------------------------------------------
async def bare(request: Request) -> Response:
    return JSONResponse({"status": "ok", "service": "bare"})


def app_with_bare(hub: Hub) -> Starlette:
    app = create_app(hub)
    app.router.routes.insert(0, Route("/bare", bare))  # matched first: the best case for bare
    return app


def prepare(hub: Hub) -> list[Target]:
    """Seed the calendarView mailbox, raise the limits, mint the token; return the targets."""
    set_limits(hub, concurrency=RAISED_CONCURRENCY, per_10_min=RAISED_PER_10_MIN)
    tenant = hub.world.tenant("contoso")
    assert tenant is not None
    people = sorted(tenant.users.values(), key=lambda u: u.upn)
    reader, busy = people[0], people[1]
    client_id = next(a.client_id for a in tenant.apps.values() if a.client_secret)
    token = hub.signer.sign(app_access_claims(
        tenant_id=tenant.id, client_id=client_id, resource=GRAPH_RESOURCE,
        roles=["Calendars.Read"], now=hub.world.clock.timestamp(), lifetime=24 * 3600))
    world = hub.world
    calendar = busy.mailbox.default_calendar
    now = world.now()
    for i in range(CALENDAR_VIEW_EVENTS):
        start = WINDOW_START + timedelta(minutes=5 * i)
        event_id = world.new_id()
        event = Event(id=event_id, subject=f"Load test meeting {i}", start=start,
                      end=start + timedelta(minutes=30), created=now, last_modified=now,
                      ical_uid=f"{event_id}@calharness", change_key=change_key(event_id, 0),
                      body=f"Agenda item {i}", organizer_email=busy.upn,
                      organizer_name=busy.display_name)
        calendar.events.put(event_id, event, world.next_seq())
    event_id = next(iter(reader.mailbox.default_calendar.events)).id
    auth = {"Authorization": f"Bearer {token}"}
    end = WINDOW_START + timedelta(days=7)
    window = (f"startDateTime={WINDOW_START:%Y-%m-%dT%H:%M:%SZ}"
              f"&endDateTime={end:%Y-%m-%dT%H:%M:%SZ}")
    return [
        Target("bare", "/bare", {}),
        Target("event GET", f"{GRAPH_PREFIX}/users/{reader.upn}/events/{event_id}", auth),
        Target(f"calendarView {CALENDAR_VIEW_EVENTS}",
               f"{GRAPH_PREFIX}/users/{busy.upn}/calendarView?{window}",
               {**auth, "Prefer": f"odata.maxpagesize={CALENDAR_VIEW_EVENTS}"}),
    ]


# -- servers ---------------------------------------------------------------------------------------
@contextmanager
def hub_server(seed: int, name: str) -> Iterator[tuple[str, list[Target], str]]:
    """HubServer on `name`, as `calharness serve --no-tls --server NAME` runs it, in a thread of
    this process; its app instance also gets /bare."""
    import mock_providers.server as server_module

    original = server_module.create_app
    server_module.create_app = app_with_bare  # type: ignore[assignment]
    try:
        with server_module.HubServer(seed=seed, tls=False, server=name) as server:  # type: ignore[arg-type]
            how = ("granian embedded in this process, 1 worker, asyncio tasks on uvloop, HTTP/1.1"
                   if name == "granian" else "uvicorn, uvloop + httptools")
            yield (server.base_url, prepare(server.hub),
                   f"HubServer ({how}; header/body read timeouts and HubServer's ASGI layer)")
    finally:
        server_module.create_app = original


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def granian_task_impl() -> str:
    # granian's Rust task implementation exists for Python < 3.12 only.
    return "rust" if sys.version_info < (3, 12) else "asyncio"


def _granian_child(conn: Connection, seed: int, port: int, task_impl: str, loop: str,
                   life: float) -> None:
    from granian.constants import HTTPModes, Interfaces, TaskImpl
    from granian.log import LogLevels
    from granian.server.embed import Server

    hub = Hub.seeded(seed, f"http://127.0.0.1:{port}")
    app = app_with_bare(hub)
    targets = prepare(hub)
    server = Server(app, address="127.0.0.1", port=port, interface=Interfaces.ASGI,
                    log_level=LogLevels.warning, websockets=False, http=HTTPModes.http1,
                    runtime_threads=1, task_impl=TaskImpl(task_impl), backlog=2048)

    async def serve() -> None:
        task = asyncio.create_task(server.serve())
        await asyncio.sleep(1.0)
        conn.send([(t.name, t.path, t.headers) for t in targets])
        # Bounded: the parent terminates this process; it also stops by itself after `life`.
        await asyncio.wait([task], timeout=life)

    if loop == "uvloop":
        import uvloop

        uvloop.run(serve())
    else:
        asyncio.run(serve())


@contextmanager
def granian_server(seed: int, task_impl: str | None = None, loop: str = "uvloop",
                   life: float = 900.0) -> Iterator[tuple[str, list[Target], str]]:
    port = _free_port()
    task_impl = task_impl or granian_task_impl()
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_granian_child, args=(child, seed, port, task_impl, loop, life), daemon=True)
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("granian did not start within 60 s")
        targets = [Target(*t) for t in parent.recv()]
        yield (f"http://127.0.0.1:{port}", targets,
               f"granian embedded, {loop} loop, task impl {task_impl}, 1 runtime thread, "
               f"HTTP/1")
    finally:
        process.terminate()
        process.join(10)
        if process.is_alive():
            process.kill()


# -- WireMock --------------------------------------------------------------------------------------
def wiremock_jar(version: str) -> Path:
    """The standalone jar of the npm package `wiremock@version`, installed once into the cache."""
    prefix = cache_dir() / f"wiremock-npm-{version}"
    build = prefix / "node_modules" / "wiremock" / "build"
    jars = sorted(build.glob("wiremock-standalone-*.jar")) if build.is_dir() else []
    if not jars:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed: cannot fetch WireMock "
                               "(or pass --no-wiremock)")
        prefix.mkdir(parents=True, exist_ok=True)
        print(f"fetching WireMock: npm install --prefix {prefix} wiremock@{version}", flush=True)
        subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                        "--no-save", f"wiremock@{version}"], check=True, timeout=600,
                       stdout=subprocess.DEVNULL)
        jars = sorted(build.glob("wiremock-standalone-*.jar"))
    if not jars:
        raise RuntimeError(f"no wiremock-standalone jar under {build}")
    return jars[-1]


def write_stubs(root: Path, stubs: dict[str, tuple[str, bytes, str]]) -> None:
    """The committed mapping templates (file name -> url, body, content type) with this run's
    exact paths and bodies; nothing else in the root."""
    shutil.rmtree(root / "mappings", ignore_errors=True)
    shutil.rmtree(root / "__files", ignore_errors=True)
    (root / "mappings").mkdir(parents=True)
    for name, (path, body, content_type) in stubs.items():
        mapping = json.loads((WIREMOCK_DIR / "mappings" / name).read_text())
        mapping["request"]["url"] = path
        mapping["response"]["body"] = body.decode()
        mapping["response"]["headers"]["Content-Type"] = content_type
        (root / "mappings" / name).write_text(json.dumps(mapping, indent=2))


WIREMOCK_JVM = ["-Xms256m", "-Xmx512m", "-XX:+UseParallelGC"]


def jvm_threads(pid: int | None) -> str:
    """How many threads the JVM runs (Jetty's pool, selectors, GC, JIT...), from /proc."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for candidate in [str(pid), *children]:
            argv0 = Path(f"/proc/{candidate}/cmdline").read_bytes().split(b"\0")[0]
            if Path(argv0.decode()).name == "java":
                status = Path(f"/proc/{candidate}/status").read_text()
                return status.split("Threads:")[1].split()[0]
    except (OSError, IndexError):
        pass
    return "?"


wiremock_pid: list[int | None] = [None]


def wiremock_args(port: int, root: Path, async_response: bool) -> list[str]:
    return ["--port", str(port), "--bind-address", "127.0.0.1", "--root-dir", str(root),
            "--no-request-journal", "--disable-request-logging", "--disable-banner",
            "--disable-gzip", "--disable-response-templating", "--use-chunked-encoding", "never",
            "--async-response-enabled", "true" if async_response else "false"]


@contextmanager
def wiremock_server(version: str, root: Path, async_response: bool,
                    life: float = 900.0) -> Iterator[tuple[str, str]]:
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("java is not installed (or pass --no-wiremock)")
    jar = wiremock_jar(version)
    port = _free_port()
    command = [java, *WIREMOCK_JVM, "-jar", str(jar), *wiremock_args(port, root, async_response)]
    log = (root / "wiremock.log").open("w")
    # `timeout` bounds the JVM's life even if this script is killed before its cleanup runs.
    timeout = shutil.which("timeout")
    bounded = [timeout, "--signal=TERM", str(int(life)), *command] if timeout else command
    process = subprocess.Popen(bounded, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    wiremock_pid[0] = process.pid
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/__admin/health", timeout=2).is_success:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"WireMock did not start; see {root / 'wiremock.log'}")
            time.sleep(0.3)
        description = (f"WireMock {version} standalone (java {' '.join(WIREMOCK_JVM)}), Jetty "
                       f"default pool (25 container threads), async responses "
                       f"{'on' if async_response else 'off'}, no request journal, no request "
                       f"logging")
        yield f"http://127.0.0.1:{port}", description
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


# -- load generators -------------------------------------------------------------------------------
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _latency(out: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")


def wrk_run(url: str, headers: dict[str, str], duration: int, connections: int,
            threads: int) -> Measured:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True,
                         timeout=duration + 30).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                              r"timeout (\d+)", out)
    if rate is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    failed = int(errors.group(1)) if errors else 0
    if socket_errors:
        failed += sum(int(g) for g in socket_errors.groups()[:3])
    return Measured(float(rate.group(1)), _latency(out, "50"), _latency(out, "99"), failed)


async def _connection(host: str, port: int, request: bytes, deadline: float,
                      latencies: list[float], counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < deadline:
            sent = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - sent)
            counts[0 if head[9:12] == b"200" else 1] += 1
    finally:
        writer.close()


def _python_load(url: str, headers: dict[str, str], duration: int, connections: int,
                 conn: Connection) -> None:
    match = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    assert match is not None
    host, port, path = match.group(1), int(match.group(2)), match.group(3)
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    counts = [0, 0]
    latencies: list[float] = []

    async def run() -> None:
        deadline = time.monotonic() + duration
        await asyncio.gather(*(_connection(host, port, request, deadline, latencies, counts)
                               for _ in range(connections)))

    started = time.monotonic()
    asyncio.run(run())
    latencies.sort()

    def pick(q: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    conn.send((counts[0] / (time.monotonic() - started), pick(0.5), pick(0.99), counts[1]))


def python_run(url: str, headers: dict[str, str], duration: int, connections: int,
               threads: int) -> Measured:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_python_load, args=(url, headers, duration, connections, child))
    process.start()
    process.join(duration + 60)
    if process.is_alive():
        process.terminate()
        raise RuntimeError("the load generator did not stop")
    rate, p50, p99, errors = parent.recv()
    return Measured(float(rate), float(p50), float(p99), int(errors))


# -- main ------------------------------------------------------------------------------------------
def warm_up_jvm(run: Callable[..., Measured], row: Row, seconds: int, connections: int,
                threads: int) -> list[float]:
    """Load the stub in 2 s windows for at least `seconds`, then on until two windows in a row
    agree within 10% (the JIT has settled), for at most `seconds` more: a busy machine slows
    the JIT down, and a cold JVM would flatter the mock."""
    history: list[float] = []
    deadline = time.monotonic() + seconds
    cap = deadline + seconds
    while time.monotonic() < cap:
        history.append(run(row.url, row.headers, 2, connections, threads).rate)
        settled = len(history) >= 2 and abs(history[-1] - history[-2]) <= 0.1 * history[-2]
        if time.monotonic() >= deadline and settled:
            break
    return history


def _check(row: Row) -> None:
    import httpx

    answer = httpx.get(row.url, headers=row.headers, timeout=30)
    if answer.status_code != 200:
        raise SystemExit(f"{row.server} {row.name}: {answer.status_code} {answer.text[:300]}")
    row.size = len(answer.content)
    if row.name.startswith("calendarView"):
        assert len(answer.json()["value"]) == CALENDAR_VIEW_EVENTS


def _fmt_rate(row: Row | None) -> str:
    return f"{row.median('rate'):>9.0f}" if row else f"{'-':>9}"


CALENDAR_VIEW = f"calendarView {CALENDAR_VIEW_EVENTS}"
# WireMock's stub of each mock target: the same path, the same bytes.
STUB_OF = {"event GET": "static stub", CALENDAR_VIEW: "calendarView stub"}
STUB_FILE = {"event GET": "graph-event.json", CALENDAR_VIEW: "graph-calendar-view.json"}
# (numerator, denominator, aim): ratios of median req/s measured in the same run.
AIMS = [("event GET", "bare", 0.60), ("event GET", "static stub", 1.20),
        (CALENDAR_VIEW, "calendarView stub", 1.00)]


def print_table(rows: list[Row]) -> dict[str, object]:
    width = max(9, *(len(r.server) for r in rows))
    print()
    print(f"{'server':<{width}} {'target':<18} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'bytes':>8}  runs (req/s)")
    for row in rows:
        runs = " ".join(f"{m.rate:.0f}" for m in row.runs)
        print(f"{row.server:<{width}} {row.name:<18} {row.median('rate'):>9.0f} "
              f"{row.median('p50_ms'):>8.2f} {row.median('p99_ms'):>8.2f} {row.size:>8}  {runs}")
    by = {(r.server, r.name): r for r in rows}
    summary: dict[str, object] = {}
    print()
    for server in dict.fromkeys(r.server for r in rows if r.server != "wiremock"):
        for target, versus, aim in AIMS:
            mine = by.get((server, target))
            other = by.get((server, versus)) or by.get(("wiremock", versus))
            if mine is None or other is None:
                continue
            ratio = mine.median("rate") / other.median("rate")
            label = f"{target} / {'WireMock ' if other.server == 'wiremock' else ''}{versus}"
            verdict = "met" if ratio >= aim else "NOT met"
            print(f"{server:<{width}} {label:<47} {ratio:6.3f}x   (aim >= {aim:.2f}x: "
                  f"{verdict})")
            summary[f"{server} {label}"] = round(ratio, 4)
        cv = by.get((server, CALENDAR_VIEW))
        if cv is not None:
            print(f"{server:<{width}} calendarView: "
                  f"{cv.median('rate') * CALENDAR_VIEW_EVENTS:,.0f} events/s")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="default",
                        choices=("default", "granian", "uvicorn", "both", "granian-child", "all"),
                        help=f"default: HubServer's default server ({DEFAULT_SERVER}), as "
                             f"`calharness serve` runs it; both: granian and uvicorn; all: "
                             f"both and granian-child (see the module docstring)")
    parser.add_argument("--quick", action="store_true",
                        help="1 round of 2 s, no warm-up run for the Python targets, a shorter "
                             "WireMock warm-up (~50 s in all)")
    parser.add_argument("--duration", type=int, default=None,
                        help="seconds per measured run (default 5, --quick 2)")
    parser.add_argument("--rounds", type=int, default=None, help="default 3, --quick 1")
    parser.add_argument("--warmup", type=int, default=None,
                        help="seconds of the discarded warm-up run per target (default 2, "
                             "--quick 0)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--no-wiremock", action="store_true")
    parser.add_argument("--wiremock-version", default=WIREMOCK_VERSION)
    parser.add_argument("--wiremock-warmup", type=int, default=None,
                        help="seconds of discarded load that let the JVM's JIT settle "
                             "(default 30, --quick 20)")
    parser.add_argument("--wiremock-async", action="store_true",
                        help="WireMock with --async-response-enabled true")
    parser.add_argument("--granian-task-impl", choices=("rust", "asyncio"), default=None,
                        help="granian-child only: default rust on Python < 3.12, else asyncio")
    parser.add_argument("--granian-loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="granian-child only")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", action="store_true", help="print one JSON line at the end")
    args = parser.parse_args(argv)
    duration = args.duration or (2 if args.quick else 5)
    rounds = args.rounds or (1 if args.quick else 3)
    warmup = args.warmup if args.warmup is not None else (0 if args.quick else 2)
    wm_warmup = (args.wiremock_warmup if args.wiremock_warmup is not None
                 else (20 if args.quick else 30))
    if not 1 <= duration <= 120 or not 1 <= rounds <= 10 or not 0 <= wm_warmup <= 120:
        parser.error("--duration 1..120, --rounds 1..10, --wiremock-warmup 0..120")
    use_wrk = args.load == "wrk" or (args.load == "auto" and shutil.which("wrk") is not None)
    if args.load == "wrk" and shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install -y wrk)")
    run: Callable[..., Measured] = wrk_run if use_wrk else python_run
    generator = (f"wrk -t{args.threads} -c{args.connections} -d{duration}s --latency" if use_wrk
                 else f"python asyncio, {args.connections} connections, {duration}s")
    servers = {"default": [DEFAULT_SERVER], "both": ["granian", "uvicorn"],
               "all": ["granian", "uvicorn", "granian-child"]}.get(args.server, [args.server])
    import httpx

    started = time.monotonic()
    rows: list[Row] = []
    descriptions: list[str] = []
    with ExitStack() as stack:
        for name in servers:
            if name == "granian-child":
                server = granian_server(args.seed, args.granian_task_impl, args.granian_loop)
            else:
                server = hub_server(args.seed, name)
            base_url, targets, description = stack.enter_context(server)
            default = " (the default)" if name == DEFAULT_SERVER else ""
            descriptions.append(f"{name}{default}: {description}, on {base_url}")
            auth = next(t.headers for t in targets if t.name == "event GET")
            for target in targets:
                # Every target gets the event GET's request headers (bare ignores them), so
                # the server parses the same request bytes for bare, event GET and the stub.
                headers = {**auth, **target.headers}
                rows.append(Row(name, target.name, base_url + target.path, headers, 0))
        for row in rows:
            _check(row)
        if not args.no_wiremock:
            # The stubs answer what the first server's mock answered, byte for byte.
            mocked = {name: next(r for r in rows if r.name == name) for name in STUB_OF}
            stubs, paths = {}, {}
            for name, row in mocked.items():
                answer = httpx.get(row.url, headers=row.headers, timeout=30)
                paths[name] = "/" + row.url.split("/", 3)[3]
                stubs[STUB_FILE[name]] = (paths[name], answer.content,
                                          answer.headers["content-type"])
            root = cache_dir() / "wiremock-root"
            write_stubs(root, stubs)
            wm_url, description = stack.enter_context(
                wiremock_server(args.wiremock_version, root, args.wiremock_async))
            descriptions.append(f"wiremock: {description}, on {wm_url}")
            for i, (name, row) in enumerate(mocked.items()):
                stub = Row("wiremock", STUB_OF[name], wm_url + paths[name], row.headers, 0)
                _check(stub)
                if stub.size != row.size:
                    raise SystemExit(f"the {stub.name} answers {stub.size} bytes, the mock "
                                     f"{row.size}")
                rows.insert(i, stub)
        for line in descriptions:
            print(line)
        print(f"load: {generator}; {rounds} round(s), median shown; warm-up {warmup}s per "
              f"target discarded" + ("" if args.no_wiremock else
                                     f", WireMock JIT warm-up {wm_warmup}s discarded"))
        print(f"throttling: per-app-per-mailbox limits raised via set_limits (concurrency "
              f"{RAISED_CONCURRENCY}, {RAISED_PER_10_MIN} requests / 10 min): counted, never 429")
        print(f"machine: {os.cpu_count()} cores, 1-min load average {os.getloadavg()[0]:.2f} "
              f"at start (above ~1: other processes, or a run that just ended, share the CPU)",
              flush=True)
        if not args.no_wiremock and wm_warmup:
            for row in (r for r in rows if r.server == "wiremock"):
                # The event stub's warm-up settles the JIT; the page stub's needs less.
                seconds = wm_warmup if row.name == "static stub" else max(4, wm_warmup // 3)
                history = warm_up_jvm(run, row, seconds, args.connections, args.threads)
                print(f"wiremock {row.name}: warm-up windows (req/s) "
                      f"{' '.join(f'{r:.0f}' for r in history)}; "
                      f"{jvm_threads(wiremock_pid[0])} JVM threads", flush=True)
        if warmup:
            for row in rows:
                run(row.url, row.headers, warmup, args.connections, args.threads)
        for _ in range(rounds):
            for row in rows:
                measured = run(row.url, row.headers, duration, args.connections, args.threads)
                if measured.errors:
                    raise SystemExit(f"{row.server} {row.name}: {measured.errors} failed "
                                     f"responses under load")
                row.runs.append(measured)
    summary = print_table(rows)
    print(f"\nload average at end {os.getloadavg()[0]:.2f}; wall time "
          f"{time.monotonic() - started:.0f}s")
    if args.json:
        print(json.dumps({
            "load": generator, "rounds": rounds, "summary": summary,
            "rows": [{"server": r.server, "target": r.name, "req_per_s": r.median("rate"),
                      "p50_ms": r.median("p50_ms"), "p99_ms": r.median("p99_ms"),
                      "bytes": r.size, "runs": [m.rate for m in r.runs]} for r in rows]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
