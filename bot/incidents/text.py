"""Text helpers for incident messages: escaping that keeps user mentions, Slack dates, durations."""

from __future__ import annotations

import re
from datetime import datetime

from bot.durations import duration as duration
from bot.slack.escape import escape, truncate, unescape, user_mention

# A user or channel reference as Slack sends it in command text ("<@U123|alice>", "<#C123|ops>").
_MENTION = re.compile(r"<([@#])([UWCG][A-Z0-9]{2,})(?:\|[^<>]*)?>")
_USER_TOKEN = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^<>]*)?>$|^@?([UW][A-Z0-9]{6,})$")


def rich(text: str, limit: int, *, from_slack: bool = False) -> str:
    """Escape user text for mrkdwn but keep <@user> and <#channel> references; truncate with "…".

    Special mentions such as <!channel>, <!here> or <!subteam^…> are escaped, so they never ping.
    `from_slack`: the text is as Slack sent it (already escaped): it is unescaped once first, so it is
    escaped exactly once on the way out (no `&amp;gt;`).
    """
    plain = unescape if from_slack else str
    out: list[str] = []
    last = 0
    for match in _MENTION.finditer(text):
        out.append(escape(plain(text[last : match.start()])))
        kind, ident = match.group(1), match.group(2)
        if kind == "@" and ident[0] in "UW":
            out.append(f"<@{ident}>")
        elif kind == "#" and ident[0] in "CG":
            out.append(f"<#{ident}>")
        else:
            out.append(escape(plain(match.group(0))))
        last = match.end()
    out.append(escape(plain(text[last:])))
    return truncate("".join(out), limit)


def parse_user(token: str) -> str | None:
    """A user id from '<@U123|alice>', '<@U123>', '@U0123ABCD' or 'U0123ABCD'; None otherwise."""
    match = _USER_TOKEN.match(token.strip())
    if not match:
        return None
    return match.group(1) or match.group(2)


def who(user: str | None) -> str:
    """A mention for a Slack user id, 'Flare' for automatic actions, '_unassigned_' for nobody."""
    if not user:
        return "_unassigned_"
    if user == "flare":
        return "Flare"
    return user_mention(user)


def slack_date(when: datetime) -> str:
    """A date Slack shows in the reader's time zone, with a UTC fallback."""
    fallback = f"{when:%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def utc(when: datetime) -> str:
    """'2026-01-05 14:02 UTC'."""
    return f"{when:%Y-%m-%d %H:%M} UTC"
