"""The stories of issue 14, each as it was found from outside: malformed input never gets a 5xx."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest

from tests.alerts.conftest import am_alert, am_payload
from tests.boundaries.conftest import ALERT_SOURCES, DEPLOY_TOKEN, webhook_request
from tests.conftest import Flare
from tests.fakes.slack import FakeSlack

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

MALFORMED = [
    pytest.param(b'{"type":', JSON, "not valid JSON", id="truncated-json"),
    pytest.param(b"[1]", JSON, "JSON object", id="json-array"),
    pytest.param(b'{"event": {}}', JSON, "no type", id="json-without-type"),
    pytest.param(
        urlencode({"payload": "not json"}).encode(), FORM, "payload: not valid JSON", id="payload-not-json"
    ),
    pytest.param(
        urlencode({"payload": "42"}).encode(), FORM, "payload must be a JSON object", id="payload-42"
    ),
    pytest.param(urlencode({"payload": "{}"}).encode(), FORM, "payload has no type", id="payload-no-type"),
    pytest.param(b"\xff\xfe payload=1", FORM, "not UTF-8", id="invalid-utf8"),
    pytest.param(b'{"type": "x", "a": ' + b"[" * 5000 + b"]" * 5000 + b"}", JSON, "nested", id="deep-json"),
    pytest.param(b"just some words", FORM, "not form-encoded", id="not-form-encoded"),
    pytest.param(b'{"type": "event_callback"}', "text/plain", "Content-Type", id="wrong-content-type"),
]


@pytest.mark.parametrize(("body", "content_type", "reason"), MALFORMED)
async def test_unsigned_malformed_body_is_401_not_500(
    flare: Flare, fake_slack: FakeSlack, body: bytes, content_type: str, reason: str
) -> None:
    status, answer = await flare.post("/slack/events", data=body, headers={"Content-Type": content_type})
    assert status == 401
    assert answer["error"] == "unauthorized"
    assert "sign" in answer["reason"]


@pytest.mark.parametrize(("body", "content_type", "reason"), MALFORMED)
async def test_signed_malformed_body_is_400_naming_the_problem(
    flare: Flare, body: bytes, content_type: str, reason: str
) -> None:
    reply = await flare.slack.raw(body, content_type)
    assert reply.status == 400, reply.text
    assert reason in reply.json()["reason"]
    # ...and the server still answers a valid request.
    assert (await flare.slack.command("/incident", "help")).status == 200


@pytest.mark.parametrize("stamp", ["soon", "1e9", "", " 1", "-5", "17000000000000000"])
async def test_signed_request_with_a_non_integer_timestamp_is_401(flare: Flare, stamp: str) -> None:
    reply = await flare.slack.command("/incident", "help", timestamp=stamp or " ")
    assert reply.status == 401, reply.text
    assert "timestamp" in reply.json()["reason"].lower() or "signature" in reply.json()["reason"]


async def test_missing_signature_is_401(flare: Flare) -> None:
    body = urlencode({"command": "/incident", "text": "help"}).encode()
    headers = {"Content-Type": FORM, "X-Slack-Request-Timestamp": str(int(time.time()))}
    status, answer = await flare.post("/slack/events", data=body, headers=headers)
    assert (status, answer["error"]) == (401, "unauthorized")
    assert "X-Slack-Signature" in answer["reason"]


async def test_command_whose_text_mentions_payload_still_reaches_flare(flare: Flare) -> None:
    reply = await flare.slack.command("/incident", "frobnicate payload")
    assert reply.status == 200
    assert "Usage" in reply.json()["text"]


@pytest.mark.parametrize("source", ALERT_SOURCES)
async def test_a_5000_digit_number_in_an_alert_webhook_is_400_naming_the_field(
    full_flare: Flare, source: str
) -> None:
    body = json.dumps(am_payload(am_alert())).encode()[:-1] + b', "huge": ' + b"7" * 5000 + b"}"
    url, headers = webhook_request(source, body)
    status, answer = await full_flare.post(url, data=body, headers={**headers, "Content-Type": JSON})
    assert status == 400, answer
    assert "out of range" in answer["reason"]
    assert answer["field"] == "huge"


async def test_a_5000_digit_number_in_a_deploy_is_400(full_flare: Flare) -> None:
    body = (
        b'{"service": "checkout", "env": "production", "status": "succeeded", "revision": '
        + b"1" * 5000
        + b"}"
    )
    status, answer = await full_flare.post(
        "/webhooks/deploy",
        data=body,
        headers={"Authorization": f"Bearer {DEPLOY_TOKEN}", "Content-Type": JSON},
    )
    assert status == 400, answer
    assert answer["field"] == "revision"


async def test_duplicate_keys_in_a_webhook_body_are_400(full_flare: Flare) -> None:
    body = b'{"title": "a", "title": "b"}'
    url, headers = webhook_request("generic", body)
    status, answer = await full_flare.post(url, data=body, headers={**headers, "Content-Type": JSON})
    assert status == 400
    assert "duplicate key 'title'" in answer["reason"]
