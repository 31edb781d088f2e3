"""The second load mode: a vendor's implementation behind the conformance API (`--target URL`,
docs/vendors.md) is the integration; the simulated users drive it through the API while the
mocks record what reached them. Locust-free, as harness.load.integration.

One account (the API holds one at a time) is set up once by the master: the contoso admin owns
it, the load mailboxes are its members, calendar write and bi-directional sync are on. A user
claims a mailbox, connects through the API (`connect`: begin_connect, the mocks' sign-in pages,
complete_connect), asks for a first sync-service run (`sync.initial`), then paced steps:
`sync.incremental` (a sync-service run), `push.create` / `push.update` / `push.delete` (a
meeting scheduled, moved or deleted through the API, then a sync-service run). At the end, a
last run (`sync.settle`) and the check (`verify.converged`): every meeting the implementation
holds for the user is on the user's calendar at the provider exactly once (its join link in the
event's location or online-meeting link), as the mocks' own record shows.

Only one hub shard: the API's account set-up names one hub.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from harness.api.models import AccountSpec, ConnectRequest, MeetingRequest, MeetingUpdate
from harness.driver.http import HttpDriver
from harness.load.hubs import Shard, trimmed
from harness.load.integration import DEFAULT_STEP_WEIGHTS, STEPS, Fire, StepFailed
from harness.useragent import UserAgent


def target_error_kind(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    if code:
        return f"refused: {code}"
    text = str(exc).lower()
    if "no answer" in text or "timed out" in text:
        return "no answer from the target"
    if "answered 5" in text:
        return "target server error"
    return type(exc).__name__


def setup_account(target: str, shard: Shard, members: list[str], mix: dict[str, int],
                  info: Callable[[str], None]) -> None:
    """The one account every user of the run belongs to, with sync on."""
    hub = trimmed(shard.description)
    tenant = next(t for t in shard.description["microsoft"]["tenants"] if t["key"] == "contoso")
    owner = next(u["upn"] for u in tenant["users"] if u["is_admin"])
    driver = HttpDriver(target, hub)
    try:
        driver.setup_account(AccountSpec(owner=owner, members=members))
        changes: dict[str, Any] = {
            "calendar_integration": True, "default_calendar_service": "office365",
            "calendar_permission": "write", "contacts_permission": "none",
            "bidirectional_sync": True,
            "authorize_with": "ews" if mix.get("ews") and not mix.get("graph") else "graph"}
        if changes["authorize_with"] == "ews":
            changes["ews_url"] = shard.description["microsoft"]["ews"]
        result = driver.change_settings(owner, changes)
        if not result.accepted:
            raise RuntimeError(f"the target refused the account settings: {result.reason}")
        info(f"target account: owner {owner}, {len(members)} members, sync on")
    finally:
        driver.close()


class TargetIntegration:
    def __init__(self, target: str, shard: Shard, claim: dict[str, Any], *, fire: Fire,
                 authorize_with: str = "graph", rng: random.Random | None = None,
                 step_weights: dict[str, int] | None = None) -> None:
        self.shard, self.claim, self.fire = shard, claim, fire
        self.address: str = claim["address"]
        self.google = claim["kind"] == "google"
        self.kind = "google" if self.google else authorize_with
        self.driver = HttpDriver(target, trimmed(shard.description))
        self.rng = rng or random.Random(int(claim["index"]))
        weights = step_weights or DEFAULT_STEP_WEIGHTS
        self._steps = [s for s in STEPS if weights.get(s, 0) > 0]
        self._weights = [weights[s] for s in self._steps]
        self._control = shard.control(timeout=60.0)
        self.meetings: list[str] = []
        self.connected = False
        self.connected_once = False
        self.initialized = False

    def _timed(self, name: str, fn: Callable[[], int]) -> bool:
        started = time.perf_counter()
        error: Exception | None = None
        size = 0
        try:
            size = fn()
        except StepFailed as exc:
            error = exc
        except Exception as exc:
            error = StepFailed(target_error_kind(exc))
        self.fire(self.kind, name, (time.perf_counter() - started) * 1000, size, error)
        return error is None

    def connect(self, name: str = "connect") -> bool:
        def run() -> int:
            request = ConnectRequest(service="google" if self.google else "office365")
            start = self.driver.begin_connect(self.address, request)
            if start.authorization_url:
                with UserAgent(self.shard.ca_bundle) as agent:
                    outcome = agent.authorize(start.authorization_url, username=self.address,
                                              password=self.claim["password"],
                                              stop_at=start.redirect_uri or "")
                if not outcome.callback_url:
                    raise StepFailed("sign-in did not come back")
                status = self.driver.complete_connect(self.address, outcome.callback_url)
                if status.state != "connected":
                    raise StepFailed(f"not connected: {status.state}")
            self.connected = self.connected_once = True
            return 1
        return self._timed(name, run)

    def session_lost(self) -> None:
        self.connected = False

    def _sync(self) -> int:
        result = self.driver.run_sync_service(self.address)
        if not result.ran:
            raise StepFailed(f"sync did not run: {result.message or 'no reason given'}")
        return (len(result.created) + len(result.updated_remote) + len(result.deleted_remote)
                + len(result.updated_meetings) + len(result.cancelled_meetings))

    def initial(self) -> bool:
        self.initialized = self._timed("sync.initial", self._sync)
        return self.initialized

    def step(self) -> bool:
        if not self.connected:
            return self.connect("connect.reauth" if self.connected_once else "connect")
        if not self.initialized:
            return self.initial()
        name = self.rng.choices(self._steps, self._weights)[0]

        def run() -> int:
            if name == "push.create":
                start = (datetime.now(UTC) + timedelta(days=self.rng.randint(1, 25))).replace(
                    minute=0, second=0, microsecond=0)
                meeting = self.driver.schedule_meeting(self.address, MeetingRequest(
                    subject=f"Load meeting {self.claim['index']}-{len(self.meetings)}",
                    start=start, end=start + timedelta(minutes=30)))
                self.meetings.append(meeting.id)
            elif name in ("push.update", "push.delete") and self.meetings:
                meeting_id = self.rng.choice(self.meetings)
                if name == "push.update":
                    current = next((m for m in self.driver.platform_meetings(self.address)
                                    if m.id == meeting_id), None)
                    if current is not None:
                        moved = current.start + timedelta(hours=1)
                        self.driver.update_meeting(self.address, meeting_id, MeetingUpdate(
                            start=moved, end=moved + timedelta(minutes=30)))
                else:
                    self.driver.delete_meeting(self.address, meeting_id)
                    self.meetings.remove(meeting_id)
            return self._sync()
        label = name if name == "push.create" or self.meetings or name == "sync.incremental" \
            else "sync.incremental"
        return self._timed(label, run)

    def settle(self, deadline: float) -> bool:
        def run() -> int:
            last: Exception | None = None
            while time.monotonic() < deadline:
                try:
                    return self._sync()
                except Exception as exc:
                    last = exc
                    time.sleep(0.5)
            raise last or TimeoutError("no time left to settle")
        return self._timed("sync.settle", run)

    def verify(self) -> dict[str, int]:
        result: dict[str, int] = {}

        def run() -> int:
            held = self.driver.platform_meetings(self.address)
            events = self._control.events(self.address)
            texts = [f"{e.get('location') or ''} {e.get('join_url') or ''}" for e in events]
            counts = {m.id: sum(1 for t in texts if m.join_url and m.join_url in t)
                      for m in held}
            result.update(meetings=len(held),
                          lost=sum(1 for n in counts.values() if n == 0),
                          duplicated=sum(1 for n in counts.values() if n > 1), stale=0)
            bad = {k: result[k] for k in ("lost", "duplicated") if result[k]}
            if bad:
                raise StepFailed("not converged: " + ", ".join(f"{k} {v}" for k, v in
                                                               bad.items()))
            return len(held)
        self._timed("verify.converged", run)
        return result

    def close(self) -> None:
        self.driver.close()
        self._control.close()
