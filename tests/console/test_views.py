"""The console's view models and chart data against a real (migrated) database, on both lanes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.cloudrun.run_v2_gateway import RunV2Gateway
from bot.console import delivery_view, incident_view, incidents_view, postmortem_view, services_view
from bot.console.charts import svg
from bot.db.engine import Database
from bot.incidents import queries
from bot.incidents.models import Incident
from bot.people.models import Person
from bot.postmortem.models import PostmortemDraft
from tests.console import seed
from tests.console.conftest import WORKSPACE, console_catalog
from tests.fakes.cloudrun import FakeCloudRun

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The test database."""
    database = Database(database_url, pool_size=1)
    yield database
    await database.close()


async def test_list_filters_and_cursor(db: Database) -> None:
    catalog = console_catalog()
    async with db.transaction() as session:
        await seed.incidents(session, 120, NOW, span=timedelta(days=60))
        await session.execute(
            Incident.__table__.update()
            .where(Incident.id == 7)
            .values(title="Payments 100% down_for EU", status="mitigated")
        )
    async with db.sessions() as session:
        first = await incidents_view.list_page(
            session, catalog, incidents_view.parse_filters({}, catalog), now=NOW, team="T1", page_size=50
        )
        assert [r.id for r in first.rows] == list(range(120, 70, -1))
        assert first.next_before == 71
        second = await incidents_view.list_page(
            session,
            catalog,
            incidents_view.parse_filters({"before": "71"}, catalog),
            now=NOW,
            team="T1",
            page_size=50,
        )
        assert second.rows[0].id == 70
        # severity P1 and service search: n % 4 == 1 and n % 2 == 1 (ids are n + 1)
        p1 = incidents_view.parse_filters({"severity": "p1", "service": "search"}, catalog)
        page = await incidents_view.list_page(session, catalog, p1, now=NOW, team="T1", page_size=500)
        assert {r.severity for r in page.rows} == {"P1"}
        assert len(page.rows) == 30
        # Title search is a literal, case-insensitive substring (% and _ are not wildcards).
        found = incidents_view.parse_filters({"q": "100% DOWN_"}, catalog)
        page = await incidents_view.list_page(session, catalog, found, now=NOW, team="T1")
        assert [r.id for r in page.rows] == [7]
        assert page.rows[0].status_label == "Mitigated"
        assert page.rows[0].channel_web == f"{WORKSPACE}/archives/C0HIST00006"
        assert page.rows[0].channel_app == "slack://channel?team=T1&id=C0HIST00006"
        # The time range is inclusive of both days, in UTC.
        day = (NOW - timedelta(days=30)).date()
        ranged = incidents_view.parse_filters({"since": day.isoformat(), "until": day.isoformat()}, catalog)
        page = await incidents_view.list_page(session, catalog, ranged, now=NOW, team=None, page_size=500)
        assert page.rows
        assert all(r.declared_iso.startswith(day.isoformat()) for r in page.rows)


def test_bad_filters_are_reported_and_ignored() -> None:
    catalog = console_catalog()
    filters = incidents_view.parse_filters(
        {"status": "burning", "severity": "P9", "service": "nope", "since": "yesterday", "before": "x"},
        catalog,
    )
    assert (filters.status, filters.severity, filters.service, filters.since, filters.before) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert len(filters.problems) == 5
    assert incidents_view.parse_filters({"since": "2026-01-31"}, catalog).since == date(2026, 1, 31)


async def test_people_appear_by_display_name_and_by_id_when_slack_could_not_say(db: Database) -> None:
    catalog = console_catalog()
    async with db.transaction() as session:
        await seed.incidents(session, 1, NOW, span=timedelta(days=1))
        await seed.timeline(session, 1, 3, NOW - timedelta(hours=2))
        session.add(Person(id="U0BOB0001", display_name="bob", real_name="Bob Builder", updated_at=NOW))
    async with db.sessions() as session:
        incident = await queries.load(session, 1)
        assert incident is not None
        page = await incident_view.incident_page(session, catalog, incident, now=NOW, team="T1", after=None)
    assert {e.actor for e in page.events} == {"bob"}
    roles = {f.label: f.value for f in page.roles}
    assert roles["Commander"] == "bob"
    assert all(v == "bob" or v.startswith("U") for v in roles.values()), "unknown people stay ids"


