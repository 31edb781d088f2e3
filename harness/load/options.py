"""The load scenarios' knobs, parsed the same way by the locustfile and `calharness load`."""

from __future__ import annotations

from harness.load.integration import DEFAULT_STEP_WEIGHTS, STEPS

KINDS = ("graph", "ews", "google")
DEFAULT_MIX = {"graph": 6, "ews": 2, "google": 2}


class OptionError(ValueError):
    """A knob that cannot be used; one line."""


def _weights(text: str, names: tuple[str, ...], option: str) -> dict[str, int]:
    out: dict[str, int] = dict.fromkeys(names, 0)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or name not in names or not (value.isascii() and value.isdigit()):
            raise OptionError(f"{option} {text!r}: expected name=weight pairs with names from "
                              f"{', '.join(names)} (e.g. {names[0]}=3)")
        out[name] = int(value)
        if out[name] > 1000:
            raise OptionError(f"{option}: a weight is at most 1000")
    if not any(out.values()):
        raise OptionError(f"{option} {text!r}: at least one weight must be above 0")
    return out


def parse_mix(text: str) -> dict[str, int]:
    """`graph=6,ews=2,google=2` → weights of the integrations' kinds (missing kinds: 0)."""
    return _weights(text, KINDS, "--mix")


def parse_steps(text: str) -> dict[str, int]:
    """`sync.incremental=4,push.create=3,...` → weights of the paced steps."""
    return _weights(text, STEPS, "--steps")


def format_weights(weights: dict[str, int]) -> str:
    return ",".join(f"{k}={v}" for k, v in weights.items() if v)


DEFAULT_MIX_TEXT = format_weights(DEFAULT_MIX)
DEFAULT_STEPS_TEXT = format_weights(DEFAULT_STEP_WEIGHTS)


def settle_seconds(run_time: float, settle: float | None) -> float:
    """How long before the end of a timed run the integrations stop loading and settle."""
    if settle is not None:
        return settle
    return max(4.0, min(30.0, run_time * 0.25))
