"""Pure pieces: rbac decisions, planning and guards, argument parsing, renderers within Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.catalog import ConfigError, parse_catalog
from bot.catalog.rbac import EnvironmentAccess, decide, decide_with_groups
from bot.cloudrun.cmdline import ArgError, parse_args
from bot.cloudrun.models import Revision, ServiceInfo, ServiceRef, TrafficSplit
from bot.cloudrun.render import ServiceStatus, render_status
from bot.rollback.plan import GUARD_LOOP, PlanError, RecentChange, Request, default_target, make_plan
from bot.rollback.render import RollbackView, render_rollback
from tests.cloudrun.conftest import CATALOG

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
REF = ServiceRef("acme-prod", "us-central1", "checkout")


def revisions(n: int, *, not_ready: tuple[int, ...] = ()) -> list[Revision]:
    """n revisions, newest first; number k was created k hours after the first."""
    return [
        Revision(f"checkout-{k:05d}-abc", f"img:v{k}", NOW - timedelta(hours=n - k), k not in not_ready)
        for k in range(n, 0, -1)
    ]


def info(split: dict[str, int]) -> ServiceInfo:
    traffic = [TrafficSplit(p, revision=r) for r, p in split.items()]
    return ServiceInfo(REF, "https://x", None, None, traffic, traffic)


def test_rbac_decisions() -> None:
    rbac = {
        "production": EnvironmentAccess(users=["U0BOB0001"], user_groups=["S0ONCALL1"]),
        "staging": EnvironmentAccess(open=True),
        "qa": EnvironmentAccess(users=["U0BOB0001"]),
    }
    assert decide(rbac, "production", "U0BOB0001").verdict == "allowed"
    assert decide(rbac, "staging", "U0ANYONE1").verdict == "allowed"
    assert decide(rbac, "qa", "U0ANYONE1").verdict == "denied"
    unlisted = decide(rbac, "dev", "U0BOB0001")
    assert unlisted.verdict == "denied"
    assert "rbac.dev" in unlisted.reason
    ask = decide(rbac, "production", "U0CAROL01")
    assert ask.verdict == "ask_groups"
    assert (
        decide_with_groups(ask, "U0CAROL01", {"S0ONCALL1": ["U0CAROL01"]}, "production").verdict == "allowed"
    )
    assert decide_with_groups(ask, "U0CAROL01", {"S0ONCALL1": []}, "production").verdict == "denied"


def test_rbac_config_errors_name_the_path() -> None:
    text = CATALOG.format(health_url="http://h/x", dep_url="http://h/y")
    with pytest.raises(ConfigError) as raised:
        parse_catalog(
            text.replace("  staging:\n    open: true", "  staging: {}\n  prod: {open: true}"), "f.yaml"
        )
    problems = [str(p) for p in raised.value.problems]
    assert any("rbac.staging" in p and "list users and/or user_groups" in p for p in problems), problems
    with pytest.raises(ConfigError) as raised:
        parse_catalog(text.replace("  staging:\n    open: true", "  prod:\n    open: true"), "f.yaml")
    assert "rbac.prod: no service has an environment called 'prod'" in str(raised.value)


def test_default_target_with_a_canary_is_the_older_serving_revision() -> None:
    revs = revisions(4)
    canary = info({revs[0].name: 10, revs[1].name: 90})
    assert default_target(canary, revs) == revs[1].name
    assert default_target(info({revs[0].name: 100}), revisions(4, not_ready=(3,))) == revs[2].name


def test_loop_guard_names_the_revision_and_the_change() -> None:
    revs = revisions(3)
    recent = [RecentChange(7, {revs[0].name: 100}, NOW - timedelta(minutes=12))]
    plan = make_plan(
        "rollback",
        Request(mode="to", to=revs[0].name),
        info({revs[1].name: 100}),
        revs,
        recent,
        now=NOW,
        window_minutes=30,
    )
    loop = next(g for g in plan.guards if g.name == GUARD_LOOP)
    assert not loop.ok
    assert f"away from {revs[0].name} 12 minutes ago (change #7)" in loop.message
    later = make_plan(
        "rollback",
        Request(mode="to", to=revs[0].name),
        info({revs[1].name: 100}),
        revs,
        recent,
        now=NOW + timedelta(minutes=20),
        window_minutes=30,
    )
    assert not later.failed_guards


def test_plan_errors() -> None:
    revs = revisions(3)
    with pytest.raises(PlanError, match="no revision called 'nope'"):
        make_plan(
            "rollback",
            Request(mode="to", to="nope"),
            info({revs[0].name: 100}),
            revs,
            [],
            now=NOW,
            window_minutes=30,
        )
    with pytest.raises(PlanError, match="matches 3 revisions"):
        make_plan(
            "rollback",
            Request(mode="to", to="abc"),
            info({revs[0].name: 100}),
            revs,
            [],
            now=NOW,
            window_minutes=30,
        )
    with pytest.raises(PlanError, match="cannot tell which revision serves"):
        make_plan("rollback", Request(), info({}), revs, [], now=NOW, window_minutes=30)


def test_parse_args() -> None:
    args = parse_args(
        "checkout --env=staging --dry-run --to rev-1",
        options=frozenset({"env", "to"}),
        flags=frozenset({"dry-run"}),
    )
    assert args.positional == ["checkout"]
    assert args.options == {"env": "staging", "to": "rev-1"}
    assert args.flags == {"dry-run"}
    assert parse_args("x \u2014env prod", options=frozenset({"env"}), flags=frozenset()).options == {
        "env": "prod"
    }
    for bad, problem in [
        ("--env", "needs a value"),
        ("--env a --env b", "given twice"),
        ("--nope", "unknown option"),
    ]:
        with pytest.raises(ArgError, match=problem):
            parse_args(bad, options=frozenset({"env"}), flags=frozenset())


def test_status_render_escapes_and_stays_within_limits() -> None:
    revs = [
        Revision(f"checkout-{k:05d}-abc", "<!here> " + "i" * 400, NOW, True, labels={"deployer": "<@U0EVIL>"})
        for k in range(500, 0, -1)
    ]
    status = ServiceStatus("checkout", "production", info({revs[0].name: 100}), revs)
    text, blocks = render_status(status, NOW, show_all=True)
    body = text + str(blocks)
    assert len(blocks) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert sum(len(str(b)) for b in blocks) < 13000
    assert "<!here>" not in body
    assert "<@U0EVIL>" not in body


def test_rollback_message_for_every_status_has_a_fallback_and_few_blocks() -> None:
    revs = revisions(3)
    plan = make_plan("rollback", Request(), info({revs[0].name: 100}), revs, [], now=NOW, window_minutes=30)
    for status in ("proposed", "running", "succeeded", "unverified", "failed", "cancelled", "interrupted"):
        view = RollbackView(
            1,
            "rollback",
            "checkout",
            "production",
            status,
            "U0ALICE01",
            plan,
            step="patching",
            decided_by="U0BOB0001",
            detail="<!channel> boom",
        )
        text, blocks = render_rollback(view, NOW)
        assert status in text
        assert len(blocks) <= 8
        assert "<!channel>" not in str(blocks)
