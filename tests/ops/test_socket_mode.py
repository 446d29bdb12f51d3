"""Socket Mode end to end: envelopes from the fake Slack's websocket reach the same Bolt app and are acked."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.settings import Settings
from handlers import socket_mode
from tests.conftest import Flare, StartFlare
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.ops.conftest import SocketFlare
from tests.ops.helpers import scrape, value
from tests.support.records import incidents
from tests.support.waits import settle


async def test_slash_command_answer_is_the_ack_payload_and_its_side_effects_happen(
    socket_flare: SocketFlare, fake_slack: FakeSlack
) -> None:
    payload = fake_slack.command_payload("/incident", "declare P1 checkout is failing --service checkout")
    envelope = await fake_slack.socket_send("slash_commands", payload, accepts_response_payload=True)
    ack = await fake_slack.socket_ack(envelope)

    assert ack.after < 3.0, "Slack needs the ack within 3 s"
    assert ack.payload is not None
    assert ack.payload["response_type"] == "ephemeral"
    assert "INC-1" in ack.payload["text"]
    flare = socket_flare.flare
    [row] = await incidents(flare)
    assert (row.title, row.severity, row.service, row.declared_by) == (
        "checkout is failing",
        "P1",
        "checkout",
        "U0ALICE01",
    )
    await settle(flare)
    channel = fake_slack.channel_named(row.channel_name)
    assert channel is not None, "the incident channel was created through the outbox"
    assert {"U0ALICE01", "U0BOB0001", "U0CAROL01"} <= channel.members
    assert any("INC-1" in m.text for m in fake_slack.posted(channel.id))
    # Nothing reached Slack over HTTP for the command itself: the answer rode on the ack.
    assert fake_slack.responses == []
    assert fake_slack.socket_junk == []


async def test_command_ack_latency_is_recorded_for_socket_mode_commands(
    socket_flare: SocketFlare, fake_slack: FakeSlack
) -> None:
    before = value(await scrape(socket_flare.flare), "slack_command_ack_seconds_count", command="/deploy")
    envelope = await fake_slack.socket_send(
        "slash_commands", fake_slack.command_payload("/deploy", "help"), accepts_response_payload=True
    )
    ack = await fake_slack.socket_ack(envelope)
    assert ack.payload is not None
    assert "/deploy" in ack.payload["text"]
    after = value(await scrape(socket_flare.flare), "slack_command_ack_seconds_count", command="/deploy")
    assert (before or 0) == 0
    assert after == 1


async def test_events_are_acked_without_payload_and_handled_once_across_retries(
    socket_flare: SocketFlare, fake_slack: FakeSlack
) -> None:
    event = {
        "type": "app_mention",
        "user": "U0ALICE01",
        "text": "<@U0FLAREBOT> what can you do?",
        "ts": "1700000000.000200",
        "channel": "C0GENERAL",
        "event_ts": "1700000000.000200",
    }
    body = fake_slack.event_payload(event, event_id="Ev0SOCKET01")
    first = await fake_slack.socket_send("events_api", body)
    retry = await fake_slack.socket_send("events_api", body, retry_attempt=1, retry_reason="timeout")
    assert (await fake_slack.socket_ack(first)).payload is None
    assert (await fake_slack.socket_ack(retry)).payload is None

    await settle(socket_flare.flare)
    answers = fake_slack.ok_calls("chat.postEphemeral")
    assert len(answers) == 1, "a retried event is answered once"
    assert answers[0].params["user"] == "U0ALICE01"
    assert answers[0].params["channel"] == "C0GENERAL"
    assert "/incident" in answers[0].params["text"]


async def test_a_refresh_disconnect_reconnects_and_commands_still_work(
    socket_flare: SocketFlare, fake_slack: FakeSlack
) -> None:
    [old] = fake_slack.sockets
    opened = len(fake_slack.ok_calls("apps.connections.open"))
    await fake_slack.socket_disconnect()
    # The client asks for a new URL, opens a new connection and closes the old one.
    await fake_slack.wait_for(lambda: fake_slack.sockets != [] and old not in fake_slack.sockets)
    assert len(fake_slack.ok_calls("apps.connections.open")) == opened + 1
    envelope = await fake_slack.socket_send(
        "slash_commands", fake_slack.command_payload("/incident", "list"), accepts_response_payload=True
    )
    ack = await fake_slack.socket_ack(envelope)
    assert ack.payload is not None
    assert ack.payload["response_type"] == "ephemeral"
    call = fake_slack.ok_calls("apps.connections.open")[-1]
    assert call.params["_token"] == APP_TOKEN, "apps.connections.open uses the app-level token"


async def test_http_endpoints_keep_serving_on_the_port_in_socket_mode(socket_flare: SocketFlare) -> None:
    flare = socket_flare.flare
    assert (await flare.get("/health/ready"))[0] == 200
    status, body = await flare.post("/webhooks/alertmanager", json={})
    assert status == 404  # served (the test catalog does not enable this source), not refused
    assert "webhooks.alertmanager" in body["reason"]
    reply = await flare.slack.command("/incident", "help")
    assert reply.status == 200


async def test_stop_closes_the_connection(start_flare: StartFlare, fake_slack: FakeSlack) -> None:
    flare: Flare = await start_flare()
    handler = await socket_mode.start(flare.app, SecretStr(APP_TOKEN))
    await fake_slack.wait_for_socket()
    await socket_mode.stop(handler)
    await fake_slack.wait_for(lambda: not fake_slack.sockets)


@pytest.mark.parametrize(
    ("token", "error"),
    [("xapp-1-A0OTHER-0000-not-this-app", "invalid_auth"), (BOT_TOKEN, "not_allowed_token_type")],
)
async def test_a_token_slack_refuses_is_a_one_line_error_naming_the_variable(
    flare: Flare, fake_slack: FakeSlack, token: str, error: str
) -> None:
    with pytest.raises(socket_mode.SocketModeError) as raised:
        await socket_mode.start(flare.app, SecretStr(token))
    message = str(raised.value)
    assert message.startswith("SLACK_APP_TOKEN:")
    assert error in message
    assert "\n" not in message
    assert token not in message
    assert fake_slack.sockets == []


async def test_unreachable_slack_is_a_one_line_error(flare: Flare, fake_slack: FakeSlack) -> None:
    await fake_slack.stop()
    with pytest.raises(socket_mode.SocketModeError) as raised:
        await socket_mode.start(flare.app, SecretStr(APP_TOKEN))
    assert str(raised.value).startswith("SLACK_API_URL: cannot reach Slack")


def test_token_problem_names_the_variable_and_wants_an_app_level_token() -> None:
    def settings(token: str | None) -> Settings:
        return Settings(_env_file=None, slack_app_token=token)  # type: ignore[call-arg]

    missing = socket_mode.token_problem(settings(None))
    assert missing is not None
    assert missing.startswith("SLACK_APP_TOKEN is not set")
    assert "connections:write" in missing
    wrong = socket_mode.token_problem(settings(BOT_TOKEN))
    assert wrong is not None
    assert "xapp-" in wrong
    assert BOT_TOKEN not in wrong
    assert socket_mode.token_problem(settings(APP_TOKEN)) is None
