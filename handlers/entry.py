"""The `flare` console script: answers `--version`, `version` and `--help` without importing the app.

Everything else is handed to `handlers.cli`, which loads settings, the catalog and the server.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence

from bot import __version__

# name -> one-line help, in the order `flare --help` lists them. tests/e2e/test_cli.py checks this
# against the full parser, so a new subcommand cannot be left out.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("serve", "run the bot (Slack, webhooks, health) on $PORT"),
    ("migrate", "upgrade the database schema to this version"),
    ("check-config", "validate the catalog file"),
    ("version", "print the version"),
    ("routes", "test alert routing rules"),
    ("postmortem", "print an incident's post-mortem draft"),
)


def help_text() -> str:
    """The top-level usage, as argparse would print it."""
    names = ",".join(name for name, _ in COMMANDS)
    width = max(len(name) for name, _ in COMMANDS) + 4
    rows = "\n".join(f"    {name.ljust(width)}{text}" for name, text in COMMANDS)
    return (
        "usage: flare [-h] [--version] COMMAND ...\n\n"
        "Flare: the incident bot for Cloud Run teams.\n\n"
        f"positional arguments:\n  COMMAND\n{rows}\n\n"
        "options:\n  -h, --help  show this help message and exit\n"
        "  --version   show the version and exit\n\n"
        "`flare COMMAND --help` describes one command.\n"
    ).replace("COMMAND ...\n", f"{{{names}}} ...\n", 1)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `flare` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args in (["--version"], ["-V"], ["version"]):
        print(f"flare {__version__}")
        return 0
    if args in (["--help"], ["-h"]):
        print(help_text(), end="")
        return 0
    if not args:
        print(help_text(), end="", file=sys.stderr)
        return 2
    if args[:1] == ["serve"]:
        # Importing the stack makes ~125k long-lived objects; collecting while they are made is wasted
        # work (about 15 % of the start's CPU). settle_heap() collects once, freezes them, re-enables.
        gc.disable()
    from handlers.cli import main as full_main

    return full_main(args)


if __name__ == "__main__":
    sys.exit(main())
