"""requirements/*.txt lock what pyproject.toml asks for: every dependency pinned, hashed, in range."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.ops.helpers import ROOT

LOCKS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pyproject() -> dict[str, list[Requirement]]:
    """The runtime and dev requirements pyproject.toml declares."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        "runtime": [Requirement(r) for r in project["dependencies"]],
        "dev": [Requirement(r) for r in project["optional-dependencies"]["dev"]],
    }


def pins(path: Path) -> dict[str, str]:
    """name -> pinned version in one lock file (each pin must carry hashes)."""
    text = path.read_text()
    found: dict[str, str] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = PIN.match(block)
        if match:
            assert "--hash=sha256:" in block, f"{path.name}: {match.group(1)} has no hash"
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def unsatisfied(requirements: list[Requirement], locked: dict[str, str]) -> list[str]:
    """Requirements (for this platform) that the lock does not pin within their range."""
    problems = []
    for req in requirements:
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        version = locked.get(canonicalize_name(req.name))
        if version is None:
            problems.append(f"{req.name}: not in the lock (run `make lock`)")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}: locked {version} is outside {req.specifier} (run `make lock`)")
    return problems


def test_runtime_lock_pins_every_runtime_dependency_in_range() -> None:
    assert unsatisfied(pyproject()["runtime"], pins(LOCKS / "runtime.txt")) == []


def test_dev_lock_pins_every_dependency_and_dev_tool_in_range() -> None:
    declared = pyproject()
    assert unsatisfied(declared["runtime"] + declared["dev"], pins(LOCKS / "dev.txt")) == []


def test_runtime_lock_has_no_dev_tools_and_agrees_with_the_dev_lock() -> None:
    runtime, dev = pins(LOCKS / "runtime.txt"), pins(LOCKS / "dev.txt")
    dev_only = {canonicalize_name(r.name) for r in pyproject()["dev"]}
    assert sorted(dev_only & set(runtime)) == []
    assert {name: dev.get(name) for name in runtime} == runtime, "one version of each package in both"


def test_uv_itself_is_pinned_with_hashes_for_the_bootstrap() -> None:
    assert set(pins(LOCKS / "bootstrap.txt")) == {"uv"}


def test_the_checker_notices_a_dependency_missing_from_the_lock() -> None:
    locked = pins(LOCKS / "runtime.txt")
    assert unsatisfied([Requirement("left-pad>=1")], locked) == [
        "left-pad: not in the lock (run `make lock`)"
    ]
    aiohttp = locked["aiohttp"]
    [problem] = unsatisfied([Requirement(f"aiohttp>{aiohttp}")], locked)
    assert "is outside" in problem


def test_the_image_and_make_install_from_the_locks() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements/runtime.txt" in dockerfile
    assert "--no-deps" in dockerfile
    makefile = " ".join((ROOT / "Makefile").read_text().replace("\\\n", " ").split())
    assert "--require-hashes -r requirements/dev.txt" in makefile
    assert "--require-hashes -r requirements/bootstrap.txt" in makefile
