"""A controllable clock for tests: real time plus an offset you move forward (never backwards).

Pass it to `create_app(clock=...)` (e.g. `start_flare(clock=clock)`); share one instance between
several apps so they agree on the time. It keeps running with real time, so the outbox dispatcher
(which uses the same clock for pacing and leases) still makes progress.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class ManualClock:
    """Tells real time shifted by an offset; `advance` jumps forward."""

    def __init__(self, start: datetime | None = None) -> None:
        base = datetime.now(UTC)
        if start is not None and start < base:
            raise ValueError("start must not be in the past: the outbox compares against real enqueue times")
        self._offset = (start - base) if start is not None else timedelta(0)
        self._t0 = time.monotonic()
        self._base = base

    def now(self) -> datetime:
        """The current (shifted) time, timezone-aware UTC."""
        return self._base + timedelta(seconds=time.monotonic() - self._t0) + self._offset

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Jump forward by `delta` (or timedelta(**kwargs)); returns the new time."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError("a clock only moves forward")
        self._offset += step
        return self.now()
