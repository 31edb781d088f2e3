"""The providers' time: the world's clock, which scenarios move (retention, token expiry) and
which may therefore be ahead of the wall clock. Steps that choose a window to look at meetings in
take it from here, so a window never misses what the world holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from harness.bdd.context import ScenarioContext


def world_now(ctx: ScenarioContext) -> datetime:
    return datetime.fromisoformat(str(ctx.control.clock()["now"])).astimezone(UTC)


def world_window(ctx: ScenarioContext, back_days: int = 3,
                 ahead_days: int = 14) -> tuple[datetime, datetime]:
    now = world_now(ctx)
    return now - timedelta(days=back_days), now + timedelta(days=ahead_days)
