"""Issue 13 figures, against real `flare serve` processes, the fake Slack, the fake Cloud Run API and a
real Alertmanager (Debian's prometheus-alertmanager):

- a rollback from the Confirm click to the verified result in its message, without and with
  `alertmanager` in the catalog (the silence is created before the PATCH and expired after the
  verification; Alertmanager's own API is checked to hold one expired silence per run);
- GET /api/deploy-gate latency with 100 open incidents (P0..P3 over 10 services), sequential.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from bench.bench_cloudrun import _change_id, _posted_after, _verified
from bench.common import (
    FakeSlack,
    Figure,
    SlackClient,
    median,
    percentile,
    scratch_database,
    server_env,
    start_server,
)
from bot.incidents.models import Incident
from tests.fakes.cloudrun import FakeCloudRun
from tests.support.alertmanager import Alertmanager

NAME = "silences_gate"
USER = "U0BENCH001"
TOKEN = "bench-deploy-token-13"
ROLLBACK_BUDGET_MS = 100.0
GATE_P99_MS = 20.0
SERVICES = [f"svc-{i}" for i in range(10)]

CATALOG = """
channels:
  deployments: C0DEPLOYS
teams:
  ops:
    channel: C0OPSTEAM1
rbac:
  production:
    users: [{user}]
rollback:
  settle_seconds: 0
  loop_window_minutes: 0
deploys:
  token_env: FLARE_DEPLOY_TOKEN
