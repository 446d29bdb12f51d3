"""GET /api/incidents and GET /api/incidents/{id}: incidents as JSON, behind FLARE_API_TOKEN."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.http.auth import bearer_refusal
from bot.http.errors import json_error
from bot.incidents import queries, serialize, timeline
from bot.incidents.naming import parse_human_id
from bot.people import directory as people
from handlers.keys import CONTAINER

STATUS_FILTERS = ("open", "all", "declared", "acknowledged", "mitigated", "resolved")
MAX_LIMIT = 200


def _refused(request: web.Request) -> web.Response | None:
    token = request.app[CONTAINER].settings.flare_api_token
    return bearer_refusal(request, token, setting="FLARE_API_TOKEN", what="the incidents API")


def _int_param(request: web.Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise web.HTTPBadRequest(text=f"{name} must be a whole number from {low} to {high}, got {raw[:40]!r}")
    return int(raw)


async def list_incidents(request: web.Request) -> web.Response:
    """GET /api/incidents?status=open|all|<status>&limit=50&before=<id>: newest first, without timelines."""
    refused = _refused(request)
    if refused is not None:
        return refused
    status = request.query.get("status", "all")
    if status not in STATUS_FILTERS:
        return json_error(400, f"status must be one of {', '.join(STATUS_FILTERS)}, got {status[:40]!r}")
    limit = _int_param(request, "limit", 50, 1, MAX_LIMIT)
    before = _int_param(request, "before", None, 1, 2**62)
    assert limit is not None
    async with request.app[CONTAINER].db.sessions() as session:
        rows = await queries.listing(
            session, status=None if status == "all" else status, limit=limit, before=before
        )
        channels = await queries.channel_ids(session, rows)
        named = await people.names(session, people.user_ids(p for i in rows for p in serialize.people_of(i)))
    body: dict[str, Any] = {
        "incidents": [serialize.incident_json(i, channels.get(i.id), named) for i in rows]
    }
    if len(rows) == limit:
        body["next_before"] = rows[-1].id
    return web.json_response(body)


async def get_incident(request: web.Request) -> web.Response:
    """GET /api/incidents/{id} (42 or INC-42): the incident with its timeline and action items."""
    refused = _refused(request)
    if refused is not None:
        return refused
    raw = request.match_info["id"]
    incident_id = parse_human_id(raw)
    if incident_id is None:
        return json_error(400, f"id must be a number or INC-<number>, got {raw[:40]!r}")
    async with request.app[CONTAINER].db.sessions() as session:
        incident = await queries.load(session, incident_id)
        if incident is None:
            return json_error(404, f"INC-{incident_id} does not exist")
        channels = await queries.channel_ids(session, [incident])
        events = await timeline.events(session, incident_id)
        items = await queries.action_items(session, incident_id)
        mentioned = [*serialize.people_of(incident), *(e.actor for e in events), *(i.owner for i in items)]
        named = await people.names(session, people.user_ids(mentioned))
    return web.json_response(serialize.detail_json(incident, channels.get(incident_id), events, items, named))


def add_routes(app: web.Application) -> None:
    """Register the incidents API routes."""
    app.router.add_get("/api/incidents", list_incidents)
    app.router.add_get("/api/incidents/{id}", get_incident)
