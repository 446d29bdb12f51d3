"""Reading drafts back: GET /api/incidents/{id}/postmortem.md and `flare postmortem` (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bot.settings import Settings
from tests.conftest import API_TOKEN, DATA, Flare, StartFlare
from tests.fakes.slack import FakeSlack
from tests.postmortem.helpers import command, declare, drafts
from tests.support.waits import settle

ROUTE = "/api/incidents/{}/postmortem.md"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


async def two_versions(flare: Flare, fake: FakeSlack) -> tuple[str, str]:
    """INC-1 with drafts v1 and v2 (a note in between); their markdown."""
    channel = await declare(flare, fake)
    await command(flare, "postmortem", channel=channel)
    await command(flare, "note root cause: a dropped index", channel=channel)
    await command(flare, "postmortem", channel=channel)
    await settle(flare)
    first, second = await drafts(flare)
    return first.markdown, second.markdown


async def test_the_route_serves_stored_versions_as_markdown(pm: Flare, fake_slack: FakeSlack) -> None:
    first, second = await two_versions(pm, fake_slack)
    async with pm.http.get(pm.url + ROUTE.format("INC-1"), headers=AUTH) as response:
        assert response.status == 200
        assert response.content_type == "text/markdown"
        assert response.charset == "utf-8"
        assert response.headers["X-Flare-Postmortem-Version"] == "2"
        assert 'filename="inc-1-postmortem-v2.md"' in response.headers["Content-Disposition"]
        assert await response.text() == second
    status, body = await pm.get(ROUTE.format(1) + "?version=1", headers=AUTH)
    assert (status, body) == (200, first)
    assert "a dropped index" in second
    assert "a dropped index" not in first


async def test_the_route_refuses_clearly(pm: Flare, fake_slack: FakeSlack) -> None:
    channel = await declare(pm, fake_slack)
    status, body = await pm.get(ROUTE.format(1))
    assert status == 401
    assert "Bearer" in body["reason"]
    status, body = await pm.get(ROUTE.format(1), headers={"Authorization": f"Bearer {API_TOKEN}x"})
    assert status == 401
    status, body = await pm.get(ROUTE.format(1), headers=AUTH)
    assert status == 404
    assert "no post-mortem draft yet" in body["reason"]
    status, body = await pm.get(ROUTE.format(9), headers=AUTH)
    assert status == 404
    assert body["reason"] == "INC-9 does not exist"
    status, body = await pm.get(ROUTE.format("abc"), headers=AUTH)
    assert status == 400
    assert "id must be" in body["reason"]
    await command(pm, "postmortem", channel=channel)
    status, body = await pm.get(ROUTE.format(1) + "?version=0", headers=AUTH)
    assert status == 400
    assert "version must be" in body["reason"]
    status, body = await pm.get(ROUTE.format(1) + "?version=5", headers=AUTH)
    assert (status, body["versions"]) == (404, [1])


async def test_the_route_is_off_without_an_api_token(
    start_flare: StartFlare, make_settings: Callable[..., Settings]
) -> None:
    flare = await start_flare(make_settings(flare_api_token=None))
    status, body = await flare.get(ROUTE.format(1), headers=AUTH)
    assert status == 404
    assert "FLARE_API_TOKEN" in body["reason"]


def run_flare(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`flare ARGS` as a user runs it, with only DATABASE_URL and the catalog set."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "SENTRY_", "FLARE_", "DATABASE_", "PORT", "METRICS_", "LOG_"))
    }
    env.update({"DATABASE_URL": database_url, "FLARE_CONFIG": str(DATA / "catalog.yaml")})
    return subprocess.run(
        [sys.executable, "-m", "handlers.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_cli_prints_or_writes_a_draft(
    pm: Flare, fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    first, second = await two_versions(pm, fake_slack)
    printed = run_flare("postmortem", "INC-1", database_url=database_url, cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == second
    assert "draft v2" in printed.stderr
    out = tmp_path / "inc-1.md"
    written = run_flare(
        "postmortem", "1", "--version", "1", "-o", str(out), database_url=database_url, cwd=tmp_path
    )
    assert written.returncode == 0, written.stderr
    assert out.read_text(encoding="utf-8") == first
    assert "inc-1.md" in written.stdout


async def test_the_cli_explains_what_it_cannot_print(
    pm: Flare, fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    await declare(pm, fake_slack)
    fresh = run_flare("postmortem", "INC-1", database_url=database_url, cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout.startswith("# Post-mortem: INC-1 — checkout is failing")
    assert "rendered from the current data" in fresh.stderr
    assert "not stored" in fresh.stderr
    assert await drafts(pm) == []
    missing = run_flare("postmortem", "INC-404", database_url=database_url, cwd=tmp_path)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert "INC-404 does not exist" in missing.stderr
    bad = run_flare("postmortem", "yesterday", database_url=database_url, cwd=tmp_path)
    assert bad.returncode == 2
    assert "expected an incident like INC-42" in bad.stderr
    assert "Traceback" not in fresh.stderr + missing.stderr + bad.stderr
