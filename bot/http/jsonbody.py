"""The one loader for inbound JSON (webhooks, deploys, Slack payloads, API): bounded, strict, with reasons.

Every failure is a `BodyError` naming the field (a JSON path like `alerts[0].value`, or "body") and the
problem, which callers answer with a 400. The common small, well-formed body costs one `json.loads`
plus a few byte scans; the slower walks run only when a scan says they might find something.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

MAX_DEPTH = 64
MAX_INT = 2**63 - 1  # what a BIGINT column holds
MAX_NUMBER_CHARS = 40
_LONE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_NUL = re.compile(rb"\\u0000")
_LONG_NUMBER = re.compile(rb"[0-9.eE+-]{19,}|[eE][+-]?[0-9]{3}")


class BodyError(ValueError):
    """A body that is not acceptable JSON; `field` says where ("body" for the whole), `problem` what."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class _Bad:
    """Stands in for a number that is out of range until its path is found."""

    __slots__ = ("problem",)

    def __init__(self, problem: str) -> None:
        self.problem = problem


def _int(text: str) -> int | _Bad:
    if len(text) <= 18:
        return int(text)
    if len(text) > MAX_NUMBER_CHARS or abs(int(text)) > MAX_INT:
        return _Bad(f"number {_shorten(text)} is out of range (integers must be within ±{MAX_INT})")
    return int(text)


def _float(text: str) -> float | _Bad:
    if len(text) > MAX_NUMBER_CHARS:
        return _Bad(f"number {_shorten(text)} has more than {MAX_NUMBER_CHARS} characters")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        return _Bad(f"number {_shorten(text)} is out of range")
    return value


def _constant(name: str) -> Any:
    raise BodyError("body", f"{name} is not valid JSON; send finite numbers")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise BodyError("body", f"duplicate key {_shorten(key)!r} in an object; send each key once")
            seen.add(key)
    return result


def _shorten(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def load_json(
    body: bytes, *, max_bytes: int | None = None, what: str = "body", storable_text: bool = True
) -> Any:
    """Decode `body` as JSON within the limits, or raise BodyError with the reason.

    With `storable_text`, strings holding NUL or unpaired surrogates (which PostgreSQL refuses) are
    refused too; callers that clean every string themselves (alert parsing) pass False.
    """
    if max_bytes is not None and len(body) > max_bytes:
        raise BodyError(what, f"{len(body)} bytes; the limit is {max_bytes}")
    if not body.strip():
        raise BodyError(what, "empty; expected a JSON object")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BodyError(what, f"not UTF-8 text (bad byte at offset {exc.start})") from None
    try:
        value = json.loads(
            text, parse_int=_int, parse_float=_float, parse_constant=_constant, object_pairs_hook=_pairs
        )
    except json.JSONDecodeError as exc:
        raise BodyError(what, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except BodyError as exc:
        raise BodyError(what, exc.problem) from None
    except RecursionError:
        raise BodyError(what, f"nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # int() refusing thousands of digits, and the like
        raise BodyError(what, f"holds a value Flare cannot read ({str(exc)[:80]})") from None
    if (
        body.count(b"[") + body.count(b"{") > MAX_DEPTH
        or (storable_text and b"\\u" in body)
        or _LONG_NUMBER.search(body) is not None
    ):
        _check(value, body, what)
    return value


def _check(value: Any, body: bytes, what: str) -> None:
    strings = bool(_LONE_SURROGATE.search(body) or _NUL.search(body))
    for path, depth, item in _walk(value, "", 0):
        if depth > MAX_DEPTH:
            raise BodyError(_shorten(path, 80) or what, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, _Bad):
            raise BodyError(path or what, item.problem)
        if strings and isinstance(item, str):
            if "\x00" in item:
                raise BodyError(path or what, "contains a NUL character (\\u0000)")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise BodyError(path or what, "contains an unpaired UTF-16 surrogate escape") from None


def _walk(value: Any, path: str, depth: int) -> Iterator[tuple[str, int, Any]]:
    stack: list[tuple[str, int, Any]] = [(path, depth, value)]
    while stack:
        path, depth, item = stack.pop()
        yield path, depth, item
        if depth > MAX_DEPTH:
            return
        if isinstance(item, dict):
            for key, child in item.items():
                yield path, depth, key
                stack.append((f"{path}.{key}" if path else str(key), depth + 1, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", depth + 1, child) for i, child in enumerate(item))
