"""Shared base for catalog models: strict (unknown keys are errors) and immutable."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A catalog section: unknown keys are rejected, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_CHANNEL = re.compile(r"^(?:[CGD][A-Z0-9]{6,}|#[a-z0-9][a-z0-9_-]{0,79})$")
_USER = re.compile(r"^[UW][A-Z0-9]{6,}$")
_USERGROUP = re.compile(r"^S[A-Z0-9]{6,}$")


def _channel(value: str) -> str:
    if not _CHANNEL.match(value):
        raise ValueError("must be a channel ID like C0123ABCD or a name like #payments-alerts")
    return value


def _user(value: str) -> str:
    if not _USER.match(value):
        raise ValueError("must be a Slack user ID like U0123ABCD (not a display name)")
    return value


def _usergroup(value: str) -> str:
    if not _USERGROUP.match(value):
        raise ValueError("must be a Slack user group ID like S0123ABCD")
    return value


ChannelId = Annotated[str, AfterValidator(_channel)]
UserId = Annotated[str, AfterValidator(_user)]
UserGroupId = Annotated[str, AfterValidator(_usergroup)]
