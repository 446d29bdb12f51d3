"""Starting a traffic change from a slash command: /rollback and /deploy traffic share this."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.cloudrun.targets import Target
from bot.container import Container
from bot.rollback import flows, jobs
from bot.rollback.plan import Kind, Request
from bot.slack.escape import escape
from handlers.commands.usage import ephemeral

NOUNS: dict[Kind, str] = {"rollback": "rollback", "traffic": "traffic change", "restore": "restore"}


async def start_change(
    c: Container,
    ack: AsyncAck,
    command: dict[str, Any],
    *,
    kind: Kind,
    target: Target,
    request: Request,
    dry_run: bool,
) -> None:
    """Ack, then plan in the background: a preview for `--dry-run`, else a stored request to confirm."""
    channel, user = str(command["channel_id"]), str(command["user_id"])
    noun, label = NOUNS[kind], escape(target.label)
    if dry_run:
        await ack(**ephemeral(f":hourglass_flowing_sand: Planning (dry run) the {noun} of {label}…"))
        c.spawn(
            jobs.answering(
                c, channel, user, lambda: jobs.post_preview(c, target, channel, user, request, kind)
            ),
            name=f"{kind}-preview",
        )
        return
    rollback_id = await flows.request_change(
        c,
        request_key=f"{kind}:{command.get('trigger_id') or ''}",
        kind=kind,
        service=target.service,
        env=target.env,
        channel=channel,
        user=user,
        request=request,
    )
    if rollback_id is None:
        await ack(**ephemeral("That request was already received."))
        return
    c.spawn(flows.plan_and_propose(c, rollback_id), name=f"plan:{rollback_id}")
    await ack(
        **ephemeral(
            f":hourglass_flowing_sand: Planning the {noun} of {label}; "
            "the plan will be posted here for confirmation."
        )
    )
