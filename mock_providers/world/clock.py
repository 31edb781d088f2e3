"""The world's clock: real time plus an offset the control API can move.

Real time keeps flowing so that client libraries (which read the host clock for their own token
caches) stay consistent with the mocks; scenarios jump it forward to expire tokens, pass consent
propagation delays or age sync tokens.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    __slots__ = ("_offset",)

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self._offset = offset_seconds

    def timestamp(self) -> float:
        return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    @property
    def offset_seconds(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the world clock only moves forward")
        self._offset += seconds
        return self.now()

    def advance_by(self, delta: timedelta) -> datetime:
        return self.advance(delta.total_seconds())
