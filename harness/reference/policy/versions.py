"""Version numbers compared the way their vendors mean them: numerically, component by component
(5.10.0 is newer than 5.2.2; 15.1.544.27 is newer than 15.1.466.34), missing components as 0."""

from __future__ import annotations

import re

_VERSION = re.compile(r"^\s*v?([0-9]+(?:\.[0-9]+){0,3})(?:\s*\(([0-9]+)\))?\s*$")

# The re-integration prompt after a lock appears only on clients of this version or newer.
PROMPT_MIN_CLIENT = (5, 2, 2)
# Exchange 2016 Cumulative Update 3 (September 2016); older hybrid servers need the EWS URL.
EXCHANGE_2016_CU3 = (15, 1, 544, 27)


def parse_version(text: str) -> tuple[int, ...]:
    """`5.2.2`, `5.17.11 (31580)` or `15.1.466.34` -> a tuple of integers; ValueError otherwise.
    A build number in parentheses comes after major.minor.patch (5.2 (3000) is 5.2.0.3000)."""
    match = _VERSION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a version number like 5.2.2")
    parts = [int(p) for p in match.group(1).split(".")]
    if match.group(2) is not None:
        parts += [0] * (3 - len(parts))
        parts.append(int(match.group(2)))
    return tuple(parts)


def compare(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    width = max(len(a), len(b))
    left, right = a + (0,) * (width - len(a)), b + (0,) * (width - len(b))
    return (left > right) - (left < right)


def at_least(version: str, minimum: tuple[int, ...]) -> bool:
    return compare(parse_version(version), minimum) >= 0


def client_gets_prompt(version: str) -> bool:
    return at_least(version, PROMPT_MIN_CLIENT)


def older_than_exchange_2016_cu3(build: str) -> bool:
    return compare(parse_version(build), EXCHANGE_2016_CU3) < 0
