"""The incident list (/ui/incidents): filters from the query string, one page of rows, a cursor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog import SEVERITY_ORDER, Catalog
from bot.console.text import between, channel_app_url, channel_web_url, iso, utc_text
from bot.incidents import queries
from bot.incidents.lifecycle import STATUSES, status_label
from bot.incidents.models import Incident

PAGE_SIZE = 50
STATUS_CHOICES = ("open", *STATUSES)
TITLE_LIMIT = 200


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to; `problems` lists query parameters that were not understood."""

    status: str | None = None
    severity: str | None = None
    service: str | None = None
    title: str = ""
    since: date | None = None
    until: date | None = None
    before: int | None = None
    problems: tuple[str, ...] = ()

    def query(self, **changes: object) -> str:
        """The query string of these filters with `changes` applied (None drops a key)."""
        values: dict[str, object] = {
            "status": self.status,
            "severity": self.severity,
            "service": self.service,
            "q": self.title or None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        values.update(changes)
        return urlencode({k: str(v) for k, v in values.items() if v not in (None, "")})


def _date(raw: str, name: str, problems: list[str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.append(f"{name} must be a date like 2026-01-31 (got {raw[:40]!r})")
        return None


def parse_filters(query: Mapping[str, str], catalog: Catalog) -> Filters:
    """Filters from the query string; unknown values are reported in `problems` and ignored."""
    problems: list[str] = []
    status = query.get("status", "").strip() or None
    if status is not None and status not in STATUS_CHOICES:
        problems.append(f"status must be one of {', '.join(STATUS_CHOICES)}")
        status = None
    severity = query.get("severity", "").strip().upper() or None
    if severity is not None and severity not in SEVERITY_ORDER:
        problems.append(f"severity must be one of {', '.join(SEVERITY_ORDER)}")
        severity = None
    service = query.get("service", "").strip() or None
    if service is not None and catalog.service(service) is None:
        problems.append(f"no service called {service[:60]!r} in the catalog")
        service = None
    before_raw = query.get("before", "").strip()
    before = int(before_raw) if before_raw.isdigit() and len(before_raw) < 15 else None
    if before_raw and before is None:
        problems.append("before must be an incident number")
    since = _date(query.get("since", "").strip(), "since", problems)
    until = _date(query.get("until", "").strip(), "until", problems)
    return Filters(
        status=status,
        severity=severity,
        service=service,
        title=query.get("q", "").strip()[:TITLE_LIMIT],
        since=since,
        until=until,
        before=before,
        problems=tuple(problems),
    )


@dataclass(frozen=True)
class Row:
    """One incident in the list."""

    id: int
    human_id: str
    severity: str
    title: str
    status: str
    status_label: str
    service: str | None
    commander: str | None
    declared_iso: str
    declared_utc: str
    duration: str
    channel_name: str
    channel_web: str | None
    channel_app: str | None


@dataclass(frozen=True)
class ListPage:
    """A page of the list and the cursor of the next one (None on the last page)."""

    filters: Filters
    rows: list[Row]
    next_before: int | None
    services: list[str] = field(default_factory=list)


def row_of(
    incident: Incident, channel: str | None, *, now: datetime, workspace: str | None, team: str | None
) -> Row:
    """The list row of one incident."""
    return Row(
        id=incident.id,
        human_id=incident.human_id,
        severity=incident.severity,
        title=incident.title,
        status=incident.status,
        status_label=status_label(incident.status),
        service=incident.service,
        commander=incident.commander,
        declared_iso=iso(incident.declared_at),
        declared_utc=utc_text(incident.declared_at),
        duration=between(incident.declared_at, incident.resolved_at, now),
        channel_name=incident.channel_name,
        channel_web=channel_web_url(workspace, channel),
        channel_app=channel_app_url(team, channel),
    )


def _start_of(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), tzinfo=UTC) if day else None


async def list_page(
    session: AsyncSession,
    catalog: Catalog,
    filters: Filters,
    *,
    now: datetime,
    team: str | None,
    page_size: int = PAGE_SIZE,
) -> ListPage:
    """The page of incidents the filters select, newest first."""
    until = _start_of(filters.until)
    found: Sequence[Incident] = await queries.listing(
        session,
        status=filters.status,
        limit=page_size + 1,
        before=filters.before,
        severity=filters.severity,
        service=filters.service,
        title=filters.title or None,
        declared_from=_start_of(filters.since),
        declared_until=until + timedelta(days=1) if until else None,
    )
    page = list(found[:page_size])
    channels = await queries.channel_ids(session, page)
    workspace = catalog.incidents.slack_workspace_url
    rows = [row_of(i, channels.get(i.id), now=now, workspace=workspace, team=team) for i in page]
    next_before = page[-1].id if len(found) > page_size and page else None
    return ListPage(filters, rows, next_before, [s.name for s in catalog.services])
