"""POST /webhooks/deploy end to end: auth, one message per deploy updated in place, retries, bad bodies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.catalog import Catalog
from tests.conftest import METRICS_TOKEN, Flare, pg_url
from tests.deploys.conftest import DEPLOYS, PAYMENTS, TOKEN_ENV, StartDeploys
from tests.deploys.helpers import deploy_event, deploys, messages_about, send
from tests.fakes.slack import FakeSlack
from tests.support.messages import text_of
from tests.support.waits import settle


async def test_started_then_succeeded_is_one_message_per_channel_updated_in_place(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    status, body = await send(flare, deploy_event())
    assert status == 200, body
    assert body["status"] == "ok"
    assert body["deploy_status"] == "started"
    deploy_id = body["deploy"]
    await settle(flare)
    for channel in (DEPLOYS, PAYMENTS):
        [message] = messages_about(fake_slack, channel, deploy_id)
        shown = text_of(message)
        assert "Deploy of checkout (production)" in shown
        assert "started" in shown
        assert "alice" in shown
        assert "us-docker.pkg.dev/acme/app/checkout@sha256:" in shown
        assert "<https://github.com/acme/checkout/commit/4f2c9e1" in shown  # linked short sha
        assert "|4f2c9e1>" in shown
        assert "Speed up the cart total" in shown
        assert "_running_" in shown

    done_at = datetime.now(UTC) + timedelta(minutes=4, seconds=10)
    status, body = await send(
        flare, deploy_event(status="succeeded", revision="checkout-00004-xyz", timestamp=done_at.isoformat())
    )
    assert status == 200, body
    assert (body["deploy"], body["deploy_status"]) == (deploy_id, "succeeded")
    await settle(flare)
    for channel in (DEPLOYS, PAYMENTS):
        [message] = messages_about(fake_slack, channel, deploy_id)  # still one message
        assert message.edits == 1
        shown = text_of(message)
        assert "succeeded in 4m" in shown
        assert "`checkout-00004-xyz`" in shown
    [row] = await deploys(flare)
    assert (row.status, row.revision, row.source) == ("succeeded", "checkout-00004-xyz", "webhook")
    assert row.finished_at is not None
    assert row.finished_at - row.started_at >= timedelta(minutes=4)


async def test_a_failed_deploy_is_highlighted(flare: Flare, fake_slack: FakeSlack) -> None:
    await send(flare, deploy_event())
    status, body = await send(flare, deploy_event(status="failed", message="Smoke tests failed"))
    assert status == 200, body
    assert body["deploy_status"] == "failed"
    await settle(flare)
    [message] = messages_about(fake_slack, DEPLOYS, body["deploy"])
    assert message.text.startswith("Deploy of checkout (production) FAILED")
    assert message.blocks is not None
    title = message.blocks[0]["text"]["text"]
    assert title.startswith(":red_circle:")
    assert "*FAILED*" in title
    assert "This deploy failed" in text_of(message)
    assert "Smoke tests failed" in text_of(message)


async def test_a_retried_delivery_changes_nothing(flare: Flare, fake_slack: FakeSlack) -> None:
    started = deploy_event()
    finished = deploy_event(status="succeeded", revision="checkout-00004-xyz")
    answers = []
    for body in (started, started, finished, finished, started):
        status, answer = await send(flare, body)
        assert status == 200, answer
        answers.append(answer["status"])
    assert answers == ["ok", "duplicate", "ok", "duplicate", "ignored"]
    await settle(flare)
    assert len(await deploys(flare)) == 1
    [message] = messages_about(fake_slack, DEPLOYS, 1)
    assert message.edits == 1  # started -> succeeded; the replays did not touch it
    assert "succeeded" in text_of(message)
    assert len(fake_slack.ok_calls("chat.postMessage")) == 2  # deployments + team channel
    metrics = await flare.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    lines = str(metrics[1]).splitlines()
    assert 'deploys_total{env="production",service="checkout",status="started"} 1.0' in lines
    assert 'deploys_total{env="production",service="checkout",status="succeeded"} 1.0' in lines


async def test_concurrent_retries_store_one_deploy(flare: Flare, fake_slack: FakeSlack) -> None:
    results = await asyncio.gather(*(send(flare, deploy_event(status="succeeded")) for _ in range(6)))
    assert all(status == 200 for status, _ in results), results
    assert sorted(body["status"] for _, body in results) == ["duplicate"] * 5 + ["ok"]
    await settle(flare)
    assert len(await deploys(flare)) == 1
    assert len(messages_about(fake_slack, DEPLOYS, 1)) == 1


async def test_the_first_outcome_is_kept(flare: Flare) -> None:
    await send(flare, deploy_event(status="succeeded"))
    status, body = await send(flare, deploy_event(status="failed"))
    assert status == 200
    assert body["status"] == "ignored"
    assert "already succeeded" in body["reason"]
    [row] = await deploys(flare)
    assert row.status == "succeeded"


async def test_external_text_is_escaped(flare: Flare, fake_slack: FakeSlack) -> None:
    await send(
        flare,
        deploy_event(
            author="<!channel> mallory",
            message="fix <@U0BOB0001> & <https://evil.example|click>",
            image="img<!here>",
        ),
    )
    await settle(flare)
    shown = text_of(messages_about(fake_slack, DEPLOYS, 1)[0])
    for raw in ("<!channel>", "<@U0BOB0001>", "<!here>", "<https://evil.example|click>"):
        assert raw not in shown
    assert "&lt;!channel&gt; mallory" in shown
    assert "&amp;" in shown


async def test_a_long_message_stays_within_slack_limits(flare: Flare, fake_slack: FakeSlack) -> None:
    status, _ = await send(flare, deploy_event(message="word " * 800, author="a" * 200))
    assert status == 200
    await settle(flare)
    [message] = messages_about(fake_slack, DEPLOYS, 1)
    assert message.blocks is not None
    assert len(message.blocks) <= 50
    assert "…" in text_of(message)
    assert fake_slack.ok_calls("chat.postMessage")  # the fake enforces Slack's block limits


async def test_authentication(flare: Flare) -> None:
    assert (await send(flare, deploy_event(), token=None))[0] == 401
    status, body = await send(flare, deploy_event(), token="deploy-token-3140")
    assert status == 401
    assert "Bearer" in body["reason"]
    status, _ = await send(flare, deploy_event(), token=None, Authorization="Basic ZGVwbG95LXRva2VuLTMxNDE=")
    assert status == 401
    assert await deploys(flare) == []


async def test_not_configured_is_404_and_missing_token_is_503(
    start_deploys: StartDeploys, deploy_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = deploy_catalog.model_copy(
        update={"deploys": deploy_catalog.deploys.model_copy(update={"token_env": None})}
    )
    off = await start_deploys(catalog=plain)
    status, body = await send(off, deploy_event())
    assert status == 404
    assert "deploys.token_env" in body["reason"]
    monkeypatch.delenv(TOKEN_ENV)
    unset = await start_deploys()
    status, body = await send(unset, deploy_event())
    assert status == 503
    assert "token is not configured" in body["reason"]
    assert await deploys(unset) == []


BAD_BODIES: list[tuple[dict[str, Any] | bytes, str, str]] = [
    (b"", "", "empty"),
    (b"{not json", "", "not valid JSON"),
    (b"[1, 2]", "", "JSON object"),
    (deploy_event(service=None), "service", "required"),
    (deploy_event(status=None), "status", "required"),
    (deploy_event(status="done"), "status", "started, succeeded, failed"),
    (deploy_event(status=3), "status", "must be a string"),
    (deploy_event(service="billing"), "service", "known services: checkout, search"),
    (deploy_event(env="qa"), "env", "known environments: production, staging"),
    (deploy_event(comit_sha="abc1234"), "comit_sha", "unknown field"),
    (deploy_event(commit_sha="not-a-sha"), "commit_sha", "hex commit SHA"),
    (deploy_event(commit_url="javascript:alert(1)"), "commit_url", "http(s) URL"),
    (deploy_event(revision="Checkout_1"), "revision", "Cloud Run revision name"),
    (deploy_event(timestamp="yesterday"), "timestamp", "RFC 3339"),
    (deploy_event(timestamp="2026-01-01T10:00:00"), "timestamp", "time zone"),
    (deploy_event(timestamp="2999-01-01T10:00:00Z"), "timestamp", "future"),
    (deploy_event(service=" "), "service", "must not be empty"),
    (deploy_event(message="x" * 4001), "message", "limit is 4000"),
    (deploy_event(deploy_id=None, pipeline_url=None), "deploy_id", "give deploy_id"),
]


async def test_bad_bodies_get_400_naming_the_field(flare: Flare) -> None:
    for body, field, words in BAD_BODIES:
        status, answer = await send(flare, body)
        assert status == 400, (body, answer)
        assert answer["error"] == "bad_request"
        assert words in answer["reason"], (body, answer)
        assert answer.get("field") == (field or None), (body, answer)
    assert await deploys(flare) == []


async def test_too_large_is_413(flare: Flare) -> None:
    status, answer = await send(flare, deploy_event(message="x" * 70_000))
    assert status == 413
    assert "limit" in answer["reason"]


async def test_a_terminal_event_alone_and_one_known_only_by_revision(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    began = (datetime.now(UTC) - timedelta(minutes=3)).isoformat()
    status, body = await send(
        flare,
        deploy_event(
            status="succeeded",
            deploy_id=None,
            pipeline_url=None,
            revision="checkout-00009-abc",
            started_at=began,
        ),
    )
    assert status == 200, body
    await settle(flare)
    [row] = await deploys(flare)
    assert row.key == "rev:checkout-00009-abc"
    assert "succeeded in 3m" in text_of(messages_about(fake_slack, DEPLOYS, row.id)[0])


async def test_storage_down_is_503_so_the_pipeline_retries(
    start_deploys: StartDeploys, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    flare = await start_deploys(database_url=unreachable_database(tmp_path))
    status, body = await send(flare, deploy_event())
    assert status == 503
    assert body == {"error": "unavailable", "reason": "storage is unavailable; retry later"}
    assert fake_slack.calls_to("chat.postMessage") == []


async def test_another_deploy_naming_a_known_revision_stays_a_deploy_of_its_own(flare: Flare) -> None:
    revision = "checkout-00004-xyz"
    await send(flare, deploy_event(deploy_id="one", status="succeeded", revision=revision))
    status, body = await send(flare, deploy_event(deploy_id="two", status="succeeded", revision=revision))
    assert (status, body["status"], body["deploy"]) == (200, "ok", 2)
    status, body = await send(flare, deploy_event(deploy_id="two", status="succeeded", revision=revision))
    assert (status, body["status"], body["deploy"]) == (200, "duplicate", 2)
    assert [(d.key, d.revision) for d in await deploys(flare)] == [("id:one", revision), ("id:two", None)]


def unreachable_database(tmp_path: Path) -> str:
    """A database URL on the lane under test that cannot be reached."""
    if pg_url() is not None:
        return "postgresql+asyncpg://postgres@127.0.0.1:1/flare"
    return f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'flare.db'}"
