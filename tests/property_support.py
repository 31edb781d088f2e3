"""How many examples the property tests draw: their own default, or fewer when a mutation run
(`mutmut run`, docs/prove.md) sets CALHARNESS_PROPERTY_EXAMPLES, since it reruns them per mutant."""

from __future__ import annotations

import os


def examples(default: int) -> int:
    raw = os.environ.get("CALHARNESS_PROPERTY_EXAMPLES")
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"CALHARNESS_PROPERTY_EXAMPLES must be a positive integer, got {raw!r}")
    return int(raw)
