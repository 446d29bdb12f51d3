"""Alert routing rules (`routes` in the catalog): label matchers, targets, severity mapping.

Matchers follow Alertmanager's syntax: `label=value`, `label!=value`, `label=~regex`, `label!~regex`,
with the value optionally double-quoted. Regexes are anchored like Alertmanager's and compiled when
the catalog loads, so a bad one is a config error with its YAML path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Literal, Protocol

from pydantic import AfterValidator, Field, PrivateAttr

from bot.catalog.base import ChannelId, StrictModel, UserGroupId
from bot.catalog.services import SEVERITY_ORDER, SeverityName, Team

Op = Literal["=", "!=", "=~", "!~"]
_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$", re.DOTALL)
_ROUTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")

# Source severities (lower-cased) and the Flare severity they mean unless a route says otherwise.
DEFAULT_SEVERITY_MAP: dict[str, SeverityName] = {
    "p0": "P0",
    "p1": "P1",
    "p2": "P2",
    "p3": "P3",
    "critical": "P1",
    "page": "P1",
    "fatal": "P1",
    "high": "P2",
    "error": "P2",
    "major": "P2",
    "warning": "P3",
    "warn": "P3",
    "medium": "P3",
    "low": "P3",
    "info": "P3",
    "minor": "P3",
}


@dataclass(frozen=True)
class Matcher:
    """One label matcher; a missing label matches as the empty string, as in Alertmanager."""

    label: str
    op: Op
    value: str
    regex: re.Pattern[str] | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether `labels` satisfy this matcher."""
        actual = labels.get(self.label, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self.regex is not None
        found = self.regex.fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.label}{self.op}"{escaped}"'


def parse_matcher(text: str) -> Matcher:
    """Parse `label<op>value`; raise ValueError saying what is wrong."""
    found = _MATCHER.match(text)
    if found is None:
        raise ValueError(
            f"{text!r} is not a matcher; write label=value, label!=value, label=~regex or label!~regex"
        )
    label, op, raw = found.group(1), found.group(2), found.group(3)
    mistake = _operator_mistake(op, raw)
    if mistake:
        raise ValueError(f"in {text!r}: {mistake}")
    value = _unquote(raw)
    regex = None
    if op in ("=~", "!~"):
        try:
            regex = re.compile(f"(?:{value})", re.DOTALL)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    return Matcher(label, op, value, regex)  # type: ignore[arg-type]


def _operator_mistake(op: str, raw: str) -> str | None:
    """Name an operator that is not one (`==`, `===`, `=!`, `~=`) instead of blaming the quotes."""
    if op == "=" and raw.startswith("="):
        written = "=" * (1 + len(raw) - len(raw.lstrip("=")))
        return f"`{written}` is not an operator; use `=`"
    if op == "=" and raw.startswith("!"):
        return "`=!` is not an operator; use `!=`"
    if op in ("=", "!=") and raw.startswith("~"):
        return f"`{op}~` is not an operator; use `{'=~' if op == '=' else '!~'}`"
    return None


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        body = raw[1:-1]
        out: list[str] = []
        i = 0
        while i < len(body):
            char = body[i]
            if char == "\\" and i + 1 < len(body):
                nxt = body[i + 1]
                out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
                i += 2
                continue
            if char == '"':
                raise ValueError(f"unescaped quote inside {raw}")
            out.append(char)
            i += 1
        return "".join(out)
    if raw.startswith('"') or raw.endswith('"'):
        raise ValueError(f"unbalanced quotes in {raw!r}")
    return raw


def _check_matcher(value: str) -> str:
    parse_matcher(value)
    return value


def _check_route_name(value: str) -> str:
    if not _ROUTE_NAME.match(value):
        raise ValueError("must be 1-63 letters, digits, dots, dashes or underscores, like payments-critical")
    return value


def _lower_keys(value: dict[str, SeverityName]) -> dict[str, SeverityName]:
    return {k.strip().lower(): v for k, v in value.items()}


def _check_label(value: str) -> str:
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
        raise ValueError("must be a label name like service or alertname")
    return value


MatcherText = Annotated[str, AfterValidator(_check_matcher)]
LabelName = Annotated[str, AfterValidator(_check_label)]


class RouteTarget(StrictModel):
    """Where matching alerts go and how they are treated."""

    # No channels means the channel of the team that owns the alert's `service`.
    channels: list[ChannelId] = []
    mention: UserGroupId | None = None
    # Source severity (case-insensitive) -> Flare severity; merged over the defaults.
    severity: Annotated[dict[str, SeverityName], AfterValidator(_lower_keys)] = {}
    default_severity: SeverityName = "P3"
    auto_declare: list[SeverityName] = []
    group_by: list[LabelName] = []

    def flare_severity(self, source_severity: str | None, defaults: Mapping[str, SeverityName]) -> str:
        """The P-level for an alert's own severity under this route."""
        key = (source_severity or "").strip().lower()
        return self.severity.get(key) or defaults.get(key) or self.default_severity


