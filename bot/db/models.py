"""Imports every model so the metadata is complete (for Alembic and the schema drift test)."""

from bot.db.base import Base
from bot.db.dedup import InboundKey
from bot.slack.models import OutboxItem, OutboxLane, SlackRef

metadata = Base.metadata

__all__ = ["Base", "InboundKey", "OutboxItem", "OutboxLane", "SlackRef", "metadata"]
