"""A first start looks healthy: no ERROR lines for optional features, one line saying what is off."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.slack import FakeSlack
from tests.support.process import ROOT, server_env, start_server

pytestmark = pytest.mark.slow

EXAMPLE = ROOT / "flare.example.yaml"


def catalog_variables() -> list[str]:
    """The variables flare.example.yaml names for webhook and deploy credentials."""
    live = "\n".join(line for line in EXAMPLE.read_text().splitlines() if not line.lstrip().startswith("#"))
    return sorted(set(re.findall(r"_env:\s*([A-Z][A-Z0-9_]+)", live)))


async def start_and_read(fake_slack: FakeSlack, database_url: str, tmp_path: Path, **env: str) -> list[Any]:
    server = await start_server(
        server_env(fake_slack, database_url, FLARE_CONFIG=str(EXAMPLE), **env), tmp_path
    )
    try:
        assert server.terminate() == 0
    finally:
        server.kill()
    return [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]


async def test_a_first_start_logs_no_errors_and_one_line_of_what_is_off(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    variables = catalog_variables()
    assert variables, "the example catalog names webhook variables"
    records = await start_and_read(fake_slack, database_url, tmp_path, LOG_LEVEL="INFO")
    assert [r for r in records if r["severity"] in ("ERROR", "CRITICAL")] == []
    [line] = [r for r in records if "waiting_for" in r or "off" in r]
    assert line["severity"] == "WARNING", "the catalog asks for webhooks whose secrets are unset"
    for variable in [
        *variables,
        "METRICS_TOKEN",
        "FLARE_API_TOKEN",
        "FLARE_TICK_TOKEN",
        "SENTRY_DSN",
        "SLACK_CLIENT_ID",
    ]:
        assert variable in line.get("waiting_for", "") + line.get("off", ""), variable


async def test_with_every_variable_set_nothing_is_reported_off(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    secrets = {name: f"secret-value-{i}-abcdef" for i, name in enumerate(catalog_variables())}
    records = await start_and_read(
        fake_slack,
        database_url,
        tmp_path,
        LOG_LEVEL="INFO",
        METRICS_TOKEN="m-123456",
        FLARE_API_TOKEN="a-123456",
        FLARE_TICK_TOKEN="t-123456",
        **secrets,
    )
    [line] = [r for r in records if "waiting_for" in r or "off" in r]
    assert (line["severity"], line["message"]) == ("INFO", "optional features off")
    assert "waiting_for" not in line
    assert line["off"] == (
        "console (/ui/) (set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, FLARE_PUBLIC_URL, FLARE_SESSION_SECRET); "
        "Sentry (set SENTRY_DSN)"
    )


async def test_debug_shows_flare_not_library_internals_unless_asked(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    quiet = await start_and_read(fake_slack, database_url, tmp_path, LOG_LEVEL="DEBUG")
    assert quiet, "no log lines at all"
    assert [r["logger"] for r in quiet if not r["logger"].startswith("flare")] == []
    loud = await start_and_read(fake_slack, database_url, tmp_path, LOG_LEVEL="DEBUG", FLARE_DEBUG_LIBS="1")
    assert any(r["logger"].startswith(("aiosqlite", "asyncio", "sqlalchemy", "slack")) for r in loud)
