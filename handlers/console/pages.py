"""The console's pages: incidents, one incident, its post-mortem, services, delivery. Read-only."""

from __future__ import annotations

import asyncio
from importlib import resources

from aiohttp import web

from bot.console import delivery_view, incident_view, incidents_view, postmortem_view, services_view
from bot.console.charts import svg
from bot.incidents import queries
from bot.incidents.naming import parse_human_id
from bot.postmortem import service
from handlers.console.auth import signed_in
from handlers.console.common import container, nonce, page

MAX_VERSION = 1_000_000
# Charts are drawn in a worker thread: pygal takes a few ms each, which the event loop should not wait for.
_STATIC = {"console.css": "text/css", "console.js": "text/javascript"}


def _incident_id(request: web.Request) -> int:
    found = parse_human_id(request.match_info["incident"])
    if found is None:
        raise web.HTTPNotFound(
            text=f"{request.match_info['incident'][:40]!r} is not an incident id like INC-42"
        )
    return found


def _version(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 0 < int(raw) <= MAX_VERSION:
        raise web.HTTPBadRequest(text=f"{name} must be a version number like 2")
    return int(raw)


@signed_in
async def incidents(request: web.Request) -> web.StreamResponse:
    """GET /ui/incidents: the filtered, paginated list."""
    c = container(request)
    filters = incidents_view.parse_filters(request.query, c.catalog)
    async with c.db.sessions() as session:
        listing = await incidents_view.list_page(
            session, c.catalog, filters, now=c.clock.now(), team=c.identity.team_id
        )
    return page(
        request,
        "incidents.html",
        {
            "page": listing,
            "statuses": incidents_view.STATUS_CHOICES,
            "severities": ("P0", "P1", "P2", "P3"),
        },
    )


@signed_in
async def incident(request: web.Request) -> web.StreamResponse:
    """GET /ui/incidents/INC-n: card, roles, a page of the timeline, action items, alerts, deploys."""
    c = container(request)
    incident_id = _incident_id(request)
    raw_after = request.query.get("after", "")
    after = int(raw_after) if raw_after.isdigit() and len(raw_after) < 15 else None
    async with c.db.sessions() as session:
        row = await queries.load(session, incident_id)
        if row is None:
            raise web.HTTPNotFound(text=f"INC-{incident_id} does not exist.")
        view = await incident_view.incident_page(
            session, c.catalog, row, now=c.clock.now(), team=c.identity.team_id, after=after
        )
        versions = await service.versions(session, incident_id)
    return page(request, "incident.html", {"i": view, "versions": versions})


@signed_in
async def postmortem(request: web.Request) -> web.StreamResponse:
    """GET /ui/incidents/INC-n/postmortem[?version=N | ?old=A&new=B]: a version, or the diff of two."""
    c = container(request)
    incident_id = _incident_id(request)
    version = _version(request.query.get("version"), "version")
    old = _version(request.query.get("old"), "old")
    new = _version(request.query.get("new"), "new")
    compare = (old, new) if old is not None and new is not None else None
    async with c.db.sessions() as session:
        row = await queries.load(session, incident_id)
        if row is None:
            raise web.HTTPNotFound(text=f"INC-{incident_id} does not exist.")
        view = await postmortem_view.postmortem_page(session, incident_id, version=version, compare=compare)
    status = 404 if view.problem else 200
    return page(request, "postmortem.html", {"incident": row, "pm": view}, status=status)


@signed_in
async def postmortem_md(request: web.Request) -> web.StreamResponse:
    """GET /ui/incidents/INC-n/postmortem.md[?version=N]: the stored draft, the bytes the API and CLI give."""
    c = container(request)
    incident_id = _incident_id(request)
    version = _version(request.query.get("version"), "version")
    async with c.db.sessions() as session:
        draft = await service.stored(session, incident_id, version)
    if draft is None:
        raise web.HTTPNotFound(
            text=f"INC-{incident_id} has no post-mortem draft version {version or ''}".strip()
        )
    return web.Response(
        text=draft.markdown,
        content_type="text/markdown",
        charset="utf-8",
        headers={
            "X-Flare-Postmortem-Version": str(draft.version),
            "Content-Disposition": f'attachment; filename="{draft.filename}"',
        },
    )


@signed_in
async def services(request: web.Request) -> web.StreamResponse:
    """GET /ui/services: what serves now, recent changes and the open incident of each service."""
    c = container(request)
    async with c.db.sessions() as session:
        known = await services_view.watched(session)
    pairs = [(s.name, env) for s in c.catalog.services for env in s.environments]
    live = await services_view.live_serving(c.cloudrun, c.catalog, [p for p in pairs if p not in known])
    async with c.db.sessions() as session:
        cards = await services_view.service_cards(session, c.catalog, live, c.clock.now())
    return page(request, "services.html", {"cards": cards})


@signed_in
async def delivery(request: web.Request) -> web.StreamResponse:
    """GET /ui/delivery[?service=&env=&weeks=]: the weekly delivery charts, each with its table."""
    c = container(request)
    selection = delivery_view.parse_selection(request.query, c.catalog)
    async with c.db.sessions() as session:
        charts = await delivery_view.delivery_charts(session, c.catalog, selection, c.clock.now())
    key = nonce(request)
    drawn = await asyncio.to_thread(lambda: [svg(chart, nonce=key) for chart in charts])
    return page(
        request,
        "delivery.html",
        {
            "selection": selection,
            "charts": list(zip(charts, drawn, strict=True)),
            "services": [s.name for s in c.catalog.services],
            "envs": delivery_view.environments(c.catalog),
            "week_choices": delivery_view.WEEK_CHOICES,
        },
    )


async def static(request: web.Request) -> web.StreamResponse:
    """GET /ui/static/<file>: the stylesheet and the small script that shows times in the viewer's zone."""
    name = request.match_info["name"]
    if name not in _STATIC:
        raise web.HTTPNotFound()
    body = resources.files("handlers.console").joinpath("static", name).read_bytes()
    return web.Response(
        body=body,
        content_type=_STATIC[name],
        charset="utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


async def index(_request: web.Request) -> web.StreamResponse:
    """GET /ui/: to the incident list."""
    raise web.HTTPFound("/ui/incidents")


def add_routes(ui: web.Application) -> None:
    """Register the pages on the console sub-application."""
    ui.router.add_get("/", index)
    ui.router.add_get("/incidents", incidents)
    ui.router.add_get("/incidents/{incident}", incident)
    ui.router.add_get("/incidents/{incident}/postmortem", postmortem)
    ui.router.add_get("/incidents/{incident}/postmortem.md", postmortem_md)
    ui.router.add_get("/services", services)
    ui.router.add_get("/delivery", delivery)
    ui.router.add_get("/static/{name}", static)
