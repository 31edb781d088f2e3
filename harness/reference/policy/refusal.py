"""A refusal: what the policy says no to, with a machine-readable code and a message for people.

Every policy check returns refusals instead of raising, so callers can refuse without having
changed anything and tests can compare outcomes directly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    message: str


def first(refusals: list[Refusal]) -> Refusal | None:
    return refusals[0] if refusals else None
