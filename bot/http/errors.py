"""JSON error responses and recognising a database that is down."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from aiohttp import web
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

_ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
}


def json_error(status: int, reason: str, **extra: Any) -> web.Response:
    """An error response: {"error": <kind>, "reason": <sentence>}."""
    body: dict[str, Any] = {"error": _ERROR_NAMES.get(status, "error"), "reason": reason}
    body.update(extra)
    return web.json_response(body, status=status)


def is_storage_unavailable(exc: BaseException) -> bool:
    """True for errors that mean the database cannot be reached right now (worth a 503)."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, ConnectionError | socket.gaierror | asyncio.TimeoutError | TimeoutError):
        return True
    module = type(exc).__module__
    if module.startswith("asyncpg") and type(exc).__name__ in {
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "TooManyConnectionsError",
        "InterfaceError",
        "ConnectionFailureError",
    }:
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_storage_unavailable(cause)
