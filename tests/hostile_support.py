"""What the hostile sweeps over the Graph and Google mocks count, and the process memory they
print (a sweep is one module-wide tally, filled by every request it sends)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    five_xx: list[str] = field(default_factory=list)
    bad_shape: list[str] = field(default_factory=list)
    wrong_acceptance: list[str] = field(default_factory=list)
    slowest: float = 0.0
    rss_before: int = 0


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
