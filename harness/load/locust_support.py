"""What the locustfiles do, without Locust: their options, the master's preparation (hub, seeding,
plan), the clock of a timed run, and the users' integrations. Importing this module imports
neither locust nor gevent (the locustfile does; inside Locust, gevent has patched the standard
library by the time these functions run, so their sleeps and sockets cooperate).

A timed run (`--run-time`) ends in three phases, on every worker alike (wall-clock times the
master computes at test start and sends to the workers with the spawn message):

    load ............................ | settle ....................... | flush (3 s)
    paced steps, the plan's faults      faults off; each integration     workers' last stats
                                        settles and checks convergence   reach the master

so the statistics of the settling and the checks are in the master's CSV and report before
Locust's own `--run-time` ends the run. Stopped any other way (web UI, Ctrl+C), each
integration settles and checks when its user stops.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.load.hubs import (
    HubsError,
    Shard,
    audit_summaries,
    load_info,
    read_description,
    seed_population,
    shard_list,
    talking_to,
)
from harness.load.integration import Fire, Integration, StepFailed, claim_mailbox
from harness.load.options import (
    DEFAULT_MIX_TEXT,
    DEFAULT_STEPS_TEXT,
    OptionError,
    parse_mix,
    parse_steps,
    settle_seconds,
)
from harness.load.plan import LoadPlan, PlanError, Revoker, clear, install, load_plan
from harness.reference import ReferenceConfig

FLUSH_S = 3.5  # a worker reports its statistics every 3 s
DEFAULT_MAILBOXES = 100  # when the locustfile starts its own hub

Info = Callable[[str], None]
_state: dict[str, Any] = {"hub": None, "revoker": None, "faults_over": True, "plan": None}
_cache: dict[str, Any] = {}
_lock = threading.Lock()


def add_options(parser: Any) -> None:
    """The locustfiles' own options (Locust's parser: `include_in_web_ui` is its keyword)."""
    group = parser  # Locust's own add_argument (groups do not take include_in_web_ui)
    group.add_argument("--hubs", default="", help="A hub description (`calharness serve "
                       "[--shards N] --json > hubs.json`); none: start a hub here.")
    group.add_argument("--shards", type=int, default=1,
                       help="Shards of the hub this locustfile starts (no --hubs).")
    group.add_argument("--load-seed", type=int, default=42, help="Seed of the world.")
    group.add_argument("--mailboxes", type=int, default=0,
                       help=f"Seed this many load mailboxes if the hub has none (default "
                            f"{DEFAULT_MAILBOXES} for a hub started here).")
    group.add_argument("--events", type=int, default=100, help="Events per mailbox.")
    group.add_argument("--linked-every", type=int, default=2,
                       help="Every n-th seeded event is tied to a platform meeting.")
    group.add_argument("--mix", default=DEFAULT_MIX_TEXT,
                       help="Kinds of integrations by weight (seeding).")
    group.add_argument("--steps", default=DEFAULT_STEPS_TEXT,
                       help="The paced steps by weight.")
    group.add_argument("--pace", type=float, default=5.0,
                       help="Seconds between two steps of one integration.")
    group.add_argument("--settle", type=float, default=-1.0,
                       help="Seconds at the end of a timed run for settling and the checks "
                            "(default: a quarter of --run-time, 4 to 30 s).")
    group.add_argument("--plan", default="", help="Fault plan (YAML or JSON): docs/load.md.")
    group.add_argument("--target", default="",
                       help="Drive a vendor's implementation behind the conformance API at URL "
                            "(docs/vendors.md) instead of the reference sync core.")
    group.add_argument("--bare", action="store_true", default=False,
                       help="The ceiling: each user only GETs the hub's /_control/health as fast "
                            "as it can, with the integrations' HTTP stack (bench_load.py).")
    # Set by the master for the workers (sent with every spawn message); not for people.
    group.add_argument("--hubs-json", default="", include_in_web_ui=False,
                       help=argparse.SUPPRESS)
    group.add_argument("--load-finish", type=float, default=0.0, include_in_web_ui=False,
                       help=argparse.SUPPRESS)
    group.add_argument("--load-deadline", type=float, default=0.0, include_in_web_ui=False,
                       help=argparse.SUPPRESS)


# -- the master (or the one process of a local run) ------------------------------------------
def prepare_master(options: Any, info: Info) -> None:
    """Check the knobs, find or start the hub, seed it if it holds no population, and put its
    description where the workers find it. A bad knob, or a hub that does not answer (a stale
    --hubs file), exits with one line (status 2), not a traceback."""
    try:
        _prepare_master(options, info)
    except (OptionError, PlanError, HubsError) as exc:
        fail(str(exc))


def fail(message: str) -> None:
    """One line on stderr and exit status 2 (bad input), as `calharness load` reports it; a hub
    this process started is stopped first."""
    stop_hub()
    print(f"calharness load: error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def _prepare_master(options: Any, info: Info) -> None:
    parse_mix(options.mix)
    parse_steps(options.steps)
    plan = load_plan(options.plan) if options.plan else LoadPlan()
    if options.pace <= 0:
        raise OptionError("--pace must be above 0 seconds")
    if options.hubs:
        description = read_description(Path(options.hubs))
    else:
        from harness.load.serve import ServedHubs

        info(f"starting a hub of {options.shards} shard(s), seed {options.load_seed}")
        hub = ServedHubs(max(1, options.shards), options.load_seed)
        _state["hub"] = hub
        description = hub.description
        if not options.mailboxes:
            options.mailboxes = DEFAULT_MAILBOXES
    _state["plan"] = plan
    shards = shard_list(description)
    if not options.mailboxes and load_info(shards[0]) is None:
        options.mailboxes = DEFAULT_MAILBOXES  # an empty hub: seed the default population
    if options.mailboxes:
        linked_every = 0 if options.target else options.linked_every
        result = seed_population(description, mailboxes=options.mailboxes, events=options.events,
                                 linked_every=linked_every, **parse_mix(options.mix))
        fresh = [m for m in result["shards"] if not m.get("reused")]
        if fresh:
            info(f"seeded {sum(m['here'] for m in fresh)} mailboxes x {options.events} events "
                 f"({sum(m['events_seeded'] for m in fresh):,} events) over {len(shards)} "
                 f"shard(s) in {result['seconds']:.1f} s")
    options.hubs_json = json.dumps([s.description for s in shards])
    if options.target:
        _prepare_target(options, shards, info)
    info(f"plan: {plan.describe()}")


def _prepare_target(options: Any, shards: list[Shard], info: Info) -> None:
    """--target: the vendor's implementation, one account for every simulated user."""
    from harness.driver.http import TargetError, check_target_url, probe_target
    from harness.load.target import setup_account

    if len(shards) != 1:
        raise OptionError("--target takes a hub of one shard (the conformance API's account "
                          "set-up names one hub)")
    try:
        options.target = check_target_url(options.target)
        claims = probe_target(options.target)
    except TargetError as exc:
        raise OptionError(str(exc)) from None
    if not claims.bidirectional_sync:
        raise OptionError(f"{options.target} does not claim bidirectional_sync: there is "
                          "nothing for the load to push")
    with talking_to(shards[0], "listing its load mailboxes"), shards[0].control() as control:
        members = [m["address"] for m in control.load_mailboxes()]
    setup_account(options.target, shards[0], members, parse_mix(options.mix), info)


