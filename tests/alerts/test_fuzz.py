"""Property tests: no payload, however mangled, crashes a parser or makes a webhook answer 5xx."""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.alerts.alert import Parsed
from bot.alerts.parsing import PayloadError
from bot.alerts.sources import alertmanager, gcp_monitoring, generic, grafana, pagerduty, sentry
from tests.alerts.conftest import (
    AM_TOKEN,
    GCP_PASSWORD,
    GCP_USER,
    GENERIC_TOKEN,
    GRAFANA_SECRET,
    GRAFANA_TOKEN,
    am_alert,
    am_payload,
    basic,
    bearer,
    hex_hmac,
    pd_headers,
    sentry_headers,
)
from tests.alerts.test_gcp_monitoring import incident
from tests.alerts.test_pagerduty import pd_event
from tests.alerts.test_sentry import event_alert, metric_alert
from tests.conftest import Flare

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
NASTY = [
    "",
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff tail",
    "<!channel>",
    "<@U0ALICE01>",
    "&amp;",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59+14:00",
    "-0001-01-01T00:00:00Z",
    "2026-13-45T99:00:00Z",
    "1e308",
    "NaN",
    "x" * 5000,
    "🔥" * 300,
    "firing",
    "resolved",
    "open",
    "closed",
    "critical",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(NASTY),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=10), st.sampled_from(["labels", "status", "id"])), inner, max_size=4
        ),
    ),
    max_leaves=12,
)


def valid_examples() -> dict[str, Any]:
    """One realistic payload per source, to mutate."""
    return {
        "alertmanager": am_payload(am_alert(service="checkout", severity="critical"), am_alert("Other")),
        "grafana": {**am_payload(am_alert("DiskFull")), "title": "t", "message": "m", "orgId": 1},
        "gcp_monitoring": incident(),
        "sentry_event": event_alert(),
        "sentry_metric": metric_alert("critical"),
        "pagerduty": pd_event("incident.triggered"),
        "generic": {
            "alerts": [
                {"dedup_key": "k", "title": "t", "labels": {"a": "b"}, "starts_at": "2026-01-05T10:00:00Z"}
            ]
        },
    }


PARSERS = {
    "alertmanager": lambda p: alertmanager.parse(p, NOW),
    "grafana": lambda p: grafana.parse(p, NOW),
    "gcp_monitoring": lambda p: gcp_monitoring.parse(p, NOW),
    "sentry_event": lambda p: sentry.parse(p, NOW, resource="event_alert"),
    "sentry_metric": lambda p: sentry.parse(p, NOW, resource="metric_alert"),
    "sentry_issue": lambda p: sentry.parse(p, NOW, resource="issue"),
    "pagerduty": lambda p: pagerduty.parse(p, NOW),
    "generic": lambda p: generic.parse(p, NOW),
}


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON document."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(paths(item, (*prefix, i)))
    return found


@st.composite
def mutated(draw: st.DrawFn, source: str) -> Any:
    """A valid payload of `source` with a few parts replaced by arbitrary JSON, or removed."""
    doc = copy.deepcopy(valid_examples()[source if source != "sentry_issue" else "sentry_event"])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        where = draw(st.sampled_from(paths(doc)))
        if not where:
            doc = draw(JSON)
            continue
        parent = doc
        for step in where[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()) and draw(st.booleans()):
            parent.pop(where[-1], None)
        else:
            parent[where[-1]] = draw(JSON)
    return doc


def check_parsed(parsed: Parsed) -> None:
    """What every parsed alert guarantees the store and the renderer."""
    for alert in parsed.alerts:
        assert 0 < len(alert.dedup_key) <= 255
        assert alert.status in ("firing", "resolved")
        assert alert.starts_at.tzinfo is not None
        assert len(alert.title) <= 500
        for text in (alert.title, alert.summary, alert.dedup_key, *alert.labels, *alert.labels.values()):
            assert "\x00" not in text
            text.encode("utf-8")  # no lone surrogates


@settings(max_examples=150, deadline=None)
@given(source=st.sampled_from(sorted(PARSERS)), data=st.data())
def test_parsers_either_parse_or_name_the_bad_field(source: str, data: st.DataObject) -> None:
    payload = data.draw(st.one_of(mutated(source), JSON))
    try:
        parsed = PARSERS[source](payload)
    except PayloadError as exc:
        error = exc
    else:
        check_parsed(parsed)
        return
    assert error.field
    assert str(error).startswith(error.field)


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_json_reader(raw: bytes) -> None:
    from bot.alerts.parsing import load_json

    try:
        load_json(raw)
    except PayloadError as exc:
        error: PayloadError | None = exc
    else:
        error = None
    assert error is None or error.field == "body"


def request_for(source: str, payload: Any) -> tuple[str, bytes, dict[str, str]]:
    """URL, body and valid credentials for one source."""
    body = json.dumps(payload).encode()
    if source == "alertmanager":
        return "/webhooks/alertmanager", body, bearer(AM_TOKEN)
    if source == "grafana":
        ts = str(int(time.time()))
        signature = hex_hmac(GRAFANA_SECRET, ts.encode() + b":" + body)
        headers = {**bearer(GRAFANA_TOKEN), "X-Grafana-Alerting-Timestamp": ts}
        return "/webhooks/grafana", body, {**headers, "X-Grafana-Alerting-Signature": signature}
    if source == "gcp_monitoring":
        return "/webhooks/gcp-monitoring", body, basic(GCP_USER, GCP_PASSWORD)
    if source.startswith("sentry"):
        resource = {"sentry_event": "event_alert", "sentry_metric": "metric_alert"}.get(source, "issue")
        return "/webhooks/sentry", body, sentry_headers(body, resource)
    if source == "pagerduty":
        return "/webhooks/pagerduty", body, pd_headers(body, webhook_id=hex_hmac("id", body))
    return "/webhooks/generic", body, bearer(GENERIC_TOKEN)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(source=st.sampled_from(sorted(PARSERS)), data=st.data())
async def test_no_mangled_payload_gets_a_5xx_from_a_running_flare(
    alerts_flare: Flare, source: str, data: st.DataObject
) -> None:
    payload = data.draw(mutated(source))
    url, body, headers = request_for(source, payload)
    status, answer = await alerts_flare.post(
        url, data=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert status in (200, 400), (status, answer)
    if status == 400:
        assert answer["field"]


async def test_nul_bytes_lone_surrogates_and_extreme_times_are_stored_cleanly(alerts_flare: Flare) -> None:
    from tests.alerts.conftest import stored_alerts

    alert = am_alert("Bad\x00name", summary="half a pair: \ud800", service="check\x00out", weird="\udfff")
    alert["labels"]["k\x00ey"] = "v"
    alert["startsAt"] = "9999-12-31T23:59:59Z"
    alert["endsAt"] = "0001-01-01T00:00:00Z"
    url, body, headers = request_for("alertmanager", am_payload(alert))
    status, answer = await alerts_flare.post(
        url, data=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert (status, answer["stored"]) == (200, 1)
    (row,) = await stored_alerts(alerts_flare)
    assert (row.title, row.service, row.summary) == ("Badname", "checkout", "half a pair: ?")
    assert row.labels["weird"] == "?"
    assert "key" in row.labels
    assert row.starts_at.year == 9999
