"""The repository explains itself: no file points at design notes kept outside it."""

from __future__ import annotations

import subprocess

from tests.ops.helpers import ROOT

# Spelled in pieces so this file does not match itself.
OUTSIDE = ("../" + "shared", "shared/" + "DESIGN", "DESIGN" + ".md")


def tracked_text_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if not line.endswith((".png", ".svg", ".ico"))]


def test_no_tracked_file_points_outside_the_repository() -> None:
    offenders = []
    for name in tracked_text_files():
        path = ROOT / name
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        offenders += [f"{name}: {marker}" for marker in OUTSIDE if marker in text]
    assert offenders == []


def test_architecture_map_is_in_the_repository_and_linked() -> None:
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    for topic in ("## Layers", "## How a request flows", "## The outbox", "## Idempotency", "## Leases"):
        assert topic in architecture, topic
    assert "docs/architecture.md" in (ROOT / "docs" / "conventions.md").read_text()
    assert "docs/architecture.md" in (ROOT / "README.md").read_text()
