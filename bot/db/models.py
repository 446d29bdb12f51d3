"""Imports every model so the metadata is complete (for Alembic and the schema drift test)."""

from bot.alerts.models import AlertGroup, AlertGroupMember, AlertRecord
from bot.db.base import Base
from bot.db.dedup import InboundKey
from bot.incidents.models import ActionItem, Incident, IncidentEvent
from bot.slack.models import OutboxItem, OutboxLane, SlackRef

metadata = Base.metadata

__all__ = [
    "ActionItem",
    "AlertGroup",
    "AlertGroupMember",
    "AlertRecord",
    "Base",
    "InboundKey",
    "Incident",
    "IncidentEvent",
    "OutboxItem",
    "OutboxLane",
    "SlackRef",
    "metadata",
]
