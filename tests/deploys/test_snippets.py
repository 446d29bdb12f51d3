"""The GitHub Actions and Cloud Build snippets in docs/deploys.md, run with bash, jq and curl against a
running Flare (GitHub's and Cloud Build's variables set as they would set them; `gcloud` is a stub)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import Flare
from tests.deploys.conftest import DEPLOYS, TOKEN
from tests.deploys.helpers import deploys, messages_about
from tests.fakes.slack import FakeSlack
from tests.support.messages import text_of
from tests.support.waits import settle

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploys.md"
REVISION = "checkout-00042-abc"
# Stands in for the gcloud CLI: `run deploy` exits with $GCLOUD_DEPLOY_EXIT, `describe` prints a revision.
GCLOUD = f"""#!/bin/sh
case "$2" in
  deploy) exit "${{GCLOUD_DEPLOY_EXIT:-0}}" ;;
  services) echo {REVISION} ;;
esac
"""


def snippet(after: str) -> dict[str, Any]:
    """The first ```yaml block after the heading `after`, parsed."""
    text = DOC.read_text()
    start = text.index(after)
    match = re.search(r"```yaml\n(.*?)```", text[start:], re.S)
    assert match is not None, f"no yaml block after {after!r}"
    loaded: dict[str, Any] = yaml.safe_load(match.group(1))
    return loaded


async def run_bash(script: str, env: dict[str, str]) -> str:
    """Run `script` with bash -e, as CI runners do; its output (asserting it succeeded)."""
    for tool in ("jq", "curl"):
        assert shutil.which(tool), f"the snippets need {tool} installed"
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-e",
        "-c",
        script,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, out.decode()
    return out.decode()


def base_env(tmp_path: Path) -> dict[str, str]:
    tool = tmp_path / "bin" / "gcloud"
    tool.parent.mkdir()
    tool.write_text(GCLOUD)
    tool.chmod(0o755)
    return {"PATH": f"{tool.parent}:{os.environ['PATH']}", "HOME": str(tmp_path)}


async def test_the_github_actions_steps(flare: Flare, fake_slack: FakeSlack, tmp_path: Path) -> None:
    doc = snippet("### GitHub Actions")
    steps = [
        s for s in doc["steps"] if "run" in s and "gate" not in s["name"]
    ]  # the gate: test_gate_snippets
    started, finished = steps
    github = {
        **base_env(tmp_path),
        "FLARE_URL": flare.url,
        "FLARE_TOKEN": TOKEN,
        "SERVICE": "checkout",
        "REGION": "us-central1",
        "IMAGE": "us-docker.pkg.dev/acme-prod/app/checkout:4f2c9e1d8b7a",
        "MESSAGE": 'Fix "quotes" & <!channel>\n\nA longer body that is not shown',
        "GITHUB_RUN_ID": "8123456789",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_SHA": "4f2c9e1d8b7a6c5e4f3a2b1c0d9e8f7a6b5c4d3e",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/checkout",
        "GITHUB_ACTOR": "alice",
    }
    out = await run_bash(started["run"], {**github, "STATUS": "started"})
    assert '"status":"ok"' in out.replace(" ", "")
    out = await run_bash(finished["run"], {**github, "STATUS": "succeeded"})
    assert '"deploy_status":"succeeded"' in out.replace(" ", "")
    await settle(flare)
    [row] = await deploys(flare)
    assert (row.status, row.revision, row.author, row.key) == (
        "succeeded",
        REVISION,
        "alice",
        "id:8123456789-1",
    )
    assert row.message == 'Fix "quotes" & <!channel>'
    assert row.pipeline_url == "https://github.com/acme/checkout/actions/runs/8123456789"
    [message] = messages_about(fake_slack, DEPLOYS, row.id)
    assert "&lt;!channel&gt;" in text_of(message)
    assert message.edits == 1


async def test_the_cloud_build_step(flare: Flare, tmp_path: Path) -> None:
    doc = snippet("### Cloud Build")
    [step] = [s for s in doc["steps"] if s["id"] == "deploy"]  # the gate step: test_gate_snippets.py
    script = step["args"][1]
    substitutions = {
        "_FLARE_URL": flare.url,
        "_SERVICE": "checkout",
        "_REGION": "us-central1",
        "_IMAGE": "us-docker.pkg.dev/acme-prod/app/checkout:4f2c9e1",
        "BUILD_ID": "b1f7c2d4-0e59-4d5f-9a5e-2f6f0c1d2e3f",
        "COMMIT_SHA": "",  # a manual build
        "LOCATION": "us-central1",
        "PROJECT_ID": "acme-prod",
    }
    for name, value in substitutions.items():
        script = script.replace("${" + name + "}", value)
    script = script.replace("$$", "$")
    assert "${" not in script.replace("${GCLOUD", ""), "a substitution was not replaced"
    env = {**base_env(tmp_path), "FLARE_TOKEN": TOKEN}
    out = await run_bash(script, env)
    assert out.count("Flare answered 200") == 2, out
    [row] = await deploys(flare)
    assert (row.status, row.revision, row.key, row.commit_sha) == (
        "succeeded",
        REVISION,
        "id:b1f7c2d4-0e59-4d5f-9a5e-2f6f0c1d2e3f",
        None,
    )
    assert row.pipeline_url is not None
    assert row.pipeline_url.startswith(
        "https://console.cloud.google.com/cloud-build/builds;region=us-central1/"
    )

    failing = script.replace(substitutions["BUILD_ID"], "c2")
    process = await asyncio.create_subprocess_exec(
        "bash", "-c", failing, env={**env, "GCLOUD_DEPLOY_EXIT": "1"}, stdout=asyncio.subprocess.PIPE
    )
    out_bytes, _ = await process.communicate()
    assert process.returncode == 1  # the build fails ...
    assert out_bytes.decode().count("Flare answered 200") == 2  # ... and Flare heard both events
    statuses = {d.key: (d.status, d.revision) for d in await deploys(flare)}
    assert statuses["id:c2"] == ("failed", None)
