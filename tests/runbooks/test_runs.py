"""Runbook runs end to end: each step posted in the run's thread and recorded; rollbacks proposed."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from bot.incidents.models import IncidentEvent
from tests.cloudrun.conftest import ALICE, BOB, StartCR
from tests.cloudrun.helpers import ephemerals, wait_status
from tests.conftest import Flare
from tests.fakes.cloudrun import FakeCloudRun, FakeEndpoints, FakeService
from tests.fakes.slack import FakeSlack
from tests.runbooks.helpers import run_row, step_statuses, wait_position, wait_run, write_runbook
from tests.support.messages import buttons, text_of
from tests.support.waits import settle

CHANNEL = "C0OPSROOM1"


def thread_replies(fake_slack: FakeSlack, channel: str) -> list[str]:
    return [text_of(m) for m in fake_slack.posted(channel) if m.thread_ts]


async def test_service_down_checks_health_and_proposes_a_rollback(
    cr: Flare, fake_slack: FakeSlack, endpoints: FakeEndpoints, checkout: FakeService
) -> None:
    declared = await cr.slack.command("/incident", "declare P1 checkout down --service checkout", user=ALICE)
    assert "INC-1" in declared.json()["text"]
    endpoints.health("checkout/health", "unhealthy", {"db": "unhealthy"})
    reply = await cr.slack.command("/runbook", "run service-down checkout", user=ALICE, channel=CHANNEL)
    assert "Running *service-down* on checkout (production)" in reply.json()["text"]
    # The rollback step proposes; the run waits for the outcome of that proposal.
    change = await wait_status(cr, 1, "proposed")
    assert change.runbook_run_id == 1
    assert await step_statuses(cr) == {"health": "unhealthy", "revisions": "ok"}
    endpoints.health("checkout/health", "healthy")
    await cr.slack.block_action("rollback_confirm", "1", user=BOB, channel=CHANNEL)
    run = await wait_run(cr, 1, "succeeded")
    assert await step_statuses(cr) == {
        "health": "unhealthy",
        "revisions": "ok",
        "rollback": "succeeded",
        "recheck": "healthy",
        "looks_fine": "skipped",
    }
    assert checkout.serving() == {checkout.revisions[-2].name: 100}
    replies = thread_replies(fake_slack, CHANNEL)
    assert len(replies) == 5
    assert "1/5 Check deep health" in replies[0]
    assert "unhealthy" in replies[0]
    assert checkout.revisions[-1].name in replies[1]
    header = fake_slack.posted(CHANNEL)[0]
    assert "Runbook service-down" in text_of(header)
    assert header.edits >= 1  # pending updates collapse in the outbox
    assert ":white_check_mark: finished" in text_of(header)
    assert run.finished_at is not None
    async with cr.container.db.sessions() as session:
        recorded = (
            (await session.execute(select(IncidentEvent).where(IncidentEvent.kind == "runbook_step")))
            .scalars()
            .all()
        )
    texts = [e.text for e in recorded]
    assert any("started" in t for t in texts)
    assert sum("step" in t and "(deep_health)" in t for t in texts) == 2
    assert any(t.endswith("succeeded") for t in texts)


async def test_service_down_on_a_healthy_service_does_not_roll_back(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> None:
    await cr.slack.command("/runbook", "run service-down checkout", user=ALICE, channel=CHANNEL)
    await wait_run(cr, 1, "succeeded")
    statuses = await step_statuses(cr)
    assert statuses["rollback"] == "skipped"
    assert statuses["looks_fine"] == "ok"
    assert fake_cloudrun.requests("update_service") == []
    said = [m.text for m in fake_slack.posted(CHANNEL) if not m.thread_ts]
    assert any("the trouble may be downstream" in t for t in said)


async def test_a_run_interrupted_by_a_restart_is_reported_on_start(
    start_cr: StartCR, fake_slack: FakeSlack, catalog_path: Path
) -> None:
    write_runbook(
        catalog_path,
        "slow",
        """
name: slow
steps:
  - id: health
    use: deep_health
  - id: pause
    use: wait
    with: {seconds: 30}
  - id: done
    use: post_message
    with: {text: all done}
