"""Cross-checks on a catalog whose schema is broken: drop the broken parts, validate the rest, check it.

So one `flare check-config` run reports a schema error and an unknown team together. Paths found on the
pruned copy are mapped back to the file as written (a removed list element shifts later indices).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from bot.catalog.model import Catalog

Path = tuple[str | int, ...]
CrossCheck = Callable[[Catalog], Iterable[tuple[Path, str]]]
MAX_ROUNDS = 8


def _target(loc: Path) -> Path:
    """The innermost list element on `loc`, or else the mapping entry holding the bad key."""
    last_index = max((i for i, p in enumerate(loc) if isinstance(p, int)), default=None)
    if last_index is not None:
        return loc[: last_index + 1]
    return loc[:-1] if len(loc) > 1 else loc


class _Pruned:
    def __init__(self, data: Any) -> None:
        self.data = copy.deepcopy(data)
        self.removed: dict[Path, list[int]] = {}  # original list path -> original indices removed
        self.dropped_names: set[str] = set()  # mapping keys removed (e.g. a broken team)
        self.containers: set[Path] = set()  # original paths of lists or mappings that lost an entry

    def original(self, path: Path) -> Path:
        out: list[str | int] = []
        for part in path:
            if isinstance(part, int):
                gone = sorted(self.removed.get(tuple(out), []))
                index = part
                for removed in gone:
                    if removed <= index:
                        index += 1
                out.append(index)
            else:
                out.append(part)
        return tuple(out)

    def remove_all(self, locs: Iterable[Path]) -> bool:
        """Remove what each error location points into; later list elements first, so indices hold."""
        targets = {_target(loc) for loc in locs}
        order = sorted(targets, key=lambda t: [(1, p) if isinstance(p, int) else (0, str(p)) for p in t])
        removed = [self.remove(target) for target in reversed(order)]
        return any(removed)

    def remove(self, target: Path) -> bool:
        """Remove the list element or mapping entry at `target`."""
        parent = self._get(target[:-1])
        key = target[-1] if target else None
        if isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent):
            index = self.original(target)[-1]
            assert isinstance(index, int)
            self.containers.add(self.original(target[:-1]))
            self.removed.setdefault(self.original(target[:-1]), []).append(index)
            del parent[key]
            return True
        if isinstance(parent, dict) and key in parent:
            self.containers.add(self.original(target[:-1]))
            del parent[key]
            if isinstance(key, str):
                self.dropped_names.add(key)
            return True
        return False

    def _get(self, path: Path) -> Any:
        node = self.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        return node


def cross_problems(data: Any, error: ValidationError, checks: Iterable[CrossCheck]) -> list[tuple[Path, str]]:
    """Cross-check problems of the valid remainder of `data` (paths as in the file); [] if none survives."""
    pruned = _Pruned(data)
    for _round in range(MAX_ROUNDS):
        locs = [tuple(p for p in err["loc"] if p != "[key]") for err in error.errors(include_url=False)]
        if not pruned.remove_all(locs):
            return []
        try:
            catalog = Catalog.model_validate(pruned.data)
        except ValidationError as again:
            error = again
            continue
        found = []
        for check in checks:
            for path, message in check(catalog):
                if any(repr(name) in message for name in pruned.dropped_names):
                    continue  # it names something only the pruning removed
                where = pruned.original(path)
                if where in pruned.containers:
                    continue  # it judges a list or mapping the pruning shortened: its schema error says more
                found.append((where, message))
        return found
    return []
