"""Planner mutants the sync state machines must kill: each breaks one documented resolution
rule while keeping both sides in agreement and nothing lost or duplicated (what the machines
checked before they kept a model of each side's changes). They use the mutant mechanism of
the reference's catalogue (`harness.reference.mutants.core`), applied around a machine run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from harness.reference.mutants.core import Mutant, mutant
from harness.sync.model import digest
from harness.sync.planner import CreateEvent, UpdateEvent, create_key

DECIDE = "harness.sync.planner:_decide"


def _recreate(original: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    """An event deleted on the provider is made again instead of the meeting being cancelled."""

    def _decide(meeting: Any, record: Any, event: Any, adopted: Any, provider_deleted: bool,
                *args: Any) -> list[Any]:
        if provider_deleted and meeting is not None and record is not None \
                and record.event_id is not None:
            return [CreateEvent(meeting, create_key(meeting.id), verify_first=False)]
        return original(meeting, record, event, adopted, provider_deleted, *args)

    return _decide


def _one_way(original: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    """An edit made on the provider side is overwritten with the platform's values: it never
    flows back."""

    def _decide(meeting: Any, record: Any, event: Any, adopted: Any, provider_deleted: bool,
                *args: Any) -> list[Any]:
        if meeting is not None and record is not None and record.event_id is not None \
                and event is not None and not provider_deleted \
                and digest(event.fields) != record.digest:
            return [UpdateEvent(replace(record, etag=event.etag), meeting, meeting.fields)]
        return original(meeting, record, event, adopted, provider_deleted, *args)

    return _decide


PLANNER_MUTANTS: list[Mutant] = [
    mutant("planner-recreates-deleted-event", "SYNC-02",
           "an event deleted on the provider is re-created instead of cancelling the meeting",
           (DECIDE, _recreate)),
    mutant("planner-one-way", "SYNC-02",
           "provider-side edits are overwritten by the platform and never flow back",
           (DECIDE, _one_way)),
]
