"""2xx only after storage: when the database cannot be reached, webhooks answer 503 so senders retry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.settings import Settings
from tests.alerts.conftest import AM_TOKEN, am_alert, am_payload, bearer
from tests.conftest import pg_url
from tests.fakes.slack import FakeSlack


def unreachable_database(tmp_path: Path) -> str:
    """A database URL on the lane under test whose every statement fails as if storage were down."""
    if pg_url() is not None:
        return "postgresql+asyncpg://postgres@127.0.0.1:1/flare"  # nothing listens there
    # An SQLite file that opens but has no tables: every statement raises OperationalError at once.
    # (An unopenable path fails too, but with the one-connection SQLite pool, queued checkouts then
    # wait out pool_timeout before failing, which makes the test slow, not different.)
    empty = tmp_path / "empty.db"
    empty.touch()
    return f"sqlite+aiosqlite:///{empty}"


async def test_storage_down_is_503_and_nothing_reaches_slack(
    start_alerts: Any, make_settings: Callable[..., Settings], tmp_path: Path, fake_slack: FakeSlack
) -> None:
    flare = await start_alerts(settings=make_settings(database_url=unreachable_database(tmp_path)))
    payload = am_payload(am_alert(service="checkout", severity="critical"))
    status, body = await flare.post("/webhooks/alertmanager", json=payload, headers=bearer(AM_TOKEN))
    assert status == 503
    assert body == {"error": "unavailable", "reason": "storage is unavailable; retry later"}
    assert fake_slack.calls_to("chat.postMessage") == []
