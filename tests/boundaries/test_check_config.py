"""`flare check-config` names the real mistake in a matcher, with file:line and YAML path."""

from __future__ import annotations

from pathlib import Path

from tests.alerts.conftest import alert_catalog_text
from tests.e2e.test_cli import run_flare


def test_double_equals_in_a_matcher_is_named_as_the_mistake(tmp_path: Path) -> None:
    text = alert_catalog_text().replace("'service=\"search\"'", "'service==\"search\"'")
    assert 'service=="search"' in text
    catalog = tmp_path / "flare.yaml"
    catalog.write_text(text)
    result = run_flare("check-config", str(catalog), cwd=tmp_path)
    assert result.returncode == 1
    line = next(n for n, row in enumerate(text.splitlines(), 1) if 'service=="search"' in row)
    assert f"{catalog}:{line}" in result.stdout
    assert "routes.rules[1].matchers[0]" in result.stdout
    assert "`==` is not an operator; use `=`" in result.stdout
    assert "unbalanced quotes" not in result.stdout
