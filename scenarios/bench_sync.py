"""Sync benchmark: the sync core (harness.sync) through each connector (Graph, EWS, Google) against
a client that only downloads and parses the same pages from the same mock.

    .venv/bin/python scenarios/bench_sync.py                       # N = 100, 10000, 100000
    .venv/bin/python scenarios/bench_sync.py --quick               # N = 100, 2000, one round
    .venv/bin/python scenarios/bench_sync.py --kinds graph --sizes 100,10000 --rounds 5

For each connector and calendar size N, in a fresh world:

- the mock hub runs with TLS in a child process (HubServer, uvicorn), so the server has a core of
  its own and its CPU is not counted in the client's; N events over the coming 80 days are put
  straight into the user's calendar in that process (fast; not through the API), every second
  one carrying the join link of a platform meeting (`https://meet.calharness.test/j/<id>`, in
  the location and as the body's last line, as the connectors write it);
- the platform side is `harness.sync.memory.MemoryPlatform` holding those meetings with the same
  values, the store a `MemoryStore`; the user is signed in through the real authorization-code
  flow on the mocks' pages, and the connector is built on the reference provider's clients.

Measured in the benchmark process, median of --rounds runs of (a) and (b) (five times as many
up to N=1,000; for EWS above N=20,000: one) and of --incremental-rounds runs of (c) (a few
milliseconds each, so more of them steady the median):

(a) initial sync: `SyncEngine.run_round` from no cursor and an empty store: the connector's full
    listing (Graph calendarView delta, EWS SyncFolderItems, Google events.list) converted to
    RemoteEvents, planned, and the meeting-linked events recorded (nothing is written to the
    provider: the platform's meetings and the events already agree);
(b) download only: the same listing through the same client stack with nothing converted,
    planned or stored (Graph: httpx + json over the same URLs and headers; EWS: exchangelib's
    sync_items; Google: googleapiclient's events.list), the floor any sync of this data costs;
(c) incremental: after K linked events were edited on the provider side, one round from the
    stored cursor (the K meetings are updated on the platform), with the connector's share
    (`changes`) beside it.

Printed per connector: events/s of (a) and (b), (b)/(a) (aim >= 80%), and (c) per N with the
ratio of the largest N's time to the smallest's (aim <= 1.2). Every run checks what it measured.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.load.hubproc import HubProcess, hub_process  # noqa: E402  (the child-process hub)

SEED_SPAN_DAYS = 80
LINK = "https://meet.calharness.test/j/"
KINDS = ("graph", "ews", "google")


def meeting_values(i: int, base: datetime, step: timedelta) -> tuple[str, str, datetime, datetime]:
    start = base + step * i
    return f"Sync load meeting {i}", f"Agenda for meeting {i}: status, risks, next steps.", \
        start, start + timedelta(minutes=30)


# -- the hub, in a child process -----------------------------------------------------------------
def _calendar(world: Any, owner: str) -> Any:
    ms = world.ms_user(owner)
    if ms is not None:
        return ms.mailbox.default_calendar
    google = world.google_user(owner)
    return google.calendars[google.email]


def _seed_events(hub: Any, owner: str, count: int) -> tuple[int, str, float]:
    from harness.reference.connectors.common import compose_body
    from mock_providers.world import Attendee, Event
    from mock_providers.world.seed import change_key

    world = hub.world
    calendar = _calendar(world, owner)
    now = world.now()
    base = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    step = timedelta(days=SEED_SPAN_DAYS) / max(count, 1)
    step = timedelta(seconds=int(step.total_seconds()))
    for i in range(count):
        subject, description, start, end = meeting_values(i, base, step)
        event_id = world.new_id().replace("-", "")
        linked = i % 2 == 0
        link = f"{LINK}b{i}"
        event = Event(
            id=event_id, subject=subject, start=start, end=end, created=now, last_modified=now,
            ical_uid=f"{event_id}@calharness", change_key=change_key(event_id, 0),
            body=compose_body(description, link) if linked else description,
            location=link if linked else f"Room {i % 40}", organizer_email=owner,
            attendees=[Attendee(f"guest{i % 17}@example.com", f"Guest {i % 17}")])
        calendar.events.put(event_id, event, world.next_seq())
    return len(calendar.events), base.isoformat(), step.total_seconds()


def _change_events(hub: Any, owner: str, count: int, round_no: int) -> list[str]:
    """Edit `count` meeting-linked events spread over the calendar (their subject)."""
    from mock_providers.world.seed import change_key

    world = hub.world
    calendar = _calendar(world, owner)
    linked = sorted((e for e in calendar.events if LINK in e.location), key=lambda e: e.id)
    stride = max(1, len(linked) // count)
    changed = []
    for i in range(count):
        event = linked[(i * stride + round_no) % len(linked)]
        event.subject = f"Changed in round {round_no}: {event.subject[:60]}"
        event.last_modified = world.now()
        event.sequence += 1
        event.change_key = change_key(event.id, event.sequence)
        calendar.events.put(event.id, event, world.next_seq())
        changed.append(event.location.rsplit("/", 1)[-1])
    return changed


# -- download-only twins ---------------------------------------------------------------------------
def download_only(kind: str, connector: Any, window: tuple[datetime, datetime]
                  ) -> Callable[[], int]:
    """A full listing through the connector's own client stack; nothing converted or kept."""
    if kind == "graph":
        from harness.reference.providers.graph_api import delta_url

        headers = {"Authorization": f"Bearer {connector._token(False)}",
                   "Prefer": f'outlook.timezone="UTC", odata.maxpagesize={connector.page_size}'}

        def graph() -> int:
            url, items = delta_url(connector.base, window), 0
            for _ in range(100_000):
                response = connector.http.get(url, headers=headers)
                response.raise_for_status()
                page = response.json()
                items += len(page.get("value", []))
                url = page.get("@odata.nextLink")
                if url is None:
                    return items
            raise RuntimeError("the delta round did not end")
        return graph
    if kind == "ews":
        from harness.reference.connectors.ews import FIELDS

        def ews() -> int:
            folder = connector._acct(False).calendar
            folder.item_sync_state = None
            return sum(1 for _ in folder.sync_items(sync_state=None, only_fields=FIELDS,
                                                     max_changes_returned=connector.page_size))
        return ews

    from harness.reference.connectors.google import PAGE_SIZE

    def google() -> int:
        items, token = 0, None
        for _ in range(100_000):
            kwargs: dict[str, Any] = {"calendarId": "primary", "maxResults": PAGE_SIZE,
                                      "timeMin": window[0].isoformat(),
                                      "timeMax": window[1].isoformat()}
            if token:
                kwargs["pageToken"] = token
            page = connector._events.list(**kwargs).execute(num_retries=0)
            items += len(page.get("items", []))
            token = page.get("nextPageToken")
            if not token:
                return items
        raise RuntimeError("the listing did not end")
    return google


