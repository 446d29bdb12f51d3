"""What a runbook step is: its context, result and type. The steps and their registry are in steps.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from bot.cloudrun.targets import Target
from bot.container import Container


@dataclass(frozen=True)
class StepResult:
    """What a step found or did. Text is plain (escaped when rendered)."""

    status: str
    summary: str
    lines: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepContext:
    """What a running step may use."""

    c: Container
    run_id: int
    position: int
    target: Target
    channel: str
    requested_by: str
    request_key: str


Runner = Callable[[StepContext, Any], Awaitable[StepResult]]


@dataclass(frozen=True)
class StepType:
    """A kind of step: its parameter model, possible statuses and fields, and its implementation."""

    name: str
    description: str
    params: type[BaseModel]
    statuses: frozenset[str]
    fields: frozenset[str]
    run: Runner
    # Parameters naming a catalog service (checked by `flare check-config`).
    service_params: tuple[str, ...] = ()

    def all_statuses(self) -> frozenset[str]:
        """Its statuses plus the ones every step can have."""
        return self.statuses | {"skipped", "failed"}
