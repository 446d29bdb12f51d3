"""What storing one submission of alerts changed: shared by the store and the group bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Outcome:
    """What storing one submission changed."""

    stored: int = 0
    resolved: int = 0
    duplicates: int = 0
    # Stored occurrences whose source sent newer content (severity, labels, annotations).
    updated: int = 0
    unrouted: int = 0
    replay: bool = False
    groups: set[int] = field(default_factory=set)
    # Groups that gained firing alerts whose route auto-declares at their severity.
    declare: set[int] = field(default_factory=set)
    # The earliest time one of the changed groups may be rendered (None if nothing changed).
    due: datetime | None = None
