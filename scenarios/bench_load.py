"""Load benchmark: the sync core under Locust (scenarios/load_sync.py through `calharness load`'s
runner), at 100, 1,000 and 10,000 simulated integrations, one worker against two, and the
ceiling of the same Locust set-up doing only bare GETs against the hub; a profile names the
bottleneck.

    .venv/bin/python scenarios/bench_load.py --schedule # each run's length, without running
    .venv/bin/python scenarios/bench_load.py            # ~25 min (10,000 connect: ~13 min)
    .venv/bin/python scenarios/bench_load.py --quick    # shorter steady windows
    .venv/bin/python scenarios/bench_load.py --sizes 100,1000 --no-profile

Each run is long enough for its whole population to connect: the set-up connects about
--connect-rate integrations per second (default 20: 8-30/s measured on this 2-core machine,
each connect being ~10 requests and two TLS handshakes), so users are spawned at that rate
(spawning faster only queues connects, whose p99 then grows with the queue), the load phase is
the ramp (users / rate, plus 25%) and a steady window after it, and the settling phase grows
with the population (one round and one check per integration, ~100/s). A run whose population
did not all connect says so: its figures are those of the integrations that did.

Each figure is one bounded run, in a fresh hub (one shard, a child process: a core of its own)
seeded with the population (EVENTS events per mailbox, every second one tied to a platform
meeting), Locust as subprocesses (a master and W workers). Every integration connects (the
real authorization-code flow), runs its initial sync, then one paced step every PACE seconds
(incremental round 4 : push.create 3 : push.update 2 : push.delete 1), and at the end settles
and is checked for convergence. Printed per run:

- offered: the paced steps the population asks for (users / pace, per second) once connected;
- rounds/s: paced sync rounds completed per second (incremental, push.*), the best 12-second
  window once 95% of the connected population had connected (the steady state, not the ramp),
  and the share of the offered rate it reached; initial syncs/s: the best window of the run;
- connected: integrations whose initial sync completed, against those asked for (fewer: the
  run was too short for the set-up's connect rate, and the line says so);
- p50/p99 per step over the run (the worst kind's: Locust keeps percentiles per kind);
- provider requests/s (the hub's audit), and the hub's and the workers' CPU (% of one core);
- the bare-GET ceiling of the same set-up, and each run's provider requests/s as its ratio.

The machine has 2 cores shared by the hub, the Locust master and workers, and (on a shared
machine) everything else running: read ratios within one run of the script, not across runs.
The load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.load.locust_support import FLUSH_S  # noqa: E402
from harness.load.options import settle_seconds  # noqa: E402
from harness.load.run import LoadSettings, run_load  # noqa: E402

PACED = ("sync.incremental", "push.create", "push.update", "push.delete")
ROUNDS = ("sync.initial", *PACED)
SHOWN = ("connect", "sync.initial", "sync.incremental", "push.create", "push.update",
         "push.delete")
TICKS = os.sysconf("SC_CLK_TCK")


CONNECT_RATE = 20.0  # integrations connected per second by the set-up (8-30/s measured)
SETTLE_RATE = 100.0  # settling rounds + checks per second at the end (paced rounds: 90-130/s)
RAMP_MARGIN = 1.25  # connects slow down as the population grows: the ramp gets 25% more time
STEADY_AFTER = 0.95  # the steady state starts once this share of the connected has connected


@dataclass
class Schedule:
    """How long a run lasts so that `users` integrations all connect, and then load steadily."""

    users: int
    spawn_rate: float
    ramp: float  # s for every user to be spawned and connected (with the margin)
    steady: float  # s of load after the ramp
    settle: float
    run_time: float


def schedule(users: int, *, steady: float, spawn_rate: float, connect_rate: float,
             bare: bool = False) -> Schedule:
    if bare:  # the ceiling: 50 users GET flat out, no connects, nothing to settle
        return Schedule(users, spawn_rate, 0.0, steady, 1.0, steady + 1.0 + FLUSH_S)
    rate = min(spawn_rate, connect_rate)
    ramp = users / rate * RAMP_MARGIN
    settle = min(300.0, max(settle_seconds(ramp + steady, None), users / SETTLE_RATE))
    return Schedule(users, rate, ramp, steady, settle,
                    float(round(ramp + steady + settle + FLUSH_S)))


@dataclass
class Result:
    label: str
    users: int
    workers: int
    run_time: float
    pace: float
    data: dict[str, Any] = field(default_factory=dict)
    rounds_per_s: float = 0.0  # paced rounds (incremental, push.*): the steady state
    initial_per_s: float = 0.0
    provider_per_s: float = 0.0
    connected: int = 0
    steady_from: int = 0  # integrations connected when the steady window could start
    cpu: dict[str, float] = field(default_factory=dict)
    profile: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    bare_per_s: float = 0.0


# -- CPU and profiles of the processes of a run ------------------------------------------------
def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


class Watcher:
    """CPU use of the hub, the master and the workers over a window of the steady load (the
    middle 80% of the steady window after the ramp, once Locust reports users); optionally a
    py-spy profile of the hub and of one worker over the same window."""

    def __init__(self, profile_s: float, out: Path, load_s: float, steady_s: float) -> None:
        self.profile_s, self.out, self.load_s = profile_s, out, load_s
        steady_s = min(steady_s, load_s)
        self.start_s, self.window_s = load_s - 0.9 * steady_s, 0.8 * steady_s
        self.pids: dict[str, Any] = {}
        self.cpu: dict[str, float] = {}
        self.window = 0.0
        self.profiles: dict[str, Path] = {}
        self.thread: threading.Thread | None = None

    def started(self, pids: dict[str, Any]) -> None:
        self.pids = pids
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _groups(self) -> dict[str, list[int]]:
        return {"hub": list(self.pids.get("hub", [])), "master": [self.pids["master"]],
                "workers": list(self.pids.get("workers", []))}

    def _users_running(self) -> bool:
        history = self.out / "locust_stats_history.csv"
        try:
            lines = history.read_text().splitlines()[-50:]
        except OSError:
            return False
        return any(line.split(",")[3:4] == ["Aggregated"] and line.split(",")[1] != "0"
                   for line in lines)

    def _watch(self) -> None:
        deadline = time.monotonic() + 120
        while not self._users_running() and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(self.start_s)
        self.window = self.window_s
        groups = self._groups()
        spies = []
        if self.profile_s:
            targets = {"hub": groups["hub"][:1],
                       "worker": groups["workers"][:1] or groups["master"]}
            for name, pids in targets.items():
                if not pids:
                    continue
                path = self.out / f"profile-{name}.txt"
                spies.append(subprocess.Popen(
                    [str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                     str(pids[0]), "--duration", str(max(1, int(self.window))), "--rate", "50",
                     "--format", "raw", "--output", str(path), "--nonblocking"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                self.profiles[name] = path
        before = {g: sum(_cpu_seconds(p) for p in pids) for g, pids in groups.items()}
        started = time.monotonic()
        time.sleep(self.window)
        spent = time.monotonic() - started
        self.cpu = {g: 100 * (sum(_cpu_seconds(p) for p in pids) - before[g]) / spent
                    for g, pids in groups.items()}
        for spy in spies:
            try:
                spy.wait(self.window + 30)
            except subprocess.TimeoutExpired:
                spy.kill()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join(self.load_s + 180)


def top_frames(path: Path, count: int = 8) -> list[tuple[str, float]]:
    """Self time by function (the leaf frame) from py-spy's raw (collapsed) output."""
    if not path.exists():
        return []
    own: dict[str, int] = defaultdict(int)
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        leaf = stack.rsplit(";", 1)[-1]
        name, _, where = leaf.partition(" (")
        if not name.strip():  # a frame py-spy cannot name: native code
            name, where = "(native code: the hub's granian/Rust, TLS; a worker's gevent loop)", ""
        module = where.split(":")[0].rsplit("/site-packages/", 1)[-1].rsplit("/wt/load/", 1)[-1]
        own[f"{name} ({module})"] += int(n)
        total += int(n)
    return [(k, 100 * v / total) for k, v in sorted(own.items(), key=lambda kv: -kv[1])[:count]]


