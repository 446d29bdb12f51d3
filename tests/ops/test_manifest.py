"""slack/manifest.yaml matches the app: commands, events and the minimal scopes for what the code calls."""

from __future__ import annotations

import re
from re import Pattern
from typing import Any

import pytest
import yaml
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult

from handlers import registry
from handlers.keys import BOLT
from tests.conftest import Flare
from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.ops.helpers import ROOT
from tests.ops.slack_scopes import APP_TOKEN_METHODS, EVENT_SCOPES, METHOD_SCOPES, called_methods
from tests.support.records import incidents
from tests.support.slack_client import SIGNING_SECRET
from tests.support.waits import settle

MANIFEST = ROOT / "slack" / "manifest.yaml"
ENDPOINT = "https://FLARE_URL/slack/events"


def manifest() -> dict[str, Any]:
    """The parsed manifest."""
    data = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(data, dict)
    return data


def manifest_commands() -> dict[str, dict[str, Any]]:
    """command -> its manifest entry."""
    return {c["command"]: c for c in manifest()["features"]["slash_commands"]}


def manifest_events() -> list[str]:
    """The bot events the manifest subscribes to."""
    return list(manifest()["settings"]["event_subscriptions"]["bot_events"])


def manifest_scopes() -> list[str]:
    """The bot scopes the manifest requests."""
    return list(manifest()["oauth_config"]["scopes"]["bot"])


class RecordingApp(AsyncApp):
    """A real AsyncApp that also remembers what each listener was registered for."""

    def __init__(self) -> None:
        async def authorize(**_: Any) -> AuthorizeResult:
            return AuthorizeResult(enterprise_id=None, team_id=None, bot_token=BOT_TOKEN)

        super().__init__(signing_secret=SIGNING_SECRET, authorize=authorize, process_before_response=True)
        self.commands: list[str | Pattern[str]] = []
        self.events: list[Any] = []
        self.shortcuts: list[Any] = []

    def command(self, command: Any, *args: Any, **kwargs: Any) -> Any:
        self.commands.append(command)
        return super().command(command, *args, **kwargs)

    def event(self, event: Any, *args: Any, **kwargs: Any) -> Any:
        self.events.append(event)
        return super().event(event, *args, **kwargs)

    def message(self, keyword: Any = "", *args: Any, **kwargs: Any) -> Any:
        # Message listeners need message.* subscriptions (and a history scope each).
        self.events.append("message")
        return super().message(keyword, *args, **kwargs)

    def shortcut(self, constraints: Any, *args: Any, **kwargs: Any) -> Any:
        self.shortcuts.append(constraints)
        return super().shortcut(constraints, *args, **kwargs)


def registered(flare: Flare) -> RecordingApp:
    """Every listener in handlers.registry, registered on a recording AsyncApp with the real container."""
    app = RecordingApp()
    for register in registry.BOLT_LISTENERS:
        register(app, flare.container)
    # Same listeners as the app create_app built (Bolt keeps them in registration order).
    assert len(app._async_listeners) == len(flare.app[BOLT]._async_listeners)
    return app


def test_manifest_is_valid_yaml_with_one_endpoint_for_everything() -> None:
    data = manifest()
    assert data["settings"]["event_subscriptions"]["request_url"] == ENDPOINT
    assert data["settings"]["interactivity"] == {"is_enabled": True, "request_url": ENDPOINT}
    assert data["settings"]["socket_mode_enabled"] is False
    assert data["settings"]["token_rotation_enabled"] is False
    assert data["features"]["bot_user"]["display_name"] == "Flare"
    assert len(data["display_information"]["description"]) <= 140
    assert 174 <= len(data["display_information"]["long_description"]) <= 4000
    for command, entry in manifest_commands().items():
        assert entry["url"] == ENDPOINT, command
        assert re.fullmatch(r"/[a-z][a-z0-9_-]{0,30}", command), command
        assert 0 < len(entry["description"]) <= 2000, command
        assert 0 < len(entry["usage_hint"]) <= 1000, command
        assert isinstance(entry["should_escape"], bool), command
    # /incident assigns roles to users: Slack must send <@U123|name>, not a bare "@name".
    assert manifest_commands()["/incident"]["should_escape"] is True


async def test_every_registered_command_is_in_the_manifest_and_the_reverse(flare: Flare) -> None:
    app = registered(flare)
    assert all(isinstance(c, str) for c in app.commands), "commands registered by pattern cannot be listed"
    assert sorted(set(map(str, app.commands))) == sorted(manifest_commands())
    assert len(app.commands) == len(set(map(str, app.commands))), "a command registered twice"
    assert app.shortcuts == []
    assert "shortcuts" not in manifest()["features"]


async def test_every_registered_event_is_subscribed_and_the_reverse(flare: Flare) -> None:
    app = registered(flare)
    types = []
    for event in app.events:
        if isinstance(event, dict):
            event = event.get("type")
        assert isinstance(event, str), f"event registered by pattern: {event!r}"
        types.append(event)
    subscribed = manifest_events()
    if "message" in types:
        types.remove("message")
        assert [e for e in subscribed if e.startswith("message.")], "message listeners need message.* events"
        subscribed = [e for e in subscribed if not e.startswith("message.")]
    assert sorted(set(types)) == sorted(subscribed)
    assert {"pin_added", "reaction_added", "app_mention"} <= set(subscribed)


