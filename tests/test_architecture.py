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
        if (n := len(p.read_text().splitlines())) > 400
    ]
    assert big == []


DOMAINS = {"alerts", "incidents", "deploys", "rollback", "postmortem", "health", "cloudrun", "slack"}


def module_name(path: Path, root: Path = ROOT) -> str:
    """`bot/alerts/store.py` -> `bot.alerts.store`; a package's __init__ is the package."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def first_party_imports(path: Path, known: set[str], root: Path = ROOT) -> set[str]:
    """Every first-party module `path` imports, anywhere in it (functions and TYPE_CHECKING too)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m in known and m != name}


def import_cycles(root: Path, folders: tuple[str, ...]) -> list[list[str]]:
    """The groups of modules (more than one) that import each other in a circle (Tarjan's algorithm)."""
    paths = {module_name(p, root): p for folder in folders for p in sorted((root / folder).rglob("*.py"))}
    graph = {name: first_party_imports(path, set(paths), root) for name, path in paths.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


def test_the_cycle_finder_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import x\n")
    (package / "b.py").write_text("def f() -> None:\n    from pkg import a\n")
    (package / "c.py").write_text("from pkg import a\n")
    assert import_cycles(tmp_path, ("pkg",)) == [["pkg.a", "pkg.b"]]


def test_observability_does_not_import_the_domains() -> None:
    known = {module_name(p) for p in modules_under("bot")}
    offenders = sorted(
        f"{module_name(p)} -> {m}"
        for p in modules_under("bot/observability")
        for m in first_party_imports(p, known)
        if m.split(".")[1] in DOMAINS
    )
    assert offenders == []


def test_no_import_cycles_between_modules() -> None:
    assert import_cycles(ROOT, ("bot", "handlers", "runbooks")) == []


def test_the_fake_slack_stays_small() -> None:
    big = [
        f"{p.relative_to(ROOT)} ({n} lines)"
        for p in sorted((ROOT / "tests" / "fakes").glob("slack*.py"))
        if (n := len(p.read_text().splitlines())) > 400
    ]
    assert big == []
