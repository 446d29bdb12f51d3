"""Groups: one message per group, coalesced updates, `continue` fan-out, escaping, limits, Slack outages."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from typing import Any

from tests.alerts.conftest import (
    AM_TOKEN,
    GENERIC_TOKEN,
    am_alert,
    am_payload,
    bearer,
    block_text,
    stored_alerts,
    stored_groups,
)
from tests.conftest import Flare
from tests.fakes.slack import Call, FakeSlack

AM = "/webhooks/alertmanager"
GENERIC = "/webhooks/generic"
WINDOW = 1.0  # update_interval_seconds in the test catalog


def writes_to(fake: FakeSlack, channel: str, ts: str) -> list[Call]:
    """The post and every update of one message, in order."""
    return [
        c
        for c in fake.calls
        if c.response.get("ok")
        and (
            (c.method == "chat.postMessage" and c.response.get("ts") == ts)
            or (c.method == "chat.update" and c.params.get("ts") == ts and c.params.get("channel") == channel)
        )
    ]


async def test_a_stream_of_alerts_is_one_message_with_updates_at_most_once_per_window(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    sent = 0
    started = time.monotonic()
    while time.monotonic() - started < 3.5:
        alert = am_alert(service="checkout", severity="critical", instance=f"i-{sent}")
        status, _ = await alerts_flare.post(AM, json=am_payload(alert), headers=bearer(AM_TOKEN))
        assert status == 200
        sent += 1
        await asyncio.sleep(0.05)

    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)
    message = fake_slack.posted("C0PAYCRIT")[0]
    await fake_slack.wait_for(lambda: f"*{sent} firing*" in block_text(message.blocks), timeout=5)

    writes = writes_to(fake_slack, "C0PAYCRIT", message.ts)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(writes)]
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert 2 <= len(writes) - 1 <= 6, gaps  # a handful of updates for dozens of alerts
    assert min(gaps) >= WINDOW * 0.98, gaps
    assert f"…and {sent - 5} more alerts in this group" in block_text(message.blocks)
    (group,) = await stored_groups(alerts_flare)
    assert (group.firing, group.total) == (sent, sent)


async def test_many_alerts_across_groups_make_one_message_per_group(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    payloads = [
        am_payload(
            *(am_alert(f"Alert{g}", instance=f"{g}-{i}") for i in range(25)),
            group_key=f'{{}}:{{alertname="Alert{g}"}}',
        )
        for g in range(4)
        for _copy in range(2)  # each group arrives twice, as from two HA peers
    ]
    answers = await asyncio.gather(
        *(alerts_flare.post(AM, json=p, headers=bearer(AM_TOKEN)) for p in payloads)
    )
    assert [a[0] for a in answers] == [200] * 8
    assert len(await stored_alerts(alerts_flare)) == 100
    groups = await stored_groups(alerts_flare)
    assert sorted((g.title, g.total, g.channel) for g in groups) == [
        (f"Alert{g}", 25, "C0ALERTS1") for g in range(4)
    ]
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0ALERTS1")) == 4, timeout=15)
    await asyncio.sleep(WINDOW + 0.5)
    assert len(fake_slack.calls_to("chat.postMessage")) == 4
    for message in fake_slack.posted("C0ALERTS1"):
        assert "*25 firing*" in block_text(message.blocks)


async def test_continue_posts_the_alert_in_every_matching_route_but_stores_it_once(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    alert = am_alert(service="checkout", severity="critical", team="noise", env="production")
    status, body = await alerts_flare.post(AM, json=am_payload(alert), headers=bearer(AM_TOKEN))
    assert (status, body["stored"], len(body["groups"])) == (200, 1, 3)
    assert len(await stored_alerts(alerts_flare)) == 1
    channels = sorted(g.channel for g in await stored_groups(alerts_flare))
    assert channels == ["C0NOISE01", "C0NOISE02", "C0PAYCRIT"]
    await fake_slack.wait_for(lambda: len(fake_slack.calls_to("chat.postMessage")) == 3)


async def test_group_by_labels_groups_other_sources(alerts_flare: Flare, fake_slack: FakeSlack) -> None:
    def alert(key: str, title: str) -> dict[str, Any]:
        return {"dedup_key": key, "title": title, "service": "search", "severity": "warning"}

    batch = [alert("a", "Slow queries"), alert("b", "Slow queries"), alert("c", "Index lag")]
    await alerts_flare.post(GENERIC, json={"alerts": batch}, headers=bearer(GENERIC_TOKEN))
    groups = await stored_groups(alerts_flare)
    # The search route groups by alertname (the generic source sets it from the title).
    assert sorted((g.title, g.total, g.group_labels) for g in groups) == [
        ("Index lag", 1, {"alertname": "Index lag"}),
        ("Slow queries", 2, {"alertname": "Slow queries"}),
    ]
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0SEARCH01")) == 2)


async def test_alert_text_is_escaped_so_it_cannot_ping_or_link(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    alert = am_alert(
        "<!here> Disk & <b>full</b>",
        summary="ask <@U0ALICE01> & <!channel> see <https://evil.example|click me>",
        service="<!channel>",
        severity="critical",
    )
    alert["generatorURL"] = "https://prom.example/graph?x=1|<!channel>"
    alert["annotations"]["runbook_url"] = "https://runbooks.example/disk"
    await alerts_flare.post(AM, json=am_payload(alert), headers=bearer(AM_TOKEN))
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0ALERTS1")) == 1)
    message = fake_slack.posted("C0ALERTS1")[0]
    everything = block_text(message.blocks) + "\n" + message.text
    assert "&lt;!channel&gt;" in everything
    assert "&lt;@U0ALICE01&gt; &amp; &lt;!channel&gt;" in everything
    assert "&lt;!here&gt; Disk &amp; &lt;b&gt;full&lt;/b&gt;" in everything
    assert "&lt;https://evil.example|click me&gt;" in everything
    # The only Slack control sequences are Flare's own: dates and well-formed links.
    controls = set(re.findall(r"<([^>]*)>", everything))
    assert {c.split("^")[0] for c in controls} == {
        "!date",
        "https://runbooks.example/disk|runbook",
        "http://alertmanager.example:9093/#/silences/new|silence",
    }
    assert "evil.example|" not in "".join(controls)


async def test_messages_stay_within_slack_limits(alerts_flare: Flare, fake_slack: FakeSlack) -> None:
    alerts = [
        am_alert(
            "Huge", instance=f"i{i}", summary="word " * 2000, **{f"label{j}": "v" * 900 for j in range(5)}
        )
        for i in range(30)
    ]
    payload = am_payload(*alerts, group_key="huge")
    payload["groupLabels"] = {f"label{j}": "v" * 900 for j in range(5)}
    status, _ = await alerts_flare.post(AM, json=payload, headers=bearer(AM_TOKEN))
    assert status == 200
    await fake_slack.wait_for(lambda: len(fake_slack.ok_calls("chat.postMessage")) == 1)
    (call,) = fake_slack.calls_to("chat.postMessage")
    blocks = call.params["blocks"]
    assert len(blocks) <= 50
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        assert len(text) <= 3000
        for element in block.get("elements", []):
            assert len(str(element.get("text", ""))) <= 3000
    assert len(call.params["text"]) <= 3000
    assert "…" in block_text(blocks)


async def test_alerts_are_accepted_while_slack_is_down_and_posted_when_it_returns(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    fake_slack.down = True
    for i in range(3):
        alert = am_alert(instance=f"i{i}", service="checkout", severity="critical")
        status, _ = await alerts_flare.post(AM, json=am_payload(alert), headers=bearer(AM_TOKEN))
        assert status == 200  # stored: Slack being down is not the sender's problem
    await asyncio.sleep(0.5)
    assert fake_slack.ok_calls("chat.postMessage") == []
    fake_slack.down = False
    await fake_slack.wait_for(
        lambda: any("*3 firing*" in block_text(m.blocks) for m in fake_slack.posted("C0PAYCRIT")), timeout=10
    )
    assert len(fake_slack.posted("C0PAYCRIT")) == 1


async def test_a_deleted_group_message_is_posted_again_at_the_next_change(
    alerts_flare: Flare, fake_slack: FakeSlack
) -> None:
    async def fire(i: int) -> None:
        alert = am_alert(service="checkout", severity="critical", instance=f"i{i}")
        await alerts_flare.post(AM, json=am_payload(alert), headers=bearer(AM_TOKEN))

    await fire(0)
    await fake_slack.wait_for(lambda: len(fake_slack.posted("C0PAYCRIT")) == 1)
    fake_slack.messages["C0PAYCRIT"].clear()  # someone deleted the message
    await fire(1)
    await fake_slack.wait_for(
        lambda: any(
            c.response.get("error") == "message_not_found" for c in fake_slack.calls_to("chat.update")
        )
    )
    await fire(2)
    await fake_slack.wait_for(
        lambda: any("*3 firing*" in block_text(m.blocks) for m in fake_slack.posted("C0PAYCRIT")), timeout=8
    )
    assert len(fake_slack.posted("C0PAYCRIT")) == 1
