"""Imports every bot/ model so the metadata is complete; migrations/metadata.py adds runbooks/' tables."""

from bot.alerts.models import AlertGroup, AlertGroupMember, AlertRecord
from bot.db.base import Base
from bot.db.dedup import InboundKey
from bot.db.locks import LeaseLock
from bot.deploys.models import Deploy, DeployLink, WatchState
from bot.incidents.models import ActionItem, Incident, IncidentEvent
from bot.people.models import Person
from bot.postmortem.models import PostmortemDraft
from bot.rollback.models import Rollback, RollbackEvent
from bot.slack.models import OutboxItem, OutboxLane, SlackRef

metadata = Base.metadata

__all__ = [
    "ActionItem",
    "AlertGroup",
    "AlertGroupMember",
    "AlertRecord",
    "Base",
    "Deploy",
    "DeployLink",
    "InboundKey",
    "Incident",
    "IncidentEvent",
    "LeaseLock",
    "OutboxItem",
    "OutboxLane",
    "Person",
    "PostmortemDraft",
    "Rollback",
    "RollbackEvent",
    "SlackRef",
    "WatchState",
    "metadata",
]
