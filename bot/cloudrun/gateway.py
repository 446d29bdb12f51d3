"""The Cloud Run boundary: a Protocol and errors phrased for humans."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.cloudrun.models import Revision, ServiceInfo, ServiceRef, TrafficSplit

READ_ROLE = "roles/run.viewer"
WRITE_ROLES = "roles/run.developer plus iam.serviceAccountUser on the runtime service account"


class CloudRunError(Exception):
    """A Cloud Run call failed; the message is a sentence a responder can act on."""

    retryable = False


class ServiceNotFound(CloudRunError):
    """The service does not exist where the catalog says."""


class PermissionDenied(CloudRunError):
    """Flare's service account lacks an IAM role."""


class CloudRunUnavailable(CloudRunError):
    """Timeouts, 5xx and connection problems: retry."""

    retryable = True


class OperationFailed(CloudRunError):
    """A long-running operation finished with an error."""


class CloudRunGateway(Protocol):
    """Reads services and revisions and changes traffic."""

    async def get_service(self, ref: ServiceRef) -> ServiceInfo:
        """The service and its traffic."""
        ...

    async def list_revisions(self, ref: ServiceRef) -> list[Revision]:
        """Every revision of the service, newest first."""
        ...

    async def set_traffic(
        self, ref: ServiceRef, splits: Sequence[TrafficSplit], *, timeout: float = 120.0
    ) -> ServiceInfo:
        """Replace the traffic split (percents sum to 100) and wait for the operation."""
        ...
