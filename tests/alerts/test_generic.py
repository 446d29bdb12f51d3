"""POST /webhooks/generic: Flare's documented schema, bearer or ?token= auth."""

from __future__ import annotations

from typing import Any

import pytest

from tests.alerts.conftest import GENERIC_TOKEN, bearer, block_text, stored_alerts, stored_groups
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack
from tests.support.messages import buttons

URL = "/webhooks/generic"


def alert(key: str = "disk-db1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dedup_key": key,
        "title": "Disk almost full on db-1",
        "summary": "93% used on /var/lib/postgresql",
        "service": "checkout",
        "severity": "warning",
        "environment": "production",
        "labels": {"team": "payments", "host": "db-1", "cores": 8},
        "starts_at": "2026-01-05T10:00:00Z",
        "url": "https://monitor.example/checks/disk-db1",
        "runbook": "disk-cleanup",
    }
    body.update(extra)
    return body


async def test_documented_schema_is_stored_and_posted_with_a_runbook_button(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    status, answer = await alerts_flare.post(URL, json={"alerts": [alert()]}, headers=bearer(GENERIC_TOKEN))
    assert (status, answer["stored"]) == (200, 1)
    (row,) = await stored_alerts(alerts_flare)
    assert (row.source, row.dedup_key, row.service, row.runbook, row.labels["cores"]) == (
        "generic",
        "disk-db1",
        "checkout",
        "disk-cleanup",
        "8",
    )
    # warning on checkout matches no rule -> the default route's channel
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0ALERTS1")) == 1)
    message = fake_slack.posted("C0ALERTS1")[0]
    found = buttons(message.blocks)
    assert set(found) == {"alert_ack", "alert_declare", "runbook_run"}
    assert (
        found["runbook_run"]["value"] == '{"runbook":"disk-cleanup","service":"checkout","env":"production"}'
    )
    assert "<https://monitor.example/checks/disk-db1|open>" in block_text(message.blocks)


async def test_token_in_the_query_and_wrong_tokens(alerts_flare: Flare) -> None:
    assert (await alerts_flare.post(f"{URL}?token={GENERIC_TOKEN}", json={"alerts": [alert()]}))[0] == 200
    assert (await alerts_flare.post(f"{URL}?token=nope", json={"alerts": [alert()]}))[0] == 401
    assert (await alerts_flare.post(URL, json={"alerts": [alert()]}, headers=bearer("nope")))[0] == 401
    assert (await alerts_flare.post(URL, json={"alerts": [alert()]}))[0] == 401


async def test_dedup_and_resolve_by_the_senders_key(alerts_flare: Flare) -> None:
    headers = bearer(GENERIC_TOKEN)
    await alerts_flare.post(URL, json={"alerts": [alert()]}, headers=headers)
    _, again = await alerts_flare.post(URL, json={"alerts": [alert()]}, headers=headers)
    assert again["duplicates"] == 1
    _, resolved = await alerts_flare.post(
        URL, json={"alerts": [alert(status="resolved", ends_at="2026-01-05T10:09:00Z")]}, headers=headers
    )
    assert resolved["resolved"] == 1
    (row,) = await stored_alerts(alerts_flare)
    assert (row.status, row.ends_at.minute) == ("resolved", 9)


async def test_without_a_start_time_a_resolve_closes_the_open_occurrence(alerts_flare: Flare) -> None:
    headers = bearer(GENERIC_TOKEN)
    await alerts_flare.post(URL, json={"alerts": [alert("k", starts_at=None)]}, headers=headers)
    _, resolved = await alerts_flare.post(
        URL, json={"alerts": [{"dedup_key": "k", "status": "resolved"}]}, headers=headers
    )
    assert resolved["resolved"] == 1
    _, nothing = await alerts_flare.post(
        URL, json={"alerts": [{"dedup_key": "k", "status": "resolved"}]}, headers=headers
    )
    assert (nothing["resolved"], nothing["duplicates"]) == (0, 1)


async def test_group_field_groups_alerts_into_one_message(alerts_flare: Flare, fake_slack: FakeSlack) -> None:
    batch = [alert(f"disk-{i}", group="disks", title=f"Disk full on db-{i}") for i in range(4)]
    await alerts_flare.post(URL, json={"alerts": batch}, headers=bearer(GENERIC_TOKEN))
    (group,) = await stored_groups(alerts_flare)
    assert (group.total, group.firing) == (4, 4)
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0ALERTS1")) == 1)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"alert": {}}, "alerts"),
        ({"alerts": [{"title": "x"}]}, "alerts[0].dedup_key"),
        ({"alerts": [{"dedup_key": "k"}]}, "alerts[0].title"),
        ({"alerts": [{"dedup_key": "k", "title": " "}]}, "alerts[0].title"),
        ({"alerts": [{"dedup_key": ["k"], "title": "t"}]}, "alerts[0].dedup_key"),
        ({"alerts": [{"dedup_key": "k", "title": "t", "labels": {"a": {"b": 1}}}]}, "alerts[0].labels.a"),
        ({"alerts": [{"dedup_key": "k", "title": "t", "status": "ok"}]}, "alerts[0].status"),
        ({"alerts": [{"dedup_key": "k", "title": "t", "starts_at": True}]}, "alerts[0].starts_at"),
        ({"alerts": [{"dedup_key": "k", "title": "t"}] * 1001}, "alerts"),
    ],
)
async def test_malformed_payloads_are_400(alerts_flare: Flare, payload: Any, field: str) -> None:
    status, answer = await alerts_flare.post(URL, json=payload, headers=bearer(GENERIC_TOKEN))
    assert (status, answer["field"]) == (400, field)
    assert await stored_alerts(alerts_flare) == []
