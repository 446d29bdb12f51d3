"""`flare serve --socket-mode` as a real process: refuses clearly without SLACK_APP_TOKEN, works with it."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from sqlalchemy import select

from bot.db.engine import Database
from bot.incidents.models import Incident
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.support.process import free_port, server_env

ROOT = Path(__file__).resolve().parents[2]


def flare_serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start `flare serve --socket-mode` on `port`, output to `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "handlers.cli", "serve", "--socket-mode", "--host", "127.0.0.1"],
            env={**env, "PORT": str(port)},
            cwd=log.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def wait_ready(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 30.0) -> None:
    """Wait until /health/ready answers 200."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"flare serve exited with {process.returncode}: {log.read_text()}")
            try:
                async with session.get(url + "/health/ready") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"not ready: {log.read_text()}")
            await asyncio.sleep(0.05)


def test_missing_app_token_is_one_line_naming_the_variable_exit_2(tmp_path: Path) -> None:
    env = server_env(FakeSlack(), f"sqlite+aiosqlite:///{tmp_path}/flare.db")
    env.pop("SLACK_APP_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "handlers.cli", "serve", "--socket-mode"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("flare: SLACK_APP_TOKEN is not set")
    assert "xapp-" in lines[0]
    assert "Traceback" not in done.stderr + done.stdout


def test_a_bot_token_in_slack_app_token_is_refused_without_echoing_it(tmp_path: Path) -> None:
    env = server_env(FakeSlack(), f"sqlite+aiosqlite:///{tmp_path}/flare.db", SLACK_APP_TOKEN=BOT_TOKEN)
    done = subprocess.run(
        [sys.executable, "-m", "handlers.cli", "serve", "--socket-mode"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "SLACK_APP_TOKEN must be an app-level token (xapp-...)" in done.stderr
    assert BOT_TOKEN not in done.stderr


async def test_serve_socket_mode_answers_commands_over_the_socket_and_serves_the_port(
    fake_slack: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "flare.log"
    process = flare_serve(server_env(fake_slack, database_url, SLACK_APP_TOKEN=APP_TOKEN), port, log)
    try:
        await wait_ready(process, f"http://127.0.0.1:{port}", log)
        await fake_slack.wait_for_socket(timeout=15)
        payload = fake_slack.command_payload("/incident", "declare P2 search is slow --service search")
        envelope = await fake_slack.socket_send("slash_commands", payload, accepts_response_payload=True)
        ack = await fake_slack.socket_ack(envelope)
        assert ack.payload is not None
        assert "INC-1" in ack.payload["text"]
        await fake_slack.wait_for(lambda: any("search is slow" in m.text for m in fake_slack.posted()))

        db = Database(database_url)
        try:
            async with db.sessions() as session:
                rows = (await session.execute(select(Incident))).scalars().all()
        finally:
            await db.close()
        assert [(r.title, r.severity, r.service) for r in rows] == [("search is slow", "P2", "search")]

        process.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        # Wait without blocking the loop: the fake Slack must answer the websocket close.
        assert await asyncio.to_thread(process.wait, 15) == 0
        assert time.monotonic() - stopping < 8.0, "drained and exited before a SIGKILL would come"
        await fake_slack.wait_for(lambda: not fake_slack.sockets, timeout=5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    output = log.read_text()
    assert "Slack: Socket Mode" in output
    assert "Traceback" not in output
    assert APP_TOKEN not in output
