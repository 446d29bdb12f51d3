"""The documented deploy event schema (POST /webhooks/deploy) and its parser.

Every problem names the field it is about, so a pipeline author can fix the step at once.
See docs/deploys.md for the schema as users read it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.deploys.models import STATUSES
from bot.http import jsonbody

_REVISION = re.compile(r"^[a-z](?:[-a-z0-9]{0,98}[a-z0-9])?$")
_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_KEY_LIMIT = 180
# How far in the future a sender's clock may be.
_FUTURE_SLACK = timedelta(minutes=5)


class SchemaError(ValueError):
    """The body does not follow the schema; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class DeployEvent:
    """One delivery: a deploy reached `status` (started, succeeded or failed)."""

    service: str
    env: str
    status: str
    deploy_id: str | None = None
    revision: str | None = None
    image: str | None = None
    commit_sha: str | None = None
    commit_url: str | None = None
    author: str | None = None
    pipeline_url: str | None = None
    message: str | None = None
    timestamp: datetime | None = None
    started_at: datetime | None = None

    @property
    def key(self) -> str:
        """The natural key shared by every status event of one deploy (and by its retries)."""
        if self.deploy_id:
            return _key("id", self.deploy_id)
        if self.pipeline_url:
            return _key("pipeline", self.pipeline_url)
        assert self.revision is not None
        return revision_key(self.revision)


def revision_key(revision: str) -> str:
    """The key of a deploy known only by its Cloud Run revision (the watcher's key too)."""
    return _key("rev", revision)


def _key(prefix: str, value: str) -> str:
    if len(value) > _KEY_LIMIT:
        value = "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return f"{prefix}:{value}"


def _text(limit: int, *, pattern: re.Pattern[str] | None = None, hint: str = "") -> Callable[[Any], str]:
    def check(raw: Any) -> str:
        if not isinstance(raw, str):
            raise ValueError(f"must be a string, got {_type_name(raw)}")
        value = raw.strip()
        if not value:
            raise ValueError("must not be empty")
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        if len(value) > limit:
            raise ValueError(f"is {len(value)} characters; the limit is {limit}")
        if pattern is not None and not pattern.match(value):
            raise ValueError(hint)
        return value

    return check


def _url(value: Any) -> str:
    text = _text(500)(value)
    if not text.startswith(("https://", "http://")) or any(c in text for c in " <>|\n"):
        raise ValueError("must be an http(s) URL without spaces, < > or |")
    return text


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"must be an RFC 3339 time string, got {_type_name(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError("must be an RFC 3339 time like 2026-11-24T10:15:00Z") from None
    if parsed.tzinfo is None:
        raise ValueError("needs a time zone, like 2026-11-24T10:15:00Z")
    return parsed.astimezone(UTC)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "an array", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )


# field -> validator; the order is the documented order.
FIELDS: dict[str, Callable[[Any], Any]] = {
    "service": _text(63, pattern=_NAME, hint="must be a catalog service name like checkout"),
    "env": _text(63, pattern=_NAME, hint="must be a catalog environment name like production"),
    "status": _text(16),
    "deploy_id": _text(500),
    "revision": _text(
        100, pattern=_REVISION, hint="must be a Cloud Run revision name like checkout-00042-abc"
    ),
    "image": _text(500),
    "commit_sha": _text(64, pattern=_SHA, hint="must be a hex commit SHA (7-64 characters)"),
    "commit_url": _url,
    "author": _text(200),
    "pipeline_url": _url,
    "message": _text(4000),
    "timestamp": _time,
    "started_at": _time,
}
REQUIRED = ("service", "status")
DEFAULT_ENV = "production"


def load_body(body: bytes) -> Any:
    """Decode a JSON body with the shared bounded loader; SchemaError naming the field when it fails."""
    if not body.strip():
        raise SchemaError("", "the body is empty; send a JSON object (see docs/deploys.md)")
    try:
        return jsonbody.load_json(body)
    except jsonbody.BodyError as exc:
        if exc.field == "body":
            raise SchemaError("", f"the body is not usable JSON: {exc.problem}") from None
        raise SchemaError(exc.field, exc.problem) from None


def parse(payload: Any, now: datetime) -> DeployEvent:
    """Validate one deploy event; SchemaError names the first bad field."""
    if not isinstance(payload, Mapping):
        raise SchemaError("", f"the body must be a JSON object, got {_type_name(payload)}")
    unknown = sorted(str(k) for k in payload if k not in FIELDS)
    if unknown:
        raise SchemaError(unknown[0][:60], f"unknown field (known fields: {', '.join(FIELDS)})")
    values: dict[str, Any] = {}
    for name, check in FIELDS.items():
        raw = payload.get(name)
        if isinstance(raw, str) and not raw.strip() and name not in REQUIRED:
            raw = None  # CI templates render unset values as "": the same as leaving the field out
        if raw is None:
            if name in REQUIRED:
                raise SchemaError(name, "is required")
            continue
        try:
            values[name] = check(raw)
        except ValueError as exc:
            raise SchemaError(name, str(exc)) from None
    values["status"] = values["status"].lower()
    if values["status"] not in STATUSES:
        raise SchemaError("status", f"must be one of {', '.join(STATUSES)}, got {values['status'][:20]!r}")
    values.setdefault("env", DEFAULT_ENV)
    for name in ("timestamp", "started_at"):
        when = values.get(name)
        if when is not None and when > now + _FUTURE_SLACK:
            raise SchemaError(name, "is in the future (check the sender's clock)")
    if values.get("commit_sha"):
        values["commit_sha"] = values["commit_sha"].lower()
    if not (values.get("deploy_id") or values.get("pipeline_url") or values.get("revision")):
        raise SchemaError(
            "deploy_id",
            "give deploy_id (or pipeline_url, or revision) so the started and finished events of one "
            "deploy, and retried deliveries, are recognised as the same deploy",
        )
    started, stamp = values.get("started_at"), values.get("timestamp")
    if started is not None and stamp is not None and started > stamp:
        raise SchemaError("started_at", "is later than timestamp")
    return DeployEvent(**values)
