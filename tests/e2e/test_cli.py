"""The `flare` command as a user runs it: help, version, settings and config errors, check-config, migrate."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.db import migrate
from tests.conftest import DATA, pg_create_database, pg_drop_database, pg_url
from tests.fakes.slack import BOT_TOKEN
from tests.support.slack_client import SIGNING_SECRET


def run_flare(*args: str, env: dict[str, str] | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `flare ARGS` in a clean environment (no inherited Flare/Slack variables, no .env)."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "SENTRY_", "FLARE_", "DATABASE_", "PORT", "METRICS_", "LOG_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "handlers.entry", *args],
        env={**base, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["serve", "--help"],
        ["migrate", "--help"],
        ["check-config", "--help"],
        ["version", "--help"],
    ],
)
def test_help_works_for_every_command(args: list[str], tmp_path: Path) -> None:
    result = run_flare(*args, cwd=tmp_path)
    assert result.returncode == 0
    assert "usage: flare" in result.stdout


def test_version(tmp_path: Path) -> None:
    result = run_flare("version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("flare 0.")


def test_serve_without_slack_credentials_names_both_variables_and_where_to_get_them(tmp_path: Path) -> None:
    result = run_flare("serve", cwd=tmp_path, env={"FLARE_CONFIG": str(DATA / "catalog.yaml")})
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert "api.slack.com/apps" in result.stderr
    assert_no_traceback(result)


def test_serve_with_invalid_settings_prints_one_line_per_variable(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "PORT": "eighty",
        "DATABASE_URL": "mysql://root:hunter2@db/flare",
        "SENTRY_TRACES_SAMPLE_RATE": "7",
    }
    result = run_flare("serve", cwd=tmp_path, env=env)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("flare: ")]
    assert len(lines) == 3
    assert any(line.startswith("flare: PORT: ") for line in lines)
    assert any(line.startswith("flare: DATABASE_URL: ") for line in lines)
    assert any(line.startswith("flare: SENTRY_TRACES_SAMPLE_RATE: ") for line in lines)
    assert "hunter2" not in result.stderr, "a secret leaked into an error message"
    assert_no_traceback(result)


def test_serve_with_a_broken_catalog_names_file_path_and_problem(tmp_path: Path) -> None:
    catalog = tmp_path / "flare.yaml"
    catalog.write_text("teams:\n  payments:\n    channel: payments\n")
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "FLARE_CONFIG": str(catalog)}
    result = run_flare("serve", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert f"{catalog}:3: teams.payments.channel:" in result.stderr
    assert "FLARE_CONFIG" in result.stderr
    assert_no_traceback(result)


def test_check_config_ok(tmp_path: Path) -> None:
    result = run_flare("check-config", str(DATA / "catalog.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK")


def test_check_config_reports_every_problem_and_exits_1(tmp_path: Path) -> None:
    catalog = tmp_path / "bad.yaml"
    catalog.write_text(
        "teams:\n"
        "  payments:\n"
        "    channel: C0PAYMENTS\n"
        "services:\n"
        "  - name: checkout\n"
        "    team: payments\n"
        "    colour: blue\n"
        "    environments:\n"
        "      production:\n"
        "        project: acme-prod\n"
        "        region: Central\n"
        "        service: checkout\n"
    )
    result = run_flare("check-config", str(catalog), cwd=tmp_path)
    assert result.returncode == 1
    assert f"{catalog}:7: services[0].colour: unknown key 'colour'" in result.stdout
    assert (
        f"{catalog}:11: services[0].environments.production.region: must be a Cloud Run region"
        in result.stdout
    )
    assert_no_traceback(result)


def test_check_config_with_a_missing_file(tmp_path: Path) -> None:
    result = run_flare("check-config", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert result.returncode == 1
    assert "file not found" in result.stdout


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    base = pg_url()
    name = f"flare_cli_{os.getpid()}"
    url = asyncio.run(pg_create_database(base, name)) if base else f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    try:
        result = run_flare("migrate", cwd=tmp_path, env={"DATABASE_URL": url})
        assert result.returncode == 0, result.stderr
        assert f"database is at revision {migrate.head_revision()}" in result.stdout
        assert asyncio.run(migrate.current_revision(url)) == migrate.head_revision()
        again = run_flare("migrate", cwd=tmp_path, env={"DATABASE_URL": url})
        assert again.returncode == 0
    finally:
        if base:
            asyncio.run(pg_drop_database(base, name))


def test_migrate_against_an_unreachable_database_fails_cleanly(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://flare:s3cr3t-pw@127.0.0.1:1/flare"
    result = run_flare("migrate", cwd=tmp_path, env={"DATABASE_URL": url})
    assert result.returncode == 2
    assert "migration failed" in result.stderr
    assert "s3cr3t-pw" not in result.stderr
    assert_no_traceback(result)


def test_quick_help_lists_every_subcommand_of_the_full_parser() -> None:
    from handlers.cli import build_parser
    from handlers.entry import COMMANDS, help_text

    parser = build_parser()
    [sub] = [a for a in parser._actions if a.dest == "command"]
    full = {choice.dest: choice.help for choice in sub._choices_actions}
    assert dict(COMMANDS) == full
    for name, text in COMMANDS:
        assert f"    {name}" in help_text()
        assert text in help_text()


@pytest.mark.parametrize("args", [["--version"], ["-V"], ["version"], ["--help"]])
def test_version_and_help_answer_without_importing_the_app(args: list[str]) -> None:
    probe = (
        "import sys; from handlers.entry import main; code = main(sys.argv[1:]); "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'aiohttp', 'sqlalchemy', 'slack_sdk', 'slack_bolt', 'pydantic', 'google', 'yaml'} "
        "or m in {'handlers.cli', 'bot.catalog', 'bot.settings'}); "
        "print('HEAVY', heavy, code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY [] 0" in result.stdout
    assert ("flare 0.1.0" in result.stdout) or ("usage: flare" in result.stdout)


def test_flare_without_a_command_prints_the_usage(tmp_path: Path) -> None:
    result = run_flare(cwd=tmp_path)
    assert result.returncode == 2
    assert "usage: flare" in result.stderr
    assert "check-config" in result.stderr
    assert_no_traceback(result)


def test_readme_sections_named_in_product_texts_exist() -> None:
    import re

    root = Path(__file__).resolve().parents[2]
    headings = {
        line.lstrip("#").strip()
        for line in (root / "README.md").read_text().splitlines()
        if line.startswith("#")
    }
    named = []
    for folder in ("bot", "handlers", "runbooks"):
        for path in (root / folder).rglob("*.py"):
            named += [(path.name, m) for m in re.findall(r"README, '([^']+)'", path.read_text())]
    assert named, "the Slack credentials help names a README section"
    assert [(file, section) for file, section in named if section not in headings] == []
