"""Imports every bot/ model so the metadata is complete; migrations/metadata.py adds runbooks/' tables."""

from bot.alerts.models import AlertGroup, AlertGroupMember, AlertRecord
from bot.console.models import ConsoleLogin, ConsoleSession
from bot.db.base import Base
from bot.db.dedup import InboundKey
from bot.db.locks import LeaseLock
from bot.deploys.models import Deploy, DeployLink, WatchState
from bot.gate.models import GateOverride
from bot.incidents.models import ActionItem, Incident, IncidentEvent
from bot.paging.models import Page, PageEvent
from bot.people.models import Person
from bot.postmortem.models import PostmortemDraft
from bot.rollback.models import Rollback, RollbackEvent
from bot.silences.models import Silence
from bot.slack.models import OutboxItem, OutboxLane, SlackRef

metadata = Base.metadata

__all__ = [
    "ActionItem",
    "AlertGroup",
    "AlertGroupMember",
    "AlertRecord",
    "Base",
    "ConsoleLogin",
    "ConsoleSession",
    "Deploy",
    "DeployLink",
    "GateOverride",
    "InboundKey",
    "Incident",
    "IncidentEvent",
    "LeaseLock",
    "OutboxItem",
    "OutboxLane",
    "Page",
    "PageEvent",
    "Person",
    "PostmortemDraft",
    "Rollback",
    "RollbackEvent",
    "Silence",
    "SlackRef",
    "WatchState",
    "metadata",
]
