"""What an `/incident` subcommand kept in a module of its own reads of the parsed call.

A Protocol, so those modules need not import handlers/commands/incident.py (which imports them).
"""

from __future__ import annotations

from typing import Protocol


class Invocation(Protocol):
    """The parts of a parsed /incident call a subcommand module uses."""

    @property
    def user(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def incident_id(self) -> int | None: ...
    @property
    def args(self) -> list[str]: ...
    @property
    def rest(self) -> str: ...
