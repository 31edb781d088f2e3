"""One simulated integration of one mailbox: what a Locust user of the load scenarios is, without
Locust (this module imports no gevent and no locust; the locustfile is a thin layer over it).

Its life: claim a mailbox from a hub shard, connect once (the real authorization-code flow on
the mocks' pages: `connect`), the initial sync (`sync.initial`: the engine from no cursor over a
calendar whose meeting-linked events the platform already holds), then, at the pace the
locustfile sets, steps drawn by weight: an incremental round (`sync.incremental`), or a
platform-side write the next round pushes to the provider (`push.create`, `push.update`,
`push.delete`: the time is the round's). A revoked grant makes the next step fail with
"reauth required" and the integration signs in again (`connect.reauth`) and resumes from its
cursor. At the end it settles (`sync.settle`: faults are off by then; rounds until one
completes) and checks convergence at the provider (`verify.converged`: every meeting the
platform holds is there exactly once, none it cancelled is left).

Every step is reported through `fire(kind, name, milliseconds, size, error)`: Locust's request
event, so its statistics, charts and CSVs show the sync core's steps, not raw HTTP.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from harness.load.hubs import Shard, trimmed
from harness.load.signin import Kind, SignedIn, config_for, sign_in_user
from harness.reference import ReferenceConfig
from harness.sync import (
    Meeting,
    MeetingFields,
    ReauthRequired,
    RetryPolicy,
    RoundIncomplete,
    RoundReport,
    SyncEngine,
)
from harness.sync.memory import MemoryPlatform, MemoryStore
from mock_providers.world.bulk import LINK_PREFIX, event_values

STEPS = ("sync.incremental", "push.create", "push.update", "push.delete")
DEFAULT_STEP_WEIGHTS = {"sync.incremental": 4, "push.create": 3, "push.update": 2,
                        "push.delete": 1}
Fire = Callable[[str, str, float, int, "Exception | None"], None]


class StepFailed(Exception):
    """A step's failure, by kind: Locust groups failures by this message, so it is stable."""


def error_kind(exc: BaseException) -> str:
    """A short, stable name for what went wrong (the report's "errors by kind")."""
    if isinstance(exc, ReauthRequired):
        return "reauth required"
    text = str(exc)
    if isinstance(exc, RoundIncomplete):
        text = " ".join(exc.failures)
    lowered = text.lower()
    if any(s in lowered for s in ("429", "throttl", "serverbusy", "ratelimit", "toomany")):
        return "throttled (retries exhausted)"
    if "changed concurrently" in lowered or "412" in lowered:
        return "conflict"
    if any(s in lowered for s in ("503", "502", "500", "504", "unavailable", "transient",
                                  "dropped", "readerror", "remoteprotocol", "connect")):
        return "server error or dropped connection (retries exhausted)"
    if isinstance(exc, RoundIncomplete):
        return "round incomplete"
    return type(exc).__name__


