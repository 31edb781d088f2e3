"""Sync benchmark: the reference implementation's Graph sync core against a download-only client.

    .venv/bin/python scenarios/bench_sync.py                 # N = 1000, 5000, 20000 (~1 min)
    .venv/bin/python scenarios/bench_sync.py --quick         # N = 1000, 5000, one round each
    .venv/bin/python scenarios/bench_sync.py --sizes 2000 --rounds 5 --changes 10

For each calendar size N, in a fresh world:

- the mock hub runs with TLS in a child process (HubServer, its default server), so the server
  has a core of its own and its CPU is not counted in the client's; its world is seeded there
  directly (N events over the coming 80 days in the first member of tenant "contoso"'s
  calendar) and K events are changed there on command, as Graph would see a user edit them;
- the reference implementation (ReferenceIntegration, SQLite file in a temp dir) has a real
  connected user: account set up, the user connects Office 365 with the default settings and
  the harness's user agent signs in on the identity mock's pages, as the features do.

Measured, in the benchmark process, the median of --rounds runs each:

(a) initial ingest: the sync core (`ReferenceIntegration._sync`: the Graph provider's
    calendarView delta round, then the store's upserts) from no cursor and an empty store;
(b) download only: the same delta round (same URL and window, same httpx client, same headers
    and page size, the same bearer token) with each page parsed by `Response.json()`, nothing
    converted or stored: the floor any sync of this data costs on this client;
(c) incremental: after K events were changed, one sync round from the stored cursor; its
    download-only twin is shown beside it;
(a*) and (c*), only with --prototype: the same rounds through `bulk_store_sync`, the prototype
    of the set-based store writes that the sync core has since adopted (one bulk DELETE and one
    executemany INSERT instead of a session.merge per meeting); kept to compare variants.

Printed: times, events/s, (b)/(a) as "ingest / download-only" (aim >= 50%), and for (c) the
time per N with the ratio of the largest N's time to the smallest N's (aim: ~1, no growth).
Every run checks what it measured: the store holds every event after an ingest, an incremental
round carries exactly K changes and moves the cursor.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TENANT = "contoso"
SEED_SPAN_DAYS = 80  # inside the reference's window (30 days back, 90 ahead)


# -- the hub, in a child process -------------------------------------------------------------------
def _seed_events(hub: Any, upn: str, count: int) -> int:
    from mock_providers.world import Attendee, Event
    from mock_providers.world.seed import change_key

    world = hub.world
    user = world.ms_user(upn)
    calendar = user.mailbox.default_calendar
    now = world.now().replace(microsecond=0)
    step = timedelta(days=SEED_SPAN_DAYS) / max(count, 1)
    for i in range(count):
        start = now + timedelta(hours=1) + step * i
        event_id = world.new_id()
        event = Event(
            id=event_id, subject=f"Sync load meeting {i}", start=start,
            end=start + timedelta(minutes=30), created=now, last_modified=now,
            ical_uid=f"{event_id}@calharness", change_key=change_key(event_id, 0),
            body=f"Agenda for meeting {i}: status, risks, next steps.",
            location=f"Room {i % 40}", organizer_email=user.upn,
            organizer_name=user.display_name,
            attendees=[Attendee(f"guest{i % 17}@example.com", f"Guest {i % 17}"),
                       Attendee(f"peer{i % 5}@example.com", f"Peer {i % 5}")])
        calendar.events.put(event_id, event, world.next_seq())
    return len(calendar.events)


def _change_events(hub: Any, upn: str, count: int, round_no: int) -> list[str]:
    """Edit `count` events spread over the calendar, as update_event does."""
    from mock_providers.world.seed import change_key

    world = hub.world
    calendar = world.ms_user(upn).mailbox.default_calendar
    events = sorted(calendar.events, key=lambda e: e.id)
    stride = max(1, len(events) // count)
    changed = []
    for i in range(count):
        event = events[(i * stride + round_no) % len(events)]
        event.subject = f"Changed in round {round_no}: {event.subject[:60]}"
        event.last_modified = world.now()
        event.sequence += 1
        event.change_key = change_key(event.id, event.sequence)
        calendar.events.put(event.id, event, world.next_seq())
        changed.append(event.id)
    return changed


def _hub_child(conn: Connection, seed: int, state_dir: str, life: float) -> None:
    from mock_providers.server import HubServer

    with HubServer(seed=seed, tls=True, state_dir=Path(state_dir)) as server:
        hub = server.hub
        conn.send({"control_url": hub.control_url, "ca_bundle": server.ca_bundle})
        deadline = time.monotonic() + life
        while time.monotonic() < deadline:  # bounded: stops by itself
            if not conn.poll(1.0):
                continue
            command, *args = conn.recv()
            if command == "stop":
                break
            if command == "seed":
                conn.send(_seed_events(hub, *args))
            elif command == "change":
                conn.send(_change_events(hub, *args))


@dataclass
class HubProcess:
    conn: Connection
    control_url: str
    ca_bundle: str

    def call(self, *command: Any) -> Any:
        self.conn.send(command)
        if not self.conn.poll(300):
            raise RuntimeError(f"the hub did not answer {command[0]!r}")
        return self.conn.recv()


@contextmanager
def hub_process(seed: int, life: float = 1800.0) -> Iterator[HubProcess]:
    with tempfile.TemporaryDirectory(prefix="calharness-bench-hub-") as state_dir:
        parent, child = multiprocessing.Pipe()
        process = multiprocessing.get_context("spawn").Process(
            target=_hub_child, args=(child, seed, state_dir, life), daemon=True)
        process.start()
        try:
            if not parent.poll(60):
                raise RuntimeError("the hub did not start within 60 s")
            info = parent.recv()
            yield HubProcess(parent, info["control_url"], info["ca_bundle"])
            parent.send(("stop",))
            process.join(15)
        finally:
            if process.is_alive():
                process.terminate()
                process.join(10)


# -- the reference implementation with a connected user --------------------------------------------
@contextmanager
def connected_reference(hub: HubProcess) -> Iterator[tuple[Any, str]]:
    from harness.api.models import AccountSpec, ConnectRequest
    from harness.control_client import ControlClient
    from harness.reference import ReferenceConfig, ReferenceIntegration
    from harness.useragent import UserAgent

    control = ControlClient(hub.control_url, hub.ca_bundle)
    try:
        world = control.describe()
    finally:
        control.close()
    tenant = next(t for t in world["microsoft"]["tenants"] if TENANT in (t["key"], t["id"]))
    owner = next(u for u in tenant["users"] if u["is_admin"])
    members = [u for u in tenant["users"] if not u["is_admin"]]
    user = members[0]
    with tempfile.TemporaryDirectory(prefix="calharness-bench-ref-") as db_dir:
        config = ReferenceConfig.from_hub(world, db_url=f"sqlite:///{db_dir}/reference.db")
        impl = ReferenceIntegration(config)
        try:
            impl.setup_account(AccountSpec(owner=owner["upn"],
                                           members=[u["upn"] for u in members]))
            start = impl.begin_connect(user["upn"], ConnectRequest())
            assert start.authorization_url and start.redirect_uri
            with UserAgent(hub.ca_bundle) as agent:
                outcome = agent.authorize(start.authorization_url, username=user["upn"],
                                          password=user["password"], consent="accept",
                                          stop_at=start.redirect_uri)
            if not outcome.callback_url:
                raise RuntimeError(f"sign-in failed: {outcome.error} {outcome.error_description}")
            status = impl.complete_connect(user["upn"], outcome.callback_url)
            if status.state != "connected":
                raise RuntimeError(f"set-up failed: {status.state} ({status.message})")
            yield impl, user["upn"]
        finally:
            impl.close()


def sync_core(impl: Any, user: str) -> None:
    """One sync round through the reference implementation's sync core."""
    core = getattr(impl, "_sync", None)
    if core is not None:
        core(user)
    else:  # the core was renamed: the public entry point (adds a contacts probe)
        impl.sync_now(user)


