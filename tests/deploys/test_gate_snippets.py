"""The gate steps of the GitHub Actions and Cloud Build snippets, run with bash, jq and curl against a
running Flare: blocked during an open P1 (incidents printed), through after an override, and through
when Flare does not answer unless the strict variable is set."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from tests.conftest import Flare
from tests.deploys.conftest import BOB, TOKEN, StartDeploys
from tests.deploys.test_gate import declare
from tests.deploys.test_snippets import base_env, snippet

README = Path(__file__).resolve().parents[2] / "README.md"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploys.md"


async def run(script: str, env: dict[str, str]) -> tuple[int, str]:
    """Run a CI step's script with bash -e in a scratch directory (HOME); (exit code, output)."""
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-e",
        "-c",
        script,
        env=env,
        cwd=env["HOME"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode()


def github_gate() -> str:
    [step] = [s for s in snippet("### GitHub Actions")["steps"] if s.get("name") == "Ask Flare's deploy gate"]
    script: str = step["run"]
    return script


def cloud_build_gate(url: str, strict: str = "false") -> str:
    [step] = [s for s in snippet("### Cloud Build")["steps"] if s["id"] == "gate"]
    script: str = step["args"][1]
    for name, value in {"_FLARE_URL": url, "_SERVICE": "checkout", "_FLARE_GATE_STRICT": strict}.items():
        script = script.replace("${" + name + "}", value)
    script = script.replace("$$", "$")
    assert "${_" not in script, "a substitution was not replaced"
    return script


def closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_the_readme_and_docs_show_the_same_snippets() -> None:
    readme, docs = README.read_text(), DOCS.read_text()
    for marker in ("- name: Ask Flare's deploy gate", "  - id: gate\n"):
        start_r, start_d = readme.index(marker), docs.index(marker)
        assert readme[start_r : readme.index("```", start_r)] == docs[start_d : docs.index("```", start_d)]


async def test_the_github_gate_blocks_during_a_p1_and_passes_after_an_override(
    flare: Flare, tmp_path: Path
) -> None:
    env = {**base_env(tmp_path), "FLARE_URL": flare.url, "FLARE_TOKEN": TOKEN, "SERVICE": "checkout"}
    code, out = await run(github_gate(), env)
    assert code == 0, out
    assert "Deploy gate open" in out

    await declare(flare, "P1", "checkout", title="Checkout returns 500s")
    code, out = await run(github_gate(), env)
    assert code == 1, out
    assert "::error::Deploy gate closed: INC-1 (P1) is open" in out
    assert "  INC-1 [P1] Checkout returns 500s https://" in out

    reply = await flare.slack.command("/deploy", "gate override checkout hotfix ready", user=BOB)
    assert "opened the deploy gate" in reply.json()["text"]
    code, out = await run(github_gate(), env)
    assert code == 0, out
    assert "open despite INC-1 (P1): override by U0BOB0001" in out

    code, out = await run(github_gate(), {**env, "FLARE_TOKEN": "wrong"})
    assert code == 1, out
    assert "Flare refused the gate request (401)" in out


async def test_the_github_gate_lets_deploys_through_when_flare_is_down_unless_strict(tmp_path: Path) -> None:
    env = {**base_env(tmp_path), "FLARE_URL": closed_url(), "FLARE_TOKEN": TOKEN, "SERVICE": "checkout"}
    code, out = await run(github_gate(), env)
    assert code == 0, out
    assert "::warning::Flare's deploy gate did not answer (000); deploying anyway" in out
    code, out = await run(github_gate(), {**env, "FLARE_GATE_STRICT": "true"})
    assert code == 1, out
    assert "FLARE_GATE_STRICT is true" in out


async def test_a_database_outage_503_counts_as_open_by_default(
    start_deploys: StartDeploys, tmp_path: Path
) -> None:
    flare = await start_deploys(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    env = {**base_env(tmp_path), "FLARE_URL": flare.url, "FLARE_TOKEN": TOKEN, "SERVICE": "checkout"}
    code, out = await run(github_gate(), env)
    assert code == 0, out
    assert "did not answer (503); deploying anyway" in out


async def test_the_cloud_build_gate(flare: Flare, tmp_path: Path) -> None:
    env = {**base_env(tmp_path), "FLARE_TOKEN": TOKEN}
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    script = cloud_build_gate(flare.url).replace("/workspace/", f"{workspace}/")
    code, out = await run(script, env)
    assert (code, "Deploy gate open" in out) == (0, True), out

    await declare(flare, "P0", "checkout", title="Checkout is down")
    code, out = await run(script, env)
    assert code == 1, out
    assert '"id": "INC-1"' in out.replace('":"', '": "')
    assert "Checkout is down" in out

    await flare.slack.command(
        "/deploy", "gate override checkout rollback did not help; shipping the fix", user=BOB
    )
    code, out = await run(script, env)
    assert code == 0, out

    down = cloud_build_gate(closed_url()).replace("/workspace/", f"{workspace}/")
    code, out = await run(down, env)
    assert (code, "deploying anyway" in out) == (0, True), out
    strict = cloud_build_gate(closed_url(), "true").replace("/workspace/", f"{workspace}/")
    code, out = await run(strict, env)
    assert code == 1, out
