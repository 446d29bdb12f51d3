"""CloudRunGateway on google-cloud-run's sync client, run on daemon threads (bot/cloudrun/threads.py).

The async client has no REST transport, and tests and emulators need REST, so the sync client
runs on a daemon thread per call. google.cloud is imported lazily: it is heavy and most processes
never touch Cloud Run before their first command.
"""

from __future__ import annotations

import concurrent.futures
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
from bot.cloudrun.threads import in_daemon_thread

T = TypeVar("T")
_REVISION = 2  # TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
_LATEST = 1
_SUCCEEDED = 4  # Condition.State.CONDITION_SUCCEEDED


class RunV2Gateway:
    """Talks to the Cloud Run Admin API v2.

    `read_retry_seconds` bounds how long reads retry 503/429 answers (0: no retry);
    `poll_initial`/`poll_maximum` pace the polling of long-running operations.
    """

    def __init__(
        self,
        api_endpoint: str | None = None,
        *,
        request_timeout: float = 15.0,
        read_retry_seconds: float = 5.0,
        poll_initial: float = 0.5,
        poll_maximum: float = 5.0,
    ) -> None:
        self.api_endpoint = api_endpoint
        self.request_timeout = request_timeout
        self.read_retry_seconds = read_retry_seconds
        self.poll_initial = poll_initial
        self.poll_maximum = poll_maximum
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

    def _read_retry(self) -> Any:
        if self.read_retry_seconds <= 0:
            return None
        from google.api_core import exceptions as gexc
        from google.api_core import retry as gretry

        return gretry.Retry(
            predicate=gretry.if_exception_type(gexc.ServiceUnavailable, gexc.TooManyRequests),
            initial=min(0.25, self.read_retry_seconds),
            maximum=2.0,
            multiplier=2.0,
            timeout=self.read_retry_seconds,
        )

    async def _run(self, ref: ServiceRef, write: bool, fn: Callable[[], T]) -> T:
        try:
            return await in_daemon_thread(fn)
        except CloudRunError:
            raise
        except Exception as exc:
            raise translate(exc, ref, write=write) from None

    async def get_service(self, ref: ServiceRef) -> ServiceInfo:
        """The service and its traffic."""
        services, _ = await self._run(ref, False, self._clients)
        retry = self._read_retry()
        raw = await self._run(
            ref,
            False,
            lambda: services.get_service(name=ref.name, timeout=self.request_timeout, retry=retry),
        )
        return service_info(ref, raw)

    async def list_revisions(self, ref: ServiceRef) -> list[Revision]:
        """Every revision, newest first."""
        _, revisions = await self._run(ref, False, self._clients)
        retry = self._read_retry()

        def fetch() -> list[Any]:
            request = {"parent": ref.name, "page_size": 100}
            pager = revisions.list_revisions(request=request, timeout=self.request_timeout, retry=retry)
            return list(pager)

        raw = await self._run(ref, False, fetch)
        result = [revision(r) for r in raw]
        result.sort(key=lambda r: (r.created or datetime.min.replace(tzinfo=UTC), r.name), reverse=True)
        return result

    async def set_traffic(
        self, ref: ServiceRef, splits: Sequence[TrafficSplit], *, timeout: float = 120.0
    ) -> ServiceInfo:
        """Replace the traffic split (update_mask=traffic) and wait for the operation."""
        if sum(s.percent for s in splits) != 100:
            raise CloudRunError("traffic percentages must add up to 100")
        services, _ = await self._run(ref, True, self._clients)
        from google.api_core import exceptions as gexc
        from google.api_core import retry as gretry
        from google.api_core.future import polling
        from google.cloud import run_v2
        from google.protobuf import field_mask_pb2

        targets = [
            run_v2.TrafficTarget(
                type_=_LATEST if split.latest else _REVISION,
                revision="" if split.latest else (split.revision or ""),
                percent=split.percent,
                tag=split.tag or "",
            )
            for split in splits
        ]
        request = run_v2.UpdateServiceRequest(
            service=run_v2.Service(name=ref.name, traffic=targets),
            update_mask=field_mask_pb2.FieldMask(paths=["traffic"]),
        )
        poll = gretry.Retry(
            predicate=polling.POLLING_PREDICATE,
            initial=self.poll_initial,
            maximum=self.poll_maximum,
            multiplier=1.5,
            timeout=timeout,
        )
        operation = await self._run(
            ref, True, lambda: services.update_service(request=request, timeout=self.request_timeout)
        )

        def wait() -> Any:
            return operation.result(timeout=timeout, polling=poll)

        try:
            raw = await in_daemon_thread(wait)
        except concurrent.futures.TimeoutError:
            raise CloudRunUnavailable(
                f"the traffic change of {ref.service} did not finish within {timeout:g}s; "
                "check /deploy status before you retry"
            ) from None
        except gexc.GoogleAPICallError as exc:
            if _is_transport_error(exc):
                raise translate(exc, ref, write=True) from None
            message = getattr(exc, "message", "") or str(exc)
            raise OperationFailed(
                f"Cloud Run could not apply the traffic change to {ref.service}: {message[:300]}"
            ) from None
        except Exception as exc:
            raise translate(exc, ref, write=True) from None
        return service_info(ref, raw)