def _row_values(user: str, m: Any) -> dict[str, Any]:
    return {"user": user, "provider_id": m.provider_id, "subject": m.subject,
            "start": m.start.astimezone(UTC), "end": m.end.astimezone(UTC),
            "location": m.location, "join_url": m.join_url, "attendees": list(m.attendees),
            "private": m.private, "change_key": m.change_key}


def bulk_store_sync(impl: Any, user: str) -> None:
    """PROTOTYPE of the store change recommended in docs/performance.md, for the (a*) column
    only: the same steps as the sync core (acting check, cursor, the same provider round), but
    the meetings are written with one bulk DELETE and one executemany INSERT (Core, on the
    table) instead of one session.merge (a SELECT, then an INSERT or UPDATE flushed on its own)
    per meeting."""
    from sqlalchemy import delete, insert

    from harness.reference.store import MeetingRow

    acting = impl._acting(user)
    assert acting is not None
    provider, creds, _ = acting
    with impl.store.session() as s:
        cursor = impl.store.integration(s, user).sync_cursor
    now = datetime.now(UTC)
    window = (now - timedelta(days=impl.config.sync_past_days),
              now + timedelta(days=impl.config.sync_future_days))
    try:
        result = provider.sync_events(creds, cursor, window)
    finally:
        impl._save_credentials(user, creds)
    who = user.lower()
    latest = {m.provider_id: m for m in result.upserts}  # a round may carry an event twice
    with impl.store.session() as s:
        row = impl.store.integration(s, user)
        if result.replace_all:
            impl.store.clear_meetings(s, user)
        else:
            ids = list(dict.fromkeys([*result.removed, *latest]))
            for i in range(0, len(ids), 500):  # SQLite's bound-parameter limit
                s.execute(delete(MeetingRow).where(MeetingRow.user == who,
                                                   MeetingRow.provider_id.in_(ids[i:i + 500])))
        if latest:  # Core executemany on the table: ~11 us a row against ~19 for ORM bulk
            s.execute(insert(MeetingRow.__table__), [_row_values(who, m) for m in latest.values()])
        row.sync_cursor = result.cursor
        row.calendar_state = "ok"


