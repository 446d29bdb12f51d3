"""Fixtures for silences: a real Alertmanager, a misbehaving one, and a Flare whose catalog names them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import pytest

from bot.catalog import parse_catalog
from tests.alerts.conftest import webhook_env  # noqa: F401  (fixture)
from tests.cloudrun.conftest import (  # noqa: F401  (fixtures)
    catalog_path,
    catalog_text,
    checkout,
    cr_catalog,
    endpoints,
    fake_cloudrun,
    start_cr,
)
from tests.conftest import Flare
from tests.fakes.alertmanager_faults import FaultyAlertmanager
from tests.support.alertmanager import Alertmanager

SETTLE = 2.0  # long enough to look at Alertmanager while the change settles


@pytest.fixture
async def alertmanager(tmp_path: Path) -> AsyncIterator[Alertmanager]:
    """A real Alertmanager process (its webhook receiver is not used here)."""
    am = Alertmanager(tmp_path / "am", "http://127.0.0.1:9/unused", "unused-token-1")
    await am.start()
    yield am
    am.stop()


@pytest.fixture
async def faulty() -> AsyncIterator[FaultyAlertmanager]:
    """An Alertmanager stand-in that answers 500 until told otherwise."""
    fake = await FaultyAlertmanager().start()
    yield fake
    await fake.stop()


def with_alertmanager(text: str, urls: list[str], extra: str = "", settle: float = SETTLE) -> str:
    """The Cloud Run test catalog with an alertmanager section and a settle time."""
    text = text.replace("settle_seconds: 0", f"settle_seconds: {settle}")
    quoted = ", ".join(urls)
    return text + f"alertmanager:\n  urls: [{quoted}]\n  env_label: env\n{extra}"


StartAM = Callable[..., Any]


@pytest.fixture
def start_am(start_cr: Any, catalog_text: str, catalog_path: Path) -> StartAM:  # noqa: F811
    """Start Flare with the catalog's alertmanager pointing at `urls`."""

    async def start(urls: list[str], extra: str = "", settle: float = SETTLE) -> Flare:
        text = with_alertmanager(catalog_text, urls, extra, settle)
        catalog_path.write_text(text)
        flare: Flare = await start_cr(catalog=parse_catalog(text, str(catalog_path)))
        return flare

    return start


class HasUrl(Protocol):
    """An Alertmanager (one process or a cluster peer)."""

    @property
    def url(self) -> str: ...


async def silences(am: HasUrl) -> list[dict[str, Any]]:
    """GET /api/v2/silences from the real Alertmanager."""
    async with aiohttp.ClientSession() as session, session.get(am.url + "/api/v2/silences") as response:
        assert response.status == 200
        found: list[dict[str, Any]] = await response.json()
        return found


def matchers_of(silence: dict[str, Any]) -> set[tuple[str, str, bool, bool]]:
    """A silence's matchers as comparable tuples (name, value, isRegex, isEqual)."""
    return {(m["name"], m["value"], m["isRegex"], m.get("isEqual", True)) for m in silence["matchers"]}