class Route(RouteTarget):
    """An ordered routing rule: all matchers must match; `continue` keeps evaluating later rules."""

    name: Annotated[str, AfterValidator(_check_route_name)] | None = None
    matchers: list[MatcherText] = []
    continue_: bool = Field(default=False, alias="continue")
    _parsed: list[Matcher] = PrivateAttr(default_factory=list)

    def model_post_init(self, context: object, /) -> None:
        """Compile the matchers once."""
        self._parsed = [parse_matcher(m) for m in self.matchers]

    @property
    def parsed_matchers(self) -> list[Matcher]:
        """The compiled matchers."""
        return self._parsed

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether every matcher matches `labels` (a route without matchers matches everything)."""
        return all(m.matches(labels) for m in self._parsed)


class Routing(StrictModel):
    """The `routes` section: ordered rules, a default, and how group messages are paced."""

    rules: list[Route] = []
    default: RouteTarget | None = None
    severity_map: Annotated[dict[str, SeverityName], AfterValidator(_lower_keys)] = {}
    # At most one Slack write (post or chat.update) per group message per this many seconds.
    update_interval_seconds: float = Field(default=10.0, ge=0.2, le=3600.0)
    max_alerts_shown: int = Field(default=10, ge=1, le=20)
    _defaults: dict[str, SeverityName] = PrivateAttr(default_factory=dict)
    _referenced: tuple[str, ...] = PrivateAttr(default=())
    _grouping: tuple[str, ...] = PrivateAttr(default=())

    def model_post_init(self, context: object, /) -> None:
        """Merge the severity overrides over the built-in mapping once; note which labels routes read."""
        self._defaults = {**DEFAULT_SEVERITY_MAP, **self.severity_map}
        self._referenced = tuple(sorted({m.label for rule in self.rules for m in rule.parsed_matchers}))
        targets: list[RouteTarget] = [*self.rules, *([self.default] if self.default else [])]
        self._grouping = tuple(sorted({name for target in targets for name in target.group_by}))

    @property
    def referenced_labels(self) -> tuple[str, ...]:
        """Every label name some matcher looks at (routing depends on nothing else of the labels)."""
        return self._referenced

    @property
    def group_by_labels(self) -> tuple[str, ...]:
        """Every label name some route groups by."""
        return self._grouping

    def severity_defaults(self) -> dict[str, SeverityName]:
        """The built-in severity mapping with this catalog's overrides applied."""
        return self._defaults

    def route_names(self) -> list[str]:
        """Every rule's display name (its `name`, else rule-N)."""
        return [rule.name or f"rule-{i + 1}" for i, rule in enumerate(self.rules)]


@dataclass(frozen=True)
class RouteDecision:
    """Where one alert goes under one matching route."""

    route: str
    channels: tuple[str, ...]
    severity: str
    mention: str | None
    auto_declare: bool
    group_by: tuple[str, ...]
    continued: bool
    note: str = ""


class RoutingSource(Protocol):
    """What routing needs of the catalog: its routes, and which team owns a service."""

    @property
    def routes(self) -> Routing: ...

    def team_for(self, service: str) -> Team | None:
        """The team that owns `service`, if any."""
        ...


def decide(
    catalog: RoutingSource, labels: Mapping[str, str], *, severity: str | None, service: str | None
) -> list[RouteDecision]:
    """Every route an alert takes, in order; empty when nothing (not even a default) can take it."""
    routing = catalog.routes
    defaults = routing.severity_defaults()
    names = routing.route_names()
    decisions: list[RouteDecision] = []
    for rule, name in zip(routing.rules, names, strict=True):
        if not rule.matches(labels):
            continue
        decision = _decision(catalog, rule, name, severity, service, defaults, rule.continue_)
        if decision is not None:
            decisions.append(decision)
            if not rule.continue_:
                return decisions
    if decisions:
        return decisions
    fallback = routing.default or RouteTarget()
    decision = _decision(catalog, fallback, "default", severity, service, defaults, False)
    return [decision] if decision is not None else []


def _decision(
    catalog: RoutingSource,
    target: RouteTarget,
    name: str,
    severity: str | None,
    service: str | None,
    defaults: Mapping[str, SeverityName],
    continued: bool,
) -> RouteDecision | None:
    level = target.flare_severity(severity, defaults)
    channels: tuple[str, ...] = tuple(target.channels)
    note = ""
    if not channels:
        team = catalog.team_for(service) if service else None
        if team is None:
            return None  # "the owning team's channel" with no known owner: this route cannot take it
        channels = (team.channel,)
        note = f"team channel of {service}"
    return RouteDecision(
        route=name,
        channels=channels,
        severity=level,
        mention=target.mention,
        auto_declare=level in target.auto_declare,
        group_by=tuple(target.group_by),
        continued=continued,
        note=note,
    )


def most_severe(levels: Iterable[str]) -> str:
    """The most severe of some P-levels (P3 when there are none)."""
    ranked = [lvl for lvl in levels if lvl in SEVERITY_ORDER]
    return min(ranked, key=SEVERITY_ORDER.index) if ranked else "P3"