# -- figures from a run --------------------------------------------------------------------------
def _series(history: Path, names: tuple[str, ...]) -> dict[tuple[str, str], dict[int, int]]:
    """Running totals per (kind, step) by second, from Locust's history."""
    totals: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    with history.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] in names:
                totals[(row["Type"], row["Name"])][int(row["Timestamp"])] = \
                    int(row["Total Request Count"])
    return totals


def _at(series: dict[int, int], t: int) -> int:
    keys = sorted(series)
    i = bisect.bisect_right(keys, t)
    return series[keys[i - 1]] if i else 0


def best_window_rate(history: Path, names: tuple[str, ...], window: int = 12,
                     after: int = 0) -> float:
    """The best rate over `window` seconds starting at `after` or later (a multiple of the
    workers' 3-second reports, so a window never holds one report more than its length is
    worth)."""
    totals = _series(history, names)
    stamps = sorted({t for series in totals.values() for t in series})
    best = 0.0
    for t in stamps:
        if t - window < after:
            continue
        done = sum(_at(s, t) - _at(s, t - window) for s in totals.values())
        best = max(best, done / window)
    return best


def connected_by(history: Path, share: float) -> tuple[int, int]:
    """(the second by which `share` of the integrations that completed an initial sync had
    done so, how many had then): where the steady state starts."""
    totals = _series(history, ("sync.initial",))
    stamps = sorted({t for series in totals.values() for t in series})
    if not stamps:
        return 0, 0
    final = sum(_at(s, stamps[-1]) for s in totals.values())
    for t in stamps:
        done = sum(_at(s, t) for s in totals.values())
        if done >= share * final:
            return t, done
    return stamps[-1], final