services:
{services}
{alertmanager}"""


def _catalog(am_url: str | None) -> str:
    services = "\n".join(
        f"  - name: {name}\n    team: ops\n    environments:\n"
        f"      production: {{project: acme-prod, region: us-central1, service: {name}}}"
        for name in ["big", *SERVICES]
    )
    section = f"alertmanager:\n  urls: [{am_url}]\n  env_label: env\n" if am_url else ""
    return CATALOG.format(user=USER, services=services, alertmanager=section)


async def run(options: Any) -> list[Figure]:
    """Run the figures."""
    repeat = 3 if options.quick else max(options.repeat, 5)
    workdir = Path(tempfile.mkdtemp(prefix="flare-bench-silences-"))
    fake = await FakeSlack().start()
    cloudrun = await FakeCloudRun().start()
    cloudrun.add_service("acme-prod", "us-central1", "big", revisions=5)
    am = Alertmanager(workdir / "am", "http://127.0.0.1:9/unused", "unused-token-1")
    await am.start()
    figures: list[Figure] = []
    try:
        base = await _rollbacks(options, workdir / "without", fake, cloudrun, None, repeat)
        silenced = await _rollbacks(options, workdir / "with", fake, cloudrun, am, repeat)
        expired = await _expired_silences(am)
        delta = median(silenced) - median(base)
        figures.append(
            Figure(
                NAME,
                "rollback Confirm → verified, no alertmanager (baseline)",
                median(base),
                "ms",
                "median",
                None,
                base,
            )
        )
        figures.append(
            Figure(
                NAME,
                "rollback Confirm → verified, silence created + expired in a real Alertmanager",
                median(silenced),
                "ms",
                f"<= baseline + {ROLLBACK_BUDGET_MS:.0f} ms",
                delta <= ROLLBACK_BUDGET_MS and expired >= len(silenced),
                silenced,
                note=f"+{delta:.1f} ms over the baseline; {expired} silences expired in Alertmanager",
            )
        )
        figures.extend(await _gate(options, workdir / "gate", fake, repeat))
    finally:
        am.stop()
        await cloudrun.stop()
        await fake.stop()
    return figures


async def _rollbacks(
    options: Any, workdir: Path, fake: FakeSlack, cloudrun: FakeCloudRun, am: Alertmanager | None, repeat: int
) -> list[float]:
    workdir.mkdir(parents=True)
    (workdir / "flare.yaml").write_text(_catalog(am.url if am else None))
    service = cloudrun.service("acme-prod", "us-central1", "big")
    runs: list[float] = []
    async with scratch_database(options.database_url, workdir) as url:
        env = server_env(
            fake, url, FLARE_CONFIG=str(workdir / "flare.yaml"), CLOUD_RUN_API_ENDPOINT=cloudrun.url
        )
        env["FLARE_DEPLOY_TOKEN"] = TOKEN
        server = await start_server(env, workdir=workdir)
        try:
            async with aiohttp.ClientSession() as http:
                client = SlackClient(server.url, http, response_url=fake.response_url)
                for i in range(repeat + 1):  # the first run warms imports and connections: not counted
                    target = service.revisions[-2 if i % 2 == 0 else -1].name
                    before = len(fake.ok_calls("chat.postMessage"))
                    channel = f"C0SILBK{'A' if am else 'B'}{i:02d}"
                    reply = await client.command(
                        "/rollback", f"big --to {target}", user=USER, channel=channel
                    )
                    assert reply.status == 200, reply.text
                    await fake.wait_for(lambda b=before: _posted_after(fake, b, "Roll back big"), timeout=30)
                    proposal = next(
                        c
                        for c in reversed(fake.ok_calls("chat.postMessage"))
                        if "Roll back big" in str(c.params.get("text"))
                    )
                    updates = len(fake.ok_calls("chat.update"))
                    started = time.perf_counter()
                    await client.block_action(
                        "rollback_confirm", str(_change_id(proposal.params)), user=USER, channel=channel
                    )
                    await fake.wait_for(lambda u=updates: _verified(fake, u), timeout=30)
                    runs.append((time.perf_counter() - started) * 1000)
        finally:
            server.terminate()
    return runs[1:]


async def _expired_silences(am: Alertmanager) -> int:
    async with aiohttp.ClientSession() as http, http.get(am.url + "/api/v2/silences") as response:
        found = await response.json()
    return sum(1 for s in found if s["status"]["state"] == "expired" and s["createdBy"] == "Flare")


async def _seed_incidents(url: str) -> None:
    engine = create_async_engine(url)
    rng = random.Random(13)
    now = datetime.now(UTC)
    rows = []
    for i in range(100):
        rows.append(
            {
                "title": f"incident {i}",
                "description": "",
                "severity": rng.choice(["P0", "P1", "P2", "P3"]),
                "status": rng.choice(["declared", "acknowledged", "mitigated"]),
                "service": SERVICES[i % len(SERVICES)],
                "declared_by": USER,
                "source": "slack",
                "channel_name": f"inc-{i}",
                "channel_id": f"C0INC{i:05d}",
                "declared_at": now,
                "last_update_at": now,
                "updated_at": now,
            }
        )
    async with engine.begin() as conn:
        await conn.execute(insert(Incident), rows)
    await engine.dispose()


async def _gate(options: Any, workdir: Path, fake: FakeSlack, repeat: int) -> list[Figure]:
    workdir.mkdir(parents=True)
    (workdir / "flare.yaml").write_text(_catalog(None))
    requests = 200 if options.quick else 1000
    async with scratch_database(options.database_url, workdir) as url:
        await _seed_incidents(url)
        env = server_env(fake, url, FLARE_CONFIG=str(workdir / "flare.yaml"))
        env["FLARE_DEPLOY_TOKEN"] = TOKEN
        server = await start_server(env, workdir=workdir)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        try:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with aiohttp.ClientSession(headers=headers) as http:
                for i in range(requests + 50):
                    service = SERVICES[i % len(SERVICES)] if i % 5 else "big"
                    started = time.perf_counter()
                    async with http.get(
                        f"{server.url}/api/deploy-gate?service={service}&env=production"
                    ) as response:
                        await response.read()
                    if i >= 50:  # warm-up not counted
                        latencies.append((time.perf_counter() - started) * 1000)
                        statuses[response.status] = statuses.get(response.status, 0) + 1
        finally:
            server.terminate()
    p99 = percentile(latencies, 99)
    answers = dict(sorted(statuses.items()))
    note = f"p50 {percentile(latencies, 50):.1f} ms; answers {answers}; {requests} requests"
    return [
        Figure(
            NAME,
            "GET /api/deploy-gate p99, 100 open incidents, sequential",
            p99,
            "ms",
            f"p99 <= {GATE_P99_MS:.0f} ms",
            p99 <= GATE_P99_MS,
            latencies[:0],
            note=note,
        )
    ]