def start_run(options: Any, info: Info) -> None:
    """At test start: the timed run's phases, and the plan in effect on every shard."""
    now = time.time()
    run_time = float(getattr(options, "run_time", 0) or 0)
    if run_time:
        settle = settle_budget(options, run_time)
        options.load_deadline = now + run_time - FLUSH_S
        options.load_finish = options.load_deadline - settle
    else:
        options.load_deadline = options.load_finish = 0.0
    plan: LoadPlan = _state.get("plan") or LoadPlan()
    controls = [s.control() for s in _shards(options)]
    try:
        install(plan, controls)
    finally:
        for c in controls:
            c.close()
    _state["faults_over"] = False
    _state["revoker"] = None
    if plan.revocations is not None:
        _state["revoker"] = Revoker(plan, [s.control() for s in _shards(options)],
                                    seed=options.load_seed)
    if plan.faults or plan.revocations:
        info(f"faults on until {'the settling phase' if run_time else 'the test stops'}")


def seconds_to_finish(options: Any) -> float | None:
    return options.load_finish - time.time() if options.load_finish else None


def end_faults(options: Any, info: Info) -> None:
    """Faults off (the settling phase): once per run."""
    with _lock:
        if _state["faults_over"]:
            return
        _state["faults_over"] = True
    revoker = _state.get("revoker")
    if revoker is not None:
        info(f"{revoker.done} grant(s) revoked")
        for control in revoker.controls:
            control.close()
    controls = [s.control() for s in _shards(options)]
    try:
        clear(controls)
    finally:
        for c in controls:
            c.close()


def faults_over(options: Any) -> bool:
    return bool(_state["faults_over"])


def revoker_of(options: Any) -> Revoker | None:
    return _state.get("revoker")


def report_provider_side(options: Any, info: Info) -> None:
    """One line: what the providers saw (throttling and errors, from the audit logs)."""
    try:
        shards = _shards(options)
        _, rows = audit_summaries(_description(options), [0] * len(shards))
    except Exception as exc:  # the hub may be gone already
        info(f"provider side: not available ({type(exc).__name__})")
        return
    total = sum(r[4] for r in rows)
    throttled = sum(r[4] for r in rows if r[2] == 429 or "Busy" in str(r[3]))
    errors = sum(r[4] for r in rows if r[2] >= 500)
    info(f"provider side (audit logs, last 200,000 requests per shard): {total:,} requests, "
         f"{throttled:,} throttled, {errors:,} server errors")


