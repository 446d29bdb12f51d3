"""create_app: the composition root that wires settings, storage, Slack and routes together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.catalog import Catalog, load_catalog
from bot.clock import Clock, SystemClock
from bot.cloudrun.gateway import CloudRunGateway
from bot.cloudrun.run_v2_gateway import RunV2Gateway
from bot.container import BotIdentity, Container
from bot.db.commits import watch_commits
from bot.db.engine import Database, DbTimeouts
from bot.http.deadline import Unwinding, deadline_middleware
from bot.http.middleware import error_middleware, metrics_middleware, request_id_middleware
from bot.observability.logging import register_secrets
from bot.observability.metrics import Metrics
from bot.observability.secrets import collect_secrets
from bot.settings import Settings, environment
from bot.slack.client import make_web_client
from bot.slack.dispatcher import Dispatcher, DispatcherConfig
from bot.slack.gateway import SlackCallError
from bot.slack.sdk_gateway import SdkSlackGateway
from handlers import registry, slack_app, startup
from handlers.keys import BOLT, CATALOG, CLOCK, CLOUDRUN, CONTAINER, METRICS, SETTINGS

log = logging.getLogger("flare")


def create_app(
    settings: Settings,
    *,
    catalog: Catalog | None = None,
    clock: Clock | None = None,
    cloudrun: CloudRunGateway | None = None,
    dispatcher_config: DispatcherConfig | None = None,
) -> web.Application:
    """The whole Flare HTTP application on one port."""
    metrics = Metrics()
    app = web.Application(
        client_max_size=settings.flare_max_body_bytes,
        middlewares=[
            request_id_middleware(),
            metrics_middleware(metrics),
            error_middleware(settings.flare_max_body_bytes),
            deadline_middleware(
                [
                    ("/webhooks/", settings.flare_webhook_deadline_seconds),
                    ("/api/", settings.flare_webhook_deadline_seconds),
                    ("/health/ready", settings.flare_ready_timeout_seconds + 0.1),
                ],
                Unwinding(),
            ),
        ],
        handler_args={"max_field_size": 16384},
    )
    app[SETTINGS] = settings
    app[CATALOG] = catalog if catalog is not None else load_catalog(settings.flare_config)
    app[METRICS] = metrics
    app[CLOCK] = clock or SystemClock()
    app[CLOUDRUN] = cloudrun or RunV2Gateway(settings.cloud_run_api_endpoint)
    app[_DISPATCHER_CONFIG] = dispatcher_config or DispatcherConfig(
        lease_seconds=settings.flare_outbox_lease_seconds,
        max_backoff=settings.flare_outbox_max_backoff_seconds,
        auth_grace_seconds=settings.flare_slack_auth_grace_seconds,
    )
    # Every secret the catalog names joins the registry logs and Sentry scrub with.
    register_secrets(collect_secrets(settings.secret_values(), app[CATALOG], environment()))
    app.cleanup_ctx.append(_lifecycle)
    slack_app.add_routes(app)
    for add_routes in registry.HTTP_ROUTES:
        add_routes(app)
    return app


_DISPATCHER_CONFIG = web.AppKey("dispatcher_config", DispatcherConfig)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
    db = Database(settings.database_url.get_secret_value(), timeouts=db_timeouts(settings))
    watch_commits(db.engine)
    web_client = make_web_client(settings, http)
    gateway = SdkSlackGateway(web_client)
    dispatcher = Dispatcher(db, gateway, app[METRICS], config=app[_DISPATCHER_CONFIG], clock=app[CLOCK])
    container = Container(
        settings=settings,
        catalog=app[CATALOG],
        db=db,
        metrics=app[METRICS],
        clock=app[CLOCK],
        slack=gateway,
        dispatcher=dispatcher,
        cloudrun=app[CLOUDRUN],
        http=http,
        identity=BotIdentity(),
    )
    app[CONTAINER] = container
    dispatcher.failure_hooks = [make(container) for make in registry.DELIVERY_FAILURE_HOOKS]
    dispatcher.channel_hooks = list(registry.CHANNEL_CREATED_HOOKS)
    if not settings.missing_slack_credentials():
        app[BOLT] = slack_app.build_bolt(container, make_web_client(settings, http, with_token=False))
        container.spawn(_learn_identity(container), name="slack-identity")
    delivery = asyncio.create_task(dispatcher.run(), name="outbox-dispatcher")
    loops = [asyncio.create_task(start(container), name=start.__name__) for start in registry.BACKGROUND]
    log.info("flare started", extra={"port": settings.port, "database": db.dialect})
    startup.log_summary(app)
    try:
        yield
    finally:
        await dispatcher.stop(timeout=max(settings.flare_shutdown_timeout_seconds - 2.0, 1.0))
        # Long-running loops hold no work in memory (their state is in the database): stop them now.
        for task in (delivery, *loops):
            task.cancel()
        await asyncio.gather(delivery, *loops, return_exceptions=True)
        await container.wait_for_tasks(timeout=1.0)
        await http.close()
        await db.close()
        log.info("flare stopped")


async def _learn_identity(c: Container) -> None:
    """Ask auth.test who the bot is, retrying quietly while Slack is unreachable."""
    delay = 1.0
    while True:
        try:
            body = await c.slack.call("auth.test", {})
        except SlackCallError as exc:
            log.warning("auth.test failed; will retry", extra={"error": exc.error})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
            continue
        c.identity.user_id = body.get("user_id")
        c.identity.bot_id = body.get("bot_id")
        c.identity.team_id = body.get("team_id")
        return


def db_timeouts(settings: Settings) -> DbTimeouts:
    """The server's database timeouts, from FLARE_DB_* settings."""
    return DbTimeouts(
        connect=settings.flare_db_connect_timeout_seconds,
        command=settings.flare_db_command_timeout_seconds,
        pool=settings.flare_db_pool_timeout_seconds,
        sqlite_busy=settings.flare_sqlite_busy_timeout_seconds,
    )
