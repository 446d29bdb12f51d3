"""Reading untrusted JSON with precise errors ("alerts[3].labels: expected an object")."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from bot.http import jsonbody

MAX_KEY = 255
MAX_TITLE = 500
MAX_TEXT = 4000
MAX_LABEL = 1000
MAX_NAME = 200
ZERO_TIME_YEAR = 1  # Alertmanager's "0001-01-01T00:00:00Z" means "not ended"


class PayloadError(ValueError):
    """The body is malformed; `field` names where, `problem` says what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem


def load_json(body: bytes) -> Any:
    """Decode a JSON body with the shared bounded loader, or raise PayloadError."""
    try:
        return jsonbody.load_json(body, storable_text=False)  # clean() repairs every string
    except jsonbody.BodyError as exc:
        raise PayloadError(exc.field, exc.problem) from None


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """Text safe for any database: no NUL, no lone surrogates, at most `limit` characters."""
    if text.isascii() and len(text) <= limit and "\x00" not in text:
        return text  # the common case, decided in C
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stable_key(text: str) -> str:
    """`text` itself when short enough to be a dedup key, else a digest of it."""
    text = clean(text, 10_000_000)
    if len(text) <= MAX_KEY:
        return text
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def path_of(parent: str, key: str | int) -> str:
    """`alerts` + 3 -> `alerts[3]`; `alerts[3]` + `labels` -> `alerts[3].labels`."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def obj(value: Any, path: str) -> dict[str, Any]:
    """`value` as a JSON object."""
    if not isinstance(value, dict):
        raise PayloadError(path or "body", f"expected an object, got {_kind(value)}")
    return value


def field(data: dict[str, Any], key: str, path: str) -> Any:
    """A required member of `data`."""
    if key not in data or data[key] is None:
        raise PayloadError(path_of(path, key), "required")
    return data[key]


def array(data: dict[str, Any], key: str, path: str, *, required: bool = True) -> list[Any]:
    """A (by default required) array member."""
    value = data.get(key)
    if value is None:
        if required:
            raise PayloadError(path_of(path, key), "required")
        return []
    if not isinstance(value, list):
        raise PayloadError(path_of(path, key), f"expected an array, got {_kind(value)}")
    return value


def text(data: dict[str, Any], key: str, path: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    """A string member ('' when optional and absent)."""
    value = data.get(key)
    if value is None:
        if required:
            raise PayloadError(path_of(path, key), "required")
        return ""
    if not isinstance(value, str):
        raise PayloadError(path_of(path, key), f"expected a string, got {_kind(value)}")
    if required and not value.strip():
        raise PayloadError(path_of(path, key), "must not be empty")
    return clean(value, limit)


def scalar_text(data: dict[str, Any], key: str, path: str, *, required: bool = False) -> str:
    """A string or number member, as text (ids are numbers in some sources, strings in others)."""
    value = data.get(key)
    if value is None:
        if required:
            raise PayloadError(path_of(path, key), "required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PayloadError(path_of(path, key), f"expected a string or number, got {_kind(value)}")
    result = clean(str(value), MAX_KEY * 4)
    if required and not result.strip():
        raise PayloadError(path_of(path, key), "must not be empty")
    return result


def string_map(data: dict[str, Any], key: str, path: str, *, lenient: bool = False) -> dict[str, str]:
    """An object of string values (labels, annotations). `lenient` turns numbers and booleans into text."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(path_of(path, key), f"expected an object, got {_kind(value)}")
    out: dict[str, str] = {}
    for name, item in value.items():
        if isinstance(item, str):
            out[clean(name, MAX_NAME)] = clean(item, MAX_LABEL)
        elif lenient and isinstance(item, int | float | bool):
            out[clean(name, MAX_NAME)] = str(item).lower() if isinstance(item, bool) else str(item)
        elif lenient and item is None:
            continue
        else:
            raise PayloadError(path_of(path_of(path, key), name), f"expected a string, got {_kind(item)}")
    return out


def timestamp(value: Any, path: str, *, required: bool = True) -> datetime | None:
    """An RFC 3339 string or epoch seconds (milliseconds when implausibly large), as aware UTC."""
    if value is None or value == "":
        if required:
            raise PayloadError(path, "required")
        return None
    if isinstance(value, bool):
        raise PayloadError(path, "expected a timestamp, got a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
        if seconds > 1e11:
            seconds /= 1000.0
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise PayloadError(path, f"timestamp {value!r} is out of range") from None
    if not isinstance(value, str):
        raise PayloadError(path, f"expected a timestamp, got {_kind(value)}")
    if value.strip().lstrip("-").replace(".", "", 1).isdigit():
        return timestamp(float(value), path, required=required)
    parsed = _rfc3339(value)
    if isinstance(parsed, str):
        raise PayloadError(path, parsed)
    return parsed


@lru_cache(maxsize=4096)
def _rfc3339(value: str) -> datetime | str:
    """`value` as aware UTC, or the problem with it (alerts in one payload mostly share their times)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return f"expected an RFC 3339 time like 2024-05-01T12:00:00Z, got {value[:40]!r}"
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return f"timestamp {value[:40]!r} is out of range"


def is_zero_time(value: datetime | None) -> bool:
    """True for a missing end or Go's zero time (Alertmanager's way of saying 'still firing')."""
    return value is None or value.year <= ZERO_TIME_YEAR


def url(value: str) -> str | None:
    """An http(s) URL, or None (anything else is not worth linking)."""
    value = value.strip()
    if value.startswith(("https://", "http://")) and len(value) <= 2000 and " " not in value:
        return value
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
