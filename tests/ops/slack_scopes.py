"""Which bot scope each Slack Web API method and event needs, and which methods Flare's code calls.

The table follows Slack's method reference (https://api.slack.com/methods/<method>, "Required
scopes", bot tokens). Where Slack accepts one of several scopes, the one for public channels is
listed: Flare creates and works in public channels. A method Flare starts calling that is missing
here fails tests/ops/test_manifest.py until it is added, with its scope in slack/manifest.yaml.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient

METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.getPermalink": (),
    "chat.postEphemeral": ("chat:write",),
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "conversations.create": ("channels:manage",),
    "conversations.history": ("channels:history",),
    "conversations.invite": ("channels:manage",),
    # Called with types=public_channel,private_channel (bot/slack/channels.py): both read scopes.
    "conversations.list": ("channels:read", "groups:read"),
    "conversations.replies": ("channels:history",),
    "conversations.setTopic": ("channels:manage",),
    # files_upload_v2 is these two calls plus a POST of the bytes to the URL Slack returns.
    "files.completeUploadExternal": ("files:write",),
    "files.getUploadURLExternal": ("files:write",),
    "pins.add": ("pins:write",),
    "usergroups.users.list": ("usergroups:read",),
    "users.info": ("users:read",),
    "views.open": (),
    "views.update": (),
    # Sign in with Slack (the console): called with the app's client id and secret, then with the
    # signed-in user's token; they need the user scopes openid, profile and email, no bot scope.
    "openid.connect.token": (),
    "openid.connect.userInfo": (),
}

# Methods called with the app-level token (Socket Mode), not the bot token: no bot scope.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})

EVENT_SCOPES: dict[str, str] = {
    "app_mention": "app_mentions:read",
    "pin_added": "pins:read",
    "reaction_added": "reactions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "message.mpim": "mpim:history",
}

# slack_sdk helpers that are several Web API calls.
SDK_HELPERS: dict[str, tuple[str, ...]] = {
    "files_upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal"),
}

_FAMILIES = (
    "admin|api|apps|auth|bookmarks|bots|calls|chat|conversations|dialog|dnd|emoji|files|functions"
    "|migration|oauth|openid|pins|reactions|reminders|rtm|search|stars|team|tooling|usergroups"
    "|users|views|workflows"
)
_METHOD = re.compile(rf"^(?:{_FAMILIES})\.[a-zA-Z][a-zA-Z0-9]*(?:\.[a-zA-Z][a-zA-Z0-9]*)*$")
_SDK_CALL = re.compile(rf"^(?:{_FAMILIES})_[a-zA-Z][a-zA-Z0-9_]*$")
# Tables keyed by method name that describe how to treat errors, not calls Flare makes.
_NOT_CALLS = frozenset({"BENIGN_ERRORS"})


def _keys_of_error_tables(tree: ast.AST) -> set[int]:
    """ids of string constants that are keys of an error table (e.g. BENIGN_ERRORS)."""
    ignored: set[int] = set()
    for node in ast.walk(tree):
        target: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        elif isinstance(node, ast.AnnAssign):
            target = node.target
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and target.id in _NOT_CALLS and isinstance(value, ast.Dict):
            ignored.update(id(key) for key in value.keys if key is not None)
    return ignored


def called_methods(*folders: Path) -> dict[str, set[str]]:
    """Slack methods named in the code under `folders`: method -> files that name it.

    Finds method-name strings ("chat.postMessage", passed to gateway.call or put in the outbox) and
    slack_sdk client calls (`client.views_open(...)`, `files_upload_v2(...)`).
    """
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            ignored = _keys_of_error_tables(tree)
            for node in ast.walk(tree):
                names: tuple[str, ...] = ()
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in ignored:
                    if _METHOD.match(node.value):
                        names = (node.value,)
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    attr = node.func.attr
                    if attr in SDK_HELPERS:
                        names = SDK_HELPERS[attr]
                    elif attr != "api_call" and _SDK_CALL.match(attr) and hasattr(AsyncWebClient, attr):
                        # slack_sdk names each method with dots made underscores: views_open
                        # (api_call is its generic entry point; the method is its argument).
                        names = (attr.replace("_", "."),)
                for name in names:
                    found.setdefault(name, set()).add(str(path))
    return found