def forget_sync_state(impl: Any, user: str) -> None:
    """No cursor, no stored meetings: the next round is an initial ingest."""
    with impl.store.session() as s:
        row = impl.store.integration(s, user)
        row.sync_cursor = None
        impl.store.clear_meetings(s, user)


def stored(impl: Any, user: str) -> tuple[int, str | None]:
    from sqlalchemy import func, select

    from harness.reference.store import MeetingRow

    with impl.store.session() as s:
        count = s.scalar(select(func.count()).select_from(MeetingRow)
                         .where(MeetingRow.user == user.lower()))
        cursor = impl.store.integration(s, user).sync_cursor
    return int(count or 0), cursor


@dataclass
class RawRound:
    """The download-only client: the same round as the provider's, no conversion, no store."""

    http: Any
    url: str
    headers: dict[str, str]

    def run(self, url: str | None = None) -> tuple[int, int]:
        url = url or self.url
        items = 0
        for pages in range(1, 100_001):  # bounded
            response = self.http.get(url, headers=self.headers)
            response.raise_for_status()
            page = response.json()
            items += len(page.get("value", []))
            url = page.get("@odata.nextLink")
            if url is None:
                return items, pages
        raise RuntimeError("the delta round did not end")


def raw_client(impl: Any, user: str) -> RawRound:
    """Built from the provider the sync core uses: its httpx client, base URL, window, headers,
    page size and a bearer token from its own token source."""
    from harness.reference.providers import graph_api

    provider, creds, _ = impl._acting(user)
    api = provider._api(creds)
    token = provider._token(creds, [s for s in creds.scopes if s.startswith("Calendars.")]
                            or ["Calendars.Read"])
    now = datetime.now(UTC)
    window = (now - timedelta(days=impl.config.sync_past_days),
              now + timedelta(days=impl.config.sync_future_days))
    url = graph_api.delta_url(api.base, window) if hasattr(graph_api, "delta_url") else None
    if url is None:
        start, end = (w.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for w in window)
        url = f"{api.base}/calendarView/delta?startDateTime={start}&endDateTime={end}"
    page_size = getattr(graph_api, "DELTA_PAGE_SIZE", 200)
    headers = {"Authorization": f"Bearer {token(False)}",
               "Prefer": f'outlook.timezone="UTC", odata.maxpagesize={page_size}'}
    return RawRound(api.http, url, headers)


