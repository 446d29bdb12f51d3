"""Is the deploy gate open for a service and environment? Open incidents, the policy, overrides.

A rollback is never gated: the gate is only asked by deploy pipelines (GET /api/deploy-gate).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog import Catalog
from bot.gate.models import GateOverride
from bot.incidents.api import OPEN_STATUSES
from bot.incidents.models import Incident
from bot.slack.models import SlackRef

MAX_LISTED = 20


@dataclass(frozen=True)
class Blocking:
    """An open incident that closes the gate."""

    id: int
    severity: str
    title: str
    service: str | None
    channel_id: str | None
    commander: str | None

    @property
    def human_id(self) -> str:
        """INC-<id>."""
        return f"INC-{self.id}"

    def url(self, workspace: str | None) -> str | None:
        """A link to the incident's Slack channel."""
        if not self.channel_id:
            return None
        if workspace:
            return f"{workspace}/archives/{self.channel_id}"
        return f"https://slack.com/app_redirect?channel={self.channel_id}"


@dataclass(frozen=True)
class Override:
    """Someone opened the gate on purpose."""

    id: int
    created_by: str
    reason: str
    expires_at: datetime


@dataclass(frozen=True)
class GateState:
    """The answer for one service and environment."""

    service: str
    env: str
    open: bool
    reason: str
    incidents: list[Blocking] = field(default_factory=list)
    override: Override | None = None

    def as_json(self, workspace: str | None) -> dict[str, Any]:
        """The body of GET /api/deploy-gate."""
        body: dict[str, Any] = {
            "open": self.open,
            "service": self.service,
            "env": self.env,
            "reason": self.reason,
        }
        if self.incidents:
            body["incidents"] = [
                {"id": i.human_id, "severity": i.severity, "title": i.title, "url": i.url(workspace)}
                for i in self.incidents
            ]
        if self.override is not None:
            body["override"] = {
                "by": self.override.created_by,
                "reason": self.override.reason,
                "until": self.override.expires_at.isoformat().replace("+00:00", "Z"),
            }
        return body


async def blocking(
    session: AsyncSession, catalog: Catalog, service: str, env: str, now: datetime
) -> tuple[list[Blocking], int | None]:
    """Open incidents at a gated severity covering `service` (incidents naming no service cover all),
    and the id of the running override for `service` in `env` if any: one statement."""
    policy = catalog.deploys.gate
    stmt = select(
        Incident.id,
        Incident.severity,
        Incident.title,
        Incident.service,
        Incident.channel_id,
        Incident.commander,
        _override_id(service, env, now),
    ).where(Incident.status.in_(OPEN_STATUSES), Incident.severity.in_(policy.severities))
    if policy.scope == "service":
        stmt = stmt.where(or_(Incident.service == service, Incident.service.is_(None)))
    rows = await session.execute(stmt.order_by(Incident.severity, Incident.id).limit(MAX_LISTED))
    found: list[Blocking] = []
    override_id: int | None = None
    for row in rows:
        found.append(Blocking(*row[:6]))
        override_id = row[6]
    missing = {f"incident:{b.id}": b for b in found if not b.channel_id}
    if missing:  # the channel exists in Slack but the incident row has not caught up yet
        refs = await session.execute(
            select(SlackRef.key, SlackRef.channel_id).where(SlackRef.key.in_(list(missing)))
        )
        channels = {str(key): str(channel) for key, channel in refs.all()}
        found = [
            dataclasses.replace(b, channel_id=channels.get(f"incident:{b.id}", b.channel_id)) for b in found
        ]
    return found, override_id


def _override_id(service: str, env: str, now: datetime) -> Any:
    return (
        select(GateOverride.id)
        .where(GateOverride.service == service, GateOverride.env == env, GateOverride.expires_at > now)
        .order_by(GateOverride.expires_at.desc())
        .limit(1)
        .scalar_subquery()
    )


async def load_override(session: AsyncSession, override_id: int) -> Override | None:
    """An override's details."""
    row = await session.get(GateOverride, override_id)
    return Override(row.id, row.created_by, row.reason, row.expires_at) if row is not None else None


async def evaluate(
    session: AsyncSession, catalog: Catalog, service: str, env: str, now: datetime
) -> GateState:
    """Whether a deploy of `service` to `env` may go ahead now, and why."""
    policy = catalog.deploys.gate
    if env not in policy.envs:
        return GateState(service, env, True, f"deploys to {env} are not gated (deploys.gate.envs)")
    found, override_id = await blocking(session, catalog, service, env, now)
    if not found:
        levels = "/".join(policy.severities)
        return GateState(service, env, True, f"no open {levels} incident covers {service}")
    override = await load_override(session, override_id) if override_id is not None else None
    names = ", ".join(f"{i.human_id} ({i.severity})" for i in found)
    if override is not None:
        reason = (
            f"open despite {names}: override by {override.created_by} until "
            f"{override.expires_at:%H:%M} UTC ({override.reason})"
        )
        return GateState(service, env, True, reason, found, override)
    reason = (
        f"{names} {'is' if len(found) == 1 else 'are'} open; deploys of {service} to {env} wait until "
        f"{'it is' if len(found) == 1 else 'they are'} resolved, or someone runs "
        f"/deploy gate override {service} <reason>"
    )
    return GateState(service, env, False, reason, found)