""",
    )
    a = await start_cr()
    await a.slack.command("/runbook", "run slow checkout", user=ALICE, channel=CHANNEL)
    await wait_position(a, 1, 1)
    await settle(a)
    await a.stop()

    b = await start_cr()
    run = await wait_run(b, 1, "interrupted", timeout=10)
    assert run.position == 1
    notice = next(m for m in fake_slack.posted(CHANNEL) if "Run again" in text_of(m))
    assert "was interrupted by a restart" in text_of(notice)
    assert "step 2/3" in text_of(notice)
    assert "all done" not in " ".join(m.text for m in fake_slack.posted(CHANNEL))
    again = buttons(notice.blocks)["runbook_run"]
    assert json.loads(again["value"]) == {"runbook": "slow", "service": "checkout", "env": "production"}
    header = fake_slack.posted(CHANNEL)[0]
    assert "interrupted by a restart" in text_of(header)
    # Running it again from the notice starts a new run.
    await b.slack.block_action("runbook_run", again["value"], user=ALICE, channel=CHANNEL)
    await wait_position(b, 2, 1)
    assert (await run_row(b, 2)).status == "running"


async def test_a_step_can_ask_for_confirmation(cr: Flare, fake_slack: FakeSlack, catalog_path: Path) -> None:
    write_runbook(
        catalog_path,
        "careful",
        """
name: careful
steps:
  - id: look
    use: list_revisions
  - id: announce
    use: post_message
    confirm: true
    with: {text: "shifting {service} now"}
  - id: after
    use: post_message
    confirm: true
    with: {text: "second step"}
""",
    )
    await cr.slack.command("/runbook", "run careful checkout", user=ALICE, channel=CHANNEL)
    run = await wait_run(cr, 1, "waiting")
    assert run.position == 1
    prompt = next(m for m in fake_slack.posted(CHANNEL) if "is waiting" in text_of(m))
    assert set(buttons(prompt.blocks)) == {"runbook_continue", "runbook_skip", "runbook_stop"}
    await cr.slack.block_action("runbook_continue", "1:1", user=BOB, channel=CHANNEL)
    run = await wait_run(cr, 1, "waiting")
    assert run.position == 2
    assert any(m.text == "shifting checkout now" for m in fake_slack.posted(CHANNEL))
    assert "run by U0BOB0001" in text_of(prompt)
    # A stale click on the first prompt does nothing.
    await cr.slack.block_action("runbook_continue", "1:1", user=BOB, channel=CHANNEL)
    await fake_slack.wait_for(lambda: any("not waiting for step 2" in t for t in ephemerals(fake_slack, BOB)))
    await cr.slack.block_action("runbook_skip", "1:2", user=BOB, channel=CHANNEL)
    await wait_run(cr, 1, "succeeded")
    assert await step_statuses(cr) == {"look": "ok", "announce": "ok", "after": "skipped"}
    assert not any(m.text == "second step" for m in fake_slack.posted(CHANNEL))


async def test_a_waiting_run_can_be_stopped(cr: Flare, fake_slack: FakeSlack, catalog_path: Path) -> None:
    write_runbook(
        catalog_path,
        "stoppable",
        """
name: stoppable
steps:
  - id: first
    use: post_message
    confirm: true
    with: {text: never}
""",
    )
    await cr.slack.command("/runbook", "run stoppable checkout", user=ALICE, channel=CHANNEL)
    await wait_run(cr, 1, "waiting")
    await cr.slack.block_action("runbook_stop", "1:0", user=BOB, channel=CHANNEL)
    run = await wait_run(cr, 1, "stopped")
    assert run.detail == f"stopped by {BOB}"
    assert await step_statuses(cr) == {}


async def test_a_failing_step_fails_the_run(cr: Flare, fake_slack: FakeSlack, catalog_path: Path) -> None:
    write_runbook(
        catalog_path,
        "probe",
        """
