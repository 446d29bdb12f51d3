"""Routing rules: matchers, order and `continue`, defaults, severity mapping, config errors, the CLI."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.alerts.alert import Alert
from bot.alerts.routing import Router, targets_for
from bot.catalog import Catalog, ConfigError, parse_catalog
from bot.catalog.routing import decide, parse_matcher
from handlers.cli import main
from tests.alerts.conftest import alert_catalog_text
from tests.conftest import DATA

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("matcher", "labels", "expected"),
    [
        ('service="checkout"', {"service": "checkout"}, True),
        ("service=checkout", {"service": "checkout-api"}, False),
        ('service!="checkout"', {"service": "search"}, True),
        ('service!="checkout"', {}, True),
        ('service=""', {}, True),  # a missing label is the empty string, as in Alertmanager
        ('severity=~"critical|page"', {"severity": "page"}, True),
        ('severity=~"crit"', {"severity": "critical"}, False),  # anchored
        ('severity!~"info|debug"', {"severity": "warning"}, True),
        ('severity!~"info|debug"', {"severity": "info"}, False),
        ('env=~".+"', {}, False),
        (r'path="a\"b"', {"path": 'a"b'}, True),
        ("  team  =  payments ", {"team": "payments"}, True),
    ],
)
def test_matchers(matcher: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_matcher(matcher).matches(labels) is expected


@pytest.mark.parametrize(
    ("matcher", "problem"),
    [
        ("service", "is not a matcher"),
        ("=checkout", "is not a matcher"),
        ('service=~"(unclosed"', "invalid regular expression"),
        ('service="open', "unbalanced quotes"),
        ('service="a"b"', "unescaped quote"),
    ],
)
def test_bad_matchers_are_refused(matcher: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_matcher(matcher)


@pytest.fixture
def catalog() -> Catalog:
    return parse_catalog(alert_catalog_text(), "alerts.yaml")


def test_first_match_stops_unless_continue(catalog: Catalog) -> None:
    labels = {"service": "search", "severity": "warning", "team": "noise"}
    assert [d.route for d in decide(catalog, labels, severity="warning", service="search")] == ["search"]
    labels = {"service": "checkout", "severity": "critical", "team": "noise"}
    decisions = decide(catalog, labels, severity="critical", service="checkout")
    # checkout-critical continues; "search" does not match; "noisy" matches and stops.
    assert [(d.route, d.channels, d.continued) for d in decisions] == [
        ("checkout-critical", ("C0PAYCRIT",), True),
        ("noisy", ("C0NOISE01", "C0NOISE02"), False),
    ]


def test_severity_mapping_mention_and_auto_declare(catalog: Catalog) -> None:
    (page, *_) = decide(
        catalog, {"service": "checkout", "severity": "page"}, severity="page", service="checkout"
    )
    assert (page.severity, page.mention, page.auto_declare) == ("P0", "S0PAYONCALL", True)
    (crit,) = decide(
        catalog, {"service": "checkout", "severity": "critical"}, severity="critical", service="checkout"
    )
    assert (crit.severity, crit.auto_declare) == ("P1", False)
    (search,) = decide(catalog, {"service": "search"}, severity="WARNING", service="search")
    assert search.severity == "P2"  # the route's own mapping, case-insensitive
    (default,) = decide(catalog, {}, severity="error", service=None)
    assert (default.route, default.severity) == ("default", "P2")  # the built-in mapping
    (unknown,) = decide(catalog, {}, severity="banana", service=None)
    assert unknown.severity == "P3"


def test_a_route_without_channels_uses_the_owning_teams_channel(catalog: Catalog) -> None:
    (search,) = decide(catalog, {"service": "search"}, severity=None, service="search")
    assert (search.channels, search.note) == (("C0SEARCH01",), "team channel of search")


def test_without_a_default_unmatched_alerts_go_to_their_team_or_nowhere() -> None:
    text = alert_catalog_text().replace("  default:\n    channels: [C0ALERTS1]\n", "")
    catalog = parse_catalog(text)
    (checkout,) = decide(catalog, {"service": "checkout"}, severity="info", service="checkout")
    assert (checkout.route, checkout.channels) == ("default", ("C0PAYMENTS",))
    assert decide(catalog, {"service": "unknown"}, severity="info", service="unknown") == []


@pytest.mark.parametrize(
    ("snippet", "where", "problem"),
    [
        (
            "routes:\n  rules:\n    - matchers: ['a=~\"[\"']\n",
            "routes.rules[0].matchers[0]",
            "invalid regular expression",
        ),
        (
            "routes:\n  rules:\n    - matchers: ['just-text']\n",
            "routes.rules[0].matchers[0]",
            "is not a matcher",
        ),
        ("routes:\n  rules:\n    - channels: [general]\n", "routes.rules[0].channels[0]", "channel ID"),
        ("routes:\n  rules:\n    - severity: {critical: P7}\n", "routes.rules[0].severity.critical", "'P0'"),
        ("routes:\n  rules:\n    - name: a\n    - name: a\n", "routes.rules[1].name", "duplicate route name"),
        (
            "routes:\n  rules:\n    - continue: true\n      contine: false\n",
            "routes.rules[0].contine",
            "unknown key",
        ),
        (
            "routes:\n  update_interval_seconds: 0\n",
            "routes.update_interval_seconds",
            "greater than or equal",
        ),
        ("webhooks:\n  sentry: {token_env: X}\n", "webhooks.sentry.token_env", "does not send a token"),
        ("webhooks:\n  pagerduty: {}\n", "webhooks.pagerduty.secret_env", "signs every request"),
        ("webhooks:\n  alertmanager: {}\n", "webhooks.alertmanager", "no credentials configured"),
        (
            "webhooks:\n  generic: {token_env: 'not a name'}\n",
            "webhooks.generic.token_env",
            "environment variable",
        ),
        ("webhooks:\n  gcp_monitoring: {username: u}\n", "webhooks.gcp_monitoring.password_env", "both"),
    ],
)
def test_config_errors_name_the_yaml_path_and_line(snippet: str, where: str, problem: str) -> None:
    base = (DATA / "catalog.yaml").read_text()
    with pytest.raises(ConfigError) as raised:
        parse_catalog(base + snippet, "flare.yaml")
    found = [p for p in raised.value.problems if p.path == where]
    assert found, [str(p) for p in raised.value.problems]
    assert problem in found[0].problem
    assert found[0].file == "flare.yaml"
    assert found[0].line is not None
    assert found[0].line > base.count("\n")


def test_routes_test_prints_matching_routes_channels_and_severity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flare.yaml"
    path.write_text(alert_catalog_text())
    code = main(["routes", "test", "--config", str(path), "--labels", "service=checkout", "severity=page"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == 'Alert {service="checkout", severity="page"}'
    assert out[1].split() == [
        "1.", "checkout-critical", "->", "C0PAYCRIT", "severity", "P0", "mention", "S0PAYONCALL",
        "auto-declares", "an", "incident", "continue",
    ]  # fmt: skip
    assert out[-1] == "Result: C0PAYCRIT (checkout-critical)"

    code = main(
        ["routes", "test", "--config", str(path), "--labels", "service=search", "--verify-channels", "C0X"]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "search  -> C0SEARCH01  severity P3  (team channel of search)" in out
    assert "MISMATCH: expected C0X, got C0SEARCH01" in out


def test_routes_test_rejects_bad_labels_with_an_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flare.yaml"
    path.write_text(alert_catalog_text())
    code = main(["routes", "test", "--config", str(path), "--labels", "service"])
    err = capsys.readouterr().err
    assert code == 2
    assert "expected key=value, got 'service'" in err
    assert "example: flare routes test --labels" in err


def test_routes_test_reports_config_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "flare.yaml"
    path.write_text((DATA / "catalog.yaml").read_text() + "routes:\n  rules:\n    - matchers: ['a=~\"(\"']\n")
    assert main(["routes", "test", "--config", str(path), "--labels", "a=b"]) == 2
    assert "routes.rules[0].matchers[0]: invalid regular expression" in capsys.readouterr().err


def test_the_flare_command_runs_routes_test(tmp_path: Path) -> None:
    path = tmp_path / "flare.yaml"
    path.write_text(alert_catalog_text())
    result = subprocess.run(
        [sys.executable, "-m", "handlers.cli", "routes", "test", "--labels", "team=noise", "env=production"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"FLARE_CONFIG": str(path), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "Result: C0NOISE01, C0NOISE02 (noisy)"


def test_check_config_reports_a_bad_regex_with_file_line_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flare.yaml"
    base = (DATA / "catalog.yaml").read_text()
    path.write_text(base + "routes:\n  rules:\n    - name: broken\n      matchers: ['severity=~\"crit(\"']\n")
    assert main(["check-config", str(path)]) == 1
    out = capsys.readouterr().out
    line = base.count("\n") + 4
    assert f"{path}:{line}: routes.rules[0].matchers[0]: invalid regular expression 'crit('" in out


ZONE_ROUTES = """
routes:
  rules:
    - name: by-zone
      matchers: ['service="checkout"']
      channels: [C0ZONES01]
      group_by: [zone]
  default:
    channels: [C0ALERTS1]
