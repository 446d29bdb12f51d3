"""A realistic incident driven through the running app, from deploy to resolve, checked against a golden file.

Deploy webhook (suspect) -> declare -> Alertmanager alert -> notes, severity change, pinned message
-> rollback on the fake Cloud Run (refused, then confirmed) -> alert resolves -> action items ->
mitigate -> resolve -> `/incident postmortem`. Times, channel ids and message timestamps change
from run to run, so they are normalised before comparing; everything else must match byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.rollback.models import Rollback
from tests.conftest import TICK_TOKEN, Flare
from tests.fakes.slack import FakeSlack
from tests.postmortem.conftest import AM_TOKEN, DEPLOY_TOKEN, WORKSPACE
from tests.postmortem.helpers import ALICE, BOB, CAROL, command, declare, drafts, uploads
from tests.support.records import timeline
from tests.support.waits import eventually, settle

GOLDEN = Path(__file__).parent / "golden" / "app_incident.md"
_NORMALISE = [
    (re.compile(r"/p\d{16}"), "/p<ts>"),
    (re.compile(r"\bC9\d{6}\b"), "<channel>"),
    (re.compile(r"inc-\d{8}-"), "inc-<yyyymmdd>-"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "<date>"),
    (re.compile(r"\b\d{2}:\d{2}(:\d{2})?\b"), "<time>"),
    (re.compile(r"\b\d+[dhms]( \d+[hms])?\b"), "<duration>"),
    (re.compile(r"\b\d+\.\d+ s\b"), "<seconds> s"),
]
# The timeline dates its first row and any row on a new day: a run that crosses midnight UTC dates
# more rows than the golden run did. Compared without those dates, both are the same draft.
_ROW_DATE = re.compile(r"^\| <date> <time> \|", re.M)


def normalise(markdown: str) -> str:
    """The draft with run-dependent values (times, durations, Slack ids) replaced by placeholders."""
    for pattern, replacement in _NORMALISE:
        markdown = pattern.sub(replacement, markdown)
    return markdown


def iso(when: datetime) -> str:
    """RFC 3339 with a Z, to the second."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def am_body(status: str, starts: datetime, ends: datetime | None = None) -> dict[str, object]:
    """An Alertmanager v4 webhook with one checkout alert."""
    alert = {
        "status": status,
        "labels": {"alertname": "CheckoutErrors", "service": "checkout", "severity": "critical"},
        "annotations": {"summary": "5xx ratio 23% | above the 5% SLO"},
        "startsAt": iso(starts),
        "endsAt": iso(ends) if ends else "0001-01-01T00:00:00Z",
        "generatorURL": "https://prometheus.acme.test/graph?g0.expr=checkout_5xx_ratio",
        "fingerprint": "c0ffee0000000001",
    }
    return {
        "receiver": "flare",
        "status": status,
        "alerts": [alert],
        "groupLabels": {"alertname": "CheckoutErrors"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "https://alertmanager.acme.test",
        "version": "4",
        "groupKey": '{}:{alertname="CheckoutErrors"}',
        "truncatedAlerts": 0,
    }


async def deploy(flare: Flare, status: str, at: datetime) -> None:
    """A CI deploy event for checkout in production."""
    body = {
        "service": "checkout",
        "env": "production",
        "status": status,
        "deploy_id": "gh-run-812",
        "revision": "checkout-00005-new",
        "image": "us-docker.pkg.dev/acme/app/checkout:v5",
        "commit_sha": "9f3c2ab4d5e6f708192a3b4c5d6e7f8091a2b3c4",
        "commit_url": "https://github.com/acme/checkout/commit/9f3c2ab",
        "author": "alice",
        "pipeline_url": "https://github.com/acme/checkout/actions/runs/812",
        "message": "Drop the unused orders index",
        "timestamp": iso(at),
    }
    status_code, answer = await flare.post(
        "/webhooks/deploy",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {DEPLOY_TOKEN}", "Content-Type": "application/json"},
    )
    assert status_code in (200, 201, 202), answer


async def _has(flare: Flare, kind: str) -> bool:
    return bool(await timeline(flare, kind=kind))


async def rollback(flare: Flare, fake: FakeSlack, channel: str) -> None:
    """/rollback checkout by Alice; Alice may not confirm in production, Bob does; wait for success."""
    reply = await flare.slack.command("/rollback", "checkout", user=ALICE, channel=channel)
    assert reply.status == 200, reply.text

    async def planned() -> bool:
        async with flare.container.db.sessions() as session:
            row = await session.get(Rollback, 1)
        return row is not None and row.status == "proposed"

    await eventually(planned)
    await flare.slack.block_action("rollback_confirm", "1", user=ALICE, channel=channel)
    await flare.slack.block_action("rollback_confirm", "1", user=BOB, channel=channel)

    async def succeeded() -> bool:
        async with flare.container.db.sessions() as session:
            row = await session.get(Rollback, 1)
        return row is not None and row.status == "succeeded"

    await eventually(succeeded, timeout=20)


async def next_second() -> None:
    """Wait for the next wall-clock second (the fake Slack's message ts has whole-second precision)."""
    await asyncio.sleep(1.05 - (time.time() % 1))


async def test_a_realistic_incident_gives_the_golden_draft(pm: Flare, fake_slack: FakeSlack) -> None:
    now = datetime.now(UTC)
    await deploy(pm, "started", now - timedelta(minutes=14))
    await deploy(pm, "succeeded", now - timedelta(minutes=12))
    status_code, answer = await pm.post(
        "/webhooks/alertmanager",
        json=am_body("firing", now - timedelta(minutes=9)),
        headers={"Authorization": f"Bearer {AM_TOKEN}"},
    )
    assert status_code == 200, answer
    await fake_slack.wait_for(lambda: bool(fake_slack.posted("C0PAYCRIT")))
    channel = await declare(pm, fake_slack, "P2 checkout is failing --service checkout")
    # The tick links the open alert group to the new incident, which records the alert.
    status_code, answer = await pm.post("/tasks/tick", headers={"Authorization": f"Bearer {TICK_TOKEN}"})
    assert status_code == 200, answer
    await eventually(lambda: _has(pm, "alert_fired"))
    await command(pm, "assign commander <@U0BOB0001|bob>", channel=channel, user=ALICE)
    await command(pm, "ack", channel=channel)
    await command(pm, "severity P1", channel=channel)
    await command(pm, "note trigger: the 1.8.0 deploy dropped an index | see PR #812", channel=channel)
    await command(pm, "note root cause: migration 0042 removed `orders_by_user`", channel=channel, user=CAROL)
    await command(pm, "update Errors at 23%; suspect the deploy, rolling back <!here>", channel=channel)
    await settle(pm)
    await next_second()
    pinned = fake_slack.add_message(channel, "Grafana: the spike starts with the deploy", user=CAROL)
    permalink = f"{WORKSPACE}/archives/{channel}/p{pinned.ts.replace('.', '')}"
    message = {"type": "message", "user": CAROL, "text": pinned.text, "ts": pinned.ts, "permalink": permalink}
    await pm.slack.event(
        {
            "type": "pin_added",
            "user": BOB,
            "channel_id": channel,
            "item": {"type": "message", "channel": channel, "message": message, "created_by": BOB},
            "item_user": CAROL,
            "event_ts": pinned.ts,
        }
    )
    await settle(pm)
    await next_second()
    await rollback(pm, fake_slack, channel)
    await next_second()
    resolved = am_body("resolved", now - timedelta(minutes=9), datetime.now(UTC))
    status_code, answer = await pm.post(
        "/webhooks/alertmanager", json=resolved, headers={"Authorization": f"Bearer {AM_TOKEN}"}
    )
    assert status_code == 200, answer
    await eventually(lambda: _has(pm, "alert_resolved"))
    await command(
        pm, "action prevent: block index drops in the migration linter <@U0CAROL01|carol>", channel=channel
    )
    await command(pm, "action Page on p99 latency as well", channel=channel, user=CAROL)
    await command(pm, "note went well: the suspect deploy was on the card", channel=channel)
    await command(pm, "mitigate traffic back on the previous revision", channel=channel)
    await command(pm, "resolve Rolled back; the index is being restored", channel=channel)
    await settle(pm)

    answer = await command(pm, "postmortem", channel=channel)
    assert "draft *v1* of *INC-1*" in answer
    await settle(pm)
    (draft,) = await drafts(pm)
    (upload,) = uploads(fake_slack, channel)
    assert upload["content"] == draft.markdown.encode()

    markdown = draft.markdown
    # Links that only the running app can produce: the card, the alert group copy, the rollback message,
    # the pinned message's permalink and the status update's message, all in this workspace.
    assert f"[summary card]({WORKSPACE}/archives/{channel}/p" in markdown
    assert f"[alert group]({WORKSPACE}/archives/{channel}/p" in markdown
    assert f"[change #1]({WORKSPACE}/archives/{channel}/p" in markdown
    assert f"[message]({permalink})" in markdown
    assert "Time to resolve (TTR)" in markdown
    assert "— (not yet)" not in markdown

    actual = normalise(markdown)
    if os.environ.get("FLARE_UPDATE_GOLDEN"):
        GOLDEN.write_text(actual, encoding="utf-8")
    golden = GOLDEN.read_text(encoding="utf-8")
    assert _ROW_DATE.sub("| <time> |", actual) == _ROW_DATE.sub("| <time> |", golden)
    assert actual.count("| <date> <time> |") >= 1, "the first timeline row carries its date"
