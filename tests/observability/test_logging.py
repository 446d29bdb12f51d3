"""JSON log lines: one object per line, request ids, and secrets redacted by value and by shape."""

from __future__ import annotations

import json
import logging

import pytest

from bot.observability.logging import JsonFormatter, configure_logging, register_secrets, request_id_var


@pytest.fixture
def captured(capsys: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
    return capsys


def lines(captured: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in captured.readouterr().err.splitlines()]


@pytest.fixture(autouse=True)
def restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)


def test_one_json_object_per_line_with_the_request_id(captured: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", ["settings-secret-1"])
    token = request_id_var.set("req-42")
    try:
        logging.getLogger("flare.test").info("hello\nworld", extra={"route": "/x", "status": 200})
    finally:
        request_id_var.reset(token)
    [entry] = lines(captured)
    assert entry["message"] == "hello\nworld"
    assert entry["request_id"] == "req-42"
    assert (entry["route"], entry["status"], entry["severity"]) == ("/x", 200, "INFO")


def test_known_and_token_shaped_secrets_are_redacted(captured: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", ["settings-secret-1"])
    register_secrets(["webhook-token-abcdef"])
    log = logging.getLogger("flare.test")
    log.warning("settings-secret-1 and webhook-token-abcdef")
    log.warning("Authorization: Bearer abcdefghijkl and xoxb-1234-5678-abcdef")
    log.warning("postgresql://flare:pw-123456@db/flare")
    out = [str(e["message"]) for e in lines(captured)]
    assert out[0] == "[redacted] and [redacted]"
    assert "abcdefghijkl" not in out[1]
    assert "xoxb-1234" not in out[1]
    assert out[2] == "postgresql://flare:[redacted]@db/flare"


def test_exceptions_stay_on_one_line(captured: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", [])
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("flare.test").exception("failed")
    [entry] = lines(captured)
    assert "ValueError: boom" in str(entry["exception"])
    assert isinstance(JsonFormatter().secrets, list)
