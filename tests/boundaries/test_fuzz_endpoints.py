"""Property-based fuzzing of every HTTP endpoint: no input gets a 5xx; the server answers afterwards."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.boundaries.conftest import ALERT_SOURCES, webhook_request
from tests.conftest import API_TOKEN, TICK_TOKEN, Flare
from tests.support.slack_client import sign

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data", ""]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def bodies() -> st.SearchStrategy[bytes]:
    """Raw bytes, JSON documents, near-JSON and form bodies, including Slack-shaped ones."""
    as_json = JSON_VALUES.map(lambda v: json.dumps(v).encode())
    slack_json = st.dictionaries(
        st.sampled_from(["type", "event", "event_id", "challenge", "team_id"]), JSON_VALUES, max_size=4
    ).map(lambda v: json.dumps(v).encode())
    forms = st.dictionaries(
        st.sampled_from(["payload", "command", "text", "ssl_check", "user_id", "trigger_id"]),
        st.text(max_size=30) | JSON_VALUES.map(json.dumps),
        max_size=4,
    ).map(lambda v: "&".join(f"{k}={x}" for k, x in v.items()).encode())
    huge = st.integers(min_value=20, max_value=6000).map(lambda n: b'{"a": ' + b"9" * n + b"}")
    deep = st.integers(min_value=50, max_value=3000).map(lambda n: b"[" * n + b"]" * n)
    return st.one_of(
        st.binary(max_size=300), as_json, slack_json, forms, huge, deep, as_json.map(lambda b: b[:-1])
    )


async def still_answers(flare: Flare) -> None:
    """A valid request right after the fuzzed one is answered normally."""
    reply = await flare.slack.command("/incident", "help")
    assert reply.status == 200, reply.text


@FUZZ
@given(
    body=bodies(),
    content_type=CONTENT_TYPES,
    signed=st.booleans(),
    stamp=st.sampled_from(["ok", "soon", "1e9", ""]),
)
async def test_slack_events_never_answers_5xx(
    full_flare: Flare, body: bytes, content_type: str, signed: bool, stamp: str
) -> None:
    import time

    timestamp = str(int(time.time())) if stamp == "ok" else stamp
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp}
    if signed:
        headers["X-Slack-Signature"] = sign(full_flare.slack.secret, timestamp, body)
    status, _answer = await full_flare.post("/slack/events", data=body, headers=headers)
    assert status < 500, (status, _answer)
    if not signed or stamp != "ok":
        assert status == 401
    await still_answers(full_flare)


@FUZZ
@given(source=st.sampled_from([*ALERT_SOURCES, "deploy"]), body=bodies(), query=st.text(max_size=20))
async def test_webhooks_never_answer_5xx(full_flare: Flare, source: str, body: bytes, query: str) -> None:
    url, headers = webhook_request(source, body)
    status, answer = await full_flare.post(
        url, params={"x": query}, data=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert status < 500, (status, answer)
    if status == 400:
        assert answer["reason"]
    await still_answers(full_flare)


@FUZZ
@given(
    path=st.sampled_from(["/api/incidents", "/api/incidents/{}", "/tasks/tick"]),
    segment=st.text(max_size=30).filter(lambda s: "/" not in s and "?" not in s and "#" not in s),
    params=st.dictionaries(
        st.sampled_from(["status", "limit", "before", "x"]), st.text(max_size=30), max_size=3
    ),
    auth=st.sampled_from(["good", "bad", "none"]),
)
async def test_api_and_tick_never_answer_5xx(
    full_flare: Flare, path: str, segment: str, params: dict[str, Any], auth: str
) -> None:
    token = TICK_TOKEN if path.startswith("/tasks") else API_TOKEN
    headers = {
        "good": {"Authorization": f"Bearer {token}"},
        "bad": {"Authorization": "Bearer not-the-token"},
        "none": {},
    }
    url = full_flare.url + path.format(segment.replace("%", "%25") or "x")
    method = full_flare.http.post if path.startswith("/tasks") else full_flare.http.get
    async with method(url, params=params, headers=headers[auth]) as response:
        assert response.status < 500, (response.status, await response.text())
    await still_answers(full_flare)
