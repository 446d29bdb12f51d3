"""Post-mortem figures: generating the draft of an incident with a 10,000-event timeline.

A real `flare serve` process (SQLite by default, PostgreSQL with --database-url) talking to the fake
Slack. INC-1 is declared through Slack, then its timeline is filled with 10,000 events of every kind
(alerts with stored alert rows, status updates with their delivered channel posts, notes, pinned
messages, rollbacks, runbook steps, deploys). Each run adds a note (so a new version is made) and
times `/incident postmortem INC-1`: the ack comes after the whole draft is read, rendered, stored
and its upload enqueued. The read and the pure render are also timed on their own, in this process.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from sqlalchemy import insert, select

from bench.bench_incidents import _database
from bench.common import FakeSlack, Figure, SlackClient, median, server_env, start_server
from bot.alerts.models import AlertRecord
from bot.db.engine import Database
from bot.incidents.models import Incident, IncidentEvent
from bot.postmortem import load
from bot.postmortem.models import PostmortemDraft
from bot.postmortem.render import render
from bot.slack.models import OutboxItem

NAME = "postmortem"
EVENTS = 10_000
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


async def _seed(url: str) -> None:
    """10,000 events on INC-1, the alert rows they name, and the channel posts of the status updates."""
    db = Database(url, pool_size=1)
    try:
        async with db.transaction() as session:
            incident = (await session.execute(select(Incident).where(Incident.id == 1))).scalar_one()
            channel = incident.channel_id or "C0INC0001"
            start = incident.declared_at - timedelta(minutes=30)
            alerts = [
                {
                    "source": "alertmanager",
                    "dedup_key": f"bench-{i}",
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
            events = [_event(n, start, channel) for n in range(EVENTS)]
            for chunk in range(0, len(events), 1000):
                await session.execute(insert(IncidentEvent), events[chunk : chunk + 1000])
            posts = [
                {
                    "lane": "ref:incident:1",
                    "method": "chat.postMessage",
                    "payload": {
                        "channel": "<flare:channel:incident:1>",
                        "text": f"INC-1 update: {e['text']}",
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


async def _versions(url: str) -> int:
    db = Database(url, pool_size=1)
    try:
        async with db.sessions() as session:
            rows = await session.execute(
                select(PostmortemDraft.version).where(PostmortemDraft.incident_id == 1)
            )
            return len(rows.scalars().all())
    finally:
        await db.close()


def _cpu_ms(pid: int) -> float:
    """CPU time (user + system, ms) a process has used: unlike wall time, not inflated by other load."""
    times = psutil.Process(pid).cpu_times()
    return (times.user + times.system) * 1000


async def _run(database_url: str | None, repeat: int) -> dict[str, list[float]]:
    fake = await FakeSlack().start()
    out: dict[str, list[float]] = {"ack": [], "cpu": [], "upload": [], "read": [], "render": [], "bytes": []}
    with tempfile.TemporaryDirectory() as tmp:
        async with _database(database_url, Path(tmp)) as url:
            server = await start_server(server_env(fake, url), Path(tmp))
            try:
                async with aiohttp.ClientSession() as session:
                    client = SlackClient(server.url, session, response_url=fake.response_url)
                    reply = await client.command(
                        "/incident", "declare P1 checkout is failing --service checkout"
                    )
                    assert "INC-1" in reply.text, reply.text
                    await fake.wait_for(lambda: bool(fake.ok_calls("conversations.create")), 30)
                    await _seed(url)
                    for i in range(repeat + 1):  # the first run warms caches up and is not counted
                        await client.command("/incident", f"note INC-1 run {i}")
                        uploads = len(fake.files)
                        cpu = _cpu_ms(server.process.pid)
                        started = time.perf_counter()
                        reply = await client.command("/incident", "postmortem INC-1")
                        ack_ms = (time.perf_counter() - started) * 1000
                        cpu = _cpu_ms(server.process.pid) - cpu
                        assert reply.status == 200, reply.text[:300]
                        assert f"*v{i + 1}*" in reply.text, reply.text[:300]
                        await fake.wait_for(lambda n=uploads: len(fake.files) > n, 60)
                        upload_ms = (time.perf_counter() - started) * 1000
                        read_ms, render_ms, size = await _in_process(url)
                        if i > 0:
                            out["ack"].append(ack_ms)
                            out["cpu"].append(cpu)
                            out["upload"].append(upload_ms)
                            out["read"].append(read_ms)
                            out["render"].append(render_ms)
                            out["bytes"].append(float(size))
                    assert await _versions(url) == repeat + 1
                    assert fake.files[-1]["content"].startswith(b"# Post-mortem: INC-1")
            finally:
                server.terminate()
                await fake.stop()
    return out


async def run(options: Any) -> list[Figure]:
    """Measure the post-mortem figures and report medians over `options.repeat` generations."""
    db = "PostgreSQL" if options.database_url else "SQLite"
    repeat = max(options.repeat, 3)
    r = await _run(options.database_url, repeat)
    ack = median(r["ack"])
    size_kb = median(r["bytes"]) / 1024
    return [
        Figure(
            NAME,
            f"/incident postmortem ack, {EVENTS:,}-event timeline ({db}; read+render+store+enqueue)",
            ack,
            "ms",
            f"<= {TARGET_MS:.0f} ms",
            ack <= TARGET_MS,
            r["ack"],
            f"draft {size_kb:,.0f} KB",
        ),
        Figure(
            NAME,
            f"server CPU time for that /incident postmortem ({db})",
            median(r["cpu"]),
            "ms",
            "reported",
            None,
            r["cpu"],
            "user+system of the flare process; wall time above also includes waiting for a shared CPU",
        ),
        Figure(
            NAME,
            f"read the sources of a {EVENTS:,}-event timeline ({db})",
            median(r["read"]),
            "ms",
            "reported",
            None,
            r["read"],
        ),
        Figure(
            NAME,
            f"render a {EVENTS:,}-event draft (pure)",
            median(r["render"]),
            "ms",
            "reported",
            None,
            r["render"],
        ),
        Figure(
            NAME,
            f"command -> file uploaded at the fake Slack ({db})",
            median(r["upload"]),
            "ms",
            "reported",
            None,
            r["upload"],
        ),
    ]
