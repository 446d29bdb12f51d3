"""The one way Flare writes a duration, on every surface: "40s", "3m 20s", "2h 5m", "1d 2h"."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """Two units at most, zero parts left out; never negative: 40 -> "40s", 200 -> "3m 20s"."""
    total = max(int(seconds), 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    for big, big_unit, small, small_unit in (
        (days, "d", hours, "h"),
        (hours, "h", minutes, "m"),
        (minutes, "m", secs, "s"),
    ):
        if big:
            return f"{big}{big_unit} {small}{small_unit}" if small else f"{big}{big_unit}"
    return f"{secs}s"
