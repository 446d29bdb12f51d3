"""Make external text safe for Slack mrkdwn, and keep it within Slack's limits."""

from __future__ import annotations

SECTION_TEXT_LIMIT = 3000
PLAIN_TEXT_LIMIT = 150
MESSAGE_TEXT_LIMIT = 12000
ELLIPSIS = "…"


def escape(text: object) -> str:
    """Escape &, < and > so `<!channel>` or `<@U123>` render literally instead of pinging."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's escaping of &, < and > (message and slash-command text arrive escaped): the inverse
    of `escape`, so text Slack sent is escaped exactly once again where it leaves."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, ending with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    # Never leave half an escape sequence (&amp;) or a half link (<...|...>) at the end.
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    lt = cut.rfind("<")
    if lt != -1 and ">" not in cut[lt:]:
        cut = cut[:lt]
    return cut + ELLIPSIS


def safe(text: object, limit: int = SECTION_TEXT_LIMIT) -> str:
    """Escape, then truncate to `limit`."""
    return truncate(escape(text), limit)


def link(url: str, label: str) -> str:
    """An mrkdwn link whose label is escaped; a URL with `|`, `<` or `>` is refused as plain text."""
    if any(c in url for c in "<>| \n") or not url.startswith(("http://", "https://")):
        return escape(label)
    return f"<{url}|{escape(label).replace('|', '¦')}>"


def user_mention(user_id: str) -> str:
    """`<@U123>` for a user id that looks like one, else the escaped text."""
    if user_id[:1] in ("U", "W") and user_id.isalnum():
        return f"<@{user_id}>"
    return escape(user_id)


def channel_mention(channel_id: str) -> str:
    """`<#C123>` for a channel id that looks like one, else the escaped text."""
    if channel_id[:1] in ("C", "G") and channel_id.isalnum():
        return f"<#{channel_id}>"
    return escape(channel_id)
