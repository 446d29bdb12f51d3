"""Cloud Run figures, against a real `flare serve` process, the fake Slack and the fake Cloud Run API.

- `/deploy status` end to end (signed command -> status message delivered) with 100 revisions;
- `/health` with 10 checks, one of them timing out at 2 s (the total must stay <= 2.3 s);
- a rollback from the Confirm click to the verified result in its message.

The server uses its default Cloud Run gateway (REST, anonymous credentials, CLOUD_RUN_API_ENDPOINT),
so operation polling runs at its production pace: one poll interval (0.5 s) per traffic change.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    FakeSlack,
    Figure,
    SlackClient,
    median,
    scratch_database,
    server_env,
    start_server,
)
from tests.fakes.cloudrun import FakeCloudRun, FakeEndpoints

NAME = "cloudrun"
USER = "U0BENCH001"
HEALTH_TARGET_S = 2.3

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
services:
  - name: big
    team: ops
    environments:
      production: {{project: acme-prod, region: us-central1, service: big}}
  - name: deep
    team: ops
    environments:
      production:
        project: acme-prod
        region: us-central1
        service: deep
        health:
          url: {health}
          timeout_seconds: 2
          dependencies:
{deps}
"""


def _catalog(endpoints: FakeEndpoints) -> str:
    deps = []
    for i in range(6):
        deps.append(f"            - {{name: api-{i}, type: http, url: {endpoints.url(f'api/{i}')}}}")
    deps.append(f"            - {{name: db, type: tcp, host: 127.0.0.1, port: {endpoints.port}}}")
    deps.append(
        f"            - {{name: cache, type: tcp, host: 127.0.0.1, port: {endpoints.port}, critical: false}}"
    )
    deps.append(
        f"            - {{name: hanging, type: http, url: {endpoints.url('hang')}, timeout_seconds: 2, "
        "critical: false}"
    )
    return CATALOG.format(user=USER, health=endpoints.url("health"), deps="\n".join(deps))


def _posted_after(fake: FakeSlack, count: int, needle: str) -> bool:
    calls = fake.ok_calls("chat.postMessage")[count:]
    return any(needle in str(c.params.get("text", "")) for c in calls)


async def run(options: Any) -> list[Figure]:
    """Run the three figures."""
    repeat = 3 if options.quick else max(options.repeat, 5)
    workdir = Path(tempfile.mkdtemp(prefix="flare-bench-cloudrun-"))
    fake = await FakeSlack().start()
    cloudrun = await FakeCloudRun().start()
    endpoints = await FakeEndpoints().start()
    cloudrun.add_service("acme-prod", "us-central1", "big", revisions=100)
    cloudrun.add_service("acme-prod", "us-central1", "deep", revisions=3)
    endpoints.health("health", "healthy", {"db": "healthy", "queue": "healthy"})
    for i in range(6):
        endpoints.set(f"api/{i}", 200, {"ok": True}, delay=0.02 * i)
    endpoints.set("hang", 200, {}, delay=10.0)
    (workdir / "flare.yaml").write_text(_catalog(endpoints))
    figures: list[Figure] = []
    try:
        async with scratch_database(options.database_url, workdir) as url:
            env = server_env(
                fake,
                url,
                FLARE_CONFIG=str(workdir / "flare.yaml"),
                CLOUD_RUN_API_ENDPOINT=cloudrun.url,
            )
            server = await start_server(env, workdir=workdir)
            try:
                async with aiohttp.ClientSession() as http:
                    client = SlackClient(server.url, http, response_url=fake.response_url)
                    figures.append(await _status(client, fake, repeat))
                    figures.append(await _health(client, fake, repeat))
                    figures.append(await _rollback(client, fake, cloudrun, repeat))
            finally:
                server.terminate()
    finally:
        await endpoints.stop()
        await cloudrun.stop()
        await fake.stop()
    return figures


async def _status(client: Any, fake: FakeSlack, repeat: int) -> Figure:
    runs = []
    for i in range(repeat + 1):  # the first run pays for importing google-cloud-run: not counted
        before = len(fake.ok_calls("chat.postMessage"))
        started = time.perf_counter()
        # A channel per run: Slack's 1 message/s/channel pacing is the outbox's figure, not this one.
        reply = await client.command("/deploy", "status big", user=USER, channel=f"C0STATUS{i:02d}")
        assert reply.status == 200, reply.text
        await fake.wait_for(lambda b=before: _posted_after(fake, b, "big (production): serving"), timeout=30)
        runs.append((time.perf_counter() - started) * 1000)
    runs = runs[1:]
    return Figure(NAME, "/deploy status, 100 revisions, end to end", median(runs), "ms", "median", None, runs)


async def _health(client: Any, fake: FakeSlack, repeat: int) -> Figure:
    runs = []
    for i in range(repeat):
        before = len(fake.ok_calls("chat.postMessage"))
        started = time.perf_counter()
        reply = await client.command("/health", "deep", user=USER, channel=f"C0HEALTH{i:02d}")
        assert reply.status == 200, reply.text
        await fake.wait_for(lambda b=before: _posted_after(fake, b, "deep (production) is"), timeout=30)
        runs.append(time.perf_counter() - started)
    worst = max(runs)
    return Figure(
        NAME,
        "/health, 10 checks, one timing out at 2 s (end to end)",
        median(runs),
        "s",
        f"<= {HEALTH_TARGET_S} s",
        worst <= HEALTH_TARGET_S,
        runs,
        note=f"worst {worst:.2f} s",
    )


async def _rollback(client: Any, fake: FakeSlack, cloudrun: FakeCloudRun, repeat: int) -> Figure:
    service = cloudrun.service("acme-prod", "us-central1", "big")
    runs = []
    for i in range(repeat):
        target = service.revisions[-2 if i % 2 == 0 else -1].name
        before = len(fake.ok_calls("chat.postMessage"))
        channel = f"C0ROLLBK{i:02d}"
        reply = await client.command("/rollback", f"big --to {target}", user=USER, channel=channel)
        assert reply.status == 200, reply.text
        await fake.wait_for(lambda b=before: _posted_after(fake, b, "Roll back big (production)"), timeout=30)
        proposal = next(
            c
            for c in reversed(fake.ok_calls("chat.postMessage"))
            if "Roll back big" in str(c.params.get("text"))
        )
        change_id = _change_id(proposal.params)
        updates = len(fake.ok_calls("chat.update"))
        started = time.perf_counter()
        await client.block_action("rollback_confirm", str(change_id), user=USER, channel=channel)
        await fake.wait_for(lambda u=updates: _verified(fake, u), timeout=30)
        runs.append((time.perf_counter() - started) * 1000)
    return Figure(
        NAME, "rollback: Confirm click to verified result", median(runs), "ms", "median", None, runs
    )


def _change_id(params: dict[str, Any]) -> int:
    for block in params.get("blocks") or []:
        if block.get("type") == "actions":
            return int(block["elements"][0]["value"])
    raise AssertionError("the proposal has no Confirm button")


def _verified(fake: FakeSlack, count: int) -> bool:
    return any(
        str(c.params.get("text", "")).endswith(": succeeded") for c in fake.ok_calls("chat.update")[count:]
    )
