"""Load benchmark of the Graph mock against a bare Starlette endpoint on the same server.

    .venv/bin/python scenarios/bench_graph.py --duration 10 --connections 32 --server uvicorn

One server process serves both the hub app and, mounted only in this benchmark's app instance, a
bare Starlette endpoint `/bare` returning a small fixed JSON: the baseline. TLS is off (plain HTTP
on 127.0.0.1) so that the figures measure the mock, not the TLS stack. Targets:

1. `GET /bare`
2. `GET /graph/v1.0/users/{upn}/events/{id}` with a valid application bearer token (every request
   verifies the token from the signer's cache, resolves the mailbox, counts the per-app-per-mailbox
   throttle, checks the permission table, renders the event and writes an audit entry)
3. `GET /graph/v1.0/users/{upn}/calendarView?…` answering a 1000-event page (1000 events are seeded
   into that mailbox's calendar first; `Prefer: odata.maxpagesize=1000`)

The per-mailbox limits are raised for this hub with `set_limits` (concurrency 100,000, one billion
requests per 10 minutes), so the throttle is still counted but never answers 429; the output says
so. Load comes from a separate process: `wrk` when installed (`apt-get install -y wrk`), else a
bounded asyncio HTTP/1.1 keep-alive generator. Everything is on the loopback interface and every
run stops by itself after --duration seconds per target.

`--server uvicorn` runs the hub with HubServer (uvicorn in a background thread of this process);
`--server granian` runs the same app under granian's embedded server in a child process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_providers.hub import GRAPH_PREFIX, Hub, create_app
from mock_providers.microsoft.claims import GRAPH_RESOURCE, app_access_claims
from mock_providers.microsoft.graph import set_limits
from mock_providers.world import Event
from mock_providers.world.seed import change_key

CALENDAR_VIEW_EVENTS = 1000
RAISED_CONCURRENCY = 100_000
RAISED_PER_10_MIN = 1_000_000_000
WINDOW_START = datetime(2030, 1, 7, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    path: str
    headers: dict[str, str]


async def bare(request: Request) -> Response:
    return JSONResponse({"status": "ok", "service": "bare"})


def app_with_bare(hub: Hub) -> Starlette:
    app = create_app(hub)
    app.router.routes.insert(0, Route("/bare", bare))
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
def _tcp_bind(host: str, port: int) -> socket.socket:
    """A listening socket created with IPPROTO_TCP: asyncio switches Nagle off (TCP_NODELAY)
    only on connections accepted from such a socket, and Nagle plus delayed ACKs add ~40 ms to
    every keep-alive response written in two parts, as uvicorn's h11 protocol does."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@contextmanager
def uvicorn_server(seed: int) -> Iterator[tuple[str, list[Target]]]:
    import mock_providers.server as server_module

    # HubServer builds its app with create_app; this benchmark's instance also gets /bare.
    patched = {"create_app": app_with_bare}
    probe = server_module._bind("127.0.0.1", 0)
    if probe.proto != socket.IPPROTO_TCP:
        patched["_bind"] = _tcp_bind
        print("note: HubServer's listening socket lacks IPPROTO_TCP (no TCP_NODELAY on its "
              "connections); this run binds it with IPPROTO_TCP")
    probe.close()
    originals = {name: getattr(server_module, name) for name in patched}
    for name, value in patched.items():
        setattr(server_module, name, value)
    try:
        with server_module.HubServer(seed=seed, tls=False) as server:
            yield server.base_url, prepare(server.hub)
    finally:
        for name, value in originals.items():
            setattr(server_module, name, value)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _granian_child(conn: Connection, seed: int, port: int) -> None:
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server

    hub = Hub.seeded(seed, f"http://127.0.0.1:{port}")
    app = app_with_bare(hub)
    targets = prepare(hub)
    server = Server(app, address="127.0.0.1", port=port, interface=Interfaces.ASGI,
                    log_level=LogLevels.warning, websockets=False)

    async def serve() -> None:
        task = asyncio.create_task(server.serve())
        await asyncio.sleep(1.0)
        conn.send([(t.name, t.path, t.headers) for t in targets])
        await task

    asyncio.run(serve())


