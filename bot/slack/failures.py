"""Permanent delivery failures: what Slack's refusal means, what to do, and who is told.

The dispatcher keeps a refused item as `failed` with Slack's reason and, in the same transaction,
enqueues a private notice to the person who caused it (the response_url while it is fresh, otherwise
a DM) and runs the registered failure hooks (e.g. incidents record it on the incident).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.slack.escape import escape
from bot.slack.models import OutboxItem
from bot.slack.outbox import CREATE_CHANNEL, RESPOND, UPLOAD_FILE, Outbound, enqueue, post_message, respond

# Slack accepts a response_url for 30 minutes; leave room for the outbox's own delay.
RESPONSE_URL_FRESH = timedelta(minutes=25)

WHAT = {
    CREATE_CHANNEL: "create the channel",
    UPLOAD_FILE: "upload the file",
    "chat.postMessage": "post the message",
    "chat.update": "update the message",
    "chat.postEphemeral": "show you a private message",
    "conversations.invite": "invite people to the channel",
    "conversations.setTopic": "set the channel topic",
    "pins.add": "pin the message",
}

ADVICE = {
    "restricted_action": "this workspace lets only admins do that; ask a Slack admin to allow it for "
    "the Flare app",
    "not_in_channel": "invite Flare to the channel (`/invite @Flare`) and try again",
    "channel_not_found": "the channel was deleted, archived or is private; invite Flare or fix the channel "
    "in flare.yaml",
    "is_archived": "the channel is archived; unarchive it or change flare.yaml",
    "invalid_name": "Slack refused the channel name; `/incident channel retry` uses a plainer one",
    "invalid_name_specials": "Slack refused the channel name; `/incident channel retry` uses a plainer one",
    "name_taken": "every name Flare tried is taken; `/incident channel retry` picks a new one",
    "too_many_convos_for_team": "the workspace is at its channel limit; archive old channels and retry",
    "missing_scope": "the Slack app lacks a permission; reinstall it from slack/manifest.yaml",
    "not_authed": "Flare's Slack token is missing or revoked; fix SLACK_BOT_TOKEN",
    "invalid_auth": "Flare's Slack token is missing or revoked; fix SLACK_BOT_TOKEN",
    "account_inactive": "Flare's Slack token is missing or revoked; fix SLACK_BOT_TOKEN",
    "message_not_found": "the message was deleted",
    "cant_update_message": "the message can no longer be edited",
}


@dataclass(frozen=True)
class FailedDelivery:
    """An outbox item Slack refused for good."""

    item_id: int
    method: str
    lane: str
    payload: dict[str, Any]
    produces: str | None
    target: str | None
    error: str
    caused_by: str | None
    response_url: str | None
    created_at: datetime


FailureHook = Callable[[AsyncSession, FailedDelivery], Awaitable[None]]


def what(method: str) -> str:
    """'post the message' for chat.postMessage."""
    return WHAT.get(method, f"call {method}")


def advice(error: str) -> str:
    """What to do about Slack's `error`."""
    return ADVICE.get(error, "check Flare's logs and /health/deep; retrying the command may help")


def explain(failure: FailedDelivery, subject: str | None = None) -> str:
    """One line for a person: what failed, Slack's reason, and the fix (escaped mrkdwn)."""
    about = f" for {subject}" if subject else ""
    where = _where(failure)
    fix = advice(failure.error)
    fix = fix[:1].upper() + fix[1:]
    said = escape(failure.error)
    return f":warning: Flare could not {what(failure.method)}{where}{about}: Slack said `{said}`. {fix}."


def _where(failure: FailedDelivery) -> str:
    channel = failure.payload.get("channel")
    if failure.method == CREATE_CHANNEL:
        return f" #{escape(str(failure.payload.get('name', '')))}"
    if isinstance(channel, str) and channel[:1] in "CG" and channel.isalnum():
        return f" in <#{channel}>"
    return ""


def notice(failure: FailedDelivery, text: str, now: datetime) -> Outbound | None:
    """The private notice to whoever caused the item: response_url while fresh, else a DM."""
    user = failure.caused_by
    if not user or failure.method == RESPOND:
        return None
    if failure.response_url and now - failure.created_at < RESPONSE_URL_FRESH:
        return respond(failure.response_url, user=user, text=text)
    return post_message(user, text=text)


async def report(
    session: AsyncSession, item: OutboxItem, error: str, now: datetime, hooks: list[FailureHook]
) -> None:
    """Tell whoever caused `item` and run the hooks, in the transaction that marks it failed."""
    if item.method == RESPOND and item.lane.startswith("respond:"):
        # The response_url expired or was used up: fall back to a DM.
        await enqueue(session, post_message(item.lane[len("respond:") :], text=str(item.payload["text"])))
        return
    await session.flush()  # the hooks' bulk statements must see the item as failed
    user = item.payload.get("user")
    told: Outbound | None
    if item.method == "chat.postEphemeral" and isinstance(user, str) and user:
        # Flare is not in that channel (or it is gone): say the same thing by DM instead.
        told = post_message(user, text=str(item.payload.get("text") or ""))
    else:
        told = None
    failure = FailedDelivery(
        item_id=item.id,
        method=item.method,
        lane=item.lane,
        payload=dict(item.payload),
        produces=item.produces,
        target=item.target,
        error=error,
        caused_by=item.caused_by,
        response_url=item.response_url,
        created_at=item.created_at,
    )
    told = told or notice(failure, explain(failure, subject_of(failure)), now)
    if told is not None:
        await enqueue(session, told)
    for hook in hooks:
        await hook(session, failure)


def subject_of(failure: FailedDelivery) -> str | None:
    """'INC-25' when the item belongs to an incident (by its channel or message key)."""
    incident = incident_of(failure)
    return f"INC-{incident}" if incident is not None else None


def incident_of(failure: FailedDelivery) -> int | None:
    """The incident an item belongs to, read from its lane, produced key or target key."""
    for key in (failure.produces, failure.target, failure.lane.removeprefix("ref:")):
        if key and key.startswith("incident:"):
            number = key.split(":")[1]
            if number.isdigit():
                return int(number)
    return None
