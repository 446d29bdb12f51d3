"""The dependency direction the design relies on: handlers -> bot, and SDK imports kept at the edges."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules_under(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_bot_never_imports_handlers_or_runbooks() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in modules_under("bot")
        if any(m.split(".")[0] in {"handlers", "runbooks"} for m in imports_of(p))
    ]
    assert offenders == []


def test_only_bot_slack_and_handlers_import_slack_sdks() -> None:
    offenders = []
    for folder in ("bot", "runbooks"):
        for path in modules_under(folder):
            if path.is_relative_to(ROOT / "bot" / "slack"):
                continue
            if any(m.split(".")[0] in {"slack_sdk", "slack_bolt"} for m in imports_of(path)):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_only_bot_cloudrun_imports_google_cloud() -> None:
    offenders = []
    for folder in ("bot", "handlers", "runbooks"):
        for path in modules_under(folder):
            if path.is_relative_to(ROOT / "bot" / "cloudrun"):
                continue
            if any(m.startswith(("google.cloud", "google.api_core")) for m in imports_of(path)):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_modules_stay_small() -> None:
    big = [
        f"{p.relative_to(ROOT)} ({n} lines)"
        for folder in ("bot", "handlers", "runbooks")
        for p in modules_under(folder)
        if (n := len(p.read_text().splitlines())) > 450
    ]
    assert big == []