# -- measuring -------------------------------------------------------------------------------------
def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


@dataclass
class SizeResult:
    n: int
    events: int = 0  # what one full round delivers (seeded + the world's own)
    pages: int = 0
    ingest: list[float] = field(default_factory=list)
    ingest_bulk: list[float] = field(default_factory=list)
    download: list[float] = field(default_factory=list)
    incremental: list[float] = field(default_factory=list)
    incremental_bulk: list[float] = field(default_factory=list)
    incremental_download: list[float] = field(default_factory=list)

    @staticmethod
    def med(values: list[float]) -> float:
        return statistics.median(values)


def measure_size(n: int, args: argparse.Namespace) -> SizeResult:
    result = SizeResult(n)
    with hub_process(args.seed) as hub, connected_reference(hub) as (impl, user):
        total = hub.call("seed", user, n)
        sync_core(impl, user)  # warm-up: the first round after the seeding, discarded
        raw = raw_client(impl, user)
        raw.run()
        for _ in range(args.rounds):
            forget_sync_state(impl, user)
            elapsed, _ = timed(lambda: sync_core(impl, user))
            result.ingest.append(elapsed)
            count, cursor = stored(impl, user)
            if cursor is None or count < n:
                raise SystemExit(f"N={n}: the initial ingest stored {count} meetings "
                                 f"(cursor {'set' if cursor else 'missing'})")
            result.events = count
            if args.prototype:
                forget_sync_state(impl, user)
                elapsed, _ = timed(lambda: bulk_store_sync(impl, user))
                result.ingest_bulk.append(elapsed)
                if stored(impl, user)[0] != count:
                    raise SystemExit(f"N={n}: the bulk prototype stored a different count")
            elapsed, (items, pages) = timed(raw.run)
            result.download.append(elapsed)
            result.pages = pages
            if items != count:
                raise SystemExit(f"N={n}: download-only saw {items} events, the store {count}")
        for round_no in range(args.rounds):
            hub.call("change", user, args.changes, round_no)
            _, cursor = stored(impl, user)
            elapsed, (items, _) = timed(lambda c=cursor: raw.run(c))
            result.incremental_download.append(elapsed)
            if items != args.changes:
                raise SystemExit(f"N={n}: the incremental round carried {items} items, "
                                 f"expected {args.changes}")
            elapsed, _ = timed(lambda: sync_core(impl, user))
            result.incremental.append(elapsed)
            count, new_cursor = stored(impl, user)
            if new_cursor == cursor or count != result.events:
                raise SystemExit(f"N={n}: the incremental round did not advance ({count} stored)")
            if args.prototype:
                hub.call("change", user, args.changes, round_no + 1000)
                elapsed, _ = timed(lambda: bulk_store_sync(impl, user))
                result.incremental_bulk.append(elapsed)
                if stored(impl, user)[0] != result.events:
                    raise SystemExit(f"N={n}: the bulk prototype's incremental round lost rows")
        print(f"  N={n:>6}: {total} events in the calendar, {result.events} in the window; "
              f"ingest {result.med(result.ingest):.3f}s, download-only "
              f"{result.med(result.download):.3f}s, incremental "
              f"{result.med(result.incremental) * 1000:.1f} ms", flush=True)
    return result


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:>8.1f}" if values else f"{'-':>8}"


