"""Secrets never reach Sentry: events pass through our before_send on their way to the transport."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from bot.observability.sentry import init_sentry
from bot.settings import Settings

BOT_TOKEN = "xoxb-1111-2222-abcdefSECRET"
SIGNING_SECRET = "signing-secret-0f9e8d7c6b"
DB_PASSWORD = "pg-pass-Zq81"


class CapturingTransport(Transport):
    """A sentry-sdk transport that keeps envelopes instead of sending them."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def payloads(self) -> str:
        """Every event, serialized as it would leave the process."""
        return "\n".join(
            json.dumps(item.payload.json) for env in self.envelopes for item in env.items if item.payload.json
        )


@pytest.fixture
def transport() -> Iterator[CapturingTransport]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        database_url=f"postgresql+asyncpg://flare:{DB_PASSWORD}@db.internal/flare",
        sentry_dsn="https://public@o0.ingest.sentry.invalid/1",
        sentry_environment="test",
    )
    capture = CapturingTransport()
    assert init_sentry(settings, transport=capture)
    yield capture
    sentry_sdk.get_client().close()
    sentry_sdk.init()


def test_request_headers_cookies_and_secret_values_are_scrubbed(transport: CapturingTransport) -> None:
    with sentry_sdk.new_scope() as scope:
        scope.set_context("request", {})
        scope.add_event_processor(
            lambda event, _hint: {
                **event,
                "request": {
                    "url": "https://flare.example.com/slack/events",
                    "method": "POST",
                    "headers": {
                        "Authorization": f"Bearer {BOT_TOKEN}",
                        "X-Slack-Signature": "v0=abcdef0123456789",
                        "Cookie": "session=abc123",
                        "User-Agent": "Slackbot 1.0",
                    },
                    "cookies": {"session": "abc123"},
                    "query_string": "token=hunter2hunter2",
                },
            }
        )
        scope.set_extra("slack_token", BOT_TOKEN)
        scope.set_extra("note", f"failed with signing secret {SIGNING_SECRET}")
        try:
            url = f"postgresql://flare:{DB_PASSWORD}@db.internal/flare"
            raise RuntimeError(f"cannot connect to {url} with {BOT_TOKEN}")
        except RuntimeError as exc:
            sentry_sdk.capture_exception(exc)
    sentry_sdk.flush()
    sent = transport.payloads()
    assert sent, "no event reached the transport"
    for secret in (BOT_TOKEN, SIGNING_SECRET, DB_PASSWORD, "abc123", "v0=abcdef0123456789"):
        assert secret not in sent, f"{secret!r} leaked to Sentry"
    assert "Slackbot 1.0" in sent, "scrubbing removed harmless data too"
    assert "cannot connect to postgresql://flare:" in sent


def test_breadcrumbs_are_scrubbed_too(transport: CapturingTransport) -> None:
    sentry_sdk.add_breadcrumb(category="slack", message=f"calling chat.postMessage with {BOT_TOKEN}")
    sentry_sdk.capture_message("something happened")
    sentry_sdk.flush()
    sent = transport.payloads()
    assert "calling chat.postMessage with" in sent
    assert BOT_TOKEN not in sent
