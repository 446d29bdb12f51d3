"""The `flare` command: serve, migrate, check-config, version."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from aiohttp import web
from pydantic import SecretStr

from bot import __version__
from bot.catalog import Catalog, ConfigError, load_catalog
from bot.db import schema
from bot.observability.heap import settle_heap
from bot.observability.logging import configure_logging
from bot.observability.secrets import SecretRegistry, collect_secrets
from bot.settings import SLACK_CREDENTIALS_HELP, Settings, SettingsError, environment, load_settings

log = logging.getLogger("flare")
EXIT_CONFIG = 2


def _fail(lines: Sequence[str]) -> int:
    for line in lines:
        print(f"flare: {line}", file=sys.stderr)
    return EXIT_CONFIG


def _settings() -> Settings | list[str]:
    try:
        return load_settings()
    except SettingsError as exc:
        return exc.problems


def cmd_version(_args: argparse.Namespace) -> int:
    """Print the version."""
    print(f"flare {__version__}")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate the catalog (and runbooks) and print OK or every problem."""
    path = Path(args.path) if args.path else None
    if path is None:
        settings = _settings()
        if isinstance(settings, list):
            return _fail(settings)
        path = settings.flare_config
    try:
        catalog = load_catalog(path)
        problems = [str(p) for p in extra_config_problems(catalog, path)]
    except ConfigError as exc:
        problems = [str(p) for p in exc.problems]
    if problems:
        for line in problems:
            print(line)
        print(f"{len(problems)} problem(s) in {path}")
        return 1
    print(f"OK: {path}: {len(catalog.services)} services, {len(catalog.teams)} teams")
    return 0


def extra_config_problems(catalog: Catalog, path: Path) -> list[str]:
    """Checks beyond the catalog schema (runbooks, routes); empty when all is well."""
    from handlers import registry

    return [problem for check in registry.CONFIG_CHECKS for problem in check(catalog, path)]


def cmd_migrate(args: argparse.Namespace) -> int:
    """Upgrade the database to the newest schema."""
    settings = _settings()
    if isinstance(settings, list):
        return _fail(settings)
    registry = SecretRegistry(settings.secret_values())
    configure_logging(settings.log_level, registry, debug_libs=settings.flare_debug_libs)
    url = settings.database_url.get_secret_value()
    from bot.db import migrate

    try:
        migrate.upgrade(url, args.revision)
        current = asyncio.run(migrate.current_revision(url))
    except Exception as exc:
        return _fail([registry.scrub(f"migration failed: {type(exc).__name__}: {_first_line(exc)}")])
    print(f"database is at revision {current}")
    return 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP server until SIGTERM or SIGINT."""
    settings = _settings()
    if isinstance(settings, list):
        return _fail(settings)
    if args.port is not None:
        settings = settings.model_copy(update={"port": args.port})
    missing = settings.missing_slack_credentials()
    if missing:
        print(SLACK_CREDENTIALS_HELP, file=sys.stderr)
        return _fail([f"{name} is not set" for name in missing])
    from handlers import socket_mode

    app_token = settings.slack_app_token if args.socket_mode else None
    token_problem = socket_mode.token_problem(settings) if args.socket_mode else None
    if token_problem:
        return _fail([token_problem])
    try:
        catalog = load_catalog(settings.flare_config)
    except ConfigError as exc:
        return _fail(
            [str(p) for p in exc.problems] + [f"fix {settings.flare_config} (FLARE_CONFIG) and retry"]
        )
    registry = SecretRegistry(collect_secrets(settings.secret_values(), catalog, environment()))
    configure_logging(settings.log_level, registry, debug_libs=settings.flare_debug_libs)
    if settings.sentry_dsn is not None:
        from bot.observability.sentry import init_sentry

        init_sentry(settings, registry=registry)
    url = settings.database_url.get_secret_value()
    if settings.is_sqlite:
        try:
            if asyncio.run(schema.database_revision(url)) != schema.code_head():
                from bot.db import migrate

                migrate.upgrade(url)
        except Exception as exc:
            reason = registry.scrub(_first_line(exc))
            return _fail([f"DATABASE_URL: could not migrate the SQLite database: {reason}"])
    else:
        problem = _check_schema(url)
        if problem:
            return _fail([problem])
    from handlers.app import create_app

    app = create_app(settings, catalog=catalog)
    try:
        with asyncio.Runner(loop_factory=event_loop_factory(settings.flare_event_loop)) as runner:
            runner.run(
                _serve(app, args.host, settings.port, settings.flare_shutdown_timeout_seconds, app_token)
            )
    except socket_mode.SocketModeError as exc:
        return _fail([str(exc)])
    except OSError as exc:
        return _fail([f"PORT: cannot listen on {args.host}:{settings.port}: {exc.strerror}"])
    return 0


def event_loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory (about a third less CPU per request than asyncio's), or None for asyncio's."""
    if name != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:  # not built for this platform: asyncio's loop works the same, only slower
        return None
    return uvloop.new_event_loop


