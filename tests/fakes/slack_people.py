"""Fake Slack, continued: direct messages and people, registered by FakeSlack.

chat.postMessage with a user id as `channel` posts in the app's DM with that user (as Slack does);
`users.info` answers with the profile (display name, real name) set with `add_person`, and
`user_not_found` for anyone else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.slack import Channel, FakeSlack, Message


def is_user(ref: str) -> bool:
    """A user id (U… or W…) rather than a channel."""
    return ref[:1] in "UW" and ref[1:].isalnum() and len(ref) > 2


def dm(fake: FakeSlack, user: str) -> Channel:
    """The app's DM channel with `user` (opened on first use)."""
    from tests.fakes.slack import BOT_USER_ID

    channel_id = "D" + user[1:]
    if channel_id not in fake.channels:
        fake.add_channel(channel_id, f"dm-{user.lower()}", members={user, BOT_USER_ID})
    return fake.channels[channel_id]


def dms(fake: FakeSlack, user: str) -> list[Message]:
    """Messages the app sent to `user` directly."""
    return fake.posted("D" + user[1:])


def add_person(fake: FakeSlack, user: str, *, display_name: str, real_name: str = "") -> None:
    """Someone users.info knows by name."""
    fake.users[user] = {
        "id": user,
        "name": display_name.lower().replace(" ", "."),
        "real_name": real_name or display_name,
        "profile": {"display_name": display_name, "real_name": real_name or display_name},
        "tz": "UTC",
    }


def users_info(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    """users.info as Slack answers it; only people added with `add_person` are known (so a test that
    names nobody sees ids, as when Slack cannot say)."""
    user = str(params.get("user") or "")
    if user in fake.users:
        return {"user": fake.users[user]}
    return {"ok": False, "error": "user_not_found"}


METHODS = {"users.info": users_info}
