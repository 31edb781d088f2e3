r"""The fault plan: faults a scenario schedules on any mock route, rendered by each provider in
its own error format (Graph JSON, AADSTS token errors, EWS SOAP faults, Google error bodies).

Path patterns are compiled with RE2, whose matching time is linear in the path: a pattern such as
`^/graph/v1\.0/me/(a+)+$` would make a backtracking engine spin for seconds on every request the
single-threaded hub serves. RE2 has no backreferences or lookaround; such patterns are refused
when the fault is scheduled (422), as are patterns too large for RE2's memory budget.
"""

from __future__ import annotations

import random
from typing import Any, Literal

import re2
from pydantic import BaseModel, ConfigDict, Field, field_validator

FaultKind = Literal["status", "throttle", "latency", "drop"]
PROVIDERS = ("identity", "graph", "ews", "google-oauth", "google-calendar", "google-people")
MAX_PATTERN_CHARS = 1000
_RE2_MAX_MEM = 1 << 20  # compiled program budget per pattern


def compile_path_pattern(pattern: str) -> Any:
    """The RE2 program for a fault's path pattern; ValueError when RE2 cannot take it."""
    options = re2.Options()
    options.log_errors = False  # the 422 says it; no C++ log line on the hub's stderr
    options.max_mem = _RE2_MAX_MEM
    try:
        return re2.compile(pattern, options=options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(f"path is not a regular expression RE2 accepts (linear-time matching: "
                         f"no backreferences or lookaround): {reason}") from None


class FaultSpec(BaseModel):
    """What a client asks for through the control API (validated; unknown fields refused)."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    provider: str | None = Field(None, description="one of PROVIDERS; None matches all")
    method: str | None = Field(None, max_length=16)
    path: str | None = Field(None, max_length=MAX_PATTERN_CHARS,
                             description="regular expression (RE2 syntax) searched in the path")
    user: str | None = Field(None, max_length=320,
                             description="upn/email of the principal the fault applies to")
    status: int | None = Field(None, ge=400, le=599)
    code: str | None = Field(None, max_length=100,
                             description="provider error code, e.g. ServiceUnavailable")
    retry_after: int | None = Field(None, ge=0, le=3600, description="seconds, for throttle")
    delay_ms: int = Field(0, ge=0, le=120_000)
    times: int | None = Field(1, ge=1, le=1_000_000_000,
                              description="requests it hits; None = until removed")
    after: int = Field(0, ge=0, le=1_000_000_000,
                       description="let this many matching requests through first")
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
            compile_path_pattern(v)
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
        self._path_re = compile_path_pattern(spec.path) if spec.path else None
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
