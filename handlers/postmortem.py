"""Post-mortem drafts: `/incident postmortem`, the card's button, GET /api/incidents/{id}/postmortem.md and
`flare postmortem INC-42 [-o file.md]`.

A request stores the draft, its upload and the answer in one transaction before it is acked, or, for
a long timeline, is answered at once and drafted right after (see bot/postmortem/requests.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from sqlalchemy.exc import SQLAlchemyError

from bot.container import Container
from bot.db.engine import Database
from bot.http.auth import bearer_refusal
from bot.http.errors import is_storage_unavailable, json_error
from bot.incidents import queries
from bot.incidents.flows import ephemeral_notice
from bot.incidents.lifecycle import IncidentError
from bot.incidents.naming import parse_human_id
from bot.postmortem import requests, service
from bot.slack.outbox import enqueue
from handlers.commands.usage import usage_error
from handlers.keys import CONTAINER

USAGE = "/incident postmortem [INC-<number>]"
EXAMPLE = "/incident postmortem INC-42"
MAX_VERSION = 1_000_000


class Invocation(Protocol):
    """The parts of a parsed `/incident` call this subcommand reads."""

    @property
    def user(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def trigger_id(self) -> str: ...
    @property
    def incident_id(self) -> int | None: ...
    @property
    def rest(self) -> str: ...


async def subcommand(c: Container, inv: Invocation) -> dict[str, Any]:
    """`/incident postmortem`: generate (or reuse) a draft, upload it, answer privately."""
    if inv.rest:
        return usage_error("`postmortem` takes no text, only an optional incident id.", USAGE, EXAMPLE)
    async with c.transaction() as session:
        if inv.incident_id is not None:
            incident = await queries.load(session, inv.incident_id, for_update=True)
            if incident is None:
                raise IncidentError(
                    f"INC-{inv.incident_id} does not exist; `/incident list` shows the open ones."
                )
        else:
            incident = await queries.by_channel(session, inv.channel, for_update=True)
            if incident is None:
                return usage_error(
                    "This is not an incident channel, so say which incident you mean.", USAGE, EXAMPLE
                )
        key = f"command:{inv.trigger_id}" if inv.trigger_id else None
        draft = await requests.request(
            c,
            session,
            incident,
            actor=inv.user,
            trigger="command",
            request_key=key,
            notify=(inv.channel, inv.user),
        )
        where = await requests.where(session, incident)
    return {"response_type": "ephemeral", "text": requests.answer(draft, where)}


def _incident_id(body: dict[str, Any]) -> int | None:
    action = (body.get("actions") or [{}])[0]
    for candidate in (action.get("value"), str(action.get("block_id") or "").rsplit("-", 1)[-1]):
        if candidate and str(candidate).isdigit():
            return int(candidate)
    return None


def register(bolt: AsyncApp, container: Container) -> None:
    """Register the card's "Generate post-mortem" button."""

    @bolt.action("incident_postmortem")
    async def postmortem_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        channel = str(
            (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
        )
        user = str(body["user"]["id"])
        action = (body.get("actions") or [{}])[0]
        # Each click has its own trigger_id; a second click is absorbed because it renders the same bytes.
        key = f"button:{body.get('trigger_id') or action.get('action_ts') or ''}"
        async with container.transaction() as session:
            incident = await queries.load(session, _incident_id(body) or 0, for_update=True)
            if incident is None:
                text = ":warning: That incident no longer exists."
            else:
                draft = await requests.request(
                    container,
                    session,
                    incident,
                    actor=user,
                    trigger="button",
                    request_key=key,
                    notify=(channel, user),
                )
                text = requests.answer(draft, await requests.where(session, incident))
            if channel:
                await enqueue(session, ephemeral_notice(channel, user, text))
        await ack()


def _version(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_VERSION:
        raise ValueError(f"version must be a whole number from 1 to {MAX_VERSION}, got {raw[:40]!r}")
    return int(raw)


async def get_postmortem(request: web.Request) -> web.Response:
    """GET /api/incidents/{id}/postmortem.md[?version=N]: the newest (or a given) stored draft."""
    token = request.app[CONTAINER].settings.flare_api_token
    refused = bearer_refusal(request, token, setting="FLARE_API_TOKEN", what="the incidents API")
    if refused is not None:
        return refused
    raw = request.match_info["id"]
    incident_id = parse_human_id(raw)
    if incident_id is None:
        return json_error(400, f"id must be a number or INC-<number>, got {raw[:40]!r}")
    try:
        version = _version(request.query.get("version"))
    except ValueError as exc:
        return json_error(400, str(exc))
    async with request.app[CONTAINER].db.sessions() as session:
        if await queries.load(session, incident_id) is None:
            return json_error(404, f"INC-{incident_id} does not exist")
        draft = await service.stored(session, incident_id, version)
        known = await service.versions(session, incident_id) if draft is None else []
    if draft is None:
        if not known:
            return json_error(
                404,
                f"INC-{incident_id} has no post-mortem draft yet; generate one with `/incident postmortem` "
                "or the card's Generate post-mortem button",
            )
        return json_error(404, f"INC-{incident_id} has no draft version {version}", versions=known)
    return web.Response(
        text=draft.markdown,
        content_type="text/markdown",
        charset="utf-8",
        headers={
            "X-Flare-Postmortem-Version": str(draft.version),
            "Content-Disposition": f'inline; filename="{draft.filename}"',
        },
    )


def add_routes(app: web.Application) -> None:
    """Register GET /api/incidents/{id}/postmortem.md."""
    app.router.add_get("/api/incidents/{id}/postmortem.md", get_postmortem)


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `flare postmortem INC-42 [-o file.md] [--version N] [--fresh]`."""
    cmd = sub.add_parser(
        "postmortem",
        help="print an incident's post-mortem draft",
        description=(
            "Print the newest stored post-mortem draft of an incident (or write it to a file). Without a "
            "stored draft, or with --fresh, the draft is rendered from the current data; nothing is "
            "stored or uploaded. Example: flare postmortem INC-42 -o inc-42.md"
        ),
    )
    cmd.add_argument("incident", help="the incident: INC-42 or 42")
    cmd.add_argument("-o", "--output", default=None, help="write the draft to this file instead of stdout")
    cmd.add_argument(
        "--version", type=int, default=None, dest="draft_version", metavar="N", help="a stored version number"
    )
    cmd.add_argument(
        "--fresh", action="store_true", help="render from the current data, ignoring stored drafts"
    )
    cmd.set_defaults(func=cmd_postmortem)


def _fail(line: str, code: int = 2) -> int:
    print(f"flare: {line}", file=sys.stderr)
    return code


def cmd_postmortem(args: argparse.Namespace) -> int:
    """Print (or write) an incident's post-mortem draft; exit 1 when there is none to show."""
    from bot.catalog import ConfigError, load_catalog
    from bot.db import schema
    from bot.settings import SettingsError, load_settings

    incident_id = parse_human_id(args.incident)
    if incident_id is None:
        return _fail(f"expected an incident like INC-42, got {args.incident!r}")
    if args.draft_version is not None and args.fresh:
        return _fail("--version and --fresh cannot be combined")
    try:
        settings = load_settings()
    except SettingsError as exc:
        for line in exc.problems:
            _fail(line)
        return 2
    url = settings.database_url.get_secret_value()
    try:
        current = asyncio.run(asyncio.wait_for(schema.database_revision(url), timeout=10))
    except (OSError, TimeoutError, SQLAlchemyError) as exc:
        return _fail(f"DATABASE_URL: cannot read the database: {type(exc).__name__}")
    if current != schema.code_head():
        return _fail(
            f"DATABASE_URL: the database is at revision {current or '(empty)'}, this build needs "
            f"{schema.code_head()}; run `flare migrate` first"
        )
    try:
        workspace = load_catalog(settings.flare_config).incidents.slack_workspace_url
    except ConfigError:
        workspace = None  # only links to Slack messages depend on it
    try:
        found = asyncio.run(_draft(url, incident_id, args.draft_version, args.fresh, workspace))
    except (OSError, TimeoutError, SQLAlchemyError) as exc:
        if not is_storage_unavailable(exc):
            raise
        return _fail(f"DATABASE_URL: cannot reach the database: {type(exc).__name__}")
    if isinstance(found, str):
        return _fail(found, 1)
    markdown, note = found
    if note:
        print(f"flare: {note}", file=sys.stderr)
    if args.output:
        Path(args.output).write_text(markdown, encoding="utf-8")
        print(
            f"Wrote the post-mortem draft of INC-{incident_id} to {args.output} "
            f"({len(markdown.encode())} bytes)"
        )
    else:
        sys.stdout.write(markdown)
    return 0


async def _draft(
    url: str, incident_id: int, version: int | None, fresh: bool, workspace: str | None
) -> tuple[str, str] | str:
    """(markdown, note for stderr), or the reason there is nothing to print."""
    db = Database(url, pool_size=1)
    try:
        async with db.sessions() as session:
            incident = await queries.load(session, incident_id)
            if incident is None:
                return f"INC-{incident_id} does not exist"
            if not fresh:
                draft = await service.stored(session, incident_id, version)
                if draft is not None:
                    return draft.markdown, f"INC-{incident_id} post-mortem draft v{draft.version}"
                if version is not None:
                    known = await service.versions(session, incident_id)
                    shown = ", ".join(map(str, known)) or "none"
                    return f"INC-{incident_id} has no draft version {version} (stored versions: {shown})"
            markdown, count = await service.render_current(session, incident, workspace_url=workspace)
            note = (
                f"INC-{incident_id} rendered from the current data ({count} events); not stored or uploaded"
            )
            return markdown, note
    finally:
        await db.close()
