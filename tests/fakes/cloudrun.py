"""A loopback fake of the Cloud Run Admin API v2 REST surface, for the real google-cloud-run client.

Point `RunV2Gateway(api_endpoint=fake.url)` (or CLOUD_RUN_API_ENDPOINT) at it. It serves:
  GET   /v2/projects/P/locations/L/services/S                 (get_service)
  GET   /v2/projects/P/locations/L/services/S/revisions       (list_revisions, paginated)
  PATCH /v2/projects/P/locations/L/services/S?updateMask=...   (update_service -> long-running operation)
  GET   /v2/projects/P/locations/L/operations/O               (operation polling)
JSON is what the REST transport expects: camelCase fields, integer enums, RFC 3339 times. It can
inject HTTP errors (404, 403, 503, ...), slow answers, failed operations and traffic that does
not follow the configuration.

`FakeEndpoints` is a second small server standing in for the services' own HTTP endpoints
(health URLs with the three-tier JSON, dependency checks).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

REVISION = 2  # TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
LATEST = 1
SUCCEEDED = 4  # Condition.State.CONDITION_SUCCEEDED
FAILED = 3

_GRPC_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass
class FakeRevision:
    """A revision: its short name, image, creation time and readiness."""

    name: str
    image: str
    created: datetime
    ready: bool = True
    message: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeService:
    """A Cloud Run service with its revisions (oldest first) and traffic."""

    project: str
    region: str
    name: str
    revisions: list[FakeRevision] = field(default_factory=list)
    traffic: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] | None = None
    generation: int = 1
    # When set, traffic statuses keep their old value after a change (the rollout did not take).
    freeze_statuses: bool = False

    @property
    def full_name(self) -> str:
        """projects/P/locations/L/services/S."""
        return f"projects/{self.project}/locations/{self.region}/services/{self.name}"

    @property
    def uri(self) -> str:
        """The service URL."""
        return f"https://{self.name}-abc123-uc.a.run.app"

    def revision(self, name: str) -> FakeRevision | None:
        """The revision called `name` (short name)."""
        return next((r for r in self.revisions if r.name == name), None)

    def serving(self) -> dict[str, int]:
        """Revision -> percent, from the traffic statuses."""
        out: dict[str, int] = {}
        for target in self.traffic_statuses():
            if target.get("percent"):
                out[target["revision"]] = out.get(target["revision"], 0) + int(target["percent"])
        return out

    def latest_ready(self) -> FakeRevision | None:
        """The newest Ready revision."""
        return next((r for r in reversed(self.revisions) if r.ready), None)

    def deploy(
        self, *, image: str | None = None, traffic: bool = True, ready: bool = True, **annotations: str
    ) -> FakeRevision:
        """A new revision created now, as `gcloud run deploy` makes it (serving 100% unless traffic=False)."""
        n = len(self.revisions) + 1
        revision = FakeRevision(
            name=f"{self.name}-{n:05d}-{_suffix(n)}",
            image=image or f"us-docker.pkg.dev/acme/app/{self.name}:v{n}",
            created=datetime.now(UTC),
            ready=ready,
            annotations=dict(annotations),
        )
        self.revisions.append(revision)
        if traffic:
            self.set_traffic({revision.name: 100})
        return revision

    def set_traffic(self, split: dict[str, int]) -> None:
        """Route traffic as given (revision -> percent), as someone running `gcloud` outside Flare would."""
        self.traffic = [{"type": REVISION, "revision": name, "percent": p} for name, p in split.items()]
        self.generation += 1

    def follow_latest(self) -> None:
        """Send 100% to LATEST, as `gcloud run services update-traffic --to-latest` does."""
        self.traffic = [{"type": LATEST, "percent": 100}]
        self.generation += 1

    def traffic_statuses(self) -> list[dict[str, Any]]:
        """Traffic as routed (configuration, with LATEST resolved to a revision)."""
        source = self.statuses if self.statuses is not None else self.traffic
        out = []
        for target in source:
            resolved = dict(target)
            if target.get("type") == LATEST:
                latest = self.latest_ready()
                resolved["revision"] = latest.name if latest else ""
            out.append(resolved)
        return out


@dataclass
class Fault:
    """A scripted HTTP failure of the next `times` calls to an endpoint."""

    status: int
    message: str
    times: int = 1


@dataclass
class Call:
    """One request the fake received."""

    op: str
    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: float


@dataclass
class _Operation:
    name: str
    service: str
    traffic: list[dict[str, Any]]
    polls_left: int
    error: tuple[int, str] | None = None
    done: bool = False
    ready_at: float = 0.0


class FakeCloudRun:
    """The fake Cloud Run Admin API. `url` is what CLOUD_RUN_API_ENDPOINT should be set to."""

    def __init__(self, *, page_size: int = 100) -> None:
        self.services: dict[str, FakeService] = {}
        self.calls: list[Call] = []
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.delays: dict[str, float] = {}
        self.operation_failures: deque[str] = deque()
        # How many GETs of an operation answer "not done" before it completes (0: done at PATCH).
        self.operation_polls = 1
        # Alternatively, seconds an operation takes (wall clock) before it completes.
        self.operation_seconds = 0.0
        # The next PATCHes apply the traffic at once and then answer with this HTTP error (a 5xx that
        # nevertheless changed the service, as a proxy or a Cloud Run blip can do).
        self.apply_then_fail: deque[int] = deque()
        # Seconds the next PATCH hangs after applying the traffic (a client timeout after the change).
        self.apply_then_hang = 0.0
        self.page_size = page_size
        self.operations: dict[str, _Operation] = {}
        self._runner: web.AppRunner | None = None
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self.port = 0

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> FakeCloudRun:
        """Listen on a random loopback port."""
        app = web.Application()
        base = "/v2/projects/{project}/locations/{region}"
        app.router.add_get(base + "/services/{service}", self._get_service)
        app.router.add_patch(base + "/services/{service}", self._patch_service)
        app.router.add_get(base + "/services/{service}/revisions", self._list_revisions)
        app.router.add_get(base + "/operations/{operation}", self._get_operation)
        # A short shutdown: a test may leave a deliberately hanging call behind.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """The api_endpoint for the client."""
        return f"http://127.0.0.1:{self.port}"

    # ----------------------------------------------------------------- scripting
    def add_service(
        self,
        project: str,
        region: str,
        name: str,
        *,
        revisions: int = 3,
        start: datetime | None = None,
        image: str = "us-docker.pkg.dev/acme/app/{service}:v{n}",
        spacing: timedelta = timedelta(hours=6),
    ) -> FakeService:
        """A service with `revisions` Ready revisions (oldest first), the newest serving 100%."""
        service = FakeService(project, region, name)
        first = start or datetime.now(UTC) - spacing * (revisions + 1)
        for n in range(1, revisions + 1):
            service.revisions.append(
                FakeRevision(
                    name=f"{name}-{n:05d}-{_suffix(n)}",
                    image=image.format(service=name, n=n),
                    created=first + spacing * n,
                )
            )
        if service.revisions:
            service.traffic = [{"type": REVISION, "revision": service.revisions[-1].name, "percent": 100}]
        self.services[service.full_name] = service
        return service

    def service(self, project: str, region: str, name: str) -> FakeService:
        """The service (KeyError if missing)."""
        return self.services[f"projects/{project}/locations/{region}/services/{name}"]

    def fail(self, op: str, status: int, message: str = "", *, times: int = 1) -> None:
        """Make the next `times` calls of `op` fail with HTTP `status`.

        op is get_service, list_revisions, update_service, get_operation or "*".
        """
        self.faults[op].append(Fault(status, message or _default_message(status), times))

    def fail_next_operation(self, message: str = "Revision failed to become ready") -> None:
        """The next traffic change is accepted but its operation finishes with an error."""
        self.operation_failures.append(message)

    def requests(self, op: str) -> list[Call]:
        """Calls of `op`, in order."""
        return [c for c in self.calls if c.op == op]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `predicate()` holds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"condition not met within {timeout}s; calls: {[c.op for c in self.calls]}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=0.05)

    # ----------------------------------------------------------------- HTTP
    async def _enter(self, op: str, request: web.Request) -> web.Response | None:
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            body = _loads(raw)
        self.calls.append(Call(op, request.method, request.path, dict(request.query), body, time.monotonic()))
        self._changed.set()
        delay = self.delays.get(op, 0.0) or self.delays.get("*", 0.0)
        if delay:
            await asyncio.sleep(delay)
        for key in (op, "*"):
            queue = self.faults.get(key)
            if queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.popleft()
                return _error(fault.status, fault.message)
        return None

    def _lookup(self, request: web.Request) -> FakeService | None:
        m = request.match_info
        return self.services.get(f"projects/{m['project']}/locations/{m['region']}/services/{m['service']}")

    async def _get_service(self, request: web.Request) -> web.Response:
        failed = await self._enter("get_service", request)
        if failed is not None:
            return failed
        service = self._lookup(request)
        if service is None:
            return _error(404, f"Resource '{request.match_info['service']}' of kind 'SERVICE' was not found.")
        return web.json_response(_service_json(service))

    async def _list_revisions(self, request: web.Request) -> web.Response:
        failed = await self._enter("list_revisions", request)
        if failed is not None:
            return failed
        service = self._lookup(request)
        if service is None:
            return _error(404, f"Resource '{request.match_info['service']}' of kind 'SERVICE' was not found.")
        size = min(int(request.query.get("pageSize") or self.page_size), self.page_size)
        start = int(request.query.get("pageToken") or 0)
        newest_first = list(reversed(service.revisions))
        page = newest_first[start : start + size]
        body: dict[str, Any] = {"revisions": [_revision_json(service, r) for r in page]}
        if start + size < len(newest_first):
            body["nextPageToken"] = str(start + size)
        return web.json_response(body)

    async def _patch_service(self, request: web.Request) -> web.Response:
        failed = await self._enter("update_service", request)
        if failed is not None:
            return failed
        service = self._lookup(request)
        if service is None:
            return _error(404, f"Resource '{request.match_info['service']}' of kind 'SERVICE' was not found.")
        mask = request.query.get("updateMask", "")
        if mask != "traffic":
            return _error(400, f"updateMask must be 'traffic' for this fake, got {mask!r}")
        body = self.calls[-1].body or {}
        traffic = []
        for target in body.get("traffic", []):
            kind = target.get("type", 0)
            if isinstance(kind, str):
                return _error(400, "enums must be integers (rest_numeric_enums)")
            entry = {"type": int(kind), "percent": int(target.get("percent", 0))}
            if target.get("revision"):
                entry["revision"] = target["revision"]
            if target.get("tag"):
                entry["tag"] = target["tag"]
            traffic.append(entry)
        total = sum(t["percent"] for t in traffic)
        if total != 100:
            return _error(400, f"Traffic percentages must add up to 100, got {total}.")
        for target in traffic:
            if target["type"] == REVISION and service.revision(target.get("revision", "")) is None:
                return _error(400, f"Revision named '{target.get('revision')}' with traffic not found.")
        op_name = f"projects/{service.project}/locations/{service.region}/operations/{uuid.uuid4()}"
        operation = _Operation(op_name, service.full_name, traffic, self.operation_polls)
        operation.ready_at = time.monotonic() + self.operation_seconds
        if self.operation_failures:
            operation.error = (9, self.operation_failures.popleft())
        else:
            for target in traffic:
                revision = service.revision(target.get("revision", ""))
                if target["type"] == REVISION and revision is not None and not revision.ready:
                    operation.error = (
                        9,
                        f"Revision '{revision.name}' is not ready and cannot serve traffic.",
                    )
        self.operations[op_name] = operation
        if self.apply_then_fail or self.apply_then_hang:
            self._complete(operation)
            if self.apply_then_fail:
                status = self.apply_then_fail.popleft()
                return _error(status, _default_message(status))
            hang, self.apply_then_hang = self.apply_then_hang, 0.0
            await asyncio.sleep(hang)
        if operation.polls_left <= 0 and self.operation_seconds <= 0:
            self._complete(operation)
        return web.json_response(self._operation_json(operation))

    async def _get_operation(self, request: web.Request) -> web.Response:
        failed = await self._enter("get_operation", request)
        if failed is not None:
            return failed
        m = request.match_info
        name = f"projects/{m['project']}/locations/{m['region']}/operations/{m['operation']}"
        operation = self.operations.get(name)
        if operation is None:
            return _error(404, f"Operation {name} not found.")
        if not operation.done:
            operation.polls_left -= 1
            if operation.polls_left < 0 and time.monotonic() >= operation.ready_at:
                self._complete(operation)
        return web.json_response(self._operation_json(operation))

    def _complete(self, operation: _Operation) -> None:
        operation.done = True
        service = self.services[operation.service]
        if operation.error is None:
            if service.freeze_statuses and service.statuses is None:
                service.statuses = [dict(t) for t in service.traffic]
            service.traffic = operation.traffic
            service.generation += 1
        self._changed.set()

    def _operation_json(self, operation: _Operation) -> dict[str, Any]:
        body: dict[str, Any] = {"name": operation.name, "done": operation.done}
        if operation.done:
            if operation.error is not None:
                code, message = operation.error
                body["error"] = {"code": code, "message": message}
            else:
                service = self.services[operation.service]
                body["response"] = {
                    "@type": "type.googleapis.com/google.cloud.run.v2.Service",
                    **_service_json(service),
                }
        return body


class FakeEndpoints:
    """Loopback HTTP endpoints standing in for a service's health URL and its dependencies."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, Any, float]] = {}
        self.hits: dict[str, int] = defaultdict(int)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> FakeEndpoints:
        """Listen on a random loopback port."""
        app = web.Application()
        app.router.add_get("/{path:.*}", self._serve)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def url(self, path: str) -> str:
        """The URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def set(self, path: str, status: int = 200, body: Any = None, *, delay: float = 0.0) -> None:
        """Answer GET `path` with `status` and `body` (JSON unless a str) after `delay` seconds."""
        self.routes[path.lstrip("/")] = (status, body, delay)

    def health(self, path: str, status: str, services: dict[str, str] | None = None, **kw: Any) -> None:
        """Answer `path` with the three-tier health JSON."""
        http_status = 503 if status == "unhealthy" else 200
        body = {
            "status": status,
            "check": "deep",
            "services": {name: {"status": s, "latency_ms": 12.5} for name, s in (services or {}).items()},
        }
        self.set(path, http_status, body, **kw)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self.hits[path] += 1
        status, body, delay = self.routes.get(path, (404, {"error": "no such path"}, 0.0))
        if delay:
            await asyncio.sleep(delay)
        if isinstance(body, str):
            return web.Response(status=status, text=body)
        return web.json_response(body, status=status)


def _suffix(n: int) -> str:
    letters = "abcdefghjkmnpqrstuvwxyz"
    return "".join(letters[(n * k + 7) % len(letters)] for k in (3, 5, 11))


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _service_json(service: FakeService) -> dict[str, Any]:
    prefix = service.full_name
    latest_ready = service.latest_ready()
    latest_created = service.revisions[-1] if service.revisions else None
    body: dict[str, Any] = {
        "name": prefix,
        "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, prefix)),
        "generation": str(service.generation),
        "observedGeneration": str(service.generation),
        "uri": service.uri,
        "traffic": [dict(t) for t in service.traffic],
        "trafficStatuses": [dict(t) for t in service.traffic_statuses()],
        "terminalCondition": {"type": "Ready", "state": SUCCEEDED},
    }
    if latest_ready is not None:
        body["latestReadyRevision"] = f"{prefix}/revisions/{latest_ready.name}"
    if latest_created is not None:
        body["latestCreatedRevision"] = f"{prefix}/revisions/{latest_created.name}"
    return body


def _revision_json(service: FakeService, revision: FakeRevision) -> dict[str, Any]:
    condition: dict[str, Any] = {"type": "Ready", "state": SUCCEEDED if revision.ready else FAILED}
    if revision.message:
        condition["message"] = revision.message
    return {
        "name": f"{service.full_name}/revisions/{revision.name}",
        "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, revision.name)),
        "service": service.full_name,
        "createTime": _rfc3339(revision.created),
        "labels": dict(revision.labels),
        "annotations": dict(revision.annotations),
        "containers": [{"image": revision.image}],
        "conditions": [condition],
    }


def _error(status: int, message: str) -> web.Response:
    body = {"error": {"code": status, "message": message, "status": _GRPC_STATUS.get(status, "UNKNOWN")}}
    return web.json_response(body, status=status)


def _default_message(status: int) -> str:
    return {
        403: "Permission 'run.services.get' denied on resource (or it may not exist).",
        404: "Resource was not found.",
        503: "The service is currently unavailable.",
    }.get(status, f"HTTP {status}")


def _loads(raw: bytes) -> Any:
    import json

    if not raw:
        return None
    with contextlib.suppress(ValueError):
        return json.loads(raw)
    return raw.decode(errors="replace")