name: probe
steps:
  - id: ping
    use: http_check
    with: {url: "http://127.0.0.1:9/nothing", timeout_seconds: 1}
  - id: down
    use: deep_health
    with: {service: search}
    when: ping is unhealthy
  - id: revisions
    use: list_revisions
""",
    )
    await cr.slack.command("/runbook", "run probe checkout", user=ALICE, channel=CHANNEL)
    await wait_run(cr, 1, "succeeded")
    assert await step_statuses(cr) == {"ping": "unhealthy", "down": "unknown", "revisions": "ok"}


async def test_cloud_run_errors_fail_the_step_and_the_run(
    cr: Flare, fake_slack: FakeSlack, fake_cloudrun: FakeCloudRun
) -> None:
    fake_cloudrun.fail("*", 403, times=100)
    await cr.slack.command("/runbook", "run bad-deploy checkout", user=ALICE, channel=CHANNEL)
    run = await wait_run(cr, 1, "failed")
    assert "roles/run.viewer" in (run.detail or "")
    assert await step_statuses(cr) == {"revisions": "failed"}
    assert "roles/run.viewer" in " ".join(thread_replies(fake_slack, CHANNEL))


async def test_run_runbook_button_from_an_alert(cr: Flare, fake_slack: FakeSlack) -> None:
    value = json.dumps({"runbook": "service-down", "service": "checkout", "env": None})
    await cr.slack.block_action("runbook_run", value, user=ALICE, channel="C0PAYMENTS")
    run = await wait_run(cr, 1, "succeeded")
    assert run.channel_id == "C0PAYMENTS"
    assert run.env == "production"
    assert run.requested_by == ALICE
    no_service = json.dumps({"runbook": "service-down", "service": None, "env": None})
    await cr.slack.block_action("runbook_run", no_service, user=ALICE, channel="C0PAYMENTS")
    await fake_slack.wait_for(lambda: any("names no service" in t for t in ephemerals(fake_slack, ALICE)))
    unknown = json.dumps({"runbook": "nope", "service": "checkout", "env": None})
    await cr.slack.block_action("runbook_run", unknown, user=ALICE, channel="C0PAYMENTS")
    await fake_slack.wait_for(
        lambda: any("no runbook called nope" in t for t in ephemerals(fake_slack, ALICE))
    )


async def test_list_show_and_usage(cr: Flare) -> None:
    listed = (await cr.slack.command("/runbook", "list", user=ALICE, channel=CHANNEL)).json()
    body = json.dumps(listed)
    assert "service-down" in body
    assert "bad-deploy" in body
    shown = json.dumps((await cr.slack.command("/runbook", "show service-down", user=ALICE)).json())
    assert "deep_health" in shown
    assert "health is unhealthy and revisions.has_rollback_target == yes" in shown
    for text, problem in [
        ("show nope", "Unknown runbook"),
        ("run nope checkout", "unknown runbook 'nope'"),
        ("run service-down", "give the runbook and the service"),
        ("run service-down nosuch", "unknown service"),
        ("frobnicate", "Unknown subcommand"),
    ]:
        reply = (await cr.slack.command("/runbook", text, user=ALICE)).json()
        assert problem in reply["text"], (text, reply["text"])
        assert "Example" in reply["text"]


async def test_runbooks_from_flare_runbooks_dir_are_listed_and_shown(
    start_cr: StartCR, tmp_path: Path
) -> None:
    team_a, team_b = tmp_path / "mounted" / "a", tmp_path / "mounted" / "b"
    for folder, name in ((team_a, "cache-flush"), (team_b, "queue-drain")):
        folder.mkdir(parents=True)
        (folder / f"{name}.yaml").write_text(f"name: {name}\nsteps:\n  - id: health\n    use: deep_health\n")
    flare = await start_cr(flare_runbooks_dir=f"{team_a}:{team_b}")
    listed = json.dumps((await flare.slack.command("/runbook", "list", user=ALICE, channel=CHANNEL)).json())
    for name in ("cache-flush", "queue-drain", "service-down"):
        assert name in listed, name
    shown = json.dumps((await flare.slack.command("/runbook", "show queue-drain", user=ALICE)).json())
    assert "deep_health" in shown
