"""Deploy webhook ingestion rate, against a real `flare serve` process and the fake Slack.

Each deploy is two events (started, then succeeded with a revision), each stored with its outbox rows
(deployments channel + team channel) before the 200. Figures:
- one sender, events back to back: events/s and the median latency;
- 16 concurrent senders: events/s;
- retried deliveries (every event sent twice): events/s of the duplicates;
- the same with an open incident on the service, so every event is also a suspect (timeline + post).
"""

from __future__ import annotations

import asyncio
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
    percentile,
    scratch_database,
    server_env,
    start_server,
)

NAME = "deploys"
TOKEN = "bench-deploy-token"
CATALOG = """
channels:
  deployments: C0DEPLOYS
teams:
  ops:
    channel: C0OPSTEAM1
deploys:
  token_env: FLARE_DEPLOY_TOKEN
services:
  - name: api
    team: ops
    environments:
      production: {project: acme-prod, region: us-central1, service: api}
  - name: web
    team: ops
    environments:
      production: {project: acme-prod, region: us-central1, service: web}
"""


def _events(prefix: str, count: int, service: str = "api") -> list[dict[str, Any]]:
    """started + succeeded for `count` deploys, in order."""
    out = []
    for i in range(count):
        common = {
            "service": service,
            "env": "production",
            "deploy_id": f"{prefix}-{i}",
            "image": f"us-docker.pkg.dev/acme/app/{service}:{prefix}-{i}",
            "commit_sha": f"{i:040x}",
            "commit_url": f"https://github.com/acme/{service}/commit/{i:040x}",
            "author": "bench",
            "pipeline_url": f"https://ci.example/{prefix}/{i}",
            "message": "A change measured by the benchmark",
        }
        out.append({**common, "status": "started"})
        out.append({**common, "status": "succeeded", "revision": f"{service}-{i:05d}-{prefix[-3:]}"})
    return out


async def _post(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    async with http.post(
        url + "/webhooks/deploy", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as response:
        await response.read()
        assert response.status == 200, await response.text()
    return time.perf_counter() - started


async def _sequential(
    http: aiohttp.ClientSession, url: str, events: list[dict[str, Any]]
) -> tuple[float, list[float]]:
    started = time.perf_counter()
    latencies = [await _post(http, url, e) for e in events]
    return len(events) / (time.perf_counter() - started), latencies


async def _concurrent(
    http: aiohttp.ClientSession, url: str, events: list[dict[str, Any]], senders: int
) -> float:
    # Each deploy's two events stay in order (one sender per deploy); deploys run side by side.
    pairs = [events[i : i + 2] for i in range(0, len(events), 2)]
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for pair in pairs:
        queue.put_nowait(pair)

    async def sender() -> None:
        while not queue.empty():
            for event in queue.get_nowait():
                await _post(http, url, event)

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(senders)))
    return len(events) / (time.perf_counter() - started)


async def run(options: Any) -> list[Figure]:
    """Run the ingestion figures."""
    repeat = 3 if options.quick else max(options.repeat, 3)
    deploys = 50 if options.quick else 200
    workdir = Path(tempfile.mkdtemp(prefix="flare-bench-deploys-"))
    (workdir / "flare.yaml").write_text(CATALOG)
    fake = await FakeSlack().start()
    lane = "PostgreSQL" if options.database_url else "SQLite"
    try:
        async with scratch_database(options.database_url, workdir) as url:
            env = server_env(fake, url, FLARE_CONFIG=str(workdir / "flare.yaml"), FLARE_DEPLOY_TOKEN=TOKEN)
            server = await start_server(env, workdir=workdir)
            try:
                async with aiohttp.ClientSession() as http:
                    await _sequential(http, server.url, _events("warmup", 5))
                    seq, latency, conc, dup, suspect = [], [], [], [], []
                    for r in range(repeat):
                        rate, lat = await _sequential(http, server.url, _events(f"seq{r}", deploys))
                        seq.append(rate)
                        latency.extend(lat)
                        conc.append(await _concurrent(http, server.url, _events(f"con{r}", deploys), 16))
                        replay = _events(f"seq{r}", deploys)  # already stored: all duplicates
                        dup.append((await _sequential(http, server.url, replay))[0])
                    client = SlackClient(server.url, http, response_url=fake.response_url)
                    reply = await client.command(
                        "/incident", "declare P1 web is down --service web", user="U0BENCH01"
                    )
                    assert reply.status == 200, reply.text
                    for r in range(repeat):
                        suspect.append(
                            (await _sequential(http, server.url, _events(f"inc{r}", deploys, "web")))[0]
                        )
            finally:
                server.terminate()
    finally:
        await fake.stop()
    note = f"{lane}; {deploys} deploys x 2 events per run"
    return [
        Figure(
            NAME, f"deploy webhook, one sender ({lane})", median(seq), "events/s", "reported", None, seq, note
        ),
        Figure(
            NAME,
            f"deploy webhook latency, one sender ({lane})",
            median(latency) * 1000,
            "ms",
            "reported",
            None,
            [],
            f"p99 {percentile(latency, 99) * 1000:.1f} ms",
        ),
        Figure(
            NAME,
            f"deploy webhook, 16 senders ({lane})",
            median(conc),
            "events/s",
            "reported",
            None,
            conc,
            note,
        ),
        Figure(
            NAME,
            f"deploy webhook, retried deliveries ({lane})",
            median(dup),
            "events/s",
            "reported",
            None,
            dup,
        ),
        Figure(
            NAME,
            f"deploy webhook, open incident: suspects ({lane})",
            median(suspect),
            "events/s",
            "reported",
            None,
            suspect,
            "each event also recorded in the timeline and posted in the incident channel",
        ),
    ]
