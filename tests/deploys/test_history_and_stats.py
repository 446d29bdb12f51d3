"""/deploy history and /deploy stats on a history seeded through the real endpoints and commands,
and the same delivery metrics as gauges on /metrics."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tests.cloudrun.helpers import command, wait_status
from tests.conftest import METRICS_TOKEN, Flare
from tests.deploys.conftest import ALICE, BOB
from tests.deploys.helpers import deploy_event, send
from tests.fakes.slack import FakeSlack
from tests.incidents.helpers import incident_channel
from tests.support.clock import ManualClock
from tests.support.waits import settle

OPS = "C0OPSROOM1"


async def deploy_command(flare: Flare, text: str) -> dict[str, Any]:
    reply = await flare.slack.command("/deploy", text, user=ALICE, channel=OPS)
    assert reply.status == 200
    body: dict[str, Any] = reply.json()
    assert body["response_type"] == "ephemeral"
    return body


def shown(body: dict[str, Any]) -> str:
    return str(body["text"]) + json.dumps(body.get("blocks") or [], ensure_ascii=False)


async def ship(flare: Flare, deploy_id: str, hours_ago: float, **fields: Any) -> None:
    """A deploy that started and finished (5 minutes later) `hours_ago` hours ago."""
    now = flare.container.clock.now()
    end = now - timedelta(hours=hours_ago)
    fields.setdefault("status", "succeeded")
    body = deploy_event(
        deploy_id=deploy_id,
        started_at=(end - timedelta(minutes=5)).isoformat(),
        timestamp=end.isoformat(),
        **fields,
    )
    status, answer = await send(flare, body)
    assert status == 200, answer


async def seed(flare: Flare, fake_slack: FakeSlack, clock: ManualClock) -> None:
    """checkout production: A (10 d ago), B (6 h), C (1 h), a failed deploy F (2 h), then a rollback and
    an incident (charged to C); staging: one deploy; search: one deploy 40 days ago."""
    await ship(flare, "A", 240, revision="checkout-00001-aaa")
    await ship(flare, "B", 6, revision="checkout-00002-bbb")
    await ship(flare, "F", 2, status="failed", revision=None)
    await ship(flare, "C", 1, revision="checkout-00003-ccc")
    await ship(flare, "S", 24, env="staging", revision="checkout-00002-stg")
    await ship(flare, "Q", 40 * 24, service="search", revision="search-api-00001-qqq")
    _ack, change = await command(flare, "/rollback", "checkout", user=BOB, channel=OPS)
    await flare.slack.block_action("rollback_confirm", str(change), user=BOB, channel=OPS)
    await wait_status(flare, change, "succeeded")
    reply = await flare.slack.command(
        "/incident", "declare P1 checkout errors --service checkout", user=ALICE
    )
    assert "INC-1" in reply.json()["text"]
    await settle(flare)
    clock.advance(hours=1, minutes=12)
    channel = incident_channel(fake_slack, 1)
    await flare.slack.command("/incident", "resolve rolled back", channel=channel.id, user=ALICE)
    await settle(flare)


async def test_history_lists_deploys_and_rollbacks_newest_first(
    flare: Flare, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    await seed(flare, fake_slack, clock)
    body = shown(await deploy_command(flare, "history checkout"))
    order = [
        "Flare rollback #1",
        "checkout-00003-ccc",
        "deploy *FAILED*",
        "checkout-00002-bbb",
        "checkout-00002-stg",
    ]
    positions = [body.index(item) for item in order]
    assert positions == sorted(positions)
    assert "by <@U0BOB0001>" in body
    assert "*staging*" in body
    assert "checkout-00001-aaa" in body
    assert "search-api" not in body
    assert "6 of 6" in body

    staging = shown(await deploy_command(flare, "history checkout --env staging"))
    assert "checkout-00002-stg" in staging
    assert "checkout-00003-ccc" not in staging
    assert "1 of 1" in staging

    limited = shown(await deploy_command(flare, "history checkout --limit 2"))
    assert "Flare rollback #1" in limited
    assert "checkout-00003-ccc" in limited
    assert "checkout-00002-bbb" not in limited
    assert "2 of 6" in limited
    assert "--limit N" in limited


async def test_history_of_a_quiet_service_and_usage_errors(flare: Flare) -> None:
    body = shown(await deploy_command(flare, "history search"))
    assert "No deploys or rollbacks of *search*" in body
    for text, problem in [
        ("history", "give one service"),
        ("history billing", "unknown service 'billing'"),
        ("history checkout --env qa", "no environment 'qa'"),
        ("history checkout --limit 0", "--limit needs a number from 1 to 50"),
        ("history checkout --limit lots", "--limit needs a number"),
        ("stats checkout --days 0", "--days needs a number from 1 to 365"),
        ("stats checkout search", "at most one service"),
        ("stats billing", "unknown service"),
    ]:
        answer = shown(await deploy_command(flare, text))
        assert problem in answer, (text, answer)
        assert "*Example:*" in answer
    help_text = shown(await deploy_command(flare, "help"))
    assert "/deploy history <service>" in help_text
    assert "/deploy stats [service]" in help_text


async def test_stats_on_seeded_history(flare: Flare, fake_slack: FakeSlack, clock: ManualClock) -> None:
    await seed(flare, fake_slack, clock)
    body = shown(await deploy_command(flare, "stats"))
    assert "last 30 days" in body
    assert (
        "*checkout* (production): 3 deploys (0.10/day) · change failure rate 33% (1/3) · "
        "rollback rate 33% (1/3) · mean time to restore 1h 12m (1 of 1 incidents resolved)"
    ) in body
    assert (
        "*checkout* (staging): 1 deploys (0.03/day) · change failure rate 0% (0/1) · rollback rate 0% (0/1)"
        in body
    )
    assert "_No deploys, rollbacks or incidents:_ search (production)" in body  # 40 days ago is outside

    week = shown(await deploy_command(flare, "stats checkout --days 7"))
    assert "*checkout* (production): 2 deploys (0.29/day) · change failure rate 50% (1/2)" in week
    assert "search" not in week
    longer = shown(await deploy_command(flare, "stats --days 60"))
    assert "*search* (production): 1 deploys" in longer


async def test_metrics_show_the_delivery_gauges(
    flare: Flare, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    await seed(flare, fake_slack, clock)
    status, text = await flare.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert status == 200
    values = _samples(str(text))
    production = '{env="production",service="checkout"}'
    assert values["delivery_deploys" + production] == 3
    assert abs(values["delivery_deploy_frequency_per_day" + production] - 0.1) < 1e-9
    assert abs(values["delivery_change_failure_rate" + production] - 1 / 3) < 1e-9
    assert abs(values["delivery_rollback_rate" + production] - 1 / 3) < 1e-9
    assert 72 * 60 <= values["delivery_mean_time_to_restore_seconds" + production] < 73 * 60
    assert values['delivery_deploys{env="staging",service="checkout"}'] == 1
    assert 'delivery_mean_time_to_restore_seconds{env="staging",service="checkout"}' not in values
    assert values['delivery_deploys{env="production",service="search"}'] == 0
    assert 'delivery_change_failure_rate{env="production",service="search"}' not in values  # no deploys


async def test_metrics_need_the_token(flare: Flare) -> None:
    status, _ = await flare.get("/metrics")
    assert status == 401


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line.startswith("delivery_"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out
