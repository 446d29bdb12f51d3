"""`make try`: Flare against the fake Slack, with no workspace: start both, send one command, show it.

It starts the fake Slack Web API and a real `flare serve` (SQLite in a scratch folder, the example
catalog unless ./flare.yaml exists), waits until Flare answers /health/ready, sends a signed
`/incident help` exactly as Slack would, and prints the reply, what Flare asked of the fake Slack,
and /health/deep. With KEEP=1 both stay up until Ctrl-C, for more commands by hand.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import aiohttp

from tests.fakes.slack import FakeSlack
from tests.support.process import server_env, start_server
from tests.support.slack_client import SIGNING_SECRET, SlackClient

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0  # a first start on a slow machine migrates a new database too


def catalog() -> Path:
    """./flare.yaml when the user made one (make run does), else the example catalog."""
    own = ROOT / "flare.yaml"
    return own if own.exists() else ROOT / "flare.example.yaml"


async def run(port: int, slack_port: int, keep: bool) -> int:
    """Start the fake and Flare, drive one command, print what happened; the exit code."""
    fake = await FakeSlack().start(slack_port)
    scratch = Path(tempfile.mkdtemp(prefix="flare-try-"))
    env = server_env(
        fake,
        f"sqlite+aiosqlite:///{scratch / 'flare.db'}",
        FLARE_CONFIG=str(catalog()),
        LOG_LEVEL="INFO",
        FLARE_TICK_INTERVAL_SECONDS="30",
    )
    print(f"fake Slack on {fake.base_url}; starting Flare on http://127.0.0.1:{port} ...", flush=True)
    server = None
    try:
        try:
            server = await start_server(env, scratch, timeout=READY_TIMEOUT_S, port=port)
        except RuntimeError as exc:  # it exited, or was not ready in time: say why, with its log
            raise SystemExit(str(exc)) from None
        url = server.url
        async with aiohttp.ClientSession() as session:
            reply = await SlackClient(url, session, secret=SIGNING_SECRET).command("/incident", "help")
            print(f"\n/incident help -> HTTP {reply.status}\n{reply.json().get('text', reply.text)}\n")
            async with session.get(url + "/health/deep") as response:
                deep = await response.json()
        await asyncio.sleep(0.5)
        print("Flare called the fake Slack:", ", ".join(sorted({c.method for c in fake.calls})) or "nothing")
        print(f"GET /health/deep -> {deep['status']}: {json.dumps(deep['summary'])}")
        if keep:
            print(
                f"\nBoth keep running. Try: .venv/bin/python -m tests.support.slack_client {url} "
                '/incident declare P2 "checkout is slow"\nCtrl-C stops them.',
                flush=True,
            )
            stop = asyncio.Event()
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
            await stop.wait()
        return 0 if reply.status == 200 and deep["status"] in ("healthy", "degraded") else 1
    finally:
        if server is not None:
            await asyncio.to_thread(server.terminate, 10)
        await fake.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(
        asyncio.run(
            run(
                int(os.environ.get("PORT", "8080")),
                int(os.environ.get("FAKE_SLACK_PORT", "8025")),
                os.environ.get("KEEP", "") not in ("", "0"),
            )
        )
    )
