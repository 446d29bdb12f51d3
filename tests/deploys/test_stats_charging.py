"""compute() charges each failure to the newest change before it with a binary search: it must agree with
the plain definition (scan every change) on any data, ties included."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.deploys.stats import FAILURE_WINDOW, Change, Failure, Restore, compute

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _reference_failed(
    changes: list[Change], failures: list[Failure], start: datetime, envs: list[str]
) -> set[int]:
    failed = set()
    for failure in failures:
        if failure.at < start:
            continue
        candidates = [
            ch
            for ch in changes
            if ch.service == failure.service
            and (ch.env == failure.env if failure.env is not None else ch.env in envs)
            and ch.at <= failure.at
            and failure.at - ch.at <= FAILURE_WINDOW
        ]
        if candidates:
            failed.add(max(candidates, key=lambda ch: ch.at).id)
    return failed


def test_binary_search_charging_matches_the_definition() -> None:
    rng = random.Random(16)
    envs = ["production", "canary"]
    for _round in range(200):
        # Hours on a coarse grid, so many changes share a moment (ties).
        changes = [
            Change(
                n,
                rng.choice(["a", "b"]),
                rng.choice([*envs, "staging"]),
                T0 + timedelta(hours=rng.randint(0, 60)),
            )
            for n in range(rng.randint(0, 30))
        ]
        rollbacks = [
            Failure(rng.choice(["a", "b"]), rng.choice(envs), T0 + timedelta(hours=rng.randint(0, 72)))
            for _ in range(rng.randint(0, 6))
        ]
        incidents = [
            Restore(rng.choice(["a", "b"]), T0 + timedelta(hours=rng.randint(0, 72)), None)
            for _ in range(rng.randint(0, 6))
        ]
        start = T0 + timedelta(hours=24)
        pairs = [(s, e) for s in ("a", "b") for e in [*envs, "staging"]]
        rows = compute(pairs, changes, rollbacks, incidents, start=start, days=2, incident_envs=envs)
        failures = [*rollbacks, *(Failure(i.service, None, i.declared_at) for i in incidents)]
        expected = _reference_failed(changes, failures, start, envs)
        by_pair = {(r.service, r.env): r.failed_changes for r in rows}
        for service, env in pairs:
            want = sum(
                1
                for ch in changes
                if ch.id in expected and (ch.service, ch.env) == (service, env) and ch.at >= start
            )
            assert by_pair[(service, env)] == want
