"""Process settings, read from the environment and an optional `.env` file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_CREDENTIALS_HELP = (
    "Slack is not configured. Set both variables (in the environment or in .env):\n"
    "  SLACK_BOT_TOKEN       the Bot User OAuth Token (xoxb-...): https://api.slack.com/apps -> your app"
    " -> OAuth & Permissions\n"
    "  SLACK_SIGNING_SECRET  the Signing Secret: https://api.slack.com/apps -> your app -> Basic Information"
    " -> App Credentials\n"
    "To try Flare without a workspace, point SLACK_API_URL at a fake Slack API"
    " (see README, 'Trying it without a Slack workspace')."
)

_SUPPORTED_DB_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")


class Settings(BaseSettings):
    """Every setting Flare reads; names are the environment variables, upper-cased."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        validate_default=True,
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    database_url: SecretStr = SecretStr("sqlite+aiosqlite:///./flare.db")
    flare_config: Path = Path("./flare.yaml")
    # One folder, or several separated by ':' (each a mounted secret on Cloud Run); unset: runbooks/
    # beside the catalog.
    flare_runbooks_dir: str | None = None
    cloud_run_api_endpoint: str | None = None

    sentry_dsn: SecretStr | None = None
    sentry_environment: str = "production"
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0.0, le=1.0)

    port: int = Field(default=8080, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    flare_debug_libs: bool = False
    metrics_token: SecretStr | None = None
    flare_api_token: SecretStr | None = None
    flare_tick_token: SecretStr | None = None
    flare_tick_interval_seconds: float = Field(default=30.0, ge=0.0)
    flare_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    flare_outbox_lease_seconds: float = Field(default=20.0, ge=1.0)
    # While Slack refuses the bot token (a rotation in progress), messages are retried this long.
    flare_slack_auth_grace_seconds: float = Field(default=600.0, ge=0.0, le=86400.0)
    flare_outbox_max_backoff_seconds: float = Field(default=60.0, ge=0.05, le=3600.0)
    flare_shutdown_timeout_seconds: float = Field(default=7.0, ge=0.5, le=30.0)
    flare_event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    # PagerDuty (issue #18): where pages go, and how long before a page not yet accepted is shown.
    pagerduty_events_url: str = "https://events.pagerduty.com"
    pagerduty_api_url: str = "https://api.pagerduty.com"
    flare_page_alert_after_seconds: float = Field(default=60.0, ge=1.0, le=3600.0)
    flare_page_max_backoff_seconds: float = Field(default=30.0, ge=0.05, le=600.0)

    # The console (/ui/): Sign in with Slack; all four must be set to turn it on.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    flare_public_url: str | None = None
    flare_session_secret: SecretStr | None = None
    flare_session_hours: float = Field(default=12.0, gt=0.0, le=24.0 * 30)

    # Deadlines inside Slack's 3 s budget (docs/operations.md, "When the database hangs").
    flare_slack_deadline_seconds: float = Field(default=2.2, ge=0.2, le=30.0)
    flare_webhook_deadline_seconds: float = Field(default=2.5, ge=0.2, le=30.0)
    flare_ready_timeout_seconds: float = Field(default=0.8, ge=0.1, le=5.0)
    flare_db_connect_timeout_seconds: float = Field(default=2.0, gt=0.0, le=60.0)
    flare_db_command_timeout_seconds: float = Field(default=5.0, gt=0.0, le=600.0)
    flare_db_pool_timeout_seconds: float = Field(default=2.0, gt=0.0, le=60.0)
    flare_sqlite_busy_timeout_seconds: float = Field(default=2.5, gt=0.0, le=60.0)

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_has_scheme(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value if value.endswith("/") else value + "/"

    @field_validator("cloud_run_api_endpoint", "flare_public_url")
    @classmethod
    def _optional_url_has_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("flare_runbooks_dir", mode="before")
    @classmethod
    def _blank_dir_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("pagerduty_events_url", "pagerduty_api_url")
    @classmethod
    def _pagerduty_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        scheme = raw.split("://", 1)[0] if "://" in raw else ""
        if scheme == "postgresql" or scheme == "postgres":
            return SecretStr("postgresql+asyncpg://" + raw.split("://", 1)[1])
        if scheme == "sqlite":
            return SecretStr("sqlite+aiosqlite://" + raw.split("://", 1)[1])
        if scheme not in _SUPPORTED_DB_SCHEMES:
            raise ValueError(
                f"unsupported scheme {scheme or '(none)'!r}; use sqlite+aiosqlite:///path.db "
                "or postgresql+asyncpg://user@host/db"
            )
        return value

    @property
    def is_sqlite(self) -> bool:
        """True when the database is the embedded SQLite file."""
        return self.database_url.get_secret_value().startswith("sqlite")

    def missing_slack_credentials(self) -> list[str]:
        """Names of the Slack credentials that are unset or empty."""
        missing = []
        for name, value in (
            ("SLACK_BOT_TOKEN", self.slack_bot_token),
            ("SLACK_SIGNING_SECRET", self.slack_signing_secret),
        ):
            if value is None or not value.get_secret_value().strip():
                missing.append(name)
        return missing

    def missing_console_settings(self) -> list[str]:
        """Names of the settings the console (/ui/) needs that are unset or empty."""
        values = {
            "SLACK_CLIENT_ID": self.slack_client_id,
            "SLACK_CLIENT_SECRET": self.slack_client_secret,
            "FLARE_PUBLIC_URL": self.flare_public_url,
            "FLARE_SESSION_SECRET": self.flare_session_secret,
        }
        missing = []
        for name, value in values.items():
            plain = value.get_secret_value() if isinstance(value, SecretStr) else value
            if not (plain or "").strip():
                missing.append(name)
        return missing

    def console_url(self, path: str = "") -> str | None:
        """An absolute console URL (`/ui/` + path) when the console is on, else None."""
        if self.missing_console_settings() or self.flare_public_url is None:
            return None
        return f"{self.flare_public_url}/ui/{path.lstrip('/')}"

    def secret_values(self) -> list[str]:
        """Every configured secret's plain value, for scrubbing logs and Sentry events."""
        values = []
        for secret in (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.sentry_dsn,
            self.metrics_token,
            self.flare_api_token,
            self.flare_tick_token,
            self.slack_client_secret,
            self.flare_session_secret,
        ):
            if secret is not None and len(secret.get_secret_value()) >= 6:
                values.append(secret.get_secret_value())
        password = _url_password(self.database_url.get_secret_value())
        if password:
            values.append(password)
        return values


def _url_password(url: str) -> str | None:
    if "://" not in url or "@" not in url:
        return None
    creds = url.split("://", 1)[1].rsplit("@", 1)[0]
    if ":" not in creds:
        return None
    password = creds.split(":", 1)[1]
    return password or None


def environment() -> dict[str, str]:
    """The process environment over `.env`: where secrets named in the catalog (`*_env`) are read."""
    values: dict[str, str] = {}
    dotenv = Path(".env")
    if dotenv.is_file():
        values = {k: v for k, v in dotenv_values(dotenv).items() if v is not None}
    return {**values, **os.environ}


class SettingsError(Exception):
    """Settings could not be loaded; `problems` holds one line per bad variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_settings(**overrides: object) -> Settings:
    """Load settings from the environment, raising SettingsError with one line per problem."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            name = "_".join(str(part) for part in error["loc"]).upper() or "settings"
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError(problems) from None
