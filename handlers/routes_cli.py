"""`flare routes test [--source S] --labels k=v ...`: which routes an alert with these labels takes.

The labels are read as the chosen source's webhook would (bot/alerts/sample.py), so the answer is the
one live routing gives; the derived labels are printed first.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.alerts.alert import SOURCES
from bot.alerts.parsing import PayloadError
from bot.alerts.sample import derived_labels, sample_alert
from bot.catalog import Catalog, ConfigError, load_catalog
from bot.catalog.routing import RouteDecision, decide
from bot.settings import SettingsError, load_settings

EXIT_MISMATCH = 1
EXIT_USAGE = 2


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `flare routes test`."""
    routes = sub.add_parser(
        "routes",
        help="test alert routing rules",
        description="Work with the alert routing rules in the catalog.",
    )
    actions = routes.add_subparsers(dest="routes_command", required=True, metavar="ACTION")
    test = actions.add_parser(
        "test",
        help="show which routes an alert with the given labels takes",
        description=(
            "Show which routes match an alert with these labels, in order, with channels and severity. "
            "Example: flare routes test --labels service=checkout severity=critical"
        ),
    )
    test.add_argument("--labels", nargs="+", required=True, metavar="KEY=VALUE", help="the alert's labels")
    test.add_argument(
        "--source",
        choices=SOURCES,
        default="alertmanager",
        help="read the labels as this source's webhook does (service from job/app, severity from "
        "priority, ...); default alertmanager",
    )
    test.add_argument("--config", default=None, help="catalog file (default $FLARE_CONFIG or ./flare.yaml)")
    test.add_argument(
        "--verify-channels",
        default=None,
        metavar="C1,C2",
        help="exit 1 unless the alert goes to exactly these channels (for CI)",
    )
    test.set_defaults(func=cmd_routes_test)


def parse_labels(items: list[str]) -> dict[str, str]:
    """`["a=b", "c=d"]` -> `{"a": "b", "c": "d"}`; ValueError naming the bad item."""
    labels: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--labels: expected key=value, got {item!r}")
        labels[name] = value.strip().strip('"')
    return labels


def describe(decisions: list[RouteDecision], labels: dict[str, str]) -> list[str]:
    """The lines `flare routes test` prints."""
    shown = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    lines = [f"Alert {{{shown}}}"]
    if not decisions:
        lines.append("  no route matches, and the default cannot take it (no channels and no owning team)")
        lines.append("Result: not posted (stored only)")
        return lines
    for i, d in enumerate(decisions, start=1):
        parts = [f"  {i}. {d.route}", f"-> {', '.join(d.channels)}", f"severity {d.severity}"]
        if d.note:
            parts.append(f"({d.note})")
        if d.mention:
            parts.append(f"mention {d.mention}")
        if d.auto_declare:
            parts.append("auto-declares an incident")
        if d.group_by:
            parts.append(f"group by {', '.join(d.group_by)}")
        if d.continued:
            parts.append("continue")
        lines.append("  ".join(parts))
    channels = sorted({c for d in decisions for c in d.channels})
    lines.append(f"Result: {', '.join(channels)} ({', '.join(d.route for d in decisions)})")
    return lines


def _catalog(path: str | None) -> Catalog | list[str]:
    if path is None:
        try:
            path = str(load_settings().flare_config)
        except SettingsError as exc:
            return exc.problems
    try:
        return load_catalog(Path(path))
    except ConfigError as exc:
        return [str(p) for p in exc.problems]


def cmd_routes_test(args: argparse.Namespace) -> int:
    """Print the routes an alert with --labels takes."""
    try:
        labels = parse_labels(args.labels)
    except ValueError as exc:
        print(f"flare: {exc}", file=sys.stderr)
        print("example: flare routes test --labels service=checkout severity=critical", file=sys.stderr)
        return EXIT_USAGE
    catalog = _catalog(args.config)
    if isinstance(catalog, list):
        for line in catalog:
            print(f"flare: {line}", file=sys.stderr)
        return EXIT_USAGE
    try:
        alert = sample_alert(args.source, labels, datetime.now(UTC))
    except PayloadError as exc:
        print(f"flare: --labels cannot make a {args.source} alert: {exc}", file=sys.stderr)
        return EXIT_USAGE
    derived = derived_labels(alert)
    decisions = decide(catalog, derived, severity=alert.severity, service=alert.service)
    shown = ", ".join(f'{k}="{v}"' for k, v in derived.items())
    lines = describe(decisions, labels)
    lines.insert(len(lines) - 1, f"  (as {args.source} sends it, the matchers saw {{{shown}}})")
    for line in lines:
        print(line)
    if args.verify_channels is not None:
        expected = sorted({c.strip() for c in args.verify_channels.split(",") if c.strip()})
        actual = sorted({c for d in decisions for c in d.channels})
        if expected != actual:
            want, got = ", ".join(expected) or "(none)", ", ".join(actual) or "(none)"
            print(f"MISMATCH: expected {want}, got {got}")
            return EXIT_MISMATCH
    return 0
