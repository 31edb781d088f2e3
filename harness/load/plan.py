"""Fault mixes for a load run, from a plan file (YAML or JSON), validated on load.

    # plan.yaml
    throttling: real          # the providers' own limits (Graph per app per mailbox): on by
                              # default; "off" lifts them
    faults:
      - kind: throttle        # 429 with Retry-After (EWS: ErrorServerBusy + BackOffMilliseconds)
        rate: 0.02            # share of matching requests that get it
        retry_after: 1
        provider: graph       # optional: graph, ews, google-calendar, identity, google-oauth
      - kind: status          # a server error
        status: 503
        rate: 0.01
      - kind: latency
        delay_ms: 150
        rate: 0.05
      - kind: drop            # the connection is cut mid-response
        rate: 0.001
    revocations:
      per_minute: 6           # grants revoked across the claimed population (re-authorization
                              # follows: the integration signs in again and resumes)

A bad plan is refused with one line naming the file, the field and the reason.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PROVIDERS = ("identity", "graph", "ews", "google-oauth", "google-calendar", "google-people")


class PlanError(ValueError):
    """A plan that cannot be used; the message is one line."""


class FaultMix(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["throttle", "status", "latency", "drop"]
    rate: float = Field(gt=0.0, le=1.0, description="share of matching requests hit")
    provider: Literal["identity", "graph", "ews", "google-oauth", "google-calendar",
                      "google-people"] | None = None
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] | None = None
    status: int | None = Field(None, ge=400, le=599)
    retry_after: int | None = Field(None, ge=0, le=120)
    delay_ms: int = Field(0, ge=0, le=30_000)

    @model_validator(mode="after")
    def _coherent(self) -> FaultMix:
        if self.kind == "latency" and self.delay_ms <= 0:
            raise ValueError("a latency fault needs delay_ms > 0")
        if self.kind == "status" and self.status is None:
            raise ValueError("a status fault needs a status (e.g. 503)")
        if self.kind == "throttle" and self.status not in (None, 429, 503):
            raise ValueError("a throttle fault answers 429 (or 503 with Retry-After)")
        return self

    def fault_spec(self) -> dict[str, Any]:
        """The control API's FaultSpec for it: every matching request, at the rate, until the
        plan is cleared."""
        spec: dict[str, Any] = {"kind": self.kind, "probability": self.rate, "times": None,
                                "provider": self.provider, "method": self.method}
        if self.kind == "throttle":
            spec["retry_after"] = 1 if self.retry_after is None else self.retry_after
            if self.status is not None:
                spec["status"] = self.status
        elif self.kind == "status":
            spec["status"] = self.status
            if self.retry_after is not None:
                spec["retry_after"] = self.retry_after
        elif self.kind == "latency":
            spec["delay_ms"] = self.delay_ms
        return {k: v for k, v in spec.items() if v is not None or k == "times"}


class Revocations(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per_minute: float = Field(gt=0.0, le=6000.0)


class LoadPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    throttling: Literal["real", "off"] = "real"
    faults: list[FaultMix] = Field(default_factory=list, max_length=50)
    revocations: Revocations | None = None

    def describe(self) -> str:
        parts = [f"throttling {self.throttling}"]
        parts += [f"{f.kind} {f.rate:g}" + (f" on {f.provider}" if f.provider else "")
                  for f in self.faults]
        if self.revocations:
            parts.append(f"{self.revocations.per_minute:g} revocations/min")
        return ", ".join(parts)


def parse_plan(data: Any, source: str = "plan") -> LoadPlan:
    if data is None:
        data = {}
    try:
        return LoadPlan.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        message = first["msg"].removeprefix("Value error, ")
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise PlanError(f"{source}: {where}: {message}{more}") from None


def load_plan(path: Path | str) -> LoadPlan:
    """The plan in the file (YAML, of which JSON is a subset); PlanError with one line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"cannot read plan {path}: {getattr(exc, 'strerror', None) or exc}"
                        ) from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise PlanError(f"plan {path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}"
                        f": {reason}") from None
    if data is not None and not isinstance(data, dict):
        raise PlanError(f"{path}: the plan is a mapping (throttling, faults, revocations), "
                        f"not a {type(data).__name__}")
    return parse_plan(data, str(path))


def install(plan: LoadPlan, controls: list[Any]) -> None:
    """Put the plan into effect on every shard (ControlClients): throttling, then faults."""
    for control in controls:
        control.clear_faults()
        if plan.throttling == "off":
            control.set_graph_limits(None, None)
        else:
            control._call("DELETE", "/microsoft/graph/limits")  # the real limits
        for fault in plan.faults:
            control.add_fault(**fault.fault_spec())


def clear(controls: list[Any]) -> None:
    """Faults off (the real throttling limits stay): what a run's settling phase needs."""
    for control in controls:
        control.clear_faults()


class Revoker:
    """Revokes grants at the plan's rate among the claimed load mailboxes; `tick()` as often as
    convenient does what is due since the last call."""

    def __init__(self, plan: LoadPlan, controls: list[Any], seed: int = 0) -> None:
        self.per_second = plan.revocations.per_minute / 60 if plan.revocations else 0.0
        self.controls = controls
        self.rng = random.Random(seed)
        self.owed = 0.0
        self.done = 0
        self._last: float | None = None

    def tick(self, now: float) -> int:
        if not self.per_second:
            return 0
        if self._last is None:
            self._last = now
            return 0
        self.owed += (now - self._last) * self.per_second
        self._last = now
        count = 0
        while self.owed >= 1.0:
            self.owed -= 1.0
            if self.revoke_one():
                count += 1
        self.done += count
        return count

    def revoke_one(self) -> bool:
        control = self.rng.choice(self.controls)
        claimed = control.load_mailboxes(claimed=True)
        if not claimed:
            return False
        address = self.rng.choice(claimed)["address"]
        if "load-google-" in address:
            control._call("POST", f"/google/users/{address}/revoke")
        else:
            control.revoke_sessions(address)
        return True
