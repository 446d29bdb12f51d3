"""Pure parts: the schema parser, change detection, the delivery metrics and the renderers' limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.cloudrun.models import Revision, ServiceInfo, ServiceRef, TrafficSplit
from bot.deploys.detect import PENDING_TTL, Snapshot, observe
from bot.deploys.render import card_suspects, deploy_message, suspect_message
from bot.deploys.report import render_history, render_stats
from bot.deploys.schema import SchemaError, parse
from bot.deploys.stats import Change, DeliveryStats, Failure, Restore, compute
from bot.deploys.views import DeployView, RollbackEntry

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
REF = ServiceRef("acme-prod", "us-central1", "checkout")


# ----------------------------------------------------------------------------- schema
def test_the_key_prefers_deploy_id_then_pipeline_then_revision() -> None:
    base: dict[str, Any] = {"service": "checkout", "status": "STARTED"}
    event = parse({**base, "deploy_id": "42", "pipeline_url": "https://ci/1", "revision": "checkout-1"}, NOW)
    assert (event.key, event.status, event.env) == ("id:42", "started", "production")
    assert (
        parse({**base, "pipeline_url": "https://ci/1", "revision": "checkout-1"}, NOW).key
        == "pipeline:https://ci/1"
    )
    assert parse({**base, "revision": "checkout-1"}, NOW).key == "rev:checkout-1"
    long_key = parse({**base, "deploy_id": "x" * 300}, NOW).key
    assert long_key.startswith("id:sha256:")
    assert len(long_key) < 200


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"message": "a\x00b"}, "message", "NUL"),
        ({"started_at": "2026-11-24T11:00:00Z", "timestamp": "2026-11-24T10:00:00Z"}, "started_at", "later"),
        ({"service": "Checkout"}, "service", "catalog service name"),
        ({"image": ["a"]}, "image", "an array"),
        ({"deploy_id": {"a": 1}}, "deploy_id", "an object"),
        ({"timestamp": 1700000000}, "timestamp", "a number"),
    ],
)
def test_schema_errors_name_the_field(extra: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(SchemaError) as caught:
        parse({"service": "checkout", "status": "started", "deploy_id": "1", **extra}, NOW)
    assert caught.value.field == field
    assert words in caught.value.message


# ----------------------------------------------------------------------------- detection
def revision(name: str, minutes_ago: float, *, ready: bool = True) -> Revision:
    return Revision(name, f"img/{name}", NOW - timedelta(minutes=minutes_ago), ready)


def info(split: dict[str, int]) -> ServiceInfo:
    statuses = [TrafficSplit(p, revision=n) for n, p in split.items()]
    return ServiceInfo(REF, "https://x", None, None, statuses, statuses)


def test_the_first_look_is_a_baseline_and_later_ones_find_what_is_new() -> None:
    revs = [revision("r2", 60), revision("r1", 600)]
    first = observe(None, info({"r2": 100}), revs, NOW)
    assert (first.new_ready, first.before) == ([], None)
    second = observe(first.snapshot, info({"r2": 100}), [revision("r3", 1), *revs], NOW)
    assert [r.name for r in second.new_ready] == ["r3"]
    assert second.before is None  # r3 was deployed with --no-traffic
    third = observe(second.snapshot, info({"r3": 10, "r2": 90}), [revision("r3", 1), *revs], NOW)
    assert third.new_ready == []
    assert (third.before, third.after) == ({"r2": 100}, {"r3": 10, "r2": 90})


def test_a_revision_that_becomes_ready_later_is_still_found() -> None:
    snap = Snapshot({"r1": 100}, NOW - timedelta(hours=1), {})
    building = observe(snap, info({"r1": 100}), [revision("r2", 2, ready=False), revision("r1", 300)], NOW)
    assert building.new_ready == []
    assert list(building.snapshot.pending) == ["r2"]
    ready = observe(building.snapshot, info({"r2": 100}), [revision("r2", 2), revision("r1", 300)], NOW)
    assert [r.name for r in ready.new_ready] == ["r2"]
    assert ready.snapshot.pending == {}
    stale = revision("r9", PENDING_TTL.total_seconds() / 60 + 5, ready=False)
    gone = observe(Snapshot({}, None, {"r9": stale.created or NOW}), info({}), [stale], NOW)
    assert gone.snapshot.pending == {}


def test_no_traffic_status_is_not_a_change() -> None:
    snap = Snapshot({"r1": 100}, NOW, {})
    seen = observe(snap, info({}), [revision("r1", 300)], NOW)
    assert seen.before is None
    assert seen.snapshot.serving == {"r1": 100}
    assert Snapshot.from_json(seen.snapshot.to_json()) == seen.snapshot


# ----------------------------------------------------------------------------- metrics
def test_failures_are_charged_to_the_latest_deploy_within_24_hours() -> None:
    start = NOW - timedelta(days=30)
    changes = [
        Change(1, "checkout", "production", NOW - timedelta(days=10)),
        Change(2, "checkout", "production", NOW - timedelta(hours=5)),
        Change(3, "checkout", "production", NOW - timedelta(hours=3)),
        Change(4, "checkout", "staging", NOW - timedelta(hours=1)),
        Change(5, "checkout", "production", NOW - timedelta(days=31)),  # before the window
    ]
    rollbacks = [Failure("checkout", "production", NOW - timedelta(hours=2))]
    incidents = [
        Restore("checkout", NOW - timedelta(minutes=30), NOW),
        Restore("checkout", NOW - timedelta(days=8), NOW - timedelta(days=8) + timedelta(hours=2)),
    ]
    rows = compute(
        [("checkout", "production"), ("checkout", "staging")],
        changes,
        rollbacks,
        incidents,
        start=start,
        days=30,
        incident_envs=["production"],
    )
    production, staging = rows
    assert production == DeliveryStats("checkout", "production", 30, 3, 1, 1, 2, 2, (1800 + 7200) / 2)
    assert production.change_failure_rate == pytest.approx(1 / 3)
    assert production.rollback_rate == pytest.approx(1 / 3)
    assert production.per_day == pytest.approx(0.1)
    # The staging deploy came after the rollback and is not in an incident environment.
    assert (staging.deploys, staging.failed_changes, staging.incidents, staging.restore_seconds) == (
        1,
        0,
        0,
        None,
    )


def test_no_deploys_means_no_rates() -> None:
    [row] = compute([("search", "production")], [], [], [], start=NOW, days=7, incident_envs=["production"])
    assert (row.change_failure_rate, row.rollback_rate, row.per_day) == (None, None, 0)


# ----------------------------------------------------------------------------- renderers
def view(**fields: Any) -> DeployView:
    values: dict[str, Any] = {
        "id": 7,
        "kind": "deploy",
        "service": "checkout",
        "env": "production",
        "source": "webhook",
        "status": "succeeded",
        "revision": "checkout-00042-abc",
        "image": "img",
        "commit_sha": "abcdef1234",
        "commit_url": "https://github.com/acme/checkout/commit/abcdef1234",
        "author": "alice",
        "pipeline_url": "https://ci.example/run/1",
        "message": "ship it",
        "before": None,
        "after": None,
        "started_at": NOW - timedelta(minutes=10),
        "finished_at": NOW - timedelta(minutes=3),
    }
    values.update(fields)
    return DeployView(**values)


def test_messages_stay_within_slack_limits_whatever_they_are_given() -> None:
    huge = view(
        image="i" * 500, author="<@U123>" * 40, message="m" * 4000, commit_url="https://x/" + "c" * 480
    )
    for text, blocks in (deploy_message(huge), suspect_message(huge, "INC-1")):
        assert len(blocks) <= 50
        for block in blocks:
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        assert "<@U123>" not in text + str(blocks)
    _text, blocks = deploy_message(view(finished_at=None, status="started"))
    assert {"type": "mrkdwn", "text": "*Duration*\n_running_"} in blocks[1]["fields"]


def test_the_card_lists_at_most_ten_suspects() -> None:
    views = [
        view(id=i, revision=f"checkout-{i:05d}-abc", started_at=NOW - timedelta(minutes=i)) for i in range(15)
    ]
    text = card_suspects(views, NOW, 120)
    assert text is not None
    assert text.count("\n•") == 10
    assert "checkout-00000-abc" in text  # newest first
    assert "…and 5 more" in text
    assert card_suspects([], NOW, 120) is None


def test_history_and_stats_stay_within_slack_limits() -> None:
    entries: list[DeployView | RollbackEntry] = [
        view(id=i, message="x" * 4000, author="a" * 200, image="i" * 500) for i in range(50)
    ]
    entries.append(
        RollbackEntry(1, "rollback", "production", "succeeded", "U0BOB0001", {"a": 100}, {"b": 100}, NOW)
    )
    _text, blocks = render_history("checkout", None, entries, 500)
    assert len(blocks) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert "of 500" in str(blocks[-1])
    rows = [DeliveryStats(f"svc-{i}", "production", 30, i, 0, 0, 0, 0, None) for i in range(200)]
    _text, blocks = render_stats(rows, 30, None)
    assert len(blocks) <= 50
    assert "more not shown" in str(blocks[-2])


def test_empty_optional_fields_count_as_not_given() -> None:
    event = parse(
        {"service": "checkout", "status": "failed", "deploy_id": "9", "revision": "", "author": " "}, NOW
    )
    assert (event.revision, event.author) == (None, None)
    with pytest.raises(SchemaError) as caught:
        parse({"service": "checkout", "status": "failed", "deploy_id": "", "pipeline_url": ""}, NOW)
    assert caught.value.field == "deploy_id"


def test_revisions_are_listed_again_only_when_needed() -> None:
    current = ServiceInfo(REF, "https://x", "r2", "r2", [], [])
    assert Snapshot({"r2": 100}, NOW, {}, "r2").unchanged(current)
    assert not Snapshot({"r2": 100}, NOW, {}, "r1").unchanged(current)  # a revision was created
    assert not Snapshot({"r2": 100}, NOW, {"r3": NOW}, "r2").unchanged(current)  # one is still building
    assert not Snapshot({}, None, {}, None).unchanged(ServiceInfo(REF, "", None, None, [], []))
