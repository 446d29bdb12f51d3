"""The README's "Trying it without a Slack workspace" block, run verbatim as a new user pastes it."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.support.process import ROOT, free_port

pytestmark = pytest.mark.slow


def try_it_block() -> str:
    """The first sh block under the README heading "Trying it without a Slack workspace"."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Trying it without a Slack workspace", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "the try-it section has a sh block"
    return match.group(1)


def test_the_try_it_block_works_when_pasted() -> None:
    block = try_it_block()
    assert "make try" in block
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "FLARE_", "DATABASE_", "METRICS_", "LOG_", "KEEP"))
    }
    # Other ports than the documented defaults, so the test never collides with a developer's Flare.
    env.update(PORT=str(free_port()), FAKE_SLACK_PORT=str(free_port()))
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "/incident help -> HTTP 200" in out
    assert "/incident declare" in out, "the reply is Flare's help text"
    assert "auth.test" in out, "Flare talked to the fake Slack"
    assert re.search(r"GET /health/deep -> (healthy|degraded)", out), out
    assert "Traceback" not in out
