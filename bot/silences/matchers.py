"""Silence matchers in Alertmanager's API shape: a service's (from the catalog) or an alert group's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.catalog.alertmanager import AlertmanagerSettings
from bot.catalog.routing import Matcher, parse_matcher

ApiMatcher = dict[str, Any]


def to_api(matcher: Matcher) -> ApiMatcher:
    """`service="checkout"` -> {name, value, isRegex, isEqual}."""
    return {
        "name": matcher.label,
        "value": matcher.value,
        "isRegex": matcher.op in ("=~", "!~"),
        "isEqual": matcher.op in ("=", "=~"),
    }


def service_matchers(settings: AlertmanagerSettings, service: str, env: str | None) -> list[ApiMatcher]:
    """The catalog's silence matchers for `service`, else service="<name>" (+ the env label)."""
    configured = settings.silence_matchers.get(service)
    if configured:
        return [to_api(parse_matcher(text)) for text in configured]
    found = [{"name": "service", "value": service, "isRegex": False, "isEqual": True}]
    if settings.env_label and env:
        found.append({"name": settings.env_label, "value": env, "isRegex": False, "isEqual": True})
    return found


def label_matchers(labels: Mapping[str, str]) -> list[ApiMatcher]:
    """Equality matchers for every non-empty label (an alert group's common labels)."""
    return [
        {"name": name, "value": value, "isRegex": False, "isEqual": True}
        for name, value in sorted(labels.items())
        if value and name.replace("_", "a").isalnum() and not name[0].isdigit()
    ]


def common_labels(label_sets: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The labels every set has with the same value."""
    common: dict[str, str] | None = None
    for labels in label_sets:
        items = {str(k): str(v) for k, v in labels.items() if v is not None}
        common = items if common is None else {k: v for k, v in common.items() if items.get(k) == v}
    return common or {}


def describe(matchers: list[ApiMatcher]) -> str:
    """`service="checkout", env="production"` as Alertmanager prints matchers."""
    return ", ".join(filter_text(m) for m in matchers)


def filter_text(matcher: ApiMatcher) -> str:
    """One matcher as text, the form GET /api/v2/alerts?filter= takes."""
    op = (
        ("=" if matcher["isEqual"] else "!=")
        if not matcher["isRegex"]
        else ("=~" if matcher["isEqual"] else "!~")
    )
    value = str(matcher["value"]).replace("\\", "\\\\").replace('"', '\\"')
    return f'{matcher["name"]}{op}"{value}"'
