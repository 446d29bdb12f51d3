"""Post-mortem figures: the draft of an incident with a 10,000-event timeline (target <= 500 ms).

A real `flare serve` process (SQLite by default, PostgreSQL with --database-url) talking to the fake
Slack. INC-1 is declared through Slack, then its timeline is filled with 10,000 events of every kind
(alerts with stored alert rows, status updates with their delivered channel posts, notes, pinned
messages, rollbacks, runbook steps, deploys). Each run adds a note (so a new version is made) and
sends `/incident postmortem INC-1`. A timeline that long is answered at once and drafted right after
in the background, so two figures: the ack, and the time from the command until the new version is
stored (read + render + store + upload enqueued), watched in the database every 5 ms. The server's
CPU time over that span is reported too (wall time on a shared machine also includes waiting for a
CPU). INC-2, with 200 events, shows a typical incident, drafted inside the request before the ack.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from sqlalchemy import insert, select

from bench.common import FakeSlack, Figure, SlackClient, median, scratch_database, server_env, start_server
from bot.alerts.models import AlertRecord
from bot.db.engine import Database
from bot.incidents.models import Incident, IncidentEvent
from bot.postmortem import load
from bot.postmortem.models import PostmortemDraft
from bot.postmortem.render import render
from bot.slack.models import OutboxItem

NAME = "postmortem"
EVENTS = 10_000
SMALL = 200
TARGET_MS = 500.0
ALERTS = 200
USERS = ["U0ALICE01", "U0BOB0001", "U0CAROL01", "U0DAVE001", "flare"]


def _event(n: int, start: datetime, channel: str) -> dict[str, Any]:
    """Event number n of the synthetic timeline (a realistic mix of kinds)."""
    at = start + timedelta(seconds=3 * n)
    actor = USERS[n % len(USERS)]
    kind = (
        "alert_fired",
        "alert_resolved",
        "update",
        "note",
        "rollback",
        "runbook_step",
        "deploy",
        "pinned",
    )[n % 8]
    data: dict[str, Any] = {}
    text = f"event {n}"
    if kind.startswith("alert_"):
        alert_id = n % ALERTS + 1
        data = {
            "alert_id": alert_id,
            "group_id": 1,
            "url": f"https://prometheus.acme.test/graph?g0.expr=a{alert_id}",
        }
        text = f"Fired: CheckoutErrors {alert_id} — 5xx ratio {n % 40}% | above SLO"
    elif kind == "update":
        text = f"Status update {n}: error rate {n % 30}%, still rolling back <!here>"
    elif kind == "note":
        text = ("root cause: " if n % 400 == 3 else "") + f"Note {n}: saw `5xx` spike in *checkout* | pod {n}"
    elif kind == "rollback":
        data = {"rollback_id": n % 50 + 1, "service": "checkout", "env": "production", "event": "succeeded"}
        text = f"Rollback of checkout (production) succeeded: revision checkout-{n:05d}"
    elif kind == "runbook_step":
        data = {"run_id": n % 20 + 1, "runbook": "bad-deploy", "service": "checkout", "env": "production"}
        text = f"Runbook bad-deploy step {n % 5 + 1}/5 check-health (health_check): ok"
    elif kind == "deploy":
        data = {
            "deploy_id": n,
            "service": "checkout",
            "commit_url": f"https://github.com/acme/checkout/commit/{n:07x}",
            "pipeline_url": f"https://github.com/acme/checkout/actions/runs/{n}",
        }
        text = f"Deploy of checkout (production) succeeded, revision checkout-{n:05d}"
    elif kind == "pinned":
        ts = f"{int(at.timestamp())}.{n:06d}"
        data = {
            "channel": channel,
            "ts": ts,
            "permalink": f"https://acme.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }
        text = f"Pinned: the graph at {at:%H:%M} shows the spike"
    return {
        "incident_id": 1,
        "kind": kind,
        "text": text,
        "actor": actor,
        "occurred_at": at,
        "recorded_at": at,
        "data": data,
        "pending_fetch": False,
    }


async def _seed(url: str, incident_id: int = 1, count: int = EVENTS) -> None:
    """`count` events on the incident, the alert rows they name, and the channel posts of its updates."""
    db = Database(url, pool_size=1)
    try:
        async with db.transaction() as session:
            incident = (
                await session.execute(select(Incident).where(Incident.id == incident_id))
            ).scalar_one()
            channel = incident.channel_id or "C0INC0001"
            start = incident.declared_at - timedelta(minutes=30)
            alerts = [
                {
                    "source": "alertmanager",
                    "dedup_key": f"bench-{incident_id}-{i}",
                    "starts_at": start,
                    "status": "resolved",
                    "received_at": start + timedelta(seconds=20),
                    "updated_at": start,
                    "title": f"CheckoutErrors {i}",
                    "summary": "5xx ratio above SLO",
                    "labels": {"alertname": "CheckoutErrors", "n": str(i)},
                    "annotations": {},
                    "links": {},
                }
                for i in range(1, ALERTS + 1)
            ]
            await session.execute(insert(AlertRecord), alerts)
            events = [{**_event(n, start, channel), "incident_id": incident_id} for n in range(count)]
            for chunk in range(0, len(events), 1000):
                await session.execute(insert(IncidentEvent), events[chunk : chunk + 1000])
            posts = [
                {
                    "lane": f"ref:incident:{incident_id}",
                    "method": "chat.postMessage",
                    "payload": {
                        "channel": f"<flare:channel:incident:{incident_id}>",
                        "text": f"INC-{incident_id} update: {e['text']}",
                    },
                    "status": "sent",
                    "attempts": 1,
                    "not_before": e["occurred_at"],
                    "created_at": e["occurred_at"],
                    "result": {"channel": channel, "ts": f"{int(e['occurred_at'].timestamp())}.000001"},
                }
                for e in events
                if e["kind"] == "update"
            ]
            # Escape as the incidents feature does (&, <, > become entities in the posted text).
            for post in posts:
                text = post["payload"]["text"]
                post["payload"]["text"] = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            await session.execute(insert(OutboxItem), posts)
    finally:
        await db.close()


async def _in_process(url: str) -> tuple[float, float, int]:
    """(ms to read the sources, ms to render them, bytes of Markdown) for INC-1."""
    db = Database(url, pool_size=1)
    try:
        async with db.sessions() as session:
            incident = (await session.execute(select(Incident).where(Incident.id == 1))).scalar_one()
            started = time.perf_counter()
            sources = await load.load(session, incident, workspace_url="https://acme.slack.com")
            read_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        markdown = render(sources.incident, sources.events, sources.action_items, sources.refs)
        render_ms = (time.perf_counter() - started) * 1000
        assert len(sources.events) >= EVENTS
        return read_ms, render_ms, len(markdown.encode())
    finally:
        await db.close()


async def _versions(db: Database, incident_id: int) -> int:
    async with db.sessions() as session:
        rows = await session.execute(
            select(PostmortemDraft.version).where(PostmortemDraft.incident_id == incident_id)
        )
        return len(rows.scalars().all())


def _cpu_ms(pid: int) -> float:
    """CPU time (user + system, ms) a process has used."""
    times = psutil.Process(pid).cpu_times()
    return (times.user + times.system) * 1000


async def _declare(client: SlackClient, fake: FakeSlack, n: int) -> None:
    reply = await client.command("/incident", f"declare P1 checkout is failing {n} --service checkout")
    assert f"INC-{n}" in reply.text, reply.text
    await fake.wait_for(lambda: len(fake.ok_calls("conversations.create")) >= n, 30)


async def _run(database_url: str | None, repeat: int) -> dict[str, list[float]]:
    fake = await FakeSlack().start()
    out: dict[str, list[float]] = {k: [] for k in ("ack", "made", "cpu", "upload", "read", "render", "bytes")}
    out["small"] = []
    out["reference"] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(database_url, Path(tmp)) as url:
            server = await start_server(server_env(fake, url), Path(tmp))
            db = Database(url, pool_size=1)
            try:
                async with aiohttp.ClientSession() as session:
                    client = SlackClient(server.url, session, response_url=fake.response_url)
                    await _declare(client, fake, 1)
                    await _declare(client, fake, 2)
                    await _seed(url, 1, EVENTS)
                    await _seed(url, 2, SMALL)
                    for i in range(repeat + 1):  # the first run warms caches up and is not counted
                        await client.command("/incident", f"note INC-1 run {i}")
                        uploads = len(fake.files)
                        cpu = _cpu_ms(server.process.pid)
                        started = time.perf_counter()
                        reply = await client.command("/incident", "postmortem INC-1")
                        ack_ms = (time.perf_counter() - started) * 1000
                        assert reply.status == 200, reply.text[:300]
                        assert "Drafting the post-mortem of *INC-1*" in reply.text, reply.text[:300]
                        while await _versions(db, 1) < i + 1:
                            await asyncio.sleep(0.005)
                        made_ms = (time.perf_counter() - started) * 1000
                        cpu = _cpu_ms(server.process.pid) - cpu
                        await fake.wait_for(lambda n=uploads: len(fake.files) > n, 60)
                        upload_ms = (time.perf_counter() - started) * 1000
                        read_ms, render_ms, size = await _in_process(url)
                        reference = _reference_ms()

                        await client.command("/incident", f"note INC-2 run {i}")
                        started = time.perf_counter()
                        reply = await client.command("/incident", "postmortem INC-2")
                        small_ms = (time.perf_counter() - started) * 1000
                        assert f"*v{i + 1}* of *INC-2*" in reply.text, reply.text[:300]
                        if i > 0:
                            for key, value in (
                                ("ack", ack_ms),
                                ("made", made_ms),
                                ("cpu", cpu),
                                ("upload", upload_ms),
                                ("read", read_ms),
                                ("render", render_ms),
                                ("bytes", float(size)),
                                ("small", small_ms),
                                ("reference", reference),
                            ):
                                out[key].append(value)
                    assert fake.files[-1]["content"].startswith(b"# Post-mortem: INC-")
            finally:
                await db.close()
                server.terminate()
                await fake.stop()
    return out


def _reference_ms() -> float:
    """CPU ms of a fixed pure-Python loop: how fast this (shared) machine is during the run."""
    started = time.process_time()
    total = 0
    for i in range(3_000_000):
        total += i
    return (time.process_time() - started) * 1000


def _figure(what: str, values: list[float], note: str = "", target: float | None = None) -> Figure:
    value = median(values)
    if target is None:
        return Figure(NAME, what, value, "ms", "reported", None, values, note)
    return Figure(NAME, what, value, "ms", f"<= {target:.0f} ms", value <= target, values, note)


async def run(options: Any) -> list[Figure]:
    """Measure the post-mortem figures and report medians over `options.repeat` generations."""
    db = "PostgreSQL" if options.database_url else "SQLite"
    repeat = max(options.repeat, 3)
    r = await _run(options.database_url, repeat)
    size = f"draft {median(r['bytes']) / 1024:,.0f} KB"
    return [
        _figure(
            f"post-mortem of a {EVENTS:,}-event timeline, command -> version stored ({db})",
            r["made"],
            size,
            TARGET_MS,
        ),
        _figure(f"server CPU time for it ({db})", r["cpu"], "user+system of the flare process"),
        _figure(f"/incident postmortem ack for it ({db}; drafted in the background)", r["ack"]),
        _figure(f"command -> file uploaded at the fake Slack ({db})", r["upload"]),
        _figure(f"read the sources of a {EVENTS:,}-event timeline ({db}, in this process)", r["read"]),
        _figure(f"render a {EVENTS:,}-event draft (pure, in this process)", r["render"]),
        _figure(
            f"/incident postmortem ack, {SMALL}-event incident ({db}; drafted before the ack)", r["small"]
        ),
        _figure(
            "reference: 3,000,000-step Python loop (CPU)",
            r["reference"],
            "how fast this machine was during the run: compare figures across machines relative to it",
        ),
    ]