def provider_rate(data: dict[str, Any], audit_window: float) -> float:
    requests = sum(p["requests"] for p in data.get("provider_side", {}).values())
    return requests / audit_window if audit_window else 0.0


def run(label: str, plan: Schedule, workers: int, args: argparse.Namespace, *,
        bare: bool = False, events: int, profile: bool = False) -> Result:
    out = Path(tempfile.mkdtemp(prefix=f"calharness-bench-load-{label.replace(' ', '-')}-"))
    users, run_time = plan.users, plan.run_time
    watcher = Watcher(args.profile_s if profile else 0.0, out,
                      run_time - plan.settle - FLUSH_S, plan.steady)
    settings = LoadSettings(users=users, workers=workers, run_time=run_time, events=events,
                            pace=args.pace, spawn_rate=plan.spawn_rate, seed=args.seed,
                            out=out, bare=bare, settle=plan.settle, on_started=watcher.started)
    started = time.monotonic()
    code, _page, data = run_load(settings, lambda line: None)
    watcher.join()
    result = Result(label, users, workers, run_time, args.pace, data)
    history = out / "locust_stats_history.csv"
    if bare:
        result.bare_per_s = best_window_rate(history, ("bare.get",))
    else:
        steady_at, result.steady_from = connected_by(history, STEADY_AFTER)
        result.rounds_per_s = best_window_rate(history, PACED, after=steady_at)
        result.initial_per_s = best_window_rate(history, ("sync.initial",))
        result.connected = data["steps"].get("sync.initial", {}).get("count", 0) - \
            data["steps"].get("sync.initial", {}).get("failures", 0)
    result.provider_per_s = provider_rate(data, run_time - plan.settle - FLUSH_S)
    result.cpu = watcher.cpu
    result.profile = {name: top_frames(path) for name, path in watcher.profiles.items()}
    conv = data["convergence"]
    print(f"  {label:<22} {time.monotonic() - started:5.0f} s wall; "
          + (f"{result.bare_per_s:,.0f} GET/s" if bare else
             f"{result.rounds_per_s:,.1f} paced rounds/s, {result.initial_per_s:,.1f} initial "
             f"syncs/s, {result.connected:,}/{users:,} connected, "
             f"convergence {'ok' if conv['converged'] else 'FAILED'} ({conv['lost']} lost, "
             f"{conv['duplicated']} duplicated, {conv.get('unchecked', 0)} not checked)")
          + f"; exit {code}; {out}", flush=True)
    if not bare and result.connected < users:
        print(f"  {'':<22} only {result.connected:,} of the {users:,} integrations asked for "
              f"connected: this run's figures are those of ~{result.connected:,} integrations "
              f"(the set-up connected fewer than --connect-rate {args.connect_rate:g}/s; "
              "lower it to lengthen the ramp)", flush=True)
    return result


