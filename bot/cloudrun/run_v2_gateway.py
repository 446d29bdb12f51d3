"""CloudRunGateway on google-cloud-run's sync client, run in worker threads.

The async client has no REST transport, and tests and emulators need REST, so the sync client
runs in `asyncio.to_thread`. google.cloud is imported lazily: it is heavy and most processes
never touch Cloud Run before their first command.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.cloudrun.gateway import (
    READ_ROLE,
    WRITE_ROLES,
    CloudRunError,
    CloudRunUnavailable,
    OperationFailed,
    PermissionDenied,
    ServiceNotFound,
)
from bot.cloudrun.models import Revision, ServiceInfo, ServiceRef, TrafficSplit

T = TypeVar("T")


class RunV2Gateway:
    """Talks to the Cloud Run Admin API v2."""

    def __init__(self, api_endpoint: str | None = None, *, request_timeout: float = 15.0) -> None:
        self.api_endpoint = api_endpoint
        self.request_timeout = request_timeout
        self._lock = threading.Lock()
        self._services: Any = None
        self._revisions: Any = None

    def _clients(self) -> tuple[Any, Any]:
        with self._lock:
            if self._services is None:
                from google.cloud import run_v2

                if self.api_endpoint:
                    from google.auth.credentials import AnonymousCredentials

                    options = {"api_endpoint": self.api_endpoint}
                    creds = AnonymousCredentials()  # type: ignore[no-untyped-call]
                    self._services = run_v2.ServicesClient(
                        transport="rest", credentials=creds, client_options=options
                    )
                    self._revisions = run_v2.RevisionsClient(
                        transport="rest", credentials=creds, client_options=options
                    )
                else:
                    self._services = run_v2.ServicesClient()
                    self._revisions = run_v2.RevisionsClient()
            return self._services, self._revisions

    async def _run(self, ref: ServiceRef, write: bool, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(fn)
        except CloudRunError:
            raise
        except Exception as exc:
            raise translate(exc, ref, write=write) from None

    async def get_service(self, ref: ServiceRef) -> ServiceInfo:
        """The service and its traffic."""
        services, _ = await asyncio.to_thread(self._clients)
        raw = await self._run(
            ref, False, lambda: services.get_service(name=ref.name, timeout=self.request_timeout)
        )
        return service_info(ref, raw)

    async def list_revisions(self, ref: ServiceRef) -> list[Revision]:
        """Every revision, newest first."""
        _, revisions = await asyncio.to_thread(self._clients)

        def fetch() -> list[Any]:
            return list(revisions.list_revisions(parent=ref.name, timeout=self.request_timeout))

        raw = await self._run(ref, False, fetch)
        result = [revision(r) for r in raw]
        result.sort(key=lambda r: (r.created or datetime.min.replace(tzinfo=UTC), r.name), reverse=True)
        return result

    async def set_traffic(
        self, ref: ServiceRef, splits: Sequence[TrafficSplit], *, timeout: float = 120.0
    ) -> ServiceInfo:
        """Replace the traffic split and wait for the rollout."""
        if sum(s.percent for s in splits) != 100:
            raise CloudRunError("traffic percentages must add up to 100")
        services, _ = await asyncio.to_thread(self._clients)
        from google.cloud import run_v2
        from google.protobuf import field_mask_pb2

        targets = []
        for split in splits:
            kind = (
                run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
                if split.latest
                else run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
            )
            targets.append(
                run_v2.TrafficTarget(
                    type_=kind, revision=split.revision or "", percent=split.percent, tag=split.tag or ""
                )
            )
        request = run_v2.UpdateServiceRequest(
            service=run_v2.Service(name=ref.name, traffic=targets),
            update_mask=field_mask_pb2.FieldMask(paths=["traffic"]),
        )

        def apply() -> Any:
            operation = services.update_service(request=request, timeout=self.request_timeout)
            return operation.result(timeout=timeout)

        raw = await self._run(ref, True, apply)
        return service_info(ref, raw)


def translate(exc: Exception, ref: ServiceRef, *, write: bool) -> CloudRunError:
    """Turn a google.api_core exception into a sentence naming the fix."""
    from google.api_core import exceptions as gexc

    if isinstance(exc, gexc.NotFound):
        return ServiceNotFound(f"service {ref.service} not found in {ref.project}/{ref.region}")
    if isinstance(exc, gexc.PermissionDenied | gexc.Forbidden | gexc.Unauthenticated):
        role = WRITE_ROLES if write else READ_ROLE
        return PermissionDenied(
            f"permission denied on {ref.service} in {ref.project}/{ref.region}: Flare's service account "
            f"needs {role}"
        )
    if isinstance(exc, gexc.GoogleAPICallError) and getattr(exc, "code", None) is not None:
        code = int(exc.code or 0)
        if code >= 500 or code in (408, 429):
            return CloudRunUnavailable(f"Cloud Run is unavailable right now (HTTP {code}); retry in a minute")
        message = getattr(exc, "message", "") or str(exc)
        if isinstance(exc, gexc.ClientError):
            return CloudRunError(f"Cloud Run refused the request: {message[:300]}")
    if isinstance(exc, gexc.RetryError | gexc.DeadlineExceeded | TimeoutError | ConnectionError):
        return CloudRunUnavailable("Cloud Run did not answer in time; retry")
    if isinstance(exc, gexc.GoogleAPICallError):
        return OperationFailed(f"the Cloud Run operation failed: {str(exc)[:300]}")
    name = type(exc).__name__
    if "Timeout" in name or "Connection" in name:
        return CloudRunUnavailable("Cloud Run could not be reached; retry")
    return OperationFailed(f"the Cloud Run call failed ({name}): {str(exc)[:300]}")


def _ts(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.year <= 1970:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def _split(target: Any) -> TrafficSplit:
    kind = int(getattr(target, "type_", 0))
    return TrafficSplit(
        percent=int(target.percent),
        revision=target.revision or None,
        latest=kind == 1,
        tag=target.tag or None,
    )


def service_info(ref: ServiceRef, raw: Any) -> ServiceInfo:
    """A ServiceInfo from a run_v2.Service."""
    return ServiceInfo(
        ref=ref,
        uri=raw.uri,
        latest_ready_revision=_short(raw.latest_ready_revision),
        latest_created_revision=_short(raw.latest_created_revision),
        traffic=[_split(t) for t in raw.traffic],
        traffic_statuses=[_split(t) for t in raw.traffic_statuses],
        generation=int(raw.generation or 0),
    )


def revision(raw: Any) -> Revision:
    """A Revision from a run_v2.Revision."""
    ready = False
    message = ""
    for condition in raw.conditions:
        if condition.type_ == "Ready":
            ready = int(condition.state) == 4  # CONDITION_SUCCEEDED
            message = condition.message or ""
            break
    image = raw.containers[0].image if raw.containers else ""
    return Revision(
        name=_short(raw.name) or raw.name,
        image=image,
        created=_ts(raw.create_time),
        ready=ready,
        ready_message=message or "",
        labels=dict(raw.labels),
        annotations=dict(raw.annotations),
    )


def _short(name: str | None) -> str | None:
    if not name:
        return None
    return name.rsplit("/", 1)[-1]
