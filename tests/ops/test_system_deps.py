"""`.ci/ensure-system-deps` on a machine where the tools are missing and cannot be installed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.ops.helpers import ROOT

SCRIPT = ROOT / ".ci" / "ensure-system-deps"


def bare_path(tmp_path: Path, *commands: str) -> str:
    """A PATH holding only `commands` (linked from this machine), so every test tool is missing."""
    folder = tmp_path / "bin"
    folder.mkdir(mode=0o755)
    for name in commands:
        found = shutil.which(name)
        assert found, name
        (folder / name).symlink_to(found)
    return str(folder)


def run_script(path: str, *prefix: str) -> subprocess.CompletedProcess[str]:
    # The script is fed on stdin, so a user without access to this checkout can still run it.
    return subprocess.run(
        [*prefix, "/usr/bin/env", "-i", f"PATH={path}", "/bin/bash", "-s"],
        input=SCRIPT.read_text(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def assert_explains_every_tool(result: subprocess.CompletedProcess[str], why: str) -> None:
    assert result.returncode == 1, result
    assert why in result.stderr
    for tool, debian, brew in (
        ("prometheus-alertmanager", "prometheus-alertmanager", "alertmanager"),
        ("promtool", "prometheus", "prometheus"),
        ("jq", "jq", "jq"),
        ("curl", "curl", "curl"),
        ("chromium", "chromium", "--cask chromium"),
    ):
        line = f"  {tool}: Debian/Ubuntu: sudo apt-get install {debian}   macOS: brew install {brew}"
        assert line in result.stderr.splitlines(), result.stderr
    assert "make pytest PYTEST_ARGS=" in result.stderr
    assert "command not found" not in result.stderr


def test_without_apt_get_each_missing_tool_is_explained(tmp_path: Path) -> None:
    result = run_script(bare_path(tmp_path, "id"))
    assert_explains_every_tool(result, "no apt-get here")


def test_without_root_or_sudo_each_missing_tool_is_explained() -> None:
    # pytest's own tmp folders are private to root: the unprivileged user needs one it can enter.
    with tempfile.TemporaryDirectory() as shared:
        Path(shared).chmod(0o755)
        path = bare_path(Path(shared), "id")
        # Only its presence matters: the script must find it cannot use it without root.
        (Path(path) / "apt-get").symlink_to(shutil.which("true") or "/bin/true")
        result = run_script(path, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
    assert_explains_every_tool(result, "installing needs root or password-less sudo")


def test_quiet_when_every_tool_is_present() -> None:
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=600, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