def print_results(results: list[SizeResult], args: argparse.Namespace) -> None:
    print()
    print("(a) ingest: the sync core as it is; (a*) the same round with the recommended bulk "
          "store writes (prototype); (b) download-only")
    print(f"{'N':>6} {'events':>7} {'pages':>5} | {'(a) s':>7} {'ev/s':>7} | {'(a*) s':>7} "
          f"{'ev/s':>7} | {'(b) s':>7} {'ev/s':>7} | {'b/a':>6} {'b/a*':>6} | "
          f"{'incr ms':>8} {'incr* ms':>8} {'incr dl':>8}")
    for r in results:
        a, b = r.med(r.ingest), r.med(r.download)
        a_star = r.med(r.ingest_bulk) if r.ingest_bulk else None
        star = (f"{a_star:>7.3f} {r.events / a_star:>7.0f}" if a_star else f"{'-':>7} {'-':>7}")
        star_ratio = f"{b / a_star:>6.1%}" if a_star else f"{'-':>6}"
        print(f"{r.n:>6} {r.events:>7} {r.pages:>5} | {a:>7.3f} {r.events / a:>7.0f} | {star} | "
              f"{b:>7.3f} {r.events / b:>7.0f} | {b / a:>6.1%} {star_ratio} | "
              f"{_ms(r.incremental)} {_ms(r.incremental_bulk)} {_ms(r.incremental_download)}")
    smallest, largest = results[0], results[-1]
    if len(results) > 1:
        for label, attr in (("sync core", "incremental"), ("prototype", "incremental_bulk"),
                            ("download-only", "incremental_download")):
            if not getattr(largest, attr):
                continue
            growth = (statistics.median(getattr(largest, attr))
                      / statistics.median(getattr(smallest, attr)))
            print(f"incremental round (K={args.changes}), {label}: N={largest.n} takes "
                  f"{growth:.2f}x the time of N={smallest.n} (calendar "
                  f"{largest.n / smallest.n:.0f}x larger; aim ~1x)")
    worst = min(r.med(r.download) / r.med(r.ingest) for r in results)
    print(f"initial ingest / download-only, worst size: {worst:.1%} as is", end="")
    if all(r.ingest_bulk for r in results):
        worst_star = min(r.med(r.download) / r.med(r.ingest_bulk) for r in results)
        print(f", {worst_star:.1%} with bulk store writes", end="")
    print(" (aim >= 50%)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=None,
                        help="comma-separated calendar sizes (default 1000,5000,20000; "
                             "--quick 1000,5000)")
    parser.add_argument("--rounds", type=int, default=None, help="default 3, --quick 1")
    parser.add_argument("--changes", type=int, default=10, help="K events changed per round")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--prototype", action="store_true",
                        help="also run the (a*) columns: the bulk-write prototype the sync "
                             "core now follows, to compare store variants")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("1000,5000" if args.quick
                                             else "1000,5000,20000")).split(",")]
    args.rounds = args.rounds or (1 if args.quick else 3)
    if not all(1 <= n <= 100_000 for n in sizes) or not 1 <= args.rounds <= 10:
        parser.error("sizes 1..100000, --rounds 1..10")
    if not 1 <= args.changes <= min(sizes):
        parser.error("--changes must be between 1 and the smallest size")
    started = time.monotonic()
    from mock_providers.server import DEFAULT_SERVER

    print(f"hub: HubServer ({DEFAULT_SERVER}, TLS) in a child process; client: "
          f"ReferenceIntegration "
          f"(SQLite file), {args.rounds} round(s) per figure, median shown; "
          f"K={args.changes} changes per incremental round")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start",
          flush=True)
    results = [measure_size(n, args) for n in sizes]
    print_results(results, args)
    print(f"load average at end {os.getloadavg()[0]:.2f}; wall time "
          f"{time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