def _is_transport_error(exc: Exception) -> bool:
    """True when an error came from polling the operation (HTTP), not from the operation itself."""
    # A failed operation carries the Operation message as `response`; an HTTP error a requests.Response.
    return hasattr(getattr(exc, "response", None), "status_code")


def translate(exc: BaseException, ref: ServiceRef, *, write: bool) -> CloudRunError:
    """Turn a google.api_core (or transport) exception into a sentence naming the fix."""
    from google.api_core import exceptions as gexc

    if isinstance(exc, gexc.RetryError) and exc.cause is not None and exc.cause is not exc:
        return translate(exc.cause, ref, write=write)
    where = f"{ref.project}/{ref.region}"
    if isinstance(exc, gexc.NotFound):
        return ServiceNotFound(f"service {ref.service} not found in {where}")
    if isinstance(exc, gexc.Unauthenticated):
        return PermissionDenied(
            f"Cloud Run rejected Flare's credentials for {ref.service} in {where}: check the service "
            "account that Application Default Credentials resolve to"
        )
    if isinstance(exc, gexc.PermissionDenied | gexc.Forbidden):
        role = WRITE_ROLES if write else READ_ROLE
        return PermissionDenied(
            f"permission denied on {ref.service} in {where}: Flare's service account needs {role}"
        )
    if isinstance(exc, gexc.DeadlineExceeded | gexc.RetryError | TimeoutError):
        return CloudRunUnavailable("Cloud Run did not answer in time; retry in a minute")
    if isinstance(exc, gexc.GoogleAPICallError):
        code = int(exc.code or 0)
        if code >= 500 or code in (408, 429):
            return CloudRunUnavailable(f"Cloud Run is unavailable right now (HTTP {code}); retry in a minute")
        message = getattr(exc, "message", "") or str(exc)
        return CloudRunError(f"Cloud Run refused the request for {ref.service}: {message[:300]}")
    name = type(exc).__name__
    if "Timeout" in name:
        return CloudRunUnavailable("Cloud Run did not answer in time; retry in a minute")
    if "Connection" in name or isinstance(exc, ConnectionError):
        return CloudRunUnavailable("Cloud Run could not be reached; retry in a minute")
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
        latest=kind == _LATEST,
        tag=target.tag or None,
    )


def service_info(ref: ServiceRef, raw: Any) -> ServiceInfo:
    """A ServiceInfo from a run_v2.Service."""
    condition = getattr(raw, "terminal_condition", None)
    ready = condition is None or not condition.type_ or int(condition.state) == _SUCCEEDED
    return ServiceInfo(
        ref=ref,
        uri=raw.uri,
        latest_ready_revision=_short(raw.latest_ready_revision),
        latest_created_revision=_short(raw.latest_created_revision),
        traffic=[_split(t) for t in raw.traffic],
        traffic_statuses=[_split(t) for t in raw.traffic_statuses],
        generation=int(raw.generation or 0),
        ready=ready,
        ready_message=(condition.message if condition is not None else "") or "",
    )


def revision(raw: Any) -> Revision:
    """A Revision from a run_v2.Revision."""
    ready = False
    message = ""
    for condition in raw.conditions:
        if condition.type_ == "Ready":
            ready = int(condition.state) == _SUCCEEDED
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
