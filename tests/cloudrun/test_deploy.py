"""/deploy status (one service, all services, --all) and /deploy traffic (canary splits)."""

from __future__ import annotations

from tests.cloudrun.conftest import ALICE, BOB
from tests.cloudrun.helpers import command, ephemerals, rollback, wait_status
from tests.conftest import Flare
from tests.fakes.cloudrun import REVISION, FakeCloudRun, FakeService
from tests.fakes.slack import FakeSlack, Message
from tests.support.messages import text_of

CHANNEL = "C0OPSROOM1"


async def status_message(cr: Flare, fake_slack: FakeSlack, text: str) -> Message:
    before = len(fake_slack.posted(CHANNEL))
    reply = await cr.slack.command("/deploy", text, user=ALICE, channel=CHANNEL)
    assert reply.json()["response_type"] == "ephemeral"
    await fake_slack.wait_for(lambda: len(fake_slack.posted(CHANNEL)) > before)
    return fake_slack.posted(CHANNEL)[-1]


async def test_status_shows_revisions_split_tags_images_and_deployers(
    cr: Flare, fake_slack: FakeSlack, checkout: FakeService
) -> None:
    old, mid, new = checkout.revisions[-3], checkout.revisions[-2], checkout.revisions[-1]
    checkout.traffic = [
        {"type": REVISION, "revision": mid.name, "percent": 90},
        {"type": REVISION, "revision": new.name, "percent": 10, "tag": "canary"},
    ]
    old.ready, old.message = False, "Image pull failed"
    mid.labels["commit-author"] = "<!channel> mallory"
    body = text_of(await status_message(cr, fake_slack, "status checkout"))
    assert f"`{mid.name}` 90%" in body
    assert f"`{new.name}` 10% (tag `canary`)" in body
    assert new.image in body
    assert "alice@acme.test" in body  # annotation
    assert "Image pull failed" in body
    assert "not Ready" in body
    assert "serves 10%, not all traffic" in body  # the latest ready revision is only a canary
    assert checkout.uri in body
    assert "<!channel>" not in body  # label text is escaped
    assert "&lt;!channel&gt;" in body
    listing = body[body.index("*Revisions*") :]
    positions = [listing.index(r.name) for r in (new, mid, old)]
    assert positions == sorted(positions)  # newest first


async def test_status_shows_ten_revisions_unless_all(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> None:
    svc = fake_cloudrun.add_service("acme-prod", "europe-west1", "search-api", revisions=30)
    body = text_of(await status_message(cr, fake_slack, "status search"))
    assert sum(r.name in body for r in svc.revisions) == 10
    assert "20 older revisions not shown" in body
    body = text_of(await status_message(cr, fake_slack, "status search --all"))
    assert sum(r.name in body for r in svc.revisions) == 30


async def test_status_with_many_revisions_stays_within_slack_limits(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> None:
    svc = fake_cloudrun.add_service(
        "acme-prod",
        "europe-west1",
        "search-api",
        revisions=300,
        image="europe-docker.pkg.dev/acme/" + "x" * 120,
    )
    message = await status_message(cr, fake_slack, "status search --all")
    assert message.blocks is not None
    assert len(message.blocks) <= 50
    assert len(text_of(message)) < 14000
    assert "not shown" in text_of(message)
    assert svc.revisions[-1].name in text_of(message)


async def test_status_shows_the_last_rollback(
    cr: Flare, fake_slack: FakeSlack, checkout: FakeService
) -> None:
    _ack, change = await command(cr, "/rollback", "checkout", user=ALICE, channel=CHANNEL)
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(cr, change, "succeeded")
    body = text_of(await status_message(cr, fake_slack, "status checkout"))
    assert "Last rollback" in body
    assert f"<@{BOB}>" in body
    assert f"#{change}" in body


async def test_status_without_a_service_lists_every_service(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> None:
    fake_cloudrun.service("acme-prod", "europe-west1", "search-api").revisions[-1].ready = False
    body = text_of(await status_message(cr, fake_slack, "status"))
    assert "*checkout*" in body
    assert "*search*" in body
    assert "not all Ready" in body
    staging = text_of(await status_message(cr, fake_slack, "status --env staging"))
    assert "*checkout*" in staging
    assert "*search*" not in staging


async def test_deploy_usage(cr: Flare) -> None:
    for text, problem in [
        ("frobnicate", "Unknown subcommand"),
        ("status nosuch", "unknown service"),
        ("traffic checkout a=10 b=80", "add up to 90, not 100"),
        ("traffic checkout a=ten b=90", "not a percentage"),
        ("traffic checkout a=50 a=50", "given twice"),
        ("traffic checkout", "REVISION=PERCENT"),
    ]:
        body = (await cr.slack.command("/deploy", text, user=ALICE, channel=CHANNEL)).json()
        assert problem in body["text"], (text, body["text"])
    help_text = (await cr.slack.command("/deploy", "help", user=ALICE, channel=CHANNEL)).json()["text"]
    assert "/deploy status" in help_text
    assert "/deploy traffic" in help_text


async def test_traffic_split_is_confirmed_locked_and_verified(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    new, old = checkout.revisions[-1].name, checkout.revisions[-2].name
    ack, change = await command(
        cr, "/deploy", f"traffic checkout {new}=10 {old.split('-', 1)[1]}=90", user=ALICE, channel=CHANNEL
    )
    assert change, ack
    row = await rollback(cr, change)
    assert row.kind == "traffic"
    assert row.plan is not None
    assert row.plan["after"] == {new: 10, old: 90}
    await cr.slack.block_action("rollback_confirm", str(change), user=ALICE, channel=CHANNEL)
    await fake_slack.wait_for(lambda: any("Not confirmed" in t for t in ephemerals(fake_slack, ALICE)))
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(cr, change, "succeeded")
    assert checkout.serving() == {new: 10, old: 90}
    traffic = fake_cloudrun.requests("update_service")[0].body["traffic"]
    assert sorted((t["revision"], t["percent"]) for t in traffic) == sorted([(new, 10), (old, 90)])
    metrics = cr.container.metrics.render().decode()
    assert 'rollbacks_total{env="production",result="succeeded"' not in metrics  # not a rollback


async def test_traffic_split_keeps_tagged_revisions_reachable(
    cr: Flare, fake_cloudrun: FakeCloudRun, checkout: FakeService
) -> None:
    names = [r.name for r in checkout.revisions]
    checkout.traffic = [
        {"type": REVISION, "revision": names[-1], "percent": 100},
        {"type": REVISION, "revision": names[0], "percent": 0, "tag": "blue"},
    ]
    _ack, change = await command(
        cr, "/deploy", f"traffic checkout {names[-1]}=50 {names[-2]}=50", user=ALICE, channel=CHANNEL
    )
    await cr.slack.block_action("rollback_confirm", str(change), user=BOB, channel=CHANNEL)
    await wait_status(cr, change, "succeeded")
    traffic = fake_cloudrun.requests("update_service")[0].body["traffic"]
    assert {"type": 2, "revision": names[0], "tag": "blue"} in traffic