async def test_incident_timeline_is_paginated_with_links(db: Database) -> None:
    catalog = console_catalog()
    async with db.transaction() as session:
        await seed.incidents(session, 1, NOW, span=timedelta(days=1))
        await seed.timeline(session, 1, 450, NOW - timedelta(hours=2))
    async with db.sessions() as session:
        incident = await queries.load(session, 1)
        assert incident is not None
        first = await incident_view.incident_page(session, catalog, incident, now=NOW, team="T1", after=None)
        assert first.event_total == 450
        assert [e.text.split(":")[0] for e in first.events[:2]] == ["Note 0", "Note 1"]
        assert len(first.events) == incident_view.TIMELINE_PAGE
        assert first.events[0].links == [("message", f"{WORKSPACE}/archives/C0HIST00001/p1700000000000000")]
        assert first.previous_after is None
        assert first.events[5].kind == "alert_fired"
        assert first.events[5].links == [("alert", "https://prometheus.acme.test/graph?g0.expr=a5")]
        second = await incident_view.incident_page(
            session, catalog, incident, now=NOW, team="T1", after=first.next_after
        )
        assert second.events[0].text.startswith("Note 200:")
        assert second.previous_after == 0
        third = await incident_view.incident_page(
            session, catalog, incident, now=NOW, team="T1", after=second.next_after
        )
        assert len(third.events) == 50
        assert third.next_after is None
        assert third.page_start == 400
        assert third.previous_after == first.events[-1].id  # "Earlier" goes back to events 200-399
        assert [f.label for f in first.roles] == ["Commander", "Declared by", "Resolved by"]


async def test_postmortem_versions_render_and_diff(db: Database) -> None:
    async with db.transaction() as session:
        await seed.incidents(session, 1, NOW, span=timedelta(days=1))
        for version, text in (
            (1, "| a | b |\n| - | - |\n| 1 | 2 |\n\n<script>x()</script>\n"),
            (2, "| a | b |\n| - | - |\n| 1 | 3 |\n"),
        ):
            session.add(
                PostmortemDraft(
                    incident_id=1,
                    version=version,
                    markdown=f"# Post-mortem\n\n{text}",
                    sha256="0" * 64,
                    event_count=1,
                    generated_by="U0BOB0001",
                    trigger="command",
                    created_at=NOW,
                )
            )
    async with db.sessions() as session:
        one = await postmortem_view.postmortem_page(session, 1, version=1, compare=None)
        assert one.versions == [1, 2]
        assert "<table>" in one.html
        assert "<script>" not in one.html
        assert "&lt;script&gt;x()&lt;/script&gt;" in one.html
        diff = await postmortem_view.postmortem_page(session, 1, version=None, compare=(1, 2))
        kinds = {(line.kind, line.text) for line in diff.diff}
        assert ("remove", "-| 1 | 2 |") in kinds
        assert ("add", "+| 1 | 3 |") in kinds
        missing = await postmortem_view.postmortem_page(session, 1, version=9, compare=None)
        assert missing.problem == "there is no version 9 of this draft"


async def test_weekly_delivery_charts(db: Database) -> None:
    catalog = console_catalog()
    async with db.transaction() as session:
        # 2 deploys a day over 4 weeks; one rollback and one incident an hour after deploys in the last week.
        await seed.deploys(session, 56, NOW, span=timedelta(days=28))
        await seed.rollback(session, 1, NOW - timedelta(days=3, hours=-1))
        await session.execute(
            Incident.__table__.insert(),
            [seed.incident_row(1, NOW - timedelta(days=2), severity="P1", service="checkout")],
        )
    async with db.sessions() as session:
        selection = delivery_view.parse_selection({"service": "checkout"}, catalog)
        charts = await delivery_view.delivery_charts(session, catalog, selection, NOW)
    by_key = {c.key: c for c in charts}
    assert [s.values for s in by_key["deploys"].series] == [[14.0, 14.0, 14.0, 14.0]]
    assert by_key["change-failure-rate"].series[0].values == [0.0, 0.0, 0.0, round(200 / 14, 1)]
    assert by_key["rollback-rate"].series[0].values == [0.0, 0.0, 0.0, round(100 / 14, 1)]
    restore = by_key["time-to-restore"].series[0].values
    assert restore[:3] == [None, None, None]
    assert restore[3] == round(31 / 60, 2)
    incidents = {s.name: s.values for s in by_key["incidents"].series}
    assert incidents["P1"] == [0.0, 0.0, 0.0, 1.0]
    assert incidents["P0"] == [0.0] * 4
    drawn = svg(by_key["deploys"], nonce="n0nce")
    assert "<script" not in drawn
    assert 'nonce="n0nce"' in drawn
    assert "deploys, week of" in drawn  # tooltips as SVG <title>
    # Drawn once per data: another page gets the same drawing with its own nonce.
    assert svg(by_key["deploys"], nonce="other") == drawn.replace('nonce="n0nce"', 'nonce="other"')