def warm_up(kind: str, connector: Any, raw: Callable[[], int]) -> None:
    """Connections, discovery and the token, before anything is timed. EWS: one page of a
    first sync (its mock keeps no page caches, and exchangelib lists ~1,000 events/s, so a full
    listing at N=100,000 would add minutes); Graph and Google: a full listing, so the mocks'
    page caches are as warm for the first timed sync as for the download-only runs after it."""
    if kind != "ews":
        raw()
        return
    from harness.reference.connectors.ews import FIELDS

    folder = connector._acct(False).calendar
    folder.item_sync_state = None
    next(iter(folder.sync_items(sync_state=None, only_fields=FIELDS,
                                max_changes_returned=connector.page_size)), None)


def initial_rounds(kind: str, n: int, rounds: int) -> int:
    """Rounds of (a) and (b): one for EWS above N=20,000 (a first sync of 100,000 events
    through exchangelib takes minutes; three would take the better part of an hour with its
    download-only twin); five times as many up to N=1,000, where a round is one page and a few
    milliseconds, and three of them are mostly scheduling noise on a shared machine."""
    if kind == "ews" and n > 20_000:
        return 1
    return rounds * 5 if n <= 1_000 else rounds


class TimedConnector:
    """The connector, with the time its `changes` took (the connector's share of a round)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.spent = inner, 0.0

    def changes(self, cursor: Any, window: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.changes(cursor, window)
        finally:
            self.spent += time.perf_counter() - started

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


# -- measuring -------------------------------------------------------------------------------------
@dataclass
class SizeResult:
    kind: str
    n: int
    listed: int = 0
    linked: int = 0
    initial: list[float] = field(default_factory=list)
    download: list[float] = field(default_factory=list)
    incremental: list[float] = field(default_factory=list)
    incremental_io: list[float] = field(default_factory=list)

    @staticmethod
    def med(values: list[float]) -> float:
        return statistics.median(values)


def hub_now(control: Any) -> datetime:
    return datetime.fromisoformat(control._call("GET", "/clock")["now"])


def measure(kind: str, n: int, hub: HubProcess, args: argparse.Namespace) -> SizeResult:
    from harness.control_client import ControlClient
    from harness.load.signin import sign_in
    from harness.sync import Meeting, MeetingFields, SyncEngine
    from harness.sync.memory import MemoryPlatform, MemoryStore
    from harness.sync.planner import LISTING_DAYS, window

    result = SizeResult(kind, n)
    with ControlClient(hub.control_url, hub.ca_bundle, hub.control_token) as control:
        world = control.reset(args.seed, secrets=True)
        control.set_graph_limits(None, None)  # a load test: Graph's per-mailbox limits off
        session = sign_in(world, kind, hub.ca_bundle)  # type: ignore[arg-type]
        try:
            _, base_text, step_s = hub.call(_seed_events, session.user, n)
            base, step = datetime.fromisoformat(base_text), timedelta(seconds=step_s)
            platform = MemoryPlatform()
            for i in range(0, n, 2):
                topic, description, start, end = meeting_values(i, base, step)
                platform.meetings_by_id[f"b{i}"] = Meeting(
                    f"b{i}", session.user, "organizer", MeetingFields(
                        topic, description, start.astimezone(UTC), end.astimezone(UTC)),
                    f"{LINK}b{i}")
            connector = TimedConnector(session.connector)
            now = hub_now(control)
            bounds = window(now, LISTING_DAYS)
            raw = download_only(kind, session.connector, bounds)
            warm_up(kind, session.connector, raw)  # connections, discovery, token
            rounds = initial_rounds(kind, n, args.rounds)
            store = MemoryStore()
            for _ in range(rounds):
                store = MemoryStore()
                engine = SyncEngine(connector, platform, store, sleep=lambda _s: None)
                started = time.perf_counter()
                report = engine.run_round(now)
                result.initial.append(time.perf_counter() - started)
                if report.created or report.updated_remote or len(store.rows) != n // 2 + n % 2:
                    raise SystemExit(f"{kind} N={n}: the initial sync recorded {len(store.rows)}"
                                     f" links, created {len(report.created)}, updated "
                                     f"{len(report.updated_remote)}; expected {n // 2 + n % 2}"
                                     " links and no writes")
                started = time.perf_counter()
                result.listed = raw()
                result.download.append(time.perf_counter() - started)
            result.linked = len(store.rows)
            for round_no in range(args.incremental_rounds):
                changed = hub.call(_change_events, session.user, args.changes, round_no)
                connector.spent = 0.0
                at = hub_now(control)  # the clock read is the harness's, not the round's
                gc.collect()  # garbage of the set-up is not the round's cost either
                started = time.perf_counter()
                report = engine.run_round(at)
                result.incremental.append(time.perf_counter() - started)
                result.incremental_io.append(connector.spent)
                if sorted(report.updated_meetings) != sorted(changed):
                    raise SystemExit(f"{kind} N={n}: the incremental round updated "
                                     f"{len(report.updated_meetings)} meetings, expected "
                                     f"{len(changed)}")
        finally:
            session.close()
    print(f"  {kind:>6} N={n:>6}: {result.listed} events listed, {result.linked} linked; "
          f"initial {result.med(result.initial):.3f}s, download-only "
          f"{result.med(result.download):.3f}s, incremental "
          f"{result.med(result.incremental) * 1000:.1f} ms", flush=True)
    return result


def print_results(results: list[SizeResult], args: argparse.Namespace) -> None:
    print()
    print("(a) initial sync through the sync core; (b) download-only, same client stack; "
          f"(c) incremental round, K={args.changes} changes (connector share in brackets)")
    print(f"{'':>6} {'N':>6} {'events':>7} | {'(a) s':>7} {'ev/s':>7} | {'(b) s':>7} "
          f"{'ev/s':>7} | {'b/a':>6} {'rounds':>13} | {'(c) ms':>8} {'[io ms]':>9} "
          f"{'rounds':>11}")
    for kind in dict.fromkeys(r.kind for r in results):
        rows = [r for r in results if r.kind == kind]
        for r in rows:
            a, b = r.med(r.initial), r.med(r.download)
            # The spread of the rounds beside each median: b/a of each round (its (a) and (b)
            # ran back to back), and the fastest and slowest incremental round.
            paired = [d / i for i, d in zip(r.initial, r.download, strict=True)]
            spread = f"{min(paired):.0%}-{max(paired):.0%}" if len(paired) > 1 else "one"
            incr = f"{min(r.incremental) * 1000:.0f}-{max(r.incremental) * 1000:.0f}"
            print(f"{kind:>6} {r.n:>6} {r.listed:>7} | {a:>7.3f} {r.listed / a:>7.0f} | "
                  f"{b:>7.3f} {r.listed / b:>7.0f} | {b / a:>6.1%} {spread:>13} | "
                  f"{r.med(r.incremental) * 1000:>8.1f} [{r.med(r.incremental_io) * 1000:>7.1f}] "
                  f"{incr:>11}")
        if len(rows) > 1:
            small = rows[0]
            ratios = ", ".join(
                f"N={r.n}: {r.med(r.incremental) / small.med(small.incremental):.2f}x "
                f"[{r.med(r.incremental_io) / small.med(small.incremental_io):.2f}x]"
                for r in rows[1:])
            worst = min(r.med(r.download) / r.med(r.initial) for r in rows)
            print(f"{kind:>6} incremental round against N={small.n} (connector share): {ratios}"
                  f" (aim <= 1.2); initial / download-only, worst size: {worst:.1%} (aim >= 80%)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=None,
                        help="comma-separated sizes (default 100,10000,100000; --quick "
                             "100,2000)")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--rounds", type=int, default=None, help="default 3, --quick 1")
    parser.add_argument("--incremental-rounds", type=int, default=None,
                        help="default 9, --quick 3")
    parser.add_argument("--changes", type=int, default=10, help="K events changed per round")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("100,2000" if args.quick
                                             else "100,10000,100000")).split(",")]
    kinds = [k for k in args.kinds.split(",") if k]
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.incremental_rounds = args.incremental_rounds or (3 if args.quick else 9)
    if not all(1 <= n <= 200_000 for n in sizes) or not 1 <= args.rounds <= 10 \
            or not 1 <= args.incremental_rounds <= 30:
        parser.error("sizes 1..200000, --rounds 1..10, --incremental-rounds 1..30")
    if set(kinds) - set(KINDS):
        parser.error(f"--kinds: one or more of {', '.join(KINDS)}")
    if not 1 <= args.changes <= min(sizes) // 2:
        parser.error("--changes must be between 1 and half the smallest size")
    started = time.monotonic()
    print(f"hub: HubServer (its default server, TLS) in a child process; client: SyncEngine + "
          f"connector, MemoryPlatform/MemoryStore; medians of {args.rounds} initial round(s) "
          f"({args.rounds * 5} up to N=1000, 1 for EWS above N=20000) and "
          f"{args.incremental_rounds} incremental rounds; "
          f"K={args.changes}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start",
          flush=True)
    results = []
    with hub_process(args.seed) as hub:
        for kind in kinds:
            results += [measure(kind, n, hub, args) for n in sizes]
    print_results(results, args)
    print(f"load average at end {os.getloadavg()[0]:.2f}; wall time "
          f"{time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
