"""Catalog settings for deploy notifications and the Cloud Run watcher (`deploys` in the catalog).

The catalog never holds the webhook token: `token_env` names the environment variable that does.
Which environments the watcher polls is set per service and environment (`watch: true`).
"""

from __future__ import annotations

from pydantic import Field

from bot.catalog.base import StrictModel
from bot.catalog.gate import DeployGate
from bot.catalog.services import Slug
from bot.catalog.webhooks import EnvName


class DeploySettings(StrictModel):
    """How deploys are received, watched, announced and linked to incidents."""

    # POST /webhooks/deploy needs `Authorization: Bearer <value of this variable>`; unset: 404.
    token_env: EnvName | None = None
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    # The least time between two polls of one watched service/environment (tick or loop).
    watch_interval_seconds: float = Field(default=60.0, ge=1.0, le=3600.0)
    # Also poll from an in-process loop every watch_interval_seconds (needs always-on CPU on Cloud Run).
    watch_loop: bool = False
    # Deploys this long before a declaration are listed on the incident card as suspects.
    suspect_window_minutes: int = Field(default=120, ge=1, le=24 * 60)
    # The environments incidents are about: their deploys become suspects, and incidents count
    # against their change failure rate and time to restore.
    incident_envs: list[Slug] = Field(default_factory=lambda: ["production"], min_length=1)
    # Post each deploy in the owning team's channel too (besides channels.deployments).
    team_channel: bool = True
    # GET /api/deploy-gate: which open incidents block deploys (docs/deploys.md).
    gate: DeployGate = DeployGate()
