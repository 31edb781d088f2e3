"""Throttling: the per-app-per-mailbox limits (per hub) and the counters that enforce them.

Throttling follows the Outlook limits Microsoft documents *per app per mailbox*: at most
`per_10_min` requests in a fixed 10-minute window of the world clock (windows start at multiples
of 600 s) and at most `concurrency` requests in flight at once. Over either limit the answer is
429 `TooManyRequests` with an integer `Retry-After` (seconds to the end of the window, or 1 s for
the concurrency limit) and `innerError.code` `ApplicationThrottled`. The limits are per hub:
`set_limits(hub, concurrency, per_10_min)` changes them (None switches a limit off) and
`reset_limits(hub)` restores `DEFAULT_LIMITS`. They survive a world reset; the counters do not.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mock_providers.microsoft.graph.errors import GraphError

if TYPE_CHECKING:
    from mock_providers.hub import Hub


@dataclass(frozen=True, slots=True)
class GraphLimits:
    """Outlook's documented per-app-per-mailbox limits; None switches one off."""

    concurrency: int | None = 4
    per_10_min: int | None = 10_000
    window_seconds: int = 600


DEFAULT_LIMITS = GraphLimits()
_hub_limits: dict[int, GraphLimits] = {}


def limits_for(hub: Hub) -> GraphLimits:
    return _hub_limits.get(id(hub), DEFAULT_LIMITS)


def set_limits(hub: Hub, concurrency: int | None, per_10_min: int | None) -> GraphLimits:
    """Change this hub's Graph limits (None = no limit); the control API and benchmarks call it."""
    for name, value in (("concurrency", concurrency), ("per_10_min", per_10_min)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be a positive integer or None")
    key = id(hub)
    if key not in _hub_limits:
        weakref.finalize(hub, _hub_limits.pop, key, None)
    limits = GraphLimits(concurrency, per_10_min, DEFAULT_LIMITS.window_seconds)
    _hub_limits[key] = limits
    return limits


def reset_limits(hub: Hub) -> GraphLimits:
    _hub_limits.pop(id(hub), None)
    return DEFAULT_LIMITS


@dataclass(frozen=True)
class GraphLimitsAdmin:
    """The control API's view of the limits (`mock_providers.hub.GraphAdmin`)."""

    hub: Hub

    def set_limits(self, concurrency: int | None, per_10_min: int | None) -> GraphLimits:
        return set_limits(self.hub, concurrency, per_10_min)

    def reset_limits(self) -> GraphLimits:
        return reset_limits(self.hub)


@dataclass(slots=True)
class Throttle:
    """Counters keyed by (client_id, mailbox user id)."""

    windows: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # key -> [window, n]
    in_flight: dict[tuple[str, str], int] = field(default_factory=dict)

    def clear(self) -> None:
        self.windows.clear()
        self.in_flight.clear()

    def enter(self, key: tuple[str, str], limits: GraphLimits, now: float) -> None:
        """Count one request in, or raise the 429; a caller that got through must `leave`."""
        if limits.per_10_min is not None:
            window = int(now // limits.window_seconds)
            slot = self.windows.get(key)
            if slot is None or slot[0] != window:
                slot = [window, 0]
                self.windows[key] = slot
            if slot[1] >= limits.per_10_min:
                retry = max(1, math.ceil((window + 1) * limits.window_seconds - now))
                raise GraphError(
                    429, "TooManyRequests",
                    "Application is over its request limit for this mailbox "
                    f"({limits.per_10_min} requests per {limits.window_seconds // 60} minutes).",
                    headers=[(b"retry-after", str(retry).encode())],
                    inner_code="ApplicationThrottled")
            slot[1] += 1
        n = self.in_flight.get(key, 0)
        if limits.concurrency is not None and n >= limits.concurrency:
            raise GraphError(429, "TooManyRequests",
                             "Application is over its MailboxConcurrency limit.",
                             headers=[(b"retry-after", b"1")], inner_code="ApplicationThrottled")
        # Counted even with the limit off, so switching it on mid-flight stays consistent.
        self.in_flight[key] = n + 1

    def leave(self, key: tuple[str, str]) -> None:
        n = self.in_flight.get(key, 0) - 1
        if n > 0:
            self.in_flight[key] = n
        else:
            self.in_flight.pop(key, None)
