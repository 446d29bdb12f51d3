"""Catalog settings for incident handling."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from bot.catalog.base import StrictModel


def _prefix(value: str) -> str:
    if not re.match(r"^[a-z][a-z0-9-]{0,19}$", value):
        raise ValueError("must be 1-20 lower-case letters, digits or dashes, like inc")
    return value


def _workspace(value: str | None) -> str | None:
    if value is None:
        return None
    url = value.strip().rstrip("/")
    if not re.match(r"^https://[a-z0-9][a-z0-9.-]*\.[a-z]{2,}$", url, re.IGNORECASE):
        raise ValueError("must be the workspace's address, like https://acme.slack.com")
    return url.lower()


class IncidentSettings(StrictModel):
    """How incident channels are named and what happens on resolve."""

    channel_prefix: Annotated[str, AfterValidator(_prefix)] = "inc"
    postmortem_on_resolve: bool = False
    # Links post-mortem timelines to Slack messages (https://acme.slack.com/archives/C…/p…).
    slack_workspace_url: Annotated[str | None, AfterValidator(_workspace)] = None