class Integration:
    def __init__(self, shard: Shard, claim: dict[str, Any], *, fire: Fire,
                 config: ReferenceConfig | None = None, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None, retry: RetryPolicy | None = None,
                 step_weights: dict[str, int] | None = None) -> None:
        self.shard, self.claim, self.fire, self.sleep = shard, claim, fire, sleep
        self.kind: Kind = claim["kind"]
        self.index: int = int(claim["index"])
        self.address: str = claim["address"]
        self.config = config or config_for(trimmed(shard.description))
        self.rng = rng or random.Random(self.index)
        self.retry = retry or RetryPolicy(attempts=4, base_delay=0.2, max_delay=5.0)
        weights = step_weights or DEFAULT_STEP_WEIGHTS
        self._steps = [s for s in STEPS if weights.get(s, 0) > 0]
        self._cum = list(itertools.accumulate(weights[s] for s in self._steps))
        self.platform = MemoryPlatform()
        self.store = MemoryStore()
        self.session: SignedIn | None = None
        self.engine: SyncEngine | None = None
        self.offset = 0.0  # the world clock's offset from real time
        self.rounds = 0
        self.initialized = False  # the initial sync has completed
        self.connected_once = False
        self._pushed = 0
        self._control = shard.control(timeout=60.0)
        self._fill_platform()

    # -- set-up ------------------------------------------------------------------------------
    def _fill_platform(self) -> None:
        """The meetings the platform already holds: the seeded events tied to a meeting."""
        base = datetime.fromisoformat(self.claim["base"])
        step_s, every = int(self.claim["step_s"]), int(self.claim["linked_every"])
        if not every:
            return
        for j in range(0, int(self.claim["events"]), every):
            topic, description, start, end, meeting = event_values(self.index, j, base, step_s,
                                                                   every)
            assert meeting is not None
            self.platform.meetings_by_id[meeting] = Meeting(
                meeting, self.address, "organizer",
                MeetingFields(topic, description, start.astimezone(UTC), end.astimezone(UTC)),
                LINK_PREFIX + meeting)

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def _timed(self, name: str, fn: Callable[[], int]) -> bool:
        started = time.perf_counter()
        error: Exception | None = None
        size = 0
        try:
            size = fn()
        except ReauthRequired as exc:
            error = StepFailed(error_kind(exc))
            self.session_lost()
        except Exception as exc:
            error = StepFailed(error_kind(exc))
        self.fire(self.kind, name, (time.perf_counter() - started) * 1000, size, error)
        return error is None

    def connect(self, name: str = "connect") -> bool:
        def run() -> int:
            if self.session is not None:
                self.session.close()
                self.session = None
            self.offset = float(self._control.clock().get("offset_seconds", 0.0))
            session = sign_in_user(self.config, self.kind, self.address, self.claim["password"],
                                   self.shard.ca_bundle, sleep=self.sleep)
            self.session = session
            self.engine = SyncEngine(session.connector, self.platform, self.store,
                                     sleep=self.sleep, retry=self.retry)
            self.connected_once = True
            return 1
        return self._timed(name, run)

    def session_lost(self) -> None:
        """The grant is gone: the next step signs in again (the store keeps its cursor)."""
        self.engine = None

    # -- steps ---------------------------------------------------------------------------------
    def _round(self) -> int:
        if self.engine is None:
            raise ReauthRequired("not signed in")
        report: RoundReport = self.engine.run_round(self.now())
        self.rounds += 1
        return (len(report.created) + len(report.updated_remote) + len(report.deleted_remote)
                + len(report.updated_meetings) + len(report.cancelled_meetings)
                + len(report.linked))

    def initial(self) -> bool:
        self.initialized = self._timed("sync.initial", self._round)
        return self.initialized

    def step(self) -> bool:
        """One step at the pace: drawn by weight; first (again) what did not succeed yet: the
        connection (after a lost grant: the re-authorization), the initial sync."""
        if self.engine is None:
            return self.connect("connect.reauth" if self.connected_once else "connect")
        if not self.initialized:
            return self.initial()
        name = self.rng.choices(self._steps, cum_weights=self._cum)[0]
        return self.run_step(name)

    def run_step(self, name: str) -> bool:
        if name == "push.create":
            self._schedule()
        elif (name == "push.update" and not self._reschedule()) or \
                (name == "push.delete" and not self._cancel()):
            name = "sync.incremental"  # nothing pushed yet to change
        return self._timed(name, self._round)

    def _pushed_ids(self) -> list[str]:
        prefix = f"p{self.index}x"
        return sorted(m for m in self.platform.meetings_by_id if m.startswith(prefix))

    def _schedule(self) -> None:
        self._pushed += 1
        meeting_id = f"p{self.index}x{self._pushed}"
        start = (self.now() + timedelta(days=self.rng.randint(1, 25),
                                        hours=self.rng.randint(0, 8))).replace(
            minute=0, second=0, microsecond=0)
        fields = MeetingFields(f"Pushed meeting {meeting_id}",
                               f"Scheduled under load ({self.kind})", start,
                               start + timedelta(minutes=30))
        self.platform.meetings_by_id[meeting_id] = Meeting(
            meeting_id, self.address, "organizer", fields, LINK_PREFIX + meeting_id)

    def _reschedule(self) -> bool:
        pushed = self._pushed_ids()
        if not pushed:
            return False
        meeting = self.platform.meetings_by_id[self.rng.choice(pushed)]
        moved = meeting.fields.start + timedelta(hours=1)
        self.platform.meetings_by_id[meeting.id] = replace(meeting, fields=replace(
            meeting.fields, topic=f"{meeting.fields.topic.split(' (')[0]} (moved)", start=moved,
            end=moved + timedelta(minutes=30)))
        return True

    def _cancel(self) -> bool:
        pushed = self._pushed_ids()
        if not pushed:
            return False
        self.platform.cancel_meeting(self.rng.choice(pushed))
        return True

    # -- the end -------------------------------------------------------------------------------
    def settle(self, deadline: float) -> bool:
        """Rounds until one completes (faults are off by now), re-authorizing if need be."""
        def run() -> int:
            last: Exception | None = None
            while time.monotonic() < deadline:
                if self.engine is None:
                    self.connect("connect.reauth")
                    if self.engine is None:
                        self.sleep(0.5)
                        continue
                try:
                    return self._round()
                except ReauthRequired as exc:
                    last = exc
                    self.session_lost()
                except Exception as exc:
                    last = exc
                    self.sleep(0.2)
            raise last or TimeoutError("no time left to settle")
        return self._timed("sync.settle", run)

    def check(self) -> dict[str, int]:
        """Convergence at the provider: each meeting the platform holds is there exactly once;
        no event is left for a meeting the platform no longer has."""
        counts = self._control.load_links(address=self.address).get(self.address, {})
        meetings = self.platform.meetings_by_id
        pushed_prefix = f"p{self.index}x"
        return {
            "meetings": len(meetings),
            "pushed": sum(1 for m in meetings if m.startswith(pushed_prefix)),
            "lost": sum(1 for m in meetings if counts.get(m, 0) == 0),
            "duplicated": sum(1 for m in meetings if counts.get(m, 0) > 1),
            "stale": sum(1 for m, n in counts.items() if n and m not in meetings),
        }

    def verify(self) -> dict[str, int]:
        result: dict[str, int] = {}

        def run() -> int:
            result.update(self.check())
            bad = {k: result[k] for k in ("lost", "duplicated", "stale") if result[k]}
            if bad:
                raise StepFailed("not converged: " + ", ".join(f"{k} {v}" for k, v in
                                                               bad.items()))
            return result["meetings"]

        started = time.perf_counter()
        error: Exception | None = None
        size = 0
        try:
            size = run()
        except StepFailed as exc:
            error = exc
        except Exception as exc:
            error = StepFailed(f"check failed: {error_kind(exc)}")
        self.fire(self.kind, "verify.converged", (time.perf_counter() - started) * 1000, size,
                  error)
        return result

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None
        self._control.close()


def claim_mailbox(shards: list[Shard], first: int) -> tuple[Shard, dict[str, Any]] | None:
    """A mailbox from shard `first` (mod the shard count), else from the next shard with one."""
    for step in range(len(shards)):
        shard = shards[(first + step) % len(shards)]
        with shard.control(timeout=60.0) as control:
            claim = control.load_claim()
        if claim is not None:
            return shard, claim
    return None
