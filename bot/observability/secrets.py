"""The one registry of secret values: log lines, Sentry events and error messages are scrubbed through it.

It holds the settings' secrets, the database password and the value of every environment variable the
catalog names in a field ending in `_env` (found generically, so a new `*_env` field is covered).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel, SecretStr

MIN_LENGTH = 6  # shorter values would redact ordinary words
# ?token=..., &signature=... in URLs and query strings, by the parameter's name.
SENSITIVE_NAME = r"[A-Za-z0-9_.-]*(?:token|secret|signature|password|passwd|authorization|api[-_]?key|key)"
_QUERY_PARAM = re.compile(rf"(?i)(^|[?&;])({SENSITIVE_NAME})=[^&;#\s\"']*")


# Token shapes redacted wherever they appear: Slack tokens, bearer credentials, URL passwords.
TOKEN_PATTERNS = (
    re.compile(r"xox[abposr]-[A-Za-z0-9-]{6,}"),
    re.compile(r"xapp-[A-Za-z0-9-]{6,}"),
    re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"),
    re.compile(r"(?<=://)([^:/@\s]+):([^@/\s]+)@"),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace known secret values and token-shaped strings with [redacted]."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    for pattern in TOKEN_PATTERNS:
        text = pattern.sub(lambda m: _keep_scheme(m), text)
    return text


def _keep_scheme(match: re.Match[str]) -> str:
    groups = match.groups()
    if len(groups) == 2:  # user:password@ in a URL
        return f"{groups[0]}:[redacted]@"
    if len(groups) == 1:
        return f"{groups[0]} [redacted]"
    return "[redacted]"


class SecretRegistry:
    """Known secret values, longest first, so a secret inside another is never half-redacted."""

    def __init__(self, values: Iterable[str | SecretStr | None] = ()) -> None:
        self._values: list[str] = []
        self.add(values)

    def add(self, values: Iterable[str | SecretStr | None]) -> None:
        """Register more values (empty and very short ones are ignored)."""
        changed = False
        for value in values:
            plain = value.get_secret_value() if isinstance(value, SecretStr) else value
            if plain and len(plain) >= MIN_LENGTH and plain not in self._values:
                self._values.append(plain)
                changed = True
        if changed:
            self._values.sort(key=len, reverse=True)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._values))

    def __len__(self) -> int:
        return len(self._values)

    def scrub(self, text: str) -> str:
        """`text` with every registered value, token shape and sensitive query parameter redacted."""
        return redact_query(redact(text, self._values))


def redact_query(text: str) -> str:
    """Filter the values of query parameters named like credentials (`token=`, `key=`, `signature=`)."""
    if "=" not in text:
        return text
    return _QUERY_PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}=[Filtered]", text)


def catalog_env_names(model: Any) -> list[str]:
    """Every environment variable named by a catalog field ending in `_env`, anywhere in the catalog."""
    names: list[str] = []
    _collect(model, names)
    return names


def _collect(value: Any, names: list[str]) -> None:
    if isinstance(value, BaseModel):
        for field_name in type(value).model_fields:
            child = getattr(value, field_name, None)
            if field_name.endswith("_env") and isinstance(child, str):
                names.append(child)
            else:
                _collect(child, names)
    elif isinstance(value, Mapping):
        for child in value.values():
            _collect(child, names)
    elif isinstance(value, list | tuple | set | frozenset):
        for child in value:
            _collect(child, names)


def collect_secrets(settings_values: Iterable[str], catalog: Any, environ: Mapping[str, str]) -> list[str]:
    """The settings' secrets plus the value of every variable the catalog names."""
    values = list(settings_values)
    values.extend(environ[name] for name in catalog_env_names(catalog) if environ.get(name))
    return values
