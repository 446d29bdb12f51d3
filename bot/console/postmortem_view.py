"""The post-mortem page: a stored draft rendered from its Markdown, the versions, a diff between two."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from sqlalchemy.ext.asyncio import AsyncSession

from bot.postmortem import service

DIFF_CONTEXT = 3


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # CommonMark with tables; raw HTML in a draft is shown as text, links are checked by markdown-it.
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def to_html(markdown: str) -> str:
    """HTML of a draft (raw HTML off, tables on): safe to insert into the page as it is."""
    return str(_markdown().render(markdown))


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff and its kind: add, remove, hunk, file or context."""

    kind: str
    text: str


def diff_lines(old: str, new: str, old_name: str, new_name: str) -> list[DiffLine]:
    """A unified diff of two drafts, line by line."""
    out = []
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), old_name, new_name, n=DIFF_CONTEXT, lineterm=""
    )
    for line in lines:
        if line.startswith(("---", "+++")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "remove"
        else:
            kind = "context"
        out.append(DiffLine(kind, line))
    return out


@dataclass(frozen=True)
class PostmortemPage:
    """What /ui/incidents/INC-n/postmortem shows: one version, or the diff of two."""

    versions: list[int]
    version: int | None
    html: str
    filename: str | None
    compare: tuple[int, int] | None
    diff: list[DiffLine]
    problem: str | None


async def postmortem_page(
    session: AsyncSession,
    incident_id: int,
    *,
    version: int | None,
    compare: tuple[int, int] | None,
) -> PostmortemPage:
    """The page for `version` (newest when None), or the diff `compare` = (old, new)."""
    versions = await service.versions(session, incident_id)
    if not versions:
        return PostmortemPage([], None, "", None, None, [], None)
    if compare is not None:
        old_v, new_v = compare
        old = await service.stored(session, incident_id, old_v)
        new = await service.stored(session, incident_id, new_v)
        if old is None or new is None:
            missing = old_v if old is None else new_v
            return PostmortemPage(
                versions, None, "", None, None, [], f"there is no version {missing} of this draft"
            )
        lines = diff_lines(old.markdown, new.markdown, old.filename, new.filename)
        return PostmortemPage(versions, None, "", None, compare, lines, None)
    draft = await service.stored(session, incident_id, version)
    if draft is None:
        return PostmortemPage(
            versions, None, "", None, None, [], f"there is no version {version} of this draft"
        )
    return PostmortemPage(versions, draft.version, to_html(draft.markdown), draft.filename, None, [], None)
