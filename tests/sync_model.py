"""The state machines' model of the documented resolution (docs/architecture.md, "Sync core";
`harness/sync/planner.py`): what each side did to each linked meeting since the last round
that converged, and what the next round that completes must make of it.

- a deletion on either side wins over an edit on the other;
- one side changed → that side's values on both sides;
- both changed → a three-way merge per field against the agreed values, the platform winning
  a clash — but outside the 30-day window (the record holds no content) the platform wins whole.

The model is told only what the rules did (not what the engine did), so it is an oracle and
not a copy of the planner. It predicts only what the documents decide: a meeting whose agreed
state it does not know (scheduled since, or a round failed half way: some of its writes may
have landed) is predicted again once a round completes and both sides agree on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from harness.sync import MeetingFields, merge
from harness.sync.planner import in_window, live

GONE = "gone"  # the outcome of a deletion: no meeting, no event


@dataclass(frozen=True, slots=True)
class Agreed:
    fields: MeetingFields
    at: datetime  # the clock of the round that found both sides agreeing


@dataclass
class ResolutionModel:
    agreed: dict[str, Agreed] = field(default_factory=dict)
    platform: dict[str, MeetingFields | None] = field(default_factory=dict)  # None: deleted
    provider: dict[str, MeetingFields | None] = field(default_factory=dict)
    checked: int = 0  # predictions that a round was held to (the soak reports them)

    # -- what the rules did ----------------------------------------------------------------------
    def platform_edit(self, meeting_id: str, fields: MeetingFields) -> None:
        if self.platform.get(meeting_id, fields) is not None:
            self.platform[meeting_id] = fields

    def platform_delete(self, meeting_id: str) -> None:
        self.platform[meeting_id] = None

    def provider_edit(self, meeting_id: str, fields: MeetingFields) -> None:
        if self.provider.get(meeting_id, fields) is not None:
            self.provider[meeting_id] = fields

    def provider_delete(self, meeting_id: str) -> None:
        self.provider[meeting_id] = None

    def provider_fields(self, meeting_id: str) -> MeetingFields | None:
        """The meeting's event as the provider holds it now, as far as the model knows (None:
        deleted or unknown)."""
        if meeting_id in self.provider:
            return self.provider[meeting_id]
        known = self.agreed.get(meeting_id)
        return known.fields if known is not None else None

    # -- rounds ----------------------------------------------------------------------------------
    def expected(self, now: datetime) -> dict[str, MeetingFields | str]:
        """What the round that completed at `now` must have made of each known meeting: its
        values on both sides, or GONE. Meetings left out are not decided by the documents
        alone (e.g. the meeting has ended: retention, not resolution, applies)."""
        out: dict[str, MeetingFields | str] = {}
        for meeting_id, known in self.agreed.items():
            base = known.fields
            platform = self.platform.get(meeting_id, base)
            provider = self.provider.get(meeting_id, base)
            if platform is None:
                out[meeting_id] = GONE  # deleted on the platform: the event goes too
                continue
            if provider is None:
                if live(platform, now):  # an ended meeting's record is discarded instead
                    out[meeting_id] = GONE
                continue
            if not live(platform, now):
                continue  # retention decides: the record is dropped, nothing merged
            if provider == base:
                out[meeting_id] = platform
            elif platform == base:
                out[meeting_id] = provider
            elif in_window(base, known.at):
                out[meeting_id] = merge(base, platform, provider)
            else:
                out[meeting_id] = platform  # no base outside the window: the platform wins
        return out

    def converged(self, now: datetime, agreeing: Mapping[str, MeetingFields]) -> None:
        """A round completed at `now`: `agreeing` are the live meetings whose two sides agree
        now (one event, the meeting's values). They are the base of the next prediction."""
        self.agreed = {m: Agreed(f, now) for m, f in agreeing.items()}
        self.platform.clear()
        self.provider.clear()

    def forget(self, meeting_ids: Iterable[str] | None = None) -> None:
        """A round failed half way: what it wrote is unknown, so nothing is predicted for
        these meetings (all when None) until a round completes."""
        ids = list(self.agreed) if meeting_ids is None else list(meeting_ids)
        for meeting_id in ids:
            self.agreed.pop(meeting_id, None)
            self.platform.pop(meeting_id, None)
            self.provider.pop(meeting_id, None)


def identity(fields: MeetingFields) -> object:
    return fields


def check_round(model: ResolutionModel, now: datetime,
                meetings: Mapping[str, MeetingFields],
                events: Mapping[str, list[Any]],
                view: Callable[[MeetingFields], object] = identity) -> None:
    """Hold the sides after a completed round to the model: `meetings` the platform's (by id),
    `events` the platform-made events on the provider by the meeting their link names, as
    `view` shows values (the connector machine reads the world's own record of an event, not
    a connector's conversion of it: title and times)."""
    for meeting_id, outcome in model.expected(now).items():
        held = events.get(meeting_id, [])
        if outcome == GONE:
            assert meeting_id not in meetings, (meeting_id, "deletion must win: meeting kept",
                                                meetings.get(meeting_id))
            assert not held, (meeting_id, "deletion must win: event kept", held)
        else:
            assert meetings.get(meeting_id) == outcome, (
                meeting_id, "platform", meetings.get(meeting_id), "expected", outcome,
                model.agreed[meeting_id], model.platform.get(meeting_id, "unchanged"),
                model.provider.get(meeting_id, "unchanged"))
            assert held == [view(outcome)], (meeting_id, "provider", held, "expected",
                                             outcome)
        model.checked += 1
