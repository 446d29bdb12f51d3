"""The outbound Slack boundary: a Protocol and the errors the dispatcher acts on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class SlackCallError(Exception):
    """A Slack Web API call failed."""

    def __init__(self, method: str, error: str) -> None:
        super().__init__(f"{method}: {error}")
        self.method = method
        self.error = error


class SlackRateLimited(SlackCallError):
    """HTTP 429: wait `retry_after` seconds before calling this method again."""

    def __init__(self, method: str, retry_after: float) -> None:
        super().__init__(method, "ratelimited")
        self.retry_after = retry_after


class SlackTransientError(SlackCallError):
    """5xx, timeouts and connection errors: worth retrying with backoff."""


class SlackPermanentError(SlackCallError):
    """`ok: false` with an error retrying will not fix (channel_not_found, invalid_auth, ...)."""


# Errors Slack reports with ok:false that are still worth retrying.
TRANSIENT_ERRORS = frozenset(
    {
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "ratelimited",
        "team_added_to_org",
    }
)


class SlackGateway(Protocol):
    """Makes Slack Web API calls; raises the errors above."""

    async def call(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Call `method` with `params` and return the response body."""
        ...

    async def upload_file(
        self, *, channel: str, filename: str, content: str, title: str, initial_comment: str | None
    ) -> dict[str, Any]:
        """Upload a text file to a channel (files.getUploadURLExternal, upload, completeUploadExternal)."""
        ...

    async def respond(self, url: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST a message to a response_url (valid 30 minutes, 5 uses)."""
        ...
