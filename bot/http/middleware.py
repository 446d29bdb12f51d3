"""aiohttp middlewares: request ids, body limits, JSON errors, latency metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.http.errors import is_storage_unavailable, json_error
from bot.observability.logging import request_id_var
from bot.observability.metrics import Metrics
from bot.observability.report import capture_exception

log = logging.getLogger("flare.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")


def request_id_middleware() -> Middleware:
    """Give each request an id (X-Request-Id, or Cloud Run's trace id) and echo it back."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        incoming = request.headers.get("X-Request-Id") or request.headers.get("X-Cloud-Trace-Context") or ""
        incoming = incoming.split("/", 1)[0]
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        try:
            response = await handler(request)
        finally:
            request_id_var.reset(token)
        response.headers["X-Request-Id"] = request_id
        return response

    return middleware


def error_middleware(max_body: int) -> Middleware:
    """Turn every error into a JSON body with a reason; 503 when storage is down; no tracebacks out."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        # Webhooks enforce their own, per-source limits (Alertmanager's groups need more than the default).
        too_big = request.content_length is not None and request.content_length > max_body
        if too_big and not request.path.startswith("/webhooks/"):
            return json_error(413, f"body is {request.content_length} bytes; the limit is {max_body}")
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            return json_error(413, f"body is larger than the limit of {max_body} bytes")
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return json_error(exc.status, _reason(request, exc))
        except Exception as exc:
            if is_storage_unavailable(exc):
                log.warning("storage unavailable", extra={"path": request.path, "error": type(exc).__name__})
                return json_error(503, "storage is unavailable; retry later")
            event_id = capture_exception(exc)
            log.exception("unhandled error", extra={"path": request.path})
            return json_error(500, "internal error; it has been logged", ref=event_id or request_id_var.get())

    return middleware


def _reason(request: web.Request, exc: web.HTTPException) -> str:
    if exc.status == 404:
        return f"no such endpoint: {request.method} {request.path}"
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        return f"{request.method} is not allowed on {request.path}; use {allowed}"
    text = exc.text or ""
    if not text or text == f"{exc.status}: {exc.reason}":
        return exc.reason
    return text


_QUIET_PREFIXES = ("/health/", "/metrics")
access_log = logging.getLogger("flare.access")


def metrics_middleware(metrics: Metrics) -> Middleware:
    """Observe request latency by route template and log one line per request (probes excepted)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            elapsed = time.perf_counter() - started
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            metrics.http_request_seconds.labels(route, request.method, str(status)).observe(elapsed)
            if not request.path.startswith(_QUIET_PREFIXES):
                access_log.info(
                    "request",
                    extra={
                        "method": request.method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 1),
                    },
                )

    return middleware
