"""The exact traffic allocation of a service (LATEST or a revision, percent, tag), stored as JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.cloudrun.models import ServiceInfo, TrafficSplit

Allocation = list[dict[str, Any]]


def allocation_of(info: ServiceInfo) -> Allocation:
    """The configured traffic of `info` as JSON-ready entries."""
    return [
        {"latest": s.latest, "revision": None if s.latest else s.revision, "percent": s.percent, "tag": s.tag}
        for s in info.traffic
    ]


def splits_of(allocation: Sequence[Mapping[str, Any]]) -> list[TrafficSplit]:
    """TrafficSplits to send to Cloud Run for a stored allocation."""
    return [
        TrafficSplit(
            int(e.get("percent") or 0),
            revision=None if e.get("latest") else e.get("revision"),
            latest=bool(e.get("latest")),
            tag=e.get("tag") or None,
        )
        for e in allocation
    ]


def resolved(allocation: Sequence[Mapping[str, Any]], latest_ready: str | None) -> dict[str, int]:
    """Revision -> percent, LATEST resolved to `latest_ready`."""
    out: dict[str, int] = {}
    for e in allocation:
        name = latest_ready if e.get("latest") else e.get("revision")
        if name and e.get("percent"):
            out[str(name)] = out.get(str(name), 0) + int(e["percent"])
    return out


def follows_latest(info: ServiceInfo) -> bool:
    """True when some traffic goes to LATEST (new deploys get it automatically)."""
    return any(s.latest and s.percent for s in info.traffic)


def describe(allocation: Sequence[Mapping[str, Any]]) -> str:
    """'LATEST 100%' / 'rev-a 90%, rev-b 10% (tag canary)' in plain words."""
    parts = []
    for e in allocation:
        if not e.get("percent") and not e.get("tag"):
            continue
        name = "LATEST" if e.get("latest") else str(e.get("revision"))
        tag = f" (tag {e['tag']})" if e.get("tag") else ""
        parts.append(f"{name} {int(e.get('percent') or 0)}%{tag}")
    return ", ".join(parts) or "nothing"