def _check_schema(url: str) -> str | None:
    try:
        current = asyncio.run(asyncio.wait_for(schema.database_revision(url), timeout=10))
    except Exception as exc:
        log.warning(
            "database unreachable at start; /health/ready reports 503 until it answers",
            extra={"error": type(exc).__name__},
        )
        return None
    head = schema.code_head()
    if current != head:
        return (
            f"DATABASE_URL: the database is at revision {current or '(empty)'}, this build needs {head}; "
            "run `flare migrate` first"
        )
    return None


async def _serve(
    app: web.Application, host: str, port: int, shutdown_timeout: float, app_token: SecretStr | None = None
) -> None:
    from handlers import socket_mode

    started = time.perf_counter()
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, shutdown_timeout=shutdown_timeout - 2.0
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    socket = None
    if app_token is not None:
        try:
            socket = await socket_mode.start(app, app_token)
        except socket_mode.SocketModeError:
            await runner.cleanup()
            raise
    settle_heap()
    # The SQLite driver runs each statement on its own thread, which needs the GIL back to hand the result
    # to the event loop; a busy loop only yields it every switch interval (5 ms by default), so each
    # statement of a transaction could wait that long. 1 ms cut the p99 of single-alert webhooks by a third.
    sys.setswitchinterval(0.001)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "listening",
        extra={
            "url": f"http://{host}:{port}",
            "startup_ms": round((time.perf_counter() - started) * 1000),
            "event_loop": type(loop).__module__.split(".")[0],
        },
    )
    slack = "Socket Mode, no public URL needed" if socket else "POST /slack/events"
    print(
        f"Flare is listening on http://{host}:{port} (Slack: {slack}, health: GET /health/deep)", flush=True
    )
    await stop.wait()
    log.info("shutting down")
    if socket is not None:
        await socket_mode.stop(socket)
    try:
        # Cloud Run sends SIGKILL 10 s after SIGTERM: never wait longer than the budget.
        await asyncio.wait_for(runner.cleanup(), timeout=shutdown_timeout)
    except TimeoutError:
        log.warning("shutdown took longer than FLARE_SHUTDOWN_TIMEOUT_SECONDS; exiting anyway")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="flare", description="Flare: the incident bot for Cloud Run teams.")
    parser.add_argument("--version", "-V", action="version", version=f"flare {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the bot (Slack, webhooks, health) on $PORT",
        description="Run the bot. SQLite databases are migrated automatically.",
    )
    serve.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")  # noqa: S104
    serve.add_argument("--port", type=int, default=None, help="port (default $PORT or 8080)")
    serve.add_argument(
        "--socket-mode",
        action="store_true",
        help="receive Slack over Socket Mode (needs SLACK_APP_TOKEN, xapp-...); webhooks stay on $PORT",
    )
    serve.set_defaults(func=cmd_serve)

    mig = sub.add_parser(
        "migrate",
        help="upgrade the database schema to this version",
        description="Apply Alembic migrations to DATABASE_URL.",
    )
    mig.add_argument("--revision", default="head", help="target revision (default head)")
    mig.set_defaults(func=cmd_migrate)

    check = sub.add_parser(
        "check-config",
        help="validate the catalog file",
        description="Validate the catalog; print OK or every problem and exit 1.",
    )
    check.add_argument("path", nargs="?", help="catalog file (default $FLARE_CONFIG or ./flare.yaml)")
    check.set_defaults(func=cmd_check_config)

    version = sub.add_parser("version", help="print the version", description="Print the version.")
    version.set_defaults(func=cmd_version)

    from handlers import registry

    for extend in registry.CLI_COMMANDS:
        extend(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `flare` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