def test_delivery_selection_defaults_and_problems() -> None:
    catalog = console_catalog()
    default = delivery_view.parse_selection({}, catalog)
    assert (default.service, default.env, default.weeks) == (None, "production", 4)
    bad = delivery_view.parse_selection({"weeks": "5", "env": "moon", "service": "x"}, catalog)
    assert (bad.service, bad.env, bad.weeks) == (None, "production", 4)
    assert len(bad.problems) == 3


async def test_services_show_watcher_state_changes_and_open_incident(db: Database) -> None:
    catalog = console_catalog()
    async with db.transaction() as session:
        await seed.watch_state(
            session, "checkout", "production", {"checkout-00041": 90, "checkout-00042": 10}, NOW
        )
        await seed.deploys(session, 7, NOW, span=timedelta(days=7))
        await seed.rollback(session, 1, NOW - timedelta(hours=1))
        await session.execute(
            Incident.__table__.insert(),
            [
                seed.incident_row(
                    1, NOW, status="declared", resolved_at=None, service="checkout", severity="P0"
                )
            ],
        )
    async with db.sessions() as session:
        cards = await services_view.service_cards(session, catalog)
    checkout = cards[0]
    assert checkout.open_incident is not None
    assert checkout.open_incident[1:3] == ("INC-1", "P0")
    production = checkout.envs[0]
    assert production.serving == [("checkout-00041", 90), ("checkout-00042", 10)]
    assert production.changes[0].what == "rollback"
    assert len(production.changes) == services_view.RECENT
    assert checkout.envs[1].serving == []
    assert cards[1].open_incident is None
    # The open P0 closes checkout's deploy gate in production (the default policy); staging is not gated.
    assert (production.gate_open, "INC-1 (P0)" in production.gate_reason) == (False, True)
    assert checkout.envs[1].gate_open is True
    assert all(e.gate_open for e in cards[1].envs)


async def test_services_read_cloud_run_live_where_the_watcher_has_nothing(
    db: Database, fake_cloudrun: FakeCloudRun
) -> None:
    catalog = console_catalog()
    gateway = RunV2Gateway(fake_cloudrun.url, read_retry_seconds=0)
    async with db.transaction() as session:
        await seed.watch_state(session, "checkout", "production", {"checkout-00041": 100}, NOW)
    async with db.sessions() as session:
        assert await services_view.watched(session) == {("checkout", "production")}
    staging = fake_cloudrun.service("acme-staging", "us-central1", "checkout")
    pairs = [("checkout", "staging"), ("search", "production")]
    live = await services_view.live_serving(gateway, catalog, pairs)
    assert live[("checkout", "staging")] == {staging.revisions[-1].name: 100}
    async with db.sessions() as session:
        cards = await services_view.service_cards(session, catalog, live)
    production, staging_card = cards[0].envs
    assert (production.source, production.serving) == ("watcher", [("checkout-00041", 100)])
    assert staging_card.source == "Cloud Run (live)"
    assert staging_card.serving == [(staging.revisions[-1].name, 100)]

    fake_cloudrun.fail("get_service", 403, times=2)
    refused = await services_view.live_serving(gateway, catalog, pairs)
    assert all(isinstance(v, str) and v.startswith("Cloud Run: ") for v in refused.values()), refused
    async with db.sessions() as session:
        cards = await services_view.service_cards(session, catalog, refused)
    assert cards[0].envs[1].serving == []
    assert cards[0].envs[1].watch_error == refused[("checkout", "staging")]

    fake_cloudrun.delays["get_service"] = 1.0
    slow = await services_view.live_serving(gateway, catalog, pairs[:1], timeout=0.2)
    assert slow == {("checkout", "staging"): "Cloud Run did not answer within 0.2 s"}
