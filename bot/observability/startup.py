"""The one line a start logs about optional features that are off, and which variable turns each on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    """An optional feature, and the variables that turn it on (empty when it is on)."""

    name: str
    variables: tuple[str, ...]
    configured: bool = False  # the catalog asks for it, so a missing variable is a problem, not a choice


def summary(features: Iterable[Feature]) -> tuple[str, str, dict[str, str]] | None:
    """(level, message, extra) for the start-up line, or None when every feature is on."""
    off = [f for f in features if f.variables]
    if not off:
        return None
    waiting = [f for f in off if f.configured]
    unset = [f for f in off if not f.configured]
    extra: dict[str, str] = {}
    if waiting:
        extra["waiting_for"] = "; ".join(f"{f.name} (set {', '.join(f.variables)})" for f in waiting)
    if unset:
        extra["off"] = "; ".join(f"{f.name} (set {', '.join(f.variables)})" for f in unset)
    if waiting:
        message = "some features the catalog configures answer 503 until their variables are set"
        return "WARNING", message, extra
    return "INFO", "optional features off", extra
