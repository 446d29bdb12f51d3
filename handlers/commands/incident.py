"""/incident: declare and run incidents.

Subcommands act on the incident of the channel they are typed in; elsewhere they take the
incident's id first (`/incident ack INC-42` or `/incident INC-42 ack`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog import SEVERITY_ORDER
from bot.container import Container
from bot.incidents import flows, queries, summaries, timeline
from bot.incidents.lifecycle import Action, IncidentError, parse_severity
from bot.incidents.modals import TITLE_MAX
from bot.incidents.models import Incident
from bot.incidents.naming import looks_like_human_id, parse_human_id
from bot.incidents.text import parse_user
from bot.incidents.types import DeclareRequest, snapshot
from bot.slack.escape import channel_mention, escape, safe
from bot.slack.outbox import caused_by
from handlers import incident_channel, postmortem
from handlers.commands import page as page_commands
from handlers.commands.usage import ephemeral, usage_error
from handlers.incident_modal import open_declare_modal

HELP = "\n".join(
    [
        "*/incident* — declare and run incidents",
        "• `/incident` — open the declare form",
        "• `/incident declare P1 checkout is failing [--service checkout]` — declare directly",
        "In an incident channel (elsewhere, add the id: `/incident ack INC-42`):",
        "• `/incident status` — a summary, only for you",
        "• `/incident severity P0` — change the severity",
        "• `/incident assign commander @user` · `/incident assign comms @user`",
        "• `/incident update <text>` — a status update, posted in the channel",
        "• `/incident note <text>` — a note on the timeline only",
        "• `/incident action <text> [@owner]` — an action item for the post-mortem",
        "• `/incident ack` · `mitigate [text]` · `resolve [summary]` · `reopen`",
        "• `/incident timeline` — the last 20 events, only for you",
        "• `/incident page <team> [message]` — page a team's on-call via PagerDuty; `/incident page` "
        "lists who was paged",
        "• `/incident oncall [team]` — who is on call now (PagerDuty)",
        "• `/incident channel retry` — create the incident channel again after Slack refused it",
        "• `/incident postmortem` — a Markdown post-mortem draft from the timeline, uploaded here "
        "(notes starting `root cause:`, `trigger:` or `resolution:` pre-fill those sections)",
        "Anywhere:",
        "• `/incident list` — open incidents by severity",
        "• `/incident help` — this message",
    ]
)
TIMELINE_EVENTS = 20
_TOKEN = re.compile(r"\S+")
_ROLES = {"commander": "commander", "ic": "commander", "lead": "commander", "comms": "comms"}


class Usage(Exception):
    """A mistyped command: what is wrong, the usage and an example."""

    def __init__(self, problem: str, usage: str, example: str) -> None:
        super().__init__(problem)
        self.reply = usage_error(problem, usage, example)


@dataclass(frozen=True)
class Invocation:
    """One /incident call, parsed."""

    sub: str
    user: str
    channel: str
    trigger_id: str
    incident_id: int | None
    args: list[str]
    rest: str


def parse(text: str, command: dict[str, Any]) -> Invocation:
    """Split '[INC-n] sub [INC-n] args…' into its parts, keeping the raw text after them."""
    tokens = list(_TOKEN.finditer(text))
    incident_id: int | None = None
    if tokens and looks_like_human_id(tokens[0].group()):
        incident_id = parse_human_id(tokens[0].group())
        tokens = tokens[1:]
    sub = tokens[0].group().lower() if tokens else "status"
    end = tokens[0].end() if tokens else len(text)
    remaining = tokens[1:]
    if sub != "declare" and incident_id is None and remaining and looks_like_human_id(remaining[0].group()):
        incident_id = parse_human_id(remaining[0].group())
        end = remaining[0].end()
        remaining = remaining[1:]
    return Invocation(
        sub=sub,
        user=str(command.get("user_id") or ""),
        channel=str(command.get("channel_id") or ""),
        trigger_id=str(command.get("trigger_id") or ""),
        incident_id=incident_id,
        args=[t.group() for t in remaining],
        rest=text[end:].strip(),
    )


Reply = dict[str, Any]
Subcommand = Callable[[Container, Invocation], Awaitable[Reply]]


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the /incident command."""

    @bolt.command("/incident")
    async def incident(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        text = str(command.get("text") or "").strip()
        inv = parse(text, command)
        if not text or (inv.sub == "declare" and not inv.args):
            await ack()
            modal = open_declare_modal(
                client,
                inv.trigger_id,
                container.catalog,
                channel=inv.channel or None,
                oncall=page_commands.oncall_line(container),
            )
            container.spawn(modal, name="incident-declare-modal")
            return
        handler = SUBCOMMANDS.get(inv.sub)
        if handler is None:
            problem = f"Unknown subcommand '{inv.sub}'. Try one of: {', '.join(sorted(SUBCOMMANDS))}."
            await ack(**usage_error(problem, "/incident <subcommand> [args]", "/incident list"))
            return
        try:
            with caused_by(inv.user, command.get("response_url")):
                reply = await handler(container, inv)
        except Usage as exc:
            reply = exc.reply
        except IncidentError as exc:
            reply = ephemeral(f":warning: {escape(exc.message)}")
        await ack(**reply)


async def _target(session: AsyncSession, inv: Invocation, *, for_update: bool = True) -> Incident:
    if inv.incident_id is not None:
        found = await queries.load(session, inv.incident_id, for_update=for_update)
        if found is None:
            raise IncidentError(
                f"INC-{inv.incident_id} does not exist; `/incident list` shows the open ones."
            )
        return found
    found = await queries.by_channel(session, inv.channel, for_update=for_update)
    if found is None:
        raise Usage(
            "This is not an incident channel, so say which incident you mean (first argument).",
            f"/incident {inv.sub} INC-<number> …",
            escape(f"/incident {inv.sub} INC-42 {' '.join(inv.args)}".rstrip()),
        )
    return found


async def cmd_help(_c: Container, _inv: Invocation) -> Reply:
    """`/incident help`."""
    return ephemeral(HELP)


DECLARE_USAGE = "/incident declare <P0|P1|P2|P3> <title> [--service <name>]"
DECLARE_EXAMPLE = "/incident declare P1 checkout is failing --service checkout"


async def cmd_declare(c: Container, inv: Invocation) -> Reply:
    """`/incident declare P1 title… [--service name]`."""
    words = list(inv.args)
    service: str | None = None
    if "--service" in words:
        at = words.index("--service")
        if at + 1 >= len(words):
            raise Usage("--service needs a service name.", DECLARE_USAGE, DECLARE_EXAMPLE)
        service = words[at + 1]
        del words[at : at + 2]
        if c.catalog.service(service) is None:
            known = ", ".join(s.name for s in c.catalog.services) or "none in the catalog"
            raise Usage(f"Unknown service '{service}' (known: {known}).", DECLARE_USAGE, DECLARE_EXAMPLE)
    severity = parse_severity(words[0]) if words else None
    if severity is None:
        got = words[0] if words else ""
        raise Usage(
            f"'{got}' is not a severity; start with one of {', '.join(SEVERITY_ORDER)}.",
            DECLARE_USAGE,
            DECLARE_EXAMPLE,
        )
    title = " ".join(words[1:])
    if not title:
        raise Usage("The incident needs a title after the severity.", DECLARE_USAGE, DECLARE_EXAMPLE)
    # Mid-incident nobody should retype a long title: shorten it and keep the whole text as description.
    shortened = len(title) > TITLE_MAX
    request = DeclareRequest(
        title=title,
        severity=severity,
        declared_by=inv.user,
        service=service,
        description=title if shortened else "",
        source="slack",
        dedup_key=f"command:{inv.trigger_id}" if inv.trigger_id else None,
    )
    async with c.transaction() as session:
        incident = await flows.declare(c, session, request)
    note = (
        f"\n_The title had {len(title)} characters, so it was shortened to {TITLE_MAX}; "
        "the full text is the description. `/incident` commands can't rename it yet._"
        if shortened
        else ""
    )
    return ephemeral(
        f":rotating_light: Declared *{incident.human_id}* ({severity}): {safe(incident.title, 200)}\n"
        f"Opening #{incident.channel_name}, inviting responders and pinning the summary card there.{note}"
    )


async def cmd_status(c: Container, inv: Invocation) -> Reply:
    """`/incident status`: an ephemeral summary."""
    async with c.db.sessions() as session:
        incident = await _target(session, inv, for_update=False)
        channels = await queries.channel_ids(session, [incident])
        failures = await timeline.texts_of_kind(session, incident.id, "delivery_failed", limit=5)
    text, blocks = summaries.status_summary(
        snapshot(incident), c.clock.now(), channels.get(incident.id), failures
    )
    return ephemeral(text, blocks)


async def cmd_timeline(c: Container, inv: Invocation) -> Reply:
    """`/incident timeline`: the last 20 events."""
    async with c.db.sessions() as session:
        incident = await _target(session, inv, for_update=False)
        rows = await timeline.recent_events(session, incident.id, TIMELINE_EVENTS)
        total = await timeline.count_events(session, incident.id)
    lines = [
        summaries.EventLine(e.kind, e.text, e.actor, e.occurred_at, (e.data or {}).get("permalink"))
        for e in rows
    ]
    text, blocks = summaries.timeline(snapshot(incident), lines, total)
    return ephemeral(text, blocks)


async def cmd_list(c: Container, _inv: Invocation) -> Reply:
    """`/incident list`: open incidents by severity."""
    async with c.db.sessions() as session:
        rows = await queries.open_incidents(session)
        channels = await queries.channel_ids(session, rows)
    text, blocks = summaries.open_list([snapshot(i) for i in rows], channels)
    return ephemeral(text, blocks)


async def cmd_severity(c: Container, inv: Invocation) -> Reply:
    """`/incident severity P0`."""
    severity = parse_severity(inv.args[0]) if len(inv.args) == 1 else None
    if severity is None:
        got = " ".join(inv.args) or "nothing"
        raise Usage(
            f"Give one severity ({', '.join(SEVERITY_ORDER)}); got {got}.",
            "/incident severity <P0|P1|P2|P3>",
            "/incident severity P0",
        )
    async with c.transaction() as session:
        incident = await _target(session, inv)
        previous = incident.severity
        await flows.change_severity(c, session, incident, severity, inv.user)
    return ephemeral(f"{incident.human_id} severity changed: {previous} → {severity}.")


async def cmd_assign(c: Container, inv: Invocation) -> Reply:
    """`/incident assign commander @user` or `assign comms @user`."""
    usage, example = "/incident assign <commander|comms> @user", "/incident assign commander @alice"
    if len(inv.args) != 2:
        raise Usage("Name a role and one user.", usage, example)
    role = _ROLES.get(inv.args[0].lower())
    if role is None:
        raise Usage(f"Unknown role '{inv.args[0]}'; use commander or comms.", usage, example)
    user = parse_user(inv.args[1])
    if user is None:
        raise Usage(
            f"'{inv.args[1]}' is not a Slack user. Mention them with @ so Slack sends their id "
            "(the /incident command must have 'Escape channels, users, and links' enabled).",
            usage,
            example,
        )
    async with c.transaction() as session:
        incident = await _target(session, inv)
        await flows.assign_role(c, session, incident, role, user, inv.user)
    return ephemeral(f"<@{user}> is now {role} of {incident.human_id}.")


def _text_or_usage(inv: Invocation, what: str, example: str) -> str:
    if not inv.rest:
        raise Usage(f"Write the {what} after `{inv.sub}`.", f"/incident {inv.sub} <text>", example)
    return inv.rest


async def cmd_update(c: Container, inv: Invocation) -> Reply:
    """`/incident update <text>`: posted in the channel and recorded."""
    text = _text_or_usage(
        inv, "update", "/incident update Rolled back to the previous revision; errors falling"
    )
    async with c.transaction() as session:
        incident = await _target(session, inv)
        await flows.post_update(c, session, incident, text, inv.user)
        channels = await queries.channel_ids(session, [incident])
    if incident.channel_error is not None:
        return ephemeral(
            f":warning: Update on {incident.human_id} recorded on its timeline but *not posted*: "
            f"the incident channel could not be created ({escape(incident.channel_error)}). "
            f"Run `/incident channel retry {incident.human_id}`."
        )
    if incident.id in channels:
        return ephemeral(f"Update on {incident.human_id} posted in {channel_mention(channels[incident.id])}.")
    return ephemeral(
        f"Update on {incident.human_id} queued for #{incident.channel_name}, which is being created."
    )


async def cmd_note(c: Container, inv: Invocation) -> Reply:
    """`/incident note <text>`: timeline only."""
    text = _text_or_usage(inv, "note", "/incident note Error spike started right after the 14:02 deploy")
    async with c.transaction() as session:
        incident = await _target(session, inv)
        await flows.add_note(c, session, incident, text, inv.user)
    return ephemeral(f"Noted on the {incident.human_id} timeline.")


async def cmd_action(c: Container, inv: Invocation) -> Reply:
    """`/incident action <text> [@owner]`: an action item for the post-mortem."""
    example = "/incident action Add an alert on checkout p99 latency @alice"
    _text_or_usage(inv, "action item", example)
    owner = parse_user(inv.args[-1]) if inv.args else None
    text = inv.rest
    if owner is not None:
        text = text[: text.rstrip().rfind(inv.args[-1])].strip()
        if not text:
            raise Usage(
                "Describe the action item before its owner.", "/incident action <text> [@owner]", example
            )
    async with c.transaction() as session:
        incident = await _target(session, inv)
        await flows.add_action_item(c, session, incident, text, owner, inv.user)
    suffix = f", owned by <@{owner}>" if owner else ""
    return ephemeral(f"Action item added to {incident.human_id}{suffix}.")


def _transition(action: Action) -> Subcommand:
    async def run(c: Container, inv: Invocation) -> Reply:
        if action in ("ack", "reopen") and inv.rest:
            raise Usage(f"`{action}` takes no text.", f"/incident {action}", f"/incident {action}")
        async with c.transaction() as session:
            incident = await _target(session, inv)
            await flows.change_status(c, session, incident, action, inv.user, inv.rest or None)
        return ephemeral(f"{incident.human_id} is now {incident.status}.")

    run.__doc__ = f"`/incident {action}`."
    return run


SUBCOMMANDS: dict[str, Subcommand] = {
    "help": cmd_help,
    "declare": cmd_declare,
    "status": cmd_status,
    "timeline": cmd_timeline,
    "list": cmd_list,
    "severity": cmd_severity,
    "assign": cmd_assign,
    "update": cmd_update,
    "note": cmd_note,
    "action": cmd_action,
    "ack": _transition("ack"),
    "mitigate": _transition("mitigate"),
    "resolve": _transition("resolve"),
    "reopen": _transition("reopen"),
    "postmortem": postmortem.subcommand,
    "page": page_commands.cmd_page,
    "oncall": page_commands.cmd_oncall,
    "channel": incident_channel.subcommand,
}
