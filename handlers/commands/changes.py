"""Starting a traffic change from a slash command: /rollback and /deploy traffic share this."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.cloudrun.targets import Target
from bot.container import Container
from bot.rollback import flows, jobs
from bot.rollback.plan import Kind, Request
from bot.rollback.requests import request_change
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
    requested = await request_change(
        c,
        request_key=f"{kind}:{command.get('trigger_id') or ''}",
        kind=kind,
        service=target.service,
        env=target.env,
        channel=channel,
        user=user,
        request=request,
        response_url=str(command.get("response_url") or "") or None,
    )
    if requested.open_id is not None:
        await ack(
            **ephemeral(
                f"A change of {label} is already open (change #{requested.open_id}); "
                "see the note below. Nothing new was posted."
            )
        )
        return
    rollback_id = requested.id
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
