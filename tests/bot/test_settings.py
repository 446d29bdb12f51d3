"""Settings: names, defaults, validation messages that name the variable and never echo secrets."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """Process environment is outside Flare: isolate it (and do not read a developer's .env)."""
    import os

    for name in list(os.environ):
        if (
            name.startswith(("SLACK_", "SENTRY_", "FLARE_", "DATABASE_", "METRICS_", "LOG_", "CLOUD_RUN_"))
            or name == "PORT"
        ):
            monkeypatch.delenv(name)
    monkeypatch.chdir(str(tmp_path))


def test_defaults() -> None:
    settings = load_settings()
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url.get_secret_value() == "sqlite+aiosqlite:///./flare.db"
    assert str(settings.flare_config) == "flare.yaml"
    assert settings.port == 8080
    assert settings.is_sqlite
    assert settings.missing_slack_credentials() == ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]


def test_reads_the_environment_and_a_dotenv_file(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from pathlib import Path

    Path(str(tmp_path), ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-dotenv\nPORT=9000\n")
    monkeypatch.setenv("PORT", "9100")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "from-env")
    settings = load_settings()
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-dotenv"
    assert settings.port == 9100, "the environment wins over .env"
    assert settings.missing_slack_credentials() == []


def test_secrets_are_hidden_in_repr() -> None:
    settings = Settings(
        _env_file=None, slack_bot_token="xoxb-very-secret", sentry_dsn="https://k@o.invalid/1"
    )  # type: ignore[call-arg]
    assert "xoxb-very-secret" not in repr(settings)
    assert "xoxb-very-secret" not in str(settings.model_dump())


def test_each_invalid_variable_is_one_named_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "0")
    monkeypatch.setenv("SLACK_API_URL", "slack.com/api")
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    names = sorted(p.split(":")[0] for p in caught.value.problems)
    assert names == ["LOG_LEVEL", "PORT", "SLACK_API_URL"]
    assert "xoxb-secret-value" not in str(caught.value)


def test_database_url_schemes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://flare:pw@db/flare")
    assert load_settings().database_url.get_secret_value() == "postgresql+asyncpg://flare:pw@db/flare"
    monkeypatch.setenv("DATABASE_URL", "mysql://flare:pw@db/flare")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    [problem] = caught.value.problems
    assert problem.startswith("DATABASE_URL: ")
    assert "pw@" not in problem


def test_secret_values_include_the_database_password() -> None:
    settings = Settings(_env_file=None, database_url="postgresql+asyncpg://flare:db-pass-123@db/flare")  # type: ignore[call-arg]
    assert "db-pass-123" in settings.secret_values()


def test_empty_slack_credentials_count_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "   ")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    assert load_settings().missing_slack_credentials() == ["SLACK_BOT_TOKEN"]
