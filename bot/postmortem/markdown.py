"""Markdown building blocks: escaping of external text, links, table cells, UTC times and durations.

Every piece of text that was typed by someone or came from an alert, a deploy or Slack goes
through `inline` (or `cell` / `block`), so it can neither break the document's structure (tables,
headings, lists) nor inject HTML. `<` and `>` always become entities: the outbox substitutes
`<flare:...>` placeholders in payloads, so a literal `<` must never reach it from user text.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType

from bot.durations import duration as duration

ELLIPSIS = "…"
_ENTITY_LIKE = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# Slack markup in command text: <@U1|alice>, <#C1|ops>, <!here>, <!subteam^S1|@sre>, <url|label>.
_SLACK_TOKEN = re.compile(r"<([@#!]?)([^<>|\s]+)(?:\|([^<>]*))?>")
_BLOCK_START = re.compile(r"^(\s*)(#|-|\+|=|\d+[.)])")
_BLOCK_CHARS = frozenset("#-+=0123456789")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`\\]+$")
_URL_SPECIAL = re.compile(r"[()|\[\]]")
# A safe URL that needs no encoding either (the common case, one scan).
_PLAIN_URL = re.compile(r"^https?://[^\s<>\"'`\\()|\[\]]+$")
# Text with none of these characters needs no escaping at all (the common case, checked first).
_NEEDS_WORK = re.compile(r"[\\`*_\[\]~|<>&\r\n\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _clean_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {c: None for c in [*range(0x20), *range(0x7F, 0xA0)] if c not in (9, 10)}
    table.update({0x0D: "\n", 0x85: "\n", 0x2028: "\n", 0x2029: "\n"})
    table.update({c: "\ufffd" for c in range(0xD800, 0xE000)})
    return table


_CLEAN = _clean_table()
_ESCAPES = [(c, "\\" + c) for c in "\\`*_[]~|"] + [("<", "&lt;"), (">", "&gt;")]
# The characters of _NEEDS_WORK that `clean` leaves as they are.
_ESCAPED_OR_KEPT = frozenset("\\`*_[]~|<>&\n\t")
_UNCLEAN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


# The ASCII characters _NEEDS_WORK does not match: deleting them from a text leaves its special ones.
_ORDINARY_ASCII = bytes(c for c in range(128) if not _NEEDS_WORK.match(chr(c)))


def clean(text: object) -> str:
    """Text with newlines normalised, control characters removed and lone surrogates replaced."""
    value = str(text)
    if _UNCLEAN.search(value) is None:
        return value
    return value.replace("\r\n", "\n").translate(_CLEAN)


def _escape_plain(text: str, present: Container[str] | None = None) -> str:
    """`text` with Markdown's special characters escaped (`present`: the special characters it has)."""
    chars = text if present is None else present
    if "&" in chars:
        text = _ENTITY_LIKE.sub("&amp;", text)
    # A chain of replace() beats translate() and re.sub() on the short texts of a timeline.
    for char, escaped in _ESCAPES:
        if char in chars:
            text = text.replace(char, escaped)
    return text


def _unslack(text: str) -> str:
    """Undo Slack's own escaping of &, < and > in message text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def safe_url(url: object) -> str | None:
    """`url` if it is a plain http(s) URL, with the characters Markdown would misread encoded; else None."""
    if not isinstance(url, str) or len(url) > 2000:
        return None
    if _PLAIN_URL.match(url):
        return url
    if not _SAFE_URL.match(url):
        return None
    if _URL_SPECIAL.search(url) is None:
        return url
    for char, code in (("(", "%28"), (")", "%29"), ("|", "%7C"), ("[", "%5B"), ("]", "%5D")):
        url = url.replace(char, code)
    return url


def link(label: str, url: object) -> str:
    """`[label](url)` with the label escaped; just the escaped label when the URL is not safe."""
    target = safe_url(url)
    text = _escape_plain(clean(label).replace("\n", " ")) or "link"
    return f"[{text}]({target})" if target else text


def checked_link(label: str, url: str) -> str:
    """`[label](url)` for a URL that safe_url already returned."""
    return f"[{link_label(label)}]({url})"


def link_label(label: str) -> str:
    """The escaped text of a link's label (never empty)."""
    text = label if _NEEDS_WORK.search(label) is None else _escape_plain(clean(label).replace("\n", " "))
    return text or "link"


