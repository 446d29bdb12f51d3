"""Typed keys for values stored on the aiohttp application."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.catalog import Catalog
from bot.clock import Clock
from bot.cloudrun.gateway import CloudRunGateway
from bot.container import Container
from bot.observability.metrics import Metrics
from bot.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
CATALOG = web.AppKey("catalog", Catalog)
METRICS = web.AppKey("metrics", Metrics)
CLOCK = web.AppKey("clock", Clock)
CLOUDRUN = web.AppKey("cloudrun", CloudRunGateway)
CONTAINER = web.AppKey("container", Container)
BOLT = web.AppKey("bolt", AsyncApp)
