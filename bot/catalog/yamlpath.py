"""YAML loading that remembers where each value came from, for precise config errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a config file: where it is and what is wrong."""

    file: str
    path: str
    line: int | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(top level)'}: {self.problem}"


class ConfigError(Exception):
    """A config file is invalid; `problems` lists every problem found."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = list(problems)


def format_path(path: Sequence[str | int]) -> str:
    """Render ('services', 2, 'region') as 'services[2].region'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class LocatedYaml:
    """Parsed YAML plus the line of every node, keyed by path."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines: dict[Path, int] = {}
        self.problems: list[ConfigProblem] = []
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            reason = getattr(exc, "problem", None) or str(exc)
            raise ConfigError([ConfigProblem(file, "", line, f"not valid YAML: {reason}")]) from None
        self.data: Any = {} if node is None else self._build(node, ())
        if self.problems:
            raise ConfigError(self.problems)

    def line_for(self, path: Sequence[str | int]) -> int | None:
        """The line of the deepest known node on `path`."""
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), None)

    def problem(self, path: Sequence[str | int], message: str) -> ConfigProblem:
        """A problem located at `path`."""
        return ConfigProblem(self.file, format_path(path), self.line_for(path), message)

    def _build(self, node: yaml.Node, path: Path) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.problems.append(
                        ConfigProblem(
                            self.file,
                            format_path(path),
                            key_node.start_mark.line + 1,
                            "keys must be plain strings",
                        )
                    )
                    continue
                key = str(key_node.value)
                if key in result:
                    self.problems.append(
                        ConfigProblem(
                            self.file,
                            format_path((*path, key)),
                            key_node.start_mark.line + 1,
                            f"duplicate key {key!r}",
                        )
                    )
                    continue
                result[key] = self._build(value_node, (*path, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self._build(item, (*path, i)) for i, item in enumerate(node.value)]
        loader = yaml.SafeLoader("")
        try:
            return loader.construct_object(node)
        finally:
            loader.dispose()