def stop_hub() -> None:
    hub = _state.get("hub")
    _state["hub"] = None
    if hub is not None:
        hub.stop()


# -- the clock of a timed run ------------------------------------------------------------------
def settle_budget(options: Any, run_time: float | None = None) -> float:
    settle = options.settle if options.settle >= 0 else None
    return settle_seconds(run_time or 40.0, settle)


def time_to_finish(options: Any) -> bool:
    return bool(options.load_finish) and time.time() >= options.load_finish


def time_left_before_finish(options: Any) -> float:
    return options.load_finish - time.time() if options.load_finish else math.inf


def settle_deadline(options: Any) -> float:
    """The settling phase's end as a time.monotonic() deadline."""
    if options.load_deadline:
        return time.monotonic() + max(0.5, options.load_deadline - time.time())
    return time.monotonic() + settle_budget(options)


class Pacer:
    """One step every `pace` seconds (±20%), the first at a random point of the first period."""

    def __init__(self, pace: float, rng: random.Random | None = None) -> None:
        self.pace, self.rng = pace, rng or random.Random()
        self.next = time.monotonic() + self.rng.uniform(0, pace)

    def wait(self, limit: float = math.inf) -> None:
        delay = min(self.next - time.monotonic(), limit)
        if delay > 0:
            time.sleep(delay)
        self.next = max(self.next, time.monotonic() - self.pace) + \
            self.pace * self.rng.uniform(0.8, 1.2)


# -- the users' side ---------------------------------------------------------------------------
def _description(options: Any) -> dict[str, Any]:
    if options.hubs_json:
        shards = json.loads(options.hubs_json)
        return {**shards[0], "shards": shards}
    if options.hubs:
        return read_description(Path(options.hubs))
    raise HubsError("no hub: give --hubs (the master hands it to its workers)")


def _shards(options: Any) -> list[Shard]:
    key = options.hubs_json or options.hubs
    with _lock:
        if _cache.get("shards_key") != key:
            _cache["shards"] = shard_list(_description(options))
            _cache["shards_key"] = key
            _cache["configs"] = {}
        return list(_cache["shards"])


def _config(shard: Shard) -> ReferenceConfig:
    from harness.load.hubs import trimmed
    from harness.load.signin import config_for

    configs = _cache.setdefault("configs", {})
    if shard.index not in configs:
        configs[shard.index] = config_for(trimmed(shard.description))
    return configs[shard.index]  # type: ignore[no-any-return]


class BareGets:
    """The ceiling of the same set-up: a user that only GETs a trivial hub route (no sync core,
    no client library), through httpx with TLS and keep-alive as the Graph connector uses it,
    reported as `bare.get`. Has the integration's interface so the locustfile runs it as is."""

    kind = "bare"

    def __init__(self, shard: Shard, fire: Fire) -> None:
        import httpx

        from harness.net import httpx_verify

        self.fire = fire
        self.url = f"{shard.description['control']}/health"
        self.http = httpx.Client(verify=httpx_verify(shard.ca_bundle), timeout=30.0)

    def connect(self, name: str = "connect") -> bool:
        return True

    def initial(self) -> bool:
        return True

    def session_lost(self) -> None:
        pass

    def step(self) -> bool:
        started = time.perf_counter()
        error: Exception | None = None
        size = 0
        try:
            response = self.http.get(self.url)
            size = len(response.content)
            if response.status_code != 200:
                error = StepFailed(f"HTTP {response.status_code}")
        except Exception as exc:
            error = StepFailed(type(exc).__name__)
        self.fire(self.kind, "bare.get", (time.perf_counter() - started) * 1000, size, error)
        return error is None

    def settle(self, deadline: float) -> bool:
        return True

    def verify(self) -> dict[str, int]:
        return {}

    def close(self) -> None:
        self.http.close()


def new_integration(options: Any, first: int, fire: Fire) -> Integration | None:
    """An integration of a mailbox claimed from shard `first` (or the next with one left)."""
    shards = _shards(options)
    if options.bare:
        return BareGets(shards[first % len(shards)], fire)  # type: ignore[return-value]
    found = claim_mailbox(shards, first)
    if found is None:
        return None
    shard, claim = found
    if options.target:
        from harness.load.target import TargetIntegration

        mix = parse_mix(options.mix)
        return TargetIntegration(  # type: ignore[return-value]
            options.target, shard, claim, fire=fire, step_weights=parse_steps(options.steps),
            authorize_with="ews" if mix.get("ews") and not mix.get("graph") else "graph")
    return Integration(shard, claim, fire=fire, config=_config(shard),
                       step_weights=parse_steps(options.steps))


__all__ = ["FLUSH_S", "Pacer", "StepFailed", "add_options", "end_faults", "new_integration",
           "prepare_master", "start_run"]