"""
ZONES_CATALOG = (DATA / "catalog.yaml").read_text() + ZONE_ROUTES
alert_labels = st.fixed_dictionaries(
    {
        "alertname": st.sampled_from(["HighLatency", "DiskFull"]),
        "service": st.sampled_from(["checkout", "search", "payments"]),
        "severity": st.sampled_from(["critical", "warning", "page"]),
        "zone": st.sampled_from(["a", "b", "c"]),
        "team": st.sampled_from(["noise", "core"]),
        "env": st.sampled_from(["prod", "staging"]),
    }
)


@given(st.lists(st.tuples(alert_labels, st.sampled_from(["", "{}:{alertname=x}"])), max_size=12))
def test_the_memoising_router_agrees_with_routing_each_alert_afresh(
    cases: list[tuple[dict[str, str], str]],
) -> None:
    for catalog_text in (alert_catalog_text(), ZONES_CATALOG):
        catalog = parse_catalog(catalog_text)
        router = Router(catalog, size=4)  # small, so the memo is also cleared along the way
        for labels, hint in cases:
            alert = Alert(
                source="alertmanager",
                dedup_key="k",
                status="firing",
                starts_at=datetime(2026, 11, 23, tzinfo=UTC),
                ends_at=None,
                title=labels["alertname"],
                labels=labels,
                service=labels["service"],
                severity=labels["severity"],
                group_hint=hint,
            )
            assert router.targets(alert) == targets_for(catalog, alert)


def test_group_by_keeps_alerts_of_different_label_values_apart() -> None:
    router = Router(parse_catalog(ZONES_CATALOG))

    def group(zone: str) -> str:
        labels = {"alertname": "HighLatency", "service": "checkout", "zone": zone}
        alert = Alert(
            source="alertmanager",
            dedup_key=zone,
            status="firing",
            starts_at=datetime(2026, 11, 23, tzinfo=UTC),
            ends_at=None,
            title="HighLatency",
            labels=labels,
            service="checkout",
        )
        (target,) = router.targets(alert)
        assert target.channel == "C0ZONES01"
        assert target.group_labels == (("zone", zone),)
        return target.group_key

    assert group("a") == group("a")
    assert group("a") != group("b")
