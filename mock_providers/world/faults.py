"""The fault plan: faults a scenario schedules on any mock route, rendered by each provider in
its own error format (Graph JSON, AADSTS token errors, EWS SOAP faults, Google error bodies)."""

from __future__ import annotations

import random
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

FaultKind = Literal["status", "throttle", "latency", "drop"]
PROVIDERS = ("identity", "graph", "ews", "google-oauth", "google-calendar", "google-people")


class FaultSpec(BaseModel):
    """What a client asks for through the control API (validated; unknown fields refused)."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    provider: str | None = Field(None, description="one of PROVIDERS; None matches all")
    method: str | None = None
    path: str | None = Field(None, description="regular expression searched in the request path")
    user: str | None = Field(None, description="upn/email of the principal the fault applies to")
    status: int | None = Field(None, ge=400, le=599)
    code: str | None = Field(None, description="provider error code, e.g. ServiceUnavailable")
    retry_after: int | None = Field(None, ge=0, le=3600, description="seconds, for throttle")
    delay_ms: int = Field(0, ge=0, le=120_000)
    times: int | None = Field(1, ge=1, description="requests it hits; None = until removed")
    after: int = Field(0, ge=0, description="let this many matching requests through first")
    probability: float = Field(1.0, gt=0.0, le=1.0)

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, v: str | None) -> str | None:
        if v is not None and v not in PROVIDERS:
            raise ValueError(f"unknown provider {v!r}; expected one of {', '.join(PROVIDERS)}")
        return v

    @field_validator("path")
    @classmethod
    def _valid_regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"path is not a valid regular expression: {exc}") from None
        return v

    @field_validator("method")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.upper() if v else v


class Fault:
    __slots__ = ("id", "spec", "_path_re", "seen", "hits")

    def __init__(self, fault_id: str, spec: FaultSpec) -> None:
        self.id = fault_id
        self.spec = spec
        self._path_re = re.compile(spec.path) if spec.path else None
        self.seen = 0  # matching requests observed
        self.hits = 0  # requests the fault was applied to

    @property
    def exhausted(self) -> bool:
        return self.spec.times is not None and self.hits >= self.spec.times

    def matches(self, provider: str, method: str, path: str, user: str | None) -> bool:
        s = self.spec
        if s.provider is not None and s.provider != provider:
            return False
        if s.method is not None and s.method != method:
            return False
        if self._path_re is not None and not self._path_re.search(path):
            return False
        return s.user is None or (user or "").lower() == s.user.lower()

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, **self.spec.model_dump(), "seen": self.seen, "hits": self.hits}


class FaultPlan:
    def __init__(self, seed: int) -> None:
        self._faults: list[Fault] = []
        self._rng = random.Random(seed)  # probabilistic faults replay identically per seed
        self._next = 1

    def add(self, spec: FaultSpec) -> Fault:
        fault = Fault(f"fault-{self._next}", spec)
        self._next += 1
        self._faults.append(fault)
        return fault

    def remove(self, fault_id: str) -> bool:
        before = len(self._faults)
        self._faults = [f for f in self._faults if f.id != fault_id]
        return len(self._faults) != before

    def clear(self) -> None:
        self._faults.clear()

    def list(self) -> list[Fault]:
        return list(self._faults)

    def take(self, provider: str, method: str, path: str, user: str | None = None) -> Fault | None:
        """The fault to apply to this request, if any (consumes one of its `times`)."""
        if not self._faults:  # the hot path under load: no plan, no work
            return None
        for fault in self._faults:
            if fault.exhausted or not fault.matches(provider, method, path, user):
                continue
            fault.seen += 1
            if fault.seen <= fault.spec.after:
                continue
            if fault.spec.probability < 1.0 and self._rng.random() >= fault.spec.probability:
                continue
            fault.hits += 1
            return fault
        return None