async def test_the_running_app_handles_every_manifest_command_and_event(flare: Flare) -> None:
    for command in manifest_commands():
        reply = await flare.slack.command(command, "help")
        assert reply.status == 200, f"{command}: {reply.status} {reply.text}"
        assert reply.json()["response_type"] == "ephemeral", command
    for event_type in manifest_events():
        event = {"type": event_type, "user": "U0ALICE01", "event_ts": "1700000000.000100"}
        reply = await flare.slack.event(event)
        assert reply.status == 200, f"{event_type}: {reply.status} {reply.text}"
    # The probe can fail: Bolt answers 404 for a command or event nothing listens to.
    assert (await flare.slack.command("/not-flare", "help")).status == 404
    assert (await flare.slack.event({"type": "member_joined_channel", "user": "U0ALICE01"})).status == 404


def test_every_slack_method_the_code_calls_is_in_the_scope_table() -> None:
    called = called_methods(ROOT / "bot", ROOT / "handlers", ROOT / "runbooks")
    unknown = {
        m: sorted(f) for m, f in called.items() if m not in METHOD_SCOPES and m not in APP_TOKEN_METHODS
    }
    assert unknown == {}, "add these methods and their scopes to tests/ops/slack_scopes.py and the manifest"
    stale = sorted(set(METHOD_SCOPES) - set(called))
    assert stale == [], "the code no longer calls these; drop them (and scopes nothing else needs)"


def test_bot_scopes_are_exactly_what_the_calls_and_events_need() -> None:
    called = called_methods(ROOT / "bot", ROOT / "handlers", ROOT / "runbooks")
    needed = {scope for method in called for scope in METHOD_SCOPES.get(method, ())}
    needed |= {EVENT_SCOPES[event] for event in manifest_events()}
    if manifest_commands():
        needed.add("commands")
    listed = manifest_scopes()
    assert len(listed) == len(set(listed)), "a scope listed twice"
    assert sorted(needed - set(listed)) == [], "scopes the code needs but the manifest lacks"
    assert sorted(set(listed) - needed) == [], "scopes nothing needs (the manifest must stay minimal)"


def test_every_scope_is_justified_by_a_comment() -> None:
    lines = MANIFEST.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "bot:")
    justified = {}
    for line in lines[start + 1 :]:
        match = re.match(r"^\s+- ([a-z_.:]+)\s*(?:#\s*(.*))?$", line)
        if match is None:
            if line.strip().startswith("#"):
                continue
            break
        justified[match.group(1)] = match.group(2) or ""
    assert sorted(justified) == sorted(manifest_scopes())
    unexplained = [scope for scope, why in justified.items() if len(why) < 15]
    assert unexplained == []


@pytest.mark.parametrize("method", sorted(METHOD_SCOPES))
def test_scope_table_names_real_slack_methods(method: str) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    assert hasattr(AsyncWebClient, method.replace(".", "_")), f"{method} is not a Slack Web API method"


async def test_every_slack_call_a_busy_session_makes_is_covered_by_the_manifest_scopes(
    flare: Flare, fake_slack: FakeSlack
) -> None:
    # Modal, declare (channel, invites, topic, card, pin), a pinned message fetched for the timeline,
    # a mention, a post-mortem upload: what the fake Slack sees must match the static table.
    await flare.slack.command("/incident", "")
    await flare.slack.command("/incident", "declare P1 checkout is failing --service checkout")
    await settle(flare)
    [row] = await incidents(flare)
    channel = fake_slack.channel_named(row.channel_name)
    assert channel is not None
    said = fake_slack.add_message(channel.id, "rolled back to 00041, errors dropping")
    reaction = {
        "type": "reaction_added",
        "user": "U0BOB0001",
        "reaction": "pushpin",
        "item_user": said.user,
        "item": {"type": "message", "channel": channel.id, "ts": said.ts},
        "event_ts": "1700000000.000500",
    }
    assert (await flare.slack.event(reaction)).status == 200
    await fake_slack.wait_for(lambda: bool(fake_slack.ok_calls("chat.getPermalink")))
    mention = {"type": "app_mention", "user": "U0BOB0001", "channel": channel.id, "ts": "1700000000.000600"}
    assert (await flare.slack.event(mention)).status == 200
    assert (await flare.slack.command("/incident", "postmortem", channel=channel.id)).status == 200
    await settle(flare)
    await fake_slack.wait_for(lambda: bool(fake_slack.files))

    made = {call.method for call in fake_slack.calls}
    expected = {"views.open", "conversations.create", "conversations.invite", "conversations.setTopic"}
    expected |= {"chat.postMessage", "pins.add", "conversations.history", "chat.getPermalink"}
    expected |= {"chat.postEphemeral", "files.getUploadURLExternal", "files.completeUploadExternal"}
    assert expected <= made
    assert sorted(made - set(METHOD_SCOPES)) == []
    assert sorted(made - set(called_methods(ROOT / "bot", ROOT / "handlers", ROOT / "runbooks"))) == []
    listed = set(manifest_scopes())
    assert {
        method: METHOD_SCOPES[method] for method in made if not set(METHOD_SCOPES[method]) <= listed
    } == {}
