"""Run health probes concurrently, each under its own timeout, and aggregate them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["healthy", "degraded", "unhealthy"]
_RANK: dict[Status, int] = {"healthy": 0, "degraded": 1, "unhealthy": 2}


@dataclass(frozen=True)
class Outcome:
    """What a probe found: a status and a short human detail."""

    status: Status
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Probe:
    """A named check with a timeout; a failing critical probe makes the whole report unhealthy."""

    name: str
    run: Callable[[], Awaitable[Outcome]]
    critical: bool = False
    timeout: float = 2.0


@dataclass(frozen=True)
class CheckResult:
    """One probe's outcome and how long it took."""

    name: str
    status: Status
    latency_ms: float
    critical: bool
    detail: str
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out: dict[str, Any] = {
            "status": self.status,
            "latency_ms": round(self.latency_ms, 1),
            "critical": self.critical,
        }
        if self.detail:
            out["detail"] = self.detail
        out.update(self.data)
        return out


@dataclass(frozen=True)
class Report:
    """All probe results and the aggregate status."""

    status: Status
    results: list[CheckResult]
    total_ms: float

    def summary(self) -> dict[str, int]:
        """Counts by status."""
        counts = {"total": len(self.results), "healthy": 0, "degraded": 0, "unhealthy": 0}
        for result in self.results:
            counts[result.status] += 1
        return counts


async def _timed(probe: Probe) -> CheckResult:
    started = time.perf_counter()
    try:
        outcome = await asyncio.wait_for(probe.run(), timeout=probe.timeout)
    except TimeoutError:
        outcome = Outcome("unhealthy", f"timed out after {probe.timeout:g}s")
    except Exception as exc:  # a probe's failure is its result, not ours
        outcome = Outcome("unhealthy", f"{type(exc).__name__}: {str(exc)[:200]}")
    latency = (time.perf_counter() - started) * 1000
    return CheckResult(probe.name, outcome.status, latency, probe.critical, outcome.detail, outcome.data)


def aggregate(results: Sequence[CheckResult]) -> Status:
    """Unhealthy if a critical probe is unhealthy; degraded if anything else is not healthy."""
    status: Status = "healthy"
    for result in results:
        if result.status == "healthy":
            continue
        level: Status = "unhealthy" if result.critical and result.status == "unhealthy" else "degraded"
        if _RANK[level] > _RANK[status]:
            status = level
    return status


async def run_probes(probes: Sequence[Probe]) -> Report:
    """Run every probe at once; the total time is about the slowest probe's."""
    started = time.perf_counter()
    results = list(await asyncio.gather(*(_timed(p) for p in probes)))
    return Report(aggregate(results), results, (time.perf_counter() - started) * 1000)
