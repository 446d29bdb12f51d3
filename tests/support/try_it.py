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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.fakes.slack import BOT_TOKEN, FakeSlack
from tests.support.slack_client import SIGNING_SECRET, SlackClient

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0


def catalog() -> Path:
    """./flare.yaml when the user made one (make run does), else the example catalog."""
    own = ROOT / "flare.yaml"
    return own if own.exists() else ROOT / "flare.example.yaml"


async def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll /health/ready until it answers 200; fail with the server's log if it exits or hangs."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"flare serve exited with {process.returncode}:\n{log.read_text()}")
            try:
                async with session.get(url + "/health/ready") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"flare serve was not ready after {READY_TIMEOUT_S:.0f} s:\n{log.read_text()}"
                )
            await asyncio.sleep(0.2)


async def run(port: int, slack_port: int, keep: bool) -> int:
    """Start the fake and Flare, drive one command, print what happened; the exit code."""
    fake = await FakeSlack().start(slack_port)
    scratch = Path(tempfile.mkdtemp(prefix="flare-try-"))
    log = scratch / "flare.log"
    env = {
        **os.environ,
        "SLACK_API_URL": fake.base_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "DATABASE_URL": f"sqlite+aiosqlite:///{scratch / 'flare.db'}",
        "FLARE_CONFIG": str(catalog()),
        "PORT": str(port),
    }
    url = f"http://127.0.0.1:{port}"
    print(f"fake Slack on {fake.base_url}; starting Flare on {url} ...", flush=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "handlers.entry", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=scratch,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        await wait_ready(url, process, log)
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
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(process.wait, 10)
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