def _pct(data: dict[str, Any], step: str, which: str) -> str:
    row = data.get("steps", {}).get(step)
    if not row or not row["count"]:
        return "-"
    value = row[which]
    return f"{value / 1000:.1f}s" if value >= 10_000 else f"{value:.0f}"


def print_results(results: list[Result], bare: dict[int, Result], args: argparse.Namespace
                  ) -> None:
    print()
    print(f"sync load: pace {args.pace:g} s per integration; rounds/s: paced rounds "
          f"(incremental, push.*) in the best 12 s; p50/p99 in ms per step over the run (worst "
          f"kind); CPU in % of one core over a window of the load phase")
    header = (f"{'run':<22} {'users':>6} {'w':>2} {'offered':>8} {'rounds/s':>9} {'reached':>8} "
              f"{'initial/s':>9} {'connected':>15} | "
              + " ".join(f"{s.split('.')[-1][:11]:>11}" for s in SHOWN)
              + f" | {'prov req/s':>10} {'/ceiling':>8} | {'hub':>4} {'wkrs':>5} {'mstr':>4}")
    print(header)
    print("-" * len(header))
    for r in results:
        offered = r.users / r.pace
        ceiling = bare.get(r.workers)
        ratio = f"{r.provider_per_s / ceiling.bare_per_s:.2f}x" if ceiling and \
            ceiling.bare_per_s else "-"
        steps = " ".join(f"{_pct(r.data, s, 'p50_ms') + '/' + _pct(r.data, s, 'p99_ms'):>11}"
                         for s in SHOWN)
        connected = f"{r.connected:,}/{r.users:,}" + ("" if r.connected >= r.users else "!")
        print(f"{r.label:<22} {r.users:>6} {r.workers:>2} {offered:>8.1f} {r.rounds_per_s:>9.1f} "
              f"{r.rounds_per_s / offered:>8.0%} {r.initial_per_s:>9.1f} {connected:>15} | "
              f"{steps} | "
              f"{r.provider_per_s:>10.0f} {ratio:>8} | {r.cpu.get('hub', 0):>4.0f} "
              f"{r.cpu.get('workers', 0):>5.0f} {r.cpu.get('master', 0):>4.0f}")
    for workers, b in sorted(bare.items()):
        print(f"{b.label:<22} {b.users:>6} {workers:>2} {'flat out':>8} "
              f"{'':>9} {'':>8} {'':>9} {'':>15} | bare GET/s {b.bare_per_s:,.0f} (the ceiling) | "
              f"{b.provider_per_s:>10.0f} {'1.00x':>8} | {b.cpu.get('hub', 0):>4.0f} "
              f"{b.cpu.get('workers', 0):>5.0f} {b.cpu.get('master', 0):>4.0f}")
    short = [r for r in results if r.connected < r.users]
    if short:
        print("! fewer connected than asked for: " + "; ".join(
            f"{r.label}: {r.connected:,} of {r.users:,}" for r in short) + " (the figures of "
            "those runs are those of the connected integrations, not of the size asked for)")
    one = next((r for r in results if r.label.endswith("1 worker")), None)
    two = next((r for r in results if r.users == (one.users if one else -1) and r.workers == 2),
               None)
    if one and two and one.rounds_per_s:
        print(f"\none worker vs two at {one.users:,} integrations: {one.rounds_per_s:.1f} vs "
              f"{two.rounds_per_s:.1f} rounds/s ({two.rounds_per_s / one.rounds_per_s:.2f}x)")
    for r in [*results, *bare.values()]:
        for name, frames in r.profile.items():
            print(f"\nprofile of the {name} during '{r.label}' (py-spy, self time, top "
                  f"functions):")
            for frame, share in frames:
                print(f"  {share:5.1f}%  {frame}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter steady windows")
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--pace", type=float, default=5.0)
    parser.add_argument("--spawn-rate", type=float, default=100.0,
                        help="users started per second, at most (capped by --connect-rate)")
    parser.add_argument("--connect-rate", type=float, default=CONNECT_RATE,
                        help="integrations the set-up connects per second: sets the spawn "
                             "rate and the ramp, so every size connects in full (default "
                             f"{CONNECT_RATE:g}; lower it on a busier machine)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--profile-s", type=float, default=20.0)
    parser.add_argument("--schedule", action="store_true",
                        help="print each run's length and stop (nothing runs)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if not sizes or not all(1 <= n <= 20_000 for n in sizes):
        parser.error("--sizes: 1 to 20000 each")
    if not 0.5 <= args.connect_rate <= 1000 or args.spawn_rate <= 0 or args.pace <= 0:
        parser.error("--connect-rate 0.5 to 1000, --spawn-rate and --pace above 0")
    steady = 30.0 if args.quick else 60.0
    middle = sizes[len(sizes) // 2] if len(sizes) > 1 else sizes[0]

    def plan(n: int) -> Schedule:
        return schedule(n, steady=steady, spawn_rate=args.spawn_rate,
                        connect_rate=args.connect_rate)

    runs = [(f"{n:,} integrations", plan(n), 2, n == middle) for n in sizes]
    runs.append((f"{middle:,}, 1 worker", plan(middle), 1, False))
    ceiling = schedule(50, steady=30.0, spawn_rate=args.spawn_rate,
                       connect_rate=args.connect_rate, bare=True)
    ceilings = [(f"bare GETs, {w} worker{'s' if w > 1 else ''}", ceiling, w, w == 2)
                for w in (2, 1)]
    total = sum(p.run_time for _, p, _, _ in [*runs, *ceilings])
    for label, p, workers, _ in [*runs, *ceilings]:
        print(f"  {label:<22} {p.users:>6,} users at {p.spawn_rate:g}/s: ramp {p.ramp:.0f} s, "
              f"steady {p.steady:.0f} s, settle {p.settle:.0f} s: run {p.run_time:.0f} s, "
              f"{workers} worker(s)")
    print(f"  about {total / 60:.0f} min of runs, plus seeding and start-up", flush=True)
    if args.schedule:
        return 0
    started = time.monotonic()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
          f"{'quick' if args.quick else 'full'} runs", flush=True)
    results = [run(label, p, workers, args, events=20 if p.users > 1000 else 50,
                   profile=profiled and not args.no_profile)
               for label, p, workers, profiled in runs]
    bare = {workers: run(label, p, workers, args, bare=True, events=1,
                         profile=profiled and not args.no_profile)
            for label, p, workers, profiled in ceilings}
    print_results(results, bare, args)
    print(f"\nload average at end {os.getloadavg()[0]:.2f}; wall time "
          f"{time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
