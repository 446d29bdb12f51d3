"""Helpers for the operations tests: read /metrics like Prometheus does."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import METRICS_TOKEN, Flare

ROOT = Path(__file__).resolve().parents[2]


async def scrape(flare: Flare) -> str:
    """GET /metrics with the bearer token, as Prometheus scrapes it."""
    status, body = await flare.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert status == 200, body
    assert isinstance(body, str)
    return body


def samples(exposition: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a text exposition: (name, labels) -> value."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(exposition: str, name: str, **labels: str) -> float | None:
    """The value of the sample `name` whose labels include `labels` (summed over the others)."""
    found = [
        v
        for (sample, sample_labels), v in samples(exposition).items()
        if sample == name and set(labels.items()) <= set(sample_labels)
    ]
    return sum(found) if found else None


def exported_names(exposition: str) -> set[str]:
    """Every series name Prometheus can see from this exposition, labelled children or not.

    A labelled metric with no children yet still has its # TYPE line; the names its samples will
    carry are derived from the type, as Prometheus names them.
    """
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            if kind == "histogram":
                names.update({f"{name}_bucket", f"{name}_count", f"{name}_sum", f"{name}_created"})
            elif kind == "summary":
                names.update({name, f"{name}_count", f"{name}_sum", f"{name}_created"})
            else:
                names.add(name)
        elif line and not line.startswith("#"):
            names.add(line.split("{", 1)[0].split(" ", 1)[0])
    return names


_PROMQL_WORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"}
)


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords and labels removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set(re.findall(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()", text))
    return {name for name in names if name not in _PROMQL_WORDS and not re.fullmatch(r"[0-9.e+-]+", name)}


async def scrape_until(flare: Flare, name: str, minimum: float, timeout: float = 10.0, **labels: str) -> str:
    """Scrape until the sample `name` (with `labels`) reaches `minimum`; the last exposition."""
    deadline = time.monotonic() + timeout
    while True:
        exposition = await scrape(flare)
        if (value(exposition, name, **labels) or 0) >= minimum:
            return exposition
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{name}{labels} stayed below {minimum}: {value(exposition, name, **labels)}"
            )
        await asyncio.sleep(0.05)
