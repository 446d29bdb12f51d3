"""The runbook tests share the Cloud Run fixtures (fake API, fake endpoints, rbac catalog)."""

from tests.cloudrun.conftest import (  # noqa: F401 - fixtures
    catalog_path,
    catalog_text,
    checkout,
    cr,
    cr_catalog,
    endpoints,
    fake_cloudrun,
    start_cr,
)
