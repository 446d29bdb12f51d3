"""Run every benchmark module (bench/bench_*.py) and print a table of medians.

Usage: python -m bench [--only NAME ...] [--repeat N] [--database-url URL]
Each module defines `async def run(options: Options) -> list[Figure]`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import platform
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from bench.common import ROOT, Figure


@dataclass(frozen=True)
class Options:
    """What every benchmark is told."""

    repeat: int
    database_url: str | None
    quick: bool


def _modules(only: list[str]) -> list[str]:
    names = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    if only:
        names = [n for n in names if any(o in n for o in only)]
    return names


def _table(figures: list[Figure]) -> str:
    rows = [("bench", "what", "median", "target", "met")]
    for f in figures:
        met = "" if f.ok is None else ("yes" if f.ok else "NO")
        value = f"{f.value:,.2f} {f.unit}".strip()
        rows.append((f.bench, f.what, value, f.target, met))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


async def _main(args: argparse.Namespace) -> int:
    options = Options(repeat=args.repeat, database_url=args.database_url, quick=args.quick)
    figures: list[Figure] = []
    for name in _modules(args.only):
        module = importlib.import_module(f"bench.{name}")
        started = time.perf_counter()
        print(f"running {name} ...", flush=True)
        figures.extend(await module.run(options))
        print(f"  done in {time.perf_counter() - started:.1f}s", flush=True)
    print()
    print(_table(figures))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    meta = {
        "date": stamp,
        "machine": platform.platform(),
        "python": platform.python_version(),
        "cpus": __import__("os").cpu_count(),
        "database": args.database_url or "sqlite",
    }
    path = out / f"bench-{stamp}.json"
    path.write_text(json.dumps({"meta": meta, "figures": [asdict(f) for f in figures]}, indent=2))
    print(f"\nraw figures: {path.relative_to(ROOT)}")
    return 0 if all(f.ok is not False for f in figures) else 1


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", nargs="*", default=[], help="run only benchmarks whose name contains this")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; the median is reported")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL for the PostgreSQL figures")
    parser.add_argument("--quick", action="store_true", help="smaller loads, for a smoke run")
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