@contextmanager
def granian_server(seed: int) -> Iterator[tuple[str, list[Target]]]:
    port = _free_port()
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_granian_child, args=(child, seed, port), daemon=True)
    process.start()
    try:
        if not parent.poll(30):
            raise RuntimeError("granian did not start within 30 s")
        targets = [Target(*t) for t in parent.recv()]
        yield f"http://127.0.0.1:{port}", targets
    finally:
        process.terminate()
        process.join(10)


# -- load generators -------------------------------------------------------------------------------
def wrk_rate(url: str, headers: dict[str, str], duration: int, connections: int,
             threads: int) -> tuple[float, int]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True,
                         timeout=duration + 30).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if rate is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return float(rate.group(1)), int(errors.group(1)) if errors else 0


async def _connection(host: str, port: int, request: bytes, deadline: float,
                      counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
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

    async def run() -> None:
        deadline = time.monotonic() + duration
        await asyncio.gather(*(_connection(host, port, request, deadline, counts)
                               for _ in range(connections)))

    started = time.monotonic()
    asyncio.run(run())
    conn.send((counts[0] / (time.monotonic() - started), counts[1]))


def python_rate(url: str, headers: dict[str, str], duration: int,
                connections: int) -> tuple[float, int]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_python_load, args=(url, headers, duration, connections, child))
    process.start()
    process.join(duration + 60)
    if process.is_alive():
        process.terminate()
        raise RuntimeError("the load generator did not stop")
    rate, errors = parent.recv()
    return float(rate), int(errors)


# -- main ------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per target")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", action="store_true", help="print one JSON line at the end")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 300:
        parser.error("--duration must be within 1..300 seconds")
    use_wrk = args.load == "wrk" or (args.load == "auto" and shutil.which("wrk") is not None)
    if args.load == "wrk" and shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install -y wrk)")
    generator = "wrk" if use_wrk else "python asyncio"
    import httpx

    server = uvicorn_server if args.server == "uvicorn" else granian_server
    results: dict[str, float] = {}
    with server(args.seed) as (base_url, targets):
        print(f"server: {args.server}, plain HTTP (TLS off) on {base_url}; load: {generator}, "
              f"{args.connections} connections, {args.duration}s per target")
        print(f"throttling: per-app-per-mailbox limits raised for this hub via set_limits "
              f"(concurrency {RAISED_CONCURRENCY}, {RAISED_PER_10_MIN} requests / 10 min)")
        for target in targets:
            url = base_url + target.path
            check = httpx.get(url, headers=target.headers, timeout=30)
            if check.status_code != 200:
                raise SystemExit(f"{target.name}: {check.status_code} {check.text[:300]}")
            size = len(check.content)
            if target.name.startswith("calendarView"):
                assert len(check.json()["value"]) == CALENDAR_VIEW_EVENTS
            warm = max(1, args.duration // 5)
            if use_wrk:
                wrk_rate(url, target.headers, warm, args.connections, args.threads)
                rate, errors = wrk_rate(url, target.headers, args.duration, args.connections,
                                        args.threads)
            else:
                python_rate(url, target.headers, warm, args.connections)
                rate, errors = python_rate(url, target.headers, args.duration, args.connections)
            if errors:
                raise SystemExit(f"{target.name}: {errors} non-200 responses under load")
            results[target.name] = rate
            print(f"  {target.name:<20} {rate:>10.0f} req/s   ({size} bytes a response)")
    names = [t.name for t in targets]
    bare_rate = results[names[0]]
    ratios = {f"{name} / bare": results[name] / bare_rate for name in names[1:]}
    for label, ratio in ratios.items():
        print(f"  {label:<27} {ratio:>7.1%}")
    if args.json:
        print(json.dumps({"server": args.server, "load": generator,
                          "connections": args.connections, "duration": args.duration,
                          "req_per_s": results, "ratios": ratios}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
