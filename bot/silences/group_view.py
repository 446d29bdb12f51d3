"""What an alert group message shows about silences: the menu, or who silenced it until when."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.models import AlertGroup
from bot.alerts.render import GroupView
from bot.catalog import Catalog
from bot.silences.models import Silence
from bot.silences.view import group_line, view_of


async def with_silence(
    session: AsyncSession, catalog: Catalog, group: AlertGroup, view: GroupView
) -> GroupView:
    """`view` with the Silence menu (when Alertmanager is configured) or the group's live silence."""
    if catalog.alertmanager is None or group.source != "alertmanager":
        return view  # other sources' alerts are not Alertmanager's to silence
    live = (
        await session.execute(
            select(Silence).where(Silence.slot == f"group:{group.id}", Silence.status == "active")
        )
    ).scalar_one_or_none()
    if live is None:
        return dataclasses.replace(view, silenceable=True)
    return dataclasses.replace(
        view, silenceable=True, silence_id=live.id, silence_text=group_line(view_of(live))
    )
