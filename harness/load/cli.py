"""`calharness load`'s body (harness/cli.py only declares the options)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.load.hubs import HubsError
from harness.load.options import OptionError
from harness.load.plan import PlanError
from harness.load.report import headline
from harness.load.run import LoadError, LoadSettings, run_load


def load_command(options: dict[str, Any], say: Callable[[str], None]) -> int:
    """Runs the load; LoadError (one line) for settings that cannot run."""
    ctx = options.pop("ctx")
    settings = LoadSettings(extra=list(ctx.args), out=options.pop("out_dir", None), **{
        k: v for k, v in options.items() if k in LoadSettings.__dataclass_fields__})
    if settings.target:
        from harness.driver.http import TargetError, check_target_url, probe_target

        try:
            settings.target = check_target_url(settings.target)
            probe_target(settings.target)
        except TargetError as exc:
            raise LoadError(str(exc)) from None
    try:
        code, page, data = run_load(settings, say)
    except (LoadError, OptionError, PlanError, HubsError) as exc:
        raise LoadError(str(exc)) from None
    conv = data["convergence"]
    say(headline(data))
    for name, step in data["steps"].items():
        say(f"  {name:<18} {step['count']:>8,}  {step['failures']:>6,} failed  "
            f"p50 {step['p50_ms']:>7.0f} ms  p99 {step['p99_ms']:>7.0f} ms")
    throttled = sum(p["throttled"] for p in data["provider_side"].values())
    say(f"providers: {sum(p['requests'] for p in data['provider_side'].values()):,} requests, "
        f"{throttled:,} throttled")
    say(f"convergence: {'ok' if conv['converged'] else 'FAILED'} — {conv['integrations']} of "
        f"{conv['started']} integrations checked ({conv['unchecked']} not), "
        f"{conv['meetings']:,} meetings: {conv['lost']} lost, "
        f"{conv['duplicated']} duplicated, {conv['stale']} left behind")
    say(f"load report: {page}")
    return code


__all__ = ["load_command"]
