"""Parse the text of a slash command: positional words, `--option VALUE` and `--flag`."""

from __future__ import annotations

from dataclasses import dataclass, field


class ArgError(ValueError):
    """The command text does not parse; the message says why."""


@dataclass
class Args:
    """What a command was given."""

    positional: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    def option(self, name: str, default: str | None = None) -> str | None:
        """The value of `--name`, if given."""
        return self.options.get(name, default)


def parse_args(text: str, *, options: frozenset[str], flags: frozenset[str]) -> Args:
    """Split `text` into positionals, options (`--env prod` or `--env=prod`) and flags."""
    args = Args()
    words = text.replace("\u2014", "--").replace("\u2013", "--").split()
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("--"):
            args.positional.append(word)
            continue
        name, _, inline = word[2:].partition("=")
        name = name.lower()
        if name in flags and not inline:
            args.flags.add(name)
        elif name in options:
            value = inline
            if not value:
                if i >= len(words) or words[i].startswith("--"):
                    raise ArgError(f"--{name} needs a value")
                value = words[i]
                i += 1
            if name in args.options:
                raise ArgError(f"--{name} is given twice")
            args.options[name] = value
        else:
            known = sorted([*(f"--{o} VALUE" for o in options), *(f"--{f}" for f in flags)])
            raise ArgError(f"unknown option --{name} (known: {', '.join(known) or 'none'})")
    return args