def inline(text: object, limit: int | None = None) -> str:
    """External text for use inside a line (line breaks become spaces), mentions and links readable."""
    value = _escaped(text, limit)
    return " ".join(value.split("\n")) if "\n" in value else value


def _escaped(text: object, limit: int | None = None) -> str:
    """External text escaped for Markdown, line breaks kept: Slack mentions and links made readable."""
    value = text if isinstance(text, str) else str(text)
    if limit is not None and len(value) > limit:
        value = value[: max(limit - 1, 0)].rstrip() + ELLIPSIS
    # One scan finds the special characters (most texts have none, or one or two); on ASCII text
    # bytes.translate does it quicker than the regular expression.
    if value.isascii():
        special: Iterable[str] = value.encode().translate(None, _ORDINARY_ASCII).decode()
    else:
        special = _NEEDS_WORK.findall(value)
    if not special:
        return value
    found = set(special)
    if not found <= _ESCAPED_OR_KEPT:  # control characters, odd line breaks, lone surrogates
        value = clean(value)
        found = set(_NEEDS_WORK.findall(value))
    if "<" not in found and "&" not in found:  # no Slack markup or entities to undo
        return _escape_plain(value, found)
    out: list[str] = []
    last = 0
    for match in _SLACK_TOKEN.finditer(value):
        out.append(_escape_plain(_unslack(value[last : match.start()])))
        out.append(_slack_token(match))
        last = match.end()
    out.append(_escape_plain(_unslack(value[last:])))
    return "".join(out)


def _slack_token(match: re.Match[str]) -> str:
    sigil, target, label = match.group(1), match.group(2), match.group(3)
    if sigil == "@":
        return _escape_plain("@" + (PEOPLE.get().get(target) or (label.lstrip("@") if label else target)))
    if sigil == "#":
        return _escape_plain("#" + (label or target))
    if sigil == "!":
        if target.startswith("subteam^"):
            return _escape_plain(label or "@group")
        return _escape_plain("@" + target)
    url = _unslack(target)
    if safe_url(url):
        return link(_unslack(label) if label else url, url)
    return _escape_plain(_unslack(match.group(0)))


def cell(text: object, limit: int | None = None) -> str:
    """External text on one line (a table cell, a list item): newlines become <br>, pipes escaped,
    and a start that Markdown would read as a heading or a list is escaped."""
    value = _escaped(text, limit).strip()
    if "\n" in value:
        value = "<br>".join(part.strip() for part in value.split("\n") if part.strip())
    if value[:1] in _BLOCK_CHARS:
        value = _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), value, count=1)
    return value


def block(text: object, limit: int | None = None) -> str:
    """External text as paragraphs: line starts that Markdown would read as headings or lists escaped."""
    lines = []
    for line in _escaped(text, limit).split("\n"):
        line = line.strip()
        lines.append(_BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), line))
    return "\n".join(lines).strip()


# Display names of the draft being rendered (set by render() from References.people).
PEOPLE: ContextVar[Mapping[str, str]] = ContextVar("flare_postmortem_people", default=MappingProxyType({}))


def user(value: str | None) -> str:
    """`@Alice` (display name) or `@U0123` for a Slack user id, `Flare` for automatic actions, else the
    escaped text."""
    if not value:
        return "—"
    if value == "flare":
        return "Flare"
    if _USER_ID.match(value):
        name = PEOPLE.get().get(value)
        return _escape_plain("@" + clean(name).replace("\n", " ")) if name else f"@{value}"
    return inline(value, 64)


def is_user_id(value: str | None) -> bool:
    """True for a Slack user id such as U0ALICE01."""
    return bool(value and _USER_ID.match(value))


def utc(when: datetime) -> datetime:
    """`when` in UTC (a naive time is taken to be UTC already)."""
    if when.tzinfo is UTC:
        return when
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def stamp(when: datetime) -> str:
    """'2026-01-05 14:02 UTC'."""
    return f"{utc(when):%Y-%m-%d %H:%M} UTC"


def clock(when: datetime) -> str:
    """'14:02:13'."""
    return utc(when).isoformat(" ", "seconds")[11:19]


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A GitHub-flavoured Markdown table (cells must already be escaped)."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines
